"""``POST /v1/forecast``: a month-by-month budget projection of a growing workload on one or more models.

The handler resolves the models, picks the start month (the clock's month
when not given) and hands service.forecast a function that reads a model's
rates in force at a moment (``rates_for``: the snapshot for now and later,
SQLite for the past), so each month is priced at its own rates and curated
or announced changes show up mid-horizon. The arithmetic rules are in
service/forecast.py's docstring.
"""

from datetime import datetime
from decimal import Decimal
from typing import Annotated

import msgspec
from litestar import Request, Response, post
from litestar.datastructures import State
from litestar.openapi.spec import Example
from litestar.params import Body

from service.app import Service
from service.catalog import ModelKey
from service.estimate import MAX_REQUESTS_PER_PERIOD, MAX_TOKENS_PER_REQUEST, WorkloadError
from service.forecast import (
    DEFAULT_MONTHS,
    MAX_MONTHS,
    ForecastPlan,
    ModelForecast,
    forecast_model,
    month_label,
    month_starts,
)
from service.problems import ApiError, bad_parameter, problem_responses
from service.rates import Rate
from service.responses import json_response
from service.routes import rates_for, resolve, svc
from service.routes_estimate import MAX_MODELS
from service.schemas import Out

Tokens = Annotated[int, msgspec.Meta(ge=0, le=MAX_TOKENS_PER_REQUEST)]


class ForecastRequest(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """A workload's monthly volume, growth and traffic mix, and the models to project it on.

    The Decimal fields are bounded in code (msgspec cannot bound a Decimal):
    growth -100 to 1000 percent, shares 0 to 1, all with at most 6 decimal places.
    """

    models: Annotated[list[str], msgspec.Meta(
        min_length=1, max_length=MAX_MODELS,
        description="Models as `model` or `provider/model`; each is projected with the whole traffic.")]
    input_tokens: Annotated[int, msgspec.Meta(ge=0, le=MAX_TOKENS_PER_REQUEST,
                                              description="Prompt tokens per request (the whole prompt).")]
    monthly_requests: Annotated[int, msgspec.Meta(ge=0, le=MAX_REQUESTS_PER_PERIOD,
                                                  description="Requests in the first month.")]
    cached_input_tokens: Annotated[int, msgspec.Meta(
        ge=0, le=MAX_TOKENS_PER_REQUEST,
        description="Of the prompt, tokens a cache hit reads from cache (at most input_tokens).")] = 0
    output_tokens: Annotated[int, msgspec.Meta(ge=0, le=MAX_TOKENS_PER_REQUEST,
                                               description="Output tokens per request.")] = 0
    start_month: Annotated[str, msgspec.Meta(
        pattern=r"^\d{4}-\d{2}$", description="First month, YYYY-MM (UTC); default the current month.")] | None = None
    months: Annotated[int, msgspec.Meta(ge=1, le=MAX_MONTHS,
                                        description=f"Months to project, 1 to {MAX_MONTHS}.")] = DEFAULT_MONTHS
    monthly_growth_percent: Annotated[Decimal, msgspec.Meta(
        description="Growth of requests per month in percent, compounding (-100 to 1000).")] = Decimal(0)
    batch_share: Annotated[Decimal, msgspec.Meta(
        description="Share of requests sent through the batch tier, 0 to 1.")] = Decimal(0)
    cache_hit_share: Annotated[Decimal, msgspec.Meta(
        description="Share of requests whose cached_input_tokens are read from cache, 0 to 1.")] = Decimal(0)
    migration_hours: Annotated[Decimal, msgspec.Meta(
        description="Engineering hours to move the batch share to batch (with hourly_rate_usd).")] | None = None
    hourly_rate_usd: Annotated[Decimal, msgspec.Meta(
        description="Cost of one engineering hour in USD (with migration_hours).")] | None = None


class ForecastResponse(Out):
    """The projection of each model (in the order asked), priced month by month at the rates then in force."""

    catalog_version: int
    start_month: str
    end_month: str
    forecasts: list[ModelForecast]
    warnings: list[str]


_EXAMPLE = {
    "models": ["gpt-4o"], "input_tokens": 2000, "cached_input_tokens": 1000, "output_tokens": 800,
    "start_month": "2026-12", "months": 12, "monthly_requests": 5000, "monthly_growth_percent": 10,
    "batch_share": 0.5, "cache_hit_share": 0.4, "migration_hours": 16, "hourly_rate_usd": 100,
}


def _problem(field: str, reason: str) -> ApiError:
    return bad_parameter(field, reason, slug="invalid-forecast", title="Invalid forecast")


def forecast_workload(service: Service, request: ForecastRequest) -> ForecastResponse:
    """Validate the plan, resolve the models and project each one month by month."""
    try:
        plan = ForecastPlan(
            start_month=request.start_month or month_label(service.clock()), months=request.months,
            input_tokens=request.input_tokens, cached_input_tokens=request.cached_input_tokens,
            output_tokens=request.output_tokens, monthly_requests=request.monthly_requests,
            monthly_growth_percent=request.monthly_growth_percent, batch_share=request.batch_share,
            cache_hit_share=request.cache_hit_share, migration_hours=request.migration_hours,
            hourly_rate_usd=request.hourly_rate_usd,
        )
    except WorkloadError as exc:
        raise _problem(exc.field, exc.reason) from None
    keys = list(dict.fromkeys(resolve(service, name) for name in request.models))
    forecasts = [forecast_model(key[0], key[1], _rates_reader(service, key), plan) for key in keys]
    # One list for every model: say which model a note is about when it does not.
    warnings = [w if w.startswith(f"{f.provider}/{f.model} ") else f"{f.provider}/{f.model}: {w}"
                for f in forecasts for w in f.warnings]
    last = month_label(month_starts(plan.start_month, plan.months)[-1])
    return ForecastResponse(catalog_version=service.catalog.version, start_month=plan.start_month, end_month=last,
                            forecasts=forecasts, warnings=warnings)


def _rates_reader(service: Service, key: ModelKey):
    def rates_at(at: datetime) -> tuple[Rate, ...]:
        return tuple(rates_for(service, at, None, key))

    return rates_at


_DESCRIPTION = (
    "Each month's requests are `monthly_requests` compounded by `monthly_growth_percent` and rounded "
    "half-even to whole requests; each month is priced at the rates in force at 00:00 UTC on its 1st, so "
    "dated and announced price changes show from the first month that starts on or after them. "
    "`batch_share` of the traffic is priced at the batch tier (at standard, with a warning, where a model "
    "has none) and `cache_hit_share` of it reads `cached_input_tokens` from cache. Per month and in total: "
    "`cost_usd`, the all-standard uncached `baseline_usd`, `savings_from_caching_usd` and "
    "`savings_from_batch_usd` (they add up to the baseline), and with `migration_hours` x `hourly_rate_usd` "
    "the months until the move to batch pays back."
)


@post("/v1/forecast", summary="Project a workload's cost month by month", description=_DESCRIPTION,
      tags=["estimate"], status_code=200, responses=problem_responses(404, 413))
async def post_forecast(
    request: Request,
    state: State,
    data: Annotated[ForecastRequest, Body(
        description=("Tokens per request, the first month's requests and their monthly growth, the batch and "
                     "cache-hit shares, the models. Exact decimals (at most 6 places): `monthly_growth_percent` "
                     "-100 to 1000 (compounding), `batch_share` and `cache_hit_share` 0 to 1, `migration_hours` "
                     "and `hourly_rate_usd` 0 to 1,000,000 (both or neither)."),
        examples=[Example(summary="gpt-4o for a year from 2026-12, half of it moved to batch", value=_EXAMPLE)])],
) -> Response[ForecastResponse]:
    """Project the workload month by month on each model (the rules: service/forecast.py)."""
    service = svc(state)
    body = forecast_workload(service, data)
    return json_response(request, body, version=service.catalog.version, max_age_s=0)


FORECAST_ROUTES = [post_forecast]
