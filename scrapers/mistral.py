"""Parser for Mistral AI's pricing page (mistral.ai/pricing).

Page shape (seen 2026-05-08): a Next.js App Router page with no ``<table>``.
The prices exist only in the React Server Components ("flight") payload that
the page streams in inline scripts::

    <script>self.__next_f.push([1,"36:[\\"$\\",\\"$L56\\",...,{\\"apis\\":[...]}]\\n"])</script>

Each push carries a JS string; the strings concatenated form rows
``<hex id>:<value>\\n`` where a value is JSON, an import (``I[...]``) or a text
row ``T<hex byte length>,<text>``. In JSON strings a leading ``$`` is
special: ``$$1.5`` is the literal ``$1.5``, ``$3b`` refers to row ``3b``.

The API price list is one array of cards (``"apis"``), each::

    {"name": "Mistral Large 3", "type": "Open models",
     "api_endpoint": "mistral-large-latest",
     "price": [{"value": "Input (/M tokens)", "price_dollar": "<p>$0.5</p>", ...},
               {"value": "Output (/M tokens)", "price_dollar": "<p>$1.5</p>", ...}],
     "fine_tuning": [...] | null, ...}

Only the per-1M-token input and output prices are read. Everything else is
skipped on purpose: OCR per 1,000 pages, audio per minute, TTS per 1k
characters, tool calls, fine-tuning (training, storage and the inference rates
of a fine-tuned model, which has its own per-job id), and cards without an API
id (tools, custom classifiers). A smaller "model_grid" teaser above repeats a
few of the same cards (with ``"api"`` instead of ``"api_endpoint"``); it is not
read. Euro prices are ignored: ratecard is USD.
"""

import html
import json
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, NamedTuple

from ratecard.scrapers.errors import PageRejected
from ratecard.scrapers.names import model_id_for
from ratecard.scrapers.observation import Observation, Reading
from ratecard.scrapers.text import decode_page, is_not_offered, parse_usd, reject_challenge

PROVIDER = "mistral"

_PUSH = re.compile(r"self\.__next_f\.push\(")
_ROW_HEAD = re.compile(rb"([0-9a-fA-F]*):")
_TEXT_ROW = re.compile(rb"T([0-9a-fA-F]+),")
_TAG = re.compile(r"<[^>]+>")
# "$0.004 (audio) / $0.1 (text)": Voxtral's input cell prices audio per minute and text per token.
_TEXT_PRICE = re.compile(r"\$\s*([0-9][0-9,]*(?:\.[0-9]+)?)\s*\(text\)", re.IGNORECASE)
_FREE_NOTE = "the page gives the API endpoint as Free, with no per-token price"


class PriceCard(NamedTuple):
    """One card of the API price grid, strings already un-escaped."""

    name: str
    api_id: str | None
    prices: tuple[tuple[str, str], ...]  # (label, price text with markup removed)


def parse(body: bytes, url: str) -> Reading:
    """Read the page into a Reading: every rate of :func:`read_rates`; this page has no separately skippable section."""
    return Reading(observations=read_rates(body, url))


def read_rates(body: bytes, url: str) -> list[Observation]:
    """Read mistral.ai/pricing into standard-tier input/output rates per API model id."""
    text = decode_page(body, url)
    reject_challenge(text, url)
    rows = flight_rows(text, url)
    cards = price_cards(rows)
    if not cards:
        raise PageRejected("no API price cards (objects with 'api_endpoint' and 'price') in the flight data", url=url)
    observations = [obs for card, model in _assign_ids(cards, url) for obs in _card_observations(card, model, url)]
    if not observations:
        raise PageRejected("no per-1M-token input or output price in any API price card", url=url)
    return observations


def flight_rows(text: str, url: str) -> dict[str, Any]:
    """Decode the page's Next.js flight payload into {row id: value} (JSON rows decoded, text rows as str)."""
    payload = _flight_payload(text)
    if not payload:
        raise PageRejected("no Next.js flight data (self.__next_f.push chunks) in the page", url=url)
    return _split_rows(payload.encode("utf-8"))


def price_cards(rows: dict[str, Any]) -> list[PriceCard]:
    """Every card of the API price grid, in page order: dicts holding 'api_endpoint' and a 'price' list."""
    cards: list[PriceCard] = []
    for node in _dicts(list(rows.values())):
        if "api_endpoint" not in node or not isinstance(node.get("price"), list):
            continue
        prices = tuple(
            (_plain(_resolve(p.get("value"), rows)), _plain(_resolve(p.get("price_dollar"), rows)))
            for p in node["price"]
            if isinstance(p, dict)
        )
        api_id = _plain(_resolve(node["api_endpoint"], rows)) or None
        cards.append(PriceCard(_plain(_resolve(node.get("name"), rows)), api_id, prices))
    return cards


def _flight_payload(text: str) -> str:
    # Each push argument is a JS array literal that is valid JSON ([1, "..."]);
    # raw_decode reads exactly one, so a "])" inside the string cannot cut it short.
    decoder = json.JSONDecoder()
    parts: list[str] = []
    for match in _PUSH.finditer(text):
        try:
            chunk, _ = decoder.raw_decode(text, match.end())
        except json.JSONDecodeError:
            continue  # a push of something that is not a literal: not flight data
        # Type 1 chunks are the flight text; 0 is bootstrap, 2 form state, 3 binary.
        if isinstance(chunk, list) and len(chunk) == 2 and chunk[0] == 1 and isinstance(chunk[1], str):
            parts.append(chunk[1])
    return "".join(parts)


def _split_rows(data: bytes) -> dict[str, Any]:
    # Rows are read as bytes because a text row's length counts UTF-8 bytes.
    rows: dict[str, Any] = {}
    pos = 0
    while pos < len(data):
        head = _ROW_HEAD.match(data, pos)
        if not head:  # stray bytes: resume at the next line
            end = data.find(b"\n", pos)
            pos = len(data) if end < 0 else end + 1
            continue
        row_id, pos = head.group(1).decode(), head.end()
        if text_row := _TEXT_ROW.match(data, pos):
            start = text_row.end()
            end = start + int(text_row.group(1), 16)
            rows[row_id] = data[start:end].decode("utf-8", "replace")
            pos = end
            continue
        end = data.find(b"\n", pos)
        end = len(data) if end < 0 else end
        raw = data[pos:end].decode("utf-8", "replace")
        pos = end + 1
        try:
            rows[row_id] = json.loads(raw)
        except json.JSONDecodeError:
            rows[row_id] = raw  # imports (I[...]), hints and errors: not data
    return rows


def _dicts(root: Any) -> Iterator[dict[str, Any]]:
    # Iterative walk: the React tree nests deeper than is safe to recurse.
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            yield node
            stack.extend(reversed(list(node.values())))
        elif isinstance(node, list):
            stack.extend(reversed(node))


def _resolve(value: Any, rows: dict[str, Any]) -> Any:
    """Un-escape a flight string: "$$x" is the literal "$x"; "$<id>" of a text row is that text."""
    if not isinstance(value, str) or not value.startswith("$"):
        return value
    if value.startswith("$$"):
        return value[1:]
    target = rows.get(value[1:])
    return target if isinstance(target, str) else value


def _plain(value: Any) -> str:
    """Markup removed, entities decoded and whitespace folded ("<p>$0.5</p>" -> "$0.5")."""
    if not isinstance(value, str):
        return ""
    return " ".join(html.unescape(_TAG.sub(" ", value)).split())


def _assign_ids(cards: list[PriceCard], url: str) -> list[tuple[PriceCard, str]]:
    """(card, API model id) for the cards that carry token prices, in page order.

    The card's own ``api_endpoint`` is the id, except where the page gives one
    endpoint to several priced cards (on 2026-05-08 "Mistral Small 4" and
    "Mistral Small 3.2" both say ``mistral-small-latest`` at different prices):
    then each is resolved by name through data/models/mistral.toml, which pins
    the older one to its dated id, and an unknown name rejects the page rather
    than guessing which price the alias bills at. Cards without an endpoint
    (tools, custom classifiers) count only if the catalog knows their name.
    """
    priced = [card for card in cards if _token_prices(card)]
    claims: dict[str, list[str]] = {}
    for card in priced:
        if card.api_id:
            claims.setdefault(card.api_id, []).append(card.name)
    assigned: list[tuple[PriceCard, str]] = []
    for card in priced:
        if card.api_id and len(claims[card.api_id]) == 1:
            assigned.append((card, card.api_id))
        elif known := model_id_for(PROVIDER, card.name):
            assigned.append((card, known))
        elif card.api_id:
            names = ", ".join(repr(name) for name in claims[card.api_id])
            raise PageRejected(
                f"cards {names} all give API id {card.api_id!r}; add {card.name!r} to data/models/mistral.toml",
                url=url,
            )
    seen: dict[str, str] = {}
    for card, model in assigned:
        if model in seen:
            raise PageRejected(f"cards {seen[model]!r} and {card.name!r} both resolve to {model!r}", url=url)
        seen[model] = card.name
    return assigned


def _token_prices(card: PriceCard) -> list[tuple[str, str]]:
    """(kind, price text) for the card's per-1M-token input and output prices."""
    pairs = [(kind, value) for label, value in card.prices if (kind := _token_kind(label))]
    if not pairs and _is_free_endpoint(card):
        # Leanstral: the only price is "API endpoint: Free" (for a limited period).
        # Free is a real price of zero for every token, so both kinds are stated.
        pairs = [("input", "Free"), ("output", "Free")]
    return pairs


def _token_kind(label: str) -> str | None:
    """The kind a price label names, or None for prices that are not per 1M tokens."""
    words = label.lower()
    # "(/M tokens)", "(per min / per M tok)"; labels without it are per page,
    # per minute, per 1k characters, per call or per month: not token rates.
    if "m tok" not in words:
        return None
    if words.startswith("input"):
        return "input"
    if words.startswith("output"):
        return "output"
    return None  # "Training Cost (/M tokens)": fine-tuning, billed per job


def _is_free_endpoint(card: PriceCard) -> bool:
    return bool(card.prices) and all(value.lower() == "free" for _, value in card.prices)


def _card_observations(card: PriceCard, model: str, url: str) -> list[Observation]:
    out: list[Observation] = []
    for kind, value in _token_prices(card):
        note = ""
        if value.lower() == "free":
            usd: Decimal | None = Decimal(0)
            note = _FREE_NOTE
        elif is_not_offered(value):
            usd = None
        elif match := _TEXT_PRICE.search(value):
            usd = Decimal(match.group(1).replace(",", ""))
            note = f"text tokens; the page prices audio input per minute ({value})"
        else:
            usd = parse_usd(value, url=url)
        out.append(
            Observation(
                provider=PROVIDER,
                model=model,
                tier="standard",
                kind=kind,
                usd_per_mtok=usd,
                basis="not_offered" if usd is None else "published",
                display_name=card.name,
                note=note,
            )
        )
    return out
