"""Parser for Anthropic's pricing docs page, markdown form (platform.claude.com/docs/en/about-claude/pricing.md).

Page shape (seen Oct-Nov 2025), three tables that matter, found by their header
words (never by position, since the page grows sections over time):

* the model table -- ``Model | Base Input Tokens | 5m Cache Writes | 1h Cache
  Writes | Cache Hits & Refreshes | Output Tokens``, one row per model by display
  name ("Claude Sonnet 3.7 ([deprecated](...))"), prices as ``\\$3 / MTok``;
* the batch table -- ``Model | Batch input | Batch output``;
* the long-context table -- ``≤ 200K input tokens | > 200K input tokens`` with
  cells ``Input: \\$6 / MTok``. It names no model: the prose above it does
  ("When using Claude Sonnet 4 or Sonnet 4.5 with the 1M token context window").

The page also states, in prose, the rules that relate the numbers: cache
multipliers (5m write 1.25x, 1h write 2x, read 0.1x base input), batch = 50% off,
batch and caching stack, long context takes the batch discount and the caching
multipliers. Rates the estimator needs but the page gives no number for (batch
cache rates, long-context cache and batch rates) are derived from those rules,
quoted in ``note``; a rule missing from the page means that derivation is skipped.
Batch cache rates are the model's own standard cache rates at the batch discount
(see :func:`derived_rates` for why not batch input x multiplier).

Display names become API ids through data/models/anthropic.toml. A name the
catalog does not know is a new model, which is normal: it gets the slug rule's
id ("Claude Opus 4.5" -> ``claude-opus-4-5``) and a note saying so, never dropped.
"""

import re
from decimal import Decimal
from typing import NamedTuple

from scrapers.errors import PageRejected
from scrapers.names import model_id_for
from scrapers.observation import Observation
from scrapers.text import (
    clean_cell,
    decode_page,
    is_not_offered,
    markdown_tables,
    normalise_header,
    parse_usd,
    reject_challenge,
)

PROVIDER = "anthropic"
CACHE_KINDS: tuple[str, ...] = ("cached_input", "cache_write", "cache_write_1h")

# Normalised header words (see normalise_header) -> (tier, kind). Full matches, so
# "Input tokens per tool definition" in the computer-use table is not a price.
COLUMN_PATTERNS: tuple[tuple[re.Pattern[str], tuple[str, str]], ...] = tuple(
    (re.compile(pattern), key)
    for pattern, key in (
        (r"batch input( tokens)?", ("batch", "input")),
        (r"batch output( tokens)?", ("batch", "output")),
        (r"(base )?input( tokens)?", ("standard", "input")),
        (r"(5 ?m|5-? ?min(ute)?s?) cache writes?( tokens)?", ("standard", "cache_write")),
        (r"(1 ?h|1-? ?hours?) cache writes?( tokens)?", ("standard", "cache_write_1h")),
        (r"cache (hits?|reads?)( and refresh(es)?)?( tokens)?", ("standard", "cached_input")),
        (r"output( tokens)?", ("standard", "output")),
    )
)

# The rules the page states, as it words them (matched on text with links and
# escapes removed). Multipliers and the discount are read, not assumed.
MULTIPLIER_RULES: dict[str, re.Pattern[str]] = {
    "cache_write": re.compile(r"5-minute cache write tokens are ([\d.]+) times the base input tokens price", re.I),
    "cache_write_1h": re.compile(r"1-hour cache write tokens are ([\d.]+) times the base input tokens price", re.I),
    "cached_input": re.compile(r"cache read tokens are ([\d.]+) times the base input tokens price", re.I),
}
BATCH_RULE = re.compile(r"(\d+(?:\.\d+)?)% discount on both input and output tokens", re.I)
STACKING_RULES: dict[str, re.Pattern[str]] = {
    "batch+cache": re.compile(r"batch API and prompt caching discounts can be combined", re.I),
    "long+batch": re.compile(r"batch API \d+% discount applies to long context pricing", re.I),
    "long+cache": re.compile(r"prompt caching multipliers apply on top of long context pricing", re.I),
}

_THRESHOLD = re.compile(r">\s*(\d+(?:\.\d+)?)\s*([km])\b")
_MODEL_NAME = re.compile(r"(?:Claude\s+)?(Opus|Sonnet|Haiku)\s+(\d+(?:\.\d+)?)")
_STATUS = re.compile(r"\s*\((deprecated|retired|legacy)\)", re.I)
_FOOTNOTE_MARKS = re.compile(r"<sup>.*?</sup>|[¹²³⁴⁵⁶⁷⁸⁹⁰*†‡]", re.I)
_UNIT = {"k": 1_000, "m": 1_000_000}

Table = tuple[list[str], list[list[str]]]  # (header cells, body rows), as markdown_tables gives them


class Rule(NamedTuple):
    """A pricing rule read off the page: its factor (if any) and its wording, for ``note``."""

    factor: Decimal
    quote: str


def parse(body: bytes, url: str) -> list[Observation]:
    """Read Anthropic's standard, batch and long-context rates, and derive the rest from its stated rules."""
    text = decode_page(body, url)
    reject_challenge(text, url)
    # Footnote marks glued to names or prices ("Claude Opus 4<sup>1</sup>") are not part of
    # them; the stars this also takes are emphasis that clean_cell would drop anyway.
    text = _FOOTNOTE_MARKS.sub("", text)
    tables = markdown_tables(text)
    published = price_table_rates(tables, "standard", url) + price_table_rates(tables, "batch", url)
    published += long_context_rates(text, tables, published, url)
    return published + derived_rates(published, page_rules(text))


def column_key(header_cell: str) -> tuple[str, str] | None:
    """The (tier, kind) a header cell prices, or None."""
    words = normalise_header(header_cell)
    return next((key for pattern, key in COLUMN_PATTERNS if pattern.fullmatch(words)), None)


def price_table_rates(tables: list[Table], tier: str, url: str) -> list[Observation]:
    """Rates of every table with a Model column and input and output prices for ``tier``."""
    found: dict[tuple, Observation] = {}
    for header, rows in tables:
        words = [normalise_header(cell) for cell in header]
        keys = [column_key(cell) for cell in header]
        if "model" not in words or not {(tier, "input"), (tier, "output")} <= set(keys):
            continue
        for row in rows:
            model, display_name, notes = resolve_name(row[words.index("model")])
            for cell, key in zip(row, keys, strict=False):
                if key is None or key[0] != tier:
                    continue
                usd = None if is_not_offered(cell) else parse_usd(cell, url=url)
                obs = Observation(
                    provider=PROVIDER, model=model, tier=tier, kind=key[1], usd_per_mtok=usd,
                    basis="not_offered" if usd is None else "published", display_name=display_name, note=notes,
                )
                if found.setdefault(obs.key, obs).usd_per_mtok != usd:
                    raise PageRejected(f"two prices for {obs.key} on the page", url=url)
    if not found:
        words = "Base Input Tokens ... Output Tokens" if tier == "standard" else "Batch input, Batch output"
        raise PageRejected(f"no {tier} model pricing table found (header: Model, {words})", url=url)
    return list(found.values())


def resolve_name(cell: str) -> tuple[str, str, str]:
    """A row's model cell -> (API id, display name, note). Unknown names get the slug rule."""
    display_name = _STATUS.sub("", cell).strip()
    notes = ["deprecated on the page"] if _STATUS.search(cell) else []
    model = model_id_for(PROVIDER, display_name)
    if model is None:
        model = slug_for(display_name)
        notes.append(f"{display_name!r} is not in data/models/anthropic.toml; id {model!r} by the slug rule")
    return model, display_name, "; ".join(notes)


def slug_for(display_name: str) -> str:
    """The id Anthropic's current naming gives a display name: "Claude Opus 4.5" -> "claude-opus-4-5"."""
    return re.sub(r"[^a-z0-9]+", "-", display_name.lower()).strip("-")


def long_context_rates(text: str, tables: list[Table], published: list[Observation], url: str) -> list[Observation]:
    """Published long-context rates, for each model the prose above the long-context table names."""
    base = {(o.model, o.kind): o.usd_per_mtok for o in published if o.tier == "standard"}
    out: list[Observation] = []
    for header, rows in tables:
        thresholds = [threshold_tokens(cell) for cell in header]
        if not any(thresholds):
            continue
        named = [resolve_name(name) for name in long_context_models(text, url)]
        for row in rows:
            for cell, threshold in zip(row, thresholds, strict=False):
                kind, usd = long_context_cell(cell, url)
                for model, display_name, notes in named:
                    if threshold:
                        out.append(Observation(
                            provider=PROVIDER, model=model, tier="standard", kind=kind, usd_per_mtok=usd,
                            min_prompt_tokens=threshold, display_name=display_name, note=notes,
                        ))  # fmt: skip
                    elif base.get((model, kind)) != usd:
                        # The table does not say which model it prices, so its
                        # base column must agree with every model the prose names.
                        raise PageRejected(f"long-context base {kind} {usd} does not match {display_name}'s", url=url)
    return out


def threshold_tokens(header_cell: str) -> int:
    """``> 200K input tokens`` -> 200000; 0 for a header naming no threshold (the ``≤ 200K`` column)."""
    match = _THRESHOLD.match(normalise_header(header_cell))
    return int(Decimal(match[1]) * _UNIT[match[2]]) if match else 0


def long_context_cell(cell: str, url: str) -> tuple[str, Decimal]:
    """``Input: $6 / MTok`` -> ("input", Decimal("6"))."""
    label, _, price = clean_cell(cell).partition(":")
    kind = normalise_header(label)
    if kind not in ("input", "output"):
        raise PageRejected(f"long-context cell {cell!r} names no input/output rate", url=url)
    return kind, parse_usd(price, url=url)


def long_context_models(text: str, url: str) -> list[str]:
    """Display names in the prose between the "Long context pricing" heading and its table."""
    section = re.search(r"^#+[^\n]*long context[^\n]*\n(.*?)^\|", text, re.I | re.M | re.S)
    names = dict.fromkeys(f"Claude {m[1]} {m[2]}" for m in _MODEL_NAME.finditer(section[1] if section else ""))
    if not names:
        raise PageRejected("long-context table found but no model named above it", url=url)
    return list(names)


def page_rules(text: str) -> dict[str, Rule]:
    """The pricing rules the page states, by name; absent rules are absent keys."""
    plain = clean_cell(text)  # one line, links and escapes removed, so a rule can wrap
    rules: dict[str, Rule] = {}
    for kind, pattern in MULTIPLIER_RULES.items():
        if match := pattern.search(plain):
            rules[kind] = Rule(Decimal(match[1]), match[0])
    if match := BATCH_RULE.search(plain):
        rules["batch"] = Rule(1 - Decimal(match[1]) / 100, match[0])
    for name, pattern in STACKING_RULES.items():
        if match := pattern.search(plain):
            rules[name] = Rule(Decimal(1), match[0])
    return rules


def derived_rates(published: list[Observation], rules: dict[str, Rule]) -> list[Observation]:
    """Rates the page gives no number for, computed from its stated rules; never one it states.

    Long-context cache rates come from the long-context input price times the
    cache multiplier. Batch rates come from the standard rate of the same kind
    times the batch discount: for batch cache rates that is the model's own
    published cache price, not batch input x multiplier. The two agree except
    where the table departs from the multipliers (Haiku 3: cache read $0.03,
    not 0.1 x $0.25), and there the model's own price is what the discount applies to.
    """
    stated = {o.key for o in published}
    out: dict[tuple, Observation] = {}

    def add(source: Observation, tier: str, kind: str, factor_rules: list[str], needs: list[str]) -> None:
        if source.usd_per_mtok is None or not all(r in rules for r in factor_rules + needs):
            return
        usd = source.usd_per_mtok
        for r in factor_rules:
            usd *= rules[r].factor
        quotes = "; ".join(f'"{rules[r].quote}"' for r in factor_rules + needs)
        origin = f" [{source.tier} {source.kind}: {source.note}]" if source.basis == "derived" else ""
        obs = Observation(
            provider=PROVIDER, model=source.model, tier=tier, kind=kind, usd_per_mtok=exact(usd),
            min_prompt_tokens=source.min_prompt_tokens, basis="derived", display_name=source.display_name,
            note=f"derived from {source.tier} {source.kind} {source.usd_per_mtok}{origin}: {quotes}",
        )
        if obs.key not in stated:
            out.setdefault(obs.key, obs)

    for o in published:  # long-context cache rates on standard
        if o.tier == "standard" and o.min_prompt_tokens > 0 and o.kind == "input":
            for kind in CACHE_KINDS:
                add(o, "standard", kind, [kind], ["long+cache"])
    for o in [*published, *out.values()]:  # batch rates: the discount stacks on every standard rate
        if o.tier == "standard":
            needs = ["long+batch"] if o.min_prompt_tokens > 0 else []
            needs += ["batch+cache"] if o.kind in CACHE_KINDS else []
            add(o, "batch", o.kind, ["batch"], needs)
    return list(out.values())


def exact(value: Decimal) -> Decimal:
    """Drop trailing zeros a product picks up (1.50 x 1.25 = 1.8750 -> 1.875) without exponent form."""
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()
