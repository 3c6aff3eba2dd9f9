"""Which rate bills which tokens: a model's in-force rates indexed once, and the bills worked out from them.

Pure, like service.estimate, which prices workloads with it. A RateIndex keys one
model's rates by (tier, kind, min_prompt_tokens) and keeps each price as an integer in
units of 10^-scale USD per token. A Bill says how one tier bills the workloads of one
shape (which counts are zero, the cache TTL) whose prompts fall in one context band:
the rate of each line, their provenance and the warnings that do not depend on the
counts. An index works a bill out on first use and keeps it, so an estimate is only
integer sums and conversions.
"""

from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Context, Decimal, Inexact, InvalidOperation

from ratecard.scrapers.vocabulary import TIERS
from ratecard.service.rates import Rate
from ratecard.service.workload import decimal_places

__all__ = ["EXACT", "MAX_RATE_DECIMAL_PLACES", "NOT_OFFERED", "UNKNOWN", "Bill", "NoRatesError", "RateIndex", "Shape",
           "context_level", "index_for", "index_rates", "unpriced_state", "unpriced_tiers"]

_MTOK_DIGITS = 6  # rates are per 10^6 tokens
# A rate with more decimal places than this is a parsing accident, not a price;
# refusing it keeps every figure well inside EXACT's digits.
MAX_RATE_DECIMAL_PLACES = 30

# Turning integer units back into Decimals: wide enough to be exact for any
# bounded figure, and trapping Inexact so a rounding could never pass silently.
EXACT = Context(prec=200, traps=[Inexact, InvalidOperation])


class NoRatesError(ValueError):
    """Nothing sound to estimate from: no rates, several models' rates, one key twice, an absurd rate."""


Key = tuple[str, str, int]  # (tier, kind, min_prompt_tokens)


class RateIndex:
    """The in-force rates of one model keyed by (tier, kind, min_prompt_tokens), built once.

    ``priced`` keeps each rate that has a price with that price as an integer
    in units of 10^-scale USD per token, so estimates multiply integers.
    Build it with :func:`index_rates`; it is immutable by convention and safe
    to share between threads (``bill`` only ever adds the same answer for a key).
    """

    __slots__ = (
        "provider", "model", "rates", "priced", "scale", "levels", "all_levels", "tiers", "witnesses", "_bills",
    )

    def __init__(self, provider: str, model: str, rates: dict[Key, Rate]) -> None:
        self.provider = provider
        self.model = model
        self.rates = rates
        with_price = {key: rate for key, rate in rates.items() if rate.usd_per_mtok is not None}
        for rate in with_price.values():
            if not rate.usd_per_mtok.is_finite():  # type: ignore[union-attr]
                raise NoRatesError(f"{provider}/{model} {rate.tier} {rate.kind} is {rate.usd_per_mtok}, not a price")
        places = max((decimal_places(r.usd_per_mtok) for r in with_price.values()), default=0)  # type: ignore[arg-type]
        if places > MAX_RATE_DECIMAL_PLACES:
            raise NoRatesError(
                f"{provider}/{model} has a rate with {places} decimal places; at most {MAX_RATE_DECIMAL_PLACES}"
            )
        self.scale = places + _MTOK_DIGITS
        self.priced: dict[Key, tuple[Rate, int]] = {
            key: (rate, int(rate.usd_per_mtok.scaleb(places, EXACT)))  # type: ignore[union-attr]
            for key, rate in with_price.items()
        }
        by_tier: dict[str, set[int]] = {}
        for tier, _, level in rates:
            by_tier.setdefault(tier, set()).add(level)
        # Largest first, so the first level a prompt exceeds is the one that bills it.
        self.levels = {tier: tuple(sorted(levels, reverse=True)) for tier, levels in by_tier.items()}
        self.all_levels = tuple(sorted(set().union(*by_tier.values()), reverse=True))
        self.tiers = tuple([t for t in TIERS if t in by_tier] + sorted(t for t in by_tier if t not in TIERS))
        self.witnesses = frozenset(rate.source_id for rate in rates.values() if rate.basis == "witness")
        self._bills: dict[tuple[str, int | None, Shape], Bill | str | None] = {}

    def bill(self, tier: str, band: int | None, shape: "Shape") -> "Bill | str | None":
        """How ``tier`` bills workloads of ``shape`` with prompts in ``band``, worked out on first use.

        A str says why the tier cannot bill them, None that it has no rates. The key is all
        the answer depends on, so the table stays small (tiers x bands x shapes) whatever
        the traffic, and an estimate only does the arithmetic of its own counts.
        """
        key = (tier, band, shape)
        bill = self._bills.get(key, _UNKNOWN)
        if bill is _UNKNOWN:
            bill = self._bills[key] = _work_out_bill(self, tier, band, shape)
        return bill  # type: ignore[return-value]


_UNKNOWN = object()
# Which counts of a workload are not zero (fresh input, cached input, cache writes, output),
# and the kind its cache writes bill at ("" without writes): all a bill depends on but the counts.
Shape = tuple[bool, bool, bool, bool, str]
FRESH, CACHED, WRITTEN, OUTPUT = range(4)  # where each part's tokens are in an estimate's counts
# A billed line: kind, count index, usd_per_mtok, units per token, basis, rate kind.
LineSpec = tuple[str, int, Decimal, int, str, str]


class Bill:
    """How one tier bills the workloads of one shape whose prompts are in one band.

    A band is ``context_level(index.all_levels, prompt)``: prompts in a band exceed the same
    levels, so a tier bills them all at one ``level``. ``lines`` are the parts with tokens to
    bill, in order; ``valid_from`` and ``source_ids`` the provenance of their rates (the input
    rate's when nothing is billed); ``fallbacks`` the notes on tokens billed at the input rate,
    as (count index, text after the count); ``notes`` the warnings after the long-context one.
    """

    __slots__ = ("level", "lines", "valid_from", "source_ids", "fallbacks", "notes")

    def __init__(
        self, level: int, lines: tuple[LineSpec, ...], valid_from: datetime, source_ids: tuple[str, ...],
        fallbacks: tuple[tuple[int, str], ...], notes: tuple[str, ...],
    ) -> None:
        self.level, self.lines, self.valid_from, self.source_ids = level, lines, valid_from, source_ids
        self.fallbacks, self.notes = fallbacks, notes


def _work_out_bill(index: RateIndex, tier: str, band: int | None, shape: Shape) -> Bill | str | None:
    """Which rate bills which tokens on ``tier`` (README, "Estimates"); else why it cannot (None: it has no rates)."""
    levels = index.levels.get(tier)
    if levels is None:
        return None
    name = f"{index.provider}/{index.model}"
    # The band's smallest prompt (token counts are whole) exceeds what every prompt of the band exceeds.
    level = context_level(levels, 0 if band is None else band + 1)
    if level is None:
        return f"{name} {tier} has rates only for prompts over {levels[-1]} tokens"
    input_rate = index.priced.get((tier, "input", level))
    output_rate = index.priced.get((tier, "output", level))
    if input_rate is None:
        return _missing(index, tier, "input", level)
    has_fresh, has_cached, has_written, has_output, write_kind = shape
    # An embedding model has no output rate; it can still price a workload with no output.
    if output_rate is None and has_output:
        return _missing(index, tier, "output", level)

    parts = [("input", FRESH, input_rate, has_fresh)]  # (kind, count index, entry, has tokens)
    fallbacks = []
    for kind, source, billed in (("cached_input", CACHED, has_cached), (write_kind, WRITTEN, has_written)):
        if billed:
            entry = index.priced.get((tier, kind, level))
            if entry is None:
                # Never invent a discount: without the tier's own rate these tokens cost the full input price.
                why = "not offered" if (tier, kind, level) in index.rates else f"{UNKNOWN}: no price recorded"
                fallbacks.append((source, f" {kind} tokens billed at the input rate:"
                                          f" {tier} has no {kind} rate{_over(level)} ({why})"))
                entry = input_rate
            parts.append((kind, source, entry, True))
    if output_rate is not None:
        parts.append(("output", OUTPUT, output_rate, has_output))
    notes = []
    top = band or 0
    if len(levels) < len(index.all_levels) and top > level:  # another tier has a context level this one lacks
        billed_at = f"over-{level}" if level else "base"
        notes.append(
            f"{tier} has no rates for prompts over {top} tokens (other tiers do); billed at its {billed_at} rates"
        )
    if index.witnesses:  # a model served from a witness: every tier says so (derived ones are built on it)
        notes.append(f"rates read from {', '.join(sorted(index.witnesses))} (a witness), not {index.provider}'s"
                     " own page")
    # A line of nothing is noise, and its rate did not bill the request.
    billed = [(kind, source, rate, units) for kind, source, (rate, units), has_tokens in parts if has_tokens]
    lines = tuple((kind, src, rate.usd_per_mtok, units, rate.basis, rate.kind) for kind, src, rate, units in billed)
    rates = [rate for _, _, rate, _ in billed] or [input_rate[0]]
    return Bill(
        level, lines, max(rate.valid_from for rate in rates), tuple(sorted(dict.fromkeys(r.source_id for r in rates))),
        tuple(fallbacks), tuple(notes),
    )


NOT_OFFERED, UNKNOWN = "not_offered", "unknown"  # the two ways a rate lookup finds no price


def unpriced_state(reason: str) -> str:
    """Which of the two a tier's reason for not billing says: ``not_offered`` or ``unknown``."""
    return UNKNOWN if reason.startswith("no ") else NOT_OFFERED


def _missing(index: RateIndex, tier: str, kind: str, level: int) -> str:
    """Why ``tier`` cannot bill: the provider says it lacks the rate (a not_offered row), or nothing is recorded.

    The unknown reason starts with "no " (see unpriced_state); callers that know the model's
    history append when prices are recorded ("before 2026-08-01").
    """
    if (tier, kind, level) in index.rates:
        return f"{index.provider}/{index.model} does not offer the {tier} tier{_over(level)} (no {kind} rate)"
    return f"no {tier} {kind} price is recorded for {index.provider}/{index.model}{_over(level)}"


def index_rates(rates: Sequence[Rate]) -> RateIndex:
    """Index the in-force rates of one model; NoRatesError on none, several models or a key twice."""
    if not rates:
        raise NoRatesError("no rates to estimate from")
    provider, model = rates[0].provider, rates[0].model
    keyed: dict[Key, Rate] = {}
    for rate in rates:
        if (rate.provider, rate.model) != (provider, model):
            raise NoRatesError(f"rates of several models: {provider}/{model} and {rate.provider}/{rate.model}")
        key = (rate.tier, rate.kind, rate.min_prompt_tokens)
        if key in keyed:
            raise NoRatesError(f"two rates for {provider}/{model} {key}: pass the ones in force at one moment")
        keyed[key] = rate
    return RateIndex(provider, model, keyed)


# Indexes of rate tuples recently estimated, by identity: the catalog hands out
# the same tuple for a model until its prices change, so repeat estimates skip
# indexing. An entry holds its tuple, so the id cannot be reused while cached.
_INDEX_CACHE: dict[int, tuple[tuple[Rate, ...], RateIndex]] = {}
_INDEX_CACHE_SIZE = 4096


def index_for(rates: Sequence[Rate] | RateIndex) -> RateIndex:
    """``rates`` indexed: an index as it is, a tuple from the cache (by identity), a list afresh."""
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


def context_level(levels: tuple[int, ...], prompt_tokens: int) -> int | None:
    """The largest level the prompt exceeds (0 always applies), from levels sorted largest first."""
    for level in levels:
        if prompt_tokens > level or level == 0:
            return level
    return None


def _over(level: int) -> str:
    return f" for prompts over {level} tokens" if level else ""


def unpriced_tiers(
    provider: str, model: str, rates: Sequence[Rate], known_tiers: Sequence[str], gap_note: Callable[[str], str],
) -> list[tuple[str, str, str]]:
    """The tiers of one model without a price among ``rates`` (those in force at one moment), as (tier, state, reason).

    ``not_offered`` where every rate of the tier in force says so; ``unknown`` for a tier the
    model has at another moment (``known_tiers``) and nothing at this one, its reason saying
    when the tier's prices are recorded (``gap_note``).
    """
    by_tier: dict[str, list[Rate]] = {}
    for rate in rates:
        by_tier.setdefault(rate.tier, []).append(rate)
    gaps = []
    for tier in [t for t in TIERS if t in by_tier or t in known_tiers]:
        present = by_tier.get(tier)
        if present is None:
            gaps.append((tier, UNKNOWN, f"no {tier} price is recorded for {provider}/{model}{gap_note(tier)}"))
        elif all(r.basis == "not_offered" for r in present):
            gaps.append((tier, NOT_OFFERED, f"{provider}/{model} does not offer the {tier} tier"))
    return gaps
