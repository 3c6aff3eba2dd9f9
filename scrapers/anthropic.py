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

Since 2026 the page also prints a "Fast mode pricing" table (``Claude Opus 5 /
Claude Opus 4.8 | $10 / MTok | $50 / MTok``). Fast mode is a per-model speed
premium on the standard API, the offer OpenAI now also calls Fast mode and
stores as its ``priority`` tier; Anthropic's is stored as tier ``priority`` too,
so "what does the fast lane cost" is one tier across providers. A row naming
several models prices each of them. Rows dated in their name ("Claude Sonnet 5
through August 31, 2026" / "starting September 1, 2026") become two intervals
of one model (``valid_to`` / ``valid_from``); annotations ("(retired, except
on Bedrock ...)", "(limited availability)") go to ``note``, never into the id.
Long-context rows exist only on pages that print a long-context table; newer
pages say 4.6-and-later models have none. The data-residency multiplier the
page states (1.1x) is kept as a rule in the note of every priced rate.

Sections: the model table (standard), the batch table and the fast-mode table
are each read alone; a missing or unreadable batch table is skipped with tier
``batch`` as its scope and the rest of the page kept. A page without a
readable model table is not the pricing page.

Display names become API ids through data/models/anthropic.toml. A name the
catalog does not know is a new model, which is normal: it gets the slug rule's
id ("Claude Opus 4.5" -> ``claude-opus-4-5``) and a note saying so, never dropped.
"""

import re
from decimal import Decimal
from typing import NamedTuple

from ratecard.scrapers.errors import PageRejected
from ratecard.scrapers.names import model_id_for
from ratecard.scrapers.observation import Observation, Reading, SkippedSection
from ratecard.scrapers.tables import (
    Table,
    column_role,
    is_model_header,
    read_cell,
    read_tables,
    several_names,
    split_name,
    stated_multipliers,
    unique,
    words_of,
)
from ratecard.scrapers.text import clean_cell, decode_page, normalise_header, parse_usd, reject_challenge

PROVIDER = "anthropic"
CACHE_KINDS: tuple[str, ...] = ("cached_input", "cache_write", "cache_write_1h")
# The tables a pricing page prices, by the tier they carry, and how a skipped one is named.
TABLE_NAMES: dict[str, str] = {"standard": "Model pricing", "batch": "Batch processing", "priority": "Fast mode pricing"}

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
    "fast+cache": re.compile(r"prompt caching multipliers apply on top of fast mode pricing", re.I),
}

_THRESHOLD = re.compile(r">\s*(\d+(?:\.\d+)?)\s*([km])\b")
_MODEL_NAME = re.compile(r"(?:Claude\s+)?(Opus|Sonnet|Haiku)\s+(\d+(?:\.\d+)?)")
_FOOTNOTE_MARKS = re.compile(r"<sup>.*?</sup>|[¹²³⁴⁵⁶⁷⁸⁹⁰*†‡]", re.I)
_MULTIPLIER_CELL = re.compile(r"([\d.]+)\s*x\b", re.I)
_UNIT = {"k": 1_000, "m": 1_000_000}


class Rule(NamedTuple):
    """A pricing rule read off the page: its factor (if any) and its wording, for ``note``."""

    factor: Decimal
    quote: str


def parse(body: bytes, url: str) -> Reading:
    """Read Anthropic's standard, batch, fast-mode and long-context rates, and derive the rest from its stated rules."""
    text = decode_page(body, url)
    reject_challenge(text, url)
    # Footnote marks glued to prices ("\\$3<sup>1</sup>") are not part of them.
    text = _FOOTNOTE_MARKS.sub("", text)
    tables = read_tables(text)
    residency = [f"page states: {rule}" for rule in stated_multipliers(text)]
    published: list[Observation] = []
    skipped: list[SkippedSection] = []
    read_tiers: set[str] = set()
    for table in (t for t in tables if not t.broken):
        columns = price_columns(table)
        if columns is None:
            continue
        try:
            if table.cut:
                raise PageRejected("the page ends inside this table: the body may be cut short", url=url)
            rows = table_rates(table, columns, residency, url)
        except PageRejected as exc:
            tiers = unique(tier for _, tier, _ in columns)
            models = unique(resolve_name(n)[0] for row in table.rows if row for n in several_names(split_name(row[0]).name))
            skipped.append(SkippedSection(section=table.name, reason=exc.reason, providers=(PROVIDER,),
                                          tiers=tiers, models=models))  # fmt: skip
            continue
        read_tiers |= {o.tier for o in rows}
        published.extend(rows)
    if "standard" not in read_tiers:
        if skipped:
            raise PageRejected(f"the model pricing table could not be read: {skipped[0].reason}", url=url)
        raise PageRejected(
            "no standard model pricing table found (header: Model, Base Input Tokens ... Output Tokens)", url=url
        )
    if "batch" not in read_tiers and not any("batch" in s.tiers for s in skipped):
        skipped.append(SkippedSection(section=TABLE_NAMES["batch"], reason="no batch pricing table found "
                                      "(header: Model, Batch input, Batch output)", providers=(PROVIDER,),
                                      tiers=("batch",)))  # fmt: skip
    published = check_repeats(published, url)
    try:
        published += long_context_rates(text, tables, published, url)
    except PageRejected as exc:
        skipped.append(SkippedSection(section="Long context pricing", reason=exc.reason, providers=(PROVIDER,)))
    rules = page_rules(text, tables)
    derived = derived_rates(published, rules)
    # A skipped table's rates stay as they were: nothing is derived into its scope.
    skipped_tiers = {t for s in skipped for t in s.tiers}
    derived = [o for o in derived if o.tier not in skipped_tiers]
    return Reading(observations=published + derived, skipped=skipped)


def price_columns(table: Table) -> list[tuple[int, str, str]] | None:
    """(index, tier, kind) of each priced column of a model table; None for a table of something else.

    A column's tier is the one its header names ("Batch input"), else the
    fast-mode tier when the table sits under a fast-mode heading or label,
    else standard. Batch columns always name their tier, so a table moved
    under the batch heading is still the standard table.
    """
    if not table.header or not is_model_header(table.header[0]):
        return None
    table_tier = "priority" if table.tier() == "priority" else "standard"
    columns = []
    for index, cell in enumerate(table.header[1:], start=1):
        role = column_role(cell)
        if role is not None and not role.long_context:
            columns.append((index, role.tier or table_tier, role.kind))
    kinds = {kind for _, _, kind in columns}
    return columns if {"input", "output"} <= kinds else None


def table_rates(table: Table, columns: list[tuple[int, str, str]], rules: list[str], url: str) -> list[Observation]:
    """Rates of one model table, a row naming several models giving each of them."""
    out: list[Observation] = []
    for row in table.rows:
        if not row or not clean_cell(row[0]):
            continue
        name = split_name(row[0])
        for display_name in several_names(name.name):
            model, notes = resolve_name(display_name)
            for index, tier, kind in columns:
                cell = read_cell(row[index] if index < len(row) else "")
                if not cell.is_rate:
                    raise PageRejected(f"{display_name}: expected a price per MTok, found {row[index]!r}", url=url)
                priced = cell.usd_per_mtok is not None
                note = "; ".join(filter(None, [name.note, notes, *(rules if priced else [])]))
                out.append(Observation(
                    provider=PROVIDER, model=model, tier=tier, kind=kind, usd_per_mtok=cell.usd_per_mtok,
                    basis="published" if priced else "not_offered", display_name=display_name, note=note,
                    valid_from=name.period.valid_from, valid_to=name.period.valid_to,
                ))  # fmt: skip
    return out


def period_key(obs: Observation) -> tuple:
    """A rate key with its stated period: two dated intervals of one rate are two rates."""
    return (*obs.key, obs.valid_from, obs.valid_to)


def check_repeats(observations: list[Observation], url: str) -> list[Observation]:
    """Each rate once; a rate the page repeats must repeat the same price."""
    found: dict[tuple, Observation] = {}
    for obs in observations:
        if found.setdefault(period_key(obs), obs).usd_per_mtok != obs.usd_per_mtok:
            raise PageRejected(f"two prices for {obs.key} on the page", url=url)
    return list(found.values())


def resolve_name(display_name: str) -> tuple[str, str]:
    """A display name -> (API id, note). Unknown names get the slug rule."""
    model = model_id_for(PROVIDER, display_name)
    if model is None:
        model = slug_for(display_name)
        return model, f"{display_name!r} is not in data/models/anthropic.toml; id {model!r} by the slug rule"
    return model, ""


def slug_for(display_name: str) -> str:
    """The id Anthropic's current naming gives a display name: "Claude Opus 4.5" -> "claude-opus-4-5"."""
    return re.sub(r"[^a-z0-9]+", "-", display_name.lower()).strip("-")


def long_context_rates(text: str, tables: list[Table], published: list[Observation], url: str) -> list[Observation]:
    """Published long-context rates, for each model the prose above the long-context table names."""
    base = {(o.model, o.kind): o.usd_per_mtok for o in published if o.tier == "standard" and o.valid_from is None}
    out: list[Observation] = []
    for table in tables:
        thresholds = [threshold_tokens(cell) for cell in table.header]
        if not any(thresholds):
            continue
        named = [(*resolve_name(name), name) for name in long_context_models(text, url)]
        for row in table.rows:
            for cell, threshold in zip(row, thresholds, strict=False):
                kind, usd = long_context_cell(cell, url)
                for model, notes, display_name in named:
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


def page_rules(text: str, tables: list[Table] = ()) -> dict[str, Rule]:
    """The pricing rules the page states, by name; absent rules are absent keys.

    Cache multipliers are read from the prose ("5-minute cache write tokens are
    1.25 times ...") or, on newer pages, from the table of cache operations
    (``5-minute cache write | 1.25x base input price``).
    """
    plain = clean_cell(text)  # one line, links and escapes removed, so a rule can wrap
    rules: dict[str, Rule] = {}
    for kind, pattern in MULTIPLIER_RULES.items():
        if match := pattern.search(plain):
            rules[kind] = Rule(Decimal(match[1]), match[0])
    for table in tables:
        words = [words_of(cell) for cell in table.header]
        if "multiplier" not in words:
            continue
        for row in table.rows:
            role = column_role(re.sub(r"\(hits?\)", "", clean_cell(row[0])))
            factor = _MULTIPLIER_CELL.search(clean_cell(row[words.index("multiplier")]))
            if role is not None and factor and role.kind in CACHE_KINDS and role.kind not in rules:
                rules[role.kind] = Rule(Decimal(factor[1]), " | ".join(clean_cell(c) for c in row))
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
    stated = {period_key(o) for o in published}
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
            valid_from=source.valid_from, valid_to=source.valid_to,
        )
        if period_key(obs) not in stated:
            out.setdefault(period_key(obs), obs)

    for o in published:  # long-context cache rates on standard, and fast-mode cache rates
        if o.tier == "standard" and o.min_prompt_tokens > 0 and o.kind == "input":
            for kind in CACHE_KINDS:
                add(o, "standard", kind, [kind], ["long+cache"])
        if o.tier == "priority" and o.kind == "input":
            for kind in CACHE_KINDS:
                add(o, "priority", kind, [kind], ["fast+cache"])
    for o in [*published, *out.values()]:  # batch rates: the discount stacks on every standard rate
        if o.tier == "standard":
            needs = ["long+batch"] if o.min_prompt_tokens > 0 else []
            needs += ["batch+cache"] if o.kind in CACHE_KINDS else []
            add(o, "batch", o.kind, ["batch"], needs)
    return list(out.values())


def exact(value: Decimal) -> Decimal:
    """Drop trailing zeros a product picks up (1.50 x 1.25 = 1.8750 -> 1.875) without exponent form."""
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()
