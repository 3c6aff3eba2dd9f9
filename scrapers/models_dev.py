"""models.dev's api.json as witness observations.

The file maps a provider key (``openai``, ``alibaba``, ``amazon-bedrock``) to
an object whose ``models`` map a model id to, among other things, ``cost``:
USD per 1M tokens as JSON numbers (``input``, ``output``, ``cache_read``,
``cache_write``, ``input_audio``), with long-context prices nested under
``context_over_<N>k`` (min_prompt_tokens N x 1000).

Only first-party providers are read (:data:`FIRST_PARTY_PROVIDERS`); the
resellers, clouds and gateways that make up most of the file list other
companies' prices. The China-region duplicates (``alibaba-cn``,
``moonshotai-cn``, ``minimax-cn``, ``zhipuai``) and subscription "coding
plans" are left out: ratecard keys the international pay-as-you-go API.
``reasoning`` and ``output_audio`` prices have no ratecard kind and are left
out. models.dev states no batch, flex or priority prices.
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
    plain_decimal,
    provider_id,
    require_observations,
    strip_prefix,
)

FIRST_PARTY_PROVIDERS = frozenset(
    {
        "openai",
        "anthropic",
        "google",
        "deepseek",
        "xai",
        "mistral",
        "groq",
        "cohere",
        "perplexity",
        "alibaba",
        "moonshotai",
        "minimax",
        "zai",
        "llama",
        "nova",
        "xiaomi",
        "stepfun",
        "inception",
        "upstage",
        "morph",
    }
)

# cost field -> ratecard kind.
_KIND_BY_FIELD: dict[str, str] = {
    "input": "input",
    "output": "output",
    "cache_read": "cached_input",
    "cache_write": "cache_write",
    "input_audio": "input_audio",
}

_LONG_CONTEXT = re.compile(r"^context_over_(?P<thousands>\d+)k$")


def parse(body: bytes, url: str) -> Reading:
    """Read the page into a Reading: every rate of :func:`read_rates`; this page has no separately skippable section."""
    return Reading(observations=read_rates(body, url))


def read_rates(body: bytes, url: str) -> list[Observation]:
    """Read models.dev's api.json into observations for first-party providers."""
    providers = _provider_map(decode_feed(body, url), url)
    entries = [
        entry
        for key in sorted(FIRST_PARTY_PROVIDERS & providers.keys())
        for model_id, spec in _models_of(providers[key]).items()
        if (entry := read_model(key, model_id, spec)) is not None
    ]
    return require_observations(observations_from_entries(entries), url, "models.dev")


def read_model(feed_provider: str, model_id: str, spec: object) -> FeedEntry | None:
    """One model of a provider as a feed entry; None when it states no cost."""
    if not isinstance(spec, dict) or not isinstance(spec.get("cost"), dict):
        return None
    return FeedEntry(
        provider=provider_id(feed_provider),
        feed_id=model_id,
        model_name=strip_prefix(model_id, {feed_provider}),
        rates=read_costs(spec["cost"]),
    )


def read_costs(cost: dict) -> tuple[Rate, ...]:
    """Every priced token rate of a ``cost`` object, base context first."""
    rates = list(_rates_at(cost, 0))
    for field, nested in cost.items():
        match = _LONG_CONTEXT.match(field)
        if match and isinstance(nested, dict):
            rates.extend(_rates_at(nested, int(match["thousands"]) * 1000))
    return tuple(rates)


def _rates_at(cost: dict, min_prompt_tokens: int) -> list[Rate]:
    rates = []
    for field, kind in _KIND_BY_FIELD.items():
        usd_per_mtok = as_decimal(cost.get(field))
        if usd_per_mtok is not None and usd_per_mtok >= 0:
            rates.append(Rate("standard", kind, plain_decimal(usd_per_mtok), min_prompt_tokens))
    return rates


def _provider_map(doc: object, url: str) -> dict:
    # A capture may wrap the file under `data` like the other witness feeds.
    if isinstance(doc, dict) and isinstance(doc.get("data"), dict):
        doc = doc["data"]
    if not isinstance(doc, dict) or not any(_models_of(p) for p in doc.values()):
        raise PageRejected("expected models.dev api.json: an object of providers with `models`", url=url)
    return doc


def _models_of(provider: object) -> dict:
    models = provider.get("models") if isinstance(provider, dict) else None
    return models if isinstance(models, dict) else {}
