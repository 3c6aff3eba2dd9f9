"""One catalog version per response, even when another process commits at the worst moment.

The serving process reads current prices from an in-memory snapshot and
history from SQLite; a writer in another process may commit at any time.
These tests commit a changeset at the two moments that used to mix versions:
between the snapshot's reads, and between a commit and the snapshot's swap.
"""

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlite_utils
from litestar.testing import TestClient

from ratecard.service.app import Settings, create_app
from ratecard.service.catalog import build_catalog
from ratecard.service.db import open_database
from ratecard.service.refresh import ingest_page
from ratecard.service.sources import load_registry
from tests.conftest import FIXED_NOW, SNAPSHOTS, fixed_clock

GOOGLE = sorted((SNAPSHOTS / "google").glob("gemini-api-pricing_*.md"))
SEEN = (datetime(2026, 5, 7, tzinfo=UTC), datetime(2026, 6, 2, tzinfo=UTC))
NEW_MODEL = ("google", "gemini-3.5-flash")  # on the second page only


def ingest(path: Path, page: int) -> int:
    """Refresh Google from one saved page on a connection of its own (as another process would)."""
    db = open_database(path)
    try:
        result = ingest_page(db, load_registry().sources["google"], GOOGLE[page].read_bytes(),
                             url=GOOGLE[page].as_uri(), fetched_at=SEEN[page], observed_at=SEEN[page],
                             now=FIXED_NOW, trigger="file")
    finally:
        db.close()
    assert result.status == "changed"
    return result.changeset_id


@pytest.fixture
def first_page_db(tmp_path) -> Path:
    path = tmp_path / "ratecard.db"
    open_database(path).close()
    assert ingest(path, 0) == 1
    return path


class CommitsBetweenReads(sqlite_utils.Database):
    """A handle on which another connection commits the second page just before the first read of `rates`."""

    def __init__(self, path: Path) -> None:
        super().__init__(sqlite3.connect(str(path), isolation_level=None, check_same_thread=False))
        self.path, self.commits = path, 0

    def query(self, sql, params=None):
        if "FROM rates" in sql and not self.commits:
            self.commits += 1
            assert ingest(self.path, 1) == 2
        return super().query(sql, params)


def test_a_commit_between_the_snapshots_reads_does_not_mix_versions(first_page_db):
    racy = CommitsBetweenReads(first_page_db)
    catalog = build_catalog(racy, load_registry(), now=FIXED_NOW)
    assert racy.commits == 1
    # The snapshot names version 1 and holds version 1's rows: the new model is not in it.
    assert catalog.version == 1 and catalog.all_rates(NEW_MODEL) == ()
    # The next build sees the commit, whole.
    fresh = build_catalog(racy, load_registry(), now=FIXED_NOW)
    assert fresh.version == 2 and len(fresh.all_rates(NEW_MODEL)) == 16
    print("\n[snapshot] commit injected between the snapshot's reads: 1; snapshots mixing versions: 0")


PINNED = (
    "/v1/models/google/gemini-embedding-2/history",
    "/v1/changes?provider=google",
    "/v1/changes.atom?provider=google",
    "/v1/export?scope=history&provider=google",
    "/v1/export?scope=history&provider=google&format=csv",
    "/v1/prices?provider=google",
    "/v1/estimate?model=gemini-embedding-2&input_tokens=1000",
)


def test_reads_between_a_commit_and_the_swap_show_the_served_version(first_page_db):
    # The reloader would swap the snapshot within 2 s; here it waits, so the window stays open.
    settings = Settings(db_path=str(first_page_db), bootstrap=False, reload_interval_s=3600)
    with TestClient(create_app(settings, clock=fixed_clock)) as client:
        before = {path: client.get(path) for path in PINNED}
        assert all(r.status_code == 200 for r in before.values())
        assert ingest(first_page_db, 1) == 2  # committed by "another process"; not yet swapped in
        during = {path: client.get(path) for path in PINNED}
        for path in PINNED:
            assert during[path].status_code == 200
            assert during[path].headers["etag"] == before[path].headers["etag"], path
            assert during[path].content == before[path].content, path  # version 1, all of it
        client.app.state.service.reload()
        after = {path: client.get(path) for path in PINNED}
        assert after[PINNED[0]].json()["catalog_version"] == 2
        assert after[PINNED[0]].content != before[PINNED[0]].content
        assert len(after["/v1/changes?provider=google"].json()["changesets"]) == 2
    print(f"\n[snapshot] endpoints read between a commit and the swap: {len(PINNED)}; "
          "answers naming one version but holding another: 0")
