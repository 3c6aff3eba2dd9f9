"""HTTP throughput and latency of a real ``ratecard serve``, each endpoint against a ceiling.

Bootstraps a temporary database from the bundled pages, then for each
``--workers`` count starts ``ratecard serve --no-scheduler`` on it (a free
loopback port) and drives it with ``wrk`` in a separate process (Debian:
``apt-get install -y wrk``). Each endpoint is measured between two runs of the
framework ceiling on the same server - ``GET /healthz``, a trivial handler in
the same app - and judged by its ratio to the mean of those two runs, so the
noise of a shared machine mostly cancels. There is no POST ceiling endpoint,
so POST /v1/estimate is compared with the GET ceiling (which flatters the ceiling).
Beside each rps ratio the table gives the server's CPU time per request (all its
processes, from /proc), a cross-check that other load on the machine disturbs less.

    python bench/http_load.py                  # workers 1 and 2, 10 s per endpoint, about 3 minutes
    python bench/http_load.py --workers 1 --duration 5 --no-results
    python bench/http_load.py --rounds 3       # each row the median of 3 interleaved rounds, about 9 minutes
"""

import argparse
import dataclasses
import json
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import benchlib
from ratecard_server import Server, fetch
from ratecard.service.app import Settings, prepare_service

CEILING_PATH = "/healthz"
POST_BODY = {
    "models": ["gpt-4o", "anthropic/claude-sonnet-4-5", "gemini-2.5-pro"],
    "input_tokens": 2000,
    "output_tokens": 800,
    "requests": 5000,
    "tiers": ["standard", "batch"],
}


@dataclass(frozen=True)
class Endpoint:
    """One endpoint to load, with its target: rps >= min_rps_ratio x ceiling (and p99 bound if set)."""

    name: str
    method: str
    path: str
    min_rps_ratio: float
    max_p99_ratio: float | None = None
    body: dict | None = None
    # Each request sends another workload: input_tokens counts up from its value in the path or
    # body, so no cache (the service's, a proxy's) can answer in place of the estimator.
    vary_input_tokens: bool = False


ENDPOINTS = [
    Endpoint("GET /v1/prices (one model)", "GET", "/v1/prices?model=gpt-4o", 0.6),
    Endpoint("GET /v1/estimate (a new workload each)", "GET",
             "/v1/estimate?model=gpt-4o&input_tokens=2000&output_tokens=800&requests=5000", 0.4,
             vary_input_tokens=True),
    Endpoint("POST /v1/estimate (3 models, 2 tiers, a new workload each)", "POST", "/v1/estimate", 0.3, None,
             POST_BODY, vary_input_tokens=True),
    Endpoint("GET /v1/models/anthropic/claude-sonnet-4-5/history", "GET", "/v1/models/anthropic/claude-sonnet-4-5/history", 0.35),
]


@dataclass(frozen=True)
class WrkResult:
    """What one wrk run reports."""

    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    bad: int  # non-2xx/3xx responses plus socket errors
    cpu_us: float = float("nan")  # server CPU (all its processes) per request during the run


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def parse_wrk(output: str) -> WrkResult:
    """Read requests/s, the 50% and 99% latencies, and errors from ``wrk --latency`` output."""
    def latency(pct: str) -> float:
        match = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.M)
        if not match:
            raise ValueError(f"no {pct}% latency in wrk output:\n{output}")
        return float(match.group(1)) * _UNITS_MS[match.group(2)]

    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    total = re.search(r"(\d+) requests in", output)
    if not rps or not total:
        raise ValueError(f"unexpected wrk output:\n{output}")
    bad = 0
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    if non2xx:
        bad += int(non2xx.group(1))
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if sock:
        bad += sum(int(g) for g in sock.groups())
    return WrkResult(float(rps.group(1)), latency("50"), latency("99"), int(total.group(1)), bad)


def lua_for(endpoint: Endpoint, workdir: Path) -> Path | None:
    """A wrk script that sends the endpoint's POST body, or another workload each time; None for a plain GET."""
    if endpoint.method == "GET" and not endpoint.vary_input_tokens:
        return None
    script = workdir / f"wrk_{abs(hash(endpoint.name))}.lua"
    body = json.dumps(endpoint.body, separators=(",", ":")) if endpoint.body is not None else None
    lines = [f'wrk.method = "{endpoint.method}"']
    if body is not None:
        lines += [f"wrk.body = [==[{body}]==]", 'wrk.headers["Content-Type"] = "application/json"']
    if endpoint.vary_input_tokens:
        # The text around the count; each request puts start + n in its place (n = 1, 2, ...).
        varied, marker = (endpoint.path, "input_tokens=") if body is None else (body, '"input_tokens":')
        head, _, rest = varied.partition(marker)
        digits = len(rest) - len(rest.lstrip("0123456789"))
        start, tail = int(rest[:digits]), rest[digits:]
        build = (f'wrk.format(nil, [==[{head}{marker}]==] .. (start + n) .. [==[{tail}]==])' if body is None else
                 f'wrk.format(nil, nil, nil, [==[{head}{marker}]==] .. (start + n) .. [==[{tail}]==])')
        lines += [f"local start, n = {start}, 0", "request = function()", "  n = n + 1", f"  return {build}", "end"]
    script.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return script


def run_wrk(server: Server, path: str, script: Path | None, *, duration_s: float,
            args: argparse.Namespace) -> WrkResult:
    """One wrk run against ``server.base + path``, with the server's CPU seconds per request."""
    seconds = max(1, round(duration_s))  # wrk takes whole seconds
    cmd = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    if script is not None:
        cmd += ["-s", str(script)]
    cpu_before = server.group_cpu_seconds()
    out = subprocess.run([*cmd, server.base + path], capture_output=True, text=True, timeout=duration_s + 60)
    cpu = server.group_cpu_seconds() - cpu_before
    if out.returncode != 0:
        raise RuntimeError(f"wrk failed ({out.returncode}): {out.stderr}")
    result = parse_wrk(out.stdout)
    return dataclasses.replace(result, cpu_us=cpu / max(1, result.requests) * 1e6)


def bench_workers(workers: int, db_path: Path, workdir: Path, args: argparse.Namespace) -> tuple[list[list], list[str]]:
    """Start a server with ``workers`` workers and measure every endpoint against the ceiling."""
    notes: list[str] = []
    server = Server(db_path, workers, workdir)
    try:
        ready_s = server.wait_ready()
        notes.append(f"workers={workers}: `ratecard serve` process start to /readyz 200 in {ready_s:.2f} s "
                     "(existing database)")
        endpoints = []
        for endpoint in ENDPOINTS:
            status, payload = fetch(server.base + endpoint.path, endpoint.body)
            if status != 200:
                notes.append(f"workers={workers}: {endpoint.name} answered {status} ({payload[:200]!r}); skipped")
                continue
            endpoints.append((endpoint, lua_for(endpoint, workdir), len(payload)))
        print(f"\nworkers={workers}: ready in {ready_s:.2f} s; warming up", flush=True)
        for endpoint, script, _ in [(None, None, 0), *endpoints]:
            run_wrk(server, endpoint.path if endpoint else CEILING_PATH, script, duration_s=args.warmup, args=args)
        # Each round measures every endpoint between ceiling runs; a row is the endpoint's median round.
        rounds: dict[str, list[tuple]] = {endpoint.name: [] for endpoint, _, _ in endpoints}
        for number in range(args.rounds):
            before = run_wrk(server, CEILING_PATH, None, duration_s=args.ceiling_duration, args=args)
            for endpoint, script, size in endpoints:
                measured = run_wrk(server, endpoint.path, script, duration_s=args.duration, args=args)
                after = run_wrk(server, CEILING_PATH, None, duration_s=args.ceiling_duration, args=args)
                ceiling = ((before.rps + after.rps) / 2, (before.p99_ms + after.p99_ms) / 2,
                           (before.cpu_us + after.cpu_us) / 2, before.bad + after.bad)
                rounds[endpoint.name].append((measured.rps / ceiling[0], measured, ceiling))
                print(f"  round {number + 1}: {endpoint.name}: {measured.rps:.0f} rps "
                      f"({measured.rps / ceiling[0]:.2f}x ceiling {ceiling[0]:.0f}), p50 {measured.p50_ms:.2f} ms, "
                      f"p99 {measured.p99_ms:.2f} ms ({measured.p99_ms / ceiling[1]:.2f}x)", flush=True)
                before = after
        rows = []
        for endpoint, _, size in endpoints:
            ranked = sorted(rounds[endpoint.name], key=lambda r: r[0])
            rps_ratio, measured, (ceiling_rps, ceiling_p99, ceiling_cpu, ceiling_bad) = ranked[len(ranked) // 2]
            p99_ratio = measured.p99_ms / ceiling_p99
            bad = sum(m.bad + c[3] for _, m, c in ranked)
            ok = rps_ratio >= endpoint.min_rps_ratio and bad == 0
            target = f">= {endpoint.min_rps_ratio}x rps"
            if endpoint.max_p99_ratio is not None:
                ok = ok and p99_ratio <= endpoint.max_p99_ratio
                target += f", p99 <= {endpoint.max_p99_ratio:g}x"
            spread = "-".join(f"{ranked[i][0]:.2f}" for i in (0, -1)) if len(ranked) > 1 else "-"
            rows.append([workers, endpoint.name, size, f"{measured.rps:.0f}", f"{measured.p50_ms:.2f}",
                         f"{measured.p99_ms:.2f}", f"{ceiling_rps:.0f}",
                         f"{ceiling_p99:.2f}", f"{rps_ratio:.2f}x", spread, f"{p99_ratio:.2f}x", target,
                         benchlib.pass_fail(ok), bad,
                         f"{measured.cpu_us:.0f}", f"{ceiling_cpu:.0f}", f"{ceiling_cpu / measured.cpu_us:.2f}x"])
        return rows, notes
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts (default 1,2)")
    parser.add_argument("--duration", type=int, default=10, help="seconds per endpoint run (default 10)")
    parser.add_argument("--ceiling-duration", type=int, default=5,
                        help="seconds per ceiling run; one before and after each endpoint (default 5)")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per endpoint (default 2)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="rounds of every endpoint; a row is the endpoint's median round (default 1)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    parser.add_argument("--threads", type=int, default=1,
                        help="wrk threads (default 1: wrk shares the 2 cores with the server)")
    parser.add_argument("--db", type=Path, help="serve this database (default: a fresh bootstrapped temp one)")
    parser.add_argument("--no-results", action="store_true", help="do not append to bench/RESULTS.md")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get update && apt-get install -y wrk")

    worker_counts = [int(w) for w in args.workers.split(",")]
    rows: list[list] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="ratecard-bench-http-") as tmp:
        workdir = Path(tmp)
        db_path = args.db or workdir / "ratecard.db"
        print(f"bootstrapping {db_path} from the bundled pages", flush=True)
        prepare_service(Settings(db_path=str(db_path))).db.close()  # so every server starts on an existing database
        for workers in worker_counts:
            worker_rows, worker_notes = bench_workers(workers, db_path, workdir, args)
            rows += worker_rows
            notes += worker_notes

    headers = ["workers", "endpoint", "bytes", "rps", "p50 ms", "p99 ms", "ceiling rps",
               "ceiling p99 ms", "rps / ceiling", "rounds' range", "p99 / ceiling", "target", "verdict", "errors",
               "server CPU µs/req", "ceiling CPU µs/req", "CPU ceiling / endpoint"]
    table = benchlib.markdown_table(headers, rows)
    print("\n" + table)
    notes += [
        f"wrk {args.threads} threads, {args.connections} connections, {args.duration:g} s per endpoint, "
        f"ceiling runs of {args.ceiling_duration:g} s before and after each endpoint (ceiling = their mean), "
        f"{args.warmup:g} s warm-up per endpoint; {args.rounds} round(s), each row the endpoint's median round by "
        "rps ratio, with the range of the rounds' ratios beside it.",
        "wrk and the server share the machine's cores, so absolute numbers are low; read the ratios.",
        "Ceiling: GET /healthz of the same server (a trivial handler in the same app, same middleware). "
        "The app has no minimal POST endpoint, so POST /v1/estimate is judged against GET /healthz too, which "
        "skips reading and decoding a body: that ratio is slightly pessimistic.",
        f"POST body: {json.dumps(POST_BODY)}",
        "errors = non-2xx/3xx responses + socket errors in the endpoint and its ceiling runs (all rounds); any error fails the row.",
        "server CPU µs/req: user+system CPU of all the server's processes during the run, per request. It is "
        "much less disturbed by other work on the machine than requests/s, so 'CPU ceiling / endpoint' is a "
        "cross-check of the rps ratio (the verdict is on the rps ratio, as the issue asks).",
    ]
    for note in notes:
        print("- " + note)
    if not args.no_results:
        wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.splitlines()
        env = benchlib.environment({"wrk": wrk_version[0].split(" Copyright")[0] if wrk_version else "unknown"})
        benchlib.append_results("HTTP throughput vs ceiling (bench/http_load.py)",
                                [("", table), ("Notes", "\n".join("- " + n for n in notes))], env=env)


if __name__ == "__main__":
    main()
