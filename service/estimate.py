"""What a workload costs on one model, tier by tier: rates and a workload in, Decimals out.

Pure: no clock, no database, no HTTP. The caller picks the rates of one model
in force at the moment being priced; this module only does the arithmetic of
the README's "Estimates" section:

- ``input_tokens`` is the whole prompt; ``cached_input_tokens`` and
  ``cache_write_tokens`` are parts of it, the rest is billed at ``input``;
  ``output_tokens`` at ``output``.
- Long context: a tier's context level is the largest ``min_prompt_tokens``
  that ``input_tokens`` exceeds (0 always applies); every token of the request
  is then billed at that level's rates.
- cost per request = sum(tokens x usd_per_mtok) / 1,000,000, then volume,
  then ``discount_percent`` applied last to every figure (lines included, so
  the lines of a tier always sum to its ``usd_per_request``).

Money figures are exact: never rounded, in between or at the end. The sums
run on integers counted in units of 10^-scale USD (scale fixed per model and
discount): exact by construction, independent of any Decimal context, and
cheap; each figure becomes a Decimal once, dropping trailing zeros
(65.000 -> 65, never 6.5E+1). The one rounded figure is
``Savings.percent`` (2 decimal places, half-even): a ratio, not money.

Which rate bills which tokens, with its provenance and most warnings, depends
on the rates and on the shape of a workload (which counts are zero, the cache
TTL, the prompt's context band), never on the counts themselves: the index
(service.rate_index) works it out once per shape, so an estimate is integer
sums and conversions.
"""

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Context, Decimal, Inexact, InvalidOperation

import msgspec

from ratecard.scrapers.vocabulary import CACHE_WRITE_KIND_BY_TTL, TIERS
from ratecard.service.batch_limits import BatchLimit, BatchPlan, bundled_batch_limits, plan_batches
from ratecard.service.rate_index import (
    EXACT as _EXACT,
    MAX_RATE_DECIMAL_PLACES,
    UNKNOWN,
    unpriced_state,
    Bill,
    NoRatesError,
    RateIndex,
    context_level,
    index_for,
    index_rates,
)
from ratecard.service.rates import Rate
from ratecard.service.workload import (
    MAX_REQUESTS_PER_PERIOD,
    MAX_TOKENS_PER_REQUEST,
    PERIODS_PER_YEAR,
    Workload,
    WorkloadError,
    decimal_places,
    validate_workload,
)

__all__ = [  # the workload and rate-index names live in their modules; they are part of this API too
    "BATCH_TIER",
    "MAX_RATE_DECIMAL_PLACES",
    "MAX_REQUESTS_PER_PERIOD",
    "MAX_TOKENS_PER_REQUEST",
    "PERIODS_PER_YEAR",
    "STANDARD_TIER",
    "Line",
    "ModelEstimate",
    "NoRatesError",
    "RateIndex",
    "Savings",
    "TierEstimate",
    "TierGap",
    "Workload",
    "WorkloadError",
    "estimate_model",
    "estimate_with_bills",
    "index_rates",
    "rank_estimates",
    "validate_workload",
]

STANDARD_TIER = "standard"  # the tier savings are measured against
BATCH_TIER = "batch"  # the tier that gets a batch plan
assert STANDARD_TIER in TIERS and BATCH_TIER in TIERS

_POW10_DEC = [Decimal(10**i) for i in range(200)]  # the unit of each scale
# An exact division costs about a fifth less in a 60-digit context than in EXACT's 200, and 60
# digits hold every figure of any workload but the largest ones on rates with the most decimal
# places (up to about 70 digits). Such a figure traps Inexact here (it is never rounded) and its
# tier is figured again in EXACT.
_NARROW = Context(prec=60, traps=[Inexact, InvalidOperation])


class Line(msgspec.Struct, frozen=True, kw_only=True):
    """One priced part of a request.

    ``kind`` says what the tokens are; ``rate_kind`` which rate billed them
    (they differ when a missing cache rate falls back to ``input``).
    ``cost_usd`` = tokens x usd_per_mtok / 1e6, less the workload's discount.
    ``basis`` is the rate's (published, derived, curated, witness).
    """

    kind: str
    tokens: int
    usd_per_mtok: Decimal
    cost_usd: Decimal
    basis: str
    rate_kind: str


class Savings(msgspec.Struct, frozen=True, kw_only=True):
    """What a tier saves against standard per period (negative when it costs more); ``usd`` in answers."""

    usd_per_period: Decimal = msgspec.field(name="usd")
    percent: Decimal | None  # of standard's cost, 2 places half-even; None when standard costs 0


class TierEstimate(msgspec.Struct, frozen=True, kw_only=True):
    """The cost of a workload on one tier of one model, in USD.

    ``min_prompt_tokens`` is the context level the request was billed at, ``input_tokens``
    the prompt it was priced for;
    ``usd_per_year`` is ``usd_per_period`` x PERIODS_PER_YEAR[period];
    ``valid_from`` the latest start among the rates used and ``source_ids``
    the sources they came from. ``batch_plan`` is set on the batch tier of a
    provider with known batch limits.
    """

    provider: str
    model: str
    tier: str
    min_prompt_tokens: int
    input_tokens: int
    # The API's names for the figures: the money unit is in the answer's description.
    usd_per_request: Decimal = msgspec.field(name="per_request")
    usd_per_1k_requests: Decimal = msgspec.field(name="per_1k_requests")
    usd_per_period: Decimal = msgspec.field(name="per_period")
    usd_per_year: Decimal = msgspec.field(name="per_year")
    period: str
    lines: list[Line]
    savings_vs_standard: Savings | None
    valid_from: datetime
    source_ids: list[str] = msgspec.field(name="source")
    warnings: list[str]
    batch_plan: BatchPlan | None = None


class TierGap(msgspec.Struct, frozen=True, kw_only=True):
    """A tier that could not price the workload, and why.

    ``state`` is ``not_offered`` (a page or cited source says the model lacks the
    rate) or ``unknown`` (no observation or rule covers the moment priced);
    ``reason`` names the gap ("no batch input price is recorded for
    openai/gpt-4o-mini before 2026-08-01"). Unknown is never shown as not offered.
    """

    provider: str
    model: str
    tier: str
    state: str
    reason: str


class ModelEstimate(msgspec.Struct, frozen=True, kw_only=True):
    """A workload priced on every tier of a model that offers it (or on the requested ones).

    ``warnings`` holds model-level notes: a requested tier the model does not
    offer or has no price for, or no tier able to price the workload.
    ``unpriced`` lists each tier asked for, or known from the model's history,
    that could not price it, as ``not_offered`` or ``unknown``.
    ``cheapest_tier`` is the tier with the lowest ``usd_per_period`` (None when there is none).
    """

    provider: str
    model: str
    tiers: list[TierEstimate]
    warnings: list[str]
    cheapest_tier: str | None
    unpriced: list[TierGap] = []


class _Shared:
    """What every tier of one estimate shares: the workload's counts and shape, its band, the money units.

    ``factor`` is the discount as an integer over 10^(scale - index.scale); figures are in
    units of 10^-scale USD.
    """

    __slots__ = ("counts", "shape", "band", "prompt", "period", "requests", "per_year", "factor", "scale")

    def __init__(self, workload: Workload, index: RateIndex) -> None:
        prompt, cached, written = workload.input_tokens, workload.cached_input_tokens, workload.cache_write_tokens
        output, fresh = workload.output_tokens, prompt - cached - written
        self.counts = (fresh, cached, written, output)  # in the order of service.rate_index's FRESH..OUTPUT
        write_kind = CACHE_WRITE_KIND_BY_TTL[workload.cache_ttl] if written else ""
        self.shape = (fresh > 0, cached > 0, written > 0, output > 0, write_kind)
        self.band = context_level(index.all_levels, prompt)
        self.prompt, self.period, self.requests = prompt, workload.period, workload.requests
        self.per_year = PERIODS_PER_YEAR[workload.period]
        discount = workload.discount_percent
        if not discount:
            self.factor, self.scale = 1, index.scale
            return
        # (100 - d) / 100 as an integer over 10^(places + 2).
        places = decimal_places(Decimal(discount))
        self.factor = int((100 - Decimal(discount)).scaleb(places, _EXACT))
        self.scale = index.scale + places + 2


def estimate_model(
    rates: Sequence[Rate] | RateIndex,
    workload: Workload,
    *,
    tiers: Sequence[str] | None = None,
    batch_limits: Mapping[str, BatchLimit] | None = None,
    known_tiers: Sequence[str] = (),
    gap_note: Callable[[str], str] | None = None,
) -> ModelEstimate:
    """Price ``workload`` on each tier of one model.

    ``rates`` are the model's rates in force at the moment priced, or a
    RateIndex of them (a tuple is indexed once and remembered by identity).
    ``tiers`` limits the answer to those tiers, in that order; a requested
    tier the model does not offer (or has no price for) gets a model-level
    warning and an ``unpriced`` entry, not an estimate. ``known_tiers`` are the
    tiers the model has at some moment of its history: one without a price at
    this moment is listed in ``unpriced`` even when not asked for.
    ``gap_note(tier)`` says when the tier's prices are recorded (" before
    2026-08-01"), appended to an unknown tier's reason. ``batch_limits`` maps
    provider to its limits (the bundled table when None) and drives the batch tier's plan.
    """
    return estimate_with_bills(rates, workload, tiers=tiers, batch_limits=batch_limits, known_tiers=known_tiers,
                               gap_note=gap_note)[0]


def estimate_with_bills(
    rates: Sequence[Rate] | RateIndex,
    workload: Workload,
    *,
    tiers: Sequence[str] | None = None,
    batch_limits: Mapping[str, BatchLimit] | None = None,
    known_tiers: Sequence[str] = (),
    gap_note: Callable[[str], str] | None = None,
) -> tuple[ModelEstimate, list[Bill]]:
    """:func:`estimate_model`, with the bill each tier estimate was made from, in the same order.

    A bill fixes everything in a tier's estimate but the figures and the warnings that
    carry counts, so a caller can key work that depends only on that (an answer's
    JSON template) by the bill.
    """
    index = index_for(rates)
    if tiers is not None:
        for tier in tiers:
            if tier not in TIERS:
                raise WorkloadError("tiers", f"unknown tier {tier!r}; known tiers: {', '.join(TIERS)}")
        wanted = tuple(dict.fromkeys(tiers)) if len(tiers) > 1 else tuple(tiers)
    else:
        wanted = index.tiers
        if known_tiers:
            wanted = wanted + tuple(t for t in TIERS if t in known_tiers and t not in wanted)
    shared = _Shared(workload, index)
    # Standard is billed whether asked for or not: every other tier's savings are against it.
    standard = index.bill(STANDARD_TIER, shared.band, shared.shape)
    standard_units = None
    if isinstance(standard, Bill):
        counts, standard_units = shared.counts, 0
        for _, source, _, units, _, _ in standard.lines:
            standard_units += counts[source] * units
        standard_units *= shared.factor * shared.requests
    warnings: list[str] = []
    estimates: list[TierEstimate] = []
    bills: list[Bill] = []
    unpriced: list[TierGap] = []
    for tier in wanted:
        bill = standard if tier == STANDARD_TIER else index.bill(tier, shared.band, shared.shape)
        if not isinstance(bill, Bill):
            reason = bill or f"no {tier} price is recorded for {index.provider}/{index.model}"
            state = unpriced_state(reason)
            if state == UNKNOWN and gap_note is not None:
                reason += gap_note(tier)
            unpriced.append(TierGap(provider=index.provider, model=index.model, tier=tier, state=state,
                                    reason=reason))
            if tiers is not None:  # a tier asked for by name deserves a word when it is missing
                warnings.append(reason)
            continue
        plan = None
        if tier == BATCH_TIER:
            limit = (bundled_batch_limits() if batch_limits is None else batch_limits).get(index.provider)
            if limit is not None:
                plan = plan_batches(limit, requests=workload.requests, input_tokens=workload.input_tokens,
                                    period=workload.period, bytes_per_request_given=workload.batch_bytes_per_request)
        against = None if tier == STANDARD_TIER else standard_units
        try:
            estimates.append(_estimate_tier(index, tier, bill, shared, against, plan, _NARROW.divide))
        except Inexact:  # a figure of more than 60 digits
            estimates.append(_estimate_tier(index, tier, bill, shared, against, plan, _EXACT.divide))
        bills.append(bill)
    if not estimates and tiers is None:
        warnings.append(f"no tier of {index.provider}/{index.model} has the input and output rates this workload needs")
    cheapest = None  # the first of the lowest usd_per_period, as min() would pick
    for estimate in estimates:
        if cheapest is None or estimate.usd_per_period < cheapest.usd_per_period:
            cheapest = estimate
    return ModelEstimate(
        provider=index.provider,
        model=index.model,
        tiers=estimates,
        warnings=warnings,
        cheapest_tier=cheapest.tier if cheapest else None,
        unpriced=unpriced,
    ), bills


def _estimate_tier(
    index: RateIndex,
    tier: str,
    bill: Bill,
    shared: _Shared,
    standard_units: int | None,
    plan: BatchPlan | None,
    divide: Callable[[int, Decimal], Decimal],
) -> TierEstimate:
    """Turn a tier's bill into figures for the shared counts (savings against ``standard_units`` per period).

    A figure is ``divide(units, unit)``: units x 10^-scale USD, exact (the context traps
    Inexact). An exact division takes the exponent nearest its ideal one, 0 here (integer
    over integer), so a whole figure keeps exponent 0 and any other has no trailing zeros:
    65, never 6.5E+1 or 65.000.
    """
    counts, factor, scale = shared.counts, shared.factor, shared.scale
    unit = _POW10_DEC[scale]
    lines = []
    total = 0
    for kind, source, usd_per_mtok, units, basis, rate_kind in bill.lines:
        tokens = counts[source]
        cost = tokens * units * factor
        total += cost
        lines.append(Line(kind=kind, tokens=tokens, usd_per_mtok=usd_per_mtok, cost_usd=divide(cost, unit),
                          basis=basis, rate_kind=rate_kind))
    warnings = [f"{counts[source]}{text}" for source, text in bill.fallbacks] if bill.fallbacks else []
    if bill.level:
        warnings.append(
            f"prompt of {shared.prompt} tokens is over {bill.level}: every token billed at the long-context rates"
        )
    if bill.notes:
        warnings.extend(bill.notes)
    per_request = divide(total, unit)
    per_period = total * shared.requests
    usd_per_period = divide(per_period, unit)
    savings = None
    if standard_units is not None:
        saved = standard_units - per_period
        # Half price saves as much as it costs: the figure is already there (one conversion fewer).
        usd_saved = usd_per_period if saved == per_period else divide(saved, unit)
        savings = Savings(usd_per_period=usd_saved, percent=_percent(saved, standard_units))
    return TierEstimate(
        provider=index.provider,
        model=index.model,
        tier=tier,
        min_prompt_tokens=bill.level,
        input_tokens=shared.prompt,
        usd_per_request=per_request,
        usd_per_1k_requests=divide(total * 1000, unit),
        usd_per_period=usd_per_period,
        usd_per_year=divide(per_period * shared.per_year, unit),
        period=shared.period,
        lines=lines,
        savings_vs_standard=savings,
        valid_from=bill.valid_from,
        source_ids=list(bill.source_ids),
        warnings=warnings,
        batch_plan=plan,
    )


def _percent(saved: int, of: int) -> Decimal | None:
    """100 x saved / of, rounded half-even to 2 places; None when ``of`` is 0."""
    if not of:
        return None
    hundredths, remainder = divmod(saved * 10_000, of)  # floor division, so 0 <= remainder < of
    if 2 * remainder > of or (2 * remainder == of and hundredths % 2):
        hundredths += 1
    percent = _PERCENTS.get(hundredths)
    if percent is None:
        percent = Decimal(hundredths).scaleb(-2, _EXACT)
        if -10_000 <= hundredths <= 10_000:
            _PERCENTS[hundredths] = percent
    return percent


# The percentages from -100.00 to 100.00 (almost every saving), each made once.
_PERCENTS: dict[int, Decimal] = {}


def rank_estimates(estimates: Iterable[ModelEstimate], *, tier: str | None = None) -> list[ModelEstimate]:
    """Order models cheapest first.

    A model's figure is the ``usd_per_period`` of its cheapest tier, or of
    ``tier`` when given (compare like with like: pass "standard" when batch
    latency is not acceptable). Models without that figure go last; ties are
    broken by provider then model so the order is stable.
    """

    def key(estimate: ModelEstimate) -> tuple[int, Decimal, str, str]:
        wanted = tier or estimate.cheapest_tier
        for chosen in estimate.tiers:
            if chosen.tier == wanted:
                return (0, chosen.usd_per_period, estimate.provider, estimate.model)
        return (1, _ZERO, estimate.provider, estimate.model)

    return sorted(estimates, key=key)


_ZERO = Decimal(0)

