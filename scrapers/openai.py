"""Parser for OpenAI's API pricing page, markdown form (developers.openai.com/api/docs/pricing.md).

Page shape (seen Aug-Nov 2026): prose, then one table per service tier. The
tier comes from whatever the page's form gives (see :mod:`scrapers.tables`):
a heading (``### Batch pricing data``), a tab label line above the table
("Batch", "Fast mode"), or an MDX ``tier="batch"`` prop. "Fast" is stored as
tier ``priority``: OpenAI renamed Priority processing to Fast mode on July 30,
2026 and accepts either ``service_tier`` value, so it is one tier under two
names, and keeping ``priority`` keeps the history of the rates continuous::

    | Model | Short context input | Short context cached input | Short context cache writes
          | Short context output | Long context input | ... | Long context output |
    | gpt-5.5 (<272K context length) | $5.00 | $0.50 | - | $30.00 | $10.00 | $1.00 | - | $45.00 |

Columns are found by meaning (header synonyms, a two-row header joined), the
first model column names the API id, and a ``(<272K context length)`` note
gives the prompt size above which the "Long context" columns apply
(``min_prompt_tokens``). Long-context rates are produced only where the row
prices them (all ``-`` means the model has no long-context price). ``-`` is
"not offered". Dated snapshots (``gpt-4o-2024-05-13``) are rows of their own.

Further down come grouped tables: "Cyber models" (same columns, no tier
label: standard), realtime/audio and image models with a ``Modality`` column
(Text rows give the text kinds, Audio rows ``input_audio`` /
``cached_input_audio``; image tokens and audio output have no kind in
ratecard and are left out), transcription, and "Specialized models" under
"Standard" / "Fast mode" labels. Cells priced per something else (``$15.00 /
1M characters``, ``/ minute``) are not per-token rates and are not read.
Tables that name no model and input/output columns (tools, video per second)
are not price tables. Fine-tuning tables (a ``Training`` column) price
fine-tuned models, whose ids collide with the base snapshots they were tuned
from, so they are not read as those models' rates.

Sections: each tier table is read alone. A tier table that cannot be read
(its columns unrecognisable) is skipped with its tier as the scope; a page
whose standard table is missing or unreadable is not the pricing page.
The data-residency uplift the page states ("a 10% uplift") is kept as a rule
in every rate's note.
"""

import re
from decimal import Decimal
from typing import NamedTuple

from ratecard.scrapers.errors import PageRejected
from ratecard.scrapers.names import name_key
from ratecard.scrapers.observation import Observation, Reading, SkippedSection
from ratecard.scrapers.tables import (
    Table,
    column_role,
    is_model_header,
    read_cell,
    read_tables,
    split_name,
    stated_multipliers,
    words_of,
)
from ratecard.scrapers.text import clean_cell, decode_page, reject_challenge

PROVIDER = "openai"
# The tier tables a pricing page has; a missing one is a skipped section, a
# missing standard table means this is not the pricing page.
EXPECTED_TIERS: dict[str, str] = {"standard": "Standard pricing data", "batch": "Batch pricing data"}
# Audio rows of a Modality table price these kinds instead of the text ones.
AUDIO_KINDS: dict[str, str] = {"input": "input_audio", "cached_input": "cached_input_audio"}
GROUPED_HEADING = "grouped pricing table data"

_MODEL_ID = re.compile(r"[a-z0-9][a-z0-9.\-]*")
_THRESHOLD = re.compile(r"<\s*(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>[KM])\b", re.IGNORECASE)
_PROMOTION = re.compile(r"(GPT-[\w.\-]+(?: [A-Z]\w*)?)[’']s promotional pricing is available ([^.]+)\.")
_UNIT = {"k": 1_000, "m": 1_000_000}


class Column(NamedTuple):
    """What one header cell prices."""

    index: int
    kind: str
    long_context: bool


class Layout(NamedTuple):
    """Where a table keeps its model names, its modality (if any) and its priced columns."""

    model: int
    modality: int | None
    columns: list[Column]


def parse(body: bytes, url: str) -> Reading:
    """Read every standard, batch, flex and priority rate from OpenAI's pricing page."""
    text = decode_page(body, url)
    reject_challenge(text, url)
    tables = read_tables(text)
    rules = stated_multipliers(text)
    promotions = promotion_notes(text)
    threshold = page_threshold(tables)
    found: dict[tuple, Observation] = {}
    skipped: list[SkippedSection] = []
    seen_tiers: set[str] = set()
    for table in tables:
        if table.broken:
            # Damage, not drift: its scope cannot be told, and its label would name the next table.
            raise PageRejected(f"a table under {table.heading!r} is not a readable pipe table", url=url)
        heading_tier = table.tier() if "pricing data" in words_of(table.heading) else None
        tier = table.tier(default="standard")
        layout = table_layout(table)
        if layout is None:
            if heading_tier is not None and words_of(table.heading) != GROUPED_HEADING:
                skipped.append(SkippedSection(
                    section=table.name, reason=f"no model column with input and output prices (header {table.header})",
                    providers=(PROVIDER,), tiers=(heading_tier,),
                ))  # fmt: skip
            continue
        if words_of(table.heading) != GROUPED_HEADING:
            seen_tiers.add(tier)  # a main tier table; grouped tables (images, specialized) do not stand in for one
        try:
            if table.cut:
                raise PageRejected("the page ends inside this table: the body may be cut short", url=url)
            rows = table_observations(table, layout, tier, threshold, promotions, rules, url)
        except PageRejected as exc:
            skipped.append(SkippedSection(section=table.name, reason=exc.reason, providers=(PROVIDER,), tiers=(tier,)))
            continue
        for obs in rows:
            keep_consistent(found, obs, url)
    for tier, name in EXPECTED_TIERS.items():
        if tier not in seen_tiers and not any(tier in s.tiers for s in skipped):
            if tier == "standard" and not found:
                raise PageRejected(f"no {name!r} table found", url=url)
            skipped.append(SkippedSection(section=name, reason=f"no {name!r} table found on the page",
                                          providers=(PROVIDER,), tiers=(tier,)))  # fmt: skip
    if not found:
        raise PageRejected("the pricing tables held no rates", url=url)
    return Reading(observations=list(found.values()), skipped=skipped)


def table_layout(table: Table) -> Layout | None:
    """The model column and priced columns of a table; None for a table that is not a per-token price table."""
    words = [words_of(cell) for cell in table.header]
    if "training" in words:
        return None  # fine-tuned models' rates; see the module docstring
    model = next((i for i, cell in enumerate(table.header) if is_model_header(cell)), None)
    if model is None:
        return None
    columns = []
    for index, cell in enumerate(table.header):
        role = column_role(cell)
        if role is not None and index != model:
            columns.append(Column(index, role.kind, role.long_context))
    if not {"input", "output"} <= {c.kind for c in columns}:
        return None
    modality = words.index("modality") if "modality" in words else None
    return Layout(model, modality, columns)


def threshold_in(text: str) -> int | None:
    """The prompt size in ``<272K context length``: 272000; None if the text states none."""
    match = _THRESHOLD.search(text)
    return int(Decimal(match["n"]) * _UNIT[match["unit"].lower()]) if match and "context" in text else None


def page_threshold(tables: list[Table]) -> int | None:
    """The long-context threshold the page's labels state, if they all state the same one.

    Some rows (gpt-5.6-*) carry long-context prices without a label; the page
    states one threshold for every labelled row, so that one applies to them.
    """
    found = {threshold_in(clean_cell(cell)) for table in tables for row in table.rows for cell in row} - {None}
    return found.pop() if len(found) == 1 else None


def promotion_notes(text: str) -> dict[str, str]:
    """Caveats the page gives about a model's price ("promotional pricing ..."), by folded name."""
    return {name_key(m[1]): f"promotional pricing, available {m[2]} (page)" for m in _PROMOTION.finditer(text)}


def table_observations(
    table: Table,
    layout: Layout,
    tier: str,
    page_threshold_tokens: int | None,
    promotions: dict[str, str],
    rules: list[str],
    url: str,
) -> list[Observation]:
    """Turn each row of one price table into observations."""
    observations: list[Observation] = []
    for row in table.rows:
        kinds = {c.kind: c.kind for c in layout.columns}
        if layout.modality is not None:
            modality = words_of(row[layout.modality]) if layout.modality < len(row) else ""
            if modality == "audio":
                kinds = {k: AUDIO_KINDS.get(k, "") for k in kinds}
            elif modality != "text":
                continue  # image tokens have no kind in ratecard
        cells = {c: read_cell(row[c.index] if c.index < len(row) else "") for c in layout.columns if kinds[c.kind]}
        if not any(cell.usd_per_mtok is not None for cell in cells.values()):
            continue  # a row with no per-token price at all (gpt-5.4-cyber, tts-1) states no rate
        name = split_name(row[layout.model])
        model = name.name.lower()
        if not _MODEL_ID.fullmatch(model):
            raise PageRejected(f"unreadable model label {row[layout.model]!r}", url=url)
        threshold = threshold_in(name.note)
        # A long-context group that is all "-" means the model has no long context.
        has_long = any(cell.usd_per_mtok is not None for c, cell in cells.items() if c.long_context)
        inferred = ""
        if has_long and threshold is None:
            threshold = page_threshold_tokens
            if threshold is None:
                raise PageRejected(f"{model} has long-context rates but the page states no threshold", url=url)
            inferred = f"threshold not on this row; the page states {threshold} for every labelled row"
        row_note = name.note if threshold_in(name.note) is None else ""
        for column, cell in cells.items():
            if (column.long_context and not has_long) or not cell.is_rate:
                continue
            notes = [
                row_note,
                promotions.get(name_key(model), ""),
                inferred if column.long_context else "",
                cell.note,
                *(f"page states: {rule}" for rule in rules if cell.usd_per_mtok is not None),
            ]
            observations.append(
                Observation(
                    provider=PROVIDER,
                    model=model,
                    tier=tier,
                    kind=kinds[column.kind],
                    usd_per_mtok=cell.usd_per_mtok,
                    min_prompt_tokens=threshold if column.long_context else 0,
                    basis="not_offered" if cell.usd_per_mtok is None else "published",
                    display_name=model,
                    note="; ".join(filter(None, notes)),
                    valid_from=name.period.valid_from,
                    valid_to=name.period.valid_to,
                )
            )
    return observations


def keep_consistent(found: dict[tuple, Observation], obs: Observation, url: str) -> None:
    """Add an observation; a rate the page repeats must repeat the same price."""
    earlier = found.get(obs.key)
    if earlier is None:
        found[obs.key] = obs
    elif (earlier.usd_per_mtok, earlier.basis) != (obs.usd_per_mtok, obs.basis):
        prices = f"{earlier.usd_per_mtok} and {obs.usd_per_mtok}"
        raise PageRejected(f"the page gives two prices for {obs.key}: {prices}", url=url)
