"""claude.com/pricing: prices typed from the saved page, the cache TTL, names, and rejections."""

import re
from decimal import Decimal
from pathlib import Path

import pytest
from ratecard import data as ratecard_data

from ratecard.scrapers.claude_com import SLUG_NOTE, cache_write_kind, parse, resolve_model, slug_model_id
from ratecard.scrapers.errors import PageRejected
from ratecard.scrapers.names import catalog_entries
from ratecard.scrapers.observation import Observation

SNAPSHOTS = ratecard_data.path("snapshots")
FIXTURES = Path(__file__).parent / "fixtures"
PAGE = SNAPSHOTS / "claude-com" / "claude-com-pricing_2026-05-08_quill-d1507e12.html"
CHALLENGE = FIXTURES / "openai" / "platform-pricing_CLOUDFLARE-CHALLENGE_2026-05-08_quill-d1507e12.html"
MISTRAL_PAGE = SNAPSHOTS / "mistral" / "mistral-ai-pricing_2026-05-08_quill-d1507e12.html"
GROQ_PAGE = SNAPSHOTS / "groq" / "console-docs-models-md_EXCERPT_2026-08_pricelog-8629b627.md"
URL = "https://claude.com/pricing"


@pytest.fixture(scope="module")
def body() -> bytes:
    return PAGE.read_bytes()


@pytest.fixture(scope="module")
def rates(body: bytes) -> dict[tuple[str, str], Observation]:
    return {(o.model, o.kind): o for o in parse(body, URL).observations}


@pytest.mark.parametrize(
    ("model", "usd_input", "usd_output", "usd_write", "usd_read"),
    [
        ("claude-opus-4-7", "5", "25", "6.25", "0.50"),
        ("claude-sonnet-4-6", "3", "15", "3.75", "0.30"),
        ("claude-haiku-4-5", "1", "5", "1.25", "0.10"),
        ("claude-opus-4-1", "15", "75", "18.75", "1.50"),
        ("claude-sonnet-4", "3", "15", "3.75", "0.30"),
        ("claude-opus-4", "15", "75", "18.75", "1.50"),
    ],
)
def test_card_prices_match_the_page(rates, model, usd_input, usd_output, usd_write, usd_read) -> None:
    assert rates[(model, "input")].usd_per_mtok == Decimal(usd_input)
    assert rates[(model, "output")].usd_per_mtok == Decimal(usd_output)
    assert rates[(model, "cache_write")].usd_per_mtok == Decimal(usd_write)
    assert rates[(model, "cached_input")].usd_per_mtok == Decimal(usd_read)


def test_latest_and_legacy_cards_are_all_read(rates) -> None:
    models = {model for model, _ in rates}
    assert models == {
        "claude-opus-4-7", "claude-sonnet-4-6", "claude-haiku-4-5",  # latest
        "claude-opus-4-6", "claude-sonnet-4-5", "claude-opus-4-5",  # legacy
        "claude-opus-4-1", "claude-sonnet-4", "claude-opus-4",
    }
    assert len(rates) == 36
    assert all(o.provider == "anthropic" and o.tier == "standard" and o.basis == "published" for o in rates.values())


def test_cache_prices_follow_anthropics_multipliers(rates) -> None:
    # 5-minute write = 1.25x input, read = 0.1x input, on every card.
    for (model, kind), obs in rates.items():
        if kind == "input":
            assert rates[(model, "cache_write")].usd_per_mtok == obs.usd_per_mtok * Decimal("1.25")
            assert rates[(model, "cached_input")].usd_per_mtok == obs.usd_per_mtok * Decimal("0.1")


def test_the_page_states_a_five_minute_ttl_so_writes_are_cache_write(rates) -> None:
    assert not any(kind == "cache_write_1h" for _, kind in rates)
    assert cache_write_kind("Prompt caching pricing reflects 5-minute TTL.", URL) == "cache_write"
    assert cache_write_kind("Prompt caching pricing reflects 1-hour TTL.", URL) == "cache_write_1h"


def test_a_one_hour_ttl_page_gives_cache_write_1h(body: bytes) -> None:
    edited = body.replace(b"5-minute TTL", b"1-hour TTL")
    kinds = {o.kind for o in parse(edited, URL).observations}
    assert "cache_write_1h" in kinds and "cache_write" not in kinds


def test_names_resolve_through_the_catalog(rates) -> None:
    assert rates[("claude-opus-4-7", "input")].display_name == "Opus 4.7"
    assert all(o.note == "" for o in rates.values())
    assert resolve_model("Sonnet 4.5") == ("claude-sonnet-4-5", "")


def test_an_unknown_name_falls_back_to_the_slug_rule_with_a_note(body: bytes) -> None:
    edited = body.replace(b">Opus 4.7</h3>", b">Opus 9.2</h3>")
    rates = {(o.model, o.kind): o for o in parse(edited, URL).observations}
    assert rates[("claude-opus-9-2", "input")].usd_per_mtok == Decimal(5)
    assert rates[("claude-opus-9-2", "input")].note == SLUG_NOTE


def test_the_slug_rule_agrees_with_the_catalog() -> None:
    shaped = re.compile(r"^Claude (Opus|Sonnet|Haiku) \d+(\.\d+)?$")
    entries = [e for e in catalog_entries() if e.provider == "anthropic" and shaped.match(e.display_name)]
    assert entries, "data/models/anthropic.toml lists Claude models"
    for entry in entries:
        assert slug_model_id(entry.display_name) == entry.model


@pytest.mark.parametrize(
    ("page", "reason"),
    [
        (CHALLENGE, "bot-challenge"),
        (MISTRAL_PAGE, "no API price cards"),
        (GROQ_PAGE, "no API price cards"),
    ],
)
def test_wrong_pages_are_rejected(page: Path, reason: str) -> None:
    with pytest.raises(PageRejected) as caught:
        parse(page.read_bytes(), URL).observations
    assert reason in str(caught.value)


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        (b"card_pricing_api_wrap", b"card_pricing_other_wrap", "no API price cards"),
        (b"5-minute TTL", b"short TTL", "expected one prompt-caching TTL statement, found none"),
        (b'u-text-style-body-2">Input</div>', b'u-text-style-body-2">Tokens in</div>', "card has no input price"),
        (b"/ MTok</span>", b"/ page</span>", "expected a price per MTok"),
    ],
)
def test_pages_with_the_data_removed_are_rejected(body: bytes, old: bytes, new: bytes, reason: str) -> None:
    assert old in body
    with pytest.raises(PageRejected) as caught:
        parse(body.replace(old, new), URL).observations
    assert reason in str(caught.value)
