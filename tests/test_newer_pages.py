"""The newer real pages (Aug 2026), spot-checked against numbers typed from the pages.

Their golden files hold every rate; these tests pin what a reader can check by
eye against the page (the page's own line is quoted beside each number), the
clean ids, the dated rows and the tiers the pages now print.
"""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from ratecard import data as ratecard_data

from ratecard.scrapers import anthropic, deepseek, openai
from ratecard.scrapers.observation import Observation

PAGES = ratecard_data.path("snapshots")
OPENAI_FULL = PAGES / "openai" / "developers-pricing-md_2026-08-28_llms-txt-archive-a30a622.md"
ANTHROPIC_0808 = PAGES / "anthropic" / "platform-pricing-md_2026-08-08_claude-docs-sitemap-b86085f.md"
ANTHROPIC_0821 = PAGES / "anthropic" / "platform-pricing-md_2026-08-21_claude-docs-sitemap-30e477c.md"
DEEPSEEK_0813 = PAGES / "deepseek" / "api-docs-pricing-md_2026-08-13_deepseek-docs-63cc211.md"
DEEPSEEK_0817 = PAGES / "deepseek" / "api-docs-pricing-md_2026-08-17_deepseek-docs-695b915.md"
URL = "https://example.test/page"

SEPT_1 = datetime(2026, 9, 1, tzinfo=UTC)
DEEPSEEK_SWITCH = datetime(2026, 8, 16, 16, 0, tzinfo=UTC)  # "take effect at 16:00 UTC on August 16, 2026"


def read(module, page) -> list[Observation]:
    reading = module.parse(page.read_bytes(), URL)
    assert reading.skipped == []  # every section of a real page is read
    return reading.observations


def usd(observations, model, tier, kind, *, tokens=0, valid_from=None) -> Decimal | None:
    [match] = [o for o in observations if (o.model, o.tier, o.kind, o.min_prompt_tokens, o.valid_from)
               == (model, tier, kind, tokens, valid_from)]
    return match.usd_per_mtok


@pytest.fixture(scope="module")
def openai_full():
    return read(openai, OPENAI_FULL)


def test_openai_full_page_tier_tables(openai_full):
    # | gpt-5.6-sol | $4.00 | $0.40 | $5.00 | $20.00 | $8.00 | $0.80 | $10.00 | $30.00 |  (Standard)
    assert usd(openai_full, "gpt-5.6-sol", "standard", "input") == Decimal("4.00")
    assert usd(openai_full, "gpt-5.6-sol", "standard", "output", tokens=272000) == Decimal("30.00")
    # | gpt-5.6-sol | $8.00 | $0.80 | $10.00 | $40.00 | ... (Fast pricing data -> priority)
    assert usd(openai_full, "gpt-5.6-sol", "priority", "input") == Decimal("8.00")
    # | gpt-5.4-pro (<272K context length) | $15.00 | - | - | $90.00 | $30.00 | - | - | $135.00 |  (Batch)
    assert usd(openai_full, "gpt-5.4-pro", "batch", "input", tokens=272000) == Decimal("30.00")
    # | gpt-5.5-pro (<272K context length) | $15.00 | - | - | $90.00 | - | - | - | - |  (Batch): no long context
    assert not [o for o in openai_full if o.model == "gpt-5.5-pro" and o.tier == "batch" and o.min_prompt_tokens]


def test_openai_full_page_modality_tables(openai_full):
    # | gpt-realtime-2.1 | Audio | $32.00 | $0.40 | $64.00 |  and  | gpt-realtime-2.1 | Text | $4.00 | $0.40 | $24.00 |
    assert usd(openai_full, "gpt-realtime-2.1", "standard", "input_audio") == Decimal("32.00")
    assert usd(openai_full, "gpt-realtime-2.1", "standard", "cached_input_audio") == Decimal("0.40")
    assert usd(openai_full, "gpt-realtime-2.1", "standard", "output") == Decimal("24.00")
    # | gpt-image-2 | Text | $2.50 | $0.625 | - |  (image generation, Batch)
    assert usd(openai_full, "gpt-image-2", "batch", "cached_input") == Decimal("0.625")
    # | gpt-4o-transcribe | Transcription | $2.50 | $10.00 | $0.006 / minute |
    assert usd(openai_full, "gpt-4o-transcribe", "standard", "output") == Decimal("10.00")


def test_openai_full_page_reads_no_price_that_is_not_per_token(openai_full):
    models = {o.model for o in openai_full}
    assert "tts-1" not in models  # $15.00 / 1M characters
    assert "sora-2" not in models  # per second
    assert not {m for m in models if "2025-04-16" in m or "2024-08-06" in m}  # fine-tuning tables
    assert all(o.model == o.model.lower() and " " not in o.model for o in openai_full)
    # "a 10% uplift" for data residency is kept as a rule in the note of priced rates
    assert "10% uplift" in [o for o in openai_full if o.model == "gpt-5.6-sol"][0].note


@pytest.fixture(scope="module")
def anthropic_0808():
    return read(anthropic, ANTHROPIC_0808)


def test_anthropic_ids_are_clean_and_annotations_are_notes(anthropic_0808):
    models = {o.model for o in anthropic_0808}
    assert {"claude-opus-4-1", "claude-mythos-5", "claude-opus-5", "claude-opus-4-8", "claude-3-5-haiku"} <= models
    assert not [m for m in models if "retired" in m or "limited" in m or "through" in m or "starting" in m]
    # | Claude Opus 4.1 ([retired, except on Bedrock and Google Cloud](...)) | $15 / MTok | ...
    opus_41 = [o for o in anthropic_0808 if (o.model, o.tier, o.kind) == ("claude-opus-4-1", "standard", "input")][0]
    assert opus_41.usd_per_mtok == 15 and opus_41.note.startswith("retired, except on Bedrock and Google Cloud")
    assert opus_41.display_name == "Claude Opus 4.1"


def test_anthropic_sonnet_5_introductory_price_and_its_successor(anthropic_0808):
    # | Claude Sonnet 5 [through August 31, 2026](...) | $2 / MTok | $2.50 / MTok | $4 / MTok | $0.20 / MTok | $10 / MTok |
    # | Claude Sonnet 5 starting September 1, 2026     | $3 / MTok | $3.75 / MTok | $6 / MTok | $0.30 / MTok | $15 / MTok |
    sonnet = [o for o in anthropic_0808 if (o.model, o.tier, o.kind) == ("claude-sonnet-5", "standard", "input")]
    assert {(o.usd_per_mtok, o.valid_from, o.valid_to) for o in sonnet} == {
        (Decimal(2), None, SEPT_1), (Decimal(3), SEPT_1, None)}
    # | Claude Sonnet 5 starting September 1, 2026 | $1.50 / MTok | $7.50 / MTok |  (Batch)
    assert usd(anthropic_0808, "claude-sonnet-5", "batch", "input", valid_from=SEPT_1) == Decimal("1.50")


def test_anthropic_fast_mode_is_priority_for_each_model_of_the_row(anthropic_0808):
    # | Claude Opus 5 / Claude Opus 4.8 | $10 / MTok | $50 / MTok |
    for model in ("claude-opus-5", "claude-opus-4-8"):
        assert usd(anthropic_0808, model, "priority", "input") == 10
        assert usd(anthropic_0808, model, "priority", "output") == 50
        # "Prompt caching multipliers apply on top of fast mode pricing": 0.1x $10
        assert usd(anthropic_0808, model, "priority", "cached_input") == 1
    assert "claude-opus-5-claude-opus-4-8" not in {o.model for o in anthropic_0808}
    assert not [o for o in anthropic_0808 if o.tier == "priority" and o.model not in ("claude-opus-5", "claude-opus-4-8")]


def test_anthropic_pages_price_no_long_context_and_state_residency(anthropic_0808):
    # "include the full 1M token context window at standard pricing": no long-context rows
    assert not [o for o in anthropic_0808 if o.min_prompt_tokens]
    assert "1.1x" in [o for o in anthropic_0808 if o.model == "claude-opus-5" and o.basis == "published"][0].note


def test_anthropic_0821_sonnet_5_is_undated():
    # | Claude Sonnet 5 | $2 / MTok | $2.50 / MTok | $4 / MTok | $0.20 / MTok | $10 / MTok |
    observations = read(anthropic, ANTHROPIC_0821)
    sonnet = [o for o in observations if (o.model, o.tier, o.kind) == ("claude-sonnet-5", "standard", "output")]
    assert [(o.usd_per_mtok, o.valid_from, o.valid_to) for o in sonnet] == [(Decimal(10), None, None)]


def test_deepseek_0813_current_prices_end_when_the_announced_ones_start():
    observations = read(deepseek, DEEPSEEK_0813)
    # | 1M INPUT TOKENS (CACHE MISS) | $0.14 | $0.435 |  (current), ending at the switch
    flash_now = [o for o in observations if (o.model, o.tier, o.kind, o.valid_from) ==
                 ("deepseek-v4-flash", "standard", "input", None)]
    assert [(o.usd_per_mtok, o.valid_to) for o in flash_now] == [(Decimal("0.14"), DEEPSEEK_SWITCH)]
    # | deepseek-v4-flash | OFF-PEAK | $0.007 | $0.22 | $0.66 |  then  | PEAK | $0.014 | $0.44 | $1.32 |
    assert usd(observations, "deepseek-v4-flash", "off_peak", "cached_input", valid_from=DEEPSEEK_SWITCH) == Decimal(
        "0.007")
    assert usd(observations, "deepseek-v4-flash", "standard", "input", valid_from=DEEPSEEK_SWITCH) == Decimal("0.44")
    # | deepseek-v4-pro | OFF-PEAK | $0.022 | $0.66 | $1.98 |
    assert usd(observations, "deepseek-v4-pro", "off_peak", "output", valid_from=DEEPSEEK_SWITCH) == Decimal("1.98")


def test_deepseek_0817_third_label_column():
    observations = read(deepseek, DEEPSEEK_0817)
    # | PRICING(1) | 1M INPUT TOKENS (CACHE HIT) | OFF-PEAK | $0.007 | $0.022 |  /  | PEAK | $0.014 | $0.044 |
    assert usd(observations, "deepseek-v4-pro", "off_peak", "cached_input") == Decimal("0.022")
    assert usd(observations, "deepseek-v4-pro", "standard", "cached_input") == Decimal("0.044")
    # | 1M OUTPUT TOKENS | OFF-PEAK | $0.66 | $1.98 |  /  | PEAK | $1.32 | $3.96 |
    assert usd(observations, "deepseek-v4-flash", "standard", "output") == Decimal("1.32")
    off_peak = [o for o in observations if o.tier == "off_peak"][0]
    assert "01:00 - 04:00 and 06:00 - 10:00 UTC" in off_peak.note
    assert {o.display_name for o in observations} == {"DeepSeek-V4-Flash-0731", "DeepSeek-V4-Pro-0813"}
