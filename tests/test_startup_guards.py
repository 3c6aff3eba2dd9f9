"""What a start does with the database it finds (issue 19 rows 1, 8, 11).

- An interrupted bootstrap (killed, or stopped by a full disk) is resumed by the
  next start, which ends with the same catalog as an uninterrupted one; until then
  /readyz is 503.
- An empty, unreadable or non-SQLite file is refused with a message, left as it was.
- A database migrated by a newer ratecard is refused, naming the migrations.
- A file truncated or replaced under a live server makes /readyz 503, and a read
  that hits a broken database is a 503 problem, not a 500.
"""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from litestar.testing import TestClient

from ratecard.service.app import Settings, create_app, prepare_service
from ratecard.service.bootstrap import bundled_snapshots, missing_snapshots
from ratecard.service.catalog import sync_model_catalog
from ratecard.service.cli import main
from ratecard.service.db import DatabaseRefused, open_database
from tests.conftest import fixed_clock


@pytest.fixture(scope="module")
def reference() -> dict:
    """What an uninterrupted bootstrap gives (counted, never hard-coded)."""
    service = prepare_service(Settings(), clock=fixed_clock)
    return catalog_summary(service.db)


def catalog_summary(db) -> dict:
    return {
        "models": db.execute("SELECT count(*) FROM models WHERE EXISTS (SELECT 1 FROM rates"
                             " WHERE rates.provider = models.provider AND rates.model = models.model)").fetchone()[0],
        "rates in force": db.execute("SELECT count(*) FROM rates WHERE closed_changeset_id IS NULL").fetchone()[0],
        "values": sorted(db.execute("SELECT lane, provider, model, tier, kind, min_prompt_tokens, usd_per_mtok,"
                                    " valid_from, valid_to FROM rates WHERE closed_changeset_id IS NULL").fetchall(),
                         key=repr),
    }


def test_a_bootstrap_killed_part_way_is_completed_by_the_next_start(tmp_path, reference):
    path = tmp_path / "ratecard.db"
    # A first start in its own process, SIGKILLed once it has ingested a few bundled pages.
    code = ("import sys; from service.app import Settings, prepare_service; "
            "prepare_service(Settings(db_path=sys.argv[1]))")
    proc = subprocess.Popen([sys.executable, "-c", code, str(path)], stderr=subprocess.DEVNULL)
    try:
        give_up = time.monotonic() + 120
        while True:
            assert proc.poll() is None, "the bootstrap finished before it could be killed"
            assert time.monotonic() < give_up
            try:
                # Read-only: a probe that created the file would make it an empty database to refuse.
                with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as probe:
                    done = probe.execute("SELECT count(*) FROM runs WHERE trigger = 'bundled'").fetchone()[0]
            except sqlite3.OperationalError:
                done = 0
            if done >= 3:
                break
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    db = open_database(path)
    partial = catalog_summary(db)
    missing = missing_snapshots(db, prepare_registry())
    assert 0 < len(missing) < len(bundled_snapshots())
    assert partial["models"] < reference["models"]
    db.close()
    # The next start resumes: every bundled page is ingested, the catalog is the whole one.
    service = prepare_service(Settings(db_path=str(path)), clock=fixed_clock)
    assert service.bootstrap_missing == []
    assert catalog_summary(service.db) == reference
    with TestClient(create_app(service.settings, service=service, clock=fixed_clock)) as client:
        assert client.get("/readyz").json()["status"] == "ready"
    print(f"\n[bootstrap/kill] killed with {len(missing)} of {len(bundled_snapshots())} bundled pages left: "
          f"{partial['models']} of {reference['models']} models; next start: {reference['models']}")


def prepare_registry():
    from ratecard.service.sources import load_registry

    return load_registry()


def test_a_bootstrap_stopped_by_a_full_disk_is_not_ready_until_a_start_completes_it(tmp_path, reference):
    path = str(tmp_path / "ratecard.db")
    db = open_database(path)
    sync_model_catalog(db, now=fixed_clock())
    # A full disk, as SQLite sees it: no page past this count can be written.
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.execute(f"PRAGMA max_page_count = {pages + 300}")
    service = prepare_service(Settings(db_path=path), db=db, clock=fixed_clock)
    assert service.bootstrap_missing, "the disk filled before the bootstrap ended"
    failed = db.execute("SELECT error FROM runs WHERE status = 'failed'").fetchall()
    assert failed == [("storage error: OperationalError: database or disk is full",)]
    assert db.execute("SELECT count(*) FROM runs WHERE status = 'running'").fetchone()[0] == 0
    with TestClient(create_app(service.settings, service=service, clock=fixed_clock)) as client:
        answer = client.get("/readyz")
        assert (answer.status_code, answer.json()["status"]) == (503, "bootstrap-incomplete")
    db.close()
    # Room again: the next start ingests what is missing, and the catalog is the whole one.
    service = prepare_service(Settings(db_path=path), clock=fixed_clock)
    assert service.bootstrap_missing == []
    assert catalog_summary(service.db) == reference
    with TestClient(create_app(service.settings, service=service, clock=fixed_clock)) as client:
        assert client.get("/readyz").status_code == 200


def test_a_start_stopped_between_a_bundled_page_and_its_approval_approves_it_next_time(tmp_path, reference):
    from ratecard.service.bootstrap import snapshot_body, unapproved_snapshots
    from ratecard.service.refresh import ingest_page
    from ratecard.service.timeutil import parse_moment

    checked = [s for s in bundled_snapshots() if s.approve]
    if not checked:
        pytest.skip("no bundled page needs a hand-checked approval")
    path = str(tmp_path / "ratecard.db")
    db = open_database(path)
    sync_model_catalog(db, now=fixed_clock())
    registry = prepare_registry()
    # The pages up to the first hand-checked one, ingested as a start killed right after it would leave them.
    for snapshot in bundled_snapshots():
        source = registry.sources.get(snapshot.source)
        if source is None or not source.enabled:
            continue
        seen = parse_moment(snapshot.observed_at)
        ingest_page(db, source, snapshot_body(snapshot), url=snapshot.url, fetched_at=seen, observed_at=seen,
                    now=fixed_clock(), trigger="bundled")
        if snapshot == checked[0]:
            break
    assert unapproved_snapshots(db) == [checked[0]]
    db.close()
    service = prepare_service(Settings(db_path=path), clock=fixed_clock)
    assert service.bootstrap_missing == [] and unapproved_snapshots(service.db) == []
    assert catalog_summary(service.db) == reference


def test_a_later_start_ingests_nothing_twice(tmp_path):
    path = str(tmp_path / "ratecard.db")
    first = prepare_service(Settings(db_path=path), clock=fixed_clock)
    runs = first.db.execute("SELECT count(*) FROM runs").fetchone()[0]
    first.db.close()
    again = prepare_service(Settings(db_path=path), clock=fixed_clock)
    assert again.db.execute("SELECT count(*) FROM runs").fetchone()[0] == runs
    assert again.catalog.version == first.catalog.version


def test_an_empty_database_file_is_refused_and_left_as_it_is(tmp_path, capsys):
    path = tmp_path / "ratecard.db"
    path.touch()
    with pytest.raises(DatabaseRefused, match=r"exists but is empty \(0 bytes\): refusing to start a new catalog"):
        prepare_service(Settings(db_path=str(path)), clock=fixed_clock)
    assert path.stat().st_size == 0
    # The command line says it in one line, without a traceback, and exits non-zero.
    assert main(["serve", "--db", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ratecard serve: database ") and "empty (0 bytes)" in err
    assert "Traceback" not in err and err.count("\n") == 1
    assert path.stat().st_size == 0


def test_a_file_that_is_not_a_database_is_refused_and_left_as_it_is(tmp_path, capsys):
    path = tmp_path / "ratecard.db"
    junk = b"not a database, but somebody's data " * 200
    path.write_bytes(junk)
    with pytest.raises(DatabaseRefused, match=r"cannot be read \(file is not a database\)"):
        open_database(path)
    assert path.read_bytes() == junk
    assert main(["refresh", "--db", str(path), "anthropic"]) == 2
    assert "cannot be read (file is not a database)" in capsys.readouterr().err


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_database_file_is_refused(tmp_path):
    path = tmp_path / "ratecard.db"
    open_database(path).close()
    path.chmod(0o200)
    try:
        with pytest.raises(DatabaseRefused, match="not readable and writable"):
            open_database(path)
    finally:
        path.chmod(0o600)


def test_a_database_from_a_newer_ratecard_is_refused_naming_its_migrations(tmp_path, capsys):
    path = tmp_path / "ratecard.db"
    db = open_database(path)
    db["_sqlite_migrations"].insert_all([
        {"migration_set": "ratecard", "name": "m900_tiers_by_region", "applied_at": "2027-01-01 00:00:00"},
        {"migration_set": "ratecard", "name": "m901_rates_currency", "applied_at": "2027-01-01 00:00:01"},
    ])
    db.close()
    before = path.read_bytes()
    with pytest.raises(DatabaseRefused) as info:
        open_database(path)
    assert "unknown migrations: m900_tiers_by_region, m901_rates_currency" in str(info.value)
    assert main(["changesets", "list", "--db", str(path)]) == 2
    err = capsys.readouterr().err
    assert "was migrated by a newer ratecard (unknown migrations: m900_tiers_by_region, m901_rates_currency)" in err
    assert path.read_bytes() == before


@pytest.fixture
def live_file_service(tmp_path, tmp_path_factory):
    """A served app over a bootstrapped file database (a copy shared by the tests of this module)."""
    path = tmp_path / "ratecard.db"
    service = prepare_service(Settings(db_path=str(path)), clock=fixed_clock)
    with TestClient(create_app(service.settings, service=service, clock=fixed_clock)) as client:
        yield client, service, path


def test_a_database_truncated_under_a_live_server_makes_readyz_fail(live_file_service):
    client, service, path = live_file_service
    assert client.get("/readyz").json()["status"] == "ready"
    os.truncate(path, path.stat().st_size // 2)
    answer = client.get("/readyz")
    assert (answer.status_code, answer.json()["status"]) == (503, "storage-unavailable")


def test_a_database_replaced_under_a_live_server_makes_readyz_fail(live_file_service):
    client, service, path = live_file_service
    assert client.get("/readyz").status_code == 200
    path.unlink()
    path.write_bytes(b"")
    answer = client.get("/readyz")
    assert (answer.status_code, answer.json()["status"]) == (503, "storage-unavailable")


def test_a_read_that_meets_a_broken_database_is_a_503_problem(live_file_service):
    client, service, path = live_file_service
    with sqlite3.connect(path) as other:
        other.execute("DROP TABLE rates")
    answer = client.get("/v1/prices", params={"model": "gpt-4o", "as_of": "2025-12-01"})
    assert answer.status_code == 503, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.headers["retry-after"] == "5"
    assert answer.json()["title"] == "Storage unavailable"
    assert "no such table: rates" in answer.json()["detail"]
    assert client.get("/readyz").status_code == 503
