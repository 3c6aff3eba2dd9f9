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
from service.estimate import (
    MAX_REQUESTS_PER_PERIOD,
    MAX_TOKENS_PER_REQUEST,
    STANDARD_TIER,
    NoRatesError,
    WorkloadError,
    estimate_model,
)
from service.forecast import (
    DEFAULT_MONTHS,
    MAX_MONTHS,
    ForecastPlan,
    ModelForecast,
    forecast_model,
    month_label,
    month_starts,
    requests_for_spend,
)
from service.problems import ApiError, bad_parameter, problem_responses
from service.rates import Rate
from service.responses import json_response
from service.freshness import ProviderFreshness, freshness_of
from service.routes import rates_for, resolve, svc, tier_knowledge
from service.routes_estimate import MAX_MODELS, resolve_models
from service.schemas import Out
from service.workload import Workload

Tokens = Annotated[int, msgspec.Meta(ge=0, le=MAX_TOKENS_PER_REQUEST)]


class ForecastRequest(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """A workload's monthly volume, growth and traffic mix, and the models to project it on.

    The Decimal fields are bounded in code (msgspec cannot bound a Decimal):
    growth -100 to 1000 percent, shares 0 to 1, all with at most 6 decimal places.
    """

    models: Annotated[list[str], msgspec.Meta(
        min_length=1, max_length=MAX_MODELS,
        description="Models as `model` or `provider/model`; each is projected with the whole traffic. An item "
                    "may be a comma list (`[\"gpt-4o,claude-sonnet-4-5\"]` is two models).")]
    input_tokens: Annotated[int, msgspec.Meta(ge=0, le=MAX_TOKENS_PER_REQUEST,
                                              description="Prompt tokens per request (the whole prompt).")]
    monthly_requests: Annotated[int, msgspec.Meta(
        ge=0, le=MAX_REQUESTS_PER_PERIOD,
        description="Requests in the first month; or give monthly_spend_usd instead.")] | None = None
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
    monthly_spend_usd: Annotated[Decimal, msgspec.Meta(
        description=("Instead of monthly_requests: what the workload costs a month today, in USD, on spend_model. "
                     "The first month's requests are this spend over spend_model's standard, uncached price per "
                     "request at the start month's rates, rounded half-even."))] | None = None
    spend_model: Annotated[str, msgspec.Meta(
        description="The model monthly_spend_usd is spent on, as `model` or `provider/model`; default the first "
                    "of models.")] | None = None


class SpendBasis(msgspec.Struct, frozen=True, kw_only=True):
    """How a monthly spend became the first month's requests."""

    provider: Annotated[str, msgspec.Meta(description="Provider of the model the spend is on.")]
    model: Annotated[str, msgspec.Meta(description="The model the spend is on.")]
    monthly_spend_usd: Annotated[Decimal, msgspec.Meta(description="The monthly spend given, in USD.")]
    usd_per_request: Annotated[Decimal, msgspec.Meta(
        description="The model's standard price of one request with no cache hit, in USD, at priced_at.")]
    priced_at: Annotated[datetime, msgspec.Meta(
        description="The moment whose rates priced the request: 00:00 UTC on the 1st of start_month.")]


class ForecastResponse(Out):
    """The projection of each model (in the order asked), priced month by month at the rates then in force."""

    catalog_version: int
    start_month: str
    end_month: str
    monthly_requests: Annotated[int, msgspec.Meta(
        description="Requests in the first month: as given, or worked out from monthly_spend_usd.")]
    spend: Annotated[SpendBasis | None, msgspec.Meta(
        description="How monthly_spend_usd became monthly_requests; null when monthly_requests was given.")]
    forecasts: list[ModelForecast]
    warnings: list[str]
    # Per provider projected: when its prices were last confirmed by reading its source, and whether stale.
    freshness: list[ProviderFreshness] = []


_EXAMPLE = {
    "models": ["gpt-4o"], "input_tokens": 2000, "cached_input_tokens": 1000, "output_tokens": 800,
    "start_month": "2026-12", "months": 12, "monthly_requests": 5000, "monthly_growth_percent": 10,
    "batch_share": 0.5, "cache_hit_share": 0.4, "migration_hours": 16, "hourly_rate_usd": 100,
}


def _problem(field: str, reason: str) -> ApiError:
    return bad_parameter(field, reason, slug="invalid-forecast", title="Invalid forecast")


def forecast_workload(service: Service, request: ForecastRequest) -> ForecastResponse:
    """Validate the plan, resolve the models and project each one month by month."""
    start_month = request.start_month or month_label(service.clock())
    keys = resolve_models(service, request.models)  # comma lists too, as every multi-model input
    try:
        monthly, spend = _first_month_requests(service, request, start_month, keys)
        plan = ForecastPlan(
            start_month=start_month, months=request.months,
            input_tokens=request.input_tokens, cached_input_tokens=request.cached_input_tokens,
            output_tokens=request.output_tokens, monthly_requests=monthly,
            monthly_growth_percent=request.monthly_growth_percent, batch_share=request.batch_share,
            cache_hit_share=request.cache_hit_share, migration_hours=request.migration_hours,
            hourly_rate_usd=request.hourly_rate_usd,
        )
    except WorkloadError as exc:
        raise _problem(exc.field, exc.reason) from None
    forecasts = [forecast_model(key[0], key[1], _rates_reader(service, key), plan,
                                gap_note=_gap_reader(service, key)) for key in keys]
    fresh = freshness_of(service, sorted({key[0] for key in keys}))
    # One list for every model: say which model a note is about when it does not.
    warnings = [w if w.startswith(f"{f.provider}/{f.model} ") else f"{f.provider}/{f.model}: {w}"
                for f in forecasts for w in f.warnings]
    last = month_label(month_starts(plan.start_month, plan.months)[-1])
    warnings += [f.warning for f in fresh if f.warning]
    return ForecastResponse(catalog_version=service.catalog.version, start_month=plan.start_month, end_month=last,
                            monthly_requests=plan.monthly_requests, spend=spend, forecasts=forecasts,
                            warnings=warnings, freshness=fresh)


def _first_month_requests(service: Service, request: ForecastRequest, start_month: str,
                          keys: list[ModelKey]) -> tuple[int, SpendBasis | None]:
    """The first month's requests: as given, or bought by ``monthly_spend_usd`` on ``spend_model``.

    The spend is priced at the rates in force when the first month starts
    (today's prices for the current month), every request at standard with
    no cache hit, so the first month's baseline is the spend.
    """
    if request.monthly_spend_usd is None:
        if request.monthly_requests is None:
            raise WorkloadError("monthly_requests", "required field missing (or give monthly_spend_usd)")
        if request.spend_model is not None:
            raise WorkloadError("spend_model", "only with monthly_spend_usd")
        return request.monthly_requests, None
    if request.monthly_requests is not None:
        raise WorkloadError("monthly_spend_usd", "give monthly_requests or monthly_spend_usd, not both")
    key = resolve(service, request.spend_model) if request.spend_model is not None else keys[0]
    (at,) = month_starts(start_month, 1)
    rates = tuple(rates_for(service, at, None, key))
    workload = Workload(input_tokens=request.input_tokens, output_tokens=request.output_tokens, requests=1,
                        period="month")
    try:
        estimate = estimate_model(rates, workload, tiers=[STANDARD_TIER])
    except NoRatesError as exc:
        raise WorkloadError("spend_model", f"{key[0]}/{key[1]} has no rates at {start_month}: {exc}") from None
    standard = next((t for t in estimate.tiers if t.tier == STANDARD_TIER), None)
    if standard is None:
        raise WorkloadError("spend_model", f"{key[0]}/{key[1]} has no standard rates at {start_month}")
    per_request = standard.usd_per_request
    requests = requests_for_spend(request.monthly_spend_usd, per_request)
    return requests, SpendBasis(provider=key[0], model=key[1], monthly_spend_usd=request.monthly_spend_usd,
                                usd_per_request=per_request, priced_at=at)


def _gap_reader(service: Service, key: ModelKey):
    def note(tier: str, at: datetime) -> str:
        return tier_knowledge(service, key, at, None)[1](tier)

    return note


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
    "the months until the move to batch pays back. Give `monthly_spend_usd` (and `spend_model`) instead of "
    "`monthly_requests` to start from what the workload costs a month today."
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
