"""SQLite failing under a run (issue 19 row 9): a full disk, a lock held past the timeout, a
missing table. Each is recorded on the run with SQLite's reason (never left `running`), is a 503
problem where an admin request waits on it, and one clean line on the command line.
"""

import sqlite3
from datetime import UTC, datetime

import pytest
from litestar.testing import TestClient

from ratecard import data as ratecard_data
from ratecard.service.app import Settings, create_app, prepare_service
from ratecard.service.cli import main
from ratecard.service.db import open_database
from ratecard.service.refresh import ingest_page, start_run
from ratecard.service.sources import load_registry
from tests.conftest import fixed_clock

SNAPSHOT = ratecard_data.path("snapshots", "anthropic", "pricing_md_2025-11-19_8c7f4da.md")
PAGE = SNAPSHOT.read_bytes()
CHANGED_PAGE = PAGE.replace(b"| \\$1.25 / MTok |", b"| \\$1.50 / MTok |")
SEEN = datetime(2025, 11, 19, tzinfo=UTC)
LATER = datetime(2026, 1, 10, tzinfo=UTC)
URL = "https://docs.anthropic.com/en/docs/about-claude/pricing.md"
TOKEN = "storage-errors-admin-token"
SOURCE = load_registry().sources["anthropic"]


@pytest.fixture
def path(tmp_path) -> str:
    """A file database holding the saved Anthropic page."""
    path = str(tmp_path / "ratecard.db")
    db = open_database(path)
    assert ingest_page(db, SOURCE, PAGE, url=URL, fetched_at=SEEN, now=SEEN, trigger="file").status == "changed"
    db.close()
    return path


def run_row(db, run_id: int) -> tuple:
    return db.execute("SELECT status, error FROM runs WHERE id = ?", [run_id]).fetchone()


def test_a_full_disk_fails_the_run_with_its_reason(path):
    db = open_database(path)
    run_id = start_run(db, SOURCE, trigger="file", url=URL, now=LATER)
    # SQLite's view of a full disk: no page beyond those the file already has.
    db.execute(f"PRAGMA max_page_count = {db.execute('PRAGMA page_count').fetchone()[0]}")
    result = ingest_page(db, SOURCE, CHANGED_PAGE, url=URL, fetched_at=LATER, now=LATER, trigger="file",
                         run_id=run_id)
    assert (result.status, result.error) == ("failed", "storage error: OperationalError: database or disk is full")
    assert run_row(db, run_id) == ("failed", "storage error: OperationalError: database or disk is full")
    assert db.execute("SELECT count(*) FROM changesets").fetchone()[0] == 1


def test_a_lock_held_past_the_busy_timeout_fails_the_run_with_its_reason(path):
    db = open_database(path)
    run_id = start_run(db, SOURCE, trigger="file", url=URL, now=LATER)
    db.execute("PRAGMA busy_timeout = 50")  # the test's own connection: 50 ms instead of 30 s
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        result = ingest_page(db, SOURCE, CHANGED_PAGE, url=URL, fetched_at=LATER, now=LATER, trigger="file",
                             run_id=run_id)
        assert (result.status, result.error) == ("failed", "storage error: OperationalError: database is locked")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    # Recording the failure waited on the same lock; it is written by the next run on this database.
    retry = ingest_page(db, SOURCE, CHANGED_PAGE, url=URL, fetched_at=LATER, now=LATER, trigger="file")
    assert retry.status == "changed"
    assert run_row(db, run_id) == ("failed", "storage error: OperationalError: database is locked")
    assert db.execute("SELECT count(*) FROM runs WHERE status = 'running'").fetchone()[0] == 0


def test_a_missing_table_fails_the_run_with_its_reason(path):
    db = open_database(path)
    db.execute("DROP TABLE pages")
    result = ingest_page(db, SOURCE, CHANGED_PAGE, url=URL, fetched_at=LATER, now=LATER, trigger="file")
    assert (result.status, result.error) == ("failed", "storage error: OperationalError: no such table: pages")
    assert run_row(db, result.run_id) == ("failed", "storage error: OperationalError: no such table: pages")
    assert db.execute("SELECT count(*) FROM runs WHERE status = 'running'").fetchone()[0] == 0


def test_admin_requests_that_wait_on_a_locked_database_are_503_problems(path):
    service = prepare_service(Settings(db_path=path, admin_token=TOKEN, bootstrap=False), clock=fixed_clock)
    service.db.execute("PRAGMA busy_timeout = 50")
    auth = {"Authorization": f"Bearer {TOKEN}"}
    holder = sqlite3.connect(path, isolation_level=None)
    with TestClient(create_app(service.settings, service=service, clock=fixed_clock)) as client:
        holder.execute("BEGIN IMMEDIATE")
        try:
            answers = [client.post("/v1/admin/refresh/anthropic", headers=auth),
                       client.post("/v1/admin/changesets/1/approve", headers=auth),
                       client.post("/v1/admin/changesets/1/reject", headers=auth)]
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        for answer in answers:
            assert answer.status_code == 503, answer.text
            assert answer.headers["content-type"].startswith("application/problem+json")
            assert answer.json()["detail"].endswith("database is locked")
        # No run was started, so none is left `running`.
        assert client.get("/v1/runs", params={"status": "running"}).json()["runs"] == []


def test_the_command_line_reports_storage_errors_in_one_line(path, tmp_path, capsys):
    db = open_database(path)
    db.execute("DROP TABLE pages")
    db.execute("DROP TABLE changes")
    db.close()
    changed = tmp_path / "changed.md"
    changed.write_bytes(CHANGED_PAGE)
    assert main(["refresh", "--db", path, "anthropic", "--from-file", str(changed)]) == 1
    err = capsys.readouterr().err
    assert err == "anthropic: failed - storage error: OperationalError: no such table: pages\n"
    assert main(["changesets", "show", "1", "--db", path]) == 1
    err = capsys.readouterr().err
    assert err == "ratecard changesets: storage error: OperationalError: no such table: changes\n"
    assert "Traceback" not in err
