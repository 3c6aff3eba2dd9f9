"""Witness agreement: the official rates next to what the aggregators say.

Findings on the bundled data are asserted with real values; each witness value
was checked against its saved feed in tests/fixtures/<witness>/ (the bundled
snapshots in data/snapshots/ are the same bytes).
"""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from ratecard.service.agreement import AgreementReport, RateAgreement, agreement_by_rate, compare_rates
from ratecard.service.app import Service
from ratecard.service.catalog import Catalog, ModelInfo
from ratecard.service.rates import Rate
from tests.conftest import FIXED_NOW

D = Decimal


@pytest.fixture(scope="module")
def report(bundled_service: Service) -> AgreementReport:
    return compare_rates(bundled_service.catalog, at=FIXED_NOW)


def rows_for(
    report: AgreementReport, model: str, tier: str, kind: str, min_prompt_tokens: int = 0
) -> dict[str, RateAgreement]:
    """The rows of one rate key, by witness."""
    return {
        r.witness: r
        for r in report.rows
        if (r.model, r.tier, r.kind, r.min_prompt_tokens) == (model, tier, kind, min_prompt_tokens)
    }


def test_gpt_4o_standard_input_agrees_with_every_aggregator(report: AgreementReport) -> None:
    rows = rows_for(report, "gpt-4o", "standard", "input")
    # LiteLLM input_cost_per_token 2.5e-06, OpenRouter prompt "0.0000025", models.dev input 2.5.
    assert {w: r.witness_usd_per_mtok for w, r in rows.items()} == {
        "litellm": D("2.5"),
        "models-dev": D("2.5"),
        "openrouter": D("2.5"),
    }
    for row in rows.values():
        assert (row.provider, row.official_source, row.official_usd_per_mtok) == ("openai", "openai", D("2.50"))
        assert row.agrees and row.difference_percent == D("0.00")


def test_gpt_4o_batch_and_priority_are_witnessed_by_litellm_only(report: AgreementReport) -> None:
    assert {w: r.witness_usd_per_mtok for w, r in rows_for(report, "gpt-4o", "batch", "input").items()} == {
        "litellm": D("1.25")  # input_cost_per_token_batches 1.25e-06
    }
    assert {w: r.witness_usd_per_mtok for w, r in rows_for(report, "gpt-4o", "priority", "output").items()} == {
        "litellm": D("17")  # output_cost_per_token_priority 1.7e-05
    }


@pytest.mark.parametrize(("kind", "usd_per_mtok"), [("input", "3"), ("output", "15")])
def test_claude_sonnet_4_5_agrees_across_witnesses(report: AgreementReport, kind: str, usd_per_mtok: str) -> None:
    rows = rows_for(report, "claude-sonnet-4-5", "standard", kind)
    # claude.com is Anthropic's own marketing page, a witness to the docs page.
    assert set(rows) == {"claude-com", "litellm", "models-dev", "openrouter"}
    assert all(r.agrees and r.witness_usd_per_mtok == D(usd_per_mtok) for r in rows.values())


def test_litellm_copies_a_6_dollar_1h_cache_write_onto_old_claude_models(report: AgreementReport) -> None:
    # The official 1h cache write is 2x input (Haiku 3: $0.25 -> $0.50). LiteLLM gives
    # claude-3-haiku, claude-3-5-haiku and claude-3-opus all
    # cache_creation_input_token_cost_above_1hr = 6e-06: Sonnet's $6 pasted onto them,
    # while their 5-minute cache_write (a different TTL) is right.
    haiku = rows_for(report, "claude-3-haiku", "standard", "cache_write_1h")["litellm"]
    assert (haiku.official_usd_per_mtok, haiku.witness_usd_per_mtok) == (D("0.50"), D("6"))
    assert not haiku.agrees and haiku.difference_percent == D("1100.00")
    assert rows_for(report, "claude-3-haiku", "standard", "cache_write")["litellm"].agrees
    opus = rows_for(report, "claude-3-opus", "standard", "cache_write_1h")["litellm"]
    assert (opus.official_usd_per_mtok, opus.witness_usd_per_mtok) == (D("30"), D("6"))
    assert opus.difference_percent == D("-80.00")


def test_gemini_2_5_pro_cache_read_is_stale_in_the_aggregators(report: AgreementReport) -> None:
    # Google's page (June 2026) prices 2.5 Pro context-cache reads at $0.125 (10% of the
    # $1.25 input). LiteLLM's gemini/gemini-2.5-pro still carries the older 25% rate,
    # 3.125e-07 = $0.3125, and models.dev the same stale rate rounded to cents: $0.31.
    rows = rows_for(report, "gemini-2.5-pro", "standard", "cached_input")
    assert rows["litellm"].official_usd_per_mtok == D("0.125")
    assert (rows["litellm"].witness_usd_per_mtok, rows["litellm"].difference_percent) == (D("0.3125"), D("150.00"))
    assert (rows["models-dev"].witness_usd_per_mtok, rows["models-dev"].difference_percent) == (D("0.31"), D("148.00"))
    assert not rows["litellm"].agrees and not rows["models-dev"].agrees


def test_rounding_is_a_disagreement_too(report: AgreementReport) -> None:
    # models.dev stores cents: GPT-4o mini's $0.075 cache read becomes 0.08.
    mini = rows_for(report, "gpt-4o-mini", "standard", "cached_input")["models-dev"]
    assert (mini.official_usd_per_mtok, mini.witness_usd_per_mtok) == (D("0.075"), D("0.08"))
    assert mini.difference_percent == D("6.67")
    # Here the official page is the rounded one: o4-mini flex cache read is printed
    # $0.138, half of $0.275 is 0.1375 (LiteLLM's cache_read_input_token_cost_flex).
    flex = rows_for(report, "o4-mini", "flex", "cached_input")["litellm"]
    assert (flex.official_usd_per_mtok, flex.witness_usd_per_mtok) == (D("0.138"), D("0.1375"))
    assert flex.difference_percent == D("-0.36")


def test_report_is_consistent(report: AgreementReport) -> None:
    summaries = {s.witness: s for s in report.witnesses}
    assert set(summaries) == {"claude-com", "litellm", "models-dev", "openrouter"}
    for s in summaries.values():
        assert s.compared == s.agreeing + s.disagreeing == sum(r.witness == s.witness for r in report.rows)
        assert s.disagreeing == sum(r.witness == s.witness for r in report.disagreements)
    assert summaries["claude-com"].disagreeing == 0  # Anthropic's two pages agree
    assert report.disagreements == tuple(r for r in report.rows if not r.agrees)
    assert all(isinstance(r.official_usd_per_mtok, Decimal | None) for r in report.rows)


def test_witness_served_models_are_not_compared(bundled_service: Service, report: AgreementReport) -> None:
    catalog = bundled_service.catalog
    served_by_witness = {k for k, info in catalog.models.items() if info.served_from != "official"}
    assert served_by_witness  # the long tail exists, so this test means something
    assert not any((r.provider, r.model) in served_by_witness for r in report.rows)
    assert agreement_by_rate(catalog, next(iter(served_by_witness)), FIXED_NOW) == {}


def test_filters_by_witness_and_provider(bundled_service: Service) -> None:
    narrow = compare_rates(
        bundled_service.catalog, at=FIXED_NOW, witnesses=["openrouter", "claude-com"], provider="openai"
    )
    assert {(r.provider, r.witness) for r in narrow.rows} == {("openai", "openrouter")}
    # A requested witness that states nothing still gets its (empty) summary line.
    assert [(s.witness, s.compared) for s in narrow.witnesses][0] == ("claude-com", 0)


def test_agreement_by_rate_groups_one_model(bundled_service: Service) -> None:
    catalog = bundled_service.catalog
    by_rate = agreement_by_rate(catalog, ("openai", "gpt-4o"), FIXED_NOW)
    served = {r.key for r in catalog.rates_at(("openai", "gpt-4o"), FIXED_NOW)}
    assert set(by_rate) <= served
    assert set(by_rate[("openai", "gpt-4o", "standard", "output", 0)]) == {"litellm", "models-dev", "openrouter"}
    assert agreement_by_rate(catalog, ("openai", "no-such-model"), FIXED_NOW) == {}


# --- hand-built catalog: the edge cases of one comparison -----------------------

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def rate(kind: str, usd_per_mtok: str | None, lane: str = "official") -> Rate:
    return Rate(
        provider="acme",
        model="m1",
        tier="standard",
        kind=kind,
        min_prompt_tokens=0,
        usd_per_mtok=None if usd_per_mtok is None else Decimal(usd_per_mtok),
        basis="not_offered" if usd_per_mtok is None else "published",
        valid_from=T0,
        valid_to=None,
        source_id="acme" if lane == "official" else lane,
        url="https://acme.test/pricing",
        body_sha256="0" * 64,
        run_id=None,
        observed_at=T0,
        changeset_id=1,
        lane=lane,
    )


def test_edge_cases_on_a_hand_built_catalog() -> None:
    key = ("acme", "m1")
    official = (rate("input", "0"), rate("output", "2.00"), rate("cache_write", None), rate("cached_input", None))
    official += (rate("cache_write_1h", "4"),)  # no witness states it: no row
    stated = [("input", "0"), ("output", "2"), ("cache_write", None), ("cached_input", "0.1")]
    witness = tuple(rate(kind, usd_per_mtok, "w") for kind, usd_per_mtok in stated)
    info = ModelInfo(
        provider="acme", model="m1", display_name="M1", status="active", listed=True, aliases=(), served_from="official"
    )
    catalog = Catalog(
        version=7,
        built_at=T0,
        models={key: info},
        rates={key: official},
        witness_rates={key: {"w": witness}},
        providers={"acme": "Acme"},
    )
    rows = {r.kind: r for r in compare_rates(catalog, at=T0).rows}
    assert rows["input"].agrees and rows["input"].difference_percent is None  # zero official: no base
    assert rows["output"].agrees and rows["output"].difference_percent == D("0.00")  # 2.00 == 2
    assert rows["cache_write"].agrees  # both say not offered
    assert not rows["cached_input"].agrees and rows["cached_input"].difference_percent is None
    assert "cache_write_1h" not in rows
    assert compare_rates(catalog, at=T0).catalog_version == 7
