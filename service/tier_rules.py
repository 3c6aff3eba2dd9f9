"""Dated tier rules: rates derived from the pricing rules providers state, for the moments pages do not cover.

data/curated/tier_rules.toml lists rules such as "OpenAI's Batch API bills 50% of
standard since 2024-04-15", each with its source URL and the provider's words.
:func:`derive_rates` is pure: given rate intervals of one or more models (all of a
model's history, or the rates in force at one moment) it returns the intervals a
rule derives, basis ``derived`` with the rule in ``note``:

- a rule derives ``tier.kind`` as ``multiplier`` x ``of_tier.of_kind`` over the part
  of each base interval that lies inside the rule's dates;
- a printed rate always wins: a derived interval never overlaps an interval of
  the same rate from a page or curated history, priced or ``not_offered``;
- a rate whose every recorded interval is ``not_offered`` is never derived: the
  page says the model lacks it, and a rule does not overrule that;
- rules apply in file order and may build on what an earlier rule derived;
- a derived interval's provenance is its rule and the statement of the base rate in
  force where the interval starts: never the other sources that stated the base rate
  (``also``), which said nothing of the derived one.

A derived interval ends where a printed rate of its own takes over, so it must be
derived from the model's whole history: :func:`in_force_with_derived` does that for
one moment, so that a moment's answer and the history agree on where it ends.
"""

import functools
import tomllib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Context, Decimal, Inexact, InvalidOperation
from pathlib import Path

import msgspec

from ratecard import data as ratecard_data
from ratecard.scrapers.vocabulary import KINDS, TIERS
from ratecard.service.rates import Rate, stated_at
from ratecard.service.timeutil import parse_moment

__all__ = ["DERIVED", "TIER_RULES_SOURCE", "TierRule", "bundled_tier_rules", "derive_rates", "in_force_with_derived",
           "load_tier_rules", "ruled_providers", "with_derived"]

DERIVED = "derived"
TIER_RULES_SOURCE = "tier-rules"  # the source id derived rates carry
_EXACT = Context(prec=60, traps=[Inexact, InvalidOperation])
_ONE = Decimal(1)


class TierRulesError(ValueError):
    """The tier rules file is invalid; the message names the rule and field."""


class TierRule(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One stated rule: ``tiers x kinds`` cost ``multiplier`` x ``of_tier.of_kind`` from ``effective`` on."""

    id: str
    provider: str
    tiers: tuple[str, ...]
    kinds: tuple[str, ...]
    multiplier: Decimal
    effective: str
    source_url: str
    evidence: str
    of_tier: str = ""  # "" : the same tier
    of_kind: str = ""  # "" : the same kind
    until: str = ""  # exclusive; "" : still in force
    except_models: tuple[str, ...] = ()
    only_models: tuple[str, ...] = ()  # empty: every model of the provider
    note: str = ""

    def covers(self, provider: str, model: str) -> bool:
        """Whether the rule applies to this model."""
        return (provider == self.provider and model not in self.except_models
                and (not self.only_models or model in self.only_models))

    @property
    def starts(self) -> datetime:
        """The first moment the rule applies."""
        return parse_moment(self.effective)

    @property
    def ends(self) -> datetime | None:
        """The moment the rule stops applying (exclusive), None while in force."""
        return parse_moment(self.until) if self.until else None

    def explain(self, base: Rate) -> str:
        """The note of a rate this rule derives from ``base``."""
        return (f"derived from {base.tier} {base.kind} {base.usd_per_mtok} x {_plain(self.multiplier)}"
                f" by rule {self.id} (since {self.effective}): \"{self.evidence}\" ({self.source_url})")


def load_tier_rules(file: Path | None = None) -> tuple[TierRule, ...]:
    """Read and check the rules file (the bundled one when None); multipliers are exact decimals."""
    file = file or ratecard_data.path("curated", "tier_rules.toml")
    try:
        doc = tomllib.loads(file.read_text(encoding="utf-8"), parse_float=Decimal)
        rules = msgspec.convert(doc.get("rules", []), type=list[TierRule], strict=False)
    except (OSError, tomllib.TOMLDecodeError, msgspec.ValidationError) as exc:
        raise TierRulesError(f"cannot read tier rules {file}: {exc}") from None
    for rule in rules:
        for tier in (*rule.tiers, *filter(None, [rule.of_tier])):
            if tier not in TIERS:
                raise TierRulesError(f"rule {rule.id}: unknown tier {tier!r}")
        for kind in (*rule.kinds, *filter(None, [rule.of_kind])):
            if kind not in KINDS:
                raise TierRulesError(f"rule {rule.id}: unknown kind {kind!r}")
        if not rule.multiplier > 0:
            raise TierRulesError(f"rule {rule.id}: multiplier must be positive")
        try:
            ends = rule.ends
            if ends is not None and ends <= rule.starts:
                raise TierRulesError(f"rule {rule.id}: until is not after effective")
        except ValueError as exc:
            raise TierRulesError(f"rule {rule.id}: {exc}") from None
        if not rule.source_url or not rule.evidence:
            raise TierRulesError(f"rule {rule.id}: a rule needs its source_url and evidence")
    return tuple(rules)


@functools.cache
def bundled_tier_rules() -> tuple[TierRule, ...]:
    """The bundled rules, read once."""
    return load_tier_rules()


@functools.cache
def ruled_providers() -> tuple[str, ...]:
    """The providers a bundled rule covers, sorted: only their rates can be derived."""
    return tuple(sorted({rule.provider for rule in bundled_tier_rules()}))


Span = tuple[datetime, datetime | None]  # [from, to), None: open


def derive_rates(rates: Iterable[Rate], rules: Sequence[TierRule] | None = None) -> list[Rate]:
    """The rates ``rules`` derive from ``rates`` (the bundled rules when None), by the module's rules.

    ``rates`` may mix models; each model is derived from its own rates only.
    The answer holds only the derived intervals, to add to ``rates``.
    """
    rules = bundled_tier_rules() if rules is None else rules
    by_model: dict[tuple[str, str], list[Rate]] = defaultdict(list)
    for rate in rates:
        by_model[(rate.provider, rate.model)].append(rate)
    derived: list[Rate] = []
    for (provider, model), own in by_model.items():
        applicable = [r for r in rules if r.covers(provider, model)]
        if applicable:
            derived.extend(_derive_model(own, applicable))
    return derived


def with_derived(rates: Sequence[Rate], rules: Sequence[TierRule] | None = None) -> list[Rate]:
    """``rates`` and what the rules derive from them, listed by tier, kind, min_prompt_tokens, valid_from."""
    extra = derive_rates(rates, rules)
    if not extra:
        return list(rates)
    return sorted([*rates, *extra], key=lambda r: (r.provider, r.model, r.tier, r.kind, r.min_prompt_tokens,
                                                   r.valid_from))


def in_force_with_derived(history: Sequence[Rate], at: datetime,
                          rules: Sequence[TierRule] | None = None) -> list[Rate]:
    """The rates in force at ``at``, derived ones included, from ``history`` (every interval of the models).

    Derived from the whole history, not from the rates in force at ``at``: a derived
    interval ends where a later printed rate begins, and only the history knows that.
    Each rate carries the provenance of the statement in force at ``at``.
    """
    return [stated_at(r, at) for r in with_derived(history, rules) if r.in_force(at)]


def _derive_model(rates: list[Rate], rules: list[TierRule]) -> list[Rate]:
    series: dict[tuple[str, str, int], list[Rate]] = defaultdict(list)
    for rate in rates:
        series[(rate.tier, rate.kind, rate.min_prompt_tokens)].append(rate)
    out: list[Rate] = []
    for rule in rules:
        start, end = rule.starts, rule.ends
        for tier in rule.tiers:
            for kind in rule.kinds:
                base_tier, base_kind = rule.of_tier or tier, rule.of_kind or kind
                if (base_tier, base_kind) == (tier, kind):
                    continue
                levels = sorted({level for (t, k, level) in series if (t, k) == (base_tier, base_kind)})
                for level in levels:
                    stated = series.get((tier, kind, level), [])
                    if stated and all(r.basis == "not_offered" for r in stated):
                        continue  # the page says the model lacks this rate: no rule overrules it
                    taken = [(r.valid_from, r.valid_to) for r in stated]
                    for base in series[(base_tier, base_kind, level)]:
                        if base.usd_per_mtok is None:
                            continue
                        span = _intersect((base.valid_from, base.valid_to), (start, end))
                        if span is None:
                            continue
                        value = _plain(_EXACT.multiply(base.usd_per_mtok, rule.multiplier))
                        for piece in _subtract(span, taken):
                            # The base rate as stated where the piece starts (a merged interval's
                            # statements each cover their own part); no stored statements: the sources that
                            # stated the base rate never stated this one.
                            stated = stated_at(base, piece[0])
                            rate = msgspec.structs.replace(
                                stated, tier=tier, kind=kind, usd_per_mtok=value, basis=DERIVED,
                                valid_from=piece[0], valid_to=piece[1], source_id=TIER_RULES_SOURCE,
                                url=rule.source_url, run_id=None, note=rule.explain(base), also_stated_by=(),
                            )
                            out.append(rate)
                            series[(tier, kind, level)].append(rate)
                            taken.append(piece)
    return out


def _intersect(a: Span, b: Span) -> Span | None:
    start = max(a[0], b[0])
    ends = [e for e in (a[1], b[1]) if e is not None]
    end = min(ends) if ends else None
    return None if end is not None and end <= start else (start, end)


def _subtract(span: Span, taken: list[Span]) -> list[Span]:
    """The parts of ``span`` no interval of ``taken`` covers, in time order."""
    pieces = [span]
    for t_start, t_end in taken:
        rest: list[Span] = []
        for start, end in pieces:
            if (t_end is not None and t_end <= start) or (end is not None and end <= t_start):
                rest.append((start, end))  # no overlap
                continue
            if t_start > start:
                rest.append((start, t_start))
            if t_end is not None and (end is None or t_end < end):
                rest.append((t_end, end))
        pieces = rest
    return sorted(pieces, key=lambda p: p[0])


def _plain(value: Decimal) -> Decimal:
    """The exact value without trailing zeros or an exponent (2.50 -> 2.5, 10 stays 10)."""
    value = value.normalize(_EXACT)
    exponent = value.as_tuple().exponent
    return value.quantize(_ONE, context=_EXACT) if isinstance(exponent, int) and exponent > 0 else value


def with_rule_spans(spans: dict[str, Span], provider: str, model: str,
                    rules: Sequence[TierRule] | None = None) -> dict[str, Span]:
    """Per-tier spans of stored rates (first start, last end) widened by what the rules derive from the base tier."""
    rules = bundled_tier_rules() if rules is None else rules
    out = dict(spans)
    for rule in rules:
        if not rule.covers(provider, model):
            continue
        for tier in rule.tiers:
            base = spans.get(rule.of_tier or tier)
            if base is None or tier == (rule.of_tier or tier):
                continue
            start = max(base[0], rule.starts)
            if base[1] is not None and start >= base[1]:
                continue
            first, last = out.get(tier, (start, base[1]))
            out[tier] = (min(first, start), None if last is None or base[1] is None else max(last, base[1]))
    return out
