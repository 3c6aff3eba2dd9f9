"""Bodies of failed runs are kept for a bounded count (issue 19 row 12): a rejected page (random
bytes, an error page, an internal page) is evidence for a while, not history. Bodies that a rate,
a change or a successful run points at are provenance and always kept.
"""

from datetime import UTC, datetime, timedelta

from ratecard import data as ratecard_data
from ratecard.service.db import open_database
from ratecard.service.refresh import FAILED_BODIES_KEPT, ingest_page
from ratecard.service.sources import load_registry

PAGE = ratecard_data.path("snapshots", "anthropic", "pricing_md_2025-11-19_8c7f4da.md").read_bytes()
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_failed_bodies_beyond_the_newest_are_deleted_and_good_ones_kept():
    db = open_database(None)
    source = load_registry().sources["anthropic"]
    good = ingest_page(db, source, PAGE, url="file:///good.md", fetched_at=T0, now=T0, trigger="file")
    assert good.status == "changed"
    rejected = FAILED_BODIES_KEPT + 15
    for n in range(rejected):
        at = T0 + timedelta(hours=n + 1)
        result = ingest_page(db, source, f"<html>502 Bad Gateway #{n}</html>".encode(), url="file:///bad.md",
                             fetched_at=at, now=at, trigger="file")
        assert result.status == "failed"
    kept = db.execute("SELECT body FROM pages WHERE source_id = 'anthropic' ORDER BY fetched_at").fetchall()
    assert kept[0][0] == PAGE  # the page the prices came from
    assert [b for (b,) in kept[1:]] == [f"<html>502 Bad Gateway #{n}</html>".encode()
                                        for n in range(rejected - FAILED_BODIES_KEPT, rejected)]
    # Every failed run still says what it read, by hash, even when the body is gone.
    assert db.execute("SELECT count(*) FROM runs WHERE status = 'failed' AND body_sha256 != ''").fetchone()[0] \
        == rejected
