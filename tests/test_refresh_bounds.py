"""A refresh is bounded (issue 19 row 4): an overall deadline, one refresh per source whoever
starts it, an admin refresh answered at once (202) and run in the background, and a `serve`
that stops on SIGTERM even with a refresh in flight.

The slow source is a real socket on loopback that sends its headers and then one byte at a
time, forever: every read succeeds within the read timeout, so only the deadline ends it.
"""

import os
import signal
import socket
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from litestar.testing import TestClient

from ratecard.scrapers.fetch import FetchPolicy
from ratecard.service.app import Settings, create_app
from ratecard.service.cli import main
from ratecard.service.source_lock import RefreshInProgress, source_lock
from tests.conftest import fixed_clock
from tests.test_refresh_live import sources_file
from tests.test_reliability import bundled_db_copy, start_server

TOKEN = "refresh-bounds-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class DrippingServer:
    """An HTTP server on loopback that answers 200 and then drips its body a byte at a time."""

    def __init__(self, interval_s: float = 0.05) -> None:
        self.interval_s = interval_s
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.base = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.closed = threading.Event()
        self.requests = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.requests += 1
            threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _drip(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.recv(65536)
                # Chunked, with no length to refuse up front: only the deadline can end it.
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/markdown\r\nTransfer-Encoding: chunked\r\n\r\n")
                while not self.closed.is_set():
                    conn.sendall(b"1\r\n|\r\n")
                    time.sleep(self.interval_s)
            except OSError:
                return

    def close(self) -> None:
        self.closed.set()
        self.sock.close()


@pytest.fixture
def dripping() -> DrippingServer:
    server = DrippingServer()
    yield server
    server.close()


def wait_for_run(client: TestClient, run_id: int) -> dict:
    give_up = time.monotonic() + 60  # a bound on a hung test, not a timed assertion
    while True:
        run = next(r for r in client.get("/v1/runs", params={"limit": 500}).json()["runs"] if r["id"] == run_id)
        if run["status"] != "running":
            return run
        assert time.monotonic() < give_up, run
        time.sleep(0.02)


def test_admin_refresh_answers_202_runs_to_its_deadline_and_holds_the_source(tmp_path, dripping, capsys):
    db = str(tmp_path / "ratecard.db")
    sources = str(sources_file(tmp_path, dripping.base))
    policy = FetchPolicy(deadline_s=1.5, read_timeout_s=5)
    settings = Settings(db_path=db, sources_path=sources, admin_token=TOKEN, bootstrap=False, fetch=policy)
    with TestClient(create_app(settings, clock=fixed_clock)) as client:
        started = client.post("/v1/admin/refresh/anthropic", headers=AUTH)
        assert started.status_code == 202, started.text
        body = started.json()
        assert body["status"] == "running" and started.headers["location"] == "/v1/runs?source=anthropic"
        # While it runs, nobody else may start a second fetch of the source: not the admin API...
        again = client.post("/v1/admin/refresh/anthropic", headers=AUTH)
        assert again.status_code == 409 and again.json()["title"] == "Refresh in progress", again.text
        # ...nor the command line (another process would be refused by the same lock file).
        assert main(["refresh", "--db", db, "--sources", sources, "anthropic"]) == 1
        err = capsys.readouterr().err
        assert "anthropic: failed - skipped: a refresh of anthropic is already running" in err
        run = wait_for_run(client, body["run_id"])
        assert run["status"] == "failed"
        assert "no complete answer within the 1.5 s refresh deadline" in run["error"]
        # The lock went with the run: the next refresh starts.
        next_start = client.post("/v1/admin/refresh/anthropic", headers=AUTH)
        assert next_start.status_code == 202
        wait_for_run(client, next_start.json()["run_id"])
    assert dripping.requests == 2  # the refused attempts fetched nothing


def test_the_source_lock_excludes_holders_in_one_process_and_frees_on_release(tmp_path):
    db = str(tmp_path / "ratecard.db")
    first = source_lock(db, None, "anthropic")
    first.acquire()
    with pytest.raises(RefreshInProgress, match="a refresh of anthropic is already running"):
        source_lock(db, None, "anthropic").acquire()
    with source_lock(db, None, "openai"):
        pass  # other sources are not held up
    first.release()
    with source_lock(db, None, "anthropic"):
        pass


def test_the_scheduler_skips_a_source_another_refresh_holds(tmp_path, dripping, caplog):
    import asyncio

    import httpx

    from ratecard.service.app import prepare_service
    from ratecard.service.scheduler import start_scheduler

    db = str(tmp_path / "ratecard.db")
    settings = Settings(db_path=db, sources_path=str(sources_file(tmp_path, dripping.base)), bootstrap=False)
    service = prepare_service(settings, clock=fixed_clock)

    async def run_job_now() -> None:
        async with httpx.AsyncClient() as client:
            scheduler = start_scheduler(service, client)
            try:
                job = scheduler.get_job("refresh:anthropic")
                with source_lock(db, None, "anthropic"):
                    await job.func(*job.args)
            finally:
                scheduler.shutdown(wait=False)

    with caplog.at_level("INFO", logger="ratecard.scheduler"):
        asyncio.run(run_job_now())
    assert "scheduled refresh skipped: a refresh of anthropic is already running" in caplog.text
    assert service.db.execute("SELECT count(*) FROM runs").fetchone()[0] == 0
    assert dripping.requests == 0


@pytest.mark.slow
def test_serve_stops_on_sigterm_with_a_refresh_in_flight(tmp_path, tmp_path_factory, dripping):
    db = bundled_db_copy(tmp_path_factory, tmp_path / "ratecard.db")
    log = tmp_path / "serve.log"
    sources = sources_file(tmp_path, dripping.base)
    # The default deadline (120 s): without cancellation the refresh would hold the process that long.
    # The writer (admin writes happen only where the scheduler runs).
    server, base = start_server(db, log, extra_env={"RATECARD_ADMIN_TOKEN": TOKEN, "RATECARD_SOURCES": str(sources)},
                                scheduler=True)
    try:
        import httpx

        started = httpx.post(f"{base}/v1/admin/refresh/anthropic", headers=AUTH, timeout=30)
        if started.status_code == 409:  # the scheduler's first run of the source got there first: as good
            runs = httpx.get(f"{base}/v1/runs", params={"source": "anthropic", "status": "running"}).json()["runs"]
            run_id = runs[0]["id"]
        else:
            assert started.status_code == 202, started.text
            run_id = started.json()["run_id"]
        while dripping.requests == 0:
            time.sleep(0.02)  # the fetch is under way
        server.send_signal(signal.SIGTERM)
        returncode = server.wait(timeout=60)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    # uvicorn stops gracefully, then re-raises the signal it caught: -15 is its normal end on SIGTERM.
    assert returncode in (0, -signal.SIGTERM), Path(log).read_text()
    with sqlite3.connect(db) as conn:
        status, error = conn.execute("SELECT status, error FROM runs WHERE id = ?", [run_id]).fetchone()
    assert (status, error) == ("failed", "interrupted: the service stopped during the refresh")
    assert "Traceback" not in Path(log).read_text()


def test_a_cli_refresh_of_several_sources_prints_a_line_per_source_and_does_not_retry_refusals(tmp_path, capsys):
    with socket.socket() as closed:  # bound, not listening: every connection is refused
        closed.bind(("127.0.0.1", 0))
        base = f"http://127.0.0.1:{closed.getsockname()[1]}"
        lines = []
        for source_id in ("anthropic", "openai"):
            lines += [f"[sources.{source_id}]", f'url = "{base}/{source_id}"']
        sources = tmp_path / "sources.toml"
        sources.write_text("\n".join(lines) + "\n", encoding="utf-8")
        status = main(["refresh", "--db", str(tmp_path / "ratecard.db"), "--sources", str(sources),
                       "anthropic", "openai"])
    assert status == 1
    assert capsys.readouterr().err.splitlines() == [
        f"[1/2] anthropic: fetching {base}/anthropic ...",
        f"anthropic: failed - FetchError: the connection was refused (not retried) ({base}/anthropic)",
        f"[2/2] openai: fetching {base}/openai ...",
        f"openai: failed - FetchError: the connection was refused (not retried) ({base}/openai)",
        "2 source(s) refreshed, 2 failed",
    ]
