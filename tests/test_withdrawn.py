"""A scheduled price the page stops stating is withdrawn, through the real pipeline.

Anthropic's page seen 2026-08-08 prices Claude Sonnet 5 at $2 input / $10
output "through August 31, 2026" and $3 / $15 "starting September 1, 2026".
The page seen 2026-08-21 restates $2 / $10 with no date and says "The
previously scheduled increase to $3/$15 ... on September 1, 2026 will not
occur." Each page is ingested at the moment it was seen.
"""

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from ratecard import data as ratecard_data

from ratecard.scrapers import anthropic
from ratecard.service.changesets import WITHDRAWN, approve_changeset
from ratecard.service.feed import describe_change
from ratecard.service.history import changesets_page, model_history, rates_as_of
from ratecard.service.refresh import ingest_page
from ratecard.service.queries import changeset_out
from tests.conftest import empty_database
from tests.test_api import exact

PAGE_0808 = ratecard_data.path("snapshots", "anthropic") / "platform-pricing-md_2026-08-08_claude-docs-sitemap-b86085f.md"
PAGE_0821 = ratecard_data.path("snapshots", "anthropic") / "platform-pricing-md_2026-08-21_claude-docs-sitemap-30e477c.md"
URL = "https://platform.claude.com/docs/en/about-claude/pricing.md"
SEEN_0808 = datetime(2026, 8, 8, tzinfo=UTC)
SEEN_0821 = datetime(2026, 8, 21, tzinfo=UTC)
SEPT_1 = datetime(2026, 9, 1, tzinfo=UTC)
SEPT_15 = datetime(2026, 9, 15, tzinfo=UTC)
SONNET_5 = "claude-sonnet-5"


@pytest.fixture
def db():
    return empty_database(SEEN_0808)


def ingest(db, registry, body: bytes, seen: datetime, *, force: bool = False):
    result = ingest_page(db, registry.sources["anthropic"], body, url=URL, fetched_at=seen, observed_at=seen,
                         now=seen, trigger="file", force=force)
    assert result.status in ("changed", "no_change"), result
    return result


def sonnet_5(db, at: datetime, *, version: int | None = None) -> dict[tuple[str, str], Decimal]:
    return {(r.tier, r.kind): r.usd_per_mtok
            for r in rates_as_of(db, at, provider="anthropic", model=SONNET_5, version=version)
            if r.min_prompt_tokens == 0}


def withdrawals(db) -> list[dict]:
    return [c for _, changes in changesets_page(db, model=SONNET_5, limit=100) for c in changes
            if c["action"] == WITHDRAWN]


def scheduled_0808() -> set[tuple[str, str]]:
    """The (tier, kind) rates the 08-08 page dates from September 1."""
    reading = anthropic.parse(PAGE_0808.read_bytes(), URL)
    return {(o.tier, o.kind) for o in reading.observations
            if o.model == SONNET_5 and o.valid_from == SEPT_1 and o.min_prompt_tokens == 0}


def test_the_page_that_no_longer_states_the_increase_withdraws_it(db, registry):
    first = ingest(db, registry, PAGE_0808.read_bytes(), SEEN_0808)
    assert sonnet_5(db, SEPT_15)[("standard", "input")] == Decimal("3")  # as the 08-08 page said
    second = ingest(db, registry, PAGE_0821.read_bytes(), SEEN_0821)
    assert second.status == "changed"

    now = sonnet_5(db, SEPT_15)
    assert (now[("standard", "input")], now[("standard", "output")]) == (Decimal("2"), Decimal("10"))
    assert (now[("batch", "input")], now[("batch", "output")]) == (Decimal("1"), Decimal("5"))
    # What was known between the two pages is still answered as it stood.
    then = sonnet_5(db, SEPT_15, version=first.changeset_id)
    assert (then[("standard", "input")], then[("standard", "output")]) == (Decimal("3"), Decimal("15"))
    assert then[("batch", "input")] == Decimal("1.50")
    # Today's knowledge of the input rate: one $2 interval from the first page on, no $3 ever.
    assert [(r.usd_per_mtok, r.valid_from, r.valid_to) for r in model_history(db, "anthropic", SONNET_5)
            if (r.tier, r.kind, r.min_prompt_tokens) == ("standard", "input", 0)] == [(Decimal("2"), SEEN_0808, None)]


def test_the_change_feed_says_withdrawn_once_and_never_that_the_increase_took_effect(db, registry):
    ingest(db, registry, PAGE_0808.read_bytes(), SEEN_0808)
    second = ingest(db, registry, PAGE_0821.read_bytes(), SEEN_0821)
    again = ingest(db, registry, PAGE_0821.read_bytes(), datetime(2026, 8, 25, tzinfo=UTC), force=True)
    assert (again.status, again.changes) == ("no_change", 0)

    withdrawn = withdrawals(db)
    assert {(c["tier"], c["kind"]) for c in withdrawn} == scheduled_0808()
    assert len(withdrawn) == len(scheduled_0808())  # each once
    assert {c["changeset_id"] for c in withdrawn} == {second.changeset_id}
    (changeset, changes), *_ = changesets_page(db, model=SONNET_5, limit=1)
    lines = [describe_change(c) for c in changeset_out(changeset, changes).changes]
    assert "claude-sonnet-5 standard input 3 USD/1M scheduled from 2026-09-01 withdrawn" in lines
    assert not [line for line in lines if "->" in line]  # no price change is claimed
    input_change = next(c for c in withdrawn if (c["tier"], c["kind"]) == ("standard", "input"))
    assert (input_change["old_usd_per_mtok"], input_change["new_usd_per_mtok"]) == ("3", None)
    assert "2026-08-21" in input_change["note"]


def test_a_page_that_restates_the_scheduled_price_keeps_it(db, registry):
    ingest(db, registry, PAGE_0808.read_bytes(), SEEN_0808)
    again = ingest(db, registry, PAGE_0808.read_bytes(), datetime(2026, 8, 20, tzinfo=UTC), force=True)
    assert (again.status, again.changes) == ("no_change", 0)
    assert sonnet_5(db, SEPT_15)[("standard", "input")] == Decimal("3")
    assert withdrawals(db) == []


def test_a_scheduled_price_that_already_began_is_history(db, registry):
    ingest(db, registry, PAGE_0808.read_bytes(), SEEN_0808)
    # The 08-21 text read only after September 1: the $3 was in force from then until this reading.
    late = datetime(2026, 9, 3, tzinfo=UTC)
    ingest(db, registry, PAGE_0821.read_bytes(), late)
    assert withdrawals(db) == []
    assert sonnet_5(db, datetime(2026, 9, 2, tzinfo=UTC))[("standard", "input")] == Decimal("3")
    assert sonnet_5(db, SEPT_15)[("standard", "input")] == Decimal("2")


def test_a_skipped_section_keeps_the_schedule_of_the_models_it_may_price(db, registry):
    ingest(db, registry, PAGE_0808.read_bytes(), SEEN_0808)
    text = PAGE_0821.read_text(encoding="utf-8")
    without_batch, dropped = re.subn(r"(?ms)^\| Model\s+\| Batch input.*?(?=^\s*$)", "", text)
    assert dropped == 1
    result = ingest_page(db, registry.sources["anthropic"], without_batch.encode(), url=URL, fetched_at=SEEN_0821,
                         observed_at=SEEN_0821, now=SEEN_0821, trigger="file")
    assert result.status == "partial" and [s.tiers for s in result.skipped] == [("batch",)]
    # Sonnet 5 has batch rates the unread table may still date, so none of its schedule is withdrawn.
    assert withdrawals(db) == []
    assert sonnet_5(db, SEPT_15)[("standard", "input")] == Decimal("3")


def test_the_bundle_serves_the_price_that_stayed_and_lists_the_withdrawal(client):
    # Both pages are bundled in date order; the API answers from what the newer one said.
    moment = {"model": SONNET_5, "tier": "standard", "kind": "input", "as_of": "2026-09-15"}
    (rate,) = exact(client.get("/v1/prices", params=moment))["rates"]
    assert rate["usd_per_mtok"] == Decimal("2")
    changesets = exact(client.get("/v1/changes", params={"model": SONNET_5, "limit": 200}))["changesets"]
    changes = [c for cs in changesets for c in cs["changes"] if (c["tier"], c["kind"]) == ("standard", "input")]
    # Newest first: the withdrawal, then what the 08-08 page scheduled (its record of that day stays).
    assert [(c["action"], c["old_usd_per_mtok"], c["new_usd_per_mtok"], c["valid_from"][:10]) for c in changes] == [
        ("withdrawn", Decimal("3"), None, "2026-09-01"),
        ("added", None, Decimal("2"), "2026-08-08"),
        ("added", None, Decimal("3"), "2026-09-01"),
    ]
    # At the version the 08-08 page made, the scheduled $3 is what was known for September 15.
    (known_then,) = exact(client.get("/v1/prices", params={**moment, "version": changesets[-1]["id"]}))["rates"]
    assert known_then["usd_per_mtok"] == Decimal("3")


def test_a_price_moved_to_a_later_date_is_withdrawn_at_the_old_date_and_added_at_the_new(db, registry):
    ingest(db, registry, PAGE_0808.read_bytes(), SEEN_0808)
    text = PAGE_0808.read_text(encoding="utf-8")
    postponed = text.replace("through August 31, 2026", "through September 30, 2026").replace(
        "starting September 1, 2026", "starting October 1, 2026")
    assert postponed.count("October 1, 2026") == 2  # the standard and the batch table
    result = ingest(db, registry, postponed.encode(), SEEN_0821)
    assert result.status == "changed"
    assert sonnet_5(db, SEPT_15)[("standard", "input")] == Decimal("2")
    oct_1 = datetime(2026, 10, 1, tzinfo=UTC)
    assert sonnet_5(db, oct_1)[("standard", "input")] == Decimal("3")
    assert [(r.usd_per_mtok, r.valid_from, r.valid_to) for r in model_history(db, "anthropic", SONNET_5)
            if (r.tier, r.kind, r.min_prompt_tokens) == ("standard", "input", 0)] == [
        (Decimal("2"), SEEN_0808, oct_1), (Decimal("3"), oct_1, None)]
    assert {(c["valid_from"], c["old_usd_per_mtok"]) for c in withdrawals(db)
            if (c["tier"], c["kind"]) == ("standard", "input")} == {("2026-09-01T00:00:00Z", "3")}


def test_a_quarantined_reading_withdraws_once_approved(db, registry):
    ingest(db, registry, PAGE_0808.read_bytes(), SEEN_0808)
    # The same 08-21 page with one unrelated price moved 9x, which the gate holds for a person.
    text = PAGE_0821.read_text(encoding="utf-8")
    haiku = "| Claude Haiku 4.5 "
    line = next(row for row in text.splitlines() if row.startswith(haiku))
    held = text.replace(line, line.replace("| $1 / MTok ", "| $9 / MTok ", 1), 1)
    assert held != text
    result = ingest_page(db, registry.sources["anthropic"], held.encode(), url=URL, fetched_at=SEEN_0821,
                         observed_at=SEEN_0821, now=SEEN_0821, trigger="file")
    assert result.status == "quarantined"
    assert sonnet_5(db, SEPT_15)[("standard", "input")] == Decimal("3")  # nothing applied yet
    applied = approve_changeset(db, result.changeset_id, now=datetime(2026, 8, 22, tzinfo=UTC))
    assert sonnet_5(db, SEPT_15)[("standard", "input")] == Decimal("2")
    assert {c["changeset_id"] for c in withdrawals(db)} == {applied}
