"""Parser for Groq's models page, markdown form (console.groq.com/docs/models.md).

Page shape (seen 2026-08): one ``##`` section per group ("Production Models",
"Production Systems", "Preview Models"), each with one pipe table::

    | MODEL ID | SPEED (T/SEC) | PRICE PER 1M TOKENS | RATE LIMITS (DEVELOPER PLAN) | ... |
    | [![OpenAI](logo.svg)GPT OSS 120B](/docs/model/openai/gpt-oss-120b)openai/gpt-oss-120b | 500
        | $0.15 input$0.60 output | ... |

The model cell is a link (logo image + display name) followed by the API id,
sometimes with a badge glued in front (``Enterprisellama-3.1-8b-instant``).
The id is Groq's own, slashes included (``openai/gpt-oss-120b``). The price
cell pairs each dollar amount with the kind it prices; a cached-input amount,
where Groq gives one, is read the same way.

Rows without a per-token price are skipped on purpose: "ContactSales"
(enterprise-only models, no public price), "-" on the Compound systems (billed
as the models and tools they call, not a rate of their own), and prices per
audio hour (Whisper) or per 1M characters (Orpheus text-to-speech).
"""

import re
from decimal import Decimal

from ratecard.scrapers.errors import PageRejected
from ratecard.scrapers.observation import Observation, Reading
from ratecard.scrapers.tables import html_tables_as_pipes
from ratecard.scrapers.text import decode_page, is_not_offered, markdown_tables, normalise_header, reject_challenge

PROVIDER = "groq"

# The model cell's link, images dropped: "[![alt](img)Name](href)" -> "Name {{href}} ",
# rewritten before the table helpers clean cells (they would keep only the link text).
_MODEL_LINK = re.compile(r"\[(?:!\[[^\]]*\]\([^)]*\))?([^\[\]]*)\]\(([^)\s]*)\)")
_MODEL_CELL = re.compile(r"^(?P<name>.*?)\s*\{\{(?P<href>[^}]*)\}\}\s*(?P<tail>.*)$")
# Badges the page glues in front of an id; read off only when the link does not give the id.
_BADGES = re.compile(r"^(?:Enterprise|Preview|Beta|New|Deprecated)+")
_API_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$")
_TOKEN_PRICE = re.compile(r"\$\s*([0-9][0-9,]*(?:\.[0-9]+)?)\s*(cached input|cached|input|output)\b", re.IGNORECASE)
# Prices in units ratecard does not model: audio time, characters spoken, images, calls.
_NON_TOKEN_PRICE = re.compile(
    r"\$\s*[0-9][0-9,.]*\s*(?:per|/)\s*(?:[0-9.]+[KM]?\s*)?(?:hours?|minutes?|min|seconds?|characters?|images?|requests?|calls?)\b",
    re.IGNORECASE,
)
KIND_BY_WORD: dict[str, str] = {
    "input": "input",
    "cached input": "cached_input",
    "cached": "cached_input",
    "output": "output",
}
PREVIEW_NOTE = "preview model: Groq says it may be discontinued at short notice"


def parse(body: bytes, url: str) -> Reading:
    """Read the page into a Reading: every rate of :func:`read_rates`; this page has no separately skippable section."""
    return Reading(observations=read_rates(body, url))


def read_rates(body: bytes, url: str) -> list[Observation]:
    """Read Groq's models page into standard-tier per-1M-token rates per Groq model id."""
    text = decode_page(body, url)
    reject_challenge(text, url)
    text = html_tables_as_pipes(text)
    observations: list[Observation] = []
    tables_seen = 0
    for heading, section in _sections(text):
        note = PREVIEW_NOTE if "preview" in heading.lower() else ""
        for header, rows in markdown_tables(section):
            columns = _columns(header)
            if columns is None:
                continue
            tables_seen += 1
            for row in rows:
                observations.extend(_row_observations(row, columns, note, url))
    if not tables_seen:
        raise PageRejected("no model table with 'MODEL ID' and 'PRICE PER 1M TOKENS' columns", url=url)
    if not observations:
        raise PageRejected("no per-1M-token price in the model tables", url=url)
    return observations


def model_cell(cell: str, url: str) -> tuple[str, str]:
    """(API id, display name) from a model cell rewritten as "Name {{href}} [Badge]id"."""
    match = _MODEL_CELL.match(cell)
    if not match:  # a bare id without a link
        name, href, tail = "", "", cell.strip()
    else:
        name, href, tail = match.group("name"), match.group("href"), match.group("tail").strip()
    # The docs link ends in the id for models (/docs/model/openai/gpt-oss-120b) but
    # not for systems (/docs/compound/systems/compound vs groq/compound).
    slug = href.split("/docs/model/", 1)[1] if "/docs/model/" in href else ""
    model = slug if slug and tail.endswith(slug) else _BADGES.sub("", tail)
    if not _API_ID.match(model):
        raise PageRejected(f"cannot read a model id from the cell {cell!r}", url=url)
    return model, name or model


def price_pairs(cell: str) -> list[tuple[str, Decimal]]:
    """(kind, USD per 1M tokens) for each amount in a price cell ("$0.15 input$0.60 output")."""
    return [
        (KIND_BY_WORD[word.lower()], Decimal(amount.replace(",", "")))
        for amount, word in _TOKEN_PRICE.findall(cell)
    ]


def _sections(text: str) -> list[tuple[str, str]]:
    """(heading, body) for each ``##`` section, links in table rows rewritten for :func:`model_cell`."""
    sections: list[tuple[str, list[str]]] = [("", [])]
    for line in text.splitlines():
        if line.startswith("## "):
            sections.append((line[3:], []))
        elif line.lstrip().startswith("|"):
            sections[-1][1].append(_MODEL_LINK.sub(r"\1 {{\2}} ", line))
        else:
            sections[-1][1].append(line)
    return [(heading, "\n".join(lines)) for heading, lines in sections]


def _columns(header: list[str]) -> tuple[int, int] | None:
    """(model column, price column) of a model table, None for other tables."""
    names = [normalise_header(cell) for cell in header]
    model = next((i for i, name in enumerate(names) if name == "model id"), None)
    price = next((i for i, name in enumerate(names) if name.startswith("price") and "1m tokens" in name), None)
    return None if model is None or price is None else (model, price)


def _row_observations(row: list[str], columns: tuple[int, int], note: str, url: str) -> list[Observation]:
    model_col, price_col = columns
    if len(row) <= max(columns):
        raise PageRejected(f"model table row has {len(row)} cells, expected a price column: {row!r}", url=url)
    cell, annotation = split_annotation(row[model_col])
    model, name = model_cell(cell, url)
    note = "; ".join(n for n in (note, annotation) if n)
    cell = row[price_col]
    pairs = price_pairs(cell)
    if not pairs:
        if _is_skipped_price(cell):
            return []
        raise PageRejected(f"unreadable price {cell!r} for {model}", url=url)
    return [
        Observation(
            provider=PROVIDER,
            model=model,
            tier="standard",
            kind=kind,
            usd_per_mtok=usd,
            display_name=name,
            note=note,
        )
        for kind, usd in pairs
    ]


def split_annotation(cell: str) -> tuple[str, str]:
    """A model cell without what follows the id: a footnote mark (``<sup>2</sup>``, ``¹``) or a
    parenthesised annotation ("(preview)"), which goes to the note. Names stay names."""
    cell = re.sub(r"<sup>.*?</sup>|[¹²³⁴⁵⁶⁷⁸⁹⁰†‡]+", "", cell).rstrip()
    # A <sup> mark the table reader already turned to a spaced number: an id holds no space.
    cell = re.sub(r"(?<=\S)\s+\d{1,2}$", "", cell)
    match = re.search(r"\s*\(([^(){}]*)\)$", cell)
    if match is None:
        return cell, ""
    return cell[: match.start()].rstrip(), match[1].strip()


def _is_skipped_price(cell: str) -> bool:
    """True for price cells that are deliberately not token rates (see the module docstring)."""
    folded = cell.replace(" ", "").lower()
    return folded == "contactsales" or is_not_offered(cell) or bool(_NON_TOKEN_PRICE.search(cell))
