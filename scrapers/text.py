"""Shared reading helpers for pricing pages: markdown tables, prices, challenge pages."""

import html
import re
from decimal import Decimal, InvalidOperation

from ratecard.scrapers.errors import PageRejected

# Words that mark a rate as absent on a page.
NOT_OFFERED_WORDS = frozenset({"-", "—", "–", "n/a", "not available", "not offered", "unavailable"})

# Markers of a page served *instead of* the content. Cloudflare injects
# /cdn-cgi/challenge-platform/scripts/... into ordinary pages too, so only its
# interstitial path (chl_page) counts, never the bare "challenge-platform".
_CHALLENGE_MARKERS = (
    "cf-chl",  # Cloudflare challenge forms and options
    "challenge-platform/h/g/orchestrate/chl_page",
    "just a moment...",
    "enable javascript and cookies to continue",
    "attention required! | cloudflare",
    "checking your browser before accessing",
)


def decode_page(body: bytes, url: str) -> str:
    """Decode a page as UTF-8, rejecting bodies that are binary or not text."""
    if b"\x00" in body[:4096]:
        raise PageRejected("body is binary, not a text page", url=url)
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PageRejected(f"body is not valid UTF-8 at byte {exc.start}", url=url) from None


def reject_challenge(text: str, url: str) -> None:
    """Raise PageRejected if the text is a bot-challenge or block page."""
    head = text[:20000].lower()
    for marker in _CHALLENGE_MARKERS:
        if marker in head:
            raise PageRejected(f"a bot-challenge page was served (found {marker!r})", url=url)


def clean_cell(cell: str) -> str:
    """Strip markdown decoration from a table cell: links, escapes, emphasis, footnote marks."""
    cell = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", cell)  # [text](link) -> text
    cell = cell.replace("\\$", "$").replace("\\", "")
    # Inline html such as <sup>1</sup> or <br/>; only real tags, so text like
    # "prompts <= 200k tokens ... > 200k" survives.
    cell = re.sub(r"</?[A-Za-z][^<>]*>", " ", cell)
    cell = cell.replace("**", "").replace("__", "").replace("`", "")
    # Entities an HTML copy of a table carries ("Cache Hits &amp; Refreshes").
    cell = html.unescape(cell) if "&" in cell else cell
    return " ".join(cell.split())


def is_not_offered(cell: str) -> bool:
    """True when a cell says the rate does not exist ("-", "Not available")."""
    return cell.strip().lower() in NOT_OFFERED_WORDS


_PRICE = re.compile(r"\$\s*([0-9][0-9,]*(?:\.[0-9]+)?)")


def usd_amounts(cell: str) -> list[Decimal]:
    """Every dollar amount in a cell, in order, exactly ("$2.50 / $1.25" -> [2.50, 1.25])."""
    return [Decimal(m.replace(",", "")) for m in _PRICE.findall(clean_cell(cell))]


def parse_usd(cell: str, *, url: str = "") -> Decimal:
    """Read the first dollar amount in a cell ("$18.75 / MTok", "\\$3<sup>1</sup>") exactly.

    Footnote digits glued after a price by a markup tag are not part of it
    because the tag is removed to a space by :func:`clean_cell` first.
    """
    match = _PRICE.search(clean_cell(cell))
    if not match:
        raise PageRejected(f"expected a dollar price, found {cell.strip()!r}", url=url)
    try:
        return Decimal(match.group(1).replace(",", ""))
    except InvalidOperation:  # pragma: no cover - the regex admits only digits
        raise PageRejected(f"unreadable price {cell.strip()!r}", url=url) from None


def markdown_tables(text: str) -> list[tuple[list[str], list[list[str]]]]:
    """Every pipe table in a markdown text as (header cells, body rows), cells cleaned.

    The separator row (``| --- |``) is required, which is what makes a run of
    lines a table; rows keep as many cells as they have.
    """
    tables: list[tuple[list[str], list[list[str]]]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines) - 1:
        if _is_row(lines[i]) and is_separator(lines[i + 1]):
            header = [clean_cell(c) for c in split_row(lines[i])]
            rows: list[list[str]] = []
            i += 2
            while i < len(lines) and _is_row(lines[i]):
                rows.append([clean_cell(c) for c in split_row(lines[i])])
                i += 1
            tables.append((header, rows))
        else:
            i += 1
    return tables


def _is_row(line: str) -> bool:
    return line.strip().startswith("|")


def is_separator(line: str) -> bool:
    """True for a markdown table's separator row (``| --- | :-: |``)."""
    cells = split_row(line)
    return bool(cells) and all(re.fullmatch(r"\s*:?-{2,}:?\s*", c) for c in cells)


def split_row(line: str) -> list[str]:
    """The raw cells of one pipe-table line, outer pipes dropped."""
    line = line.strip()
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|") and not line.endswith("\\|"):
        line = line[:-1]
    # A pipe escaped as \| belongs to the cell.
    return [c.replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line)]


def normalise_header(cell: str) -> str:
    """Lower-case a header and fold wording drift ("and" for "&", extra spaces)."""
    cell = clean_cell(cell).lower().replace("&", " and ")
    return " ".join(cell.split())
