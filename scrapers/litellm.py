"""LiteLLM's model_prices_and_context_window.json as witness observations.

The file maps a model key (``gpt-4o``, ``gemini/gemini-2.5-pro``,
``groq/openai/gpt-oss-120b``) to an object with ``litellm_provider`` and
prices in USD per token as JSON numbers. A capture wraps it under ``data``
(with ``fetched_at``); the raw file from LiteLLM's repository, recognised by
its ``sample_spec`` entry, is accepted as well.

Only first-party APIs are read (:data:`FIRST_PARTY_PROVIDERS`): the same model
through Bedrock, Azure, Vertex AI, OpenRouter or an inference cloud is that
reseller's price, not the provider's. ``ft:`` keys (running a customer's
fine-tune) are not a callable model id and are skipped.

Price fields (see :func:`rate_key`): ``input_cost_per_token``,
``output_cost_per_token``, ``cache_read_input_token_cost`` (DeepSeek's
``input_cost_per_token_cache_hit`` as a fallback), ``cache_creation_input_token_cost``
(5-minute write) and its ``_above_1hr`` (1-hour write), audio input, each
optionally with a long-context suffix ``_above_<N>k_tokens`` (min_prompt_tokens
N x 1000: 128k, 200k, ...) and a tier suffix ``_batches``, ``_flex`` or
``_priority``. Reasoning-token, per-image, per-second, per-character and
per-query prices are not token rates ratecard keys and are left out.
"""

import re

from ratecard.scrapers.errors import PageRejected
from ratecard.scrapers.observation import Observation, Reading
from ratecard.scrapers.witness import (
    FeedEntry,
    Rate,
    as_decimal,
    decode_feed,
    observations_from_entries,
    provider_id,
    require_observations,
    strip_prefix,
    usd_per_mtok_from_per_token,
)

# litellm_provider values that are the model maker's own API (plus Groq,
# which ratecard tracks as a provider with its own price page). Inference
# clouds (together_ai, fireworks_ai, cerebras, ...) are left out with the
# resellers; adding one is a line here and one in witness.PROVIDER_IDS.
FIRST_PARTY_PROVIDERS = frozenset(
    {
        "openai",
        "text-completion-openai",
        "anthropic",
        "gemini",
        "palm",
        "deepseek",
        "xai",
        "mistral",
        "codestral",
        "text-completion-codestral",
        "groq",
        "cohere",
        "cohere_chat",
        "perplexity",
        "moonshot",
        "dashscope",
        "zai",
        "minimax",
        "ai21",
        "meta_llama",
        "amazon_nova",
    }
)

# Price field stem -> (kind, precedence); a lower precedence wins when two
# stems give the same rate key.
_KIND_BY_STEM: dict[str, tuple[str, int]] = {
    "input_cost_per_token": ("input", 0),
    "output_cost_per_token": ("output", 0),
    "cache_read_input_token_cost": ("cached_input", 0),
    "input_cost_per_token_cache_hit": ("cached_input", 1),
    "cache_creation_input_token_cost": ("cache_write", 0),
    "cache_creation_input_token_cost_above_1hr": ("cache_write_1h", 0),
    "input_cost_per_audio_token": ("input_audio", 0),
    "cache_read_input_audio_token_cost": ("cached_input_audio", 0),
}

_TIER_BY_SUFFIX: dict[str | None, str] = {
    None: "standard",
    "batches": "batch",
    "flex": "flex",
    "priority": "priority",
}

_STEMS = "|".join(sorted(map(re.escape, _KIND_BY_STEM), key=len, reverse=True))
_PRICE_FIELD = re.compile(
    rf"^(?P<stem>{_STEMS})(?:_above_(?P<thousands>\d+)k_tokens)?(?:_(?P<tier>batches|flex|priority))?$"
)

_SPEC_KEY = "sample_spec"  # LiteLLM's documentation entry, not a model


def parse(body: bytes, url: str) -> Reading:
    """Read the page into a Reading: every rate of :func:`read_rates`; this page has no separately skippable section."""
    return Reading(observations=read_rates(body, url))


def read_rates(body: bytes, url: str) -> list[Observation]:
    """Read LiteLLM's price map (wrapped under ``data`` or raw) into observations."""
    models = _model_map(decode_feed(body, url), url)
    entries = [entry for key, spec in models.items() if (entry := read_model(key, spec)) is not None]
    return require_observations(observations_from_entries(entries), url, "LiteLLM")


def read_model(key: str, spec: object) -> FeedEntry | None:
    """One model key as a feed entry; None when it is not a first-party API's model."""
    if key == _SPEC_KEY or key.startswith("ft:") or not isinstance(spec, dict):
        return None
    litellm_provider = spec.get("litellm_provider")
    if litellm_provider not in FIRST_PARTY_PROVIDERS:
        return None
    prefixes = {litellm_provider, litellm_provider.replace("_", "-")}
    found: list[tuple[int, Rate]] = []
    for field, value in spec.items():
        parsed = rate_key(field)
        usd_per_token = as_decimal(value)
        if parsed is None or usd_per_token is None or usd_per_token < 0:
            continue
        tier, kind, min_prompt_tokens, precedence = parsed
        found.append((precedence, Rate(tier, kind, usd_per_mtok_from_per_token(usd_per_token), min_prompt_tokens)))
    found.sort(key=lambda pair: pair[0])  # stable: fallbacks after the fields they stand in for
    return FeedEntry(
        provider=provider_id(litellm_provider),
        feed_id=key,
        model_name=strip_prefix(key, prefixes),
        rates=tuple(rate for _, rate in found),
    )


def rate_key(field: str) -> tuple[str, str, int, int] | None:
    """(tier, kind, min_prompt_tokens, precedence) for a LiteLLM price field, or None.

    ``output_cost_per_token_above_200k_tokens`` -> ("standard", "output", 200000, 0);
    ``input_cost_per_token_batches`` -> ("batch", "input", 0, 0).
    """
    match = _PRICE_FIELD.match(field)
    if match is None:
        return None
    kind, precedence = _KIND_BY_STEM[match["stem"]]
    thousands = match["thousands"]
    return (_TIER_BY_SUFFIX[match["tier"]], kind, int(thousands) * 1000 if thousands else 0, precedence)


def _model_map(doc: object, url: str) -> dict:
    if isinstance(doc, dict) and isinstance(doc.get("data"), dict):
        return doc["data"]
    if isinstance(doc, dict) and (_SPEC_KEY in doc or _looks_like_price_map(doc)):
        return doc
    raise PageRejected(
        "expected LiteLLM's price map: an object of models with `litellm_provider` and `*_cost_per_token` fields"
        " (raw, or wrapped under `data`)",
        url=url,
    )


def _looks_like_price_map(doc: dict) -> bool:
    """Recognised by its shape, not by one sentinel key: most entries name a provider and a token cost."""
    entries = [v for v in list(doc.values())[:200] if isinstance(v, dict)]
    shaped = [v for v in entries if "litellm_provider" in v and any(k.endswith("_cost_per_token") for k in v)]
    return bool(shaped) and len(shaped) * 2 >= len(entries)
