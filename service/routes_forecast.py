"""``POST /v1/forecast``: a month-by-month budget projection of a growing workload on one or more models.

The handler resolves the models, picks the start month (the clock's month
when not given) and hands service.forecast a function that reads a model's
rates in force at a moment (``rates_for``: the snapshot for now and later,
SQLite for the past), so each month is priced at its own rates and curated
or announced changes show up mid-horizon. The arithmetic rules are in
service/forecast.py's docstring.
"""

from typing import Annotated

from litestar import Response, post
from litestar.openapi.spec import Example
from litestar.params import Body

from ratecard.service.pricing import ForecastRequest, ForecastResponse, forecast_workload
from ratecard.service.problems import problem_responses
from ratecard.service.routes import ServiceDep
from ratecard.service.responses import post_answer


_EXAMPLE = {
    "models": ["gpt-4o"], "input_tokens": 2000, "cached_input_tokens": 1000, "output_tokens": 800,
    "start_month": "2026-12", "months": 12, "monthly_requests": 5000, "monthly_growth_percent": 10,
    "batch_share": 0.5, "cache_hit_share": 0.4, "migration_hours": 16, "hourly_rate_usd": 100,
}


_DESCRIPTION = (
    "Each month's requests are `monthly_requests` compounded by `monthly_growth_percent` and rounded "
    "half-even to whole requests; each month is priced at the rates in force at 00:00 UTC on its 1st, so "
    "dated and announced price changes show from the first month that starts on or after them. "
    "`batch_share` of the traffic is priced at the batch tier (at standard, with a warning, where a model "
    "has none) and `cache_hit_share` of it reads `cached_input_tokens` from cache. Per month and in total: "
    "`cost_usd`, the all-standard uncached `baseline_usd`, `savings_from_caching_usd` and "
    "`savings_from_batch_usd` (they add up to the baseline), and with `migration_hours` x `hourly_rate_usd` "
    "the months until the move to batch pays back. Give `monthly_spend_usd` (and `spend_model`) instead of "
    "`monthly_requests` to start from what the workload costs a month today."
)


@post("/v1/forecast", summary="Project a workload's cost month by month", description=_DESCRIPTION,
      tags=["estimate"], status_code=200, responses=problem_responses(404, 413))
async def post_forecast(
    service: ServiceDep,
    data: Annotated[ForecastRequest, Body(
        description=("Tokens per request, the first month's requests and their monthly growth, the batch and "
                     "cache-hit shares, the models. Exact decimals (at most 6 places): `monthly_growth_percent` "
                     "-100 to 1000 (compounding), `batch_share` and `cache_hit_share` 0 to 1, `migration_hours` "
                     "and `hourly_rate_usd` 0 to 1,000,000 (both or neither)."),
        examples=[Example(summary="gpt-4o for a year from 2026-12, half of it moved to batch", value=_EXAMPLE)])],
) -> Response[ForecastResponse]:
    """Project the workload month by month on each model (the rules: service/forecast.py)."""
    # Off the event loop: months in the past read SQLite, and 20 models x 120 months is seconds of CPU.
    return post_answer(await service.store.run(forecast_workload, service, data))


FORECAST_ROUTES = [post_forecast]
