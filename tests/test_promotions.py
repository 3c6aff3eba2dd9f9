"""A promotion with a stated end: billed until then, the page's list price after, through the real pipeline.

DeepSeek's saved page (2026-05-08) bills deepseek-v4-pro at 75% off "until
2026/05/31 15:59 UTC" and shows the list prices struck through: $1.74 input,
$0.0145 cache hit, $3.48 output (billed: $0.435, $0.003625, $0.87).
"""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from ratecard import data as ratecard_data

from ratecard.service.catalog import build_catalog
from ratecard.service.history import model_history, rates_as_of
from ratecard.service.refresh import ingest_page
from tests.conftest import empty_database

PAGE = ratecard_data.path("snapshots", "deepseek") / "api-docs-pricing_2026-05-08_quill-d1507e12.html"
SEEN = datetime(2026, 5, 8, tzinfo=UTC)
ENDS = datetime(2026, 5, 31, 16, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def db():
    return empty_database(NOW)


def ingest(db, registry, *, observed_at: datetime, force: bool = False):
    return ingest_page(db, registry.sources["deepseek"], PAGE.read_bytes(), url="https://api-docs.deepseek.com/quick_start/pricing",
                       fetched_at=observed_at, observed_at=observed_at, now=observed_at, trigger="file", force=force)


def pro_input(db, at: datetime) -> Decimal:
    (rate,) = [r for r in rates_as_of(db, at, provider="deepseek", model="deepseek-v4-pro")
               if r.tier == "standard" and r.kind == "input"]
    return rate.usd_per_mtok


def test_the_discount_is_billed_until_its_end_and_the_list_price_after(db, registry):
    result = ingest(db, registry, observed_at=SEEN)
    assert result.status == "changed"
    assert pro_input(db, datetime(2026, 5, 20, tzinfo=UTC)) == Decimal("0.435")
    assert pro_input(db, datetime(2026, 5, 31, 15, 59, 59, tzinfo=UTC)) == Decimal("0.435")
    assert pro_input(db, ENDS) == Decimal("1.74")
    intervals = [(r.usd_per_mtok, r.valid_from, r.valid_to) for r in model_history(db, "deepseek", "deepseek-v4-pro")
                 if r.tier == "standard" and r.kind == "input"]
    assert intervals == [(Decimal("0.435"), SEEN, ENDS), (Decimal("1.74"), ENDS, None)]


def test_the_catalog_serves_the_list_price_once_the_promotion_is_over(db, registry):
    ingest(db, registry, observed_at=SEEN)
    during = build_catalog(db, registry, now=datetime(2026, 5, 9, tzinfo=UTC))
    key = ("deepseek", "deepseek-v4-pro")
    billed = {r.kind: r.usd_per_mtok for r in during.rates_at(key, datetime(2026, 5, 9, tzinfo=UTC))}
    assert billed == {"cached_input": Decimal("0.003625"), "input": Decimal("0.435"), "output": Decimal("0.87")}
    # The same snapshot, asked about a moment after the end, already knows the list price.
    after = {r.kind: r.usd_per_mtok for r in during.rates_at(key, datetime(2026, 6, 1, tzinfo=UTC))}
    assert after == {"cached_input": Decimal("0.0145"), "input": Decimal("1.74"), "output": Decimal("3.48")}
    assert during.epoch(datetime(2026, 5, 9, tzinfo=UTC)) != during.epoch(datetime(2026, 6, 1, tzinfo=UTC))
    now = {r.kind: r.usd_per_mtok for r in build_catalog(db, registry, now=NOW).rates_at(key, NOW)}
    assert now == after


def test_seeing_the_same_page_again_before_the_end_changes_nothing(db, registry):
    ingest(db, registry, observed_at=SEEN)
    rows = db["rates"].count
    again = ingest(db, registry, observed_at=datetime(2026, 5, 20, tzinfo=UTC), force=True)
    assert (again.status, again.changes, db["rates"].count) == ("no_change", 0, rows)


def test_a_page_seen_after_its_promotion_ended_does_not_restart_it(db, registry):
    # A stale copy of the page read on 2026-06-15 still shows the discount; its own footnote says it is over.
    result = ingest(db, registry, observed_at=datetime(2026, 6, 15, tzinfo=UTC))
    assert result.status == "changed"
    assert pro_input(db, datetime(2026, 6, 15, tzinfo=UTC)) == Decimal("1.74")
    assert [r.usd_per_mtok for r in model_history(db, "deepseek", "deepseek-v4-pro")
            if r.tier == "standard" and r.kind == "input"] == [Decimal("1.74")]

