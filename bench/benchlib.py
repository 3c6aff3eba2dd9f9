"""What every bench script shares: the machine and versions, tables, timing, and RESULTS.md.

Not a script: the scripts beside it import it (``python bench/<script>.py`` puts bench/ on sys.path).
"""

import fcntl
import os
import platform
import shlex
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
RESULTS = BENCH_DIR / "RESULTS.md"


def other_test_runs() -> int:
    """How many pytest processes (not this one) are running now: other work on the shared cores."""
    count = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(part.endswith(b"pytest") or part == b"pytest" for part in cmdline):
            count += 1
    return count


# What the machine was doing when the script started; environment() reports it beside the end state.
_START = {"load": os.getloadavg(), "pytest": other_test_runs(), "commit": None}


def _version(dist: str) -> str:
    try:
        return version(dist)
    except PackageNotFoundError:
        return "not installed"


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (Linux), else platform.processor()."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def git_commit() -> str:
    """HEAD's short hash (read-only; the working tree may hold uncommitted edits)."""
    try:
        out = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=10, env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"})
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def uncommitted_code() -> str:
    """How many files under service/ and scrapers/ differ from HEAD (read-only git status), e.g. "3 files"."""
    try:
        out = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--", "service", "scrapers"],
                             capture_output=True, text=True, timeout=10, env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"})
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    changed = [line for line in out.stdout.splitlines() if line.strip() and "__pycache__" not in line]
    return f"{len(changed)} files" if out.returncode == 0 else "unknown"


def _commit_span() -> str:
    """HEAD now, or "A at start, B at end" when someone committed while the script ran."""
    start, end = _START["commit"], git_commit()
    return end if start in (None, end) else f"{start} at start, {end} at end"


def environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Versions and machine, as RESULTS.md records them."""
    env = {
        "python": platform.python_version(),
        "litestar": _version("litestar"),
        "msgspec": _version("msgspec"),
        "uvicorn": _version("uvicorn"),
        "sqlite": sqlite3.sqlite_version,
        "sqlite-utils": _version("sqlite-utils"),
        "nproc": str(os.cpu_count()),
        "cpu": cpu_model(),
        "load average (1/5/15 min) at start / end": " ".join(f"{x:.2f}" for x in _START["load"]) + " / "
        + " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "other pytest processes at start / end": f"{_START['pytest']} / {other_test_runs()}",
        "commit": _commit_span(),
        "uncommitted files under service/ and scrapers/": uncommitted_code(),
    }
    env.update(extra or {})
    return env


def command_line() -> str:
    """The command as it was run, e.g. ``python bench/http_load.py --workers 1``."""
    return shlex.join(["python", *sys.argv])


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub-flavoured Markdown table, numbers right-aligned."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    numeric = [any(r[i] for r in cells[1:]) and all(_looks_numeric(r[i]) for r in cells[1:] if r[i])
               for i in range(len(headers))]

    def line(row: list[str]) -> str:
        return "| " + " | ".join(c.rjust(w) if n else c.ljust(w) for c, w, n in zip(row, widths, numeric)) + " |"

    sep = "|" + "|".join(("-" * (w + 1) + ":") if n else ("-" * (w + 2)) for w, n in zip(widths, numeric)) + "|"
    return "\n".join([line(cells[0]), sep, *(line(r) for r in cells[1:])])


def _looks_numeric(text: str) -> bool:
    head = text.split(" ")[0].rstrip("x%")
    try:
        float(head)
        return True
    except ValueError:
        return False


def append_results(title: str, sections: Sequence[tuple[str, str]], *, env: dict[str, str]) -> None:
    """Append one run to bench/RESULTS.md: heading with the date, command, environment, then sections.

    ``sections`` are (subheading, markdown body) pairs; an empty subheading adds the body bare.
    Appends under an flock so two scripts finishing together do not interleave.
    """
    stamp = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    parts = [f"\n## {title} — {stamp}\n", f"```\n{command_line()}\n```\n",
             "; ".join(f"{k}: {v}" for k, v in env.items()) + "\n"]
    for heading, body in sections:
        parts.append((f"\n**{heading}**\n\n" if heading else "\n") + body.rstrip() + "\n")
    text = "".join(parts)
    new = not RESULTS.exists()
    with open(RESULTS, "a", encoding="utf-8") as out:
        fcntl.flock(out, fcntl.LOCK_EX)
        if new:
            out.write("# Bench results\n\nAppended by the scripts in bench/ (`python bench/<script>.py`); newest last.\n"
                      "Compare ratios within one run: the machine is shared and noisy.\n")
        out.write(text)
    print(f"\nappended to {RESULTS.relative_to(REPO)}")


def _calls_per_round(fn: Callable[[], object], min_time_s: float) -> int:
    """How many calls of ``fn`` take about ``min_time_s`` (doubling until a quarter of it, then scaled)."""
    number = 1
    while True:
        start = time.perf_counter()
        for _ in range(number):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= min_time_s / 4:
            break
        number *= 2
    return max(1, int(number * (min_time_s / max(elapsed, 1e-9))))


def time_per_call(fn: Callable[[], object], *, repeat: int = 7, min_time_s: float = 0.2) -> list[float]:
    """Seconds per call of ``fn`` in each of ``repeat`` rounds; a round lasts about ``min_time_s``.

    The number of calls per round is picked once (timeit's autorange idea), so rounds are comparable.
    """
    number = _calls_per_round(fn, min_time_s)
    rounds = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        rounds.append((time.perf_counter() - start) / number)
    return rounds


def time_interleaved(cases: dict[str, Callable[[], object]], *, repeat: int = 7,
                     min_time_s: float = 0.2) -> dict[str, list[float]]:
    """Seconds per call of each case in each of ``repeat`` rounds, the cases taking turns within a round.

    Like ``time_per_call`` for several functions at once, but a burst of load on a shared machine
    hits every case of that round instead of one case: ratios between cases stay fair.
    """
    numbers = {name: _calls_per_round(fn, min_time_s) for name, fn in cases.items()}
    rounds: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repeat):
        for name, fn in cases.items():
            number = numbers[name]
            start = time.perf_counter()
            for _ in range(number):
                fn()
            rounds[name].append((time.perf_counter() - start) / number)
    return rounds


def percentile(values: Sequence[float], pct: float) -> float:
    """The ``pct`` percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, int(round(pct / 100 * len(ordered) + 0.5)) - 1))
    return ordered[rank]


def median(values: Sequence[float]) -> float:
    """The median of ``values``."""
    return statistics.median(values)


def free_port() -> int:
    """A TCP port free on the loopback interface right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ratecard_executable() -> str:
    """The ``ratecard`` console script beside this interpreter."""
    candidate = Path(sys.executable).with_name("ratecard")
    if not candidate.exists():
        sys.exit(f"no ratecard command beside {sys.executable}: activate the project's venv or `pip install -e .`")
    return str(candidate)


def pass_fail(ok: bool) -> str:
    """The verdict word a target column shows: PASS, or MISS when the target is not met."""
    return "PASS" if ok else "MISS"


_START["commit"] = git_commit()
