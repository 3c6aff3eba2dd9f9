"""Estimate endpoints: what a workload costs on every tier of one or more models.

``POST /v1/estimate`` takes a JSON body; ``GET /v1/estimate`` the same fields
as query parameters, so calculator pages get cacheable answers. Both price
from the in-memory snapshot unless ``as_of`` / ``version`` ask for another
moment.

Several models are written one way everywhere: ``models``, as a comma list or
repeated (``models=gpt-4o,claude-sonnet-4-5`` or ``models=gpt-4o&models=...``;
the GET also takes ``model``, its older name). :func:`resolve_models` reads
both forms (:func:`model_names`) for every endpoint and command that takes
several models.
"""

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

import anyio.to_thread
import msgspec
from litestar import Request, Response, get, post
from litestar.openapi.spec import Example
from litestar.params import Body, Parameter

from service.app import Service
from service.catalog import ModelKey
from service.estimate import (
    STANDARD_TIER,
    Line,
    MAX_REQUESTS_PER_PERIOD,
    MAX_TOKENS_PER_REQUEST,
    ModelEstimate,
    NoRatesError,
    TierEstimate,
    TierGap,
    Workload,
    WorkloadError,
    estimate_with_bills,
    rank_estimates,
)
from service.problems import ApiError, bad_parameter, problem_responses
from service.batch_limits import BYTES_PER_INPUT_TOKEN, JSONL_OVERHEAD_BYTES_PER_REQUEST, BatchPlan
from service.workload import MAX_BATCH_BYTES_PER_REQUEST
from service.rate_index import Bill
from service.responses import encode, json_response
from service.routes import AsOf, Version, epoch_salt, moment, rates_for, resolve, svc, tier_knowledge
from service.freshness import ProviderFreshness, freshness_of
from service.schemas import Out
from service.tokens import MAX_TEXT_CHARS, THREAD_OVER_CHARS, TokenCountError, count_tokens

MAX_MODELS = 20
# How long a client may reuse an answer: a GET (priced now: until the day's prices change, by
# its ETag) for a minute; a POST, which shared caches do not keep anyway, not at all.
GET_MAX_AGE_S = 60
POST_MAX_AGE_S = 0
DISCOUNT_DESCRIPTION = "A negotiated discount in percent (0 to 100), applied last."
BATCH_BYTES_DESCRIPTION = (
    "The weight of one request's line in a batch input file, in bytes, for the batch plan; default an "
    f"estimate: input_tokens x {BYTES_PER_INPUT_TOKEN} + {JSONL_OVERHEAD_BYTES_PER_REQUEST} (the JSONL envelope)."
)
MODELS_DESCRIPTION = (
    f"Models to price, 1 to {MAX_MODELS}, each `model` or `provider/model`: a comma list "
    "(`models=gpt-4o,claude-sonnet-4-5`, the documented form) or the parameter repeated "
    "(`models=gpt-4o&models=claude-sonnet-4-5`); both forms may be mixed."
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


# The DESIGN's worked example (GPT-4o at $2.50/$10: $65.00 standard, $32.50 batch) and a past-moment one.
ESTIMATE_EXAMPLES = [
    Example(summary="5,000 requests a month of 2,000 in + 800 out on GPT-4o and GPT-4o mini",
            value={"models": ["gpt-4o", "gpt-4o-mini"], "input_tokens": 2000, "output_tokens": 800,
                   "requests": 5000, "period": "month"}),
    Example(summary="o3 priced on 2025-06-01, before its price cut",
            value={"models": ["openai/o3"], "input_tokens": 400, "output_tokens": 100, "requests": 100000,
                   "period": "month", "tiers": ["standard"], "as_of": "2025-06-01"}),
    Example(summary="Anthropic prompt caching: 10,000 of 12,000 prompt tokens read from cache",
            value={"models": ["claude-sonnet-4-5"], "input_tokens": 12000, "cached_input_tokens": 10000,
                   "output_tokens": 500, "requests": 2000, "period": "day"}),
]


class SavingsOut(Out):
    """What this tier saves against standard per period (negative: it costs more)."""

    usd: Decimal
    percent: Decimal | None


class BatchPlanOut(Out):
    """How many batch jobs the volume needs under the provider's per-batch limits, and how to split it.

    ``limited_by`` ("requests" or "bytes") names the limit that decides
    ``jobs_per_period``; ``max_requests_per_batch`` is null where the
    provider states only a size limit. ``estimated_bytes_per_request`` is
    the request's weight in the input file (``bytes_per_request_given``:
    the request's ``batch_bytes_per_request``, else input_tokens x 4 + 300).
    ``max_requests_per_job`` is what one job holds under both limits;
    ``jobs_per_day`` jobs of about ``requests_per_job`` requests send the
    period's volume day by day. ``note`` says it in words; ``url`` is the
    provider's page stating the limits.
    """

    jobs_per_period: int
    max_requests_per_batch: Annotated[int | None, msgspec.Meta(
        description="The provider's limit on requests in one batch job; null where it states only a size limit.")]
    max_bytes_per_batch: int
    estimated_bytes_per_request: Annotated[int, msgspec.Meta(
        description="Input-file bytes of one request: batch_bytes_per_request when given, else input_tokens x "
                    f"{BYTES_PER_INPUT_TOKEN} + {JSONL_OVERHEAD_BYTES_PER_REQUEST}.")]
    limited_by: Annotated[str, msgspec.Meta(
        description="The limit that decides jobs_per_period: `requests` (the count per batch) or `bytes` (its size).")]
    url: str
    bytes_per_request_given: Annotated[bool, msgspec.Meta(
        description="Whether estimated_bytes_per_request is the request's batch_bytes_per_request (else estimated).")]
    max_requests_per_job: Annotated[int, msgspec.Meta(
        description="The most requests one batch job holds under both the count and the size limit.")]
    jobs_per_day: Annotated[int, msgspec.Meta(
        description="Jobs a day that send the period's requests spread evenly over its days (a month is 365/12).")]
    requests_per_job: Annotated[int, msgspec.Meta(
        description="Requests in each of the jobs_per_day jobs, rounded up.")]
    note: Annotated[str, msgspec.Meta(
        description="The plan in words: the job count, the limit that decides it with its figures, the daily split.")]


class EstimateOut(Out):
    """The workload priced on one tier of one model."""

    provider: str
    model: str
    tier: str
    min_prompt_tokens: int
    input_tokens: int
    per_request: Decimal
    per_1k_requests: Decimal
    per_period: Decimal
    per_year: Decimal
    period: str
    lines: list[Line]  # the estimator's own line items, as they are
    savings_vs_standard: SavingsOut | None
    valid_from: datetime
    source: list[str]
    warnings: list[str]
    batch_plan: BatchPlanOut | None = None


class EstimateResponse(Out):
    """Estimates ranked cheapest model first; within a model, tiers in standard, batch, flex, priority order."""

    catalog_version: int
    as_of: datetime
    requests: int
    period: str
    estimates: list[EstimateOut]
    warnings: list[str]
    # Tiers asked for, or known from a model's history, that have no price at `as_of`: `not_offered`
    # (a page or cited source says so) or `unknown` (nothing recorded covers the moment), with the reason.
    unpriced: list[TierGap] = []
    # Per provider priced: when its prices were last confirmed by reading its source, and whether stale.
    freshness: list[ProviderFreshness] = []


def _problem(field: str, reason: str) -> ApiError:
    return bad_parameter(field, reason, slug="invalid-workload", title="Invalid workload")


class PricedWorkload(msgspec.Struct, frozen=True):
    """A workload priced on each model that had prices, ranked cheapest first, not yet written out.

    ``models`` holds each model's estimate with the bills of its tiers (in the same order),
    the input tokens it was priced at (counted per model when the workload gave ``text``)
    and the notes to put before its tiers' warnings.
    """

    models: list[tuple[ModelEstimate, list[Bill], int, list[str]]]
    warnings: list[str]
    at: datetime
    version: int
    unpriced: list[TierGap] = []
    freshness: list[ProviderFreshness] = []
    stale: list[str] = []  # the stale sources' warnings, after the others


def price_workload(service: Service, request: EstimateRequest) -> PricedWorkload:
    """Resolve the models, count text if given, price each model at the moment asked for, and rank."""
    if request.input_tokens is None and request.text is None:
        raise _problem("input_tokens", "give input_tokens or text")
    if request.input_tokens is not None and request.text is not None:
        raise _problem("text", "give input_tokens or text, not both")
    at, version = moment(service, request.as_of, request.version)
    keys = resolve_models(service, request.models)
    results: dict[ModelKey, tuple[ModelEstimate, list[Bill], int, list[str]]] = {}
    warnings: list[str] = []
    no_prices: list[TierGap] = []  # the tiers of models with no price at all at the moment
    workloads: dict[int | None, Workload] = {}  # by input_tokens: one per request unless text is counted per model
    for key in keys:
        input_tokens, notes = request.input_tokens, []
        if request.text is not None:
            try:
                counted = count_tokens(key[0], key[1], request.text)
            except TokenCountError as exc:
                raise _problem("text", str(exc)) from None
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
            estimate, bills = estimate_with_bills(tuple(rates), workload, tiers=request.tiers, known_tiers=known,
                                                  gap_note=note)
        except WorkloadError as exc:
            raise _problem(exc.field, exc.reason) from None
        except NoRatesError as exc:
            warnings.append(str(exc))
            continue
        warnings.extend(estimate.warnings)
        results[(estimate.provider, estimate.model)] = (estimate, bills, input_tokens, notes)
    ranked = [results[(e.provider, e.model)] for e in rank_estimates([r[0] for r in results.values()])]
    fresh = freshness_of(service, sorted({key[0] for key in keys}))
    return PricedWorkload(models=ranked, warnings=warnings, at=at, version=version or service.catalog.version,
                          unpriced=[gap for r in ranked for gap in r[0].unpriced] + no_prices, freshness=fresh,
                          stale=[f.warning for f in fresh if f.warning])


def estimate_workload(service: Service, request: EstimateRequest) -> EstimateResponse:
    """The answer to an estimate request as structs: what :func:`render_estimate` writes as JSON."""
    priced = price_workload(service, request)
    out = []
    for estimate, _, input_tokens, notes in priced.models:
        for tier in estimate.tiers:
            out.append(_estimate_out(tier, input_tokens, notes))
    return EstimateResponse(catalog_version=priced.version, as_of=priced.at, requests=request.requests,
                            period=request.period, estimates=out, warnings=priced.warnings + priced.stale,
                            unpriced=priced.unpriced, freshness=priced.freshness)


def render_estimate(service: Service, request: EstimateRequest) -> bytes:
    """The answer to an estimate request, written as JSON: the bytes encoding :func:`estimate_workload` gives.

    A tier's JSON is the same for every workload of one bill but for its figures, so it is
    encoded once per bill with a hole for each figure (``_tier_template``), and each answer
    fills the holes from the TierEstimate: the API's EstimateOut is never built and encoded.
    A test holds the two paths to the same bytes for every bundled model over varied workloads.
    """
    priced = price_workload(service, request)
    tiers = ",".join([_tier_json(tier, bill, input_tokens, notes)
                      for estimate, bills, input_tokens, notes in priced.models
                      for tier, bill in zip(estimate.tiers, bills)])
    outline = encode(EstimateResponse(
        catalog_version=priced.version, as_of=priced.at, requests=request.requests, period=request.period,
        estimates=_MARK,  # type: ignore[arg-type]  # the tiers go in its place, already written
        warnings=priced.warnings + priced.stale, unpriced=priced.unpriced, freshness=priced.freshness,
    ))
    before, after = outline.split(b"\0")
    return b"".join((before, b"[", tiers.encode(), b"]", after))


# Marks a figure's place in a tier's JSON, and the tiers' place in the answer's. JSON strings
# carry a NUL byte escaped, so a raw one can only be a mark.
_MARK = msgspec.Raw(b"\0")
_TEMPLATES: dict[tuple[object, str, bool, tuple | None], str] = {}
_PLAN_MARKS = 6  # a batch plan's figures and note that vary with the workload
_TEMPLATES_MAX = 4096


def _tier_template(tier: TierEstimate, bill: Bill) -> str:
    """A tier's EstimateOut as JSON with ``%s`` for each figure, encoded once per bill and period.

    A bill fixes the rest of the answer (tier, rates, provenance, context level, lines).
    Whether there are savings and a batch plan follows from the model's rates too, but is
    part of the key so that a template is only ever filled for the shape it was encoded for;
    so are the plan's limits and what limits it, leaving its counts and note to fill.
    """
    saves, plan = tier.savings_vs_standard is not None, tier.batch_plan
    limits = (plan.limited_by, plan.max_requests_per_batch, plan.max_bytes_per_batch, plan.url,
              plan.bytes_per_request_given) if plan else None
    key = (bill, tier.period, saves, limits)
    template = _TEMPLATES.get(key)
    if template is not None:
        return template
    mark: Any = _MARK
    prototype = EstimateOut(
        provider=tier.provider, model=tier.model, tier=tier.tier, min_prompt_tokens=tier.min_prompt_tokens,
        input_tokens=mark, per_request=mark, per_1k_requests=mark, per_period=mark, per_year=mark, period=tier.period,
        lines=[msgspec.structs.replace(line, tokens=mark, cost_usd=mark) for line in tier.lines],
        savings_vs_standard=SavingsOut(usd=mark, percent=mark) if saves else None,
        valid_from=tier.valid_from, source=tier.source_ids, warnings=mark,
        batch_plan=msgspec.structs.replace(_batch_plan_out(plan), jobs_per_period=mark, estimated_bytes_per_request=mark,
                                           max_requests_per_job=mark, jobs_per_day=mark, requests_per_job=mark,
                                           note=mark) if plan else None,
    )
    text = encode(prototype).decode()
    marks = 6 + 2 * len(tier.lines) + 2 * saves + _PLAN_MARKS * (plan is not None)
    if text.count("\0") != marks:  # fields this module does not know: never put a figure in the wrong place
        raise AssertionError(f"{text.count(chr(0))} marks in a tier template, expected {marks}")
    template = text.replace("%", "%%").replace("\0", "%s")
    if len(_TEMPLATES) >= _TEMPLATES_MAX:
        _TEMPLATES.clear()
    _TEMPLATES[key] = template
    return template


def _tier_json(tier: TierEstimate, bill: Bill, input_tokens: int, notes: list[str]) -> str:
    """One tier's EstimateOut as JSON: its template filled with this workload's figures.

    A Decimal is written as ``str()`` writes it, which is how the encoder writes it as a
    JSON number (both give the to-scientific-string form; a test checks they agree).
    """
    values: list[object] = [input_tokens, tier.usd_per_request, tier.usd_per_1k_requests, tier.usd_per_period,
                            tier.usd_per_year]
    for line in tier.lines:
        values.append(line.tokens)
        values.append(line.cost_usd)
    saved = tier.savings_vs_standard
    if saved is not None:
        values.append(saved.usd_per_period)
        values.append("null" if saved.percent is None else saved.percent)
    warnings = notes + tier.warnings if notes else tier.warnings
    values.append(encode(warnings).decode() if warnings else "[]")
    plan = tier.batch_plan
    if plan is not None:  # in BatchPlanOut's field order
        values.append(plan.jobs_per_period)
        values.append(plan.estimated_bytes_per_request)
        values.append(plan.max_requests_per_job)
        values.append(plan.jobs_per_day)
        values.append(plan.requests_per_job)
        values.append(encode(plan.note).decode())
    return _tier_template(tier, bill) % tuple(values)


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
        raise _problem("models", f"name 1 to {MAX_MODELS} models (as a comma list or repeated), not {len(names)}")
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


async def estimate_off_the_loop(service: Service, request: EstimateRequest) -> bytes:
    """``render_estimate``, in a worker thread when a long ``text`` must be counted for each model.

    Counting is CPU-bound (tiktoken releases the GIL); a prompt of up to a million characters
    counted on the event loop would stall every other request meanwhile.
    """
    if request.text is not None and len(request.text) > THREAD_OVER_CHARS:
        return await anyio.to_thread.run_sync(render_estimate, service, request)
    return render_estimate(service, request)


def _estimate_out(t: TierEstimate, input_tokens: int, notes: list[str]) -> EstimateOut:
    """One tier's estimate in the API's shape.

    The TierEstimate is dropped once shaped, so its lists are handed on rather than
    copied. ``batch_plan`` is added only when there is one: a call with 16 keyword
    arguments goes through a dict in CPython and costs about three times one with 15.
    """
    saved = t.savings_vs_standard
    out = EstimateOut(
        provider=t.provider, model=t.model, tier=t.tier, min_prompt_tokens=t.min_prompt_tokens,
        input_tokens=input_tokens, per_request=t.usd_per_request, per_1k_requests=t.usd_per_1k_requests,
        per_period=t.usd_per_period, per_year=t.usd_per_year, period=t.period, lines=t.lines,
        savings_vs_standard=None if saved is None else SavingsOut(usd=saved.usd_per_period, percent=saved.percent),
        valid_from=t.valid_from, source=t.source_ids, warnings=notes + t.warnings if notes else t.warnings,
    )
    plan = t.batch_plan
    if plan is None:
        return out
    return msgspec.structs.replace(out, batch_plan=_batch_plan_out(plan))


def _batch_plan_out(plan: BatchPlan) -> BatchPlanOut:
    return BatchPlanOut(
        jobs_per_period=plan.jobs_per_period, max_requests_per_batch=plan.max_requests_per_batch,
        max_bytes_per_batch=plan.max_bytes_per_batch, estimated_bytes_per_request=plan.estimated_bytes_per_request,
        limited_by=plan.limited_by, url=plan.url, bytes_per_request_given=plan.bytes_per_request_given,
        max_requests_per_job=plan.max_requests_per_job, jobs_per_day=plan.jobs_per_day,
        requests_per_job=plan.requests_per_job, note=plan.note,
    )


def _fast_path(app):
    """The estimate routes' middleware (service.fast_path imports this module, so it is imported here)."""
    from service.fast_path import EstimateFastPath

    return EstimateFastPath(app)


@post("/v1/estimate", summary="Estimate a workload's cost (JSON body)", tags=["estimate"], status_code=200,
      responses=problem_responses(404, 413), middleware=[_fast_path])
async def post_estimate(
    request: Request,
    data: Annotated[EstimateRequest, Body(description="A workload and the models to price it on.",
                                          examples=ESTIMATE_EXAMPLES)],
) -> Response[EstimateResponse]:
    """Price a workload on every tier of each model: per request, per 1k requests, per period, per year."""
    service = svc(request.app.state)  # not a `state` parameter: Litestar injecting one costs ~7 µs a request
    body = await estimate_off_the_loop(service, data)
    return json_response(request, msgspec.Raw(body), version=service.catalog.version, max_age_s=POST_MAX_AGE_S)


@get("/v1/estimate", summary="Estimate a workload's cost (query parameters, cacheable)", tags=["estimate"],
     responses=problem_responses(404), middleware=[_fast_path])
async def get_estimate(
    request: Request,
    models: Annotated[list[str] | None, Parameter(description=MODELS_DESCRIPTION, examples=[
        Example(value=["gpt-4o"]),
        Example(summary="Two models as a comma list, ranked cheapest first",
                value=["gpt-4o,anthropic/claude-sonnet-4-5"]),
        Example(summary="The same two models, repeated", value=["gpt-4o", "anthropic/claude-sonnet-4-5"])])] = None,
    model: Annotated[list[str] | None, Parameter(
        description="The older name of `models`, read the same way (a comma list or repeated); "
                    "both may be given and their models are priced together.",
        examples=[Example(summary="Repeated, as older clients send it", value=["gpt-4o", "o3"])])] = None,
    input_tokens: Annotated[int | None, Parameter(description="Prompt tokens per request (the whole prompt).",
                                                  ge=0, le=MAX_TOKENS_PER_REQUEST, examples=[Example(value=2000)])] = None,
    text: Annotated[str | None, Parameter(description="A prompt to count instead of input_tokens.",
                                          max_length=MAX_TEXT_CHARS,
                                          examples=[Example(value="Summarise this support ticket in two lines.")])] = None,
    cached_input_tokens: Annotated[int, Parameter(description="Of the prompt, tokens read from cache.",
                                                  ge=0, le=MAX_TOKENS_PER_REQUEST, examples=[Example(value=1024)])] = 0,
    cache_write_tokens: Annotated[int, Parameter(description="Of the prompt, tokens written to cache.",
                                                 ge=0, le=MAX_TOKENS_PER_REQUEST, examples=[Example(value=0)])] = 0,
    cache_ttl: Annotated[Literal["5m", "1h"], Parameter(description="Cache lifetime the writes buy: 5m or 1h.",
                                                        examples=[Example(value="1h")])] = "5m",
    output_tokens: Annotated[int, Parameter(description="Output tokens per request.",
                                            ge=0, le=MAX_TOKENS_PER_REQUEST, examples=[Example(value=800)])] = 0,
    requests: Annotated[int, Parameter(description="Requests per period.", ge=0, le=MAX_REQUESTS_PER_PERIOD,
                                       examples=[Example(value=5000)])] = 1,
    period: Annotated[Literal["day", "week", "month"], Parameter(description="The period requests are counted per.",
                                                                 examples=[Example(value="month")])] = "month",
    tier: Annotated[list[str] | None, Parameter(description="Tier to price (repeatable); default every tier offered.",
                                                examples=[Example(value=["standard", "batch"])])] = None,
    as_of: AsOf = None,
    version: Version = None,
    discount_percent: Annotated[Decimal, Parameter(
        description=DISCOUNT_DESCRIPTION, examples=[Example(value=10)],
        # The Decimal schema plugin states its own description, which Litestar keeps over `description`;
        # schema_extra is applied last, so the parameter says what it is (and its default is a number).
        schema_extra={"description": DISCOUNT_DESCRIPTION, "default": 0})] = Decimal(0),
    batch_bytes_per_request: Annotated[int | None, Parameter(
        description=BATCH_BYTES_DESCRIPTION, ge=1, le=MAX_BATCH_BYTES_PER_REQUEST,
        examples=[Example(value=12000)])] = None,
) -> Response[EstimateResponse]:
    """The GET form of the estimate, for calculator pages: same answer, cacheable by URL."""
    service = svc(request.app.state)
    body = await estimate_off_the_loop(
        service,  # resolve_models splits comma lists and checks the count
        EstimateRequest(models=[*(models or ()), *(model or ())], input_tokens=input_tokens, text=text, cached_input_tokens=cached_input_tokens,
                        cache_write_tokens=cache_write_tokens, cache_ttl=cache_ttl, output_tokens=output_tokens,
                        requests=requests, period=period, tiers=tier, as_of=as_of, version=version,
                        discount_percent=discount_percent, batch_bytes_per_request=batch_bytes_per_request),
    )
    return json_response(request, msgspec.Raw(body), version=service.catalog.version, max_age_s=GET_MAX_AGE_S,
                         etag_extra=epoch_salt(service, as_of, version))


ESTIMATE_ROUTES = [post_estimate, get_estimate]
