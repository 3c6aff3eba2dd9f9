"""Curated history: the changes budget owners ask about, as-of reads, and conflicts with scraped pages."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from ratecard.service.changesets import ChangesetConflict
from ratecard.service.curated import load_curated
from ratecard.service.db import open_database
from ratecard.service.refresh import ingest_page
from ratecard.service.sources import load_registry
from tests.conftest import FIXED_NOW, SNAPSHOTS
from tests.test_api import exact, rates_by_key


def test_o3_price_cut_on_2025_06_10(client):
    before = rates_by_key(exact(client.get("/v1/prices", params={"model": "o3", "as_of": "2025-06-01"})))
    after = rates_by_key(exact(client.get("/v1/prices", params={"model": "o3", "as_of": "2025-06-20"})))
    assert (before[("standard", "input", 0)], before[("standard", "output", 0)]) == (Decimal("10"), Decimal("40"))
    assert (after[("standard", "input", 0)], after[("standard", "output", 0)]) == (Decimal("2"), Decimal("8"))


def test_gpt_4o_alias_moved_to_the_cheaper_snapshot_on_2024_10_02(client):
    before = rates_by_key(exact(client.get("/v1/prices", params={"model": "gpt-4o", "as_of": "2024-10-01"})))
    after = rates_by_key(exact(client.get("/v1/prices", params={"model": "gpt-4o", "as_of": "2024-10-02"})))
    assert (before[("standard", "input", 0)], before[("standard", "output", 0)]) == (Decimal("5"), Decimal("15"))
    assert (after[("standard", "input", 0)], after[("standard", "output", 0)]) == (Decimal("2.50"), Decimal("10"))
    # The dated snapshot is its own model with its own price from its release.
    snapshot = rates_by_key(exact(client.get("/v1/prices", params={"model": "gpt-4o-2024-08-06",
                                                                     "as_of": "2024-09-01"})))
    assert snapshot[("standard", "input", 0)] == Decimal("2.50")


def test_curated_rows_say_where_they_were_read(client):
    row = exact(client.get("/v1/prices", params={"model": "o3", "as_of": "2025-06-20", "kind": "input",
                                                 "tier": "standard"}))["rates"][0]
    assert row["basis"] == "curated" and row["source"] == "curated"
    assert row["url"].startswith("https://") and row["valid_from"].startswith("2025-06-10")


def test_the_change_feed_reads_o3_changed_from_10_to_2(client):
    changesets = exact(client.get("/v1/changes", params={"provider": "openai", "model": "o3",
                                                           "since": "2025-06-01", "until": "2025-07-01"}))["changesets"]
    changes = [c for cs in changesets for c in cs["changes"] if c["kind"] == "input" and c["tier"] == "standard"]
    assert [(c["action"], c["old_usd_per_mtok"], c["new_usd_per_mtok"]) for c in changes] == [
        ("changed", Decimal("10.00"), Decimal("2.00"))
    ]


def test_loading_twice_adds_nothing(bundled_service):
    assert load_curated(bundled_service.db, now=FIXED_NOW) == []


def test_curated_history_that_contradicts_a_scraped_page_fails_naming_the_rate(tmp_path):
    db = open_database(None)
    anthropic = load_registry().sources["anthropic"]
    page = SNAPSHOTS / "anthropic" / "pricing_md_2025-11-08_ddc28d6.md"
    seen = datetime(2025, 11, 8, tzinfo=UTC)
    ingest_page(db, anthropic, page.read_bytes(), url="https://example.test/p", fetched_at=seen, now=FIXED_NOW,
                trigger="test")
    wrong = tmp_path / "history.toml"
    wrong.write_text(
        """
[[changes]]
provider = "anthropic"
model = "claude-sonnet-4-5"
effective = "2025-11-01"
source_url = "https://example.test/announcement"
rates = { "standard.input" = 4.00 }

[[changes]]
provider = "anthropic"
model = "claude-sonnet-4-5"
effective = "2025-12-01"
source_url = "https://example.test/announcement-2"
rates = { "standard.input" = 3.00 }
""",
        encoding="utf-8",
    )
    with pytest.raises(ChangesetConflict, match="claude-sonnet-4-5 standard input is 4.00 from 2025-11-01.*observed 3"):
        load_curated(db, now=FIXED_NOW, path=wrong)
    assert db.execute("SELECT count(*) FROM changesets WHERE source_id = 'curated'").fetchone()[0] == 0
