"""The xAI models page parser, checked against numbers typed from the saved page."""

from decimal import Decimal
from pathlib import Path

import pytest
from ratecard import data as ratecard_data

from ratecard.scrapers import xai
from ratecard.scrapers.errors import PageRejected
from ratecard.scrapers.names import model_id_for

SNAPSHOTS = ratecard_data.path("snapshots")
FIXTURES = Path(__file__).parent / "fixtures"
PAGE = SNAPSHOTS / "xai" / "docs-models_jina-md_2026-05-08_quill-618e39f0.md"
URL = "https://docs.x.ai/developers/models"


@pytest.fixture(scope="module")
def rates() -> dict:
    return {o.key: o for o in xai.parse(PAGE.read_bytes(), URL).observations}


def usd(rates: dict, model: str, kind: str, min_prompt_tokens: int = 0) -> Decimal | None:
    return rates[("xai", model, "standard", kind, min_prompt_tokens)].usd_per_mtok


def test_chat_api_table_input_and_output(rates):
    assert usd(rates, "grok-4.3", "input") == Decimal("1.25")
    assert usd(rates, "grok-4.3", "output") == Decimal("2.50")
    assert usd(rates, "grok-4.20-multi-agent-0309", "output") == Decimal("2.50")
    assert usd(rates, "grok-4-1-fast-reasoning", "input") == Decimal("0.20")
    assert usd(rates, "grok-4-1-fast-non-reasoning", "output") == Decimal("0.50")
    assert len(rates) == 12


def test_only_what_the_page_states(rates):
    # No cached-input column, no long-context split, batch only as "20%-50% off".
    assert {key[3] for key in rates} == {"input", "output"}
    assert {key[4] for key in rates} == {0}
    assert {key[2] for key in rates} == {"standard"}
    # Image, video and voice models are priced per image / second / character.
    assert not [key for key in rates if "imagine" in key[1]]


def test_every_parsed_model_is_in_the_catalog(rates):
    for key in rates:
        assert model_id_for("xai", key[1]) == key[1]


def test_cached_input_and_long_context_columns_are_read_when_present():
    page = (
        "Prices shown per million tokens\n\n"
        "| Model | Input | Cached input | Output | Input (>128K) | Output (>128K) |\n"
        "| --- | --- | --- | --- | --- | --- |\n"
        "| grok-test | $0.20 | $0.05 | $0.50 | $0.40 | - |\n"
    )
    rates = {o.key: o for o in xai.parse(page.encode(), URL).observations}
    assert usd(rates, "grok-test", "cached_input") == Decimal("0.05")
    assert usd(rates, "grok-test", "input", 128_000) == Decimal("0.40")
    assert rates[("xai", "grok-test", "standard", "output", 128_000)].basis == "not_offered"


def test_another_providers_page_is_rejected():
    google = SNAPSHOTS / "google" / "gemini-api-pricing_jina-md_2026-05-07_quill-96a8198e.md"
    with pytest.raises(PageRejected, match="Model, Input and Output"):
        xai.parse(google.read_bytes(), URL).observations


def test_a_page_with_its_tables_removed_is_rejected():
    text = PAGE.read_text(encoding="utf-8")
    stripped = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("|"))
    with pytest.raises(PageRejected, match="Model, Input and Output"):
        xai.parse(stripped.encode(), URL).observations


def test_two_prices_in_one_cell_are_rejected():
    text = PAGE.read_text(encoding="utf-8").replace("| grok-4.3 | 1M | $1.25 |", "| grok-4.3 | 1M | $1.25 ($2.50 >200K) |")
    with pytest.raises(PageRejected, match="grok-4.3"):
        xai.parse(text.encode(), URL).observations
