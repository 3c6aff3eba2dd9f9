"""Parser for claude.com/pricing, Anthropic's marketing price page (static HTML cards).

Page shape (seen 2026-05-08): below the Claude app plans, an "API" section of
price cards, first the latest models, then "Legacy models"::

    <div class="card_pricing_api_wrap">
      <h3 class="card_pricing_title_text">Opus 4.7</h3>
      <div class="tokens_l1_wrap">
        <div class="tokens_main_wrap"><div class="tokens_main_label">Input</div>
          <div class="tokens_main_val">$<span data-value="5">5</span> / MTok</div></div></div>
      ... Output ...
      <div class="tokens_l1_wrap">
        <div class="tokens_main_wrap"><div class="tokens_main_label">Prompt caching</div></div>
        ... <div class="tokens_main_label">Write</div><div class="tokens_main_val">$6.25 / MTok</div>
        ... <div class="tokens_main_label">Read</div><div class="tokens_main_val">$0.50 / MTok</div>

The static HTML shows standard prices; a "Batch processing" toggle halves them
in the browser (not read: the Anthropic docs source publishes batch rates).
The cache-write price is for one TTL, named in a line under the cards
("Prompt caching pricing reflects 5-minute TTL"), which decides its kind.

Cards name models without "Claude" ("Opus 4.7"). Names resolve through the
model catalog (data/models/anthropic.toml), as given or with "Claude " in
front; an unknown name gets an id from Anthropic's alias pattern
(:func:`slug_model_id`) and says so in ``note``.
"""

import re

from bs4 import BeautifulSoup, Tag

from ratecard.scrapers.errors import PageRejected
from ratecard.scrapers.names import model_id_for
from ratecard.scrapers.observation import Observation, Reading
from ratecard.scrapers.text import decode_page, parse_usd, reject_challenge
from ratecard.scrapers.vocabulary import CACHE_WRITE_KIND_BY_TTL

PROVIDER = "anthropic"

# Label path on a card -> rate kind; "write" is filled in from the page's TTL line.
KIND_BY_LABELS: dict[tuple[str, ...], str] = {
    ("input",): "input",
    ("output",): "output",
    ("prompt caching", "read"): "cached_input",
}
CACHE_WRITE_LABELS: tuple[str, ...] = ("prompt caching", "write")
REQUIRED_KINDS: tuple[str, ...] = ("input", "output")

_TTL = re.compile(r"(\d+)[\s-]*(minute|hour)s?\s+TTL", re.IGNORECASE)
_TTL_UNIT = {"minute": "m", "hour": "h"}
_CLAUDE_NAME = re.compile(r"^(?:Claude\s+)?(Opus|Sonnet|Haiku)\s+(\d+)(?:\.(\d+))?$", re.IGNORECASE)
SLUG_NOTE = "model id from the page name by Anthropic's alias pattern; the name is not in the model catalog"


def parse(body: bytes, url: str) -> Reading:
    """Read the page into a Reading: every rate of :func:`read_rates`; this page has no separately skippable section."""
    return Reading(observations=read_rates(body, url))


def read_rates(body: bytes, url: str) -> list[Observation]:
    """Read claude.com/pricing into standard-tier input, output and prompt-caching rates."""
    text = decode_page(body, url)
    reject_challenge(text, url)
    soup = BeautifulSoup(text, "html.parser")
    cards = soup.select(".card_pricing_api_wrap")
    if not cards:
        raise PageRejected("no API price cards (.card_pricing_api_wrap) on the page", url=url)
    write_kind = cache_write_kind(soup.get_text(" "), url)
    observations: list[Observation] = []
    for card in cards:
        observations.extend(_card_observations(card, write_kind, url))
    if not observations:  # pragma: no cover - every card yields input and output or raises
        raise PageRejected("no per-MTok price in the API price cards", url=url)
    return observations


def cache_write_kind(page_text: str, url: str) -> str:
    """The kind of the cards' cache-write price, from the page's "reflects 5-minute TTL" line."""
    ttls = {f"{int(n)}{_TTL_UNIT[unit.lower()]}" for n, unit in _TTL.findall(page_text)}
    if len(ttls) != 1:
        found = ", ".join(sorted(ttls)) or "none"
        raise PageRejected(f"expected one prompt-caching TTL statement, found {found}", url=url)
    ttl = ttls.pop()
    if ttl not in CACHE_WRITE_KIND_BY_TTL:
        raise PageRejected(f"cache writes priced for a {ttl} TTL, which ratecard has no kind for", url=url)
    return CACHE_WRITE_KIND_BY_TTL[ttl]


def resolve_model(name: str) -> tuple[str, str]:
    """(API id, note) for a card name: the catalog's id, else the alias-pattern slug with a note."""
    for candidate in (name, f"Claude {name}"):
        if known := model_id_for(PROVIDER, candidate):
            return known, ""
    return slug_model_id(name), SLUG_NOTE


def slug_model_id(name: str) -> str:
    """Anthropic's alias pattern for a model name, used only when the catalog does not know it.

    The undated-id convention of data/models/anthropic.toml: from Claude 4 on,
    ``claude-<family>-<major>[-<minor>]`` (Opus 4.7 -> ``claude-opus-4-7``,
    Sonnet 4 -> ``claude-sonnet-4``); before that the version came first
    (Haiku 3.5 -> ``claude-3-5-haiku``). Any other name is lower-cased and
    hyphenated after ``claude-``.
    """
    match = _CLAUDE_NAME.match(name.strip())
    if not match:
        words = re.sub(r"[^a-z0-9]+", "-", name.lower().removeprefix("claude")).strip("-")
        return f"claude-{words}"
    family, major, minor = match.group(1).lower(), int(match.group(2)), match.group(3)
    version = f"{major}-{minor}" if minor else str(major)
    return f"claude-{family}-{version}" if major >= 4 else f"claude-{version}-{family}"


def _card_observations(card: Tag, write_kind: str, url: str) -> list[Observation]:
    title = card.select_one(".card_pricing_title_text") or card.find(["h2", "h3", "h4"])
    name = " ".join(title.get_text(" ").split()) if title else ""
    if not name:
        raise PageRejected("an API price card has no model name", url=url)
    model, note = resolve_model(name)
    kinds = {**KIND_BY_LABELS, CACHE_WRITE_LABELS: write_kind}
    observations: list[Observation] = []
    for labels, value in _priced_labels(card):
        kind = kinds.get(labels)
        if kind is None:
            continue  # a price line ratecard does not model; input and output are checked below
        if "mtok" not in value.lower().replace(" ", ""):
            raise PageRejected(f"{name} {' '.join(labels)}: expected a price per MTok, found {value!r}", url=url)
        observations.append(
            Observation(
                provider=PROVIDER,
                model=model,
                tier="standard",
                kind=kind,
                usd_per_mtok=parse_usd(value, url=url),
                display_name=name,
                note=note,
            )
        )
    missing = [k for k in REQUIRED_KINDS if k not in {o.kind for o in observations}]
    if missing:
        raise PageRejected(f"the {name} card has no {' or '.join(missing)} price", url=url)
    return observations


def _priced_labels(card: Tag) -> list[tuple[tuple[str, ...], str]]:
    """(label path, price text) per priced line: ("input",) or ("prompt caching", "write")."""
    lines: list[tuple[tuple[str, ...], str]] = []
    for wrap in card.select(".tokens_main_wrap"):
        label, value = wrap.select_one(".tokens_main_label"), wrap.select_one(".tokens_main_val")
        if label is None or value is None:
            continue  # a group heading such as "Prompt caching"
        own = _label_text(label)
        group = wrap.find_parent(class_="tokens_l1_wrap")
        head = group.select_one(".tokens_main_label") if group else None
        heading = _label_text(head) if head is not None else own
        lines.append(((own,) if heading == own else (heading, own), value.get_text("")))
    return lines


def _label_text(label: Tag) -> str:
    return " ".join(label.get_text(" ").split()).lower()
