"""Parser for OpenAI's API pricing page, markdown form (developers.openai.com/api/docs/pricing.md).

Page shape (seen Aug-Nov 2026): prose, then one pipe table per service tier, each
under its own heading::

    ### Standard pricing data      -> tier standard
    ### Batch pricing data         -> tier batch
    ### Flex pricing data          -> tier flex
    ### Fast pricing data          -> tier priority (OpenAI renamed Priority to Fast)

    | Model | Short context input | Short context cached input | Short context cache writes
          | Short context output | Long context input | ... | Long context output |
    | gpt-5.5 (<272K context length) | $5.00 | $0.50 | - | $30.00 | $10.00 | $1.00 | - | $45.00 |

The first cell is the API model id; a ``(<272K context length)`` suffix gives the
prompt size above which the "Long context" columns apply (``min_prompt_tokens``).
``-`` means the rate is not offered. Dated snapshots (``gpt-4o-2024-05-13``) are
rows of their own: OpenAI bills them apart from the alias.

Below those come tables all headed ``### Grouped Pricing Table data``: the
"Cyber models" (same columns; standard prices, no tier label) and the
"Specialized models" (Category | Model | Input | Cached input | Output) under a
plain "Standard" or "Fast mode" label line. They are real API rates for models
the tier tables leave out (codex, search, embeddings, moderation), so they are
read too, their tier taken from the label line above them.
"""

import re
from decimal import Decimal
from typing import NamedTuple

from scrapers.errors import PageRejected
from scrapers.names import name_key
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

PROVIDER = "openai"

# Headings that name one tier's table. The live page has many more tables further
# down (audio, images, tools) whose columns ratecard does not model: tables under
# other headings are skipped, and REQUIRED_HEADINGS makes a renamed heading fail loudly.
TIER_BY_HEADING: dict[str, str] = {
    "standard pricing data": "standard",
    "batch pricing data": "batch",
    "flex pricing data": "flex",
    "fast pricing data": "priority",
    "priority pricing data": "priority",  # the heading before the July 2026 rename
}
GROUPED_HEADING = "grouped pricing table data"
# Plain label lines ("Standard", "Fast mode") that set the tier of a grouped table.
TIER_BY_LABEL: dict[str, str] = {
    "standard": "standard",
    "batch": "batch",
    "flex": "flex",
    "fast mode": "priority",
    "priority": "priority",
}
# The tables a real pricing page always has; without them the page is not the pricing page.
REQUIRED_HEADINGS: tuple[str, ...] = ("Standard pricing data", "Batch pricing data")

# Header words, once "short context"/"long context" is taken off, -> rate kind.
KIND_BY_HEADER: dict[str, str] = {
    "input": "input",
    "cached input": "cached_input",
    "cache writes": "cache_write",
    "cache write": "cache_write",
    "output": "output",
}

_LABEL = re.compile(r"(?P<model>[a-z0-9][a-z0-9.\-]*)(?:\s*\((?P<aside>[^)]*)\))?", re.IGNORECASE)
_THRESHOLD = re.compile(r"<\s*(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>[KM])\b", re.IGNORECASE)
_PROMOTION = re.compile(r"(GPT-[\w.\-]+(?: [A-Z]\w*)?)[’']s promotional pricing is available ([^.]+)\.")
_UNIT = {"k": 1_000, "m": 1_000_000}


class Table(NamedTuple):
    """A pipe table with the heading above it and the plain lines since the previous table."""

    heading: str
    lead: tuple[str, ...]
    header: list[str]
    rows: list[list[str]]


class Column(NamedTuple):
    """What one header cell prices."""

    index: int
    kind: str
    long_context: bool


def parse(body: bytes, url: str) -> list[Observation]:
    """Read every standard, batch, flex and priority rate from OpenAI's pricing page."""
    text = decode_page(body, url)
    reject_challenge(text, url)
    tables = headed_tables(text, url)
    headings = {normalise_header(table.heading) for table in tables}
    for required in REQUIRED_HEADINGS:
        if required.lower() not in headings:
            raise PageRejected(f"no {required!r} table found", url=url)
    priced = [(tier, table) for table in tables if (tier := table_tier(table)) is not None]
    threshold = page_threshold([table for _, table in priced])
    promotions = promotion_notes(text)
    found: dict[tuple, Observation] = {}
    for tier, table in priced:
        for obs in table_observations(table, tier, threshold, promotions, url):
            keep_consistent(found, obs, url)
    if not found:
        raise PageRejected("the pricing tables held no rates", url=url)
    return list(found.values())


def headed_tables(text: str, url: str = "") -> list[Table]:
    """Every pipe table in the page with the heading and the label lines that precede it.

    A run of pipe lines under a tier heading that does not read as a table (its
    separator row lost, say) rejects the page: skipping it would let the label
    lines above it name the next table.
    """
    tables: list[Table] = []
    heading, lead, block = "", [], []
    for line in [*text.splitlines(), ""]:
        if line.lstrip().startswith("|"):
            block.append(line)
            continue
        if block:
            parsed = markdown_tables("\n".join(block))
            if not parsed and table_tier(Table(heading, tuple(lead), [], [])) is not None:
                raise PageRejected(f"a table under {heading!r} is not a readable pipe table", url=url)
            tables.extend(Table(heading, tuple(lead), header, rows) for header, rows in parsed)
            lead = [] if parsed else lead
            block = []
        stripped = line.strip()
        if stripped.startswith("#"):
            heading = clean_cell(stripped.lstrip("#"))
        elif stripped:
            lead.append(clean_cell(stripped))
    return tables


def table_tier(table: Table) -> str | None:
    """The tier a table prices, from its heading (or label line), or None if it is not a rate table."""
    heading = normalise_header(table.heading)
    if heading in TIER_BY_HEADING:
        return TIER_BY_HEADING[heading]
    if heading != GROUPED_HEADING:
        return None
    labels = [TIER_BY_LABEL[line.lower()] for line in table.lead if line.lower() in TIER_BY_LABEL]
    # The "Cyber models" table has no label line; its gpt-5.6-sol row repeats the
    # Standard table's prices exactly, so unlabelled grouped tables are standard.
    return labels[-1] if labels else "standard"


def table_columns(header: list[str], url: str) -> tuple[int, list[Column]]:
    """Find the model column and the priced columns of a table by their header words."""
    words = [normalise_header(cell) for cell in header]
    if "model" not in words:
        raise PageRejected(f"pricing table has no 'Model' column (header {header})", url=url)
    columns = []
    for index, cell in enumerate(words):
        long_context = cell.startswith("long context ")
        base = cell.removeprefix("long context ").removeprefix("short context ")
        if base in KIND_BY_HEADER:
            columns.append(Column(index, KIND_BY_HEADER[base], long_context))
    if not {"input", "output"} <= {c.kind for c in columns}:
        raise PageRejected(f"pricing table lacks input/output columns (header {header})", url=url)
    return words.index("model"), columns


def read_label(cell: str, url: str) -> tuple[str, int | None]:
    """Split ``gpt-5.5 (<272K context length)`` into the model id and the long-context threshold."""
    match = _LABEL.fullmatch(cell.strip())
    if not match:
        raise PageRejected(f"unreadable model label {cell!r}", url=url)
    return match["model"], threshold_in(match["aside"] or "")


def threshold_in(text: str) -> int | None:
    """The prompt size in ``<272K context length``: 272000; None if the text states none."""
    match = _THRESHOLD.search(text)
    return int(Decimal(match["n"]) * _UNIT[match["unit"].lower()]) if match and "context" in text else None


def page_threshold(tables: list[Table]) -> int | None:
    """The long-context threshold the page's labels state, if they all state the same one.

    Some rows (gpt-5.6-*) carry long-context prices without a label; the page
    states one threshold for every labelled row, so that one applies to them.
    """
    found = {threshold_in(cell) for table in tables for row in table.rows for cell in row} - {None}
    return found.pop() if len(found) == 1 else None


def promotion_notes(text: str) -> dict[str, str]:
    """Caveats the page gives about a model's price ("promotional pricing ..."), by folded name."""
    return {name_key(m[1]): f"promotional pricing, available {m[2]} (page)" for m in _PROMOTION.finditer(text)}


def read_rate(cell: str, url: str) -> Decimal | None:
    """A cell's price; None when the page says the rate is not offered."""
    if is_not_offered(cell):
        return None
    if cell.strip().lower() == "free":
        return Decimal(0)
    return parse_usd(cell, url=url)


def table_observations(
    table: Table, tier: str, page_threshold_tokens: int | None, promotions: dict[str, str], url: str
) -> list[Observation]:
    """Turn each row of one tier's table into observations."""
    model_index, columns = table_columns(table.header, url)
    observations: list[Observation] = []
    for row in table.rows:
        cells = {c: (row[c.index] if c.index < len(row) else "") for c in columns}
        if all(is_not_offered(cell) for cell in cells.values()):
            continue  # a row with no price at all (gpt-5.4-cyber) states no rate; missing is not "not offered"
        model, threshold = read_label(row[model_index], url)
        # A long-context group that is all "-" means the model has no long context.
        has_long = any(not is_not_offered(cell) for c, cell in cells.items() if c.long_context)
        inferred = ""
        if has_long and threshold is None:
            threshold = page_threshold_tokens
            if threshold is None:
                raise PageRejected(f"{model} has long-context rates but the page states no threshold", url=url)
            inferred = f"threshold not on this row; the page states {threshold} for every labelled row"
        for column, cell in cells.items():
            if column.long_context and not has_long:
                continue
            usd = read_rate(cell, url)
            notes = [
                promotions.get(name_key(model), ""),
                inferred if column.long_context else "",
                "page says Free" if cell.strip().lower() == "free" else "",
            ]
            observations.append(
                Observation(
                    provider=PROVIDER,
                    model=model,
                    tier=tier,
                    kind=column.kind,
                    usd_per_mtok=usd,
                    min_prompt_tokens=threshold if column.long_context else 0,
                    basis="not_offered" if usd is None else "published",
                    display_name=model,
                    note="; ".join(filter(None, notes)),
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
