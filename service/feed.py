"""The change feed as Atom 1.0 (RFC 4287): one entry per applied changeset.

Pure: changesets in the API's shape (:class:`~service.schemas.ChangesetOut`)
and the URLs to link in, an XML document out. The XML is built with
``xml.etree``, which escapes ``&``, ``<`` and quotes; :func:`xml_text` also
drops the few characters XML 1.0 cannot carry at all, so no page text (a
model id, a URL, a note) can make the feed ill-formed.
"""

import re
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from html import escape as html_escape

from ratecard.service.schemas import ChangeOut, ChangesetOut

ATOM_NS = "http://www.w3.org/2005/Atom"
ATOM_MEDIA_TYPE = "application/atom+xml"
# Tag URIs (RFC 4151) need an authority and a date it was held; changeset
# ids repeat across databases, so the commit time is part of the id too.
TAG_AUTHORITY = "tag:ratecard.dev,2025"
# A bootstrap changeset holds a thousand rows; an entry lists this many and links to the rest.
MAX_CHANGES_LISTED = 200
SUMMARY_CHANGES = 3

# Characters XML 1.0 forbids even escaped: C0 controls other than tab, LF, CR; surrogates; U+FFFE/F.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(value: str) -> str:
    """Text safe to put in an XML 1.0 document: characters XML cannot carry are dropped.

    Markup characters (``&``, ``<``, ``>``, quotes) are kept: the serialiser escapes them.
    """
    return _NOT_XML.sub("", value)


def rate_label(tier: str, kind: str, min_prompt_tokens: int) -> str:
    """A rate key as people read it: ``standard input``, ``batch output >200K``."""
    label = f"{tier} {kind}"
    if min_prompt_tokens:
        size = f"{min_prompt_tokens // 1000}K" if min_prompt_tokens % 1000 == 0 else f"{min_prompt_tokens:,}"
        label += f" >{size}"
    return label


def day_or_time(moment: datetime) -> str:
    """``2025-06-10`` for midnight UTC (announced dates), else the UTC time to the minute."""
    moment = moment.astimezone(UTC)
    if (moment.hour, moment.minute, moment.second) == (0, 0, 0):
        return moment.date().isoformat()
    return moment.strftime("%Y-%m-%d %H:%MZ")


def describe_change(change: ChangeOut, *, with_provider: bool = False) -> str:
    """One line for a change: ``o3 standard input 10.00 -> 2.00 USD/1M from 2025-06-10``."""
    name = f"{change.provider}/{change.model}" if with_provider else change.model
    rate = rate_label(change.tier, change.kind, change.min_prompt_tokens)
    when = day_or_time(change.valid_from)
    if change.action == "changed":
        return f"{name} {rate} {_prices(change.old_usd_per_mtok, change.new_usd_per_mtok)} from {when}"
    if change.action == "added" and change.new_usd_per_mtok is None:
        return f"{name} {rate} not offered from {when}"
    if change.action == "added":
        return f"{name} {rate} new at {_prices(change.new_usd_per_mtok)} from {when}"
    if change.action == "delisted":
        return f"{name} no longer listed from {when}"
    if change.action == "relisted":
        return f"{name} listed again from {when}"
    if change.action == "withdrawn":
        # A scheduled price the page no longer states: it never took effect, so no arrow to it.
        return f"{name} {rate} {_prices(change.old_usd_per_mtok)} scheduled from {when} withdrawn"
    if change.action == "confirmed":  # a new source of the same price, not a price change
        return f"{name} {rate} {_prices(change.new_usd_per_mtok)} confirmed by {change.source} from {when}"
    return f"{name} {rate} {change.action} from {when}"


def _prices(*usd_per_mtok: Decimal | None) -> str:
    """``10.00 -> 2.00 USD/1M``: values as stored, never rounded (the feed quotes the page)."""
    words = ["not offered" if v is None else format(v, "f") for v in usd_per_mtok]
    priced = [i for i, v in enumerate(usd_per_mtok) if v is not None]
    if priced:
        words[priced[-1]] += " USD/1M"
    return " -> ".join(words)


def changeset_title(changeset: ChangesetOut) -> str:
    """A human title: ``openai o3: 3 price changes (source curated)``; a breakdown when not all are changes."""
    providers = sorted({c.provider for c in changeset.changes})
    models = sorted({(c.provider, c.model) for c in changeset.changes})
    if len(models) == 1:
        subject = f"{models[0][0]} {models[0][1]}"
    elif len(providers) == 1:
        subject = f"{providers[0]} ({len(models)} models)"
    else:
        subject = f"{changeset.source} ({len(providers)} providers)"
    count = sum(c.action != "confirmed" for c in changeset.changes)  # a confirmation is no price change
    actions = Counter(c.action for c in changeset.changes)
    details = [] if set(actions) == {"changed"} else [", ".join(f"{n} {a}" for a, n in sorted(actions.items()))]
    # The source tells a provider's own page or curated history from an aggregator witness.
    details.append(f"source {changeset.source}")
    changes = "no price change" if not count else f"{count} price change{'' if count == 1 else 's'}"
    return f"{subject}: {changes} ({'; '.join(details)})"


def atom_feed(
    changesets: list[ChangesetOut],
    *,
    title: str,
    self_url: str,
    alternate_url: str,
    entry_url: Callable[[int], str],
    updated: datetime,
    feed_id: str | None = None,
) -> bytes:
    """The Atom document: feed metadata and one entry per changeset, in the order given.

    ``entry_url(id)`` links an entry to the JSON of its changeset; ``updated``
    is the feed's time when it has no entries (else the newest entry's).
    ``feed_id`` is the feed's permanent id (default ``self_url``; links may be
    relative, an id must be absolute).
    """
    feed = ET.Element("feed", {"xmlns": ATOM_NS})
    _text(feed, "id", feed_id or self_url)
    _text(feed, "title", title)
    newest = max((cs.created_at for cs in changesets), default=updated)
    _text(feed, "updated", _atom_time(newest))
    ET.SubElement(ET.SubElement(feed, "author"), "name").text = "ratecard"
    _text(feed, "generator", "ratecard")
    ET.SubElement(feed, "link", {"rel": "self", "type": ATOM_MEDIA_TYPE, "href": xml_text(self_url)})
    ET.SubElement(feed, "link", {"rel": "alternate", "href": xml_text(alternate_url)})
    for changeset in changesets:
        feed.append(_entry(changeset, entry_url(changeset.id)))
    ET.indent(feed)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True) + b"\n"


def _entry(changeset: ChangesetOut, url: str) -> ET.Element:
    entry = ET.Element("entry")
    _text(entry, "id", f"{TAG_AUTHORITY}:changeset/{changeset.id}/{_atom_time(changeset.created_at)}")
    _text(entry, "title", changeset_title(changeset))
    _text(entry, "updated", _atom_time(changeset.created_at))
    _text(entry, "published", _atom_time(changeset.created_at))
    ET.SubElement(entry, "link", {"rel": "alternate", "href": xml_text(url)})
    for provider in sorted({c.provider for c in changeset.changes}):
        ET.SubElement(entry, "category", {"term": xml_text(provider)})
    several = len({c.provider for c in changeset.changes}) > 1
    lines = [describe_change(c, with_provider=several) for c in changeset.changes]
    _text(entry, "summary", _summary(lines))
    content = _text(entry, "content", _content_html(changeset, lines, url))
    content.set("type", "html")
    return entry


def _summary(lines: list[str]) -> str:
    shown = "; ".join(lines[:SUMMARY_CHANGES])
    rest = len(lines) - SUMMARY_CHANGES
    return f"{shown}; and {rest} more" if rest > 0 else shown


def _content_html(changeset: ChangesetOut, lines: list[str], url: str) -> str:
    """The entry body as HTML text (the serialiser escapes it once more as XML)."""
    parts = [f"<p>Catalog version {changeset.id}, from source {html_escape(changeset.source)}.</p>"]
    if changeset.reason:
        parts.append(f"<p>{html_escape(changeset.reason)}</p>")
    parts.append("<ul>" + "".join(f"<li>{html_escape(line)}</li>" for line in lines[:MAX_CHANGES_LISTED]) + "</ul>")
    if len(lines) > MAX_CHANGES_LISTED:
        parts.append(f'<p>and {len(lines) - MAX_CHANGES_LISTED} more: <a href="{html_escape(url)}">every change</a></p>')
    sources = sorted({c.url for c in changeset.changes})
    parts.append("<p>Read from: " + ", ".join(f'<a href="{html_escape(s)}">{html_escape(s)}</a>' for s in sources)
                 + "</p>")
    return "".join(parts)


def _text(parent: ET.Element, tag: str, text: str) -> ET.Element:
    element = ET.SubElement(parent, tag)
    element.text = xml_text(text)
    return element


def _atom_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
