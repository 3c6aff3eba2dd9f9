"""A month-by-month budget projection: a growing workload, each month priced at the rates then in force.

Pure: no clock, no database, no HTTP. The caller hands in a plan and a
function giving one model's rates in force at a moment; every money figure
comes from :func:`service.estimate.estimate_model`, so this module only
counts requests, blends the estimator's figures by the traffic shares and
adds them up. The rules (the README's forecast section says the same):

- **Requests.** Month ``m`` (0 for ``start_month``) has
  ``monthly_requests x (1 + monthly_growth_percent/100) ** m`` requests,
  computed exactly (as a fraction) and rounded half-even to a whole number of
  requests. Each month rounds the exact compounded figure, so a rounding
  never compounds: 1,000 at 10% is 1000, 1100, 1210, 1331, 1464 (1464.1),
  1611 (1610.51), ...
- **Moment.** A month is priced at the rates in force at its first instant,
  00:00 UTC on the 1st. A change effective on the 10th of June shows from
  July; a price announced for a future date shows from the month after it
  takes effect (or that month, when it takes effect on the 1st).
- **Blend.** The estimator prices four per-request variants of the month's
  requests: standard or batch tier (S, B), with no cache hit or with
  ``cached_input_tokens`` read from cache (0, 1). With ``b = batch_share``
  and ``c = cache_hit_share``::

      baseline_usd             = S0                        every request at standard, no cache hits
      without_batch            = (1 - c) S0 + c S1         caching alone
      cost_usd                 = (1 - b) without_batch + b ((1 - c) B0 + c B1)
      savings_from_caching_usd = baseline_usd - without_batch
      savings_from_batch_usd   = without_batch - cost_usd  what moving b to batch saves, caching included

  so ``baseline_usd = cost_usd + savings_from_caching_usd +
  savings_from_batch_usd`` exactly. The shares weight money, never split
  requests: nothing but the monthly request count is rounded, and every
  figure is an exact Decimal.
- **No batch tier.** A month whose rates have no batch tier prices the batch
  share at standard (its batch savings are 0) and the model gets a warning
  naming those months; never a silent zero. The warning says whether the
  page says the batch tier is not offered, or no batch price is recorded for
  that month (unknown, with when batch prices are recorded); never one for the other.
- **No rates.** A month with no rates in force at its start (before a model
  was launched) is not priced: its money figures are None, the totals cover
  the priced months only, and a warning names the months left out.
- **Starting from a spend.** "I spend $X a month on a model" becomes a
  first-month volume: ``monthly_spend_usd / baseline_usd_per_request``
  (every request at standard with no cache hit, at the rates in force when
  the first month starts), rounded half-even to whole requests
  (:func:`requests_for_spend`). The first month's ``baseline_usd`` is then
  the spend, to within one request's price.
- **Payback.** Given ``migration_hours`` and ``hourly_rate_usd``, the
  migration costs their product; ``payback.months`` is the 1-based number of
  the first month whose cumulative ``savings_from_batch_usd`` reaches it,
  or None with a reason when that does not happen within the horizon.
"""

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Context, Decimal, Inexact, InvalidOperation
from fractions import Fraction

import msgspec

from ratecard.service.batch_limits import BatchLimit
from ratecard.service.estimate import BATCH_TIER, STANDARD_TIER, ModelEstimate, NoRatesError, TierEstimate, estimate_model
from ratecard.service.rates import Rate
from ratecard.service.workload import (
    MAX_REQUESTS_PER_PERIOD,
    MAX_TOKENS_PER_REQUEST,
    Workload,
    WorkloadError,
    check_decimal,
)

__all__ = [
    "DEFAULT_MONTHS",
    "MAX_GROWTH_PERCENT",
    "MAX_MONTHS",
    "MIN_GROWTH_PERCENT",
    "ForecastPlan",
    "ModelForecast",
    "MonthForecast",
    "Payback",
    "forecast_model",
    "month_label",
    "month_starts",
    "monthly_requests",
    "requests_for_spend",
    "validate_plan",
]

DEFAULT_MONTHS = 12
MAX_MONTHS = 120  # ten years: past that, today's price list says little
# Growth is a percent per month: -100 (traffic stops) to +1000 (x11 a month). The
# request cap (MAX_REQUESTS_PER_PERIOD per month) bounds what compounding may reach.
MIN_GROWTH_PERCENT = Decimal(-100)
MAX_GROWTH_PERCENT = Decimal(1000)
MAX_SHARE_DECIMAL_PLACES = 6  # shares and growth: 0.000001 is finer than any budget needs
MAX_MIGRATION_HOURS = Decimal(1_000_000)
MAX_HOURLY_RATE_USD = Decimal(1_000_000)
MAX_MONEY_DECIMAL_PLACES = 6
MAX_MONTHLY_SPEND_USD = Decimal(1_000_000_000)  # a billion dollars a month: past any one workload

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_LAST_YEAR = 9999  # datetime's

# Blending multiplies and adds Decimals of bounded size: wide enough to be exact,
# and trapping Inexact so a rounding could never pass silently.
_EXACT = Context(prec=200, traps=[Inexact, InvalidOperation])
_ONE = Decimal(1)


class ForecastPlan(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What to project: one kind of request, its monthly volume and growth, and the traffic mix.

    Token counts are per request (``cached_input_tokens`` is the part of
    ``input_tokens`` a cache hit reads from cache). ``start_month`` is
    ``YYYY-MM``; ``months`` from 1 to MAX_MONTHS. ``monthly_growth_percent``
    compounds. ``batch_share`` and ``cache_hit_share`` are fractions from 0
    to 1 of the month's requests. ``migration_hours`` and
    ``hourly_rate_usd`` (both or neither) price a migration to batch for the
    payback. Invalid values raise WorkloadError naming the field.
    """

    start_month: str
    input_tokens: int
    monthly_requests: int
    months: int = DEFAULT_MONTHS
    cached_input_tokens: int = 0
    output_tokens: int = 0
    monthly_growth_percent: Decimal = Decimal(0)
    batch_share: Decimal = Decimal(0)
    cache_hit_share: Decimal = Decimal(0)
    migration_hours: Decimal | None = None
    hourly_rate_usd: Decimal | None = None

    def __post_init__(self) -> None:
        validate_plan(self)


class MonthForecast(msgspec.Struct, frozen=True, kw_only=True):
    """One month of one model's forecast.

    ``month`` is ``YYYY-MM`` and ``priced_at`` the moment its rates were read
    (00:00 UTC on the 1st). The money figures are None when no rates were in
    force then (``priced`` false); ``cost_usd = baseline_usd -
    savings_from_caching_usd - savings_from_batch_usd``. ``rates_valid_from``
    is the latest start among the standard rates of the baseline, so a price
    change is visible. ``batch_tier_offered`` says whether the batch tier
    priced the batch share (false: it was priced at standard; None when
    ``batch_share`` is 0, or when no batch price is known for the month:
    ``batch_tier_state`` then says ``unknown``). The cumulative figures run from the first month.
    """

    month: str
    priced_at: datetime
    requests: int
    priced: bool
    cost_usd: Decimal | None
    baseline_usd: Decimal | None
    savings_from_batch_usd: Decimal | None
    savings_from_caching_usd: Decimal | None
    baseline_usd_per_request: Decimal | None
    batch_tier_offered: bool | None
    rates_valid_from: datetime | None
    cumulative_cost_usd: Decimal
    cumulative_savings_from_batch_usd: Decimal
    # `priced`, `not_offered` (the page says so: batch_tier_offered false) or `unknown` (no batch price is
    # recorded for the month: batch_tier_offered None); None when batch_share is 0 or the month is not priced.
    batch_tier_state: str | None = None


class Payback(msgspec.Struct, frozen=True, kw_only=True):
    """When a migration to batch (``migration_hours`` x ``hourly_rate_usd``) has paid for itself.

    ``months`` counts forecast months up to and including ``month``, the
    first whose cumulative batch savings reach ``migration_cost_usd``; both
    are None, with a ``reason``, when that does not happen within the horizon.
    """

    migration_cost_usd: Decimal
    months: int | None
    month: str | None
    reason: str | None


class ModelForecast(msgspec.Struct, frozen=True, kw_only=True):
    """The forecast of one model: every month, and totals over the priced months.

    ``total_usd`` is the sum of the months' ``cost_usd``; ``baseline_usd``
    and the savings are summed the same way, and ``requests`` counts the
    priced months' requests. ``payback`` is set when the plan prices a
    migration. ``warnings`` holds each distinct note once (rates missing,
    no batch tier, cache reads billed at the input rate, ...).
    """

    provider: str
    model: str
    months: list[MonthForecast]
    priced_months: int
    requests: int
    total_usd: Decimal
    baseline_usd: Decimal
    savings_from_batch_usd: Decimal
    savings_from_caching_usd: Decimal
    payback: Payback | None
    warnings: list[str]


def validate_plan(plan: ForecastPlan) -> None:
    """Raise WorkloadError naming the first invalid field of ``plan``."""
    start = parse_month("start_month", plan.start_month)
    _check_int("months", plan.months, 1, MAX_MONTHS)
    if start[0] * 12 + start[1] - 1 + plan.months - 1 > _LAST_YEAR * 12 + 11:
        raise WorkloadError("months", f"the horizon would run past {_LAST_YEAR}-12")
    for field in ("input_tokens", "cached_input_tokens", "output_tokens"):
        _check_int(field, getattr(plan, field), 0, MAX_TOKENS_PER_REQUEST)
    if plan.cached_input_tokens > plan.input_tokens:
        raise WorkloadError(
            "cached_input_tokens",
            f"cached_input_tokens ({plan.cached_input_tokens}) exceed input_tokens ({plan.input_tokens}),"
            " the whole prompt",
        )
    _check_int("monthly_requests", plan.monthly_requests, 0, MAX_REQUESTS_PER_PERIOD)
    check_decimal("monthly_growth_percent", plan.monthly_growth_percent, MIN_GROWTH_PERCENT, MAX_GROWTH_PERCENT,
                   MAX_SHARE_DECIMAL_PLACES)
    for field in ("batch_share", "cache_hit_share"):
        check_decimal(field, getattr(plan, field), Decimal(0), _ONE, MAX_SHARE_DECIMAL_PLACES)
    hours, rate = plan.migration_hours, plan.hourly_rate_usd
    if (hours is None) != (rate is None):
        missing = "hourly_rate_usd" if rate is None else "migration_hours"
        raise WorkloadError(missing, "give migration_hours and hourly_rate_usd together")
    if hours is not None:
        check_decimal("migration_hours", hours, Decimal(0), MAX_MIGRATION_HOURS, MAX_MONEY_DECIMAL_PLACES)
        check_decimal("hourly_rate_usd", rate, Decimal(0), MAX_HOURLY_RATE_USD, MAX_MONEY_DECIMAL_PLACES)
    # Last: the only rule that needs the others valid (it compounds the growth).
    monthly_requests(plan)


def parse_month(field: str, text: object) -> tuple[int, int]:
    """``YYYY-MM`` as (year, month); WorkloadError naming ``field`` otherwise."""
    match = _MONTH.match(text) if isinstance(text, str) else None
    if match is None:
        raise WorkloadError(field, f"{text!r} is not a month written YYYY-MM")
    year, month = int(match[1]), int(match[2])
    if year < 1 or not 1 <= month <= 12:
        raise WorkloadError(field, f"{text!r} is not a real month (years 0001 to 9999, months 01 to 12)")
    return year, month


def month_label(moment: datetime) -> str:
    """The ``YYYY-MM`` month a moment falls in, in UTC (the default start month is the clock's)."""
    moment = moment.astimezone(UTC)
    return f"{moment.year:04d}-{moment.month:02d}"


def month_starts(start_month: str, months: int) -> list[datetime]:
    """The first instant (00:00 UTC on the 1st) of each of ``months`` months from ``start_month``."""
    year, month = parse_month("start_month", start_month)
    first = year * 12 + month - 1
    return [datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC) for index in range(first, first + months)]


def monthly_requests(plan: ForecastPlan) -> list[int]:
    """Requests in each month: the exact compounded volume, rounded half-even to whole requests.

    Raises WorkloadError (field ``monthly_growth_percent``) when a month
    would exceed MAX_REQUESTS_PER_PERIOD.
    """
    factor = 1 + Fraction(plan.monthly_growth_percent) / 100
    volume = Fraction(plan.monthly_requests)
    counts = []
    for index in range(plan.months):
        if index:
            volume *= factor
        count = round(volume)  # Fraction rounds half to even
        if count > MAX_REQUESTS_PER_PERIOD:
            raise WorkloadError(
                "monthly_growth_percent",
                f"month {index + 1} would have {count:,} requests; at most {MAX_REQUESTS_PER_PERIOD:,} a month",
            )
        counts.append(count)
    return counts


def requests_for_spend(monthly_spend_usd: Decimal, usd_per_request: Decimal) -> int:
    """The whole number of requests a monthly spend buys at ``usd_per_request``, rounded half-even.

    Raises WorkloadError (field ``monthly_spend_usd``) for a spend out of
    bounds, a request that costs nothing (no volume follows from a spend) or
    a volume above MAX_REQUESTS_PER_PERIOD.
    """
    check_decimal("monthly_spend_usd", monthly_spend_usd, Decimal(0), MAX_MONTHLY_SPEND_USD, MAX_MONEY_DECIMAL_PLACES)
    if usd_per_request <= 0:
        raise WorkloadError("monthly_spend_usd", "a request costs nothing at these rates, so a spend gives no volume")
    count = round(Fraction(monthly_spend_usd) / Fraction(usd_per_request))  # Fraction rounds half to even
    if count > MAX_REQUESTS_PER_PERIOD:
        raise WorkloadError("monthly_spend_usd",
                            f"the spend buys {count:,} requests a month; at most {MAX_REQUESTS_PER_PERIOD:,}")
    return count


def forecast_model(
    provider: str,
    model: str,
    rates_at: Callable[[datetime], Sequence[Rate]],
    plan: ForecastPlan,
    *,
    batch_limits: Mapping[str, BatchLimit] | None = None,
    gap_note: Callable[[str, datetime], str] | None = None,
) -> ModelForecast:
    """Project ``plan`` month by month on one model.

    ``rates_at(moment)`` returns the model's rates in force at ``moment``
    (empty when there are none); it is called once per month with the
    month's first instant. ``batch_limits`` is passed on to the estimator, and
    ``gap_note(tier, moment)`` too (when a tier's prices are recorded, for the
    reason a month has no batch price).
    """
    notes = _Notes(f"{provider}/{model}")
    rows: list[MonthForecast] = []
    cumulative_cost = cumulative_batch = Decimal(0)
    totals = [Decimal(0)] * 4  # cost, baseline, batch savings, caching savings
    priced_requests = priced_months = 0
    payback_index: int | None = None
    migration_cost = _migration_cost(plan)
    previous: tuple[Rate, ...] = ()
    for index, (at, requests) in enumerate(zip(month_starts(plan.start_month, plan.months),
                                               monthly_requests(plan), strict=True)):
        label = month_label(at)
        rates = tuple(rates_at(at))
        if rates == previous:  # the same tuple again lets the estimator reuse its index of the rates
            rates = previous
        previous = rates
        note = None if gap_note is None else (lambda tier, at=at: gap_note(tier, at))
        priced = _price_month(rates, plan, requests, label, notes, batch_limits, note)
        if priced is None:
            rows.append(MonthForecast(
                month=label, priced_at=at, requests=requests, priced=False, cost_usd=None, baseline_usd=None,
                savings_from_batch_usd=None, savings_from_caching_usd=None, baseline_usd_per_request=None,
                batch_tier_offered=None, rates_valid_from=None, cumulative_cost_usd=_plain(cumulative_cost),
                cumulative_savings_from_batch_usd=_plain(cumulative_batch),
            ))
            continue
        figures, per_request, batch_offered, valid_from, batch_state = priced
        totals = [_EXACT.add(total, figure) for total, figure in zip(totals, figures, strict=True)]
        cumulative_cost = _EXACT.add(cumulative_cost, figures[0])
        cumulative_batch = _EXACT.add(cumulative_batch, figures[2])
        priced_requests += requests
        priced_months += 1
        if migration_cost is not None and payback_index is None and cumulative_batch >= migration_cost:
            payback_index = index
        cost, baseline, batch, caching = (_plain(f) for f in figures)
        rows.append(MonthForecast(
            month=label, priced_at=at, requests=requests, priced=True, cost_usd=cost, baseline_usd=baseline,
            savings_from_batch_usd=batch, savings_from_caching_usd=caching, baseline_usd_per_request=per_request,
            batch_tier_offered=batch_offered, rates_valid_from=valid_from,
            cumulative_cost_usd=_plain(cumulative_cost), cumulative_savings_from_batch_usd=_plain(cumulative_batch),
            batch_tier_state=batch_state,
        ))
    total, baseline, batch, caching = (_plain(t) for t in totals)
    return ModelForecast(
        provider=provider, model=model, months=rows, priced_months=priced_months, requests=priced_requests,
        total_usd=total, baseline_usd=baseline, savings_from_batch_usd=batch, savings_from_caching_usd=caching,
        payback=_payback(plan, migration_cost, payback_index, rows), warnings=notes.finish(),
    )


class _Notes:
    """A model's warnings: each distinct estimator note once, and month lists gathered into one line each."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.notes: dict[str, None] = {}
        self.unpriced: dict[str, list[str]] = {}  # reason -> months
        self.no_batch: list[str] = []
        self.unknown_batch: dict[str, list[str]] = {}  # reason -> months

    def add(self, notes: Iterable[str]) -> None:
        for note in notes:
            self.notes.setdefault(note)

    def finish(self) -> list[str]:
        lines = [f"{self.name} not priced in {_months(months)}: {reason}; left out of the totals"
                 for reason, months in self.unpriced.items()]
        if self.no_batch:
            lines.append(f"{self.name} offers no batch tier in {_months(self.no_batch)}:"
                         " batch_share priced at the standard rates, so no batch savings")
        for reason, months in self.unknown_batch.items():  # unknown, never "not offered"
            lines.append(f"{reason}, so batch_share is priced at the standard rates in {_months(months)}"
                         " (no batch savings counted)")
        return lines + list(self.notes)


def _months(labels: list[str]) -> str:
    return labels[0] if len(labels) == 1 else f"{len(labels)} months ({', '.join(labels)})"


_NO_RATES = "no rates in force at the start of the month (00:00 UTC on the 1st)"

# A priced month: (cost, baseline, batch savings, caching savings), baseline per request,
# whether the batch tier priced the batch share (None: no share to price, or no batch price known),
# standard's valid_from, and the batch tier's state (priced, not_offered, unknown; None: no share).
_Priced = tuple[tuple[Decimal, Decimal, Decimal, Decimal], Decimal, bool | None, datetime, str | None]


def _price_month(
    rates: tuple[Rate, ...],
    plan: ForecastPlan,
    requests: int,
    label: str,
    notes: _Notes,
    batch_limits: Mapping[str, BatchLimit] | None,
    gap_note: Callable[[str], str] | None = None,
) -> _Priced | None:
    """Price one month by the rules of the module docstring; None (noted) when it cannot be."""
    if not rates:
        notes.unpriced.setdefault(_NO_RATES, []).append(label)
        return None
    want_batch = bool(plan.batch_share)
    want_cache = bool(plan.cache_hit_share) and plan.cached_input_tokens > 0
    tiers = [STANDARD_TIER, BATCH_TIER] if want_batch else [STANDARD_TIER]

    def estimate(cached_input_tokens: int) -> ModelEstimate:
        workload = Workload(input_tokens=plan.input_tokens, cached_input_tokens=cached_input_tokens,
                            output_tokens=plan.output_tokens, requests=requests, period="month")
        return estimate_model(rates, workload, tiers=tiers, batch_limits=batch_limits, gap_note=gap_note)

    try:
        no_hit = estimate(0)
        hit = estimate(plan.cached_input_tokens) if want_cache else no_hit
    except NoRatesError as exc:
        notes.unpriced.setdefault(str(exc), []).append(label)
        return None
    s0, b0 = _tier(no_hit, STANDARD_TIER), _tier(no_hit, BATCH_TIER)
    s1, b1 = _tier(hit, STANDARD_TIER), _tier(hit, BATCH_TIER)
    if s0 is None or s1 is None:
        why = next((w for w in no_hit.warnings if STANDARD_TIER in w), "no standard rates")
        notes.unpriced.setdefault(why, []).append(label)
        return None
    batch_offered: bool | None = None
    batch_state: str | None = None
    if want_batch:
        batch_offered = b0 is not None and b1 is not None
        batch_state = "priced"
        if not batch_offered:
            gap = next((g for g in (*no_hit.unpriced, *hit.unpriced) if g.tier == BATCH_TIER), None)
            batch_state = gap.state if gap is not None else "unknown"
            if batch_state == "not_offered":
                notes.no_batch.append(label)
            else:
                batch_offered = None  # not known either way
                reason = gap.reason if gap is not None else f"no batch price is recorded for {notes.name}"
                notes.unknown_batch.setdefault(reason, []).append(label)
            b0, b1 = s0, s1
    for tier in (s0, s1, b0, b1):
        if tier is not None:
            notes.add(tier.warnings)
    b, c = plan.batch_share, plan.cache_hit_share
    baseline = s0.usd_per_period
    without_batch = _blend(c, baseline, s1.usd_per_period)
    cost = without_batch if not want_batch else _blend(
        b, without_batch, _blend(c, b0.usd_per_period, b1.usd_per_period)  # type: ignore[union-attr]
    )
    figures = (cost, baseline, _EXACT.subtract(without_batch, cost), _EXACT.subtract(baseline, without_batch))
    return figures, s0.usd_per_request, batch_offered, s0.valid_from, batch_state


def _tier(estimate: ModelEstimate, tier: str) -> TierEstimate | None:
    return next((t for t in estimate.tiers if t.tier == tier), None)


def _blend(share: Decimal, without: Decimal, with_: Decimal) -> Decimal:
    """(1 - share) x without + share x with_, exactly."""
    if not share:
        return without
    rest = _EXACT.subtract(_ONE, share)
    return _EXACT.add(_EXACT.multiply(rest, without), _EXACT.multiply(share, with_))


def _migration_cost(plan: ForecastPlan) -> Decimal | None:
    if plan.migration_hours is None or plan.hourly_rate_usd is None:
        return None
    return _EXACT.multiply(plan.migration_hours, plan.hourly_rate_usd)


def _payback(plan: ForecastPlan, cost: Decimal | None, index: int | None, rows: list[MonthForecast]) -> Payback | None:
    if cost is None:
        return None
    if index is not None:
        return Payback(migration_cost_usd=_plain(cost), months=index + 1, month=rows[index].month, reason=None)
    if not plan.batch_share:
        reason = "batch_share is 0: no traffic moves to batch, so the migration saves nothing"
    elif not any(row.batch_tier_offered for row in rows):
        reason = "no month of the horizon has a batch tier, so the migration saves nothing"
    else:
        reached = rows[-1].cumulative_savings_from_batch_usd
        reason = (f"cumulative batch savings reach {reached} USD by {rows[-1].month},"
                  f" short of the {_plain(cost)} USD migration cost")
    return Payback(migration_cost_usd=_plain(cost), months=None, month=None, reason=reason)


def _plain(value: Decimal) -> Decimal:
    """The exact value without trailing zeros or an exponent (65.000 -> 65, never 6.5E+1)."""
    value = value.normalize(_EXACT)
    exponent = value.as_tuple().exponent
    return value.quantize(_ONE, context=_EXACT) if isinstance(exponent, int) and exponent > 0 else value


def _check_int(field: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise WorkloadError(field, f"must be an integer, not {type(value).__name__}")
    if not low <= value <= high:
        raise WorkloadError(field, f"must be between {low:,} and {high:,}")
