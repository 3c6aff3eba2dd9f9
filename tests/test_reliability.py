"""Crash safety and concurrency: a price history that a kill or a crowd cannot corrupt.

These start real processes (`ratecard refresh`, `ratecard serve`) and are
marked slow; .ci/run runs them all the same. Each test prints the figures it
measured (RELIABILITY.md quotes them); run with ``-s`` to see them.
"""

import asyncio
import hashlib
import json
import logging
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from litestar.testing import TestClient

from ratecard.service.app import Settings, create_app, prepare_service
from tests.conftest import SNAPSHOTS, fixed_clock
from tests.test_serve_process import free_port

RATECARD = Path(sys.executable).parent / "ratecard"
GOOGLE = sorted((SNAPSHOTS / "google").glob("gemini-api-pricing_*.md"))
FIRST = ("--from-file", str(GOOGLE[0]), "--observed-at", "2026-05-07")
SECOND = ("--from-file", str(GOOGLE[1]), "--observed-at", "2026-06-02")  # 33 changes: 28 added, 2 changed, 3 delisted

pytestmark = pytest.mark.slow
logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request would drown the figures

_BUNDLED: list[Path] = []


def bundled_db_copy(tmp_path_factory, dest: Path) -> Path:
    """A copy of a database bootstrapped from the bundled pages, as `ratecard serve` would (built once a session)."""
    if not _BUNDLED:
        path = tmp_path_factory.mktemp("bundled") / "bundled.db"
        service = prepare_service(Settings(db_path=str(path)), clock=fixed_clock)
        service.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        service.db.close()
        _BUNDLED.append(path)
    shutil.copy(_BUNDLED[0], dest)
    return dest


def run(db: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(RATECARD), *args, "--db", str(db)], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=120)


def refresh_google(db: Path, page: tuple[str, ...], **popen) -> subprocess.Popen:
    return subprocess.Popen([str(RATECARD), "refresh", "google", *page, "--db", str(db)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **popen)


def counts(db: Path) -> tuple[int, int, int]:
    with sqlite3.connect(db) as conn:
        return tuple(conn.execute(q).fetchone()[0] for q in (
            "SELECT count(*) FROM changesets", "SELECT count(*) FROM rates", "SELECT count(*) FROM changes"))


def rate_rows(db: Path) -> set[tuple]:
    """The stored intervals, without the columns a second run fills differently (ids, fetch times)."""
    with sqlite3.connect(db) as conn:
        return set(conn.execute(
            "SELECT lane, provider, model, tier, kind, min_prompt_tokens, usd_per_mtok, basis, valid_from, valid_to,"
            " changeset_id, closed_changeset_id, body_sha256 FROM rates"))


def integrity(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


def orphans(db: Path) -> int:
    """Rate and change rows whose changeset does not exist (a half-written changeset would leave some)."""
    with sqlite3.connect(db) as conn:
        return sum(conn.execute(q).fetchone()[0] for q in (
            "SELECT count(*) FROM rates WHERE changeset_id NOT IN (SELECT id FROM changesets)",
            "SELECT count(*) FROM changes WHERE changeset_id NOT IN (SELECT id FROM changesets)"))


@pytest.fixture(scope="module")
def google_states(tmp_path_factory) -> tuple[Path, Path]:
    """A database after the first Google page (`none`), and a copy after the second too (`whole`)."""
    base = tmp_path_factory.mktemp("crash")
    none = base / "none.db"
    assert run(none, "refresh", "google", *FIRST).returncode == 0
    with sqlite3.connect(none) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # one self-contained file to copy
    whole = base / "whole.db"
    shutil.copy(none, whole)
    done = run(whole, "refresh", "google", *SECOND)
    assert done.returncode == 0 and "changed (changeset 2, 33 change(s))" in done.stderr, done.stderr
    return none, whole


def test_sigkill_in_the_middle_of_a_commit_leaves_all_or_nothing(tmp_path, google_states):
    none, whole = google_states
    db = tmp_path / "ratecard.db"
    shutil.copy(none, db)
    before, before_rows = counts(db), rate_rows(db)
    kills = 3
    for attempt in range(kills):  # killed at the pause point inside the open transaction, three times over
        marker = tmp_path / f"paused-{attempt}"
        proc = refresh_google(db, SECOND, env={**os.environ, "RATECARD_FAULT_PAUSE_BEFORE_COMMIT": str(marker)})
        deadline = time.monotonic() + 60
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert marker.exists(), "the writer never reached the pause point"
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=10) == -signal.SIGKILL
        assert integrity(db) == "ok"
        assert counts(db) == before and rate_rows(db) == before_rows  # none of the killed changeset is visible
        assert orphans(db) == 0
    # Restarted, the service serves the catalog as it was: version 1, without the killed page's models.
    with TestClient(create_app(Settings(db_path=str(db), bootstrap=False), clock=fixed_clock)) as client:
        assert client.get("/readyz").json()["catalog_version"] == 1
        assert client.get("/v1/models/google/gemini-3.5-flash").status_code == 404
    # The next refresh completes and records the change whole, exactly as an uninterrupted one did.
    again = run(db, "refresh", "google", *SECOND)
    assert again.returncode == 0, again.stderr
    assert "changed (changeset 2, 33 change(s))" in again.stderr
    assert counts(db) == counts(whole) and rate_rows(db) == rate_rows(whole)
    assert integrity(db) == "ok" and orphans(db) == 0
    print(f"\n[crash/pause] SIGKILLs at the pause point inside the open transaction: {kills}; "
          f"rows before {before}, after each kill {before}; after the next refresh {counts(db)} "
          f"(= uninterrupted run {counts(whole)}); integrity ok; rows lost 0")


def test_sigkill_at_spread_moments_of_a_refresh_leaves_none_or_whole(tmp_path, google_states):
    none, whole = google_states
    none_state = (counts(none), rate_rows(none))
    whole_state = (counts(whole), rate_rows(whole))
    outcomes: Counter[str] = Counter()
    # The kill lands this long after the run row appears (the writer is parsing, diffing or committing by then).
    delays_s = (0.0, 0.02, 0.05, 0.1, 0.15, 0.25)
    for i, delay in enumerate(delays_s):
        db = tmp_path / f"kill-{i}.db"
        shutil.copy(none, db)
        proc = refresh_google(db, SECOND)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
                if conn.execute("SELECT count(*) FROM runs WHERE status = 'running'").fetchone()[0]:
                    break
            time.sleep(0.005)
        time.sleep(delay)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        code = proc.wait(timeout=30)
        assert code in (0, -signal.SIGKILL)
        assert integrity(db) == "ok" and orphans(db) == 0
        state = (counts(db), rate_rows(db))
        assert state in (none_state, whole_state), f"kill {delay}s after start left a partial changeset"
        outcomes["completed before the kill" if code == 0 else "none" if state == none_state else "whole"] += 1
        # Whatever the kill left, the next refresh completes and the result equals an uninterrupted run.
        again = run(db, "refresh", "google", *SECOND)
        assert again.returncode == 0, again.stderr
        assert (counts(db), rate_rows(db)) == whole_state and integrity(db) == "ok"
    kills = outcomes["none"] + outcomes["whole"]
    print(f"\n[crash/spread] refreshes started {len(delays_s)}, SIGKILLed {kills} "
          f"(left none: {outcomes['none']}, left whole: {outcomes['whole']}, "
          f"finished before the kill: {outcomes['completed before the kill']}); partial states 0; "
          f"every next refresh completed; integrity ok; rows lost 0")


# Each of these answers differently at version 1 and version 2, so a response that mixed the two shows.
STORM_PATHS = (
    "/v1/prices?model=gemini-embedding-2",
    "/v1/models/google/gemini-embedding-2/history",
    "/v1/estimate?model=gemini-embedding-2&input_tokens=1000",
    "/v1/models/google/gemini-3-pro-image-preview",
    "/v1/changes?provider=google&model=gemini-embedding-2",
)


def fingerprint(body: dict) -> str:
    """A digest of a body without its `as_of` (the server's clock moves between requests)."""
    body = {k: v for k, v in body.items() if k != "as_of"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]


async def _read_storm(base: str, *, clients: int, start_writer, max_s: float) -> dict:
    """`clients` concurrent readers, round after round, until the writer is done and its version was read a while."""
    seen: Counter[tuple[str, int, str]] = Counter()  # (path, catalog_version, fingerprint)
    errors: list[str] = []
    latencies: list[float] = []
    state = {"served": 0, "writer": None, "new": 0, "new_version": None}
    stop = asyncio.Event()
    # A fresh connection per request: uvicorn closes a keep-alive connection after 5 s idle, and a client
    # this busy can send on one the server is closing at that instant (a ReadError that is the client's
    # race, not a server fault). Without reuse, any connection error is the server's.
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as http:
        async def client(i: int) -> None:
            r = 0
            while not stop.is_set():
                path = STORM_PATHS[(i + r) % len(STORM_PATHS)]
                r += 1
                started = time.monotonic()
                try:
                    response = await http.get(path)
                except httpx.HTTPError as exc:
                    errors.append(f"{path}: {exc!r}")
                    continue
                latencies.append(time.monotonic() - started)
                state["served"] += 1
                if response.status_code != 200:
                    errors.append(f"{path}: {response.status_code} {response.text[:200]}")
                    continue
                body = response.json()
                version = body["catalog_version"]
                if not response.headers["etag"].removeprefix("W/").startswith(f'"v{version}-'):  # W/: gzipped
                    errors.append(f"{path}: body says version {version}, ETag {response.headers['etag']}")
                seen[(path, version, fingerprint(body))] += 1
                if state["writer"] is None and state["served"] >= clients:
                    state["writer"] = start_writer()  # every reader is mid-storm when the commit starts
                if state["new_version"] is not None and version == state["new_version"]:
                    state["new"] += 1
                    if state["new"] >= clients:
                        stop.set()

        async def watch() -> None:
            deadline = time.monotonic() + max_s
            while not stop.is_set() and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
                writer = state["writer"]
                if writer is not None and writer.poll() is not None and state["new_version"] is None:
                    state["new_version"] = state["start_version"] + 1
            stop.set()

        state["start_version"] = (await http.get("/readyz")).json()["catalog_version"]
        await asyncio.gather(watch(), *(client(i) for i in range(clients)))
    return {"seen": seen, "errors": errors, "latencies": sorted(latencies), **state}


def start_server(db: Path, log: Path, *, extra_env: dict[str, str] | None = None,
                 log_level: str = "warning", scheduler: bool = False,
                 extra_args: tuple[str, ...] = ()) -> tuple[subprocess.Popen, str]:
    """`ratecard serve` on a free loopback port (stderr to a file: a full pipe would stall the server).

    ``scheduler``: run it as the writer (admin writes happen only where the scheduler runs).
    """
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RATECARD_")}  # the flags say it all
    env.update(extra_env or {})
    server = subprocess.Popen([str(RATECARD), "serve", "--db", str(db), "--port", str(port),
                               *([] if scheduler else ["--no-scheduler"]),
                               "--log-level", log_level, *extra_args], stdout=subprocess.DEVNULL,
                              stderr=log.open("wb"), env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180  # an empty database is bootstrapped from the bundled pages first
    while time.monotonic() < deadline:
        assert server.poll() is None, log.read_text()
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return server, base
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    server.kill()
    raise AssertionError("ratecard serve did not become ready in 180 s")


def test_a_refresh_commits_while_200_clients_read(tmp_path, google_states):
    none, _ = google_states
    db = tmp_path / "ratecard.db"
    shutil.copy(none, db)
    log = tmp_path / "serve.log"
    # As it is: a start would otherwise ingest the bundled pages this database lacks, Google's second among them.
    server, base = start_server(db, log, extra_args=("--no-bootstrap",))
    writer_log = tmp_path / "refresh.log"
    try:
        def references(version: int) -> dict[str, str]:
            out = {}
            for path in STORM_PATHS:
                body = httpx.get(base + path, timeout=30).json()
                assert body["catalog_version"] == version
                out[path] = fingerprint(body)
            return out

        # `ratecard serve` loads the curated history on start, so the versions are counted from what it serves.
        v1 = httpx.get(f"{base}/readyz").json()["catalog_version"]
        v2 = v1 + 1
        before = references(v1)

        def start_writer() -> subprocess.Popen:
            return subprocess.Popen([str(RATECARD), "refresh", "google", *SECOND, "--db", str(db)],
                                    stdout=subprocess.DEVNULL, stderr=writer_log.open("wb"))

        storm = asyncio.run(_read_storm(base, clients=200, start_writer=start_writer, max_s=120))
        assert storm["writer"] is not None and storm["writer"].wait(timeout=60) == 0, writer_log.read_text()
        assert f"changed (changeset {v2}, 33 change(s))" in writer_log.read_text()
        after = references(v2)  # the server follows the writer: no restart
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert storm["errors"] == [], storm["errors"][:10]
    # One catalog version per response: every body equals the reference body of the version it names.
    mixed = {key: n for key, n in storm["seen"].items() if key[2] != {v1: before, v2: after}.get(key[1], {}).get(key[0])}
    assert mixed == {}, mixed
    # The history and the change feed differ between the versions, so both versions were really served.
    for path in (STORM_PATHS[1], STORM_PATHS[4]):  # the history and the change feed
        assert before[path] != after[path]
    by_version = Counter()
    for (_, version, _), n in storm["seen"].items():
        by_version[version] += n
    assert set(by_version) == {v1, v2} and storm["served"] == sum(by_version.values())
    for text in (log.read_text(), writer_log.read_text()):
        assert "database is locked" not in text and "Traceback" not in text
    lat = storm["latencies"]
    print(f"\n[concurrency] 200 clients, requests served {storm['served']} (version {v1}: {by_version[v1]}, "
          f"version {v2}: {by_version[v2]}), errors 0, mixed-version responses 0, 'database is locked' 0; "
          f"latency p50 {lat[len(lat) // 2] * 1000:.0f} ms, p99 {lat[int(len(lat) * 0.99)] * 1000:.0f} ms, "
          f"max {lat[-1] * 1000:.0f} ms")
