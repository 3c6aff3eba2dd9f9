"""Exports of the served catalog and its history: JSON rows, CSV, and a LiteLLM price map.

Everything here is a pure function of rates, apart from :func:`served_history`,
which reads the current knowledge from SQLite. ``service.queries.select_export``
picks the rates (a moment's catalog or the whole history) for ``/v1/export`` and
``ratecard export``, and one of these shapes the answer.
"""

import csv
import io
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

import msgspec
import sqlite_utils

from ratecard.service.catalog import Catalog, as_witness
from ratecard.service.history import rate_rows_of_lanes
from ratecard.service.rates import Rate, opening_statement, rate_from_row
from ratecard.service.sources import OFFICIAL_LANE
from ratecard.service.tier_rules import with_derived
from ratecard.service.timeutil import to_db

EXPORT_FORMATS: tuple[str, ...] = ("json", "csv", "litellm")
EXPORT_SCOPES: tuple[str, ...] = ("catalog", "history")

# The CSV header: the API's rate row fields in their order, without the free-text `note` and the
# run and lane (provenance an export's reader has no use for).
CSV_COLUMNS: tuple[str, ...] = (
    "provider", "model", "tier", "kind", "min_prompt_tokens", "usd_per_mtok", "basis", "valid_from", "valid_to",
    "source", "url", "body_sha256", "observed_at", "changeset_id",
)

_ATTRIBUTES = {f.encode_name: f.name for f in msgspec.structs.fields(Rate)}  # "source" -> source_id
assert set(CSV_COLUMNS) <= set(_ATTRIBUTES)

# Bases that are a price someone stated; `not_offered` rows have no price to export.
LITELLM_BASES = frozenset({"published", "derived", "curated", "witness"})

TOKENS_PER_MTOK_EXPONENT = 6  # usd_per_mtok x 10^-6 = USD per token, exactly

# ratecard provider -> (LiteLLM's `litellm_provider`, prefix of its model keys), as LiteLLM's own
# model_prices_and_context_window.json writes them: OpenAI, Anthropic, Cohere and AI21 models
# are keyed by their bare id, the others as `<route>/<id>` (`gemini/gemini-2.5-pro`).
LITELLM_PROVIDERS: dict[str, tuple[str, str]] = {
    "openai": ("openai", ""),
    "anthropic": ("anthropic", ""),
    "google": ("gemini", "gemini/"),
    "deepseek": ("deepseek", "deepseek/"),
    "xai": ("xai", "xai/"),
    "mistral": ("mistral", "mistral/"),
    "groq": ("groq", "groq/"),
    "cohere": ("cohere_chat", ""),
    "ai21": ("ai21", ""),
    "qwen": ("dashscope", "dashscope/"),
    "moonshotai": ("moonshot", "moonshot/"),
    "zai": ("zai", "zai/"),
    "minimax": ("minimax", "minimax/"),
    "perplexity": ("perplexity", "perplexity/"),
    "meta": ("meta_llama", "meta_llama/"),
    "amazon": ("amazon_nova", "amazon-nova/"),
}

# Rate kind -> LiteLLM price field stem (the inverse of scrapers.litellm.rate_key; a test checks it).
_LITELLM_STEM_BY_KIND: dict[str, str] = {
    "input": "input_cost_per_token",
    "output": "output_cost_per_token",
    "cached_input": "cache_read_input_token_cost",
    "cache_write": "cache_creation_input_token_cost",
    "cache_write_1h": "cache_creation_input_token_cost_above_1hr",
    "input_audio": "input_cost_per_audio_token",
    "cached_input_audio": "cache_read_input_audio_token_cost",
}
# Tier -> field suffix; LiteLLM has no field for DeepSeek's off-peak tier.
_LITELLM_SUFFIX_BY_TIER: dict[str, str] = {"standard": "", "batch": "_batches", "flex": "_flex", "priority": "_priority"}


def served_history(
    db: sqlite_utils.Database,
    catalog: Catalog,
    *,
    provider: str | None = None,
    model: str | None = None,
    version: int | None = None,
) -> list[Rate]:
    """Every interval of every served rate: each model from the lane it is served from.

    As known now, or with ``version`` as known when that changeset was
    committed. Models are served from the lane today's catalog names, so a
    model the catalog no longer serves is left out. Witness-served rows carry
    basis ``witness``, as in every other answer. With the intervals the
    providers' stated rules derive (basis ``derived``, service/tier_rules.py),
    so the CLI's history, its plot, the history export and the API's model
    history show the same intervals.
    """
    lanes = sorted({info.served_from for info in catalog.models.values()}) or [OFFICIAL_LANE]
    served = []
    for row in rate_rows_of_lanes(db, lanes, version=version, provider=provider, model=model):
        info = catalog.models.get((row["provider"], row["model"]))
        if info is None or row["lane"] != info.served_from:
            continue
        # A merged interval (a source took the rate over at the same value) says the statement that
        # opened it, as its valid_from does; the later ones are in also_stated_by with their moments.
        rate = opening_statement(rate_from_row(row))
        served.append(rate if rate.lane == OFFICIAL_LANE else as_witness(rate))
    return with_derived(served)


def rates_csv(rows: Iterable[Rate]) -> str:
    """Rate rows as CSV (RFC 4180) under :data:`CSV_COLUMNS`; Decimals exact, empty cells for null."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow([_csv_cell(getattr(row, _ATTRIBUTES[column])) for column in CSV_COLUMNS])
    return out.getvalue()


def _csv_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")  # "2.50", never "2.5E+0": spreadsheets read it as written
    if isinstance(value, datetime):
        return to_db(value)  # the same UTC text the JSON export writes
    return str(value)


def litellm_key(provider: str, model: str) -> tuple[str, str]:
    """(model key, litellm_provider) LiteLLM uses for a ratecard model; see :data:`LITELLM_PROVIDERS`.

    A provider LiteLLM has no route for is written as ``<provider>/<model>`` under its own id.
    """
    litellm_provider, prefix = LITELLM_PROVIDERS.get(provider, (provider, f"{provider}/"))
    return f"{prefix}{model}", litellm_provider


def litellm_field(tier: str, kind: str, min_prompt_tokens: int) -> str | None:
    """The LiteLLM price field for a rate key, or None when LiteLLM has no field for it.

    ("batch", "input", 0) -> ``input_cost_per_token_batches``;
    ("standard", "output", 200000) -> ``output_cost_per_token_above_200k_tokens``.
    """
    stem = _LITELLM_STEM_BY_KIND.get(kind)
    suffix = _LITELLM_SUFFIX_BY_TIER.get(tier)
    if stem is None or suffix is None:
        return None
    if min_prompt_tokens:
        if min_prompt_tokens % 1000:
            return None  # LiteLLM writes thresholds in whole thousands only
        stem += f"_above_{min_prompt_tokens // 1000}k_tokens"
    return stem + suffix


def usd_per_token(usd_per_mtok: Decimal) -> Decimal:
    """USD per token from USD per 1M tokens, exactly (a shift of the exponent, no rounding)."""
    return usd_per_mtok.scaleb(-TOKENS_PER_MTOK_EXPONENT).normalize()


def litellm_price_map(rates: Iterable[Rate], *, catalog_version: int, as_of: datetime) -> dict[str, dict]:
    """A LiteLLM ``model_prices_and_context_window.json`` for the given (catalog) rates.

    One entry per model with ``litellm_provider``, ``mode: "chat"``, ``source``
    (the page its input price was read from) and every price field LiteLLM
    has for the model's rates, in USD per token. Rates without a price, or
    with no LiteLLM field, are left out. A ``sample_spec`` entry comes first,
    as in LiteLLM's own file (LiteLLM and ratecard's witness parser skip it);
    it says which catalog version and moment the prices are from.
    """
    prices: dict[str, dict] = {
        "sample_spec": {
            "litellm_provider": "one of https://docs.litellm.ai/docs/providers",
            "mode": "chat",
            "source": f"ratecard catalog version {catalog_version}, prices in force at {to_db(as_of)}",
        }
    }
    for rate in rates:
        if rate.usd_per_mtok is None or rate.basis not in LITELLM_BASES:
            continue
        field = litellm_field(rate.tier, rate.kind, rate.min_prompt_tokens)
        if field is None:
            continue
        key, litellm_provider = litellm_key(rate.provider, rate.model)
        entry = prices.setdefault(key, {"litellm_provider": litellm_provider, "mode": "chat"})
        entry[field] = usd_per_token(rate.usd_per_mtok)
        if rate.tier == "standard" and rate.kind == "input" and not rate.min_prompt_tokens:
            entry["source"] = rate.url
    return prices
