"""Two writers of one source: diff, gate and commit happen in one transaction (issue 19 row 5).

Each test opens two connections to one database file and makes the second
writer run its whole refresh at the worst moment of the first: just before the
first one's write transaction begins. Before the fix the first writer had
already diffed by then (outside the transaction), so it committed a change
against a value that no longer held. The moment is found with SQLite's own
statement trace on a connection the test opened, not with timing.
"""

import threading
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from ratecard import data as ratecard_data
from ratecard.service.db import open_database
from ratecard.service.refresh import ingest_page
from ratecard.service.sources import load_registry

SNAPSHOT = ratecard_data.path("snapshots", "anthropic", "pricing_md_2025-11-19_8c7f4da.md").read_bytes()
HAIKU_3_STANDARD_OUTPUT = b"| \\$1.25 / MTok |"
HAIKU_3_BATCH_OUTPUT = b"| \\$0.625 / MTok |"
SEEN = datetime(2025, 11, 19, tzinfo=UTC)
LATER = datetime(2026, 1, 10, tzinfo=UTC)
URL = "https://docs.anthropic.com/en/docs/about-claude/pricing.md"


def haiku_3_output(standard: str, batch: str) -> bytes:
    """The saved page with Claude Haiku 3's output price (and its batch half) changed."""
    assert SNAPSHOT.count(HAIKU_3_STANDARD_OUTPUT) == 1 and SNAPSHOT.count(HAIKU_3_BATCH_OUTPUT) == 1
    return (SNAPSHOT.replace(HAIKU_3_STANDARD_OUTPUT, f"| \\${standard} / MTok |".encode())
            .replace(HAIKU_3_BATCH_OUTPUT, f"| \\${batch} / MTok |".encode()))


@pytest.fixture
def database(tmp_path) -> str:
    """A file database holding the saved Anthropic page."""
    path = str(tmp_path / "ratecard.db")
    db = open_database(path)
    source = load_registry().sources["anthropic"]
    assert ingest_page(db, source, SNAPSHOT, url=URL, fetched_at=SEEN, now=SEEN, trigger="file").status == "changed"
    db.close()
    return path


def race(path: str, first_body: bytes, second_body: bytes):
    """Ingest ``first_body`` on one connection, running all of ``second_body``'s ingest just before
    the first writer's write transaction begins; return both results."""
    source = load_registry().sources["anthropic"]
    first, second = open_database(path), open_database(path)
    results = {}

    def second_writer() -> None:
        results["second"] = ingest_page(second, source, second_body, url=URL, fetched_at=LATER, now=LATER,
                                        trigger="file")

    fired = []

    def trace(statement: str) -> None:
        if statement.strip().upper() == "BEGIN IMMEDIATE" and not fired:
            fired.append(statement)
            other = threading.Thread(target=second_writer)
            other.start()
            other.join(timeout=60)
            assert not other.is_alive(), "the second writer did not finish"

    first.conn.set_trace_callback(trace)
    results["first"] = ingest_page(first, source, first_body, url=URL, fetched_at=LATER, now=LATER, trigger="file")
    first.conn.set_trace_callback(None)
    assert fired, "the first writer never began a write transaction"
    first.close()
    second.close()
    return results["first"], results["second"]


def haiku_3_changes(path: str) -> list[tuple]:
    db = open_database(path)
    rows = db.execute(
        "SELECT c.changeset_id, cs.status, c.tier, c.old_usd_per_mtok, c.new_usd_per_mtok FROM changes c"
        " JOIN changesets cs ON cs.id = c.changeset_id"
        " WHERE c.model = 'claude-3-haiku' AND c.kind = 'output' AND cs.id > 1 ORDER BY c.changeset_id, c.tier"
    ).fetchall()
    db.close()
    return rows


def test_two_writers_of_one_change_commit_it_once(database):
    page = haiku_3_output("1.50", "0.75")
    first, second = race(database, page, page)
    assert (second.status, second.changes) == ("changed", 2)
    # The first writer diffs after the second committed: nothing is left to change.
    assert (first.status, first.changeset_id) == ("no_change", None)
    assert haiku_3_changes(database) == [
        (second.changeset_id, "applied", "batch", "0.625", "0.75"),
        (second.changeset_id, "applied", "standard", "1.25", "1.50"),
    ]


def test_two_moves_that_make_more_than_5x_together_are_quarantined(database):
    # Each page alone moves the price by less than 5x; one after the other they move it 13x.
    up, down = haiku_3_output("4.00", "2.00"), haiku_3_output("0.30", "0.15")
    first, second = race(database, up, down)
    assert second.status == "changed"
    assert first.status == "quarantined", first
    assert "moves more than 5x: 0.30 -> 4.00" in first.error
    changes = haiku_3_changes(database)
    assert (second.changeset_id, "applied", "standard", "1.25", "0.30") in changes
    assert (first.changeset_id, "quarantined", "standard", "0.30", "4.00") in changes
    db = open_database(database)
    served = db.execute("SELECT usd_per_mtok FROM rates WHERE model = 'claude-3-haiku' AND tier = 'standard'"
                        " AND kind = 'output' AND closed_changeset_id IS NULL AND valid_to IS NULL").fetchall()
    assert [Decimal(v) for (v,) in served] == [Decimal("0.30")]


def test_concurrent_writers_in_threads_never_duplicate_a_changeset(database):
    # The same race without a chosen moment: 8 rounds of two threads started together.
    source = load_registry().sources["anthropic"]
    prices = [("1.50", "0.75"), ("1.25", "0.625")] * 4
    for round_, (standard, batch) in enumerate(prices):
        page = haiku_3_output(standard, batch)
        barrier = threading.Barrier(2)
        results = []

        def write() -> None:
            db = open_database(database)
            barrier.wait()
            at = datetime(2026, 2, 1 + round_, tzinfo=UTC)
            results.append(ingest_page(db, source, page, url=URL, fetched_at=at, now=at, trigger="file"))
            db.close()

        threads = [threading.Thread(target=write) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        statuses = sorted(r.status for r in results)
        assert statuses in (["changed", "no_change"], ["changed", "unchanged"]), (round_, results)
    db = open_database(database)
    per_changeset = db.execute(
        "SELECT count(*) FROM changes WHERE model = 'claude-3-haiku' AND kind = 'output' AND changeset_id > 1"
        " GROUP BY changeset_id").fetchall()
    assert [n for (n,) in per_changeset] == [2] * len(prices)
