"""The Atom change feed: read by a real feed parser, well-formed whatever the page text holds."""

import html
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import urlsplit

import feedparser

from ratecard.service.feed import ATOM_NS, atom_feed, changeset_title, describe_change, rate_label, xml_text
from ratecard.service.schemas import ChangeOut, ChangesetOut
from tests.test_api import exact
from tests.test_bundle_manifest import BUNDLE

AT = datetime(2025, 6, 10, tzinfo=UTC)


def read_feed(client, **params) -> feedparser.FeedParserDict:
    response = client.get("/v1/changes.atom", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/atom+xml")
    ET.fromstring(response.content)  # well-formed XML, not only something a lenient parser accepts
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    return feed


def test_o3s_price_cut_reads_as_one_entry(client):
    feed = read_feed(client, provider="openai", model="o3")
    # The curated cut, curated launch prices, OpenAI's page, then what three aggregator witnesses said.
    assert [e.title for e in feed.entries] == [
        "openai o3: 3 price changes (source curated)",
        "openai o3: 3 price changes (3 added; source curated)",
        "openai o3: 13 price changes (13 added, 3 confirmed; source openai)",  # the page took over 3 curated rates
        # The witnesses stating the price in force: confirmations, not price changes (issue 17).
        "openai o3: no price change (3 confirmed; source models-dev)",
        "openai o3: no price change (3 confirmed; source openrouter)",
        "openai o3: 6 price changes (6 added, 3 confirmed; source litellm)",
    ]
    cut = feed.entries[0]
    assert "o3 standard input 10.00 -> 2.00 USD/1M from 2025-06-10" in cut.summary
    assert "o3 standard output 40.00 -> 8.00 USD/1M from 2025-06-10" in html.unescape(cut.content[0].value)
    assert "https://github.com/langfuse/langfuse/pull/7223" in cut.content[0].value  # where it was read
    assert cut.updated_parsed[:3] == (2026, 11, 20)
    assert [t.term for t in cut.tags] == ["openai"]


def test_one_entry_per_applied_changeset_with_stable_tag_ids(client):
    feed = read_feed(client)
    changesets = exact(client.get("/v1/changes", params={"limit": 200}))["changesets"]
    assert len(feed.entries) == len(changesets) == BUNDLE["applied_changesets"]
    assert [e.id for e in feed.entries] == [f"tag:ratecard.dev,2025:changeset/{cs['id']}/{cs['created_at']}"
                                            for cs in changesets]
    assert read_feed(client).entries[0].id == feed.entries[0].id


def test_an_entry_links_to_its_changeset_as_json(client):
    entry = read_feed(client, provider="openai", model="o3").entries[0]
    link = urlsplit(entry.link)
    assert link.path == "/v1/changes"
    (changeset,) = exact(client.get(f"{link.path}?{link.query}"))["changesets"]
    assert str(changeset["id"]) in entry.id and len(changeset["changes"]) == 3


def test_filters_as_on_the_json_feed(client):
    feed = read_feed(client, provider="openai", since="2025-06-01", until="2025-07-01")
    assert len(feed.entries) == 1 and "10.00 -> 2.00" in feed.entries[0].summary
    assert len(read_feed(client, limit=5).entries) == 5
    assert read_feed(client, model="Claude Sonnet 4.5").entries[0].title.startswith("anthropic claude-sonnet-4-5")


def test_unknown_model_and_bad_moment_are_problems(client):
    unknown = client.get("/v1/changes.atom", params={"model": "o33"})
    assert unknown.status_code == 404 and unknown.headers["content-type"] == "application/problem+json"
    assert "openai/o3" in unknown.json()["suggestions"]
    assert client.get("/v1/changes.atom", params={"provider": "openia"}).status_code == 404
    bad = client.get("/v1/changes.atom", params={"since": "June"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "since"


def test_feed_is_cacheable(client):
    first = client.get("/v1/changes.atom")
    again = client.get("/v1/changes.atom", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304


def test_xml_text_drops_what_xml_cannot_carry_and_keeps_markup_for_the_serialiser():
    assert xml_text("a&b<c>\"d'") == "a&b<c>\"d'"
    assert xml_text("bad\x00\x08\x0b\x1fchars\ufffe") == "badchars"
    assert xml_text("tab\tnewline\ncr\r") == "tab\tnewline\ncr\r"


def change(action="changed", model="o3", old="10.00", new="2.00", tokens=0, provider="openai") -> ChangeOut:
    return ChangeOut(
        action=action, provider=provider, model=model, tier="standard", kind="input", min_prompt_tokens=tokens,
        old_usd_per_mtok=None if old is None else Decimal(old), new_usd_per_mtok=None if new is None else Decimal(new),
        old_basis=None, new_basis="published", valid_from=AT, source="openai",
        url="https://example.test/pricing?a=1&b=<2>",
    )


def changeset(*changes: ChangeOut) -> ChangesetOut:
    return ChangesetOut(id=7, created_at=AT, source="openai", status="applied", reason="approved by <ops> & co",
                        origin_id=None, changes=list(changes))


def test_a_model_id_with_markup_cannot_break_the_feed():
    hostile = changeset(change(model="a&b<c>]]>\x01"), change(model="x\"y'z", action="added", old=None))
    document = atom_feed([hostile], title="changes & <more>", self_url="https://r.test/v1/changes.atom?a=1&b=2",
                         alternate_url="https://r.test/v1/changes?a=1&b=2", entry_url=lambda i: f"https://r.test/{i}?x&y",
                         updated=AT)
    root = ET.fromstring(document)
    entry = root.find(f"{{{ATOM_NS}}}entry")
    assert entry.find(f"{{{ATOM_NS}}}title").text == (
        "openai (2 models): 2 price changes (1 added, 1 changed; source openai)")
    assert "a&b<c>]]> standard input 10.00 -> 2.00 USD/1M" in entry.find(f"{{{ATOM_NS}}}summary").text
    parsed = feedparser.parse(document)
    assert not parsed.bozo and parsed.feed.title == "changes & <more>"
    assert "approved by &lt;ops&gt; &amp; co" in parsed.entries[0].content[0].value
    assert parsed.entries[0].link == "https://r.test/7?x&y"


def test_changes_read_as_sentences():
    assert describe_change(change()) == "o3 standard input 10.00 -> 2.00 USD/1M from 2025-06-10"
    assert describe_change(change(action="added", old=None, new="1.25", tokens=200000), with_provider=True) == (
        "openai/o3 standard input >200K new at 1.25 USD/1M from 2025-06-10")
    assert describe_change(change(new=None)) == "o3 standard input 10.00 USD/1M -> not offered from 2025-06-10"
    assert describe_change(change(action="delisted", old=None, new=None)) == "o3 no longer listed from 2025-06-10"
    assert rate_label("batch", "output", 272000) == "batch output >272K"
    assert describe_change(change(action="added", old=None, new=None)) == "o3 standard input not offered from 2025-06-10"
    assert changeset_title(changeset(change(), change(provider="anthropic", model="claude"))) == (
        "openai (2 providers): 2 price changes (source openai)")
