"""What a workload costs on one model, tier by tier: rates and a workload in, Decimals out.

Pure: no clock, no database, no HTTP. The caller picks the rates of one model
in force at the moment being priced; this module only does the arithmetic of
DESIGN.md §4 ("Estimate semantics"):

- ``input_tokens`` is the whole prompt; ``cached_input_tokens`` and
  ``cache_write_tokens`` are parts of it, the rest is billed at ``input``;
  ``output_tokens`` at ``output``.
- Long context: a tier's context level is the largest ``min_prompt_tokens``
  that ``input_tokens`` exceeds (0 always applies); every token of the request
  is then billed at that level's rates.
- cost per request = sum(tokens x usd_per_mtok) / 1,000,000, then volume,
  then ``discount_percent`` applied last to every figure (lines included, so
  the lines of a tier always sum to its ``usd_per_request``).

Money figures are exact: no intermediate or final rounding (the arithmetic
runs in a context that raises rather than round; inputs are bounded so it
never needs to). Output figures only lose trailing zeros (65.000 -> 65).
The one rounded figure is ``Savings.percent`` (2 decimal places), a ratio.
"""

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import (
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
    localcontext,
)

import msgspec

from scrapers.vocabulary import CACHE_WRITE_KIND_BY_TTL, TIERS
from service.batch_limits import BatchLimit, BatchPlan, bundled_batch_limits, plan_batches
from service.rates import Rate

STANDARD_TIER = "standard"  # the tier savings are measured against
BATCH_TIER = "batch"  # the tier that gets a batch plan
assert STANDARD_TIER in TIERS and BATCH_TIER in TIERS

# Periods a volume may be given per, and how many make a year. Budgets count a
# year as 12 months, 52 weeks or 365 days; these disagree slightly (52 weeks =
# 364 days) and we keep each one's own convention rather than mix them.
PERIODS_PER_YEAR: dict[str, int] = {"day": 365, "week": 52, "month": 12}

TOKENS_PER_MTOK = Decimal(1_000_000)

# Bounds that keep every product exact within _MONEY's 60 digits (tokens 10
# digits, requests 13, rate ~12, year 3, discount 9): far beyond any real
# workload (the largest context windows are ~10M tokens).
MAX_TOKENS_PER_REQUEST = 1_000_000_000
MAX_REQUESTS_PER_PERIOD = 1_000_000_000_000
MAX_DISCOUNT_DECIMAL_PLACES = 6

# Money arithmetic: wide enough to be exact for bounded inputs, and loud (a
# trap, never a silent rounding) if a value ever needs more digits.
_MONEY = Context(prec=60, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow, Inexact])
_PERCENT = Context(prec=60, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow])
_PERCENT_PLACES = Decimal("0.01")
_HUNDRED = Decimal(100)
_THOUSAND = Decimal(1000)
_ONE = Decimal(1)


class WorkloadError(ValueError):
    """A workload (or estimate option) is invalid; ``field`` names the offending field."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class NoRatesError(ValueError):
    """There is nothing to estimate from: no rates, or rates of several models, or a key twice."""


class Workload(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One kind of request and how often it is made.

    Token counts are per request; ``requests`` is per ``period`` ("day",
    "week" or "month"). ``cached_input_tokens`` (cache reads) and
    ``cache_write_tokens`` (written with ``cache_ttl`` "5m" or "1h") are parts
    of ``input_tokens``. ``discount_percent`` (0-100, e.g. a negotiated
    discount) comes off every figure. Invalid values raise WorkloadError.
    """

    input_tokens: int
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    cache_ttl: str = "5m"
    output_tokens: int = 0
    requests: int = 1
    period: str = "month"
    discount_percent: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        validate_workload(self)


def validate_workload(workload: Workload) -> None:
    """Raise WorkloadError naming the first invalid field of ``workload``."""
    for field in ("input_tokens", "cached_input_tokens", "cache_write_tokens", "output_tokens"):
        _check_count(field, getattr(workload, field), MAX_TOKENS_PER_REQUEST)
    _check_count("requests", workload.requests, MAX_REQUESTS_PER_PERIOD)
    if workload.cached_input_tokens + workload.cache_write_tokens > workload.input_tokens:
        field = "cache_write_tokens" if workload.cache_write_tokens else "cached_input_tokens"
        raise WorkloadError(
            field,
            f"cached_input_tokens ({workload.cached_input_tokens}) + cache_write_tokens"
            f" ({workload.cache_write_tokens}) exceed input_tokens ({workload.input_tokens}), the whole prompt",
        )
    if workload.cache_ttl not in CACHE_WRITE_KIND_BY_TTL:
        raise WorkloadError("cache_ttl", f"must be one of {', '.join(CACHE_WRITE_KIND_BY_TTL)}")
    if workload.period not in PERIODS_PER_YEAR:
        raise WorkloadError("period", f"must be one of {', '.join(PERIODS_PER_YEAR)}")
    discount = workload.discount_percent
    if isinstance(discount, bool) or not isinstance(discount, Decimal | int):
        # A float would carry a binary fraction into money; make the caller say the digits.
        raise WorkloadError("discount_percent", f"must be a Decimal, not {type(discount).__name__}")
    discount = Decimal(discount)
    if not discount.is_finite() or not 0 <= discount <= 100:
        raise WorkloadError("discount_percent", "must be between 0 and 100")
    if discount.as_tuple().exponent < -MAX_DISCOUNT_DECIMAL_PLACES:  # type: ignore[operator]
        raise WorkloadError("discount_percent", f"at most {MAX_DISCOUNT_DECIMAL_PLACES} decimal places")


def _check_count(field: str, value: object, maximum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise WorkloadError(field, f"must be an integer, not {type(value).__name__}")
    if value < 0:
        raise WorkloadError(field, "must not be negative")
    if value > maximum:
        raise WorkloadError(field, f"must be at most {maximum:,}")


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
    """What a tier saves against standard per period (negative when it costs more)."""

    usd_per_period: Decimal
    percent: Decimal | None  # of standard's cost, 2 decimal places; None when standard costs 0


class TierEstimate(msgspec.Struct, frozen=True, kw_only=True):
    """The cost of a workload on one tier of one model.

    ``min_prompt_tokens`` is the context level the request was billed at;
    ``valid_from`` the latest start among the rates used; ``source_ids`` the
    sources those rates came from. ``usd_per_year`` is ``usd_per_period``
    times PERIODS_PER_YEAR[period].
    """

    provider: str
    model: str
    tier: str
    min_prompt_tokens: int
    usd_per_request: Decimal
    usd_per_1k_requests: Decimal
    usd_per_period: Decimal
    usd_per_year: Decimal
    period: str
    lines: list[Line]
    savings_vs_standard: Savings | None
    valid_from: datetime
    source_ids: list[str]
    warnings: list[str]
    batch_plan: BatchPlan | None = None


class ModelEstimate(msgspec.Struct, frozen=True, kw_only=True):
    """A workload priced on every tier of a model that offers it (or the requested ones).

    ``warnings`` holds model-level notes: a requested tier the model does not
    offer, or no tier able to price the workload. ``cheapest_tier`` is the
    tier with the lowest ``usd_per_period`` (None when there is none).
    """

    provider: str
    model: str
    tiers: list[TierEstimate]
    warnings: list[str]
    cheapest_tier: str | None


class RateIndex:
    """The rates of one model keyed by (tier, kind, min_prompt_tokens), built once per rate set.

    Build it with :func:`index_rates`; it is immutable by convention and safe to share.
    """

    __slots__ = ("provider", "model", "rates", "levels", "all_levels", "tiers")

    def __init__(self, provider: str, model: str, rates: dict[tuple[str, str, int], Rate]) -> None:
        self.provider = provider
        self.model = model
        self.rates = rates
        # Context levels per tier, largest first, so the first one a prompt exceeds is the one.
        by_tier: dict[str, set[int]] = {}
        for tier, _, level in rates:
            by_tier.setdefault(tier, set()).add(level)
        self.levels = {tier: tuple(sorted(levels, reverse=True)) for tier, levels in by_tier.items()}
        self.all_levels = tuple(sorted(set().union(*by_tier.values()), reverse=True))
        known = [t for t in TIERS if t in by_tier]
        self.tiers = tuple(known + sorted(t for t in by_tier if t not in TIERS))


def index_rates(rates: Sequence[Rate]) -> RateIndex:
    """Index the in-force rates of one model; raise NoRatesError on none, mixed models or a key twice."""
    if not rates:
        raise NoRatesError("no rates to estimate from")
    provider, model = rates[0].provider, rates[0].model
    keyed: dict[tuple[str, str, int], Rate] = {}
    for rate in rates:
        if (rate.provider, rate.model) != (provider, model):
            raise NoRatesError(f"rates of several models: {provider}/{model} and {rate.provider}/{rate.model}")
        key = (rate.tier, rate.kind, rate.min_prompt_tokens)
        if key in keyed:
            raise NoRatesError(f"two rates for {provider}/{model} {key}: pick the ones in force at one moment")
        keyed[key] = rate
    return RateIndex(provider, model, keyed)


# Indexes of rate tuples recently estimated, by identity: the catalog hands out
# the same tuple for a model until its prices change, so repeat estimates skip
# indexing. The entry holds the tuple itself, so its id cannot be reused while cached.
_INDEX_CACHE: dict[int, tuple[tuple[Rate, ...], RateIndex]] = {}
_INDEX_CACHE_SIZE = 4096


def _index_for(rates: Sequence[Rate] | RateIndex) -> RateIndex:
    if isinstance(rates, RateIndex):
        return rates
    if not isinstance(rates, tuple):  # a list may change under us: index it afresh
        return index_rates(rates)
    cached = _INDEX_CACHE.get(id(rates))
    if cached is not None and cached[0] is rates:
        return cached[1]
    index = index_rates(rates)
    if len(_INDEX_CACHE) >= _INDEX_CACHE_SIZE:
        _INDEX_CACHE.clear()
    _INDEX_CACHE[id(rates)] = (rates, index)
    return index


def estimate_model(
    rates: Sequence[Rate] | RateIndex,
    workload: Workload,
    *,
    tiers: Sequence[str] | None = None,
    batch_limits: Mapping[str, BatchLimit] | None = None,
) -> ModelEstimate:
    """Price ``workload`` on each tier of one model.

    ``rates`` are the model's rates in force at the moment priced (or a
    RateIndex of them, which callers may build once and reuse). ``tiers``
    limits the answer to those tiers, in that order; a requested tier the
    model does not offer gets a model-level warning instead of an estimate.
    ``batch_limits`` (per provider; the bundled table when None) drives the
    batch plan of the batch tier.
    """
    index = _index_for(rates)
    if tiers is not None:
        for tier in tiers:
            if tier not in TIERS:
                raise WorkloadError("tiers", f"unknown tier {tier!r}; known tiers: {', '.join(TIERS)}")
        wanted = tuple(dict.fromkeys(tiers))
    else:
        wanted = index.tiers
    limits = bundled_batch_limits() if batch_limits is None else batch_limits
    warnings: list[str] = []
    estimates: list[TierEstimate] = []
    with localcontext(_MONEY):
        factor = (_HUNDRED - workload.discount_percent) / _HUNDRED if workload.discount_percent else None
        standard = _estimate_tier(index, STANDARD_TIER, workload, factor, None, None)
        if not isinstance(standard, TierEstimate):
            standard = None
        for tier in wanted:
            if tier == STANDARD_TIER:
                result: TierEstimate | str | None = standard or _estimate_tier(
                    index, tier, workload, factor, None, None
                )
            else:
                limit = limits.get(index.provider) if tier == BATCH_TIER else None
                plan = plan_batches(limit, requests=workload.requests, input_tokens=workload.input_tokens) if limit else None
                result = _estimate_tier(index, tier, workload, factor, standard, plan)
            if isinstance(result, TierEstimate):
                estimates.append(result)
            elif tiers is not None:  # only a tier asked for by name is worth a word when missing
                warnings.append(result or f"{index.provider}/{index.model} does not offer the {tier} tier")
    if not estimates and tiers is None:
        warnings.append(f"no tier of {index.provider}/{index.model} prices this workload (no usable input and output rates)")
    cheapest = min(estimates, key=lambda e: e.usd_per_period, default=None)
    return ModelEstimate(
        provider=index.provider,
        model=index.model,
        tiers=estimates,
        warnings=warnings,
        cheapest_tier=cheapest.tier if cheapest else None,
    )


def _usable(rate: Rate | None) -> Rate | None:
    """The rate when it has a price (present and not not_offered), else None."""
    return rate if rate is not None and rate.usd_per_mtok is not None else None


def _estimate_tier(
    index: RateIndex,
    tier: str,
    workload: Workload,
    factor: Decimal | None,
    standard: TierEstimate | None,
    plan: BatchPlan | None,
) -> TierEstimate | str | None:
    """One tier's estimate, or why it cannot be given (a message, or None when the tier has no rates)."""
    levels = index.levels.get(tier)
    if levels is None:
        return None
    prompt = workload.input_tokens
    name = f"{index.provider}/{index.model}"
    level = next((lv for lv in levels if lv == 0 or prompt > lv), None)
    if level is None:
        return f"{name} {tier} has no base rates, only rates for prompts over {levels[-1]} tokens"
    rates = index.rates
    at_level = f" for prompts over {level} tokens" if level else ""
    input_rate = _usable(rates.get((tier, "input", level)))
    output_rate = _usable(rates.get((tier, "output", level)))
    if input_rate is None:
        return f"{name} does not offer the {tier} tier{at_level} (no input rate)"
    # An embedding model has no output rate; it can still price a workload with no output.
    if output_rate is None and workload.output_tokens:
        return f"{name} does not offer the {tier} tier{at_level} (no output rate)"

    warnings: list[str] = []
    parts: list[tuple[str, int, Rate]] = [("input", prompt - workload.cached_input_tokens - workload.cache_write_tokens, input_rate)]
    for kind, tokens in (
        ("cached_input", workload.cached_input_tokens),
        (CACHE_WRITE_KIND_BY_TTL[workload.cache_ttl], workload.cache_write_tokens),
    ):
        if tokens:
            rate = rates.get((tier, kind, level))
            if _usable(rate) is None:
                # Never invent a discount: without the tier's own rate these tokens cost full input price.
                why = "not offered" if rate is not None else "no rate published"
                warnings.append(
                    f"{tokens} {kind} tokens billed at the input rate: {tier} has no {kind} rate{at_level} ({why})"
                )
                rate = input_rate
            parts.append((kind, tokens, rate))
    if output_rate is not None:
        parts.append(("output", workload.output_tokens, output_rate))

    lines = []
    total = Decimal(0)
    for kind, tokens, rate in parts:
        usd_per_mtok = rate.usd_per_mtok
        cost = tokens * usd_per_mtok / TOKENS_PER_MTOK
        if factor is not None:
            cost *= factor
        total += cost
        lines.append(
            Line(kind=kind, tokens=tokens, usd_per_mtok=usd_per_mtok, cost_usd=_tidy(cost), basis=rate.basis, rate_kind=rate.kind)
        )
    per_period = total * workload.requests

    if level:
        warnings.append(f"prompt of {prompt} tokens is over {level}: every token billed at the long-context rates")
    top = next((lv for lv in index.all_levels if lv == 0 or prompt > lv), 0)
    if top > level:
        warnings.append(
            f"{tier} publishes no rates for prompts over {top} tokens (other tiers do); billed at its"
            f" {f'over-{level}' if level else 'base'} rates"
        )
    witnesses = sorted({r.source_id for _, _, r in parts if r.basis == "witness"})
    if witnesses:
        warnings.append(f"rates read from {', '.join(witnesses)} (a witness), not {index.provider}'s own page")

    savings = None
    if standard is not None and tier != STANDARD_TIER:
        saved = standard.usd_per_period - per_period
        percent = None
        if standard.usd_per_period:
            percent = _PERCENT.divide(saved * _HUNDRED, standard.usd_per_period).quantize(_PERCENT_PLACES, context=_PERCENT)
        savings = Savings(usd_per_period=_tidy(saved), percent=percent)

    return TierEstimate(
        provider=index.provider,
        model=index.model,
        tier=tier,
        min_prompt_tokens=level,
        usd_per_request=_tidy(total),
        usd_per_1k_requests=_tidy(total * _THOUSAND),
        usd_per_period=_tidy(per_period),
        usd_per_year=_tidy(per_period * PERIODS_PER_YEAR[workload.period]),
        period=workload.period,
        lines=lines,
        savings_vs_standard=savings,
        valid_from=max(r.valid_from for _, _, r in parts),
        source_ids=sorted({r.source_id for _, _, r in parts}),
        warnings=warnings,
        batch_plan=plan,
    )


def _tidy(amount: Decimal) -> Decimal:
    """Drop trailing zeros without switching to exponent notation for whole numbers (65.000 -> 65)."""
    if amount == amount.to_integral_value():
        return amount.quantize(_ONE)
    return amount.normalize()


def rank_estimates(estimates: Iterable[ModelEstimate], *, tier: str | None = None) -> list[ModelEstimate]:
    """Order models cheapest first.

    A model's figure is the ``usd_per_period`` of its cheapest tier, or of
    ``tier`` when given (compare like with like: pass "standard" when batch
    latency is not acceptable). Models without that figure go last; ties
    keep provider/model order so the ranking is stable.
    """

    def key(estimate: ModelEstimate) -> tuple[int, Decimal, str, str]:
        chosen = [e for e in estimate.tiers if e.tier == (tier or estimate.cheapest_tier)]
        if not chosen:
            return (1, Decimal(0), estimate.provider, estimate.model)
        return (0, chosen[0].usd_per_period, estimate.provider, estimate.model)

    return sorted(estimates, key=key)
