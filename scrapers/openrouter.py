"""OpenRouter's model list (openrouter.ai/api/v1/models) as witness observations.

The response holds ``data``: one object per slug (``anthropic/claude-opus-4.5``)
with ``pricing`` in USD per token as decimal strings. The slug's prefix is the
model's author, mapped to a ratecard provider (``x-ai`` -> ``xai``,
``meta-llama`` -> ``meta``, unknown authors kept as they are); the rest is
resolved through the model catalog (see :mod:`scrapers.witness`).

What is read, all in the standard tier at the base context:
``prompt`` -> input, ``completion`` -> output, ``input_cache_read`` ->
cached_input, ``input_cache_write`` -> cache_write (Anthropic's 5-minute
write), ``audio`` -> input_audio (audio prompt tokens). Per-request,
per-image, web-search and ``internal_reasoning`` prices are not token rates
ratecard keys and are left out. OpenRouter lists no batch, flex, priority or
long-context prices.

Caveat: for open-weight models OpenRouter's price is the cheapest host it
routes to, not the author's own API; these rows are cross-checks and
long-tail fill, never the authoritative price.
"""

from decimal import Decimal

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
    usd_per_mtok_from_per_token,
)

# pricing field -> ratecard kind.
_KIND_BY_FIELD: dict[str, str] = {
    "prompt": "input",
    "completion": "output",
    "input_cache_read": "cached_input",
    "input_cache_write": "cache_write",
    "audio": "input_audio",
}

# OpenRouter's own meta-models (openrouter/auto, openrouter/bodybuilder) route
# to other models; they have no price of their own.
_ROUTER_AUTHOR = "openrouter"


def parse(body: bytes, url: str) -> Reading:
    """Read the page into a Reading: every rate of :func:`read_rates`; this page has no separately skippable section."""
    return Reading(observations=read_rates(body, url))


def read_rates(body: bytes, url: str) -> list[Observation]:
    """Read OpenRouter's /api/v1/models response into observations, one model per slug."""
    doc = decode_feed(body, url)
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
        raise PageRejected("expected OpenRouter's models response: an object with a `data` list", url=url)
    entries = [entry for item in doc["data"] if (entry := read_model(item)) is not None]
    return require_observations(observations_from_entries(entries), url, "OpenRouter")


def read_model(item: object) -> FeedEntry | None:
    """One ``data`` item as a feed entry; None for variants, routers and unpriced items."""
    if not isinstance(item, dict) or not isinstance(item.get("id"), str):
        return None
    slug: str = item["id"]
    author, sep, name = slug.partition("/")
    # Variants (`:free`, `:extended`, `:thinking`, `:exacto`, `:beta`, ...) are
    # OpenRouter products over the base model: `:free` is a rate-limited free
    # tier, `:extended` a longer-output offer at OpenRouter's own price, and
    # `:thinking` / `:exacto` re-list the base price under routing options.
    # None is the provider's paid price of the base id, so all are skipped.
    if not sep or ":" in slug or author.lower() == _ROUTER_AUTHOR:
        return None
    pricing = item.get("pricing")
    if not isinstance(pricing, dict):
        return None
    rates = tuple(rate for field, kind in _KIND_BY_FIELD.items() if (rate := _read_rate(pricing.get(field), kind)))
    return FeedEntry(provider=provider_id(author), feed_id=slug, model_name=name, rates=rates)


def _read_rate(value: object, kind: str) -> Rate | None:
    usd_per_token = as_decimal(value)
    # "-1" means the price is variable (a router picks the model per request).
    # That is missing data, not "not offered", so the rate is simply absent.
    if usd_per_token is None or usd_per_token < Decimal(0):
        return None
    return Rate("standard", kind, usd_per_mtok_from_per_token(usd_per_token))
