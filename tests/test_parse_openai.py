"""Spot checks of the OpenAI parser against numbers typed from the saved page.

The golden file beside the page holds every rate; these tests pin the ones a
reader can check at a glance, the rules behind the labels, and the rejections.
"""

from decimal import Decimal
from pathlib import Path

import pytest
from ratecard import data as ratecard_data

from ratecard.scrapers.errors import PageRejected
from ratecard.scrapers.names import catalog_entries
from ratecard.scrapers.observation import Observation
from ratecard.scrapers.openai import parse
from ratecard.scrapers.vocabulary import BASES, KINDS, TIERS

FIXTURES = Path(__file__).parent / "fixtures" / "openai"
PAGE = ratecard_data.path("snapshots", "openai") / "developers-pricing-md_EXCERPT_2026-08to11_llmstxtarchive-a30a6225.md"
PLANS_PAGE = FIXTURES / "openai-com-api-pricing_rendered-md_2026-06-26_oaimirror-8644888.md"
CHALLENGE_PAGE = FIXTURES / "platform-pricing_CLOUDFLARE-CHALLENGE_2026-05-08_quill-d1507e12.html"
URL = "https://developers.openai.com/api/docs/pricing.md"


@pytest.fixture(scope="module")
def rates() -> dict[tuple, Observation]:
    observations = parse(PAGE.read_bytes(), URL).observations
    by_key = {o.key: o for o in observations}
    assert len(by_key) == len(observations), "one observation per rate key"
    return by_key


def usd(rates: dict[tuple, Observation], model: str, tier: str, kind: str, min_prompt_tokens: int = 0) -> Decimal:
    return rates[("openai", model, tier, kind, min_prompt_tokens)].usd_per_mtok


@pytest.mark.parametrize(
    ("model", "tier", "input_usd", "output_usd"),
    [
        ("gpt-4o", "standard", "2.50", "10.00"),
        ("gpt-4o", "batch", "1.25", "5.00"),
        ("gpt-4o", "priority", "4.25", "17.00"),  # the page's "Fast" table
        ("gpt-4o-mini", "standard", "0.15", "0.60"),
        ("gpt-4o-mini", "batch", "0.075", "0.30"),
        ("o4-mini", "standard", "1.10", "4.40"),
        ("o4-mini", "batch", "0.55", "2.20"),
        ("o4-mini", "flex", "0.55", "2.20"),
        ("gpt-4o-2024-05-13", "standard", "5.00", "15.00"),  # a dated snapshot is its own model
        ("gpt-4o-2024-05-13", "batch", "2.50", "7.50"),
        ("gpt-5.6-luna", "flex", "0.10", "0.60"),
    ],
)
def test_input_and_output_rates_match_the_page(rates, model, tier, input_usd, output_usd) -> None:
    assert usd(rates, model, tier, "input") == Decimal(input_usd)
    assert usd(rates, model, tier, "output") == Decimal(output_usd)


def test_cached_input_and_cache_writes_match_the_page(rates) -> None:
    assert usd(rates, "gpt-4o", "standard", "cached_input") == Decimal("1.25")
    assert usd(rates, "o4-mini", "flex", "cached_input") == Decimal("0.138")
    assert usd(rates, "gpt-5.4", "batch", "cached_input") == Decimal("0.13")  # as printed, not half of 0.25
    assert usd(rates, "gpt-5.6-sol", "standard", "cache_write") == Decimal("5.00")
    assert usd(rates, "gpt-5.6-luna", "batch", "cache_write") == Decimal("0.125")


def test_gpt_5_5_long_context_starts_at_272k(rates) -> None:
    assert usd(rates, "gpt-5.5", "standard", "input") == Decimal("5.00")
    assert usd(rates, "gpt-5.5", "standard", "input", 272000) == Decimal("10.00")
    assert usd(rates, "gpt-5.5", "standard", "cached_input", 272000) == Decimal("1.00")
    assert usd(rates, "gpt-5.5", "standard", "output", 272000) == Decimal("45.00")
    assert usd(rates, "gpt-5.5", "batch", "output", 272000) == Decimal("22.50")
    # Some long-context columns priced, this one "-": not offered, not missing.
    write = rates[("openai", "gpt-5.5", "standard", "cache_write", 272000)]
    assert (write.usd_per_mtok, write.basis) == (None, "not_offered")


def test_long_context_all_dashes_means_no_long_context(rates) -> None:
    assert not [k for k in rates if k[1] == "gpt-5.4-mini" and k[4] > 0]
    # gpt-5.5 has long context on standard but not on the Fast (priority) table.
    assert not [k for k in rates if k[1] == "gpt-5.5" and k[2] == "priority" and k[4] > 0]
    thresholds = {k[4] for k in rates}
    assert thresholds == {0, 272000}


def test_unlabelled_long_context_rows_take_the_page_threshold_with_a_note(rates) -> None:
    long_input = rates[("openai", "gpt-5.6-terra", "standard", "input", 272000)]
    assert long_input.usd_per_mtok == Decimal("4.00")
    assert "threshold not on this row" in long_input.note
    assert "threshold" not in rates[("openai", "gpt-5.6-terra", "standard", "input", 0)].note


def test_dash_in_short_context_columns_is_not_offered(rates) -> None:
    for key in [("openai", "gpt-4o", "batch", "cached_input", 0), ("openai", "gpt-5.5", "standard", "cache_write", 0)]:
        assert (rates[key].usd_per_mtok, rates[key].basis) == (None, "not_offered")
    assert all((o.usd_per_mtok is None) == (o.basis == "not_offered") for o in rates.values())


def test_grouped_tables_are_read_with_their_tier_label(rates) -> None:
    assert usd(rates, "gpt-5.3-codex", "standard", "input") == Decimal("1.75")
    assert usd(rates, "gpt-5.3-codex", "priority", "output") == Decimal("28.00")  # under "Fast mode"
    assert usd(rates, "gpt-5.6-cyber", "standard", "cache_write") == Decimal("15.625")  # unlabelled: standard
    assert usd(rates, "text-embedding-3-small", "standard", "input") == Decimal("0.02")
    assert rates[("openai", "text-embedding-3-small", "standard", "output", 0)].basis == "not_offered"
    moderation = rates[("openai", "omni-moderation-latest", "standard", "input", 0)]
    assert moderation.usd_per_mtok == Decimal(0) and moderation.note.startswith("page says Free")
    # Every price "-": the page states no rate for it at all.
    assert not [k for k in rates if k[1] == "gpt-5.4-cyber"]


def test_promotional_caveat_is_kept_in_the_note(rates) -> None:
    assert "promotional pricing" in rates[("openai", "gpt-5.6-sol", "standard", "input", 0)].note
    assert "promotional" not in rates[("openai", "gpt-5.6-terra", "standard", "input", 0)].note


def test_design_worked_examples_come_out_exactly(rates) -> None:
    def cost(model: str, tier: str, requests: int, tokens_in: int, tokens_out: int) -> Decimal:
        per_request = tokens_in * usd(rates, model, tier, "input") + tokens_out * usd(rates, model, tier, "output")
        return requests * per_request / 1_000_000

    assert cost("gpt-4o", "standard", 5000, 2000, 800) == Decimal("65.00")
    assert cost("gpt-4o", "batch", 5000, 2000, 800) == Decimal("32.50")
    assert cost("gpt-4o-mini", "standard", 50_000, 500, 300) == Decimal("12.75")
    assert cost("gpt-4o-mini", "batch", 50_000, 500, 300) == Decimal("6.375")
    assert cost("o4-mini", "standard", 100_000, 400, 100) == Decimal("88.00")
    assert cost("o4-mini", "batch", 100_000, 400, 100) == Decimal("44.00")


def test_every_parsed_model_is_in_the_catalog(rates) -> None:
    assert all(o.tier in TIERS and o.kind in KINDS and o.basis in BASES for o in rates.values())
    catalog = {e.model for e in catalog_entries() if e.provider == "openai"}
    assert {k[1] for k in rates} <= catalog
    assert len({k[1] for k in rates}) == 45


def test_tables_are_found_by_heading_not_position() -> None:
    text = PAGE.read_text(encoding="utf-8")
    standard_start, batch_start = text.index("### Standard pricing data"), text.index("### Batch pricing data")
    flex_start = text.index("### Flex pricing data")
    swapped = text[:standard_start] + text[batch_start:flex_start] + text[standard_start:batch_start] + text[flex_start:]
    assert swapped.index("### Batch pricing data") < swapped.index("### Standard pricing data")
    assert set(parse(swapped.encode(), URL).observations) == set(parse(PAGE.read_bytes(), URL).observations)


def test_plans_page_is_rejected() -> None:
    with pytest.raises(PageRejected, match="no 'Standard pricing data' table found"):
        parse(PLANS_PAGE.read_bytes(), URL).observations


def test_challenge_page_is_rejected() -> None:
    with pytest.raises(PageRejected, match="bot-challenge"):
        parse(CHALLENGE_PAGE.read_bytes(), URL).observations


def test_missing_batch_table_is_a_skipped_section_not_a_rejection() -> None:
    text = PAGE.read_text(encoding="utf-8")
    text = text[: text.index("### Batch pricing data")] + text[text.index("### Flex pricing data") :]
    reading = parse(text.encode(), URL)
    [skipped] = reading.skipped
    assert (skipped.section, skipped.tiers, skipped.providers) == ("Batch pricing data", ("batch",), ("openai",))
    assert {o.tier for o in reading.observations} == {"standard", "flex", "priority"}


def test_tables_without_rows_are_rejected_not_empty() -> None:
    header = "| Model | Short context input | Short context output |\n| --- | --- | --- |\n"
    page = f"### Standard pricing data\n\n{header}\n### Batch pricing data\n\n{header}"
    with pytest.raises(PageRejected, match="held no rates"):
        parse(page.encode(), URL).observations


def test_conflicting_repeated_rate_is_rejected() -> None:
    text = PAGE.read_text(encoding="utf-8")
    cyber = text.index("Cyber models")
    text = text[:cyber] + text[cyber:].replace("| gpt-5.6-sol | $4.00 |", "| gpt-5.6-sol | $4.50 |", 1)
    with pytest.raises(PageRejected, match="two prices"):
        parse(text.encode(), URL).observations


def test_long_context_without_any_stated_threshold_skips_those_tables() -> None:
    text = PAGE.read_text(encoding="utf-8").replace(" (<272K context length)", "")
    reading = parse(text.encode(), URL)
    assert reading.skipped and all("states no threshold" in s.reason for s in reading.skipped)
    assert {t for s in reading.skipped for t in s.tiers} == {"standard", "batch", "flex", "priority"}
