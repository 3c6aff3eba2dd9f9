"""What the three aggregator witnesses (OpenRouter, LiteLLM, models.dev) share.

Each witness module reads its feed into :class:`FeedEntry` values (the feed's
own id, the ratecard provider, the rates it states); this module turns those
into observations with the same rules for all three:

* **Model ids.** A feed id is resolved through the model catalog
  (:func:`scrapers.names.model_id_for`); a model the catalog does not know keeps
  the feed's own id, lower-cased, provider prefix removed, so it can fill a
  long-tail provider. The feed's original id is always kept in
  ``display_name`` so it can become an alias.
* **One entry per model.** Feeds list the same model more than once (dated
  snapshots, ``-latest`` aliases, a prefixed and a bare key). When several
  entries resolve to the same (provider, model), the whole entry that names
  the model most exactly wins (see :func:`match_rank`), so a model's rates
  never mix two entries' numbers. Ties go to the lexicographically smallest
  feed id, which is deterministic and puts dated snapshots before ``-latest``.
* **Zeros are not prices.** The feeds write 0 for a free tier or preview
  (``gemini-2.0-flash-exp``, GLM-4.5-Flash), a placeholder for an unknown
  price (models.dev's Amazon Nova 2), "no separate charge" (DeepSeek's and
  Z.ai's cache writes, billed as ordinary input) and "not applicable" (an
  embedding model's output). None is a paid rate and ratecard never serves a
  silent zero cost, so a rate of 0 is skipped as missing data (not
  ``not_offered``); an entry left with no rates drops out.
* **Exact money.** Feeds are decoded with floats kept as ``Decimal``;
  per-token prices become per-1M prices by an exact Decimal multiplication.

Witness rows carry basis ``published``: the service marks rows from a witness
source itself.
"""

import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, NamedTuple

import msgspec

from ratecard.scrapers.errors import PageRejected
from ratecard.scrapers.names import model_id_for, name_key
from ratecard.scrapers.observation import Observation

TOKENS_PER_MTOK = Decimal(1_000_000)

# Every spelling the three feeds use for a provider, mapped to ratecard's id.
# A spelling not listed here is kept as it is (lower-cased): long-tail authors
# on OpenRouter such as `nousresearch` become providers of that name.
PROVIDER_IDS: dict[str, str] = {
    "openai": "openai",
    "text-completion-openai": "openai",  # LiteLLM's legacy /completions entries
    "anthropic": "anthropic",
    "google": "google",
    "gemini": "google",  # LiteLLM: the Gemini API (not vertex_ai, which is a cloud)
    "palm": "google",  # LiteLLM: Google's retired PaLM API
    "deepseek": "deepseek",
    "xai": "xai",
    "x-ai": "xai",
    "mistral": "mistral",
    "mistralai": "mistral",
    "codestral": "mistral",  # LiteLLM: Mistral's codestral.mistral.ai endpoint
    "text-completion-codestral": "mistral",
    "groq": "groq",
    "meta-llama": "meta",
    "meta_llama": "meta",
    "llama": "meta",  # models.dev: Meta's Llama API
    "qwen": "qwen",
    "alibaba": "qwen",  # models.dev and OpenRouter: Alibaba Cloud's Qwen API
    "dashscope": "qwen",  # LiteLLM: the same API by its product name
    "cohere": "cohere",
    "cohere_chat": "cohere",
    "moonshotai": "moonshotai",
    "moonshot": "moonshotai",
    "z-ai": "zai",
    "zai": "zai",
    "minimax": "minimax",
    "ai21": "ai21",
    "perplexity": "perplexity",
    "amazon": "amazon",
    "amazon_nova": "amazon",
    "nova": "amazon",  # models.dev: the Amazon Nova API
    "stepfun-ai": "stepfun",
    "stepfun": "stepfun",
}

# Providers whose model ids put dashes where OpenRouter's slugs put dots
# between version digits (`claude-opus-4.5` -> `claude-opus-4-5`). xAI is not
# one: its ids use both (`grok-4-1-fast-reasoning`, `grok-4.20-0309-reasoning`).
_DASHED_VERSION_PROVIDERS = frozenset({"anthropic"})

# Gemini has no cache-write price, only storage per hour; the feeds that fill a
# "cache write" for Google put an amortised storage charge there (OpenRouter:
# $4.50/h x 5 min = 0.375 for gemini-2.5-pro), which is not a write rate.
_NO_CACHE_WRITE_PROVIDERS = frozenset({"google"})
_CACHE_WRITE_KINDS = frozenset({"cache_write", "cache_write_1h"})


class Rate(NamedTuple):
    """One price a feed states for a model, already in USD per 1M tokens."""

    tier: str
    kind: str
    usd_per_mtok: Decimal
    min_prompt_tokens: int = 0


class FeedEntry(NamedTuple):
    """One model as a witness feed lists it."""

    provider: str  # ratecard's provider id
    feed_id: str  # the feed's own id, exactly as written (becomes display_name)
    model_name: str  # the feed id with the provider prefix removed
    rates: tuple[Rate, ...]


class _Resolved(NamedTuple):
    rank: int
    entry: FeedEntry


_DECODER = msgspec.json.Decoder(float_hook=Decimal)


def decode_feed(body: bytes, url: str) -> Any:
    """Decode a JSON feed with every JSON float kept as an exact Decimal."""
    try:
        return _DECODER.decode(body)
    except msgspec.DecodeError as exc:
        raise PageRejected(f"expected a JSON feed, body is not JSON ({exc})", url=url) from None


def plain_decimal(value: Decimal) -> Decimal:
    """Normalise a Decimal without exponent notation (``0.5000000`` -> ``0.5``, ``1E+1`` -> ``10``)."""
    value = value.normalize()
    if value.as_tuple().exponent > 0:  # type: ignore[operator]
        value = value.quantize(Decimal(1))
    return value


def usd_per_mtok_from_per_token(usd_per_token: Decimal) -> Decimal:
    """Turn a per-token price into an exact per-1M-tokens price (``5E-7`` -> ``0.5``)."""
    return plain_decimal(usd_per_token * TOKENS_PER_MTOK)


def as_decimal(value: object) -> Decimal | None:
    """A JSON number (or numeric string) as a Decimal; None for anything else.

    Booleans are not numbers here even though Python treats them as ints.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except ArithmeticError:
            return None
        return number if number.is_finite() else None
    return None


def provider_id(feed_provider: str) -> str:
    """Ratecard's provider id for a feed's provider spelling (unknown ones kept, lower-cased)."""
    spelling = feed_provider.strip().lower()
    return PROVIDER_IDS.get(spelling, spelling)


def strip_prefix(feed_id: str, prefixes: Iterable[str]) -> str:
    """The id without a leading ``prefix/`` segment when that segment is one of ``prefixes``."""
    head, sep, tail = feed_id.partition("/")
    if sep and head.lower() in {p.lower() for p in prefixes}:
        return tail
    return feed_id


def fallback_model_id(provider: str, model_name: str) -> str:
    """The id kept for a model the catalog does not know: lower-cased, house style applied."""
    model = model_name.strip().lower()
    if provider in _DASHED_VERSION_PROVIDERS:
        model = re.sub(r"(?<=\d)\.(?=\d)", "-", model)
    return model


def match_rank(entry: FeedEntry, model: str) -> int:
    """How exactly an entry names ``model``: 0 best.

    0: the feed id is the model id; 1: it is after removing the provider
    prefix or applying the provider's house style; 2: it is up to case and
    punctuation; 3: it only reaches the model through a catalog alias.
    """
    if entry.feed_id == model:
        return 0
    if model in (entry.model_name, fallback_model_id(entry.provider, entry.model_name)):
        return 1
    if name_key(entry.model_name) == name_key(model):
        return 2
    return 3


def resolve_model(entry: FeedEntry) -> str:
    """The ratecard model id for an entry: the catalog's, else the normalised feed id."""
    fallback = fallback_model_id(entry.provider, entry.model_name)
    for name in (entry.model_name, fallback, entry.feed_id):
        model = model_id_for(entry.provider, name)
        if model is not None:
            return model
    return fallback


def priced_rates(entry: FeedEntry) -> tuple[Rate, ...]:
    """The entry's rates that are paid prices (see the module docstring).

    The first rate of each key wins, so a parser lists a field before its fallbacks.
    """
    kept: dict[tuple[str, str, int], Rate] = {}
    for rate in entry.rates:
        if rate.usd_per_mtok == 0:
            continue
        if rate.kind in _CACHE_WRITE_KINDS and entry.provider in _NO_CACHE_WRITE_PROVIDERS:
            continue
        kept.setdefault((rate.tier, rate.kind, rate.min_prompt_tokens), rate)
    return tuple(kept.values())


def observations_from_entries(entries: Iterable[FeedEntry]) -> list[Observation]:
    """Resolve, deduplicate and flatten feed entries into sorted observations.

    One entry per (provider, model) survives: the lowest :func:`match_rank`,
    then the smallest feed id.
    """
    best: dict[tuple[str, str], _Resolved] = {}
    for entry in entries:
        rates = priced_rates(entry)
        if not rates:
            continue
        model = resolve_model(entry)
        candidate = _Resolved(match_rank(entry, model), entry._replace(rates=rates))
        current = best.get((entry.provider, model))
        if current is None or (candidate.rank, entry.feed_id) < (current.rank, current.entry.feed_id):
            best[(entry.provider, model)] = candidate
    observations = [
        Observation(
            provider=provider,
            model=model,
            tier=rate.tier,
            kind=rate.kind,
            usd_per_mtok=rate.usd_per_mtok,
            min_prompt_tokens=rate.min_prompt_tokens,
            basis="published",
            display_name=resolved.entry.feed_id,
        )
        for (provider, model), resolved in best.items()
        for rate in resolved.entry.rates
    ]
    return sorted(observations, key=lambda o: o.key)


def require_observations(observations: list[Observation], url: str, feed: str) -> list[Observation]:
    """Return the observations, or reject the feed when it yielded none (never "no change")."""
    if not observations:
        raise PageRejected(f"{feed} feed has zero priced models", url=url)
    return observations
