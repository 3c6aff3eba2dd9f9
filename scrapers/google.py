"""Parser for the Gemini Developer API pricing page (ai.google.dev/gemini-api/docs/pricing),
read as the markdown a reader service (r.jina.ai) renders from it.

Page shape:

- one ``## <display name>`` section per model, with the API id(s) on a line of
  their own as ``_`gemini-2.5-pro`_`` (several ids: ``_`a` and `b`_``);
- the tier tab widget flattened into one line of links,
  ``[Standard](…#standard)[Batch](…#batch)[Flex](…#flex)[Priority](…#priority)More``,
  followed by one table per tab panel in the same order. Nothing else names a
  table's tier, so the tab line is what identifies them (a label such as
  ``### Batch`` directly above a table would win, should the page grow one).
  A section without a tab line has one table: its only (standard) price;
- each table is ``| | Free Tier | Paid Tier, per 1M tokens in USD |``. ratecard
  prices the paid tier, so the free-tier column is ignored. Tables priced per
  image, per second or per request (Imagen, Veo, Lyria) are not token rates
  and are skipped on purpose;
- a paid cell may hold several prices: per modality ``$0.30 (text / image /
  video) $1.00 (audio)``, per prompt size ``$1.25, prompts <= 200k tokens
  $2.50, prompts > 200k tokens`` (the long-context rate is keyed
  ``min_prompt_tokens=200000``), the cache storage rate ``$4.50 / 1,000,000
  tokens per hour (storage price)``, and the same price in other units
  (``or $0.005/min``, ``$0.039 per image``), which are skipped.
"""

import re
import unicodedata
from decimal import Decimal
from typing import NamedTuple

from ratecard.scrapers.errors import PageRejected
from ratecard.scrapers.observation import Observation, Reading, SkippedSection
from ratecard.scrapers.tables import html_tables_as_pipes
from ratecard.scrapers.text import (
    clean_cell,
    decode_page,
    is_not_offered,
    markdown_tables,
    normalise_header,
    reject_challenge,
)
from ratecard.scrapers.vocabulary import TIERS

PROVIDER = "google"

# A markdown pipe table: a row, its separator row, then any further rows.
_TABLE_BLOCK = re.compile(
    r"(^[ \t]*\|.*\n"  # header row
    r"^[ \t]*\|[ \t:|-]*-{2,}[ \t:|-]*\n"  # separator row
    r"(?:^[ \t]*\|.*(?:\n|$))*)",  # body rows
    re.M,
)
_TAB_LINK = re.compile(r"\[([^\]]+)\]\([^)\s]*#([\w-]+)\)")
_AMOUNT = re.compile(r"\$\s*([0-9][0-9,]*(?:\.[0-9]+)?)")
_LONG_CONTEXT = re.compile(r"prompts\s*(≤|<=|<|>=|>)\s*([0-9]+)\s*k\b", re.I)
# "prompts <= 200k tokens $2.50, prompts > 200k" looks like an HTML tag to
# text.clean_cell, which would delete the long-context price; a "<" before a
# number is never a tag here, so it is rewritten before the tables are read.
_LESS_THAN = re.compile(r"<=?(?=\s*[0-9])")

# Kinds by row role and modality. "base" is text (with image and video where
# the page prices them together); image- or video-only prices have no kind.
_KIND = {
    ("input", "base"): "input",
    ("input", "audio"): "input_audio",
    ("output", "base"): "output",
    ("cache", "base"): "cached_input",
    ("cache", "audio"): "cached_input_audio",
}
_STORAGE = "cache_storage_per_hour"


class _Rate(NamedTuple):
    kind: str
    usd_per_mtok: Decimal | None
    min_prompt_tokens: int = 0
    note: str = ""


def parse(body: bytes, url: str) -> Reading:
    """Read every paid-tier per-token rate on the Gemini pricing page, one model section at a time.

    A section that cannot be read (its tier tabs do not match its tables, a
    price unreadable) is skipped with its models as the scope; the other
    sections are kept. Raises PageRejected when the page has no model sections
    with an API id or yields no rate at all.
    """
    text = decode_page(body, url)
    reject_challenge(text, url)
    text = _LESS_THAN.sub("≤", html_tables_as_pipes(text))
    sections = [(title, part) for title, part in split_sections(text) if section_model_ids(part)]
    if not sections:
        raise PageRejected("no model sections (## heading with an _`api-id`_ line) found", url=url)
    observations: list[Observation] = []
    skipped: list[SkippedSection] = []
    for title, part in sections:
        try:
            observations.extend(parse_section(title, part, url))
        except PageRejected as exc:
            skipped.append(SkippedSection(section=title, reason=exc.reason, providers=(PROVIDER,),
                                          models=tuple(section_model_ids(part))))  # fmt: skip
    if not observations:
        if skipped:
            raise PageRejected(f"no model section could be read: {skipped[0].section}: {skipped[0].reason}", url=url)
        raise PageRejected("no 'Paid Tier, per 1M tokens' price tables found in the model sections", url=url)
    _reject_duplicate_keys(observations, url)
    return Reading(observations=observations, skipped=skipped)


def split_sections(text: str) -> list[tuple[str, str]]:
    """Split markdown into (``##`` heading, text up to the next ``##``) pairs."""
    parts = re.split(r"^##[ \t]+(.+)$", text, flags=re.M)
    return [(clean_cell(parts[i]), parts[i + 1]) for i in range(1, len(parts) - 1, 2)]


def section_model_ids(section: str) -> list[str]:
    """The API ids on the section's ``_`id`_`` line; [] for sections without one (Gemma, tools)."""
    for line in section.splitlines():
        line = line.strip()
        if line.startswith("_`") and line.endswith("`_"):
            return re.findall(r"`([^`]+)`", line)
    return []


def parse_section(title: str, section: str, url: str) -> list[Observation]:
    """The observations of one model section, for each API id it names."""
    model_ids = section_model_ids(section)
    pieces = _TABLE_BLOCK.split(section)  # [text, table, text, table, ..., text]
    befores, blocks = pieces[0:-1:2], pieces[1::2]
    tiers = table_tiers(title, section, befores, url)
    rates: list[tuple[str, _Rate]] = []
    for tier, block in zip(tiers, blocks):
        header, rows = markdown_tables(block)[0]
        column = paid_token_column(header)
        if column is None:
            continue  # priced per image / second / request: not a token rate
        for row in rows:
            if len(row) > column:
                rates.extend((tier, rate) for rate in row_rates(row[0], row[column], title, url))
    name = display_name(title)
    return [
        Observation(
            provider=PROVIDER,
            model=model,
            tier=tier,
            kind=rate.kind,
            usd_per_mtok=rate.usd_per_mtok,
            min_prompt_tokens=rate.min_prompt_tokens,
            basis="published" if rate.usd_per_mtok is not None else "not_offered",
            # The page's label belongs to the section's first (main) id; giving it
            # to a variant such as -customtools would make the alias ambiguous.
            display_name=name if model == model_ids[0] else "",
            note=rate.note,
        )
        for model in model_ids
        for tier, rate in rates
    ]


def table_tiers(title: str, section: str, befores: list[str], url: str) -> list[str]:
    """The tier of each table in a section, from a label just above it or else the tab order."""
    order = tab_order(title, section, url)
    labelled = [_tier_label(before) for before in befores]
    if not all(labelled) and len(befores) != len(order):
        # One table per tab panel, in tab order: a count that differs means a table was lost or
        # broken (e.g. its separator row), and reading on would give each tier the next one's prices.
        raise PageRejected(f"{title}: {len(befores)} price table(s) for the {len(order)} tier tab(s) {order}", url=url)
    tiers = []
    for i, before in enumerate(befores):
        tier = _tier_label(before) or (order[i] if i < len(order) else None)
        if tier is None:
            raise PageRejected(f"{title}: {len(befores)} price tables but tier tabs {order}", url=url)
        tiers.append(tier)
    return tiers


def tab_order(title: str, section: str, url: str) -> list[str]:
    """Tiers named by the section's tab line, in order; ["standard"] when it has none."""
    for line in section.splitlines():
        links = _TAB_LINK.findall(line)
        if any(anchor == "standard" for _, anchor in links):
            tiers = [clean_cell(label).lower() for label, _ in links]
            unknown = [t for t in tiers if t not in TIERS]
            if unknown:
                raise PageRejected(f"{title}: unknown tier tab(s) {unknown}", url=url)
            return tiers
    return ["standard"]


def _tier_label(before: str) -> str | None:
    lines = [line for line in before.splitlines() if line.strip()]
    if not lines:
        return None
    label = clean_cell(lines[-1]).strip("#*_: ").lower().removesuffix(" tier")
    return label if label in TIERS else None


def paid_token_column(header: list[str]) -> int | None:
    """Index of the "Paid Tier, per 1M tokens" column; None for per-image/second tables."""
    for i, cell in enumerate(header):
        cell = normalise_header(cell)
        if cell.startswith("paid tier") and "1m tokens" in cell:
            return i
    return None


def row_rates(label: str, cell: str, title: str, url: str) -> list[_Rate]:
    """The rates one table row states; [] for rows that are not token prices (grounding, tuning)."""
    role = _row_role(label)
    if role is None:
        return []
    family, default_modality = role
    if is_not_offered(cell) or cell.lower().startswith("not available"):
        kind = _STORAGE if family == "storage" else _KIND.get((family, default_modality or ""))
        return [_Rate(kind, None)] if kind else []
    parts = _price_parts(cell)
    if not parts:
        raise PageRejected(f"{title}: no dollar price in {label!r}: {cell!r}", url=url)
    note = "; ".join(re.findall(r"(?<!\w)_([^_]+)_(?!\w)", cell))
    readings = list(_read_parts(parts, default_modality))
    text_output = any(modality == "base" for _, _, modality, _ in readings)
    rates = []
    for amount, min_tokens, modality, storage in readings:
        if storage or family == "storage":
            rates.append(_Rate(_STORAGE, amount, 0, note))
        elif family == "output" and modality == "audio" and not text_output:
            # A speech model's only output is audio: that is its output rate.
            rates.append(_Rate("output", amount, min_tokens, "audio output"))
        elif (family, modality) in _KIND:
            # Audio output beside a text output rate has no kind; image-only prices neither.
            rates.append(_Rate(_KIND[(family, modality)], amount, min_tokens, note))
    return rates


def _row_role(label: str) -> tuple[str, str | None] | None:
    """(family, default modality) for a row label, or None for rows ratecard does not price."""
    label = normalise_header(label)
    if label.startswith("context caching"):
        return ("storage" if "storage" in label else "cache", "base")
    match = re.match(r"(?:(text|audio|image|video) )?(input|output) price\b", label)
    if not match:
        return None
    # "Image input price" / "Video input price" (embeddings) have no kind of their own.
    default = {None: "base", "text": "base", "audio": "audio"}.get(match.group(1))
    return (match.group(2), default)


def _price_parts(cell: str) -> list[tuple[Decimal, str]]:
    """Each dollar amount in a cell with the words after it, up to the next amount."""
    matches = list(_AMOUNT.finditer(cell))
    ends = [m.start() for m in matches[1:]] + [len(cell)]
    return [(Decimal(m.group(1).replace(",", "")), cell[m.end() : end]) for m, end in zip(matches, ends)]


def _read_parts(parts: list[tuple[Decimal, str]], default_modality: str | None):
    """Yield (amount, min_prompt_tokens, modality, is_storage) for each per-token price in a cell."""
    for i, (amount, tail) in enumerate(parts):
        if re.match(r"\s*(/\s*min\b|per\b)", tail):
            continue  # the same price in another unit: per minute, image, second or frame
        if re.fullmatch(r"\s*or\s*", tail) and i + 1 < len(parts):
            tail = parts[i + 1][1]  # "$3.00 or $0.005/min (audio)": the label follows the alternate
        storage = "per hour" in tail
        label = re.search(r"\(([^()$]*)\)", tail)
        modality = _modality(label.group(1) if label else "", default_modality)
        threshold = _LONG_CONTEXT.search(tail)
        min_tokens = int(threshold.group(2)) * 1000 if threshold and ">" in threshold.group(1) else 0
        yield amount, min_tokens, modality, storage


def _modality(label: str, default: str | None) -> str | None:
    words = set(re.findall(r"[a-z]+", label.lower()))
    if not words:
        return default
    if "text" in words:
        return "base"
    if "audio" in words:
        return "audio"
    return None  # "(images)", "(image/video)": priced apart from text, no kind for them


def display_name(title: str) -> str:
    """The section heading without decoration such as the banana emoji."""
    kept = "".join(ch for ch in title if unicodedata.category(ch) != "So")
    return " ".join(kept.split())


def _reject_duplicate_keys(observations: list[Observation], url: str) -> None:
    seen: set[tuple] = set()
    for obs in observations:
        if obs.key in seen:
            raise PageRejected(f"two prices for one rate {obs.key}: the cell layout changed", url=url)
        seen.add(obs.key)
