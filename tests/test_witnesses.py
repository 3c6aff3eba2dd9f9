"""The three aggregator witnesses: OpenRouter, LiteLLM and models.dev.

Numbers below are typed from the saved feeds in tests/fixtures/<source id>/.
Assertions avoid depending on which aliases the model catalog lists, so they
hold while data/models/ grows; the golden ``.expected.json`` files beside the
feeds do depend on it and are rewritten with::

    python tests/test_witnesses.py --regenerate
"""

import sys
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest
from ratecard import data as ratecard_data
from hypothesis import given
from hypothesis import strategies as st

from ratecard.scrapers import litellm, models_dev, openrouter
from ratecard.scrapers.errors import PageRejected
from ratecard.scrapers.observation import Observation, dump_observations
from ratecard.scrapers.vocabulary import KINDS, TIERS
from ratecard.scrapers.witness import (
    FeedEntry,
    Rate,
    decode_feed,
    observations_from_entries,
    usd_per_mtok_from_per_token,
)

FIXTURES = Path(__file__).parent / "fixtures"  # the .expected.json files
SNAPSHOTS = ratecard_data.path("snapshots")  # the bundled feeds themselves
FEEDS = {
    "openrouter": (openrouter, "openrouter/openrouter_models_wrapped_2026-01-26_tokentracking-4e38b97.json"),
    "litellm": (litellm, "litellm/litellm_prices_wrapped_2025-12-29_tokentracking-95e496d.json"),
    "models-dev": (models_dev, "models-dev/models-dev_api_2026-03-01_symfony-506531b.json"),
}
URL = "https://example.test/feed.json"

Rates = dict[tuple[str, str, int], Decimal]


@pytest.fixture(scope="module")
def parsed() -> dict[str, list[Observation]]:
    return {source: module.parse((SNAPSHOTS / path).read_bytes(), URL).observations for source, (module, path) in FEEDS.items()}


def rates_of(observations: list[Observation], provider: str, model: str) -> Rates:
    """(tier, kind, min_prompt_tokens) -> usd_per_mtok for one model."""
    return {
        (o.tier, o.kind, o.min_prompt_tokens): o.usd_per_mtok
        for o in observations
        if (o.provider, o.model) == (provider, model)
    }


def rates_named(observations: list[Observation], display_name: str) -> Rates:
    """Rates of the entry the feed lists under ``display_name``, whatever model id it resolved to."""
    return {(o.tier, o.kind, o.min_prompt_tokens): o.usd_per_mtok for o in observations if o.display_name == display_name}


def D(text: str) -> Decimal:
    return Decimal(text)


# --- per-token -> per-1M conversion --------------------------------------------


@pytest.mark.parametrize(
    ("json_number", "expected"),
    [
        (b"5e-07", "0.5"),  # float(5e-07) * 1e6 == 0.49999999999999994
        (b"3e-06", "3"),
        (b"1.25e-06", "1.25"),
        (b"1.875e-05", "18.75"),
        (b"2.125e-06", "2.125"),
        (b"0.00015", "150"),
        (b"5e-09", "0.005"),
        (b"8.333333333333334e-08", "0.08333333333333334"),
        (b"0.0", "0"),
        (b"0", "0"),
    ],
)
def test_per_token_json_numbers_become_exact_per_mtok_decimals(json_number: bytes, expected: str) -> None:
    value = decode_feed(json_number, URL)
    converted = usd_per_mtok_from_per_token(Decimal(value))
    assert converted == Decimal(expected)
    assert str(converted) == expected  # normalised: no trailing zeros, no exponent


@given(st.floats(min_value=1e-12, max_value=1e-2, allow_nan=False, allow_infinity=False))
def test_any_json_float_converts_to_exactly_its_written_digits_times_a_million(price: float) -> None:
    written = repr(price).encode()  # the shortest digits a JSON writer emits for this float
    converted = usd_per_mtok_from_per_token(decode_feed(written, URL))
    assert converted == Decimal(repr(price)) * 1_000_000
    assert "E" not in str(converted) and "e" not in str(converted)
    assert converted / 1_000_000 == Decimal(repr(price))


@given(st.integers(min_value=0, max_value=10**15), st.integers(min_value=0, max_value=18))
def test_conversion_is_exact_for_any_decimal(mantissa: int, places: int) -> None:
    usd_per_token = Decimal(mantissa).scaleb(-places)
    converted = usd_per_mtok_from_per_token(usd_per_token)
    assert converted == usd_per_token * 1_000_000
    assert converted.as_tuple().exponent <= 0  # written out as plain digits


# --- the same headline prices in every feed ------------------------------------


@pytest.mark.parametrize("source", FEEDS)
@pytest.mark.parametrize(
    ("provider", "model", "input_", "output"),
    [
        ("openai", "gpt-4o", "2.5", "10"),
        ("openai", "gpt-4o-mini", "0.15", "0.6"),
        ("anthropic", "claude-sonnet-4-5", "3", "15"),
        ("anthropic", "claude-opus-4-5", "5", "25"),
        ("anthropic", "claude-haiku-4-5", "1", "5"),
        ("google", "gemini-2.5-pro", "1.25", "10"),
        ("google", "gemini-2.5-flash", "0.3", "2.5"),
    ],
)
def test_headline_models_agree_across_feeds(
    parsed: dict[str, list[Observation]], source: str, provider: str, model: str, input_: str, output: str
) -> None:
    rates = rates_of(parsed[source], provider, model)
    assert rates[("standard", "input", 0)] == D(input_)
    assert rates[("standard", "output", 0)] == D(output)


@pytest.mark.parametrize("source", FEEDS)
def test_feed_output_is_well_formed(parsed: dict[str, list[Observation]], source: str) -> None:
    observations = parsed[source]
    keys = [o.key for o in observations]
    assert keys == sorted(keys)
    assert len(keys) == len(set(keys)), "one observation per rate key"
    for o in observations:
        assert o.tier in TIERS and o.kind in KINDS
        assert o.basis == "published" and o.note == ""
        assert isinstance(o.usd_per_mtok, Decimal)
        assert "E" not in str(o.usd_per_mtok)
        assert o.display_name, "the feed's own id is kept for aliasing"
        assert o.model == o.model.strip() and not o.model.startswith(f"{o.provider}/")
        # Feeds write 0 for free tiers, placeholders and "no separate charge": never a price.
        assert o.usd_per_mtok > 0


@pytest.mark.parametrize("source", FEEDS)
def test_google_gets_no_cache_write_rate(parsed: dict[str, list[Observation]], source: str) -> None:
    # OpenRouter's 0.375 for gemini-2.5-pro is 5 minutes of storage at $4.50/h.
    assert not [o for o in parsed[source] if o.provider == "google" and o.kind.startswith("cache_write")]


# --- OpenRouter ----------------------------------------------------------------


# Base rates both OpenRouter and models.dev state in full for these two models.
GPT_4O = {
    ("standard", "input", 0): D("2.5"),
    ("standard", "output", 0): D("10"),
    ("standard", "cached_input", 0): D("1.25"),
}
CLAUDE_SONNET_4_5 = {
    ("standard", "input", 0): D("3"),
    ("standard", "output", 0): D("15"),
    ("standard", "cached_input", 0): D("0.3"),
    ("standard", "cache_write", 0): D("3.75"),
}


@pytest.mark.parametrize("source", ["openrouter", "models-dev"])
def test_every_rate_of_gpt_4o_and_claude_sonnet_4_5(parsed: dict[str, list[Observation]], source: str) -> None:
    assert rates_of(parsed[source], "openai", "gpt-4o") == GPT_4O
    assert rates_of(parsed[source], "anthropic", "claude-sonnet-4-5") == CLAUDE_SONNET_4_5


def test_openrouter_reads_prices_and_slugs(parsed: dict[str, list[Observation]]) -> None:
    observations = parsed["openrouter"]
    assert rates_of(observations, "google", "gemini-2.5-pro") == {
        ("standard", "input", 0): D("1.25"),
        ("standard", "output", 0): D("10"),
        ("standard", "cached_input", 0): D("0.125"),
        ("standard", "input_audio", 0): D("1.25"),
    }
    assert rates_named(observations, "openai/gpt-audio")[("standard", "input_audio", 0)] == D("32")
    names = {(o.provider, o.model): o.display_name for o in observations}
    assert names[("anthropic", "claude-opus-4-5")] == "anthropic/claude-opus-4.5"
    assert names[("openai", "gpt-4o")] == "openai/gpt-4o"


def test_openrouter_maps_author_prefixes_to_provider_ids(parsed: dict[str, list[Observation]]) -> None:
    observations = parsed["openrouter"]
    providers = {o.provider for o in observations}
    assert {"xai", "mistral", "meta", "zai", "qwen"} <= providers
    assert not {"x-ai", "mistralai", "meta-llama", "z-ai", "openrouter"} & providers
    assert rates_named(observations, "x-ai/grok-4")[("standard", "input", 0)] == D("3")
    assert rates_named(observations, "x-ai/grok-4")[("standard", "cached_input", 0)] == D("0.75")
    # Long tail: not in the catalog, kept as the slug without its author prefix.
    hermes = rates_of(observations, "nousresearch", "hermes-4-70b")
    assert hermes[("standard", "input", 0)] == D("0.11")
    assert hermes[("standard", "output", 0)] == D("0.38")


def test_openrouter_skips_variants(parsed: dict[str, list[Observation]]) -> None:
    observations = parsed["openrouter"]
    assert not [o for o in observations if ":" in o.display_name]
    # gpt-4o:extended ($6/$18) must not replace gpt-4o's price.
    assert rates_of(observations, "openai", "gpt-4o")[("standard", "input", 0)] == D("2.5")
    # A model listed only as `:free` has no price at all.
    assert not rates_of(observations, "liquid", "lfm-2.5-1.2b-thinking")


def test_openrouter_variable_price_is_absent_not_zero() -> None:
    body = b"""{"data": [
        {"id": "openrouter/auto", "pricing": {"prompt": "-1", "completion": "-1"}},
        {"id": "acme/model-x", "pricing": {"prompt": "-1", "completion": "0.000002"}}
    ]}"""
    assert openrouter.parse(body, URL).observations == [
        Observation(
            provider="acme", model="model-x", tier="standard", kind="output",
            usd_per_mtok=D("2"), display_name="acme/model-x",
        )
    ]


# --- LiteLLM -------------------------------------------------------------------


def test_litellm_reads_tiers_and_cache_kinds(parsed: dict[str, list[Observation]]) -> None:
    observations = parsed["litellm"]
    assert rates_of(observations, "openai", "gpt-4o") == {
        ("standard", "input", 0): D("2.5"),
        ("standard", "output", 0): D("10"),
        ("standard", "cached_input", 0): D("1.25"),
        ("batch", "input", 0): D("1.25"),
        ("batch", "output", 0): D("5"),
        ("priority", "input", 0): D("4.25"),
        ("priority", "output", 0): D("17"),
        ("priority", "cached_input", 0): D("2.125"),
    }
    o3 = rates_named(observations, "o3")
    assert (o3[("flex", "input", 0)], o3[("flex", "output", 0)], o3[("flex", "cached_input", 0)]) == (
        D("1"), D("4"), D("0.25"),
    )
    opus = rates_of(observations, "anthropic", "claude-opus-4-5")
    assert opus[("standard", "cache_write", 0)] == D("6.25")
    assert opus[("standard", "cache_write_1h", 0)] == D("10")
    assert opus[("standard", "cached_input", 0)] == D("0.5")


def test_litellm_reads_long_context_thresholds(parsed: dict[str, list[Observation]]) -> None:
    observations = parsed["litellm"]
    sonnet = rates_of(observations, "anthropic", "claude-sonnet-4-5")
    assert sonnet[("standard", "input", 200000)] == D("6")
    assert sonnet[("standard", "output", 200000)] == D("22.5")
    assert sonnet[("standard", "cached_input", 200000)] == D("0.6")
    assert sonnet[("standard", "cache_write", 200000)] == D("7.5")
    pro = rates_of(observations, "google", "gemini-2.5-pro")
    assert pro[("standard", "input", 200000)] == D("2.5")
    assert pro[("standard", "output", 200000)] == D("15")
    assert pro[("standard", "cached_input", 0)] == D("0.3125")
    old_pro = rates_named(observations, "gemini/gemini-1.5-pro")
    assert old_pro[("standard", "input", 128000)] == D("7")
    assert old_pro[("standard", "output", 128000)] == D("21")


def test_litellm_keeps_only_first_party_apis(parsed: dict[str, list[Observation]]) -> None:
    observations = parsed["litellm"]
    providers = {o.provider for o in observations}
    assert {"openai", "anthropic", "google", "deepseek", "xai", "mistral", "groq"} <= providers
    assert not {"bedrock", "azure", "vertex_ai", "openrouter", "together_ai", "gemini", "sample_spec"} & providers
    # Provider prefixes come off, a provider's own slashed ids stay.
    assert rates_named(observations, "groq/openai/gpt-oss-120b")[("standard", "output", 0)] == D("0.75")
    assert rates_named(observations, "mistral/mistral-large-2411")[("standard", "input", 0)] == D("2")
    # Fine-tunes, free previews (gemini-2.0-flash-exp is 0/0) and zero cache writes are out.
    assert not [o for o in observations if o.model.startswith("ft:")]
    assert not rates_named(observations, "gemini/gemini-2.0-flash-exp")
    assert not [o for o in observations if o.provider == "deepseek" and o.kind == "cache_write"]
    # An embedding model's output 0 means "no output tokens", not "free output".
    assert rates_named(observations, "text-embedding-3-large") == {
        ("standard", "input", 0): D("0.13"),
        ("batch", "input", 0): D("0.065"),
    }


def test_litellm_prefers_the_entry_named_exactly_by_the_model_id(parsed: dict[str, list[Observation]]) -> None:
    # `deepseek-chat` (0.6/1.7) and `deepseek/deepseek-chat` (0.27/1.1) name the
    # same model (whatever id the catalog gives it); the bare key, which is the
    # API id itself, wins and its rates are kept whole.
    observations = parsed["litellm"]
    models = {o.model for o in observations if o.provider == "deepseek" and o.display_name == "deepseek-chat"}
    assert len(models) == 1
    model = models.pop()
    assert {o.display_name for o in observations if (o.provider, o.model) == ("deepseek", model)} == {"deepseek-chat"}
    assert rates_of(observations, "deepseek", model) == {
        ("standard", "input", 0): D("0.6"),
        ("standard", "output", 0): D("1.7"),
        ("standard", "cached_input", 0): D("0.06"),
    }
    names = {(o.provider, o.model): o.display_name for o in observations}
    assert names[("openai", "gpt-4o")] == "gpt-4o"  # not gpt-4o-2024-08-06
    assert names[("google", "gemini-2.5-pro")] == "gemini/gemini-2.5-pro"


def test_litellm_cache_hit_field_stands_in_for_cache_read() -> None:
    body = b"""{"data": {
        "deepseek/deepseek-coder": {"litellm_provider": "deepseek", "input_cost_per_token": 1.4e-07,
            "input_cost_per_token_cache_hit": 1.4e-08, "output_cost_per_token": 2.8e-07},
        "deepseek/deepseek-v3": {"litellm_provider": "deepseek", "cache_read_input_token_cost": 7e-08,
            "input_cost_per_token_cache_hit": 9e-08, "input_cost_per_token": 2.7e-07,
            "cache_creation_input_token_cost": 0.0}
    }}"""
    observations = litellm.parse(body, URL).observations
    assert rates_named(observations, "deepseek/deepseek-coder")[("standard", "cached_input", 0)] == D("0.014")
    assert rates_named(observations, "deepseek/deepseek-v3") == {
        ("standard", "input", 0): D("0.27"),
        ("standard", "cached_input", 0): D("0.07"),
    }


def test_litellm_accepts_the_raw_file_too() -> None:
    body = b"""{"sample_spec": {"litellm_provider": "one of ...", "input_cost_per_token": 0.0},
        "gpt-4o": {"litellm_provider": "openai", "input_cost_per_token": 2.5e-06, "output_cost_per_token": 1e-05}}"""
    assert rates_of(litellm.parse(body, URL).observations, "openai", "gpt-4o") == {
        ("standard", "input", 0): D("2.5"),
        ("standard", "output", 0): D("10"),
    }


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("input_cost_per_token", ("standard", "input", 0, 0)),
        ("output_cost_per_token_batches", ("batch", "output", 0, 0)),
        ("cache_read_input_token_cost_priority", ("priority", "cached_input", 0, 0)),
        ("input_cost_per_token_flex", ("flex", "input", 0, 0)),
        ("input_cost_per_token_above_128k_tokens", ("standard", "input", 128000, 0)),
        ("output_cost_per_token_above_272k_tokens", ("standard", "output", 272000, 0)),
        ("input_cost_per_token_above_200k_tokens_priority", ("priority", "input", 200000, 0)),
        ("cache_creation_input_token_cost", ("standard", "cache_write", 0, 0)),
        ("cache_creation_input_token_cost_above_1hr", ("standard", "cache_write_1h", 0, 0)),
        ("input_cost_per_token_cache_hit", ("standard", "cached_input", 0, 1)),
        ("input_cost_per_audio_token", ("standard", "input_audio", 0, 0)),
        ("output_cost_per_reasoning_token", None),
        ("input_cost_per_character_above_128k_tokens", None),
        ("input_cost_per_token_batch_requests", None),
        ("litellm_provider", None),
    ],
)
def test_litellm_price_field_names(field: str, expected: tuple | None) -> None:
    assert litellm.rate_key(field) == expected


# --- models.dev ----------------------------------------------------------------


def test_models_dev_reads_per_mtok_costs(parsed: dict[str, list[Observation]]) -> None:
    observations = parsed["models-dev"]
    assert rates_of(observations, "google", "gemini-2.5-pro")[("standard", "cached_input", 0)] == D("0.31")
    assert rates_of(observations, "google", "gemini-2.5-flash")[("standard", "input_audio", 0)] == D("1")


def test_models_dev_reads_context_over_200k(parsed: dict[str, list[Observation]]) -> None:
    opus = rates_named(parsed["models-dev"], "claude-opus-4-6")
    assert {key: value for key, value in opus.items() if key[2] == 200000} == {
        ("standard", "input", 200000): D("10"),
        ("standard", "output", 200000): D("37.5"),
        ("standard", "cached_input", 200000): D("1"),
        ("standard", "cache_write", 200000): D("12.5"),
    }
    gemini3 = rates_named(parsed["models-dev"], "gemini-3-pro-preview")
    assert gemini3[("standard", "output", 200000)] == D("18")


def test_models_dev_keeps_first_party_providers_under_ratecard_ids(parsed: dict[str, list[Observation]]) -> None:
    observations = parsed["models-dev"]
    providers = {o.provider for o in observations}
    assert {"openai", "anthropic", "google", "deepseek", "xai", "mistral", "groq", "qwen", "moonshotai"} <= providers
    assert not {"alibaba", "azure", "amazon-bedrock", "openrouter", "vercel", "zhipuai", "alibaba-cn"} & providers
    assert rates_named(observations, "qwen-max") == {
        ("standard", "input", 0): D("1.6"),
        ("standard", "output", 0): D("6.4"),
    }
    # Groq's own ids keep their slash; models.dev's ints decode as Decimals too.
    assert rates_named(observations, "meta-llama/llama-4-scout-17b-16e-instruct") == {
        ("standard", "input", 0): D("0.11"),
        ("standard", "output", 0): D("0.34"),
    }
    # Z.ai's cache_write 0 (no write charge) is dropped; GLM-4.5-Flash is free; Meta's Llama API lists only zeros.
    assert rates_named(observations, "glm-4.5") == {
        ("standard", "input", 0): D("0.6"),
        ("standard", "output", 0): D("2.2"),
        ("standard", "cached_input", 0): D("0.11"),
    }
    assert not rates_named(observations, "glm-4.5-flash")
    assert "meta" not in providers


# --- shared dedupe rule --------------------------------------------------------


def test_entries_for_one_model_keep_the_exactly_named_one_whole() -> None:
    entries = [
        FeedEntry("acme", "acme/rocket-1", "rocket-1", (Rate("standard", "input", D("2")),)),
        FeedEntry(
            "acme", "rocket-1", "rocket-1",
            (Rate("standard", "input", D("1")), Rate("standard", "output", D("3"))),
        ),
        FeedEntry("acme", "ROCKET-1", "ROCKET-1", (Rate("standard", "cached_input", D("0.1")),)),
    ]
    observations = observations_from_entries(entries)
    assert {(o.model, o.kind, o.usd_per_mtok, o.display_name) for o in observations} == {
        ("rocket-1", "input", D("1"), "rocket-1"),
        ("rocket-1", "output", D("3"), "rocket-1"),
    }


# --- rejection -----------------------------------------------------------------


@pytest.mark.parametrize("module", [openrouter, litellm, models_dev])
@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<!DOCTYPE html><html><title>Just a moment...</title></html>", "not JSON"),
        (b"", "not JSON"),
        (b"[1, 2, 3]", "expected"),
        (b'{"error": {"message": "rate limited"}}', "expected"),
    ],
)
def test_bodies_that_are_not_the_feed_are_rejected(module, body: bytes, reason: str) -> None:
    with pytest.raises(PageRejected, match=reason):
        module.parse(body, URL).observations


@pytest.mark.parametrize(
    ("module", "body"),
    [
        (openrouter, b'{"data": []}'),
        (openrouter, b'{"data": [{"id": "acme/free-model:free", "pricing": {"prompt": "0", "completion": "0"}}]}'),
        (litellm, b'{"data": {"bedrock/claude": {"litellm_provider": "bedrock", "input_cost_per_token": 3e-06}}}'),
        (litellm, b'{"data": {}}'),
        (models_dev, b'{"azure": {"models": {"gpt-4o": {"cost": {"input": 2.5, "output": 10}}}}}'),
        (models_dev, b'{"openai": {"models": {"gpt-4o": {"name": "GPT-4o"}}}}'),
    ],
)
def test_feeds_without_priced_models_are_rejected(module, body: bytes) -> None:
    with pytest.raises(PageRejected, match="zero priced models"):
        module.parse(body, URL).observations


# --- golden files --------------------------------------------------------------


def write_expected_files() -> None:
    """Rewrite each feed's .expected.json from the current parsers and catalog."""
    for module, path in FEEDS.values():
        observations = module.parse((SNAPSHOTS / path).read_bytes(), URL).observations
        text = msgspec.json.format(dump_observations(observations), indent=2)
        (FIXTURES / (path + ".expected.json")).write_bytes(text + b"\n")


if __name__ == "__main__" and sys.argv[1:] == ["--regenerate"]:
    write_expected_files()


def test_litellm_price_map_is_recognised_by_shape_without_wrapper_or_sample_spec() -> None:
    wrapped = msgspec.json.decode((SNAPSHOTS / FEEDS["litellm"][1]).read_bytes())
    raw = {k: v for k, v in wrapped["data"].items() if k != "sample_spec"}
    assert litellm.parse(msgspec.json.encode(raw), URL).observations == litellm.parse(
        msgspec.json.encode(wrapped), URL).observations
    with pytest.raises(PageRejected, match="litellm_provider"):
        litellm.parse(b'{"models": {"a": 1}}', URL)
