"""The application layer's pricing: a workload priced on each model at a moment, and a forecast.

The shapes of an estimate and a forecast request and answer live here, as the
HTTP handlers and the CLI share them; the arithmetic is service.estimate's and
service.forecast's. No HTTP types: an invalid workload raises an
:class:`ApiError` (a problem detail).
"""

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

import anyio.to_thread
import msgspec

from ratecard.service.catalog import ModelKey
from ratecard.service.context import Service
from ratecard.service.errors import ApiError, bad_parameter
from ratecard.service.estimate import (
    MAX_REQUESTS_PER_PERIOD,
    STANDARD_TIER,
    MAX_TOKENS_PER_REQUEST,
    ModelEstimate,
    NoRatesError,
    TierEstimate,
    TierGap,
    Workload,
    WorkloadError,
    estimate_model,
    rank_estimates,
)
from ratecard.service.batch_limits import BYTES_PER_INPUT_TOKEN, JSONL_OVERHEAD_BYTES_PER_REQUEST
from ratecard.service.forecast import (
    DEFAULT_MONTHS,
    MAX_MONTHS,
    ForecastPlan,
    ModelForecast,
    forecast_model,
    month_label,
    month_starts,
    requests_for_spend,
)
from ratecard.service.freshness import ProviderFreshness, freshness_of
from ratecard.service.queries import moment, rates_for, resolve, tier_knowledge
from ratecard.service.rates import Rate
from ratecard.service.schemas import Out
from ratecard.service.tokens import (
    MAX_TEXT_BYTES,
    MAX_TEXT_CHARS,
    THREAD_OVER_CHARS,
    TextCounter,
    TokenCount,
    TokenCountError,
    check_text,
    count_tokens,
)
from ratecard.service.workload import MAX_BATCH_BYTES_PER_REQUEST


MAX_MODELS = 20
BATCH_BYTES_DESCRIPTION = (
    "The weight of one request's line in a batch input file, in bytes, for the batch plan; default an "
    f"estimate: input_tokens x {BYTES_PER_INPUT_TOKEN} + {JSONL_OVERHEAD_BYTES_PER_REQUEST} (the JSONL envelope)."
)


class EstimateRequest(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """A workload: tokens per request, volume per period, and the models to price it on."""

    models: Annotated[list[str], msgspec.Meta(
        min_length=1, max_length=MAX_MODELS,
        description=f"Models as `model` or `provider/model`, 1 to {MAX_MODELS}; an item may be a comma list "
                    "(`[\"gpt-4o,claude-sonnet-4-5\"]` is two models).")]
    input_tokens: Annotated[int, msgspec.Meta(ge=0, le=MAX_TOKENS_PER_REQUEST,
                                              description="Prompt tokens per request (the whole prompt).")] | None = None
    text: Annotated[str, msgspec.Meta(max_length=MAX_TEXT_CHARS,
                                      description="A prompt to count with each model's tokenizer, "
                                      "instead of input_tokens.")] | None = None
    cached_input_tokens: Annotated[int, msgspec.Meta(ge=0, le=MAX_TOKENS_PER_REQUEST,
                                                     description="Of the prompt, tokens read from cache.")] = 0
    cache_write_tokens: Annotated[int, msgspec.Meta(ge=0, le=MAX_TOKENS_PER_REQUEST,
                                                    description="Of the prompt, tokens written to cache.")] = 0
    cache_ttl: Literal["5m", "1h"] = "5m"
    output_tokens: Annotated[int, msgspec.Meta(ge=0, le=MAX_TOKENS_PER_REQUEST,
                                               description="Output tokens per request.")] = 0
    requests: Annotated[int, msgspec.Meta(ge=0, le=MAX_REQUESTS_PER_PERIOD, description="Requests per period.")] = 1
    period: Literal["day", "week", "month"] = "month"
    tiers: list[str] | None = None
    as_of: Annotated[str, msgspec.Meta(description="Price at this date or ISO-8601 time (past or announced future), "
                                       "as in `/v1/prices?as_of=`.")] | None = None
    version: Annotated[int, msgspec.Meta(ge=1, description="Price as the catalog stood at this version.")] | None = None
    # Checked (0 to 100) by validate_workload: msgspec cannot bound a Decimal.
    discount_percent: Decimal = Decimal(0)
    batch_bytes_per_request: Annotated[int, msgspec.Meta(
        ge=1, le=MAX_BATCH_BYTES_PER_REQUEST, description=BATCH_BYTES_DESCRIPTION)] | None = None


class EstimateResponse(Out):
    """Estimates ranked cheapest model first; within a model, tiers in standard, batch, flex, priority order."""

    catalog_version: int
    as_of: datetime
    requests: int
    period: str
    estimates: list[TierEstimate]
    warnings: list[str]
    # Tiers asked for, or known from a model's history, that have no price at `as_of`: `not_offered`
    # (a page or cited source says so) or `unknown` (nothing recorded covers the moment), with the reason.
    unpriced: list[TierGap] = []
    # Per provider priced: when its prices were last confirmed by reading its source, and whether stale.
    freshness: list[ProviderFreshness] = []


def invalid_workload(field: str, reason: str) -> ApiError:
    """A 400 naming the workload field that is wrong."""
    return bad_parameter(field, reason, slug="invalid-workload", title="Invalid workload")


class PricedWorkload(msgspec.Struct, frozen=True):
    """A workload priced on each model that had prices, ranked cheapest first, not yet written out.

    ``models`` holds each model's estimate with the input tokens it was priced at (counted per model when the workload gave ``text``)
    and the notes to put before its tiers' warnings.
    """

    models: list[tuple[ModelEstimate, int, list[str]]]
    warnings: list[str]
    at: datetime
    version: int
    unpriced: list[TierGap] = []
    freshness: list[ProviderFreshness] = []
    stale: list[str] = []  # the stale sources' warnings, after the others


def price_workload(service: Service, request: EstimateRequest) -> PricedWorkload:
    """Resolve the models, count text if given, price each model at the moment asked for, and rank."""
    if request.input_tokens is None and request.text is None:
        raise invalid_workload("input_tokens", "give input_tokens or text")
    if request.input_tokens is not None and request.text is not None:
        raise invalid_workload("text", "give input_tokens or text, not both")
    at, version = moment(service, request.as_of, request.version)
    keys = resolve_models(service, request.models)
    results: dict[ModelKey, tuple[ModelEstimate, int, list[str]]] = {}
    warnings: list[str] = []
    no_prices: list[TierGap] = []  # the tiers of models with no price at all at the moment
    workloads: dict[int | None, Workload] = {}  # by input_tokens: one per request unless text is counted per model
    counter = None
    if request.text is not None:
        try:
            counter = TextCounter(request.text)  # tokenizes the text once per encoding, not once per model
        except TokenCountError as exc:
            raise invalid_workload("text", str(exc)) from None
    for key in keys:
        input_tokens, notes = request.input_tokens, []
        if counter is not None:
            counted = counter.count(key[0], key[1])
            input_tokens = counted.tokens
            if not counted.exact:
                notes.append(f"input_tokens {counted.tokens} is an approximation ({counted.encoding}); "
                             f"{key[0]} does not publish its tokenizer")
        try:
            workload = workloads.get(input_tokens)
            if workload is None:
                workload = workloads[input_tokens] = Workload(  # validated as it is built
                    input_tokens=input_tokens, cached_input_tokens=request.cached_input_tokens,
                    cache_write_tokens=request.cache_write_tokens, cache_ttl=request.cache_ttl,
                    output_tokens=request.output_tokens, requests=request.requests, period=request.period,
                    discount_percent=request.discount_percent, batch_bytes_per_request=request.batch_bytes_per_request,
                )
            rates = rates_for(service, at, version, key)
            known, note = tier_knowledge(service, key, at, version)
            if not rates:  # unknown, never "not offered": say when its prices are recorded
                warnings.append(f"{key[0]}/{key[1]} had no prices in force at {at.isoformat()}:"
                                f" no price is recorded for it{note(STANDARD_TIER)}")
                no_prices.extend(TierGap(provider=key[0], model=key[1], tier=tier, state="unknown",
                                         reason=f"no {tier} price is recorded for {key[0]}/{key[1]}{note(tier)}")
                                 for tier in (request.tiers or known or [STANDARD_TIER]))
                continue
            estimate = estimate_model(tuple(rates), workload, tiers=request.tiers, known_tiers=known, gap_note=note)
        except WorkloadError as exc:
            raise invalid_workload(exc.field, exc.reason) from None
        except NoRatesError as exc:
            warnings.append(str(exc))
            continue
        warnings.extend(estimate.warnings)
        results[(estimate.provider, estimate.model)] = (estimate, input_tokens, notes)
    ranked = [results[(e.provider, e.model)] for e in rank_estimates([r[0] for r in results.values()])]
    fresh = freshness_of(service, sorted({key[0] for key in keys}))
    return PricedWorkload(models=ranked, warnings=warnings, at=at, version=version or service.catalog.version,
                          unpriced=[gap for r in ranked for gap in r[0].unpriced] + no_prices, freshness=fresh,
                          stale=[f.warning for f in fresh if f.warning])


def estimate_workload(service: Service, request: EstimateRequest) -> EstimateResponse:
    """The answer to an estimate request: every tier of each priced model, cheapest model first."""
    priced = price_workload(service, request)
    out = []
    for estimate, _, notes in priced.models:
        for tier in estimate.tiers:
            # The notes of a counted text come first (a copy: the tier is the estimator's).
            out.append(msgspec.structs.replace(tier, warnings=notes + tier.warnings) if notes else tier)
    return EstimateResponse(catalog_version=priced.version, as_of=priced.at, requests=request.requests,
                            period=request.period, estimates=out, warnings=priced.warnings + priced.stale,
                            unpriced=priced.unpriced, freshness=priced.freshness)


_RESOLVED = ("estimate", "resolved-names")  # this module's entry in the snapshot's memo


_RESOLVED_MAX = 4096  # names come from clients: bound what one snapshot remembers


def model_names(values: Iterable[str]) -> list[str]:
    """Model names from repeated values and comma lists: ``["gpt-4o,o3", "o1"]`` is three names.

    No model id, alias or display name holds a comma (a test checks the
    bundled catalog), so a comma only ever separates names. Blank items (a
    trailing comma) are dropped and spaces around a name are not part of it.
    """
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


def resolve_models(service: Service, names: list[str]) -> list[ModelKey]:
    """The distinct models ``names`` resolve to, in order; a 404/400 problem for the first that does not.

    ``names`` may hold comma lists (:func:`model_names`); 1 to MAX_MODELS names in all.

    A name resolves the same way for as long as a snapshot lives, so each snapshot
    remembers the names it has resolved (normalising a name and looking up its
    candidates costs more than the rest of resolving three models). Only names that
    resolved are kept, so an unknown name still gets its suggestions every time.
    """
    if any("," in name for name in names):
        names = model_names(names)
    if not names or len(names) > MAX_MODELS:
        raise invalid_workload("models", f"name 1 to {MAX_MODELS} models (as a comma list or repeated), "
                                         f"not {len(names)}")
    memo: dict[str, ModelKey] = service.catalog.memo.setdefault(_RESOLVED, {})  # type: ignore[assignment]
    keys: list[ModelKey] = []
    for name in names:
        key = memo.get(name)
        if key is None:
            key = resolve(service, name)
            if len(memo) >= _RESOLVED_MAX:
                memo.clear()
            memo[name] = key
        if key not in keys:
            keys.append(key)
    return keys


async def estimate_off_the_loop(service: Service, request: EstimateRequest) -> EstimateResponse:
    """``estimate_workload``, in a worker thread when it reads SQLite or counts a long ``text``.

    Prices at another moment than now come from SQLite, which is never called on the event
    loop; counting is CPU-bound (tiktoken releases the GIL), and a prompt of up to a million
    characters counted on the loop would stall every other request meanwhile.
    """
    if request.text is not None and len(request.text) > THREAD_OVER_CHARS:
        with count_slot(service):
            return await service.store.run(estimate_workload, service, request)
    if request.as_of is not None or request.version is not None:
        return await service.store.run(estimate_workload, service, request)
    return estimate_workload(service, request)


@contextmanager
def count_slot(service: Service) -> Iterator[None]:
    """Hold one of the few slots for counting a long text; a 429 problem with Retry-After when none is free."""
    if not service.count_slots.take():
        raise ApiError(429, "busy-counting", "Too many texts being counted",
                       f"{service.settings.max_concurrent_counts} long texts are being counted; try again shortly",
                       retry_after_s=service.settings.count_retry_after_s)
    try:
        yield
    finally:
        service.count_slots.give_back()


async def count_text(service: Service, provider: str, model: str, text: str) -> TokenCount:
    """``text`` counted with ``model``'s tokenizer: a long one in a worker thread, holding a count slot.

    TokenCountError (a text over the limits) is for the caller to answer.
    """
    if len(text) <= THREAD_OVER_CHARS:
        return count_tokens(provider, model, text)
    check_text(text)  # refused before it takes a slot
    with count_slot(service):
        return await anyio.to_thread.run_sync(count_tokens, provider, model, text)


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


def _forecast_problem(field: str, reason: str) -> ApiError:
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
        raise _forecast_problem(exc.field, exc.reason) from None
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


class TokensRequest(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """A text to count, and the model whose tokenizer counts it."""

    model: Annotated[str, msgspec.Meta(min_length=1, max_length=200,
                                       description="`model` or `provider/model`, e.g. `gpt-4o`.")]
    text: Annotated[str, msgspec.Meta(max_length=MAX_TEXT_CHARS,
                                      description=f"The text to count, at most {MAX_TEXT_CHARS:,} characters "
                                      f"and {MAX_TEXT_BYTES:,} bytes of UTF-8.")]


class TokensResponse(Out):
    """The count, the encoding that made it, and whether that is the model's own tokenizer."""

    provider: str
    model: str
    tokens: int
    characters: int
    encoding: str
    exact: bool
    note: str | None = None


def invalid_text(exc: TokenCountError) -> ApiError:
    """The 400 for a text the counter refuses (too long in characters or bytes)."""
    return bad_parameter("text", str(exc), slug="invalid-text", title="Invalid text")


def tokens_response(provider: str, model: str, text: str, counted: TokenCount) -> TokensResponse:
    """The answer to a tokens request once ``text`` is counted: the count, and a note when it is approximate."""
    note = None if counted.exact else (
        f"approximate: counted with {counted.encoding}; {provider} does not publish the tokenizer of {model}"
        if provider != "openai" else f"approximate: tiktoken does not know {model}; counted with {counted.encoding}"
    )
    return TokensResponse(provider=provider, model=model, tokens=counted.tokens, characters=len(text),
                          encoding=counted.encoding, exact=counted.exact, note=note)


def tokens_answer(service: Service, data: TokensRequest) -> TokensResponse:
    """The answer to a tokens request, counted on the calling thread (``ratecard tokens``); a 404/400 problem if invalid.

    ``POST /v1/tokens`` counts through :func:`count_text` instead, which bounds long counts.
    """
    provider, model = resolve(service, data.model)
    try:
        counted = count_tokens(provider, model, data.text)
    except TokenCountError as exc:
        raise invalid_text(exc) from None
    return tokens_response(provider, model, data.text, counted)
