"""Parser for DeepSeek's pricing page (api-docs.deepseek.com/quick_start/pricing), HTML or its markdown copy.

Page shape: one table laid out sideways. A ``MODEL`` row names one API id per
model column (``deepseek-v4-flash``, ``deepseek-v4-pro``) after one or more
label columns; a ``MODEL VERSION`` row gives the display names. Price rows are
grouped under a label spanning several rows (``PRICING``) and say their kind
in a label cell: ``1M INPUT TOKENS (CACHE HIT)`` -> ``cached_input``, ``(CACHE
MISS)`` -> ``input``, ``1M OUTPUT TOKENS`` -> ``output``. The HTML page merges
cells with ``rowspan``/``colspan``; its markdown copy drops the merged cells
from later rows, which :mod:`scrapers.tables` fills back in from the row above.

Labels are searched in every label column, never read from a fixed one: in
August 2026 the table grew a third label column (``PRICING | 1M INPUT TOKENS
(CACHE HIT) | OFF-PEAK`` / ``PEAK``). A label ``OFF-PEAK`` or ``DISCOUNT``
makes the row tier ``off_peak`` (with the page's window in ``note``), any
other row ``standard``: the peak price is what "standard" means while
off-peak exists. Copies of the page from 2025 grouped the rows under
``STANDARD PRICE (UTC 00:30-16:30)`` and ``DISCOUNT PRICE (UTC 16:30-00:30)``.

A table may also be laid out the other way, one row per model and one column
per kind (``MODEL | | 1M INPUT TOKENS (CACHE HIT) | ...`` then ``deepseek-v4-flash
| OFF-PEAK | $0.007 | ...``), as the announcement of the August 2026 prices was.

Dated rows: a table introduced by a sentence that dates it ("The new prices
take effect at 16:00 UTC on August 16, 2026") holds rates from that moment
(``valid_from``), and the rates of the same model and tier in the page's
current table end then (``valid_to``).

Two prices in one cell: the page read "$0.435 (75% off (3)) <del>$1.74</del>",
and footnote (3) says the discount is "extended until 2026/05/31 15:59 UTC".
The struck-through price is the list price and the other one is billed now,
so the billed price is the rate (``valid_to`` the footnote's end, through that
minute) and the list price is stated again from that moment (``valid_from``).
This is the same period reading every parser uses (:func:`scrapers.tables.period_in`).
Any other pair of prices in one cell is rejected rather than guessed at.
"""

import re
from datetime import datetime
from decimal import Decimal

import msgspec
from bs4 import BeautifulSoup

from ratecard.scrapers.errors import PageRejected
from ratecard.scrapers.observation import Observation, Reading, SkippedSection
from ratecard.scrapers.tables import Table, html_grids, period_in, read_tables, split_name, unique
from ratecard.scrapers.text import clean_cell, decode_page, reject_challenge

PROVIDER = "deepseek"

_AMOUNT = re.compile(r"\$\s*([0-9][0-9,]*(?:\.[0-9]+)?)")
_WINDOW = re.compile(r"UTC\s*([0-9]{1,2}:[0-9]{2})\s*[-–~]\s*([0-9]{1,2}:[0-9]{2})")
_PEAK_HOURS = re.compile(r"Peak hours are ([^.(]*UTC)", re.I)
_MODEL_ID = re.compile(r"[a-z][a-z0-9.\-]*")
_DEL = re.compile(r"<del>(.*?)</del>", re.I | re.S)
_SUP = re.compile(r"<sup>(.*?)</sup>", re.I | re.S)


def parse(body: bytes, url: str) -> Reading:
    """Read cache-hit, cache-miss and output rates per model and tier from each pricing table.

    Raises PageRejected when no table has a MODEL row with price rows.
    """
    text = decode_page(body, url)
    reject_challenge(text, url)
    notes = footnotes(text)
    peak = _PEAK_HOURS.search(clean_cell(text))
    off_peak_note = f"off-peak: all hours outside peak hours {peak[1]}" if peak else ""
    priced = [table for table in read_tables(text) if not table.broken and _model_row(table) is not None]
    if not priced:
        raise PageRejected("no pricing table with a MODEL row found", url=url)
    readings: list[tuple[Table, list[Observation]]] = []
    skipped: list[SkippedSection] = []
    for table in priced:
        try:
            if table.cut:
                raise PageRejected("the page ends inside this table: the body may be cut short", url=url)
            observations = table_observations(table, notes, off_peak_note, url)
        except PageRejected as exc:
            skipped.append(SkippedSection(section=table.name or "pricing table", reason=exc.reason,
                                          providers=(PROVIDER,), models=table_models(table)))  # fmt: skip
            continue
        if observations:
            readings.append((table, observations))
    if not readings:
        reason = skipped[0].reason if skipped else "no '1M ... TOKENS' price rows found in the pricing table"
        raise PageRejected(reason, url=url)
    return Reading(observations=end_superseded(readings), skipped=skipped)


def end_superseded(readings: list[tuple[Table, list[Observation]]]) -> list[Observation]:
    """Current rates end when a dated table of the page starts new ones for the same model and tier."""
    starts: dict[tuple[str, str], datetime] = {}
    for _, observations in readings:
        for o in observations:
            if o.valid_from is not None and o.note.startswith("announced"):
                starts[(o.model, o.tier)] = min(o.valid_from, starts.get((o.model, o.tier), o.valid_from))
    out = []
    for _, observations in readings:
        for o in observations:
            start = starts.get((o.model, "standard" if o.tier == "off_peak" else o.tier))
            if o.valid_from is None and o.valid_to is None and start is not None:
                o = msgspec.structs.replace(o, valid_to=start)
            out.append(o)
    return out


def footnotes(text: str) -> dict[str, str]:
    """Footnote texts by number, from paragraphs or lines reading "(1) text (2) text ..."."""
    if "<p" in text or "<li" in text:
        soup = BeautifulSoup(text, "html.parser")
        blocks = [" ".join(p.get_text(" ").split()) for p in soup.find_all(["p", "li"])]
    else:
        blocks = [clean_cell(line) for line in text.splitlines()]
    found: dict[str, str] = {}
    for block in blocks:
        if re.match(r"\(\d+\)\s", block):
            parts = re.split(r"(?:^|\s)\((\d+)\)\s", block)
            found.update(zip(parts[1::2], (part.strip() for part in parts[2::2])))
    return found


def _rows(table: Table) -> list[list[str]]:
    return [table.header, *table.rows] if any(table.header) else list(table.rows)


def _model_row(table: Table) -> int | None:
    """The index of the MODEL row: a row labelled MODEL naming model ids or price kinds (another page's
    "Model" header names neither)."""
    for i, row in enumerate(_rows(table)):
        if row and split_name(row[0]).name.lower() == "model":
            names = [split_name(c).name for c in row[1:]]
            if any(_MODEL_ID.fullmatch(n) and "-" in n for n in names) or any(price_kind(clean_cell(c)) for c in row[1:]):
                return i
    return None


def table_models(table: Table) -> tuple[str, ...]:
    """The model ids a table names, as far as they can be told (for a skipped section's scope)."""
    cells = [split_name(c).name for row in _rows(table) for c in row]
    return unique(c for c in cells if _MODEL_ID.fullmatch(c) and "-" in c)


def table_observations(table: Table, notes: dict[str, str], off_peak_note: str, url: str) -> list[Observation]:
    """Observations from one pricing table, sideways (models in columns) or not (models in rows)."""
    rows = _rows(table)
    model_index = _model_row(table)
    assert model_index is not None
    # Model cells carry footnote marks ("deepseek-v4-flash (1)"): names stay names.
    model_row = [split_name(c).name for c in rows[model_index]]
    period = period_in(table_lead(table))
    announced = f"announced: {table_lead(table)}" if period.valid_from else ""
    model_columns = {i: c for i, c in enumerate(model_row) if _MODEL_ID.fullmatch(c) and i > 0}
    if model_columns:
        versions = next((r for r in rows if r and split_name(r[0]).name.lower() == "model version"), [])
        first = min(model_columns)
        cells = []  # (model, display name, labels, cell)
        for row in rows[model_index + 1 :]:
            for column, model in model_columns.items():
                display = clean_cell(versions[column]) if column < len(versions) else ""
                cells.append((model, display, [clean_cell(c) for c in row[:first]], row[column] if column < len(row) else ""))
    else:
        kind_row = [clean_cell(c) for c in rows[model_index]]  # "(CACHE HIT)" is the kind here, not an annotation
        kind_columns = {i: k for i, c in enumerate(kind_row) if (k := price_kind(c))}
        if not kind_columns:
            raise PageRejected("MODEL row names neither models nor price kinds", url=url)
        first = min(kind_columns)
        cells = []
        for row in rows[model_index + 1 :]:
            model = split_name(row[0]).name
            if not _MODEL_ID.fullmatch(model):
                raise PageRejected(f"row label {model!r} is not an API model id", url=url)
            labels = [clean_cell(c) for c in row[1:first]]
            for column, kind in kind_columns.items():
                cells.append((model, "", [*labels, kind_row[column]], row[column] if column < len(row) else ""))
    observations = []
    for model, display, labels, cell in cells:
        kind = next((k for label in labels if (k := price_kind(label))), None)
        if kind is None:
            continue  # feature rows such as "Json Output" are not prices
        tier, window = price_group(labels, off_peak_note)
        price = read_price(cell, notes, url)
        billed = Observation(
            provider=PROVIDER,
            model=model,
            tier=tier,
            kind=kind,
            usd_per_mtok=price.usd_per_mtok,
            display_name=display,
            note="; ".join(n for n in (announced, window, price.note) if n),
            valid_from=period.valid_from,
            valid_to=price.discount_ends_at,
        )
        observations.append(billed)
        if price.discount_ends_at is not None and price.list_usd_per_mtok is not None:
            observations.append(msgspec.structs.replace(
                billed, usd_per_mtok=price.list_usd_per_mtok, valid_from=price.discount_ends_at, valid_to=None,
                note="; ".join(n for n in (window, f"list price after the discount ends: {price.note}") if n),
            ))  # fmt: skip
    if not observations:
        raise PageRejected("no '1M ... TOKENS' price rows found in the pricing table", url=url)
    return observations


def table_lead(table: Table) -> str:
    """The sentence introducing a table, when it dates the table's prices ("take effect at ...")."""
    return table.lead if period_in(table.lead).valid_from else ""


def price_kind(label: str) -> str | None:
    """The rate kind of a price label ("1M INPUT TOKENS (CACHE HIT)"); None for other labels."""
    label = label.lower()
    if "1m" not in label or "token" not in label:
        return None
    if "cache hit" in label:
        return "cached_input"
    if "cache miss" in label or "input" in label:
        return "input"
    if "output" in label:
        return "output"
    return None


def price_group(labels: list[str], off_peak_note: str = "") -> tuple[str, str]:
    """(tier, window note) from a price row's labels: OFF-PEAK or DISCOUNT -> off_peak, else standard."""
    for label in labels:
        lowered = label.lower()
        if "off-peak" in lowered or "off peak" in lowered or "discount" in lowered:
            window = _WINDOW.search(label)
            return "off_peak", f"UTC {window.group(1)}-{window.group(2)}" if window else off_peak_note
    # The peak window is what "standard" means while off-peak exists; no note needed.
    return "standard", ""


class CellPrice(msgspec.Struct, frozen=True, kw_only=True):
    """What one price cell says: the billed price, and for a discount its list price and stated end."""

    usd_per_mtok: Decimal
    note: str = ""
    list_usd_per_mtok: Decimal | None = None
    discount_ends_at: datetime | None = None


def read_price(cell: str, notes: dict[str, str], url: str) -> CellPrice:
    """The billed price in a cell, with the struck list price and the discount's end if the page gives them."""
    plain = clean_cell(_SUP.sub(" ", _DEL.sub(" ", cell)))
    billed = _AMOUNT.findall(plain)
    listed = _AMOUNT.findall(" ".join(clean_cell(d) for d in _DEL.findall(cell)))
    if len(billed) != 1 or len(listed) > 1:
        raise PageRejected(f"expected one billed price in a cell, found {clean_cell(cell)!r}", url=url)
    note = price_note(cell, plain, listed, notes)
    return CellPrice(
        usd_per_mtok=Decimal(billed[0].replace(",", "")),
        note=note,
        list_usd_per_mtok=Decimal(listed[0].replace(",", "")) if listed else None,
        discount_ends_at=period_in(note).valid_to if listed else None,
    )


def price_note(cell: str, plain: str, listed: list[str], notes: dict[str, str]) -> str:
    """Why a price differs from list: e.g. "75% off list price $1.74: <footnote text>"."""
    discount = re.search(r"\d+(?:\.\d+)?\s*%\s*off", plain, re.I)
    marks = re.findall(r"\((\d+)\)", " ".join(clean_cell(s) for s in _SUP.findall(cell)))
    head = " ".join(
        part
        for part in (discount.group(0) if discount else "", f"list price ${listed[0]}" if listed else "")
        if part
    )
    return ": ".join(part for part in (head, " ".join(notes[m] for m in marks if m in notes)) if part)


def table_grid(table_markup: object) -> list[list[str]]:
    """One ``<table>`` (markup or a parsed Tag) as a grid of cell markup, merged cells repeated."""
    grids = html_grids(str(table_markup))
    return grids[0] if grids else []
