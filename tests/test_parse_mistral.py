"""mistral.ai/pricing: prices typed from the saved page, the flight decoding, and rejections."""

import json
import tomllib
from decimal import Decimal
from pathlib import Path

import pytest

from ratecard import data as ratecard_data
from ratecard.scrapers.errors import PageRejected
from ratecard.scrapers.mistral import flight_rows, parse
from ratecard.scrapers.names import model_id_for
from ratecard.scrapers.observation import Observation

SNAPSHOTS = ratecard_data.path("snapshots")
FIXTURES = Path(__file__).parent / "fixtures"
PAGE = SNAPSHOTS / "mistral" / "mistral-ai-pricing_2026-05-08_quill-d1507e12.html"
CHALLENGE = FIXTURES / "openai" / "platform-pricing_CLOUDFLARE-CHALLENGE_2026-05-08_quill-d1507e12.html"
GROQ_PAGE = SNAPSHOTS / "groq" / "console-docs-models-md_EXCERPT_2026-08_pricelog-8629b627.md"
CLAUDE_PAGE = SNAPSHOTS / "claude-com" / "claude-com-pricing_2026-05-08_quill-d1507e12.html"
URL = "https://mistral.ai/pricing"


@pytest.fixture(scope="module")
def rates() -> dict[tuple[str, str], Observation]:
    return {(o.model, o.kind): o for o in parse(PAGE.read_bytes(), URL).observations}


def _usd(rates: dict[tuple[str, str], Observation], model: str, kind: str) -> Decimal | None:
    return rates[(model, kind)].usd_per_mtok


@pytest.mark.parametrize(
    ("model", "usd_input", "usd_output"),
    [
        ("mistral-large-latest", "0.5", "1.5"),
        ("mistral-medium-latest", "1.5", "7.5"),
        ("mistral-small-latest", "0.15", "0.6"),
        ("devstral-medium-latest", "0.4", "2"),
        ("codestral-latest", "0.3", "0.9"),  # the input price sits inside an extra <div> on the page
        ("magistral-medium-latest", "2", "5"),
        ("ministral-14b-latest", "0.2", "0.2"),
        ("pixtral-large-latest", "2", "6"),
        ("open-mixtral-8x22b", "2", "6"),
    ],
)
def test_token_prices_match_the_page(rates, model: str, usd_input: str, usd_output: str) -> None:
    assert _usd(rates, model, "input") == Decimal(usd_input)
    assert _usd(rates, model, "output") == Decimal(usd_output)


def test_two_cards_on_one_endpoint_are_told_apart_through_the_catalog(rates) -> None:
    # The page gives mistral-small-latest to both Small 4 ($0.15/$0.6) and Small 3.2 ($0.1/$0.3).
    assert rates[("mistral-small-latest", "input")].display_name == "Mistral Small 4"
    assert rates[("mistral-small-2506", "input")].display_name == "Mistral Small 3.2"
    assert _usd(rates, "mistral-small-2506", "input") == Decimal("0.1")
    assert _usd(rates, "mistral-small-2506", "output") == Decimal("0.3")


def test_voxtral_reads_the_text_token_price_and_leaves_audio_minutes(rates) -> None:
    # "Input (per min / per M tok)": "$0.004 (audio) / $0.1 (text)".
    assert _usd(rates, "voxtral-small-latest", "input") == Decimal("0.1")
    assert "audio" in rates[("voxtral-small-latest", "input")].note
    assert _usd(rates, "voxtral-mini-latest", "input") == Decimal("0.04")
    assert _usd(rates, "voxtral-mini-latest", "output") == Decimal("0.04")


def test_input_only_models_have_no_output_row(rates) -> None:
    assert _usd(rates, "mistral-embed", "input") == Decimal("0.1")
    assert _usd(rates, "codestral-embed-2505", "input") == Decimal("0.15")
    assert _usd(rates, "mistral-moderation-2603", "input") == Decimal("0.1")
    assert ("mistral-embed", "output") not in rates


def test_a_free_endpoint_is_a_zero_price_with_a_note(rates) -> None:
    assert _usd(rates, "labs-leanstral-2603", "input") == Decimal(0)
    assert _usd(rates, "labs-leanstral-2603", "output") == Decimal(0)
    assert "Free" in rates[("labs-leanstral-2603", "input")].note


def test_non_token_prices_are_skipped(rates) -> None:
    models = {model for model, _ in rates}
    # Per 1,000 pages, per 1k characters, per audio minute: no token rate.
    assert not models & {"mistral-ocr-latest", "voxtral-mini-tts-2603"}
    # Fine-tuned Codestral is $0.2/$0.6 on the same card; the base price stands.
    assert _usd(rates, "codestral-latest", "input") == Decimal("0.3")
    # Tools and custom classifiers carry no API id; none of their prices leak in.
    assert all(o.provider == "mistral" and o.tier == "standard" for o in rates.values())
    assert len(models) == 24 and len(rates) == 45


def test_prices_are_decimals_and_published(rates) -> None:
    assert all(isinstance(o.usd_per_mtok, Decimal) and o.basis == "published" for o in rates.values())


def test_the_teaser_grid_agrees_with_the_api_grid(rates) -> None:
    # The "model_grid" cards above the API list repeat prices with RSC-escaped
    # dollars ("$$1.5"); they are not parsed, but must say the same thing.
    rows = flight_rows(PAGE.read_text(encoding="utf-8"), URL)
    teasers = [
        card for row in rows.values() if isinstance(row, list) for card in _find(row, "api") if card.get("price")
    ]
    assert teasers
    for card in teasers:
        for price in card["price"]:
            kind = {"Input (/M tokens)": "input", "Output (/M tokens)": "output"}.get(price["value"])
            if kind:
                assert Decimal(price["price_dollar"].removeprefix("$$")) == _usd(rates, card["api"], kind)


def _find(node, key: str) -> list[dict]:
    if isinstance(node, dict):
        found = [node] if key in node else []
        return found + [d for v in node.values() for d in _find(v, key)]
    if isinstance(node, list):
        return [d for v in node for d in _find(v, key)]
    return []


def test_flight_rows_decode_text_rows_escapes_and_references() -> None:
    # A text row's length counts UTF-8 bytes ("€" is three); "$$" escapes a dollar;
    # "$5" refers to row 5.
    payload = '5:Tb,<p>1€</p>6:{"a":"$$0.4","b":"$5","c":"$L3"}\n'
    page = "<script>self.__next_f.push([1," + json.dumps(payload) + "])</script>"
    rows = flight_rows(page, URL)
    assert rows["5"] == "<p>1€</p>"
    assert rows["6"] == {"a": "$$0.4", "b": "$5", "c": "$L3"}


def test_a_card_price_given_by_reference_is_resolved() -> None:
    price = {"value": "Input (/M tokens)", "price_dollar": "$7"}
    card = {"name": "X Model", "api_endpoint": "x-latest", "price": [price]}
    payload = "7:T9,<p>$2</p>\n8:" + json.dumps({"apis": [card]}) + "\n"
    page = "<script>self.__next_f.push([1," + json.dumps(payload) + "])</script>"
    [obs] = parse(page.encode(), URL).observations
    assert (obs.model, obs.kind, obs.usd_per_mtok) == ("x-latest", "input", Decimal(2))


@pytest.mark.parametrize(
    ("page", "reason"),
    [
        (CHALLENGE, "bot-challenge"),
        (GROQ_PAGE, "no Next.js flight data"),
        (CLAUDE_PAGE, "no Next.js flight data"),
    ],
)
def test_wrong_pages_are_rejected(page: Path, reason: str) -> None:
    with pytest.raises(PageRejected, match=reason):
        parse(page.read_bytes(), URL).observations


@pytest.mark.parametrize(
    ("edits", "reason"),
    [
        ([(b"self.__next_f.push", b"self.__other.push")], "no Next.js flight data"),
        ([(b'\\"api_endpoint\\"', b'\\"endpoint\\"')], "no API price cards"),
        (
            [(b"M tok", b"1000 pages"), (b"\\u003cp\\u003eFree\\u003c/p\\u003e", b"Soon")],
            "no per-1M-token input or output price",
        ),
        ([(b"Mistral Small 3.2", b"Mistral Small 3.9")], "add 'Mistral Small 3.9' to data/models/mistral.toml"),
        ([(b"\\u003cp\\u003e$0.5\\u003c/p\\u003e", b"soon")], "expected a dollar price, found 'soon'"),
    ],
)
def test_pages_with_the_data_removed_are_rejected(edits: list[tuple[bytes, bytes]], reason: str) -> None:
    body = PAGE.read_bytes()
    for old, new in edits:
        assert old in body
        body = body.replace(old, new)
    with pytest.raises(PageRejected) as caught:
        parse(body, URL).observations
    assert reason in str(caught.value)


def test_every_catalog_name_resolves_to_its_own_model() -> None:
    doc = tomllib.loads(ratecard_data.path("models", "mistral.toml").read_text(encoding="utf-8"))
    for model in doc["models"]:
        for name in (model["id"], model["display_name"], *model["aliases"]):
            assert model_id_for("mistral", name) == model["id"], name


def test_every_priced_model_is_in_the_catalog(rates) -> None:
    assert all(model_id_for("mistral", model) == model for model, _ in rates)
