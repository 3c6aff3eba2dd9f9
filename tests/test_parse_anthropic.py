"""Spot checks of the Anthropic parser against numbers typed from the saved pages.

Three captures of the same docs page (2025-10-29, 11-08, 11-19). Variants of a
page for drift and rejection tests are made in memory; the files stay byte-exact.
"""

from decimal import Decimal

import pytest
from ratecard import data as ratecard_data

from ratecard.scrapers.anthropic import parse
from ratecard.scrapers.errors import PageRejected
from ratecard.scrapers.names import catalog_entries, model_id_for
from ratecard.scrapers.observation import Observation
from ratecard.scrapers.vocabulary import BASES, KINDS, TIERS

FIXTURES = ratecard_data.path("snapshots", "anthropic")  # the bundled pages, one copy each
PAGES = {
    "2025-10-29": FIXTURES / "pricing_md_2025-10-29_36164c5.md",
    "2025-11-08": FIXTURES / "pricing_md_2025-11-08_ddc28d6.md",
    "2025-11-19": FIXTURES / "pricing_md_2025-11-19_8c7f4da.md",
}
URL = "https://platform.claude.com/docs/en/about-claude/pricing.md"
MODELS_ON_PAGE = {
    "Claude Opus 4.1": "claude-opus-4-1",
    "Claude Opus 4": "claude-opus-4",
    "Claude Sonnet 4.5": "claude-sonnet-4-5",
    "Claude Sonnet 4": "claude-sonnet-4",
    "Claude Sonnet 3.7": "claude-3-7-sonnet",
    "Claude Haiku 4.5": "claude-haiku-4-5",
    "Claude Haiku 3.5": "claude-3-5-haiku",
    "Claude Opus 3": "claude-3-opus",
    "Claude Haiku 3": "claude-3-haiku",
}


def text_of(date: str = "2025-10-29") -> str:
    return PAGES[date].read_text(encoding="utf-8")


def by_key(observations: list[Observation]) -> dict[tuple, Observation]:
    keyed = {o.key: o for o in observations}
    assert len(keyed) == len(observations), "one observation per rate key"
    return keyed


def values(observations: list[Observation]) -> set[tuple]:
    return {(o.key, o.usd_per_mtok, o.basis) for o in observations}


@pytest.fixture(scope="module")
def rates() -> dict[tuple, Observation]:
    return by_key(parse(PAGES["2025-10-29"].read_bytes(), URL).observations)


def usd(rates: dict[tuple, Observation], model: str, tier: str, kind: str, min_prompt_tokens: int = 0) -> Decimal | None:
    return rates[("anthropic", model, tier, kind, min_prompt_tokens)].usd_per_mtok


def published(rates: dict[tuple, Observation], model: str, tier: str, kind: str) -> Decimal:
    observation = rates[("anthropic", model, tier, kind, 0)]
    assert observation.basis == "published"
    return observation.usd_per_mtok


def test_sonnet_4_5_matches_the_page(rates) -> None:
    expected = {
        ("standard", "input"): "3", ("standard", "output"): "15", ("standard", "cached_input"): "0.30",
        ("standard", "cache_write"): "3.75", ("standard", "cache_write_1h"): "6",
        ("batch", "input"): "1.50", ("batch", "output"): "7.50",
    }  # fmt: skip
    for (tier, kind), value in expected.items():
        assert published(rates, "claude-sonnet-4-5", tier, kind) == Decimal(value)


def test_haiku_3_5_and_haiku_3_match_the_page(rates) -> None:
    assert published(rates, "claude-3-5-haiku", "standard", "input") == Decimal("0.80")
    assert published(rates, "claude-3-5-haiku", "standard", "cache_write_1h") == Decimal("1.6")
    assert published(rates, "claude-3-5-haiku", "batch", "output") == Decimal("2")
    assert published(rates, "claude-3-haiku", "standard", "cached_input") == Decimal("0.03")
    assert published(rates, "claude-3-haiku", "batch", "input") == Decimal("0.125")


def test_display_names_map_to_api_ids(rates) -> None:
    names = {(o.display_name, o.model) for o in rates.values() if o.basis == "published"}
    assert names == set(MODELS_ON_PAGE.items())
    assert "deprecated on the page" in rates[("anthropic", "claude-3-7-sonnet", "standard", "input", 0)].note
    assert rates[("anthropic", "claude-3-7-sonnet", "standard", "input", 0)].display_name == "Claude Sonnet 3.7"


# Haiku 3's row departs from the stated multipliers: its 5m write is $0.30 (not
# 1.25 x $0.25 = $0.3125) and its cache hit $0.03 (not $0.025). Every other model follows them.
MULTIPLIER_EXCEPTIONS = {("claude-3-haiku", "cache_write"), ("claude-3-haiku", "cached_input")}


def test_cache_multipliers_and_batch_discount_hold_over_all_models(rates) -> None:
    multipliers = {"cache_write": Decimal("1.25"), "cache_write_1h": Decimal(2), "cached_input": Decimal("0.1")}
    exceptions = set()
    for model in MODELS_ON_PAGE.values():
        base = published(rates, model, "standard", "input")
        for kind, multiplier in multipliers.items():
            if published(rates, model, "standard", kind) != base * multiplier:
                exceptions.add((model, kind))
        for kind in ("input", "output"):
            assert published(rates, model, "batch", kind) == published(rates, model, "standard", kind) / 2
    assert exceptions == MULTIPLIER_EXCEPTIONS


def test_batch_cache_rates_are_derived_from_the_models_own_cache_rates(rates) -> None:
    write = rates[("anthropic", "claude-sonnet-4-5", "batch", "cache_write", 0)]
    assert (write.usd_per_mtok, write.basis) == (Decimal("1.875"), "derived")
    assert "Batch API and prompt caching discounts can be combined" in write.note
    assert usd(rates, "claude-sonnet-4-5", "batch", "cache_write_1h") == Decimal(3)
    assert usd(rates, "claude-sonnet-4-5", "batch", "cached_input") == Decimal("0.15")
    # Haiku 3: half of its published $0.30 / $0.03, not batch input x multiplier.
    assert usd(rates, "claude-3-haiku", "batch", "cache_write") == Decimal("0.15")
    assert usd(rates, "claude-3-haiku", "batch", "cached_input") == Decimal("0.015")


def test_long_context_applies_to_the_models_the_prose_names(rates) -> None:
    long_models = {k[1] for k in rates if k[4] > 0}
    assert long_models == {"claude-sonnet-4", "claude-sonnet-4-5"}
    for model in long_models:
        assert usd(rates, model, "standard", "input", 200000) == Decimal(6)
        assert usd(rates, model, "standard", "output", 200000) == Decimal("22.50")
        assert rates[("anthropic", model, "standard", "input", 200000)].basis == "published"


def test_long_context_cache_and_batch_rates_are_derived_from_the_stated_rules(rates) -> None:
    expected = {
        ("standard", "cached_input"): "0.6", ("standard", "cache_write"): "7.5", ("standard", "cache_write_1h"): "12",
        ("batch", "input"): "3", ("batch", "output"): "11.25", ("batch", "cached_input"): "0.3",
        ("batch", "cache_write"): "3.75", ("batch", "cache_write_1h"): "6",
    }  # fmt: skip
    for (tier, kind), value in expected.items():
        rate = rates[("anthropic", "claude-sonnet-4-5", tier, kind, 200000)]
        assert (rate.usd_per_mtok, rate.basis) == (Decimal(value), "derived")
    assert "Prompt caching multipliers apply on top of long context pricing" in rates[
        ("anthropic", "claude-sonnet-4", "standard", "cached_input", 200000)
    ].note
    assert "applies to long context pricing" in rates[("anthropic", "claude-sonnet-4", "batch", "input", 200000)].note


def test_counts_vocabulary_and_nothing_stated_is_derived(rates) -> None:
    bases = [o.basis for o in rates.values()]
    assert (len(rates), bases.count("published"), bases.count("derived")) == (110, 67, 43)
    assert all(o.tier in TIERS and o.kind in KINDS and o.basis in BASES for o in rates.values())
    assert all(isinstance(o.usd_per_mtok, Decimal) for o in rates.values())
    assert all(o.note for o in rates.values() if o.basis == "derived")


# What differs between the three captures: no model and no price. The diffs are
# only link targets (/en/api/... -> /en/docs/build-with-claude/...) and, on
# 2025-11-19, Microsoft Foundry added to the third-party platform list.
PRICE_CHANGES_BETWEEN_DATES: dict[tuple[str, str], set] = {
    ("2025-10-29", "2025-11-08"): set(),
    ("2025-11-08", "2025-11-19"): set(),
}


def test_three_dates_differ_as_listed() -> None:
    parsed = {date: values(parse(page.read_bytes(), URL).observations) for date, page in PAGES.items()}
    for (before, after), changes in PRICE_CHANGES_BETWEEN_DATES.items():
        assert PAGES[before].read_bytes() != PAGES[after].read_bytes()
        assert parsed[before] ^ parsed[after] == changes
    assert "Microsoft Foundry" in text_of("2025-11-19") and "Microsoft Foundry" not in text_of("2025-11-08")


def test_header_price_and_name_drift_is_absorbed() -> None:
    original = text_of()
    drifted = (
        original.replace("Cache Hits & Refreshes", "cache hits and refreshes")
        .replace("Base Input Tokens", "BASE INPUT TOKENS")
        .replace("Batch input ", "Batch Input ")
        .replace("\\$", "$")
        .replace("$15 / MTok", "$15<sup>1</sup> / MTok")
        .replace("| Claude Opus 4.1 ", "| Claude Opus 4.1<sup>2</sup> ")
        .replace(" ([deprecated](/en/docs/about-claude/model-deprecations))", " (deprecated)")
    )
    assert drifted != original
    assert values(parse(drifted.encode(), URL).observations) == values(parse(original.encode(), URL).observations)


def test_tables_are_found_by_header_not_position() -> None:
    text = text_of()
    model_table = text[text.index("| Model ") : text.index("<Note>\n  MTok")]
    assert "Base Input Tokens" in model_table
    anchor = "For more information about batch processing"
    moved = text.replace(model_table, "").replace(anchor, model_table + anchor)
    assert moved.index("| Base Input") > moved.index("| Batch input")
    assert values(parse(moved.encode(), URL).observations) == values(parse(text.encode(), URL).observations)


def test_unknown_model_gets_the_slug_rule_and_a_note() -> None:
    text = text_of().replace("| Claude Haiku 4.5  ", "| Claude Haiku 5.1  ")
    rates = by_key(parse(text.encode(), URL).observations)
    rate = rates[("anthropic", "claude-haiku-5-1", "standard", "input", 0)]
    assert rate.usd_per_mtok == Decimal(1)
    assert "slug rule" in rate.note


def test_missing_rule_means_no_derivation() -> None:
    text = text_of().replace("Batch API and prompt caching discounts can be combined.", "")
    rates = by_key(parse(text.encode(), URL).observations)
    cache_kinds = ("cached_input", "cache_write", "cache_write_1h")
    assert not [key for key in rates if key[2] == "batch" and key[3] in cache_kinds]
    assert usd(rates, "claude-sonnet-4", "batch", "input", 200000) == 3  # needs only the long-context batch rule


def test_page_without_model_table_is_rejected() -> None:
    lines = text_of().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| Model") and "Base Input Tokens" in line)
    end = next(i for i in range(start, len(lines)) if not lines[i].startswith("|"))
    kept = lines[:start] + lines[end:]  # header, separator and the nine model rows gone
    assert end - start == 11
    with pytest.raises(PageRejected, match="no standard model pricing table found"):
        parse("\n".join(kept).encode(), URL).observations


def test_page_without_batch_table_is_partial_not_rejected() -> None:
    # One section gone no longer sinks the page: the batch tier is skipped, the rest kept.
    text = text_of().replace("| Batch input    | Batch output   |", "| Tool | Count |")
    reading = parse(text.encode(), URL)
    [skipped] = reading.skipped
    assert (skipped.section, skipped.tiers, skipped.providers) == ("Batch processing", ("batch",), ("anthropic",))
    assert "no batch pricing table" in skipped.reason
    assert not [o for o in reading.observations if o.tier == "batch"]  # nothing derived into the skipped scope
    assert by_key(reading.observations) == {k: o for k, o in by_key(parse(text_of().encode(), URL).observations).items()
                                            if k[2] != "batch"}


def test_long_context_table_that_names_no_model_is_skipped() -> None:
    text = text_of().replace("Claude Sonnet 4 or Sonnet 4.5", "some models").replace(
        "only available for Claude Sonnet 4 and Sonnet 4.5", "only available for some models"
    )
    reading = parse(text.encode(), URL)
    assert [(s.section, "no model named" in s.reason) for s in reading.skipped] == [("Long context pricing", True)]
    assert not [o for o in reading.observations if o.min_prompt_tokens > 0]


def test_long_context_base_column_must_match_the_named_models() -> None:
    text = text_of().replace("| Input: \\$3 / MTok   |", "| Input: \\$4 / MTok   |")
    [skipped] = parse(text.encode(), URL).skipped
    assert "does not match" in skipped.reason


def test_challenge_page_is_rejected() -> None:
    with pytest.raises(PageRejected, match="bot-challenge"):
        parse(b"<html><title>Just a moment...</title></html>", URL).observations


def test_catalog_resolves_claude_com_names_dated_ids_and_slugs() -> None:
    # The card titles on claude.com/pricing (2026-05-08).
    claude_com = ["Opus 4.7", "Sonnet 4.6", "Haiku 4.5", "Opus 4.6", "Sonnet 4.5", "Opus 4.5", "Opus 4.1", "Sonnet 4", "Opus 4"]
    assert [model_id_for("anthropic", name) for name in claude_com] == [
        "claude-opus-4-7", "claude-sonnet-4-6", "claude-haiku-4-5", "claude-opus-4-6", "claude-sonnet-4-5",
        "claude-opus-4-5", "claude-opus-4-1", "claude-sonnet-4", "claude-opus-4",
    ]  # fmt: skip
    assert model_id_for("anthropic", "Claude Opus 4.5") == "claude-opus-4-5"
    assert model_id_for("anthropic", "claude-opus-4-5-20251101") == "claude-opus-4-5"
    assert model_id_for("anthropic", "claude-sonnet-4-5-20250929") == "claude-sonnet-4-5"
    assert model_id_for("anthropic", "claude-3-5-haiku-20241022") == "claude-3-5-haiku"
    assert model_id_for("anthropic", "anthropic/claude-opus-4.5") == "claude-opus-4-5"
    statuses = {e.model: e.status for e in catalog_entries() if e.provider == "anthropic"}
    deprecated = {model for model, status in statuses.items() if status == "deprecated"}
    assert deprecated == {"claude-3-7-sonnet", "claude-3-opus", "claude-3-sonnet"}
