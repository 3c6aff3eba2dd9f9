"""console.groq.com/docs/models.md: prices typed from the saved page, model cells, and rejections."""

import tomllib
from decimal import Decimal
from pathlib import Path

import pytest

from ratecard import data as ratecard_data
from ratecard.scrapers.errors import PageRejected
from ratecard.scrapers.groq import PREVIEW_NOTE, model_cell, parse, price_pairs
from ratecard.scrapers.names import model_id_for
from ratecard.scrapers.observation import Observation

SNAPSHOTS = ratecard_data.path("snapshots")
FIXTURES = Path(__file__).parent / "fixtures"
PAGE = SNAPSHOTS / "groq" / "console-docs-models-md_EXCERPT_2026-08_pricelog-8629b627.md"
CHALLENGE = FIXTURES / "openai" / "platform-pricing_CLOUDFLARE-CHALLENGE_2026-05-08_quill-d1507e12.html"
MISTRAL_PAGE = SNAPSHOTS / "mistral" / "mistral-ai-pricing_2026-05-08_quill-d1507e12.html"
OPENAI_PAGE = SNAPSHOTS / "openai" / "developers-pricing-md_EXCERPT_2026-08to11_llmstxtarchive-a30a6225.md"
URL = "https://console.groq.com/docs/models.md"


@pytest.fixture(scope="module")
def rates() -> dict[tuple[str, str], Observation]:
    return {(o.model, o.kind): o for o in parse(PAGE.read_bytes(), URL).observations}


@pytest.mark.parametrize(
    ("model", "usd_input", "usd_output"),
    [
        ("openai/gpt-oss-120b", "0.15", "0.60"),
        ("openai/gpt-oss-20b", "0.075", "0.30"),
        ("openai/gpt-oss-safeguard-20b", "0.075", "0.30"),
        ("meta-llama/llama-prompt-guard-2-22m", "0.03", "0.03"),
        ("meta-llama/llama-prompt-guard-2-86m", "0.04", "0.04"),
        ("qwen/qwen3.6-27b", "0.60", "3.00"),
        ("qwen/qwen3.8-27b", "0.80", "4.00"),
    ],
)
def test_token_prices_match_the_page(rates, model: str, usd_input: str, usd_output: str) -> None:
    assert rates[(model, "input")].usd_per_mtok == Decimal(usd_input)
    assert rates[(model, "output")].usd_per_mtok == Decimal(usd_output)


def test_rows_without_a_token_price_are_skipped(rates) -> None:
    models = {model for model, _ in rates}
    assert models.isdisjoint(
        {
            "llama-3.1-8b-instant",  # ContactSales
            "llama-3.3-70b-versatile",
            "minimaxai/minimax-m2.7",
            "whisper-large-v3",  # per audio hour
            "groq/compound",  # "-": billed as the models it calls
            "canopylabs/orpheus-v1-english",  # per 1M characters
        }
    )
    assert len(models) == 7 and len(rates) == 14


def test_rows_carry_groq_ids_display_names_and_the_preview_caveat(rates) -> None:
    assert rates[("openai/gpt-oss-120b", "input")].display_name == "GPT OSS 120B"
    assert rates[("openai/gpt-oss-120b", "input")].note == ""
    assert rates[("qwen/qwen3.8-27b", "output")].note == PREVIEW_NOTE
    assert all(o.provider == "groq" and o.tier == "standard" and o.basis == "published" for o in rates.values())


@pytest.mark.parametrize(
    ("cell", "model", "name"),
    [
        ("Llama 3.3 70B {{/docs/model/llama-3.3-70b-versatile}} Enterprisellama-3.3-70b-versatile",
         "llama-3.3-70b-versatile", "Llama 3.3 70B"),
        ("GPT OSS 120B {{/docs/model/openai/gpt-oss-120b}} openai/gpt-oss-120b", "openai/gpt-oss-120b", "GPT OSS 120B"),
        ("Compound {{/docs/compound/systems/compound}} groq/compound", "groq/compound", "Compound"),
        ("Compound Mini {{/docs/compound/systems/compound-mini}} Previewgroq/compound-mini",
         "groq/compound-mini", "Compound Mini"),
        ("qwen/qwen3-32b", "qwen/qwen3-32b", "qwen/qwen3-32b"),
    ],
)
def test_model_cell_reads_groq_id_past_badges(cell: str, model: str, name: str) -> None:
    assert model_cell(cell, URL) == (model, name)


def test_price_pairs_read_cached_input_when_given() -> None:
    assert price_pairs("$0.15 input$0.075 cached input$0.60 output") == [
        ("input", Decimal("0.15")),
        ("cached_input", Decimal("0.075")),
        ("output", Decimal("0.60")),
    ]


def test_a_cached_input_price_on_the_page_becomes_a_row() -> None:
    body = PAGE.read_bytes().replace(b"$0.15 input$0.60 output", b"$0.15 input$0.075 cached input$0.60 output")
    rates = {(o.model, o.kind): o.usd_per_mtok for o in parse(body, URL).observations}
    assert rates[("openai/gpt-oss-120b", "cached_input")] == Decimal("0.075")


@pytest.mark.parametrize(
    ("page", "reason"),
    [
        (CHALLENGE, "bot-challenge"),
        (MISTRAL_PAGE, "no model table with 'MODEL ID' and 'PRICE PER 1M TOKENS' columns"),
        (OPENAI_PAGE, "no model table with 'MODEL ID' and 'PRICE PER 1M TOKENS' columns"),
    ],
)
def test_wrong_pages_are_rejected(page: Path, reason: str) -> None:
    with pytest.raises(PageRejected) as caught:
        parse(page.read_bytes(), URL).observations
    assert reason in str(caught.value)


def _without_token_prices(body: bytes) -> bytes:
    for cell in (b"$0.15 input$0.60 output", b"$0.075 input$0.30 output", b"$0.03 input$0.03 output",
                 b"$0.04 input$0.04 output", b"$0.60 input$3.00 output", b"$0.80 input$4.00 output"):
        assert cell in body
        body = body.replace(cell, b"ContactSales")
    return body


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (lambda b: b.replace(b"PRICE PER 1M TOKENS", b"PRICE"), "no model table with"),
        (_without_token_prices, "no per-1M-token price in the model tables"),
        (lambda b: b.replace(b"$0.80 input$4.00 output", b"TBD"), "unreadable price 'TBD' for qwen/qwen3.8-27b"),
        # One amount for all tokens: not split into input and output by guessing.
        (lambda b: b.replace(b"$0.80 input$4.00 output", b"$0.80 per 1M tokens"), "unreadable price"),
        (lambda b: b.replace(b")openai/gpt-oss-20b", b")GPT OSS 20B beta"), "cannot read a model id"),
    ],
)
def test_pages_with_the_data_removed_are_rejected(edit, reason: str) -> None:
    body = PAGE.read_bytes()
    edited = edit(body)
    assert edited != body
    with pytest.raises(PageRejected) as caught:
        parse(edited, URL).observations
    assert reason in str(caught.value)


def test_every_catalog_name_resolves_to_its_own_model() -> None:
    doc = tomllib.loads(ratecard_data.path("models", "groq.toml").read_text(encoding="utf-8"))
    for model in doc["models"]:
        for name in (model["id"], model["display_name"], *model["aliases"]):
            assert model_id_for("groq", name) == model["id"], name


def test_every_priced_model_is_in_the_catalog(rates) -> None:
    assert all(model_id_for("groq", model) == model for model, _ in rates)
