"""Crash safety and concurrency: a price history that a kill or a crowd cannot corrupt.

These start real processes (`ratecard refresh`, `ratecard serve`) and are
marked slow; .ci/run runs them all the same.
"""

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import FIXTURES
from tests.test_serve_process import free_port

RATECARD = Path(sys.executable).parent / "ratecard"
ANTHROPIC = sorted((FIXTURES / "anthropic").glob("pricing_md_2025-*.md"))
GOOGLE = sorted((FIXTURES / "google").glob("gemini-api-pricing_*.md"))

pytestmark = pytest.mark.slow


def run(db: Path, *args: str, env: dict | None = None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(RATECARD), *args, "--db", str(db)], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=120, **kwargs)


def counts(db: Path) -> tuple[int, int, int]:
    with sqlite3.connect(db) as conn:
        return tuple(conn.execute(q).fetchone()[0] for q in (
            "SELECT count(*) FROM changesets", "SELECT count(*) FROM rates", "SELECT count(*) FROM changes"))


def test_sigkill_in_the_middle_of_a_commit_leaves_all_or_nothing(tmp_path):
    db = tmp_path / "ratecard.db"
    assert run(db, "refresh", "google", "--from-file", str(GOOGLE[0]), "--observed-at", "2026-05-07").returncode == 0
    before = counts(db)
    marker = tmp_path / "paused"
    proc = subprocess.Popen(
        [str(RATECARD), "refresh", "google", "--from-file", str(GOOGLE[1]), "--observed-at", "2026-06-02",
         "--db", str(db)],
        env={**os.environ, "RATECARD_FAULT_PAUSE_BEFORE_COMMIT": str(marker)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists(), "the writer never reached the pause point"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert counts(db) == before  # none of the killed changeset is visible
    # The next refresh completes and records the change whole.
    again = run(db, "refresh", "google", "--from-file", str(GOOGLE[1]), "--observed-at", "2026-06-02")
    assert again.returncode == 0, again.stderr
    assert "changed" in again.stderr
    after = counts(db)
    assert after[0] == before[0] + 1 and after[1] > before[1]
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        # Every rate row belongs to a committed changeset.
        assert conn.execute("SELECT count(*) FROM rates WHERE changeset_id NOT IN (SELECT id FROM changesets)"
                            ).fetchone()[0] == 0


async def _read_storm(base: str, clients: int, rounds: int) -> tuple[int, list[str], set[int]]:
    paths = ["/v1/prices?model=gemini-2.5-pro", "/v1/models/google/gemini-2.5-flash/history",
             "/v1/estimate?model=gemini-2.5-pro&input_tokens=1000&output_tokens=100", "/v1/prices?provider=google"]
    errors: list[str] = []
    versions: set[int] = set()
    served = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as http:
        async def client(i: int) -> None:
            nonlocal served
            for r in range(rounds):
                path = paths[(i + r) % len(paths)]
                try:
                    response = await http.get(path)
                except httpx.HTTPError as exc:
                    errors.append(f"{path}: {exc!r}")
                    continue
                served += 1
                if response.status_code != 200:
                    errors.append(f"{path}: {response.status_code} {response.text[:200]}")
                    continue
                body = response.json()
                if "catalog_version" in body:
                    # One version per response: the body and the ETag name the same catalog.
                    assert response.headers["etag"].startswith(f'"v{body["catalog_version"]}-') or "as_of" in path
                    versions.add(body["catalog_version"])

        await asyncio.gather(*(client(i) for i in range(clients)))
    return served, errors, versions


def test_a_refresh_commits_while_200_clients_read(tmp_path):
    db = tmp_path / "ratecard.db"
    assert run(db, "refresh", "google", "--from-file", str(GOOGLE[0]), "--observed-at", "2026-05-07").returncode == 0
    port = free_port()
    server = subprocess.Popen([str(RATECARD), "serve", "--db", str(db), "--port", str(port), "--no-scheduler",
                               "--log-level", "warning"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        start_version = httpx.get(f"{base}/readyz").json()["catalog_version"]
        writer = subprocess.Popen([str(RATECARD), "refresh", "google", "--from-file", str(GOOGLE[1]),
                                   "--observed-at", "2026-06-02", "--db", str(db)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        served, errors, versions = asyncio.run(_read_storm(base, clients=200, rounds=10))
        assert writer.wait(timeout=60) == 0
        assert errors == [] and served == 2000
        # Readers follow the writer: the new version shows up within a few seconds, no restart.
        deadline = time.monotonic() + 10
        while httpx.get(f"{base}/readyz").json()["catalog_version"] == start_version and time.monotonic() < deadline:
            time.sleep(0.2)
        assert httpx.get(f"{base}/readyz").json()["catalog_version"] > start_version
        assert versions <= {start_version, start_version + 1, httpx.get(f"{base}/readyz").json()["catalog_version"]}
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert b"database is locked" not in server.stderr.read()
