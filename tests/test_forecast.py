"""The forecast: compounding, blending, savings and payback by hand on made-up rates, then over HTTP on the
bundled data, where the curated history moves prices mid-horizon (o3's cut of 2025-06-10, gpt-4o's of 2024-10-02).

Every expected figure has its hand computation beside it. Per request, cost = sum(tokens x usd_per_mtok) / 1e6.
"""

from datetime import UTC, datetime
from decimal import Decimal

import msgspec
import pytest

from ratecard.service.bootstrap import bundled_snapshots
from ratecard.service.forecast import ForecastPlan, forecast_model, month_starts, monthly_requests, requests_for_spend
from ratecard.service.routes_forecast import _EXAMPLE
from ratecard.service.timeutil import parse_moment, to_db
from ratecard.service.workload import WorkloadError
from tests.test_api import exact
from tests.test_estimate import rate
from tests.test_bundle_manifest import BUNDLE

D = Decimal
JAN = datetime(2025, 1, 1, tzinfo=UTC)


def plan(**fields) -> ForecastPlan:
    base = {"start_month": "2025-01", "months": 2, "input_tokens": 2000, "output_tokens": 800, "monthly_requests": 5000}
    return ForecastPlan(**{**base, **fields})


def always(rates):
    """A rates_at function that answers with the rates whose interval holds the moment."""
    return lambda at: [r for r in rates if r.in_force(at)]


def table(model: str, prices: dict[tuple[str, str], str], *, valid_from: datetime = JAN,
          valid_to: datetime | None = None):
    """Rates of one model from {(tier, kind): usd_per_mtok}, in force over [valid_from, valid_to)."""
    return [msgspec.structs.replace(rate("openai", model, tier, kind, usd, valid_from=valid_from), valid_to=valid_to)
            for (tier, kind), usd in prices.items()]


# gpt-4o-like: standard $2.50 / cached $1.25 / $10; batch half of each.
BLENDED = {("standard", "input"): "2.50", ("standard", "cached_input"): "1.25", ("standard", "output"): "10.00",
           ("batch", "input"): "1.25", ("batch", "cached_input"): "0.625", ("batch", "output"): "5.00"}
STANDARD_ONLY = {("standard", "input"): "10", ("standard", "cached_input"): "2.5", ("standard", "output"): "40"}


# ---------------------------------------------------------------- requests per month


@pytest.mark.parametrize(
    ("requests", "growth", "expected"),
    [
        # 1000 x 1.1^m = 1000, 1100, 1210, 1331, 1464.1, 1610.51, 1771.561: each rounded from the exact figure
        (1000, "10", [1000, 1100, 1210, 1331, 1464, 1611, 1772]),
        # 10 x 1.05^m = 10, 10.5 (a tie: to even, 10), 11.025, 11.57625
        (10, "5", [10, 10, 11, 12]),
        # 30 x 1.05 = 31.5: a tie, to even, 32
        (30, "5", [30, 32]),
        # 1000 x 0.5^m = 1000, 500, 250, 125, 62.5 (tie, 62), 31.25
        (1000, "-50", [1000, 500, 250, 125, 62, 31]),
        # -100%: traffic stops after the first month
        (1000, "-100", [1000, 0, 0]),
        # 0.5% of 200 is 1 a month, compounding: 200, 201, 202.005, 203.015025
        (200, "0.5", [200, 201, 202, 203]),
    ],
)
def test_requests_compound_exactly_and_round_half_even_to_whole_requests(requests, growth, expected):
    got = monthly_requests(plan(monthly_requests=requests, monthly_growth_percent=D(growth), months=len(expected)))
    assert got == expected


def test_month_starts_are_the_first_instant_of_each_month_in_utc_across_a_year_end():
    assert month_starts("2025-11", 3) == [datetime(2025, 11, 1, tzinfo=UTC), datetime(2025, 12, 1, tzinfo=UTC),
                                          datetime(2026, 1, 1, tzinfo=UTC)]


# ---------------------------------------------------------------- blending and savings


def test_batch_and_cache_shares_blend_exactly_and_the_savings_add_up_to_the_baseline():
    forecast = forecast_model("openai", "m", always(table("m", BLENDED)), plan(
        cached_input_tokens=1000, batch_share=D("0.5"), cache_hit_share=D("0.4")))
    first, second = forecast.months
    # 5000 requests of 2000 in (1000 of them cacheable) + 800 out:
    # S0 standard, no hit  = 5000 x (2000 x 2.50 + 800 x 10) / 1e6               = 5000 x 0.013   = 65
    # S1 standard, hit     = 5000 x (1000 x 2.50 + 1000 x 1.25 + 800 x 10) / 1e6 = 5000 x 0.01175 = 58.75
    # B0 batch, no hit     = 5000 x (2000 x 1.25 + 800 x 5) / 1e6                 = 32.5
    # B1 batch, hit        = 5000 x (1000 x 1.25 + 1000 x 0.625 + 800 x 5) / 1e6 = 29.375
    # without batch = 0.6 x 65 + 0.4 x 58.75  = 39 + 23.5   = 62.5
    # batch blend   = 0.6 x 32.5 + 0.4 x 29.375 = 19.5 + 11.75 = 31.25
    # cost          = 0.5 x 62.5 + 0.5 x 31.25  = 46.875
    assert (first.requests, first.cost_usd, first.baseline_usd) == (5000, D("46.875"), D("65"))
    assert first.savings_from_caching_usd == D("2.5")  # 65 - 62.5
    assert first.savings_from_batch_usd == D("15.625")  # 62.5 - 46.875
    assert first.cost_usd + first.savings_from_caching_usd + first.savings_from_batch_usd == first.baseline_usd
    assert first.baseline_usd_per_request == D("0.013") and first.batch_tier_offered is True
    assert second.cost_usd == D("46.875") and second.cumulative_cost_usd == D("93.75")  # 2 x 46.875
    assert second.cumulative_savings_from_batch_usd == D("31.25")  # 2 x 15.625
    # Totals over the two months: 2 x each figure.
    assert (forecast.total_usd, forecast.baseline_usd) == (D("93.75"), D("130"))
    assert (forecast.savings_from_batch_usd, forecast.savings_from_caching_usd) == (D("31.25"), D("5"))
    assert (forecast.requests, forecast.priced_months, forecast.payback, forecast.warnings) == (10000, 2, None, [])


def test_all_batch_all_cached_is_the_batch_cached_price():
    forecast = forecast_model("openai", "m", always(table("m", BLENDED)), plan(
        months=1, cached_input_tokens=1000, batch_share=D(1), cache_hit_share=D(1)))
    (month,) = forecast.months
    # B1 = 29.375 (above); caching saves S0 - S1 = 65 - 58.75 = 6.25; batch saves S1 - B1 = 58.75 - 29.375
    assert (month.cost_usd, month.savings_from_caching_usd, month.savings_from_batch_usd) == (
        D("29.375"), D("6.25"), D("29.375"))


def test_growth_compounds_through_the_cost():
    forecast = forecast_model("openai", "m", always(table("m", BLENDED)), plan(
        months=3, monthly_requests=1000, monthly_growth_percent=D(10)))
    # 1000, 1100, 1210 requests x $0.013 (2000 x 2.50 + 800 x 10 per 1e6) = 13, 14.3, 15.73
    assert [(m.requests, m.cost_usd) for m in forecast.months] == [(1000, D("13")), (1100, D("14.3")),
                                                                    (1210, D("15.73"))]
    assert forecast.total_usd == D("43.03")  # 13 + 14.3 + 15.73
    assert forecast.savings_from_batch_usd == D(0) and forecast.savings_from_caching_usd == D(0)


# ---------------------------------------------------------------- payback


def test_payback_is_the_first_month_whose_cumulative_batch_savings_reach_the_migration_cost():
    reader = always(table("m", BLENDED))
    shares = {"cached_input_tokens": 1000, "batch_share": D("0.5"), "cache_hit_share": D("0.4")}
    # Batch saves 15.625 a month (above): cumulative 15.625, 31.25, 46.875, ...
    pays = forecast_model("openai", "m", reader, plan(months=3, migration_hours=D(3), hourly_rate_usd=D(10), **shares))
    assert pays.payback is not None
    assert (pays.payback.migration_cost_usd, pays.payback.months, pays.payback.month) == (D(30), 2, "2025-02")
    exactly = forecast_model("openai", "m", reader, plan(months=3, migration_hours=D("1.25"),
                                                         hourly_rate_usd=D("12.5"), **shares))
    assert exactly.payback.migration_cost_usd == D("15.625") and exactly.payback.months == 1  # 1.25 x 12.5, reached
    never = forecast_model("openai", "m", reader, plan(months=2, migration_hours=D(4), hourly_rate_usd=D(10), **shares))
    assert (never.payback.months, never.payback.month) == (None, None)
    assert never.payback.reason == ("cumulative batch savings reach 31.25 USD by 2025-02,"
                                    " short of the 40 USD migration cost")
    nothing_moves = forecast_model("openai", "m", reader, plan(migration_hours=D(1), hourly_rate_usd=D(1)))
    assert nothing_moves.payback.months is None and nothing_moves.payback.reason.startswith("batch_share is 0")


# ---------------------------------------------------------------- gaps: no batch tier, no rates


NOT_OFFERED_BATCH = {**STANDARD_ONLY, ("batch", "input"): None, ("batch", "output"): None}


def test_a_model_without_a_batch_tier_prices_the_batch_share_at_standard_and_says_so():
    forecast = forecast_model("openai", "o", always(table("o", NOT_OFFERED_BATCH)), plan(
        batch_share=D("0.5"), migration_hours=D(1), hourly_rate_usd=D(100)))
    # 5000 x (2000 x 10 + 800 x 40) / 1e6 = 5000 x 0.052 = 260 a month, all at standard
    assert [(m.cost_usd, m.savings_from_batch_usd, m.batch_tier_offered, m.batch_tier_state)
            for m in forecast.months] == [(D("260"), D("0"), False, "not_offered"),
                                          (D("260"), D("0"), False, "not_offered")]
    assert forecast.warnings == ["openai/o offers no batch tier in 2 months (2025-01, 2025-02): batch_share priced "
                                 "at the standard rates, so no batch savings"]
    assert forecast.payback.reason == "no month of the horizon has a batch tier, so the migration saves nothing"


def test_a_batch_tier_with_no_price_recorded_is_unknown_never_not_offered():
    # Standard rates only: nothing says whether batch existed, so it is unknown (with when it is recorded).
    forecast = forecast_model("openai", "o", always(table("o", STANDARD_ONLY)), plan(batch_share=D("0.5")),
                              gap_note=lambda tier, at: " before 2026-08-01")
    assert [(m.cost_usd, m.batch_tier_offered, m.batch_tier_state) for m in forecast.months] == [
        (D("260"), None, "unknown"), (D("260"), None, "unknown")]
    assert forecast.warnings == [
        "no batch price is recorded for openai/o before 2026-08-01, so batch_share is priced at the standard"
        " rates in 2 months (2025-01, 2025-02) (no batch savings counted)"]
    assert not any("offers no batch tier" in w for w in forecast.warnings)


def test_months_before_a_model_has_rates_are_not_priced_and_left_out_of_the_totals():
    launched = table("o", STANDARD_ONLY, valid_from=datetime(2025, 2, 16, tzinfo=UTC))
    forecast = forecast_model("openai", "o", always(launched), plan(months=3))
    jan, feb, mar = forecast.months
    # Launched on the 16th: January and February had no rates at their 1st; March is 5000 x 0.052 = 260.
    assert [m.priced for m in forecast.months] == [False, False, True]
    assert (jan.cost_usd, jan.baseline_usd, jan.requests, feb.cumulative_cost_usd) == (None, None, 5000, D(0))
    assert (mar.cost_usd, forecast.total_usd, forecast.priced_months, forecast.requests) == (D(260), D(260), 1, 5000)
    assert forecast.warnings == ["openai/o not priced in 2 months (2025-01, 2025-02): no rates in force at the start "
                                 "of the month (00:00 UTC on the 1st); left out of the totals"]


def test_a_price_change_shows_from_the_first_month_that_starts_after_it():
    cut = datetime(2025, 2, 15, tzinfo=UTC)
    on_the_first = datetime(2025, 4, 1, tzinfo=UTC)
    history = (table("o", STANDARD_ONLY, valid_to=cut)
               + table("o", {("standard", "input"): "2", ("standard", "output"): "8"}, valid_from=cut,
                       valid_to=on_the_first)
               + table("o", {("standard", "input"): "1", ("standard", "output"): "4"}, valid_from=on_the_first))
    forecast = forecast_model("openai", "o", always(history), plan(months=4, monthly_requests=1000))
    # 1000 requests of 2000 in + 800 out:
    # Jan, Feb at $10/$40 (the cut on Feb 15 is mid-month): 1000 x (20000 + 32000) / 1e6 = 52
    # Mar at $2/$8:  1000 x (4000 + 6400) / 1e6 = 10.4
    # Apr at $1/$4 (effective on the 1st, so April itself): 1000 x (2000 + 3200) / 1e6 = 5.2
    assert [m.cost_usd for m in forecast.months] == [D(52), D(52), D("10.4"), D("5.2")]
    assert [m.rates_valid_from for m in forecast.months] == [JAN, JAN, cut, on_the_first]
    assert forecast.total_usd == D("119.6")  # 52 + 52 + 10.4 + 5.2


# ---------------------------------------------------------------- plan validation (pure)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"start_month": "2025-13"}, "start_month"),
        ({"start_month": "2025-00"}, "start_month"),
        ({"start_month": "0000-05"}, "start_month"),
        ({"start_month": "2025-1"}, "start_month"),
        ({"months": 0}, "months"),
        ({"months": 121}, "months"),
        ({"start_month": "9999-12", "months": 2}, "months"),
        ({"batch_share": D("1.01")}, "batch_share"),
        ({"cache_hit_share": D("-0.1")}, "cache_hit_share"),
        ({"batch_share": D("0.1234567")}, "batch_share"),
        ({"batch_share": 0.5}, "batch_share"),  # a float: say the digits
        ({"batch_share": D("NaN")}, "batch_share"),
        ({"monthly_growth_percent": D(1001)}, "monthly_growth_percent"),
        ({"monthly_growth_percent": D(-101)}, "monthly_growth_percent"),
        ({"monthly_requests": 10**12, "monthly_growth_percent": D(1)}, "monthly_growth_percent"),
        ({"input_tokens": -1}, "input_tokens"),
        ({"cached_input_tokens": 2001}, "cached_input_tokens"),
        ({"migration_hours": D(10)}, "hourly_rate_usd"),
        ({"hourly_rate_usd": D(10)}, "migration_hours"),
        ({"migration_hours": D(-1), "hourly_rate_usd": D(10)}, "migration_hours"),
    ],
)
def test_invalid_plans_name_the_field(fields, field):
    with pytest.raises(WorkloadError) as caught:
        plan(**fields)
    assert caught.value.field == field


# ---------------------------------------------------------------- over HTTP, on the bundled data


def forecast(client, **body) -> dict:
    """POST a forecast (shares as JSON numbers, as a client writes them) and decode it exactly."""
    response = client.post("/v1/forecast", json=body)
    assert response.status_code == 200, response.text
    return exact(response)


def test_o3_over_four_months_from_2025_04_shows_its_launch_and_its_price_cut(client):
    # Curated history: o3 launched 2025-04-16 at $10 / cached $2.50 / $40, cut on 2025-06-10 to $2 / $0.50 / $8.
    body = forecast(client, models=["o3"], start_month="2025-04", months=4, input_tokens=1000,
                    cached_input_tokens=500, output_tokens=200, monthly_requests=100_000,
                    monthly_growth_percent=10, cache_hit_share=0.4, batch_share=0.5)
    (o3,) = body["forecasts"]
    assert (body["start_month"], body["end_month"], body["catalog_version"]) == ("2025-04", "2025-07", BUNDLE["changesets"])
    rows = {m["month"]: m for m in o3["months"]}
    # April: at 2025-04-01 o3 had not launched: no price, no silent zero.
    assert rows["2025-04"]["priced"] is False and rows["2025-04"]["cost_usd"] is None
    assert rows["2025-04"]["requests"] == 100_000
    # May (110,000 requests) and June (121,000) at the launch price: per request 1000 x 10 + 200 x 40 = 18,000 / 1e6
    #   baseline May = 110,000 x 0.018 = 1980; caching: 0.4 x 110,000 x 500 x (10 - 2.50) / 1e6 = 165
    #   June = 121,000 x 0.018 = 2178; caching 0.4 x 121,000 x 0.00375 = 181.5
    # July (133,100) at the cut price, though the cut came on June 10: 1000 x 2 + 200 x 8 = 3600 / 1e6
    #   baseline 133,100 x 0.0036 = 479.16; caching 0.4 x 133,100 x 500 x (2 - 0.50) / 1e6 = 39.93
    # Batch: OpenAI's Batch API bills 50% of standard since 2024-04-15 (data/curated/tier_rules.toml), so batch
    # input and output are derived: $5 / $20, then $1 / $4 after the cut. Batch cached input has no rule (the
    # page prints it per model, '-' for o3): those tokens are billed at the batch input rate, with a warning.
    #   without batch = baseline - caching: 1815, 1996.5, 439.23; batch per request 1000 x 5 + 200 x 20 = 0.009
    #   May: 0.5 x 1815 + 0.5 x 110,000 x 0.009 = 907.5 + 495 = 1402.5
    #   June: 0.5 x 1996.5 + 0.5 x 121,000 x 0.009 = 998.25 + 544.5 = 1542.75
    #   July: 0.5 x 439.23 + 0.5 x 133,100 x 0.0018 = 219.615 + 119.79 = 339.405
    assert [(rows[m]["requests"], rows[m]["baseline_usd"], rows[m]["savings_from_caching_usd"], rows[m]["cost_usd"])
            for m in ("2025-05", "2025-06", "2025-07")] == [
        (110_000, D(1980), D(165), D("1402.5")),
        (121_000, D(2178), D("181.5"), D("1542.75")),
        (133_100, D("479.16"), D("39.93"), D("339.405")),
    ]
    assert rows["2025-05"]["baseline_usd_per_request"] == D("0.018")
    assert rows["2025-07"]["baseline_usd_per_request"] == D("0.0036")
    assert rows["2025-07"]["rates_valid_from"] == "2025-06-10T00:00:00Z"
    assert [rows[m]["savings_from_batch_usd"] for m in ("2025-05", "2025-06", "2025-07")] == [
        D("412.5"), D("453.75"), D("99.825")]  # 1815 - 1402.5, 1996.5 - 1542.75, 439.23 - 339.405
    assert all(rows[m]["batch_tier_offered"] is True and rows[m]["batch_tier_state"] == "priced"
               for m in ("2025-05", "2025-06", "2025-07"))
    assert o3["total_usd"] == D("3284.655")  # 1402.5 + 1542.75 + 339.405
    assert o3["baseline_usd"] == D("4637.16")  # 1980 + 2178 + 479.16
    assert o3["savings_from_caching_usd"] == D("386.43")  # 165 + 181.5 + 39.93
    assert (o3["priced_months"], o3["requests"]) == (3, 364_100)  # 110,000 + 121,000 + 133,100
    assert o3["warnings"] == [
        "openai/o3 not priced in 2025-04: no rates in force at the start of the month (00:00 UTC on the 1st);"
        " left out of the totals",
        "500 cached_input tokens billed at the input rate: batch has no cached_input rate (unknown: no price recorded)",
    ]
    assert body["warnings"][:2] == ["openai/o3 not priced in 2025-04: no rates in force at the start of the month"
                                    " (00:00 UTC on the 1st); left out of the totals",
                                    "openai/o3: " + o3["warnings"][1]]
    # Every answer says how fresh its prices are: OpenAI's were last confirmed by the newest bundled page.
    (fresh,) = body["freshness"]
    newest = max(parse_moment(s.observed_at) for s in bundled_snapshots() if s.source == "openai")
    assert (fresh["provider"], fresh["prices_as_of"], fresh["stale"]) == ("openai", to_db(newest), True)
    assert body["warnings"][2:] == [fresh["warning"]]


def test_gpt_4o_cut_on_the_2nd_of_october_2024_shows_from_november(client):
    body = forecast(client, models=["gpt-4o"], start_month="2024-09", months=3, input_tokens=2000,
                    output_tokens=800, monthly_requests=5000)
    # Sep, Oct at $5 / $15: 5000 x (2000 x 5 + 800 x 15) / 1e6 = 5000 x 0.022 = 110
    # Nov at $2.50 / $10 (effective 2024-10-02, after October began): 5000 x 0.013 = 65
    assert [(m["month"], m["cost_usd"]) for m in body["forecasts"][0]["months"]] == [
        ("2024-09", D(110)), ("2024-10", D(110)), ("2024-11", D(65))]
    assert body["forecasts"][0]["total_usd"] == D(285)  # 110 + 110 + 65


def test_the_example_body_current_gpt_4o_with_batch_caching_and_payback(client):
    body = forecast(client, models=["gpt-4o"], input_tokens=2000, cached_input_tokens=1000, output_tokens=800,
                    monthly_requests=5000, monthly_growth_percent=10, batch_share=0.5,
                    cache_hit_share=0.4, migration_hours=1, hourly_rate_usd=30)
    # No start_month: the clock's month (2026-11-20 -> 2026-11); 12 months by default.
    assert (body["start_month"], body["end_month"]) == ("2026-11", "2027-10")
    (gpt,) = body["forecasts"]
    assert len(gpt["months"]) == 12
    first, second = gpt["months"][:2]
    # Current page: standard $2.50 / cached $1.25 / $10; batch $1.25 / $5, batch cached input not offered.
    # S0 = 65, S1 = 58.75 (as above); B0 = 32.5, B1 = 5000 x (2000 x 1.25 + 800 x 5) / 1e6 = 32.5 (cached at input)
    # without batch = 0.6 x 65 + 0.4 x 58.75 = 62.5; cost = 0.5 x 62.5 + 0.5 x 32.5 = 47.5
    assert (first["cost_usd"], first["savings_from_caching_usd"], first["savings_from_batch_usd"]) == (
        D("47.5"), D("2.5"), D(15))  # 65 - 62.5, 62.5 - 47.5
    # 5500 requests: every figure x 1.1
    assert (second["requests"], second["cost_usd"], second["cumulative_savings_from_batch_usd"]) == (
        5500, D("52.25"), D("31.5"))  # 47.5 x 1.1; 15 + 16.5
    # 1 h x $30: 15 < 30 after one month, 31.5 >= 30 after two.
    assert gpt["payback"] == {"migration_cost_usd": 30, "months": 2, "month": "2026-12", "reason": None}
    # 5000 x 1.1^m: 5000, 5500, 6050, 6655, 7320.5 (a tie: 7320), 8052.55, 8857.805, 9743.5855, 10717.94405,
    # 11789.738455, 12968.7123005, 14265.58353055 -> ..., 7320, 8053, 8858, 9744, 10718, 11790, 12969, 14266
    assert [m["requests"] for m in gpt["months"]] == [5000, 5500, 6050, 6655, 7320, 8053, 8858, 9744, 10718,
                                                      11790, 12969, 14266]
    assert gpt["requests"] == 106_923  # their sum
    # Every figure is linear in requests: per request cost 47.5 / 5000 = 0.0095, baseline 0.013,
    # batch savings 15 / 5000 = 0.003, caching savings 2.5 / 5000 = 0.0005; times 106,923 requests:
    assert gpt["total_usd"] == sum(m["cost_usd"] for m in gpt["months"]) == D("1015.7685")
    assert (gpt["baseline_usd"], gpt["savings_from_batch_usd"], gpt["savings_from_caching_usd"]) == (
        D("1389.999"), D("320.769"), D("53.4615"))
    assert body["warnings"] == ["openai/gpt-4o: 1000 cached_input tokens billed at the input rate: batch has no"
                                " cached_input rate (not offered)", body["freshness"][0]["warning"]]


def test_the_documented_example_body_is_answered(client):
    body = forecast(client, **_EXAMPLE)
    (gpt,) = body["forecasts"]
    # 2026-12, 5000 requests at the current gpt-4o rates: 47.5 (as in the test above); 16 h x $100 = 1600
    assert (len(gpt["months"]), gpt["months"][0]["cost_usd"], gpt["payback"]["migration_cost_usd"]) == (
        12, D("47.5"), D(1600))
    # Batch saves 0.003 a request (above) over 106,923 requests = 320.769 < 1600: no payback within the year.
    assert gpt["payback"]["months"] is None and gpt["savings_from_batch_usd"] == D("320.769")


def test_several_models_are_each_projected_in_the_order_asked_and_once(client):
    body = forecast(client, models=["gpt-4o-mini", "gpt-4o", "openai/gpt-4o"], start_month="2026-12", months=1,
                    input_tokens=500, output_tokens=300, monthly_requests=50_000)
    # gpt-4o-mini: 50,000 x (500 x 0.15 + 300 x 0.60) / 1e6 = 12.75; gpt-4o: 50,000 x (1250 + 3000) / 1e6 = 212.5
    assert [(f["model"], f["total_usd"]) for f in body["forecasts"]] == [("gpt-4o-mini", D("12.75")),
                                                                         ("gpt-4o", D("212.5"))]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"start_month": "2025-13"}, "start_month"),
        ({"start_month": "June"}, "start_month"),
        ({"start_month": "9999-06"}, "months"),
        ({"months": 0}, "months"),
        ({"months": 121}, "months"),
        ({"batch_share": 1.5}, "batch_share"),
        ({"cache_hit_share": -0.25}, "cache_hit_share"),
        ({"cache_hit_share": "NaN"}, "cache_hit_share"),
        ({"monthly_growth_percent": 5000}, "monthly_growth_percent"),
        ({"monthly_requests": 10**12, "monthly_growth_percent": 50}, "monthly_growth_percent"),
        ({"monthly_requests": -5}, "monthly_requests"),
        ({"input_tokens": -1}, "input_tokens"),
        ({"output_tokens": 2.5}, "output_tokens"),
        ({"cached_input_tokens": 1001}, "cached_input_tokens"),
        ({"migration_hours": 10}, "hourly_rate_usd"),
        ({"hourly_rate_usd": -1, "migration_hours": 1}, "hourly_rate_usd"),
        ({"models": []}, "models"),
    ],
)
def test_bad_input_is_a_400_problem_naming_the_field(client, fields, field):
    problem = problem_for(client, {"models": ["gpt-4o"], "input_tokens": 1000, "monthly_requests": 100, **fields})
    assert [e["field"] for e in problem["errors"]] == [field]
    assert problem["detail"].startswith(f"{field}: ")


def test_unknown_and_missing_fields_are_400_problems(client):
    unknown = problem_for(client, {"models": ["gpt-4o"], "input_tokens": 1000, "monthly_requests": 100,
                                   "requests": 100})
    assert unknown["errors"] == [{"field": "requests", "reason": "unknown field, not part of this request"}]
    assert unknown["detail"] == "requests: unknown field, not part of this request"
    missing = problem_for(client, {"models": ["gpt-4o"], "input_tokens": 1000})
    assert missing["errors"] == [{"field": "monthly_requests",
                                  "reason": "required field missing (or give monthly_spend_usd)"}]
    assert missing["detail"] == "monthly_requests: required field missing (or give monthly_spend_usd)"


def problem_for(client, body: dict) -> dict:
    """POST a bad forecast body; it must be a 400 problem, returned decoded."""
    response = client.post("/v1/forecast", json=body)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 400 and problem["title"] in ("Invalid forecast", "Invalid request")
    return problem


def test_an_unknown_model_is_a_404_with_suggestions(client):
    response = client.post("/v1/forecast", json={"models": ["gpt-4o-minii"], "input_tokens": 10,
                                                 "monthly_requests": 10})
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert "openai/gpt-4o-mini" in response.json()["suggestions"]


# ---------------------------------------------------------------- starting from a monthly spend


@pytest.mark.parametrize(
    ("spend", "per_request", "expected"),
    [
        ("2000", "0.0125", 160_000),  # exact
        ("2000", "0.013", 153_846),  # 153,846.15...
        ("0.0195", "0.013", 2),  # 1.5: a tie, to even
        ("0.0065", "0.013", 0),  # 0.5: a tie, to even
        ("0", "0.013", 0),
    ],
)
def test_a_spend_buys_whole_requests_rounded_half_even(spend, per_request, expected):
    assert requests_for_spend(D(spend), D(per_request)) == expected


@pytest.mark.parametrize(("spend", "per_request"), [("-1", "0.01"), ("0.0000001", "0.01"), ("2000", "0"),
                                                    ("1000000000", "0.000000001")])
def test_a_spend_that_gives_no_volume_names_the_field(spend, per_request):
    with pytest.raises(WorkloadError) as caught:
        requests_for_spend(D(spend), D(per_request))
    assert caught.value.field == "monthly_spend_usd"


def test_two_thousand_a_month_with_sixty_percent_on_batch_saves_six_hundred_a_month(client):
    # gpt-4o in 2026-12: 1000 x $2.50 + 1000 x $10 per 1M = $0.0125 a request; $2,000 buys 160,000 requests.
    body = forecast(client, models=["gpt-4o"], input_tokens=1000, output_tokens=1000, monthly_spend_usd=2000,
                    batch_share=0.6, start_month="2026-12", months=12)
    assert body["monthly_requests"] == 160_000
    assert body["spend"] == {"provider": "openai", "model": "gpt-4o", "monthly_spend_usd": 2000,
                             "usd_per_request": D("0.0125"), "priced_at": "2026-12-01T00:00:00Z"}
    (gpt,) = body["forecasts"]
    # Batch is half price: 60% of $2,000 at half price saves $600; the bill is $1,400.
    assert {(m["baseline_usd"], m["cost_usd"], m["savings_from_batch_usd"]) for m in gpt["months"]} == {
        (D(2000), D(1400), D(600))}
    assert (gpt["total_usd"], gpt["savings_from_batch_usd"]) == (D(16_800), D(7200))  # x 12


def test_a_spend_on_one_model_is_projected_on_every_model(client):
    # The volume comes from gpt-4o ($0.0125 a request: 160,000 requests); gpt-4o-mini prices the same volume:
    # 160,000 x (1000 x 0.15 + 1000 x 0.60) / 1e6 = 120.
    body = forecast(client, models=["gpt-4o-mini", "gpt-4o"], spend_model="gpt-4o", input_tokens=1000,
                    output_tokens=1000, monthly_spend_usd=2000, start_month="2026-12", months=1)
    assert body["monthly_requests"] == 160_000 and body["spend"]["model"] == "gpt-4o"
    assert [(f["model"], f["total_usd"]) for f in body["forecasts"]] == [("gpt-4o-mini", D(120)),
                                                                         ("gpt-4o", D(2000))]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"monthly_spend_usd": 100, "monthly_requests": 100}, "monthly_spend_usd"),
        ({"monthly_spend_usd": -5}, "monthly_spend_usd"),
        ({"monthly_requests": 100, "spend_model": "gpt-4o"}, "spend_model"),
        ({"monthly_spend_usd": 100, "input_tokens": 0}, "monthly_spend_usd"),  # a request costs nothing
    ],
)
def test_bad_spend_input_is_a_400_problem_naming_the_field(client, fields, field):
    body = {"models": ["gpt-4o"], "input_tokens": 1000, "start_month": "2026-12", **fields}
    problem = problem_for(client, body)
    assert [e["field"] for e in problem["errors"]] == [field]
