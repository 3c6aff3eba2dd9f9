"""The shared table-reading layer: tables, column roles, tiers and names, by meaning.

Every provider page prints its prices in tables, and every page changes its
wording and layout over time. This module reads the forms the pages take so a
parser states only what is particular to its provider:

* :func:`read_tables` finds every table of a page in document order -- markdown
  pipe tables (a two-row header such as ``| | Short context | | Long context |``
  over ``| Model | Input | Output | Input | Output |`` is joined into one header;
  rows that lost their leading cells to a merged label are filled from the row
  above), HTML ``<table>`` elements (``rowspan``/``colspan`` expanded) whether
  the page is HTML or markdown with HTML inside, and MDX components carrying
  their rows as a prop (``<TextTokenPricingTables tier="batch" rows={[...]}>``).
  Each table keeps the heading above it, the short label lines since the
  previous table (tier tabs such as "Batch" or "Fast mode") and any ``tier=``
  prop.
* :func:`column_role` says what a header cell prices from its words, case- and
  punctuation-insensitive, through synonyms ("base input" / "input" / "prompt";
  "cache hits" / "cached input" / "cache read"; "output" / "completion"; "5m" and
  "1h" cache writes), with a "short context" / "long context" or tier prefix.
* :func:`tier_of` reads a tier from a heading, a tab label, a prop or a label
  cell ("Fast mode" and "priority" -> ``priority``; "OFF-PEAK" -> ``off_peak``).
* :func:`split_name` keeps a model name a name: parenthesised or linked
  annotations, footnote marks and ``<sup>`` go to a note and a status
  (retired, deprecated, legacy, limited availability), and a stated period
  ("through August 31, 2026", "starting September 1, 2026") becomes
  ``valid_from`` / ``valid_to``.
"""

import html
import json
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

from bs4 import BeautifulSoup, Tag

from ratecard.scrapers.text import clean_cell, is_not_offered, is_separator, split_row

# --------------------------------------------------------------------------- words


def words_of(text: str) -> str:
    """Fold a header or label for matching: lower case, markup and punctuation gone, "&" as "and"."""
    text = clean_cell(text).lower().replace("&", " and ")
    text = re.sub(r"[^a-z0-9.%≤≥<>]+", " ", text)
    text = re.sub(r"(?<![0-9])\.|\.(?![0-9])", " ", text)  # a dot only inside a number
    return " ".join(text.split())


# Header words that say nothing about what a column prices.
_FILLER = re.compile(r"\b(tokens?|price|prices|pricing|cost|per|1m|mtok|usd|million|rate|rates|\(?\$\)?)\b")

_KIND_SYNONYMS: dict[str, str] = {
    "input": "input",
    "base input": "input",
    "prompt": "input",
    "input cache miss": "input",
    "cache miss": "input",
    "cache misses": "input",
    "uncached input": "input",
    "cached input": "cached_input",
    "cache input": "cached_input",
    "cache hit": "cached_input",
    "cache hits": "cached_input",
    "input cache hit": "cached_input",
    "cache read": "cached_input",
    "cache reads": "cached_input",
    "cache hits and refreshes": "cached_input",
    "cache hit and refresh": "cached_input",
    "cached": "cached_input",
    "cache writes": "cache_write",
    "cache write": "cache_write",
    "5m cache writes": "cache_write",
    "5m cache write": "cache_write",
    "5 m cache writes": "cache_write",
    "5 minute cache writes": "cache_write",
    "5 minute cache write": "cache_write",
    "5 min cache writes": "cache_write",
    "1h cache writes": "cache_write_1h",
    "1h cache write": "cache_write_1h",
    "1 h cache writes": "cache_write_1h",
    "1 hour cache writes": "cache_write_1h",
    "1 hour cache write": "cache_write_1h",
    "output": "output",
    "completion": "output",
    "completions": "output",
    "output cost": "output",
}

_MODEL_HEADERS = frozenset({"model", "models", "model name", "model id", "name"})

# Tier words as headings, tab labels, props or label cells use them.
_TIER_SYNONYMS: dict[str, str] = {
    "standard": "standard",
    "default": "standard",
    "peak": "standard",
    "batch": "batch",
    "batch api": "batch",
    "batch processing": "batch",
    "flex": "flex",
    "flex processing": "flex",
    "priority": "priority",
    "priority processing": "priority",
    "fast": "priority",
    "fast mode": "priority",
    "off peak": "off_peak",
    "offpeak": "off_peak",
    "discount": "off_peak",
}
_TIER_SUFFIXES = (" pricing data", " pricing", " price", " prices", " tier", " data")


class Role(NamedTuple):
    """What a header cell prices: a rate kind, whether it is the long-context column, and a tier if it names one."""

    kind: str
    long_context: bool = False
    tier: str | None = None


def column_role(cell: str) -> Role | None:
    """The rate a header cell prices, by meaning; None for a column that prices no per-token rate."""
    words = words_of(cell)
    long_context = False
    for prefix, is_long in (("short context ", False), ("long context ", True)):
        if words.startswith(prefix):
            words, long_context = words.removeprefix(prefix), is_long
    tier = None
    for word, name in (("batch ", "batch"), ("flex ", "flex"), ("priority ", "priority"), ("fast ", "priority")):
        if words.startswith(word):
            words, tier = words.removeprefix(word), name
    words = " ".join(_FILLER.sub(" ", words).split())
    kind = _KIND_SYNONYMS.get(words)
    return Role(kind, long_context, tier) if kind else None


def is_model_header(cell: str) -> bool:
    """True for the header of the column naming models ("Model", "Models", "Model name")."""
    return words_of(cell) in _MODEL_HEADERS


def tier_of(text: str) -> str | None:
    """The tier a heading, tab label, prop or label cell names ("Batch pricing data" -> batch); None if none."""
    words = words_of(text).replace("-", " ")
    for suffix in _TIER_SUFFIXES:
        words = words.removesuffix(suffix)
    words = re.sub(r"\s*\(?\d+\)?$", "", words)  # a footnote mark: "PRICING(1)"
    return _TIER_SYNONYMS.get(words.strip())


# --------------------------------------------------------------------------- tables


class Table(NamedTuple):
    """One table of a page with what surrounds it.

    ``header`` has one cell per column (a two-row header joined); ``rows`` keep
    each cell's markup (links, ``<sup>``, ``<del>``) so names and notes can be
    split by the caller -- :func:`clean_cell` gives the plain text. ``labels``
    are the short plain lines since the previous table (tab labels); ``prop_tier``
    a ``tier=`` prop of an MDX component.
    """

    heading: str
    labels: tuple[str, ...]
    header: list[str]
    rows: list[list[str]]
    prop_tier: str = ""
    section: str = ""
    lead: str = ""  # the last line of prose before the table, whatever its length
    cut: bool = False  # the page ends inside this table without a final newline: the body may be cut short
    broken: bool = False  # pipe lines with no separator row: not a readable table

    @property
    def name(self) -> str:
        """How a skipped-section message names the table: its heading and label."""
        label = self.labels[-1] if self.labels else ""
        return " / ".join(part for part in (self.section, self.heading, label) if part) or "table"

    def tier(self, default: str | None = None) -> str | None:
        """The table's tier: a ``tier=`` prop, else a tier-naming heading, else the last tier label line."""
        for candidate in (self.prop_tier, self.heading):
            if candidate and (tier := tier_of(candidate)):
                return tier
        for label in reversed(self.labels):
            if tier := tier_of(label):
                return tier
        return default


def read_tables(text: str) -> list[Table]:
    """Every table in a page, in document order: pipe tables, HTML tables and MDX row props.

    A run of pipe lines without a separator row is returned as a ``broken``
    table (no header) so a parser can report it rather than lose it silently;
    a table the page ends inside, with no final newline, is marked ``cut``.

    A page that is HTML throughout is read with its headings and text blocks as
    context; a markdown page may hold HTML tables and MDX components, which are
    read in place.
    """
    if _looks_like_html(text):
        return _html_page_tables(text)
    return _markdown_page_tables(text)


def _looks_like_html(text: str) -> bool:
    head = text.lstrip()[:500].lower()
    return head.startswith("<!doctype") or head.startswith("<html")


_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*)$")
_MDX_OPEN = re.compile(r"<(?P<tag>[A-Z]\w*)\b(?P<attrs>[^>]*?\brows=\{)", re.S)
_LABEL_MAX = 40  # a tab label is a short line; prose is not a label


def _markdown_page_tables(text: str) -> list[Table]:
    tables: list[Table] = []
    heading, section, labels, lead = "", "", [], ""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if stripped.startswith("|") and i + 1 < len(lines) and is_separator(lines[i + 1]):
            block = [line]
            j = i + 2
            while j < len(lines) and lines[j].strip().startswith("|"):
                block.append(lines[j])
                j += 1
            header = _split_row(block[0])
            rows = [_split_row(row) for row in block[1:]]
            cut = j == len(lines) and not text.endswith("\n")
            tables.append(_pipe_table(heading, labels, header, rows, section)._replace(lead=lead, cut=cut))
            labels, lead, i = [], "", j
            continue
        if stripped.startswith("|") and i + 1 < len(lines) and lines[i + 1].strip().startswith("|"):
            j = i
            while j < len(lines) and lines[j].strip().startswith("|"):
                j += 1
            rows = [_split_row(row) for row in lines[i:j]]
            tables.append(Table(heading, tuple(labels), [], rows, section=section, lead=lead, broken=True))
            labels, lead, i = [], "", j
            continue
        if stripped.lower().startswith("<table"):
            j = i
            while j < len(lines) and "</table>" not in lines[j].lower():
                j += 1
            chunk = "\n".join(lines[i : j + 1])
            for grid in _html_grids(BeautifulSoup(chunk, "html.parser")):
                tables.append(_grid_table(heading, labels, grid, section)._replace(lead=lead))
            labels, lead, i = [], "", j + 1
            continue
        if _MDX_OPEN.search(line):
            j, chunk = i, line
            while "]}" not in chunk and j + 1 < len(lines):
                j += 1
                chunk += "\n" + lines[j]
            table = _mdx_table(chunk, heading, labels, section)
            if table is not None:
                tables.append(table)
                labels = []
            i = j + 1
            continue
        if match := _HEADING.match(line):
            heading = clean_cell(match[2])
            if len(match[1]) <= 2:
                section = heading
        elif stripped and not stripped.startswith("<"):
            lead = clean_cell(stripped)
            if len(stripped) <= _LABEL_MAX:
                labels.append(lead)
        i += 1
    return tables


def _split_row(line: str) -> list[str]:
    return [cell.strip() for cell in split_row(line)]


def _is_header_like(row: list[str]) -> bool:
    """A row of column words (the second row of a two-row header), not a row of prices."""
    plain = [clean_cell(c) for c in row]
    if any(re.search(r"[\d$]", c) for c in plain):
        return False
    named = [c for c in plain if c]
    return len(named) >= 2 and any(column_role(c) or is_model_header(c) for c in named)


def _join_headers(top: list[str], below: list[str]) -> list[str]:
    """``| | Short context | | Long context |`` over ``| Model | Input | Output | Input |``: one header."""
    width = max(len(top), len(below))
    joined, group = [], ""
    for index in range(width):
        upper = clean_cell(top[index]) if index < len(top) else ""
        lower = clean_cell(below[index]) if index < len(below) else ""
        if upper and lower:
            group = upper
        elif upper:
            group = upper
            joined.append(upper)
            continue
        joined.append(f"{group} {lower}".strip() if group and lower else lower)
    return joined


def _pipe_table(heading: str, labels: list[str], header: list[str], rows: list[list[str]], section: str) -> Table:
    header = [clean_cell(c) for c in header]
    # Real two-row headers put the group words on top of the column words; the
    # column words then sit in the first body row.
    while rows and _is_header_like(rows[0]) and not any(column_role(c) for c in header if c):
        header, rows = _join_headers(header, rows[0]), rows[1:]
    return Table(heading, tuple(labels), header, _fill_merged(rows, len(header)), section=section)


def _fill_merged(rows: list[list[str]], width: int) -> list[list[str]]:
    """Rows that lost leading cells to a cell merged from above take those cells from the row above.

    A markdown rendering of an HTML table with ``rowspan`` prints the merged
    cell only on its first row, so later rows are shorter by that many cells.
    """
    filled: list[list[str]] = []
    for row in rows:
        missing = width - len(row)
        # Only a few leading cells are ever merged away; a row missing more than it has is not one of those.
        if 0 < missing < len(row) and filled and len(filled[-1]) >= missing:
            row = filled[-1][:missing] + row
        filled.append(row + [""] * (width - len(row)))
    return filled


def _grid_table(heading: str, labels: list[str], grid: list[list[str]], section: str) -> Table:
    header, rows = (grid[0], grid[1:]) if grid else ([], [])
    # An HTML rendering of a markdown copy keeps its short rows (merged cells dropped): fill them the same way.
    return Table(heading, tuple(labels), [clean_cell(c) for c in header], _fill_merged(rows, len(header)),
                 section=section)


_MAX_COLSPAN = 1000  # HTML's own cap; a page asking for more would size the grid at will


def _span(cell: Tag, attribute: str, limit: int) -> int:
    try:
        value = int(str(cell.get(attribute, 1) or 1).strip())
    except ValueError:
        return 1
    return max(1, min(value, limit))


def _html_grids(soup: BeautifulSoup | Tag) -> list[list[list[str]]]:
    """Each ``<table>`` as a rectangle of cell markup, a merged cell repeated over every slot it spans."""
    grids = []
    for table in soup.find_all("table"):
        slots: dict[tuple[int, int], str] = {}
        rows = table.find_all("tr")
        for r, row in enumerate(rows):
            c = 0
            for cell in row.find_all(["td", "th"], recursive=False):
                while (r, c) in slots:
                    c += 1
                markup = " ".join(cell.decode_contents().split())
                rowspan, colspan = _span(cell, "rowspan", len(rows) - r), _span(cell, "colspan", _MAX_COLSPAN)
                for dr in range(rowspan):
                    for dc in range(colspan):
                        slots[(r + dr, c + dc)] = markup
                c += colspan
        # Each row as long as its last cell: a short row (merged cells dropped by a markdown
        # copy) is filled from the row above by the caller, as a short pipe row is.
        widths = [max((c for (rr, c) in slots if rr == r), default=-1) + 1 for r in range(len(rows))]
        grids.append([[slots.get((r, c), "") for c in range(widths[r])] for r in range(len(rows))])
    return grids


def html_grids(text: str) -> list[list[list[str]]]:
    """Every HTML table in a page as a grid of cell markup (merged cells repeated)."""
    return _html_grids(BeautifulSoup(text, "html.parser"))


def html_tables_as_pipes(text: str) -> str:
    """A markdown page with each HTML ``<table>`` block rewritten as a pipe table, cell markup kept.

    For parsers that read pipe tables with their own section logic: a table
    a site starts rendering as HTML inside its markdown reads as before.
    """
    def pipes(match: re.Match[str]) -> str:
        grids = _html_grids(BeautifulSoup(match[0], "html.parser"))
        if not grids or not grids[0]:
            return match[0]
        grid = grids[0]
        width = max(len(row) for row in grid)
        lines = ["| " + " | ".join(c.replace("|", "\\|") for c in grid[0]) + " |", "|" + " --- |" * width]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in grid[1:]]
        return "\n".join(lines)

    return re.sub(r"(?is)<table\b.*?</table>", pipes, text)


def _html_page_tables(text: str) -> list[Table]:
    soup = BeautifulSoup(text, "html.parser")
    tables: list[Table] = []
    heading, section, labels = "", "", []
    for node in soup.find_all(["h1", "h2", "h3", "h4", "table", "p", "div", "span", "li"]):
        if node.name == "table":
            for grid in _html_grids_of(node):
                tables.append(_grid_table(heading, labels, grid, section))
            labels = []
        elif node.name in ("h1", "h2", "h3", "h4"):
            heading = " ".join(node.get_text(" ").split())
            section = heading if node.name in ("h1", "h2") else section
        elif node.find(["p", "div", "table"]) is None and node.find_parent("table") is None:
            line = " ".join(node.get_text(" ").split())
            if line and len(line) <= _LABEL_MAX:
                labels.append(line)
    return tables


def _html_grids_of(table: Tag) -> list[list[list[str]]]:
    wrapper = BeautifulSoup("", "html.parser")
    wrapper.append(table.__copy__())
    return _html_grids(wrapper)


def _mdx_table(chunk: str, heading: str, labels: list[str], section: str) -> Table | None:
    """An MDX component with ``rows={[[name, input, cached, output], ...]}`` as a table.

    The component's own column order is not in the markup; ``columns={[...]}``
    gives it when present, else rows of four are read as model, input, cached
    input, output -- the order OpenAI's ``TextTokenPricingTables`` uses.
    """
    match = _MDX_OPEN.search(chunk)
    if match is None:
        return None
    attrs = chunk[match.start() : chunk.find("]}", match.end()) + 2]
    tier = re.search(r"\btier=[\"'{]?([\w\-]+)", attrs)
    rows = _js_array(attrs[attrs.index("rows={") + 6 : attrs.rindex("}")])
    columns = re.search(r"\bcolumns=\{(\[.*?\])\}", chunk, re.S)
    header = _js_array(columns[1]) if columns else None
    if not isinstance(rows, list) or not rows:
        return None
    if header is None:
        header = ["Model", "Input", "Cached input", "Output"]
    cells = [[_mdx_cell(v) for v in row] for row in rows if isinstance(row, list)]
    return Table(heading, tuple(labels), [str(h) for h in header], cells, prop_tier=tier[1] if tier else "",
                 section=section)  # fmt: skip


def _js_array(source: str) -> object:
    text = re.sub(r",\s*([\]}])", r"\1", source.strip())  # trailing commas
    text = text.replace("'", '"')
    try:
        return json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError:
        return None


def _mdx_cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, int | float | Decimal):
        return f"${value}"
    return str(value)


# --------------------------------------------------------------------------- cells


_PRICE = re.compile(r"\$\s*([0-9][0-9,]*(?:\.[0-9]+)?)")
# A price per something other than tokens: not a per-token rate.
_OTHER_UNIT = re.compile(
    r"/\s*(1m\s+characters|characters|minute|min|second|sec|hour|hr|image|call|calls|1k|gb|request|search)"
    r"|\bper\s+(second|minute|hour|image|call|request|search|session|gb)\b",
    re.I,
)


class CellRate(NamedTuple):
    """What a price cell says: a per-token price, "not offered" (None), or no per-token price at all."""

    usd_per_mtok: Decimal | None
    is_rate: bool
    note: str = ""


def read_cell(cell: str) -> CellRate:
    """A price cell: ``$2.50`` -> 2.50; ``-`` -> not offered; ``$15 / 1M characters`` -> not a token rate."""
    plain = clean_cell(cell)
    if is_not_offered(plain):
        return CellRate(None, True)
    if plain.lower() == "free":
        return CellRate(Decimal(0), True, "page says Free")
    if _OTHER_UNIT.search(plain):
        return CellRate(None, False)
    prices = _PRICE.findall(plain)
    if not prices:
        bare = re.fullmatch(r"([0-9][0-9,]*(?:\.[0-9]+)?)", plain)
        prices = [bare[1]] if bare else []
    if not prices:
        return CellRate(None, False)
    try:
        return CellRate(Decimal(prices[0].replace(",", "")), True)
    except InvalidOperation:  # pragma: no cover - the regex admits only digits
        return CellRate(None, False)


def has_price(cell: str) -> bool:
    """True when a cell holds a dollar amount."""
    return bool(_PRICE.search(clean_cell(cell)))


# --------------------------------------------------------------------------- names


_STATUS_WORDS: tuple[tuple[str, str], ...] = (
    ("limited availability", "limited availability"),
    ("deprecated", "deprecated"),
    ("retired", "retired"),
    ("legacy", "legacy"),
    ("preview", "preview"),
)
_MONTHS = {m: i for i, m in enumerate(
    ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
     "november", "december"), start=1)}  # fmt: skip
_MONTH = "(" + "|".join(_MONTHS) + r")\s+(\d{1,2}),?\s+(\d{4})"
_UNTIL_STAMP = re.compile(r"until\s+(\d{4})[/-](\d{1,2})[/-](\d{1,2})\s+(\d{1,2}):(\d{2})\s*UTC", re.I)
_THROUGH = re.compile(r"(?<!at least )\b(?:through|thru|until|till|ending)\s+" + _MONTH, re.I)
_STARTING = re.compile(r"\b(?:starting|from|beginning|effective|as of|on and after)\s+(?:on\s+)?" + _MONTH, re.I)
_TAKES_EFFECT = re.compile(
    r"take[s]? effect at\s+(\d{1,2}):(\d{2})\s*UTC\s+on\s+" + _MONTH + "|take[s]? effect (?:on )?" + _MONTH, re.I
)


class Period(NamedTuple):
    """A stated period: ``valid_from`` (inclusive) and ``valid_to`` (exclusive), aware UTC, either may be None."""

    valid_from: datetime | None = None
    valid_to: datetime | None = None


def _day(month: str, day: str, year: str) -> datetime:
    return datetime(int(year), _MONTHS[month.lower()], int(day), tzinfo=UTC)


def period_in(text: str) -> Period:
    """The period a name or note states.

    "through August 31, 2026" ends the rate at the start of September 1 (UTC):
    "through" includes the day. "starting September 1, 2026" starts it then;
    "until 2026/05/31 15:59 UTC" includes that minute, so it ends at 16:00;
    "take effect at 16:00 UTC on August 16, 2026" starts it at that moment.
    "at least through" promises no end, so it sets none.
    """
    plain = clean_cell(text)
    valid_from = valid_to = None
    if match := _UNTIL_STAMP.search(plain):
        year, month, day, hour, minute = (int(g) for g in match.groups())
        valid_to = datetime(year, month, day, hour, minute, tzinfo=UTC) + timedelta(minutes=1)
    elif match := _THROUGH.search(plain):
        valid_to = _day(*match.groups()) + timedelta(days=1)
    if match := _TAKES_EFFECT.search(plain):
        if match[1]:
            valid_from = _day(match[3], match[4], match[5]).replace(hour=int(match[1]), minute=int(match[2]))
        else:
            valid_from = _day(match[6], match[7], match[8])
    elif match := _STARTING.search(plain):
        valid_from = _day(*match.groups())
    return Period(valid_from, valid_to)


class Name(NamedTuple):
    """A model cell split into the name and what the page said about it."""

    name: str
    note: str = ""
    status: str = ""
    period: Period = Period()


_SUP = re.compile(r"<sup>.*?</sup>", re.I | re.S)
# Footnote marks after a name. Digits glued to a name are not taken: "o1" is a name.
_FOOTNOTE = re.compile(r"[¹²³⁴⁵⁶⁷⁸⁹⁰†‡*]+|\s\(\d{1,2}\)$|\[\^?\d{1,2}\]$")
_LINK = re.compile(r"\[([^\]]*)\]\(([^)]*)\)")
_PAREN = re.compile(r"\s*\(([^()]*)\)")


def split_name(cell: str) -> Name:
    """Split a model cell into its name and annotations.

    ``Claude Opus 4.1 ([retired, except on Bedrock](...))`` -> name "Claude
    Opus 4.1", status "retired", note "retired, except on Bedrock";
    ``Claude Sonnet 5 [through August 31, 2026](...)`` -> a period ending
    September 1; ``deepseek-flash (1)`` and ``<sup>2</sup>`` are footnote marks.
    A parenthesis giving a context length (``(<272K context length)``) is
    returned in the note for the caller to read.
    """
    raw = html.unescape(_SUP.sub(" ", cell))
    notes: list[str] = []
    # A link whose text follows the name is an annotation; a link that is the whole name is the name.
    links = list(_LINK.finditer(raw))
    if links and not (len(links) == 1 and links[0].start() == 0 and raw.strip().endswith(links[0][0])):
        for link in links:
            if link.start() > 0:
                notes.append(clean_cell(link[1]))
        raw = _LINK.sub(lambda m: "" if m.start() > 0 else m[1], raw)
    plain = clean_cell(raw)
    plain = re.sub(r"\(\s*\)", "", plain)
    notes += [clean_cell(p) for p in _PAREN.findall(plain) if not re.fullmatch(r"\d{1,2}", p.strip())]
    plain = _PAREN.sub("", plain)
    # A stated period written after the name without brackets.
    for pattern in (_THROUGH, _STARTING):
        if match := pattern.search(plain):
            notes.append(plain[match.start() :].strip())
            plain = plain[: match.start()]
    plain = _FOOTNOTE.sub("", plain.strip()).strip(" ,;:-")
    # A bare status word reads as the page's mark ("deprecated on the page").
    notes = [f"{n} on the page" if n.lower() in {w for w, _ in _STATUS_WORDS} else n for n in notes]
    note = "; ".join(n for n in notes if n)
    status = next((name for word, name in _STATUS_WORDS if word in note.lower()), "")
    return Name(" ".join(plain.split()), note, status, period_in(note))


def several_names(name: str) -> list[str]:
    """A cell naming several models (``A / B``, ``A and B``) as its names; one name stays one."""
    parts = [p.strip() for p in re.split(r"\s+/\s+|\s*,\s+(?:and\s+)?|\s+and\s+", name) if p.strip()]
    return parts if len(parts) > 1 else [name]


# --------------------------------------------------------------------------- rules


_RESIDENCY = re.compile(r"data residency|inference_geo|regional processing", re.I)
_MULTIPLIER = re.compile(r"\b\d+(?:\.\d+)?x\b|\b\d+(?:\.\d+)?%\s+(?:uplift|premium|surcharge)", re.I)


def stated_multipliers(text: str) -> list[str]:
    """Sentences that state a price multiplier for data residency ("... 1.1x ...", "a 10% uplift"), once each.

    Stored as a rule in the note of the rates they apply to, so an estimate
    that needs them can read them; ratecard does not price residency itself.
    Table rows are not prose and are not searched.
    """
    found: dict[str, str] = {}  # one sentence per stated factor: pages repeat a rule in several places
    for line in text.splitlines():
        if line.lstrip().startswith("|"):
            continue
        for sentence in re.split(r"(?<=[.!?])\s+(?=[A-Z])", clean_cell(line)):
            if _RESIDENCY.search(sentence) and (factor := _MULTIPLIER.search(sentence)):
                found.setdefault(factor[0].lower(), " ".join(sentence.split()))
    return list(found.values())


def unique(items: Iterable[str]) -> tuple[str, ...]:
    """Items once each, in first-seen order."""
    return tuple(dict.fromkeys(i for i in items if i))
