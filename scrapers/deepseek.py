"""Parser for DeepSeek's pricing page (api-docs.deepseek.com/quick_start/pricing), static HTML.

Page shape: one ``<table>`` laid out sideways, with merged cells. A ``MODEL``
row spans two label columns and names one API id per remaining column
(``deepseek-v4-flash``, ``deepseek-v4-pro``); a ``MODEL VERSION`` row gives the
display names. Further rows are grouped under a label spanning several rows
(``rowspan``): ``FEATURES``, then ``PRICING`` with the rows ``1M INPUT TOKENS
(CACHE HIT)`` -> ``cached_input``, ``1M INPUT TOKENS (CACHE MISS)`` ->
``input`` and ``1M OUTPUT TOKENS`` -> ``output``. A value shared by all
models is one cell spanning their columns (``colspan``). Footnotes ``(n)``
follow the table as one paragraph.

Two prices in one cell: the page reads "$0.435 (75% off (3)) <del>$1.74</del>",
and footnote (3) says the model "is currently offered at a 75% discount,
extended until 2026/05/31 15:59 UTC". The struck-through price is the list
price and the other one is what is billed now, so the billed price is the
rate and the ``note`` keeps the discount, its footnote and the list price.
When the footnote dates the end of the discount, the billed price carries
that end as ``valid_to`` and the list price is stated again as a rate from
that moment (``valid_from``): after the promotion the page's own list price
applies, and budgets priced past the end date get it. "Until 15:59 UTC" is
read as through that minute, so the discount ends at 16:00 UTC (exclusive).
Any other pair of prices in one cell is rejected rather than guessed at.

Off-peak hours: copies of the page from 2025 grouped the price rows under
``STANDARD PRICE (UTC 00:30-16:30)`` and ``DISCOUNT PRICE (UTC 16:30-00:30)``
instead of ``PRICING``; a group labelled discount or off-peak becomes tier
``off_peak`` with its UTC window in ``note``, any other group ``standard``.
"""

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import msgspec
from bs4 import BeautifulSoup, NavigableString, Tag

from scrapers.errors import PageRejected
from scrapers.observation import Observation
from scrapers.text import decode_page, reject_challenge

PROVIDER = "deepseek"

_AMOUNT = re.compile(r"\$\s*([0-9][0-9,]*(?:\.[0-9]+)?)")
_WINDOW = re.compile(r"UTC\s*([0-9]{1,2}:[0-9]{2})\s*[-–~]\s*([0-9]{1,2}:[0-9]{2})")
_MODEL_ID = re.compile(r"[a-z0-9][a-z0-9.\-]*")
# A discount's stated end in a footnote: "until 2026/05/31 15:59 UTC".
_UNTIL = re.compile(r"until\s+(\d{4})[/-](\d{1,2})[/-](\d{1,2})\s+(\d{1,2}):(\d{2})\s*UTC", re.I)


def parse(body: bytes, url: str) -> list[Observation]:
    """Read cache-hit, cache-miss and output rates per model from the pricing table.

    Raises PageRejected when no table has a MODEL row and price rows.
    """
    text = decode_page(body, url)
    reject_challenge(text, url)
    soup = BeautifulSoup(text, "html.parser")
    tables = [table_grid(t) for t in soup.find_all("table")]
    priced = [grid for grid in tables if _find_row(grid, "model") is not None]
    if not priced:
        raise PageRejected("no pricing table with a MODEL row found", url=url)
    notes = footnotes(soup)
    observations = [obs for grid in priced for obs in parse_table(grid, notes, url)]
    if not observations:
        raise PageRejected("no '1M ... TOKENS' price rows found in the pricing table", url=url)
    return observations


def table_grid(table: Tag) -> list[list[Tag]]:
    """The table as a rectangle of cells, a merged cell repeated over every slot it spans."""
    slots: dict[tuple[int, int], Tag] = {}
    rows = table.find_all("tr")
    for r, row in enumerate(rows):
        c = 0
        for cell in row.find_all(["td", "th"], recursive=False):
            while (r, c) in slots:
                c += 1
            rowspan, colspan = _span(cell, "rowspan", len(rows) - r), _span(cell, "colspan", _MAX_COLSPAN)
            for dr in range(rowspan):
                for dc in range(colspan):
                    slots[(r + dr, c + dc)] = cell
            c += colspan
    width = max((c for _, c in slots), default=-1) + 1
    return [[slots.get((r, c)) for c in range(width)] for r in range(len(rows))]


# HTML caps colspan at 1000 and a rowspan past the table's end stops there; a page that asks for
# more would otherwise make the grid (and the time to fill it) as large as it likes.
_MAX_COLSPAN = 1000


def _span(cell: Tag, attribute: str, limit: int) -> int:
    """A cell's rowspan or colspan, as HTML reads it: a positive integer up to ``limit``, else 1."""
    try:
        value = int(str(cell.get(attribute, 1) or 1).strip())
    except ValueError:
        return 1
    return max(1, min(value, limit))


def cell_text(cell: Tag | None, *, skip: tuple[str, ...] = ("sup", "del")) -> str:
    """A cell's text without footnote marks and struck-through prices, spaces folded."""
    if cell is None:
        return ""
    parts = [s for s in cell.find_all(string=True) if not _inside(s, cell, skip)]
    return " ".join("".join(parts).split())


def _inside(node: NavigableString, cell: Tag, names: tuple[str, ...]) -> bool:
    parent = node.parent
    while parent is not None and parent is not cell:
        if parent.name in names:
            return True
        parent = parent.parent
    return False


def footnotes(soup: BeautifulSoup) -> dict[str, str]:
    """Footnote texts by number, from paragraphs reading "(1) text (2) text ..."."""
    found: dict[str, str] = {}
    for paragraph in soup.find_all(["p", "li"]):
        text = " ".join(paragraph.get_text(" ").split())
        if re.match(r"\(\d+\)\s", text):
            parts = re.split(r"(?:^|\s)\((\d+)\)\s", text)
            found.update(zip(parts[1::2], (part.strip() for part in parts[2::2])))
    return found


def parse_table(grid: list[list[Tag]], notes: dict[str, str], url: str) -> list[Observation]:
    """Observations from one sideways pricing table."""
    model_row = grid[_find_row(grid, "model")]
    label_width = _span(model_row[0], "colspan", _MAX_COLSPAN)
    models = {c: cell_text(model_row[c]) for c in range(label_width, len(model_row))}
    for model in models.values():
        if not _MODEL_ID.fullmatch(model):
            raise PageRejected(f"MODEL row cell {model!r} is not an API model id", url=url)
    version_index = _find_row(grid, "model version")
    versions = grid[version_index] if version_index is not None else []
    observations = []
    for row in grid:
        kind = price_kind(cell_text(row[label_width - 1]))
        if kind is None:
            continue
        tier, window = price_group(cell_text(row[0]))
        for column, model in models.items():
            price = read_price(row[column], notes, url)
            billed = Observation(
                provider=PROVIDER,
                model=model,
                tier=tier,
                kind=kind,
                usd_per_mtok=price.usd_per_mtok,
                display_name=cell_text(versions[column]) if versions else "",
                note="; ".join(n for n in (window, price.note) if n),
                valid_to=price.discount_ends_at,
            )
            observations.append(billed)
            if price.discount_ends_at is not None and price.list_usd_per_mtok is not None:
                observations.append(msgspec.structs.replace(
                    billed, usd_per_mtok=price.list_usd_per_mtok, valid_from=price.discount_ends_at, valid_to=None,
                    note="; ".join(n for n in (window, f"list price after the discount ends: {price.note}") if n),
                ))
    return observations


def _find_row(grid: list[list[Tag]], label: str) -> int | None:
    for i, row in enumerate(grid):
        if row and cell_text(row[0]).lower() == label:
            return i
    return None


def price_kind(label: str) -> str | None:
    """The rate kind of a price row label ("1M INPUT TOKENS (CACHE HIT)"); None for other rows."""
    label = label.lower()
    if "1m" not in label or "token" not in label:
        return None  # feature rows such as "Json Output" are not prices
    if "cache hit" in label:
        return "cached_input"
    if "cache miss" in label or "input" in label:
        return "input"
    if "output" in label:
        return "output"
    return None


def price_group(label: str) -> tuple[str, str]:
    """(tier, UTC window note) for the row group label spanning the price rows."""
    window = _WINDOW.search(label)
    window_note = f"UTC {window.group(1)}-{window.group(2)}" if window else ""
    lowered = label.lower()
    if "off-peak" in lowered or "off peak" in lowered or "discount" in lowered:
        return "off_peak", window_note
    # The peak window is what "standard" means while off-peak exists; no note needed.
    return "standard", ""


class CellPrice(msgspec.Struct, frozen=True, kw_only=True):
    """What one price cell says: the billed price, and for a discount its list price and stated end."""

    usd_per_mtok: Decimal
    note: str = ""
    list_usd_per_mtok: Decimal | None = None
    discount_ends_at: datetime | None = None


def read_price(cell: Tag | None, notes: dict[str, str], url: str) -> CellPrice:
    """The billed price in a cell, with the struck list price and the discount's end if the page gives them."""
    if cell is None:
        raise PageRejected("a model column has no cell in a price row", url=url)
    billed = _AMOUNT.findall(cell_text(cell))
    listed = _AMOUNT.findall(" ".join(d.get_text(" ") for d in cell.find_all("del")))
    if len(billed) != 1 or len(listed) > 1:
        found = cell.get_text(" ", strip=True)
        raise PageRejected(f"expected one billed price in a cell, found {found!r}", url=url)
    note = price_note(cell, listed, notes)
    return CellPrice(
        usd_per_mtok=_decimal(billed[0]),
        note=note,
        list_usd_per_mtok=_decimal(listed[0]) if listed else None,
        discount_ends_at=discount_end(note) if listed else None,
    )


def _decimal(amount: str) -> Decimal:
    return Decimal(amount.replace(",", ""))


def discount_end(note: str) -> datetime | None:
    """The end (exclusive) of a discount whose footnote says "until YYYY/MM/DD HH:MM UTC"; None if undated."""
    until = _UNTIL.search(note)
    if until is None:
        return None
    year, month, day, hour, minute = (int(g) for g in until.groups())
    # "Until 15:59" includes that minute: the discount is over at 16:00.
    return datetime(year, month, day, hour, minute, tzinfo=UTC) + timedelta(minutes=1)


def price_note(cell: Tag, listed: list[str], notes: dict[str, str]) -> str:
    """Why a price differs from list: e.g. "75% off list price $1.74: <footnote text>"."""
    discount = re.search(r"\d+(?:\.\d+)?\s*%\s*off", cell_text(cell), re.I)
    marks = re.findall(r"\((\d+)\)", " ".join(sup.get_text() for sup in cell.find_all("sup")))
    head = " ".join(
        part
        for part in (discount.group(0) if discount else "", f"list price ${listed[0]}" if listed else "")
        if part
    )
    return ": ".join(part for part in (head, " ".join(notes[m] for m in marks if m in notes)) if part)
