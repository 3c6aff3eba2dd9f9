"""Parser for xAI's models and pricing page (docs.x.ai/docs/models, now served at
docs.x.ai/developers/models), read as the markdown r.jina.ai renders from it.

Page shape: marketing cards ("### Grok 4.3 … Input$1.25 / 1M tokens") repeat
some prices; the rates are read from the ``### Chat API`` table instead,
``| Model | Context | Input | Output | |``, one API id per row, captioned
"Prices shown per million tokens". The Imagine and Voice tables price images,
seconds and characters, not tokens, and are skipped.

What the page does not give, and ratecard therefore does not invent: a cached
input price (the "Cached prompt tokens" section points at "the pricing table
above", which has no such column in the 2026-05 copy), a long-context split,
and batch prices ("20%-50% off standard rates", per model only on each
model's own page). Should the table grow a ``Cached input`` column or a
column headed with a threshold such as ``Input (>128K)``, those are read as
``cached_input`` and as a rate with ``min_prompt_tokens``. Tables and columns
are found through the shared layer (:mod:`scrapers.tables`): header synonyms,
HTML tables, annotated model names.
"""

import re
from decimal import Decimal

from ratecard.scrapers.errors import PageRejected
from ratecard.scrapers.observation import Observation, Reading
from ratecard.scrapers.tables import column_role, is_model_header, read_tables, split_name
from ratecard.scrapers.text import clean_cell, decode_page, is_not_offered, reject_challenge

PROVIDER = "xai"

_AMOUNT = re.compile(r"\$\s*([0-9][0-9,]*(?:\.[0-9]+)?)")
_THRESHOLD = re.compile(r"(?:>|≥|over|above)\s*([0-9]+)\s*k\b", re.I)
_MODEL_ID = re.compile(r"[a-z0-9][a-z0-9.\-]*")
_PER_MTOK = ("per million tokens", "/ 1m tokens", "per 1m tokens")


def parse(body: bytes, url: str) -> Reading:
    """Read the page into a Reading: every rate of :func:`read_rates`; this page has no separately skippable section."""
    return Reading(observations=read_rates(body, url))


def read_rates(body: bytes, url: str) -> list[Observation]:
    """Read input, cached input and output rates per model from the Chat API table.

    Raises PageRejected when no table has Model, Input and Output columns, the
    page does not say its prices are per million tokens, or no rate is read.
    """
    text = decode_page(body, url)
    reject_challenge(text, url)
    tables = [(t.header, t.rows) for t in read_tables(text) if not t.broken and token_columns(t.header)]
    if not tables:
        raise PageRejected("no model price table with Model, Input and Output columns found", url=url)
    if not any(unit in text.lower() for unit in _PER_MTOK):
        raise PageRejected("the page no longer says its prices are per million tokens", url=url)
    observations = [obs for header, rows in tables for obs in parse_table(header, rows, url)]
    if not observations:
        raise PageRejected("the model price table has no priced rows", url=url)
    return observations


def token_columns(header: list[str]) -> dict[int, tuple[str, int]]:
    """Column index -> (kind, min_prompt_tokens) for a price table; {} for other tables."""
    if not header or not is_model_header(header[0]):
        return {}
    columns = {i: column_rate(name) for i, name in enumerate(header) if i > 0}
    columns = {i: rate for i, rate in columns.items() if rate is not None}
    kinds = {kind for kind, _ in columns.values()}
    return columns if {"input", "output"} <= kinds else {}


def column_rate(name: str) -> tuple[str, int] | None:
    """(kind, min_prompt_tokens) that a header such as "Cached input" or "Input (>128K)" prices."""
    threshold = _THRESHOLD.search(name)
    min_tokens = int(threshold.group(1)) * 1000 if threshold else 0
    role = column_role(re.sub(r"\([^)]*\)", " ", name))  # "Input (>128K)": the threshold is read above
    return (role.kind, min_tokens) if role is not None else None


def parse_table(header: list[str], rows: list[list[str]], url: str) -> list[Observation]:
    """Observations from one price table, one per model row and price column."""
    columns = token_columns(header)
    observations = []
    for row in rows:
        model = split_name(row[0]).name if row else ""  # "(preview)", footnote marks: names stay names
        if not _MODEL_ID.fullmatch(model):
            raise PageRejected(f"price table row {model!r} is not an API model id", url=url)
        for index, (kind, min_tokens) in columns.items():
            cell = clean_cell(row[index]) if index < len(row) else ""
            if not cell.strip():
                continue  # an empty cell is missing data, not "not offered"
            amount = read_price(cell, model, url)
            observations.append(
                Observation(
                    provider=PROVIDER,
                    model=model,
                    tier="standard",
                    kind=kind,
                    usd_per_mtok=amount,
                    min_prompt_tokens=min_tokens,
                    basis="published" if amount is not None else "not_offered",
                )
            )
    return observations


def read_price(cell: str, model: str, url: str) -> Decimal | None:
    """The one price in a cell; None when the cell says the rate is not offered."""
    if is_not_offered(cell):
        return None
    amounts = _AMOUNT.findall(cell)
    if len(amounts) != 1:
        # Two prices in one cell would be a split this parser does not know yet.
        raise PageRejected(f"{model}: expected one price per cell, found {cell!r}", url=url)
    return Decimal(amounts[0].replace(",", ""))
