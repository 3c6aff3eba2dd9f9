"""What every field of the OpenAPI document means: one glossary, applied where a field has no description.

A field keeps the description its Struct gives it (``msgspec.Meta(description=...)``);
any other takes ``BY_SCHEMA[(schema, field)]`` or, failing that, ``FIELDS[field]``.
One glossary keeps the many fields that mean the same thing in many answers
(``catalog_version``, ``provider``, ``usd_per_mtok``, ...) worded the same way.
``FIELDS`` holds only names that mean one thing wherever they appear; a name
whose meaning depends on the answer (``status``, ``id``, ``source``,
``reason``, ...) is described per schema, so a new field with such a name is
reported undescribed rather than given another answer's words.
Money names its unit: USD, or USD per 1M tokens for a rate. A test fails on
any field of the document left without a description, so a new field is
described here or on its Struct.
"""

import copy
from collections.abc import Iterator
from typing import Any

from ratecard.service.batch_limits import BYTES_PER_INPUT_TOKEN, JSONL_OVERHEAD_BYTES_PER_REQUEST

# Litestar's msgspec schema for Decimal says only this (service.app.DecimalAsNumber): the glossary's words replace it.
GENERIC_DECIMAL = "An exact decimal, written with its digits."

_RATE = "USD per 1M tokens (per hour of storage for cache_storage_per_hour), exact"
_TIER = "Pricing tier: standard, batch, flex, priority or off_peak."
_KIND = ("What the rate prices: input, input_audio, cached_input, cached_input_audio, cache_write (5-minute TTL), "
         "cache_write_1h, cache_storage_per_hour or output.")
_BASIS = ("How the number came to be: published (read from the provider's page), derived (from a rule the page "
          "states, see note), not_offered, witness (read from an aggregator) or curated (a dated change entered "
          "from a cited announcement).")

FIELDS: dict[str, str] = {
    # Identity of a price
    "provider": "Provider id, e.g. `openai`.",
    "model": "Model id as the provider writes it, e.g. `gpt-4o`.",
    "tier": _TIER,
    "kind": _KIND,
    "min_prompt_tokens": ("Context level: the rate applies to prompts over this many tokens (0: the base rate; "
                          "higher levels are long-context rates)."),
    "usd_per_mtok": f"The price in {_RATE}; null when the tier or kind is not offered.",
    "basis": _BASIS,
    "valid_from": "When this price takes (or took) effect, UTC.",
    "valid_to": "When this price stopped applying, UTC; null while it is in force.",
    "body_sha256": "SHA-256 of the page body the figure was read from, so the exact page can be found again.",
    "observed_at": "When ratecard fetched the page that states this rate, UTC.",
    "changeset_id": "The changeset (catalog version) that wrote this row.",
    # Catalog and paging
    "catalog_version": "Catalog version the answer was read from: the id of the last applied changeset.",
    "as_of": "The moment whose prices are shown, UTC (the request's `as_of`, or now).",
    "total": "How many rows match the filters, across every page.",
    "limit": "Page size used for this answer.",
    "offset": "Rows skipped before this page.",
    "next_before": "Pass as `before` to get the next (older) page; null on the last page.",
    # Models and providers
    "display_name": "Name for people, as the provider writes it.",
    "listed": "Whether the provider's page still lists the model.",
    "aliases": "Other names that resolve to this model.",
    "served_from": "Whose rates are served: `official` (the provider's own page) or the witness source's id.",
    "agreement": "What each witness states for this model's rates, beside the official figure.",
    "intervals": "Every interval of every rate, oldest first within each rate.",
    # Changes
    "action": ("What happened to the rate: added, changed, delisted, relisted, or withdrawn (a scheduled price "
               "the page no longer states, superseded before it began; the withdrawn price is the old value)."),
    "old_usd_per_mtok": f"The price before the change, in {_RATE}; null when there was none.",
    "new_usd_per_mtok": f"The price after the change, in {_RATE}; null when delisted, withdrawn or not offered.",
    "old_basis": "Basis of the price before the change (published, derived, ...); null when there was none.",
    "new_basis": "Basis of the price after the change; null when delisted.",
    "changesets": "Changesets, newest first.",
    "created_at": "When the changeset was made, UTC.",
    "origin_id": "For a changeset applying an approved quarantined one: that changeset's id; otherwise null.",
    # Estimates
    "per_request": "Cost of one request, in USD.",
    "per_1k_requests": "Cost of 1,000 requests, in USD.",
    "per_period": "Cost of the period's requests, in USD.",
    "per_year": "Cost over a year at this volume, in USD (per_period x periods in a year).",
    "lines": "The priced parts of one request (input, cached input, cache writes, output), as billed.",
    "savings_vs_standard": "What this tier saves against standard per period; null on standard itself.",
    "batch_plan": "How many batch jobs the volume needs on the batch tier; null on other tiers or unknown limits.",
    "estimates": "One entry per model and tier, cheapest model first.",
    "rate_kind": "Which rate billed these tokens (differs from kind when a missing cache rate falls back to input).",
    "jobs_per_period": "Batch jobs needed for the period's requests under the provider's limits.",
    "max_requests_per_batch": "The provider's limit on requests in one batch job.",
    "max_bytes_per_batch": "The provider's limit on the size of one batch job's input file, in bytes.",
    "estimated_bytes_per_request": "Input-file bytes assumed for one request of this workload.",
    "limited_by": "Which limit decides the number of jobs: `requests` or `bytes`.",
    "discount_percent": "A negotiated discount in percent (0 to 100) taken off every figure.",
    "cache_ttl": "Lifetime of the cache writes: `5m` (cache_write rate) or `1h` (cache_write_1h rate).",
    # Forecasts
    "start_month": "First month of the forecast, YYYY-MM (UTC).",
    "end_month": "Last month of the forecast, YYYY-MM (UTC).",
    "forecasts": "One forecast per model, in the order asked.",
    "priced": "Whether the month could be priced (false before the model had rates).",
    "priced_at": "The moment whose rates priced the month: 00:00 UTC on its 1st.",
    "baseline_usd": "Cost in USD with every request at standard and no cache hits; null when not priced.",
    "baseline_usd_per_request": "Standard cost of one request with no cache hit, in USD; null when not priced.",
    "savings_from_batch_usd": "What moving batch_share of the requests to batch saves, caching included, in USD.",
    "savings_from_caching_usd": "What the cache hits save at standard rates, in USD.",
    "batch_tier_offered": ("Whether the batch tier priced the batch share (false: priced at standard); null when "
                           "batch_share is 0 or the month is not priced."),
    "rates_valid_from": "Latest start among the standard rates used, UTC, so a price change is visible.",
    "cumulative_cost_usd": "Cost from the first month through this one, in USD.",
    "cumulative_savings_from_batch_usd": "Batch savings from the first month through this one, in USD.",
    "priced_months": "How many months could be priced.",
    "total_usd": "Cost over the priced months, in USD.",
    "payback": "When moving to batch pays for itself; null when no migration cost was given.",
    "migration_cost_usd": "Cost of moving to batch: migration_hours x hourly_rate_usd, in USD.",
    "monthly_growth_percent": "Growth of requests per month in percent, compounding (-100 to 1000).",
    "batch_share": "Share of requests sent through the batch tier, 0 to 1.",
    "cache_hit_share": "Share of requests whose cached_input_tokens are read from cache, 0 to 1.",
    "monthly_spend_usd": "The monthly spend given, in USD.",
    "usd_per_request": "Cost of one request, in USD.",
    # Tokens
    "characters": "Characters in the text.",
    "encoding": "The tokenizer encoding that counted the text, e.g. `o200k_base`.",
    "exact": "Whether the count is the model's own tokenizer (false: an approximation).",
    # Sources, runs and witnesses
    "role": "`authoritative` (the provider's own page) or `witness` (an aggregator, compared or served as fallback).",
    "interval_minutes": "How often the source is fetched, in minutes.",
    "last_run_at": "When the source was last fetched, UTC; null if never.",
    "last_status": "How the last run ended (see RunOut.status); null if never run.",
    "last_error": "The last run's error; empty when it succeeded.",
    "last_success_at": "When a run last succeeded, UTC; null if never.",
    "data_age_hours": "Hours since the source's data was last confirmed; null if never.",
    "stale": "Whether the data is older than stale_after_hours.",
    "next_run_at": "When the scheduler fetches the source next, UTC; null when not scheduled.",
    "stale_after_hours": "Age in hours after which a source's data counts as stale.",
    "trigger": "What started the run: scheduler, admin, bundled, file or reparse.",
    "started_at": "When the run started, UTC.",
    "finished_at": "When the run ended, UTC; null while running.",
    "http_status": "HTTP status of the fetch; null when no answer came.",
    "rows_parsed": "Rate rows read from the page.",
    "runs": "Refresh runs, newest first.",
    "run_id": "The id of the run (see /v1/runs).",
    "applied_as": "The changeset (catalog version) an approval applied; null when rejected or nothing changed.",
    "agreeing": "Compared rates the witness matches.",
    "disagreeing": "Compared rates the witness does not match.",
    "disagreements": "Every comparison where a witness differs from the official rate.",
    "witnesses": "One summary per witness.",
    "witness": "Id of the witness source.",
    "agrees": "Whether the witness states the same price as the official rate.",
    "official_source": "Source of the official rate.",
    "official_usd_per_mtok": f"The official price, in {_RATE}; null when not offered.",
    "witness_usd_per_mtok": f"What the witness states, in {_RATE}; null when it says not offered.",
    "difference_percent": "How far the witness is from the official price, in percent; null when either is missing.",
    # Problems (RFC 9457)
    "suggestions": "Close matches for an unknown name, best first.",
    # Honest answers: unknown vs not offered, freshness, several sources of one price
    "unpriced": ("Tiers without a price at the moment asked: `not_offered` (a page or cited source says the model "
                 "lacks it) or `unknown` (nothing recorded covers that moment), each with the reason."),
    "freshness": ("Per provider in the answer: when its prices were last confirmed by a successful read of its "
                  "source, and whether that is stale."),
    "prices_as_of": ("When the prices were last confirmed: when the page of the source's last successful read was "
                     "seen, UTC; null if never."),
    "stale_sources": "Sources whose last confirmed read is older than their threshold (the service stays ready).",
    "batch_tier_state": ("`priced`, `not_offered` (the page says so) or `unknown` (no batch price recorded for the "
                         "month); null when batch_share is 0 or the month is not priced."),
    "also_stated_by": ("Other sources that stated this same value for this interval (a source took the rate over "
                       "at the same price: one interval, both provenances). The row itself shows the statement in "
                       "force at the answer's moment (in a history, the one that opened the interval). Empty for a "
                       "derived rate: its provenance is its rule and the rate it is derived from."),
}

# Where one name means something else in one answer.
BY_SCHEMA: dict[tuple[str, str], str] = {
    ("ModelInfo", "status"): "Lifecycle: `active`, `deprecated` or `no_longer_listed`.",
    ("ChangesetOut", "status"): "applied, quarantined (waiting for approval), approved or rejected.",
    ("ChangesetOut", "id"): "Changeset id: the catalog version it made when applied.",
    ("ChangesetOut", "source"): "Source whose run made the changeset, or `curated`.",
    ("ChangesetOut", "reason"): "Why it was quarantined or how it was decided; empty for a plain update.",
    ("DecisionOut", "status"): "The changeset's status after the decision: approved or rejected.",
    ("DecisionOut", "changeset_id"): "The quarantined changeset decided on.",
    ("DecisionOut", "catalog_version"): "Catalog version after the decision.",
    ("Health", "status"): ("`ready` when a catalog with prices is loaded; `starting` before; `replication-down` "
                           "(503) on a writer whose Litestream child is not running."),
    ("Health", "models"): "Models in the served catalog.",
    ("Health", "mode"): "`writer`, `read-only` (serving a file it never writes) or `replica` (following a writer).",
    ("Health", "writes"): "Whether runs, the scheduler and admin writes happen in this process.",
    ("Health", "writes_off_because"): "Why this process does not write; empty when it does.",
    ("Health", "scheduler"): "Whether this process runs the refresh scheduler.",
    ("Health", "replication"): "This process's part in replication across hosts; absent when it takes none.",
    ("SourcesResponse", "replication"): "On a replica: how far behind the writer it is (as in `/readyz`).",
    ("Replication", "role"): "`writer` (streaming to `url`) or `replica` (following `url`, or a read-only file).",
    ("Replication", "url"): ("The Litestream replica URL, without credentials or secret parameters; empty under "
                             "`--read-only` alone."),
    ("Replication", "running"): ("Whether this process's Litestream child (replicate or restore -f) is alive; false "
                                 "under `--read-only` alone, where something else follows the file."),
    ("Replication", "restarts"): "How often the Litestream child exited and was restarted.",
    ("Replication", "last_error"): "Litestream's last error message; empty once it works again.",
    ("Replication", "versions_behind"): ("The writer's catalog version at its newest heartbeat this replica holds, "
                                         "minus the version served; null without a heartbeat."),
    ("Replication", "seconds_behind"): ("Age of the newest writer heartbeat this replica holds, seconds: an upper "
                                        "bound of the lag (it grows while the writer is down)."),
    ("Replication", "writer_heartbeat_at"): "When the writer wrote that heartbeat, UTC.",
    ("Replication", "writer_catalog_version"): "The writer's catalog version at that heartbeat.",
    ("Liveness", "status"): "`ok`: the process is up.",
    ("Problem", "status"): "The HTTP status code.",
    ("ProviderOut", "id"): "Provider id, e.g. `anthropic`.",
    ("ProviderOut", "models"): "How many models the provider has in the catalog.",
    ("ProviderOut", "served_from"): "Whose rates are served: `official` or the witness source's id.",
    ("SourceOut", "id"): "Source id, as in data/sources.toml.",
    ("SourceOut", "url"): "The page the source fetches.",
    ("RunOut", "id"): "Run id.",
    ("RunOut", "source"): "Id of the source fetched.",
    ("RunOut", "status"): ("How the run ended: running, changed (a changeset was applied), no_change (read, nothing "
                           "new), unchanged (the same page body as before), quarantined or failed."),
    ("RunOut", "body_sha256"): "SHA-256 of the fetched page body; empty when nothing was fetched.",
    ("RunOut", "changes"): "Rates changed by the run.",
    ("RunOut", "changeset_id"): "Changeset the run made; null when nothing changed.",
    ("RefreshOut", "source"): "Id of the source refreshed.",
    ("RefreshOut", "status"): "How the refresh ended (as RunOut.status).",
    ("RefreshOut", "changeset_id"): "Changeset the refresh made; null when nothing changed.",
    ("RefreshOut", "catalog_version"): "Catalog version after the refresh.",
    ("ChangeOut", "source"): "Source that stated the new price, or `curated`.",
    ("ChangeOut", "url"): "Page (or announcement) stating the new price.",
    ("ChangeOut", "valid_from"): "When the change takes (or took) effect, UTC.",
    ("TierEstimate", "source"): "Ids of the sources whose rates priced the tier.",
    ("TierEstimate", "valid_from"): "Latest start among the rates used, UTC.",
    ("TierEstimate", "model"): "Model id as the provider writes it.",
    ("TierEstimate", "period"): "The period per_period counts: day, week or month.",
    ("TierEstimate", "warnings"): "Notes on this tier's figures.",
    ("EstimateRequest", "period"): "What `requests` counts: `day`, `week` or `month` (default month).",
    ("EstimateResponse", "requests"): "Requests per period, as asked.",
    ("EstimateResponse", "period"): "The period the requests and per_period figures are per.",
    ("EstimateResponse", "warnings"): "Notes not tied to one model's figures (e.g. a model with no prices).",
    ("Line", "kind"): "What the tokens are: input, cached_input, cache_write, cache_write_1h or output.",
    ("Line", "tokens"): "Tokens of this kind in one request.",
    ("Line", "usd_per_mtok"): f"The rate that billed them, in {_RATE}.",
    ("Line", "cost_usd"): "Their cost in one request, in USD (tokens x usd_per_mtok / 1e6, less any discount).",
    ("Line", "basis"): "Basis of the rate that billed them (published, derived, curated, witness).",
    ("BatchPlan", "url"): "The provider's page stating its batch limits.",
    ("BatchPlan", "max_requests_per_batch"): ("The provider's limit on requests in one batch job; null where it "
                                              "states only a size limit."),
    ("BatchPlan", "estimated_bytes_per_request"): (
        "Input-file bytes of one request: batch_bytes_per_request when given, else input_tokens x "
        f"{BYTES_PER_INPUT_TOKEN} + {JSONL_OVERHEAD_BYTES_PER_REQUEST}."),
    ("BatchPlan", "limited_by"): ("The limit that decides jobs_per_period: `requests` (the count per batch) or "
                                  "`bytes` (its size)."),
    ("BatchPlan", "bytes_per_request_given"): ("Whether estimated_bytes_per_request is the request's "
                                               "batch_bytes_per_request (else estimated)."),
    ("BatchPlan", "max_requests_per_job"): "The most requests one batch job holds under both the count and the size limit.",
    ("BatchPlan", "jobs_per_day"): ("Jobs a day that send the period's requests spread evenly over its days "
                                    "(a month is 365/12)."),
    ("BatchPlan", "requests_per_job"): "Requests in each of the jobs_per_day jobs, rounded up.",
    ("BatchPlan", "note"): ("The plan in words: the job count, the limit that decides it with its figures, "
                            "the daily split."),
    ("HistoryResponse", "as_of"): "The moment whose knowledge is shown, UTC; null: now.",
    ("ModelsResponse", "as_of"): "The moment asked for, UTC; null: every model the catalog serves.",
    ("ProvidersResponse", "as_of"): "The moment asked for, UTC; null: the current catalog.",
    ("ModelDetail", "model"): "The model, with its names and status.",
    ("ModelDetail", "rates"): "Its rates in force at as_of.",
    ("ModelForecast", "months"): "Every month of the forecast, in order.",
    ("ModelForecast", "requests"): "Requests over the priced months.",
    ("ModelForecast", "baseline_usd"): "Cost over the priced months with every request at standard, no cache hits, in USD.",
    ("ModelForecast", "savings_from_batch_usd"): "What the batch share saves over the priced months, in USD.",
    ("ModelForecast", "savings_from_caching_usd"): "What the cache hits save over the priced months, in USD.",
    ("ModelForecast", "warnings"): "Notes on this model's figures, each once (months not priced, no batch tier, ...).",
    ("ForecastResponse", "warnings"): "Every model's notes, each naming its model.",
    ("MonthForecast", "requests"): "Requests in the month (the first month's, compounded by the growth).",
    ("MonthForecast", "cost_usd"): "What the month costs with the batch and cache-hit shares, in USD; null when not priced.",
    ("MonthForecast", "savings_from_batch_usd"): "What the batch share saves this month, in USD; null when not priced.",
    ("MonthForecast", "savings_from_caching_usd"): "What the cache hits save this month, in USD; null when not priced.",
    ("Payback", "months"): "Forecast months up to and including the one that pays back; null when none does.",
    ("Payback", "month"): "The month whose cumulative batch savings reach the migration cost, YYYY-MM; null when none.",
    ("Payback", "reason"): "Why there is no payback within the horizon; null when there is one.",
    ("TokensResponse", "tokens"): "Tokens in the text.",
    ("TokensResponse", "note"): "How the count was made when it is not exact; null when exact.",
    ("TokensResponse", "model"): "Model whose tokenizer counted (resolved from the name given).",
    ("WitnessSummary", "compared"): "Official rates this witness states too.",
    ("AgreementOut", "compared"): "Comparisons made, over every witness.",
    ("FieldError", "reason"): "Why it was not accepted.",
    # Names that mean different things in different answers: described per schema only, so a new field
    # with one of them is flagged by the test instead of inheriting another answer's words.
    ("AgreementOut", "at"): "The moment compared, UTC.",
    ("ChangesetOut", "changes"): "The changes, one per rate.",
    ("Problem", "detail"): "What went wrong with this request, in words.",
    ("Problem", "errors"): "Each input that was wrong: its field and why.",
    ("Problem", "title"): "Short summary of the kind of problem.",
    ("Problem", "type"): "URI naming the kind of problem.",
    ("FieldError", "field"): "The query parameter or body field that was wrong.",
    ("RefreshOut", "error"): "Why the refresh failed; empty when it did not.",
    ("RunOut", "error"): "Why the run failed; empty when it did not.",
    ("TierEstimate", "input_tokens"): ("Prompt tokens per request as priced (counted with the model's tokenizer when "
                                      "a text was given)."),
    ("ModelsResponse", "models"): "The models on this page, each with its names and status.",
    ("MonthForecast", "month"): "The month, YYYY-MM (UTC).",
    ("Rate", "note"): "How a derived rate was worked out (the rule the page states); empty for a published one.",
    ("Rate", "source"): "Id of the registered source (pricing page) the rate came from, or `curated`.",
    ("Rate", "url"): "Address of the page the figure was read from.",
    ("Rate", "lane"): ("The series the row belongs to: `official` (the provider's own page or curated history) "
                       "or the id of the witness source that states it."),
    ("Savings", "usd"): "Savings per period in USD (negative: this tier costs more than standard).",
    ("Savings", "percent"): "The same savings as a percentage of the standard cost; null when standard costs nothing.",
    ("PricesResponse", "rates"): "Rate rows on this page, each with its provenance.",
    ("ProvidersResponse", "providers"): "The providers, each with its sources and number of models.",
    ("SourceOut", "providers"): "Providers the source covers.",
    ("ProviderOut", "sources"): "Ids of the registered sources that read this provider.",
    ("SourcesResponse", "sources"): "Every registered source with its freshness.",
    ("EstimateRequest", "tiers"): "Only these tiers, in this order; default every tier the model offers.",
    ("SkippedSection", "section"): "The unread part of the page, named as the page names it.",
    ("SkippedSection", "reason"): "What the parser expected there and did not find.",
    ("SkippedSection", "providers"): "Providers the section would have priced; empty: unknown.",
    ("SkippedSection", "models"): "Models the section would have priced; empty: unknown.",
    ("SkippedSection", "tiers"): "Tiers the section would have priced; empty: unknown.",
    ("ModelDetail", "warnings"): "Notes on the answer: a model served from a witness, stale prices.",
    ("PricesResponse", "warnings"): "Notes on the answer: models served from a witness, stale prices.",
    ("ProviderFreshness", "source"): "The source the provider's prices come from (its page, or the serving witness).",
    ("ProviderFreshness", "warning"): "Says the prices are stale, and since when; null when fresh.",
    ("Statement", "source"): "The source that stated the value (a page's source id, `curated`, or a witness).",
    ("Statement", "url"): "The page or announcement that stated it.",
    ("Statement", "changeset_id"): "The changeset (catalog version) that recorded this statement.",
    ("Rate", "changeset_id"): ("The changeset (catalog version) that recorded the statement this row shows: for "
                               "an interval several sources stated, that statement's (the others, with theirs, "
                               "are in also_stated_by); for a derived rate, the standard rate's it is derived from."),
    ("TierGap", "state"): "`not_offered` (a page or cited source says so) or `unknown` (nothing covers the moment).",
    ("TierGap", "reason"): "The gap in words, e.g. no batch price is recorded for the model before a date.",
    ("UnpricedTierOut", "state"): ("`not_offered` (a page or cited source says so) or `unknown` (nothing covers "
                                   "the moment)."),
    ("UnpricedTierOut", "reason"): "The gap in words, e.g. no batch price is recorded for the model before a date.",
}


def _properties(schema: Any, name: str) -> Iterator[tuple[str, str, dict]]:
    """(schema name, field, property) for every property of ``schema`` and of the schemas inside it."""
    if not isinstance(schema, dict):
        return
    for field, prop in (schema.get("properties") or {}).items():
        yield name, field, prop
        yield from _properties(prop, name)
    for key in ("items", "additionalProperties"):
        yield from _properties(schema.get(key), name)
    for key in ("oneOf", "anyOf", "allOf"):
        for option in schema.get(key, ()):
            yield from _properties(option, name)


def every_property(document: dict) -> Iterator[tuple[str, str, dict]]:
    """(where, field, property) for every property of the document: components, bodies and answers."""
    for name, schema in document.get("components", {}).get("schemas", {}).items():
        yield from _properties(schema, name)
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict):
                continue
            bodies = [operation.get("requestBody") or {}, *operation.get("responses", {}).values()]
            for body in bodies:
                for media in (body.get("content") or {}).values():
                    yield from _properties(media.get("schema"), f"{method.upper()} {path}")


def describe(document: dict) -> dict:
    """A copy of the OpenAPI ``document`` with every field the Structs left undescribed described from the glossary."""
    document = copy.deepcopy(document)
    for where, field, prop in every_property(document):
        if prop.get("description") and prop["description"] != GENERIC_DECIMAL:
            continue
        words = BY_SCHEMA.get((where, field)) or FIELDS.get(field)
        if words:
            prop["description"] = words
    return document
