"""A run left `running` by a killed process is closed as failed when the service next starts."""

from datetime import UTC, datetime, timedelta

from ratecard.service.app import Settings, prepare_service
from ratecard.service.db import open_database
from ratecard.service.refresh import close_abandoned_runs, start_run
from ratecard.service.sources import load_registry

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def test_only_runs_older_than_an_hour_are_closed_and_they_say_why():
    db = open_database(None)
    source = load_registry(None).sources["anthropic"]
    killed = start_run(db, source, trigger="schedule", url=source.url, now=T0)
    live = start_run(db, source, trigger="cli", url=source.url, now=T0 + timedelta(hours=1, minutes=50))
    assert close_abandoned_runs(db, now=T0 + timedelta(hours=2)) == 1
    assert db["runs"].get(killed)["status"] == "failed"
    assert db["runs"].get(killed)["error"] == "interrupted: the process ended before the run finished"
    assert db["runs"].get(killed)["finished_at"] == "2026-11-20T14:00:00Z"
    assert db["runs"].get(live)["status"] == "running"  # another process may still be on it


def test_the_service_closes_them_as_it_starts(tmp_path):
    path = str(tmp_path / "ratecard.db")
    db = open_database(path)
    source = load_registry(None).sources["openai"]
    killed = start_run(db, source, trigger="schedule", url=source.url, now=T0 - timedelta(days=1))
    db.close()
    service = prepare_service(Settings(db_path=path, bootstrap=False), clock=lambda: T0)
    assert service.db["runs"].get(killed)["status"] == "failed"
