"""The pure estimator on hand-built rates: the seeds' worked examples, caching, long context, gaps, volume."""

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest

from ratecard.service.batch_limits import (
    BYTES_PER_INPUT_TOKEN,
    JSONL_OVERHEAD_BYTES_PER_REQUEST,
    BatchLimit,
    BatchLimitsError,
    bundled_batch_limits,
    load_batch_limits,
)
from ratecard.service.estimate import (
    PERIODS_PER_YEAR,
    NoRatesError,
    Workload,
    WorkloadError,
    estimate_model,
    index_rates,
    rank_estimates,
)
from ratecard.service.rates import Rate

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def rate(provider: str, model: str, tier: str, kind: str, usd_per_mtok: str | None, *, level: int = 0,
         basis: str = "published", valid_from: datetime = T0, source_id: str = "") -> Rate:
    """One hand-made rate; ``None`` makes it not offered."""
    return Rate(
        provider=provider, model=model, tier=tier, kind=kind, min_prompt_tokens=level,
        usd_per_mtok=None if usd_per_mtok is None else Decimal(usd_per_mtok),
        basis="not_offered" if usd_per_mtok is None else basis,
        valid_from=valid_from, valid_to=None, source_id=source_id or provider, url=f"https://example.test/{provider}",
        body_sha256="0" * 64, run_id=1, observed_at=valid_from, changeset_id=1,
    )


def rates_of(provider: str, model: str, table: dict[tuple[str, str], str | None], *, level: int = 0,
             basis: dict[tuple[str, str], str] | None = None) -> tuple[Rate, ...]:
    """Rates from {(tier, kind): usd_per_mtok} at one context level."""
    basis = basis or {}
    return tuple(rate(provider, model, tier, kind, value, level=level, basis=basis.get((tier, kind), "published"))
                 for (tier, kind), value in table.items())


def openai_model(model: str, input_: str, output: str, batch_input: str, batch_output: str) -> tuple[Rate, ...]:
    return rates_of("openai", model, {("standard", "input"): input_, ("standard", "output"): output,
                                      ("batch", "input"): batch_input, ("batch", "output"): batch_output})


GPT_4O = openai_model("gpt-4o", "2.50", "10.00", "1.25", "5.00")
GPT_4O_MINI = openai_model("gpt-4o-mini", "0.15", "0.60", "0.075", "0.30")
O4_MINI = openai_model("o4-mini", "1.10", "4.40", "0.55", "2.20")

# claude-sonnet-4-5 as the bundled Anthropic page gives it: batch cache rows derived (batch x caching stacked).
DERIVED = "derived"
SONNET_BASE = {
    ("standard", "input"): "3", ("standard", "cache_write"): "3.75", ("standard", "cache_write_1h"): "6",
    ("standard", "cached_input"): "0.30", ("standard", "output"): "15",
    ("batch", "input"): "1.50", ("batch", "output"): "7.50", ("batch", "cached_input"): "0.15",
    ("batch", "cache_write"): "1.875", ("batch", "cache_write_1h"): "3",
}
SONNET_LONG = {
    ("standard", "input"): "6", ("standard", "cache_write"): "7.5", ("standard", "cache_write_1h"): "12",
    ("standard", "cached_input"): "0.6", ("standard", "output"): "22.50",
    ("batch", "input"): "3", ("batch", "output"): "11.25", ("batch", "cached_input"): "0.3",
    ("batch", "cache_write"): "3.75", ("batch", "cache_write_1h"): "6",
}
SONNET_DERIVED = {("batch", "cached_input"): DERIVED, ("batch", "cache_write"): DERIVED,
                  ("batch", "cache_write_1h"): DERIVED}
SONNET = rates_of("anthropic", "claude-sonnet-4-5", SONNET_BASE, basis=SONNET_DERIVED) + rates_of(
    "anthropic", "claude-sonnet-4-5", SONNET_LONG, level=200_000,
    basis={**SONNET_DERIVED, **{(t, k): DERIVED for t, k in SONNET_LONG if t == "batch"}})


def tiers_of(rates, workload: Workload, **kwargs):
    return {t.tier: t for t in estimate_model(rates, workload, **kwargs).tiers}


@pytest.mark.parametrize(
    ("rates", "requests", "input_tokens", "output_tokens", "standard", "batch"),
    [
        (GPT_4O, 5_000, 2_000, 800, "65.00", "32.50"),
        (GPT_4O_MINI, 50_000, 500, 300, "12.75", "6.375"),
        (O4_MINI, 100_000, 400, 100, "88.00", "44.00"),
    ],
    ids=["gpt-4o", "gpt-4o-mini", "o4-mini"],
)
def test_seed_examples_come_out_exactly(rates, requests, input_tokens, output_tokens, standard, batch):
    workload = Workload(input_tokens=input_tokens, output_tokens=output_tokens, requests=requests, period="month")
    tiers = tiers_of(rates, workload)
    assert tiers["standard"].usd_per_period == Decimal(standard)
    assert tiers["batch"].usd_per_period == Decimal(batch)
    assert tiers["batch"].savings_vs_standard.usd_per_period == Decimal(standard) - Decimal(batch)
    assert tiers["batch"].savings_vs_standard.percent == Decimal("50.00")
    assert tiers["standard"].savings_vs_standard is None


def test_figures_are_exact_decimals_written_plainly():
    tiers = tiers_of(GPT_4O, Workload(input_tokens=2_000, output_tokens=800, requests=5_000))
    standard = tiers["standard"]
    # Trailing zeros dropped, whole numbers never in exponent form (65, not 6.5E+1).
    assert [str(v) for v in (standard.usd_per_request, standard.usd_per_1k_requests, standard.usd_per_period,
                             standard.usd_per_year)] == ["0.013", "13", "65", "780"]
    assert [(ln.kind, ln.tokens, ln.usd_per_mtok, ln.cost_usd, ln.basis, ln.rate_kind) for ln in standard.lines] == [
        ("input", 2000, Decimal("2.50"), Decimal("0.005"), "published", "input"),
        ("output", 800, Decimal("10.00"), Decimal("0.008"), "published", "output"),
    ]
    assert msgspec.json.encode(standard.usd_per_period) == b'"65"'


def test_anthropic_caching_on_standard_and_batch():
    # 10,000 prompt tokens: 6,000 read from cache, 2,000 written with the 1h TTL, 2,000 fresh; 500 out.
    workload = Workload(input_tokens=10_000, cached_input_tokens=6_000, cache_write_tokens=2_000, cache_ttl="1h",
                        output_tokens=500)
    tiers = tiers_of(SONNET, workload)
    standard, batch = tiers["standard"], tiers["batch"]
    assert [(ln.kind, ln.tokens, ln.usd_per_mtok) for ln in standard.lines] == [
        ("input", 2000, Decimal("3")), ("cached_input", 6000, Decimal("0.30")),
        ("cache_write_1h", 2000, Decimal("6")), ("output", 500, Decimal("15")),
    ]
    # 2000x3 + 6000x0.3 + 2000x6 + 500x15 = 27,300 per 1M tokens
    assert standard.usd_per_request == Decimal("0.0273")
    # 2000x1.5 + 6000x0.15 + 2000x3 + 500x7.5 = 13,650
    assert batch.usd_per_request == Decimal("0.01365")
    assert {ln.kind: ln.basis for ln in batch.lines} == {
        "input": "published", "cached_input": "derived", "cache_write_1h": "derived", "output": "published"}
    assert standard.warnings == [] and batch.warnings == []


def test_five_minute_cache_writes_use_the_cache_write_rate():
    workload = Workload(input_tokens=10_000, cache_write_tokens=10_000, output_tokens=0)
    tiers = tiers_of(SONNET, workload)
    # No line for the zero fresh-input or zero output tokens.
    assert [(ln.kind, ln.usd_per_mtok) for ln in tiers["standard"].lines] == [("cache_write", Decimal("3.75"))]
    assert [(ln.kind, ln.usd_per_mtok) for ln in tiers["batch"].lines] == [("cache_write", Decimal("1.875"))]
    assert tiers["standard"].usd_per_request == Decimal("0.0375")


def test_long_context_bills_every_token_at_the_long_rates_on_standard_and_batch():
    tiers = tiers_of(SONNET, Workload(input_tokens=250_000, output_tokens=1_000))
    standard, batch = tiers["standard"], tiers["batch"]
    assert standard.min_prompt_tokens == batch.min_prompt_tokens == 200_000
    assert standard.usd_per_request == Decimal("1.5225")  # 250,000 x 6 + 1,000 x 22.50
    assert batch.usd_per_request == Decimal("0.76125")  # 250,000 x 3 + 1,000 x 11.25
    assert [ln.usd_per_mtok for ln in standard.lines] == [Decimal("6"), Decimal("22.50")]
    assert any("long-context" in w for w in standard.warnings)
    cached = tiers_of(SONNET, Workload(input_tokens=250_000, cached_input_tokens=50_000))["standard"]
    assert {ln.kind: ln.usd_per_mtok for ln in cached.lines} == {"input": Decimal("6"), "cached_input": Decimal("0.6")}


def test_the_threshold_must_be_exceeded_not_reached():
    at = tiers_of(SONNET, Workload(input_tokens=200_000))["standard"]
    over = tiers_of(SONNET, Workload(input_tokens=200_001))["standard"]
    assert (at.min_prompt_tokens, at.usd_per_request) == (0, Decimal("0.6"))
    assert (over.min_prompt_tokens, over.usd_per_request) == (200_000, Decimal("1.200006"))


def test_a_tier_without_the_long_context_level_says_so():
    rates = SONNET[: len(SONNET_BASE)] + tuple(r for r in SONNET[len(SONNET_BASE):] if r.tier == "standard")
    batch = tiers_of(rates, Workload(input_tokens=250_000))["batch"]
    assert batch.min_prompt_tokens == 0
    assert any("no rates for prompts over 200000" in w for w in batch.warnings)


def test_not_offered_cached_input_is_billed_at_the_input_rate_with_a_warning():
    rates = GPT_4O + (rate("openai", "gpt-4o", "standard", "cached_input", "1.25"),
                      rate("openai", "gpt-4o", "batch", "cached_input", None))
    tiers = tiers_of(rates, Workload(input_tokens=1_000, cached_input_tokens=600))
    assert [(ln.kind, ln.usd_per_mtok, ln.rate_kind) for ln in tiers["batch"].lines] == [
        ("input", Decimal("1.25"), "input"), ("cached_input", Decimal("1.25"), "input")]
    assert tiers["batch"].usd_per_request == Decimal("0.00125")
    assert tiers["batch"].warnings == [
        "600 cached_input tokens billed at the input rate: batch has no cached_input rate (not offered)"]
    assert tiers["standard"].warnings == []
    assert tiers["standard"].usd_per_request == Decimal("0.00175")  # 400 x 2.50 + 600 x 1.25


def test_missing_cache_write_rate_is_billed_at_the_input_rate_with_a_warning():
    # OpenAI prices no cache writes; a 1h write on gpt-4o costs the plain input price, never a guessed discount.
    tiers = tiers_of(GPT_4O, Workload(input_tokens=1_000, cache_write_tokens=1_000, cache_ttl="1h"))
    assert tiers["standard"].usd_per_request == Decimal("0.0025")
    assert tiers["standard"].warnings == ["1000 cache_write_1h tokens billed at the input rate: standard has no"
                                          " cache_write_1h rate (unknown: no price recorded)"]


def test_tiers_without_a_price_are_left_out_and_named_not_offered_or_unknown():
    rates = GPT_4O + rates_of("openai", "gpt-4o", {("flex", "input"): None, ("flex", "output"): None})
    everything = estimate_model(rates, Workload(input_tokens=100, output_tokens=10))
    assert [t.tier for t in everything.tiers] == ["standard", "batch"] and everything.warnings == []
    # The page says flex is not offered; nothing at all is recorded of priority: unknown, never "not offered".
    assert [(g.tier, g.state) for g in everything.unpriced] == [("flex", "not_offered")]
    asked = estimate_model(rates, Workload(input_tokens=100, output_tokens=10), tiers=["flex", "priority", "batch"],
                           gap_note=lambda tier: " before 2026-08-01")
    assert [t.tier for t in asked.tiers] == ["batch"]
    assert asked.warnings == ["openai/gpt-4o does not offer the flex tier (no input rate)",
                              "no priority price is recorded for openai/gpt-4o before 2026-08-01"]
    assert [(g.tier, g.state) for g in asked.unpriced] == [("flex", "not_offered"), ("priority", "unknown")]
    known = estimate_model(GPT_4O, Workload(input_tokens=100, output_tokens=10), known_tiers=["priority"])
    assert [(g.tier, g.state, g.reason) for g in known.unpriced] == [
        ("priority", "unknown", "no priority price is recorded for openai/gpt-4o")]


def test_an_embedding_model_prices_input_only_workloads():
    rates = rates_of("openai", "text-embedding-3-small",
                     {("standard", "input"): "0.02", ("standard", "output"): None, ("standard", "cached_input"): None})
    priced = estimate_model(rates, Workload(input_tokens=1_000_000, requests=3))
    assert priced.tiers[0].usd_per_period == Decimal("0.06")
    with_output = estimate_model(rates, Workload(input_tokens=10, output_tokens=10))
    assert with_output.tiers == [] and with_output.cheapest_tier is None
    assert with_output.warnings == ["no tier of openai/text-embedding-3-small has the input and output rates"
                                    " this workload needs"]


def test_witness_rates_are_flagged():
    rates = rates_of("deepseek", "deepseek-chat", {("standard", "input"): "0.28", ("standard", "output"): "0.42"},
                     basis={("standard", "input"): "witness", ("standard", "output"): "witness"})
    rates = tuple(msgspec.structs.replace(r, source_id="openrouter") for r in rates)
    standard = tiers_of(rates, Workload(input_tokens=1000, output_tokens=1000))["standard"]
    assert {ln.basis for ln in standard.lines} == {"witness"}
    assert standard.source_ids == ["openrouter"]
    assert standard.warnings == ["rates read from openrouter (a witness), not deepseek's own page"]


def test_valid_from_is_the_latest_start_among_the_rates_used():
    later = datetime(2025, 6, 1, tzinfo=UTC)
    rates = (rate("openai", "o3", "standard", "input", "2", valid_from=later),
             rate("openai", "o3", "standard", "output", "8", source_id="curated"),
             rate("openai", "o3", "standard", "cached_input", "0.5", valid_from=datetime(2026, 1, 1, tzinfo=UTC)))
    standard = tiers_of(rates, Workload(input_tokens=10, output_tokens=10))["standard"]
    assert standard.valid_from == later  # the unused cached_input rate does not count
    assert standard.source_ids == ["curated", "openai"]


def test_discount_comes_off_every_figure_last():
    tiers = tiers_of(GPT_4O, Workload(input_tokens=2_000, output_tokens=800, requests=5_000,
                                      discount_percent=Decimal("10")))
    standard, batch = tiers["standard"], tiers["batch"]
    assert standard.usd_per_period == Decimal("58.5") and batch.usd_per_period == Decimal("29.25")
    assert [ln.cost_usd for ln in standard.lines] == [Decimal("0.0045"), Decimal("0.0072")]
    assert sum(ln.cost_usd for ln in standard.lines) == standard.usd_per_request
    assert batch.savings_vs_standard.usd_per_period == Decimal("29.25")
    assert batch.savings_vs_standard.percent == Decimal("50.00")  # a discount on both leaves the ratio alone
    odd = tiers_of(GPT_4O, Workload(input_tokens=2_000, output_tokens=800, requests=5_000,
                                    discount_percent=Decimal("12.345")))["standard"]
    assert odd.usd_per_period == Decimal("65") * (100 - Decimal("12.345")) / 100  # exact: 56.97575
    free = tiers_of(GPT_4O, Workload(input_tokens=10, requests=1, discount_percent=100))
    assert free["standard"].usd_per_period == 0 and free["batch"].savings_vs_standard.percent is None


@pytest.mark.parametrize(("period", "per_year"), [("day", 365), ("week", 52), ("month", 12)])
def test_period_conversions(period, per_year):
    standard = tiers_of(GPT_4O, Workload(input_tokens=2_000, output_tokens=800, requests=5_000,
                                         period=period))["standard"]
    assert PERIODS_PER_YEAR[period] == per_year
    assert standard.period == period
    assert standard.usd_per_request == Decimal("0.013")
    assert standard.usd_per_1k_requests == Decimal("13")
    assert standard.usd_per_period == Decimal("65")
    assert standard.usd_per_year == Decimal("65") * per_year


def test_priority_costs_more_and_says_so_with_negative_savings():
    rates = GPT_4O + rates_of("openai", "gpt-4o", {("priority", "input"): "4.25", ("priority", "output"): "17.00"})
    priority = tiers_of(rates, Workload(input_tokens=2_000, output_tokens=800, requests=5_000))["priority"]
    assert priority.savings_vs_standard.usd_per_period == Decimal("-45.5")
    assert priority.savings_vs_standard.percent == Decimal("-70.00")


def test_savings_percent_is_rounded_half_even_to_two_places():
    rates = rates_of("x", "m", {("standard", "input"): "3", ("standard", "output"): "3",
                                ("batch", "input"): "2", ("batch", "output"): "2"})
    batch = tiers_of(rates, Workload(input_tokens=1))["batch"]
    assert batch.savings_vs_standard.percent == Decimal("33.33")  # 1/3
    assert batch.savings_vs_standard.usd_per_period == Decimal("0.000001")


def test_requested_tiers_keep_their_order_and_savings_still_use_standard():
    estimate = estimate_model(GPT_4O, Workload(input_tokens=2_000, output_tokens=800, requests=5_000),
                              tiers=["batch", "standard", "batch"])
    assert [t.tier for t in estimate.tiers] == ["batch", "standard"]
    only_batch = estimate_model(GPT_4O, Workload(input_tokens=2_000), tiers=["batch"])
    assert only_batch.tiers[0].savings_vs_standard.percent == Decimal("50.00")


def test_rank_estimates_puts_the_cheapest_first():
    workload = Workload(input_tokens=1_000, output_tokens=100)
    estimates = [estimate_model(rates, workload) for rates in (GPT_4O, O4_MINI, GPT_4O_MINI)]
    assert [e.model for e in rank_estimates(estimates)] == ["gpt-4o-mini", "o4-mini", "gpt-4o"]
    assert [e.cheapest_tier for e in estimates] == ["batch", "batch", "batch"]
    # A model without the tier ranked on goes last.
    no_batch = estimate_model(rates_of("x", "cheap", {("standard", "input"): "0.01", ("standard", "output"): "0.01"}),
                              workload)
    ranked = rank_estimates([*estimates, no_batch], tier="batch")
    assert [e.model for e in ranked] == ["gpt-4o-mini", "o4-mini", "gpt-4o", "cheap"]
    assert rank_estimates([*estimates, no_batch])[0].model == "cheap"


def test_a_rate_index_can_be_built_once_and_reused():
    index = index_rates(GPT_4O)
    workload = Workload(input_tokens=2_000, output_tokens=800, requests=5_000)
    assert estimate_model(index, workload) == estimate_model(GPT_4O, workload) == estimate_model(list(GPT_4O), workload)
    assert index.tiers == ("standard", "batch")


def test_bad_rate_sets_are_refused():
    with pytest.raises(NoRatesError, match="no rates"):
        estimate_model((), Workload(input_tokens=1))
    with pytest.raises(NoRatesError, match="several models"):
        estimate_model(GPT_4O + O4_MINI, Workload(input_tokens=1))
    with pytest.raises(NoRatesError, match="two rates"):
        estimate_model(GPT_4O + GPT_4O[:1], Workload(input_tokens=1))
    with pytest.raises(NoRatesError, match="not a price"):
        estimate_model(GPT_4O + (rate("openai", "gpt-4o", "flex", "input", "NaN"),), Workload(input_tokens=1))
    with pytest.raises(NoRatesError, match="decimal places"):
        estimate_model(GPT_4O + (rate("openai", "gpt-4o", "flex", "input", "1E-40"),), Workload(input_tokens=1))


def test_figures_of_more_than_40_digits_stay_exact():
    """The largest workloads on the finest rates give figures of 59 digits, every one of them exact."""
    fine = "999999.999999999999999999999999999999"  # 30 decimal places, the most a rate may have
    rates = rates_of("x", "fine", {("standard", "input"): fine, ("standard", "output"): fine})
    tokens, requests = 999_999_999, 999_999_999_999
    standard = tiers_of(rates, Workload(input_tokens=tokens, output_tokens=tokens, requests=requests, period="day"))[
        "standard"]
    assert standard.usd_per_request == Decimal("1999999997.999999999999999999999999998000000002")  # fine x 2t / 1M
    assert standard.usd_per_year == Decimal("729999999269270000000729.99999999999927000000073072999999927")
    assert len(standard.usd_per_year.as_tuple().digits) == 59  # x requests x 365


def test_figures_of_more_than_60_digits_stay_exact():
    """A discount with 6 places on the widest workload gives figures of 67 digits: figured exactly all the same."""
    fine = "999999.999999999999999999999999999999"
    rates = rates_of("x", "fine", {("standard", "input"): fine, ("standard", "output"): fine})
    tokens, requests = 999_999_999, 999_999_999_999
    workload = Workload(input_tokens=tokens, output_tokens=tokens, requests=requests, period="day",
                        discount_percent=Decimal("0.000001"))
    standard = tiers_of(rates, workload)["standard"]
    # fine x 2 x tokens / 1M per request, x requests x 365 a year, x (100 - 0.000001) / 100.
    assert standard.usd_per_year == Decimal(
        "729999991969270007308029.9999926999992700000080307299926919700000073")
    assert len(standard.usd_per_year.as_tuple().digits) == 67
    assert standard.usd_per_request == Decimal("1999999978.00000001999999999999999999800000002199999998")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"input_tokens": -1}, "input_tokens"),
        ({"input_tokens": 1.5}, "input_tokens"),
        ({"input_tokens": True}, "input_tokens"),
        ({"input_tokens": 10, "output_tokens": -5}, "output_tokens"),
        ({"input_tokens": 10, "cached_input_tokens": 8, "cache_write_tokens": 8}, "cached_input_tokens"),
        ({"input_tokens": 10, "cache_write_tokens": 11}, "cache_write_tokens"),
        ({"input_tokens": 10, "requests": -1}, "requests"),
        ({"input_tokens": 10, "requests": 10**15}, "requests"),
        ({"input_tokens": 10**10}, "input_tokens"),
        ({"input_tokens": 10, "period": "year"}, "period"),
        ({"input_tokens": 10, "cache_ttl": "2h"}, "cache_ttl"),
        ({"input_tokens": 10, "discount_percent": 0.1}, "discount_percent"),
        ({"input_tokens": 10, "discount_percent": Decimal("101")}, "discount_percent"),
        ({"input_tokens": 10, "discount_percent": Decimal("-1")}, "discount_percent"),
        ({"input_tokens": 10, "discount_percent": Decimal("NaN")}, "discount_percent"),
        ({"input_tokens": 10, "discount_percent": Decimal("1.0000001")}, "discount_percent"),
    ],
)
def test_invalid_workloads_name_the_field(fields, field):
    with pytest.raises(WorkloadError) as raised:
        Workload(**fields)
    assert raised.value.field == field
    assert str(raised.value).startswith(f"{field}: ")
    assert isinstance(raised.value, ValueError)


def test_decoding_an_invalid_workload_names_the_field():
    with pytest.raises(msgspec.ValidationError, match="^cached_input_tokens: "):
        msgspec.json.decode(b'{"input_tokens": 5, "cached_input_tokens": 9}', type=Workload)
    decoded = msgspec.json.decode(b'{"input_tokens": 5, "discount_percent": 12.5}', type=Workload)
    assert decoded.discount_percent == Decimal("12.5")


def test_an_unknown_tier_name_is_a_workload_error():
    with pytest.raises(WorkloadError) as raised:
        estimate_model(GPT_4O, Workload(input_tokens=1), tiers=["gold"])
    assert raised.value.field == "tiers"


def test_batch_plans_split_by_requests_or_by_bytes():
    workload = Workload(input_tokens=500, output_tokens=800, requests=120_000)
    plan = tiers_of(GPT_4O, workload)["batch"].batch_plan
    assert (plan.jobs_per_period, plan.limited_by, plan.max_requests_per_batch) == (3, "requests", 50_000)
    assert plan.url == "https://platform.openai.com/docs/guides/batch"
    assert plan.estimated_bytes_per_request == 500 * BYTES_PER_INPUT_TOKEN + JSONL_OVERHEAD_BYTES_PER_REQUEST
    # 2,000-token prompts (~8.3 kB): 50,000 of them overflow a 200 MB file, so bytes decide (24,096 per job).
    seed = tiers_of(GPT_4O, Workload(input_tokens=2_000, requests=120_000))["batch"].batch_plan
    assert (seed.jobs_per_period, seed.limited_by) == (5, "bytes")
    # 100k-token prompts weigh ~400 kB each: 499 fit in a 200 MB file, so 5,000 requests need 11 jobs.
    heavy = tiers_of(GPT_4O, Workload(input_tokens=100_000, requests=5_000))["batch"].batch_plan
    assert (heavy.jobs_per_period, heavy.limited_by) == (11, "bytes")
    sonnet = tiers_of(SONNET, Workload(input_tokens=100, requests=250_000))["batch"].batch_plan
    assert (sonnet.jobs_per_period, sonnet.max_requests_per_batch) == (3, 100_000)
    assert tiers_of(GPT_4O, Workload(input_tokens=1, requests=0))["batch"].batch_plan.jobs_per_period == 0
    assert tiers_of(GPT_4O, workload)["standard"].batch_plan is None


def test_providers_without_batch_limits_get_no_plan_and_no_error():
    rates = rates_of("mistral", "mistral-large", {("standard", "input"): "2", ("standard", "output"): "6",
                                                  ("batch", "input"): "1", ("batch", "output"): "3"})
    assert tiers_of(rates, Workload(input_tokens=10))["batch"].batch_plan is None
    custom = {"mistral": BatchLimit(max_requests_per_batch=10, max_bytes_per_batch=10**9, url="https://example.test")}
    plan = tiers_of(rates, Workload(input_tokens=10, requests=25), batch_limits=custom)["batch"].batch_plan
    assert plan.jobs_per_period == 3


def test_the_bundled_batch_limits_cite_their_pages():
    limits = bundled_batch_limits()
    assert (limits["openai"].max_requests_per_batch, limits["openai"].max_bytes_per_batch) == (50_000, 200_000_000)
    anthropic = limits["anthropic"]
    assert (anthropic.max_requests_per_batch, anthropic.max_bytes_per_batch) == (100_000, 256_000_000)
    assert limits["anthropic"].url == "https://docs.anthropic.com/en/docs/build-with-claude/batch-processing"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[x]\nmax_requests_per_batch = 0\nmax_bytes_per_batch = 1\nurl = "https://a"\n', "max_requests_per_batch"),
        ('[x]\nmax_requests_per_batch = 1\nmax_bytes_per_batch = 1\nurl = "a page"\n', "url"),
        ('[x]\nmax_requests_per_batch = 1\nurl = "https://a"\n', "max_bytes_per_batch"),
        ("[x\n", "batch_limits.toml"),
    ],
)
def test_a_bad_batch_limits_file_is_refused_loudly(tmp_path: Path, text, message):
    file = tmp_path / "batch_limits.toml"
    file.write_text(text)
    with pytest.raises(BatchLimitsError, match=message):
        load_batch_limits(file)
