"""The Gemini pricing page parser, checked against numbers typed from the saved pages."""

from decimal import Decimal
from pathlib import Path

import pytest
from ratecard import data as ratecard_data

from ratecard.scrapers import google
from ratecard.scrapers.errors import PageRejected
from ratecard.scrapers.names import model_id_for
from ratecard.scrapers.observation import Observation

SNAPSHOTS = ratecard_data.path("snapshots")
FIXTURES = Path(__file__).parent / "fixtures"
MAY = SNAPSHOTS / "google" / "gemini-api-pricing_jina-md_2026-05-07_quill-96a8198e.md"
JUNE = SNAPSHOTS / "google" / "gemini-api-pricing_jina-md_2026-06-02_quill-3a8ccd31.md"
URL = "https://ai.google.dev/gemini-api/docs/pricing"


@pytest.fixture(scope="module")
def may() -> dict[tuple, Observation]:
    return {o.key: o for o in google.parse(MAY.read_bytes(), URL).observations}


@pytest.fixture(scope="module")
def june() -> dict[tuple, Observation]:
    return {o.key: o for o in google.parse(JUNE.read_bytes(), URL).observations}


def usd(rates: dict, model: str, tier: str, kind: str, min_prompt_tokens: int = 0) -> Decimal | None:
    return rates[("google", model, tier, kind, min_prompt_tokens)].usd_per_mtok


def test_gemini_2_5_pro_both_sides_of_the_200k_split(may):
    assert usd(may, "gemini-2.5-pro", "standard", "input") == Decimal("1.25")
    assert usd(may, "gemini-2.5-pro", "standard", "input", 200_000) == Decimal("2.50")
    assert usd(may, "gemini-2.5-pro", "standard", "output") == Decimal("10.00")
    assert usd(may, "gemini-2.5-pro", "standard", "output", 200_000) == Decimal("15.00")
    assert usd(may, "gemini-2.5-pro", "standard", "cached_input") == Decimal("0.125")
    assert usd(may, "gemini-2.5-pro", "standard", "cached_input", 200_000) == Decimal("0.25")
    assert usd(may, "gemini-2.5-pro", "batch", "input", 200_000) == Decimal("1.25")
    assert usd(may, "gemini-2.5-pro", "priority", "output", 200_000) == Decimal("27.00")
    # Storage is one rate whatever the prompt size.
    assert usd(may, "gemini-2.5-pro", "standard", "cache_storage_per_hour") == Decimal("4.50")
    assert ("google", "gemini-2.5-pro", "standard", "cache_storage_per_hour", 200_000) not in may


def test_audio_input_is_priced_apart_from_text(may):
    assert usd(may, "gemini-2.5-flash", "standard", "input") == Decimal("0.30")
    assert usd(may, "gemini-2.5-flash", "standard", "input_audio") == Decimal("1.00")
    assert usd(may, "gemini-2.5-flash", "standard", "cached_input") == Decimal("0.03")
    assert usd(may, "gemini-2.5-flash", "standard", "cached_input_audio") == Decimal("0.1")
    assert usd(may, "gemini-2.5-flash", "standard", "cache_storage_per_hour") == Decimal("1.00")
    assert usd(may, "gemini-2.0-flash", "standard", "input_audio") == Decimal("0.70")
    assert usd(may, "gemini-2.0-flash", "standard", "cached_input_audio") == Decimal("0.175")


def test_tiers_follow_the_tab_order_standard_batch_flex_priority(may):
    model = "gemini-3.1-flash-lite"
    assert usd(may, model, "standard", "input") == Decimal("0.25")
    assert usd(may, model, "batch", "input") == Decimal("0.125")
    assert usd(may, model, "flex", "input") == Decimal("0.125")
    assert usd(may, model, "priority", "input") == Decimal("0.45")
    assert usd(may, model, "priority", "cache_storage_per_hour") == Decimal("1.80")
    # A section with only Standard and Batch tabs has no flex or priority rates.
    assert ("google", "gemini-2.0-flash", "flex", "input", 0) not in may


@pytest.mark.parametrize(
    "model", ["gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.5-flash-lite", "gemini-3.1-pro-preview", "gemini-3-flash-preview"]
)
def test_batch_context_caching_is_billed_at_the_standard_cache_price(may, model):
    assert usd(may, model, "batch", "input") == usd(may, model, "standard", "input") / 2
    assert usd(may, model, "batch", "cached_input") == usd(may, model, "standard", "cached_input")


def test_the_page_caveat_on_a_cache_price_is_kept_as_a_note(may, june):
    key = ("google", "gemini-3-flash-preview", "batch", "cached_input", 0)
    assert may[key].note == "Same as Standard, Batch pricing not yet implemented"
    assert june[key].note == "Same as Standard"


def test_not_available_is_not_offered(may):
    for kind in ("cached_input", "cache_storage_per_hour"):
        rate = may[("google", "gemini-2.0-flash-lite", "standard", kind, 0)]
        assert (rate.basis, rate.usd_per_mtok) == ("not_offered", None)
    rate = may[("google", "gemini-embedding-2", "batch", "input_audio", 0)]
    assert (rate.basis, rate.usd_per_mtok) == ("not_offered", None)


def test_the_free_tier_column_is_ignored(may):
    # "Free of charge" on the free tier; the paid tier is what ratecard prices.
    assert usd(may, "gemini-3-flash-preview", "standard", "input") == Decimal("0.50")
    assert all(o.usd_per_mtok != 0 for o in may.values())


def test_modality_and_unit_variants(may):
    # "$0.75 (text) $3.00 or $0.005/min (audio) $1.00 or $0.002/min (image/video)"
    assert usd(may, "gemini-3.1-flash-live-preview", "standard", "input") == Decimal("0.75")
    assert usd(may, "gemini-3.1-flash-live-preview", "standard", "input_audio") == Decimal("3.00")
    # "$12.00 (text and thinking) $120.00 (images) Equivalent to $0.134 per 1K/2K image"
    assert usd(may, "gemini-3-pro-image-preview", "standard", "output") == Decimal("12.00")
    # A speech model's only output is audio.
    tts = may[("google", "gemini-2.5-flash-preview-tts", "standard", "output", 0)]
    assert (tts.usd_per_mtok, tts.note) == (Decimal("10.00"), "audio output")
    # Image output priced per image ("$0.039 per image*") is not a token rate.
    assert ("google", "gemini-2.5-flash-image", "standard", "output", 0) not in may
    assert usd(may, "gemini-2.5-flash-image", "standard", "input") == Decimal("0.30")


def test_sections_without_token_prices_are_skipped(may):
    models = {key[1] for key in may}
    assert not {m for m in models if m.startswith(("imagen", "veo", "lyria", "gemma"))}
    assert len(models) == 23


def test_every_id_in_a_section_is_priced_and_the_label_goes_to_the_first(may):
    main = may[("google", "gemini-3.1-pro-preview", "standard", "input", 200_000)]
    variant = may[("google", "gemini-3.1-pro-preview-customtools", "standard", "input", 200_000)]
    assert main.usd_per_mtok == variant.usd_per_mtok == Decimal("4.00")
    assert (main.display_name, variant.display_name) == ("Gemini 3.1 Pro Preview", "")


def test_every_parsed_model_is_in_the_catalog(may, june):
    for key in may.keys() | june.keys():
        assert model_id_for("google", key[1]) == key[1]


def test_changes_between_may_and_june(may, june):
    may_models, june_models = {k[1] for k in may}, {k[1] for k in june}
    assert june_models - may_models == {"gemini-3.5-flash", "gemini-3.1-flash-image", "gemini-3-pro-image"}
    assert may_models - june_models == {
        "gemini-3.1-flash-lite-preview",
        "gemini-3.1-flash-image-preview",
        "gemini-3-pro-image-preview",
    }
    changed = {
        key: (may[key].usd_per_mtok, june[key].usd_per_mtok)
        for key in may.keys() & june.keys()
        if (may[key].usd_per_mtok, may[key].basis) != (june[key].usd_per_mtok, june[key].basis)
    }
    assert changed == {
        ("google", "gemini-embedding-2", "batch", "input", 0): (None, Decimal("0.10")),
        ("google", "gemini-embedding-2", "batch", "input_audio", 0): (None, Decimal("3.25")),
    }
    # The preview image models went GA under new ids at the same prices.
    for old, new in [("gemini-3.1-flash-image-preview", "gemini-3.1-flash-image"), ("gemini-3-pro-image-preview", "gemini-3-pro-image")]:
        old_rates = {k[2:]: o.usd_per_mtok for k, o in may.items() if k[1] == old}
        new_rates = {k[2:]: o.usd_per_mtok for k, o in june.items() if k[1] == new}
        assert old_rates == new_rates
    assert usd(june, "gemini-3.5-flash", "standard", "input") == Decimal("1.50")
    assert usd(june, "gemini-3.5-flash", "flex", "cached_input") == Decimal("0.08")


def test_a_label_above_a_table_names_its_tier():
    page = (
        "## Gemini Test\n\n_`gemini-test`_\n\n### Batch\n\n"
        "| | Free Tier | Paid Tier, per 1M tokens in USD |\n| --- | --- | --- |\n"
        "| Input price | Not available | $0.50 |\n"
    )
    (rate,) = google.parse(page.encode(), URL).observations
    assert (rate.model, rate.tier, rate.kind, rate.usd_per_mtok) == ("gemini-test", "batch", "input", Decimal("0.50"))


def test_another_providers_page_is_rejected():
    xai = SNAPSHOTS / "xai" / "docs-models_jina-md_2026-05-08_quill-618e39f0.md"
    with pytest.raises(PageRejected, match="no model sections"):
        google.parse(xai.read_bytes(), URL).observations


def test_a_page_with_its_tables_removed_is_rejected():
    text = MAY.read_text(encoding="utf-8")
    stripped = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("|"))
    with pytest.raises(PageRejected, match="Paid Tier, per 1M tokens"):
        google.parse(stripped.encode(), URL).observations


def test_more_tables_than_tier_tabs_skips_that_section_only():
    # One section whose tables do not match its tier tabs no longer sinks the page.
    text = MAY.read_text(encoding="utf-8")
    table = "| | Free Tier | Paid Tier, per 1M tokens in USD |\n| --- | --- | --- |\n| Input price | Free | $9.99 |\n"
    doubled = text.replace("## Gemini 2.0 Flash-Lite\n", f"## Gemini 2.0 Flash-Lite\n\n{table}\n{table}\n{table}\n", 1)
    reading = google.parse(doubled.encode(), URL)
    [skipped] = reading.skipped
    assert skipped.section == "Gemini 2.0 Flash-Lite" and skipped.models and skipped.providers == ("google",)
    whole = google.parse(text.encode(), URL).observations
    assert reading.observations == [o for o in whole if o.model not in skipped.models]


def test_a_challenge_page_is_rejected():
    with pytest.raises(PageRejected, match="challenge"):
        google.parse(b"<html><title>Just a moment...</title></html>", URL).observations
