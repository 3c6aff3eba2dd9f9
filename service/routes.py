"""Read endpoints of the v1 API. Current prices come from the in-memory snapshot."""

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Annotated

from litestar import Request, Response, get
from litestar.datastructures import State
from litestar.openapi.spec import Example
from litestar.params import Parameter

from scrapers.redact import redact_url
from scrapers.vocabulary import KINDS, TIERS
from service.agreement import AgreementReport, agreement_report, catalog_rates_at
from service.app import Service
from service.db import database_answers
from service.catalog import AmbiguousModel, ModelKey, UnknownModel, as_witness
from service.history import (
    AsOfFilter,
    InForceCounts,
    Served,
    changeset_time,
    in_force_counts,
    page_as_of,
    priced_models_as_of,
    rates_as_of,
    served_lanes_of,
    tier_spans,
    gap_note,
    version_known_at,
)
from service.problems import ApiError, bad_parameter, problem_responses
from service.replication import public_url, replica_lag
from service.freshness import freshness_of, freshness_token, source_freshness
from service.rate_index import unpriced_tiers
from service.rates import Rate, stated_at
from service.responses import json_response
from service.schemas import (
    Replication,
    ChangeOut,
    ChangesetOut,
    Health,
    Liveness,
    HistoryResponse,
    ModelDetail,
    ModelsResponse,
    PricesResponse,
    ProviderOut,
    ProvidersResponse,
    UnpricedTierOut,
    model_out,
    rate_out,
)
from service.sources import OFFICIAL_LANE
from service.export import served_history
from service.tier_rules import bundled_tier_rules, in_force_with_derived, with_rule_spans
from service.timeutil import from_db, parse_moment

MAX_LIMIT = 5000

# A date (YYYY-MM-DD) or an ISO-8601 time, as timeutil.parse_moment reads them.
MOMENT_PATTERN = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?)?$"

AS_OF_EXAMPLES = [
    Example(summary="A date: the prices in force at midnight UTC", value="2025-06-01"),
    Example(summary="An ISO-8601 time", value="2024-10-02T09:30:00Z"),
]
VERSION_EXAMPLES = [Example(summary="The catalog as changeset 25 left it", value=25)]

AsOf = Annotated[
    str | None,
    Parameter(description="A date (YYYY-MM-DD, midnight UTC) or ISO-8601 time, past or announced future: "
              "answer with the prices in force then, as known now (or as known at `version`).",
              pattern=MOMENT_PATTERN, examples=AS_OF_EXAMPLES),
]
Version = Annotated[
    int | None,
    Parameter(description="A catalog version (changeset id): answer as the catalog stood when it was committed "
              "(at that moment, unless `as_of` names another).", ge=1, examples=VERSION_EXAMPLES),
]
Limit = Annotated[int, Parameter(description=f"Page size, 1 to {MAX_LIMIT} (default 500); `total` counts every match.",
                                 ge=1, le=MAX_LIMIT, examples=[Example(value=100)])]
Offset = Annotated[int, Parameter(description="Rows to skip, for the next page: the previous offset plus limit.", ge=0,
                                  examples=[Example(value=0), Example(summary="The second page of 100", value=100)])]
ProviderPath = Annotated[str, Parameter(description="Provider id, e.g. `anthropic`.",
                                        examples=[Example(value="openai")])]
ModelPath = Annotated[str, Parameter(description="Model id, display name or alias, case-insensitive.",
                                     examples=[Example(value="gpt-4o"),
                                               Example(summary="A display name", value="GPT-4o")])]
# A model id with a slash (Groq serves `openai/gpt-oss-120b`) takes two path segments.
VendorPath = Annotated[str | None, Parameter(
    description="For a model id with a slash, the part before it (e.g. `openai` of Groq's `openai/gpt-oss-120b`).",
    examples=[Example(value="openai")])]
_MODEL_PATHS = ["/v1/models/{provider:str}/{model:str}", "/v1/models/{provider:str}/{vendor:str}/{model:str}"]

ProviderFilter = Annotated[str | None, Parameter(description="Only this provider id.",
                                                 examples=[Example(value="anthropic")])]


def _model_id(vendor: str | None, model: str) -> str:
    """The model named by the path: ``vendor/model`` when it took two segments."""
    return f"{vendor}/{model}" if vendor else model


def svc(state: State) -> Service:
    """The service the lifespan put on the app state."""
    return state.service


def resolve(service: Service, name: str, provider: str | None = None) -> ModelKey:
    """Resolve a model name, or raise a 404 with suggestions / a 400 for an ambiguous name."""
    try:
        return service.catalog.resolve(name, provider)
    except UnknownModel as exc:
        where = f" for provider {provider!r}" if provider else ""
        raise ApiError(
            404, "unknown-model", "Unknown model", f"no model named {name!r}{where}", suggestions=exc.suggestions
        ) from None
    except AmbiguousModel as exc:
        raise ApiError(
            400, "ambiguous-model", "Ambiguous model",
            f"{name!r} names models of several providers; use provider/model", suggestions=exc.candidates,
        ) from None


def moment(service: Service, as_of: str | None, version: int | None) -> tuple[datetime, int | None]:
    """The moment (and version) a read is answered for; now when neither is given."""
    at = None
    if as_of is not None:
        try:
            at = parse_moment(as_of)
        except ValueError as exc:
            raise bad_parameter("as_of", str(exc)) from None
    if version is not None:
        if version > service.catalog.version:
            raise bad_parameter("version", f"no catalog version {version}; the latest is {service.catalog.version}")
        committed = changeset_time(service.db, version)
        if committed is None:
            raise bad_parameter("version", f"{version} is not an applied changeset")
        return (at or committed), version
    return (at or service.clock()), None


def rates_for(service: Service, at: datetime, version: int | None, key: ModelKey | None = None) -> Sequence[Rate]:
    """Served rates at a moment: from the snapshot when it covers the moment, else from SQLite.

    For one model from the snapshot this is the snapshot's own tuple, the same object
    until the model's prices change, so the estimator's index cache hits on it.
    """
    catalog = service.catalog
    if version is None and at >= catalog.built_at:
        if key:
            return catalog.rates_at(key, at)
        return [r for k in catalog.models for r in catalog.rates_at(k, at)]
    # Derived from the served history, not the rows in force at `at`: a derived interval ends where a
    # later printed rate begins, as the model's history shows it (service.tier_rules.in_force_with_derived).
    if key:
        return in_force_with_derived(served_history(service.db, catalog, provider=key[0], model=key[1],
                                                    version=version), at)
    # The whole catalog: only the providers a rule covers need their history; the others, the rows in force.
    ruled = sorted({rule.provider for rule in bundled_tier_rules()})
    rates = [stated_at(r, at) if r.lane == OFFICIAL_LANE else as_witness(r)
             for r in rates_as_of(service.db, at, served=served_lanes(service), version=version)
             if r.provider not in ruled]
    for provider in ruled:
        rates += in_force_with_derived(served_history(service.db, catalog, provider=provider, version=version), at)
    return sorted(rates, key=lambda r: (r.provider, r.model, r.tier, r.kind, r.min_prompt_tokens, r.valid_from))


def tier_knowledge(service: Service, key: ModelKey, at: datetime, version: int | None):
    """(the tiers the model has at some moment, a function saying when a tier's prices are recorded).

    The tiers come from the served snapshot for current answers (no SQL per estimate) and
    from the model's stored history for past ones; the note reads the history on first need.
    """
    catalog = service.catalog
    lane = catalog.models[key].served_from if key in catalog.models else OFFICIAL_LANE
    memo_key = ("tier-spans", key, version)

    def spans() -> dict:
        found = catalog.memo.get(memo_key)
        if found is None:
            found = catalog.memo[memo_key] = with_rule_spans(
                tier_spans(service.db, key[0], key[1], lane=lane, version=version), key[0], key[1])
        return found  # type: ignore[return-value]

    if version is None and at >= catalog.built_at:
        known = catalog.memo.get(("tiers", key))
        if known is None:
            known = catalog.memo[("tiers", key)] = tuple(dict.fromkeys(r.tier for r in catalog.all_rates(key)))
    else:
        found = spans()
        known = tuple(t for t in (*TIERS, *sorted(found)) if t in found)
        known = tuple(dict.fromkeys(known))
    return known, lambda tier: gap_note(spans(), tier, at)


def answer_gaps(service: Service, key: ModelKey, at: datetime, version: int | None,
                tier: str | None) -> list[UnpricedTierOut]:
    """A model's tiers without a price at ``at`` (only ``tier`` when given): not offered, or unknown and why."""
    known, note = tier_knowledge(service, key, at, version)
    rates = rates_for(service, at, version, key)
    return [UnpricedTierOut(provider=key[0], model=key[1], tier=t, state=state, reason=reason)
            for t, state, reason in unpriced_tiers(key[0], key[1], rates, known, note) if tier in (None, t)]


def witness_warnings(service: Service, keys: set[ModelKey]) -> list[str]:
    """A warning for each model in ``keys`` served from a witness although its provider has its own page."""
    out = []
    for key in sorted(keys):
        info = service.catalog.models.get(key)
        if info is None or info.served_from in (OFFICIAL_LANE, service.registry.designated_witness):
            continue
        out.append(f"{key[0]}/{key[1]} rates read from {info.served_from} (a witness), not {key[0]}'s own page,"
                   " which does not list the model yet")
    return out


def prices_page(
    service: Service, at: datetime, version: int | None, chosen: AsOfFilter, *, limit: int, offset: int
) -> tuple[list[Rate], int]:
    """A page of served rates at a moment and the count of all of them.

    From the snapshot when it covers the moment; else paged in SQL, so a page
    of a past catalog costs its rows, not the whole catalog's.
    """
    catalog = service.catalog
    if version is None and at >= catalog.built_at:
        key = (chosen.provider, chosen.model) if chosen.model else None
        rows = [
            r for r in rates_for(service, at, None, key)
            if (chosen.provider is None or r.provider == chosen.provider)
            and (chosen.tier is None or r.tier == chosen.tier) and (chosen.kind is None or r.kind == chosen.kind)
        ]
        return rows[offset : offset + limit], len(rows)
    chosen = chosen._replace(served=served_lanes(service))
    counts = in_force_counts_of(service, chosen) if version is None and chosen.model is None else None
    if chosen.model is not None:  # one model: with the rates the providers' rules derive (service.tier_rules)
        rows = [r for r in rates_for(service, at, version, (chosen.provider, chosen.model))
                if (chosen.tier is None or r.tier == chosen.tier) and (chosen.kind is None or r.kind == chosen.kind)]
        return rows[offset : offset + limit], len(rows)
    page, total = page_as_of(service.db, at, chosen, version=version, limit=limit, offset=offset, counts=counts)
    return [stated_at(r, at) if r.lane == OFFICIAL_LANE else as_witness(r) for r in page], total


def in_force_counts_of(service: Service, chosen: AsOfFilter) -> InForceCounts | None:
    """The snapshot's per-model counts for a provider/tier/kind filter, taken on first use.

    None when the database has moved past the snapshot (a commit whose new
    snapshot is not swapped in yet): the page then counts for itself.
    """
    catalog = service.catalog
    memo_key = ("in-force-counts", chosen.provider, chosen.tier, chosen.kind)
    counts = catalog.memo.get(memo_key)
    if counts is None:
        counts = in_force_counts(service.db, chosen)
        if counts.version != catalog.version:
            return None
        catalog.memo[memo_key] = counts
    return counts


def priced_models(service: Service, at: datetime, version: int | None) -> set[ModelKey]:
    """The served models with a rate in force at a moment."""
    catalog = service.catalog
    if version is None and at >= catalog.built_at:
        return {k for k in catalog.models if catalog.rates_at(k, at)}
    served = served_lanes(service)
    counts = in_force_counts_of(service, AsOfFilter(served=served)) if version is None else None
    if counts is not None:
        return {key for key, _ in counts.by_model(at)}
    return priced_models_as_of(service.db, at, served=served, version=version)


def served_lanes(service: Service) -> Served:
    """The snapshot's lane choice for SQL reads of the past, worked out once per snapshot."""
    catalog = service.catalog
    served = catalog.memo.get(("served",))
    if served is None:
        served_from = {key: info.served_from for key, info in catalog.models.items()}
        served = served_lanes_of(service.db, served_from, service.registry.designated_witness)
        catalog.memo[("served",)] = served
    return served


def agreement_for(
    service: Service,
    at: datetime,
    version: int | None,
    *,
    key: ModelKey | None = None,
    provider: str | None = None,
    witnesses: list[str] | None = None,
) -> AgreementReport:
    """What the witnesses said of the official rates at a moment, as known now or at ``version``.

    From the snapshot when it covers the moment, else from SQLite (every
    witness lane of the registry); models are served from today's lane either way.
    """
    catalog = service.catalog
    if version is None and at >= catalog.built_at:
        official, stated = catalog_rates_at(catalog, at, provider=provider, model_key=key)
    else:
        witness_lanes = sorted(s.lane for s in service.registry.sources.values() if s.role == "witness")
        rows = rates_as_of(service.db, at, lanes=(OFFICIAL_LANE, *witness_lanes), provider=key[0] if key else provider,
                           model=key[1] if key else None, version=version)
        officially_served = {k for k, info in catalog.models.items() if info.served_from == OFFICIAL_LANE}
        rows = [r for r in rows if (r.provider, r.model) in officially_served]
        official = [r for r in rows if r.lane == OFFICIAL_LANE]
        stated = [r for r in rows if r.lane != OFFICIAL_LANE]
    return agreement_report(official, stated, at=at, catalog_version=version or catalog.version, witnesses=witnesses)


def knowledge(service: Service, as_of: str | None, version: int | None) -> tuple[datetime, int]:
    """The knowledge a history read shows: (as of when, catalog version).

    ``version`` is a changeset; ``as_of`` is a moment, meaning the newest
    changeset committed by then (version 0 before the first), never past the
    served snapshot's. Given both, the earlier knowledge wins. Neither: now
    and the current version.
    """
    at, ver = moment(service, as_of, version)  # 400s naming as_of or version
    if as_of is not None:
        by_then = min(version_known_at(service.db, at) or 0, service.catalog.version)
        ver = by_then if ver is None else min(ver, by_then)
    return at, service.catalog.version if ver is None else ver


def _check_choice(field: str, value: str | None, allowed: tuple[str, ...]) -> None:
    if value is not None and value not in allowed:
        raise bad_parameter(field, f"{value!r} is not one of {', '.join(allowed)}")


@get("/v1/prices", summary="Rate rows, current or at a moment", tags=["prices"], responses=problem_responses(404))
async def get_prices(
    request: Request,
    state: State,
    provider: ProviderFilter = None,
    model: Annotated[str | None, Parameter(description="Only this model (id, display name or alias).",
                                           examples=[Example(value="claude-sonnet-4-5")])] = None,
    tier: Annotated[str | None, Parameter(description=f"Only this tier: {', '.join(TIERS)}.",
                                          examples=[Example(value="batch")])] = None,
    kind: Annotated[str | None, Parameter(description=f"Only this kind: {', '.join(KINDS)}.",
                                          examples=[Example(value="cached_input")])] = None,
    as_of: AsOf = None,
    version: Version = None,
    limit: Limit = 500,
    offset: Offset = 0,
) -> Response[PricesResponse]:
    """Flat rate rows with provenance: every tier and kind, long-context rates by `min_prompt_tokens`."""
    service = svc(state)
    _check_choice("tier", tier, TIERS)
    _check_choice("kind", kind, KINDS)
    if provider is not None and provider not in service.catalog.providers:
        raise ApiError(404, "unknown-provider", "Unknown provider", f"no provider {provider!r}",
                       suggestions=sorted(service.catalog.providers))
    key = resolve(service, model, provider) if model else None
    at, ver = moment(service, as_of, version)
    chosen = AsOfFilter(provider=key[0] if key else provider, model=key[1] if key else None, tier=tier, kind=kind)
    page, total = prices_page(service, at, ver, chosen, limit=limit, offset=offset)
    unpriced = [] if key is None else answer_gaps(service, key, at, ver, tier)
    providers = [key[0]] if key else [provider] if provider else sorted({r.provider for r in page})
    fresh = freshness_of(service, providers)
    body = PricesResponse(
        catalog_version=ver or service.catalog.version, as_of=at, total=total, limit=limit, offset=offset,
        rates=[rate_out(r) for r in page], unpriced=unpriced, freshness=fresh,
        warnings=witness_warnings(service, {(r.provider, r.model) for r in page}) + [f.warning for f in fresh
                                                                                       if f.warning],
    )
    return json_response(request, body, version=service.catalog.version, etag_extra=epoch_salt(service, as_of, version))


@get("/v1/models", summary="Models with aliases and status, current or at a moment", tags=["models"],
     responses=problem_responses())
async def list_models(
    request: Request,
    state: State,
    provider: ProviderFilter = None,
    q: Annotated[str | None, Parameter(description="Case-insensitive text to find in ids, names and aliases.",
                                       examples=[Example(value="sonnet")])] = None,
    as_of: AsOf = None,
    version: Version = None,
    limit: Limit = 500,
    offset: Offset = 0,
) -> Response[ModelsResponse]:
    """Models the catalog prices, with aliases and listing status.

    With `as_of` or `version`: only the models that had a price in force at
    that moment (as known now, or at `version`). Names, aliases and status
    are today's: they are not versioned.
    """
    service = svc(state)
    at, ver = (None, None) if as_of is None and version is None else moment(service, as_of, version)
    priced = None if at is None else priced_models(service, at, ver)
    needle = (q or "").lower()
    infos = [
        info for key, info in service.catalog.models.items()
        if (priced is None or key in priced) and (provider is None or info.provider == provider)
        and (not needle or any(needle in n.lower() for n in (info.model, info.display_name, *info.aliases)))
    ]
    body = ModelsResponse(
        catalog_version=ver or service.catalog.version, total=len(infos), limit=limit, offset=offset,
        models=[model_out(i) for i in infos[offset : offset + limit]], as_of=at,
    )
    return json_response(request, body, version=service.catalog.version)


@get(_MODEL_PATHS, summary="One model with its rates", tags=["models"], responses=problem_responses(404))
async def get_model(
    request: Request, state: State, provider: ProviderPath, model: ModelPath, as_of: AsOf = None,
    version: Version = None, vendor: VendorPath = None,
) -> Response[ModelDetail]:
    """One model (resolved through aliases) with every rate in force now or at `as_of` / `version`,
    and what the witnesses stated for those rates at that moment."""
    service = svc(state)
    key = resolve(service, _model_id(vendor, model), provider)
    at, ver = moment(service, as_of, version)
    fresh = freshness_of(service, [key[0]])
    body = ModelDetail(
        catalog_version=ver or service.catalog.version, as_of=at, model=model_out(service.catalog.models[key]),
        rates=[rate_out(r) for r in rates_for(service, at, ver, key)],
        agreement=list(agreement_for(service, at, ver, key=key).rows),
        unpriced=answer_gaps(service, key, at, ver, None), freshness=fresh,
        warnings=witness_warnings(service, {key}) + [f.warning for f in fresh if f.warning],
    )
    return json_response(request, body, version=service.catalog.version, etag_extra=epoch_salt(service, as_of, version))


@get([f"{path}/history" for path in _MODEL_PATHS], tags=["history"], responses=problem_responses(404),
     summary="Every interval of every rate of a model, as known now or then")
async def get_model_history(
    request: Request,
    state: State,
    provider: ProviderPath,
    model: ModelPath,
    vendor: VendorPath = None,
    as_of: Annotated[str | None, Parameter(
        description="A date or ISO-8601 time: the history as ratecard knew it then, i.e. as recorded by the "
        "changesets committed by that moment (when a row was recorded, not when its price took effect; "
        "for the prices in force at a date use `/v1/prices?as_of=`). Before the first changeset: no intervals.",
        pattern=MOMENT_PATTERN, examples=[Example(value="2026-11-20T12:00:00Z")])] = None,
    version: Annotated[int | None, Parameter(
        description="A catalog version (changeset id): only the intervals recorded by changesets up to it, "
        "each as it stood then (a row a later changeset superseded is shown as it was stored, "
        "e.g. still open). With `as_of` too, the earlier knowledge wins.",
        ge=1, examples=VERSION_EXAMPLES)] = None,
) -> Response[HistoryResponse]:
    """The model's full price history: each rate's intervals `[valid_from, valid_to)` with provenance,
    as known now or at `as_of` / `version`."""
    service = svc(state)
    key = resolve(service, _model_id(vendor, model), provider)
    lane = service.catalog.models[key].served_from
    at, known = (None, None) if as_of is None and version is None else knowledge(service, as_of, version)
    catalog = service.catalog
    memo_key = ("history", key, lane)
    body = catalog.memo.get(memo_key) if known is None else None
    if body is None:
        # Pinned to the served snapshot's version: another process may have committed a changeset the
        # snapshot has not picked up yet, and the body must hold what the version it names held. So
        # the current history is a function of the snapshot alone, and is kept with it.
        # With the intervals the providers' stated rules derive (basis derived), as prices answers, the
        # CLI's history and its plot show them: one reading (service.export.served_history).
        intervals = served_history(service.db, catalog, provider=key[0], model=key[1],
                                   version=catalog.version if known is None else known)
        body = HistoryResponse(
            catalog_version=catalog.version if known is None else known, provider=key[0], model=key[1],
            intervals=[rate_out(r) for r in intervals], as_of=at,
        )
        if known is None:
            catalog.memo[memo_key] = body
    return json_response(request, body, version=catalog.version, max_age_s=300)


@get("/v1/providers", summary="Providers, their sources and model counts, current or at a moment", tags=["models"],
     responses=problem_responses())
async def list_providers(
    request: Request, state: State, as_of: AsOf = None, version: Version = None
) -> Response[ProvidersResponse]:
    """Every provider with prices, the sources that read it, and where its prices are served from.

    With `as_of` or `version`: only providers with a model priced at that
    moment, and `models` counts those models. Not paginated: one row per provider.
    """
    service = svc(state)
    at, ver = (None, None) if as_of is None and version is None else moment(service, as_of, version)
    priced = None if at is None else priced_models(service, at, ver)
    counts: dict[str, int] = {}
    served: dict[str, str] = {}
    for key, info in service.catalog.models.items():
        if priced is None or key in priced:
            counts[key[0]] = counts.get(key[0], 0) + 1
            served.setdefault(key[0], info.served_from)
    providers = [
        ProviderOut(
            id=p, display_name=name, models=counts[p],
            sources=sorted(s.id for s in service.registry.sources.values() if p in s.providers),
            served_from=served[p],
        )
        for p, name in sorted(service.catalog.providers.items()) if p in counts
    ]
    body = ProvidersResponse(catalog_version=ver or service.catalog.version, providers=providers, as_of=at)
    return json_response(request, body, version=service.catalog.version)


def changeset_out(cs: dict, changes: list[dict]) -> ChangesetOut:
    """Shape a stored changeset and its changes for the API."""
    def dec(text: str | None) -> Decimal | None:
        return None if text is None else Decimal(text)

    return ChangesetOut(
        id=cs["id"], created_at=from_db(cs["created_at"]), source=cs["source_id"], status=cs["status"],
        reason=cs["reason"], origin_id=cs["origin_id"],
        changes=[
            ChangeOut(
                action=c["action"], provider=c["provider"], model=c["model"], tier=c["tier"], kind=c["kind"],
                min_prompt_tokens=c["min_prompt_tokens"], old_usd_per_mtok=dec(c["old_usd_per_mtok"]),
                new_usd_per_mtok=dec(c["new_usd_per_mtok"]), old_basis=c["old_basis"], new_basis=c["new_basis"],
                valid_from=from_db(c["valid_from"]), source=c["source_id"], url=redact_url(c["url"]),
            )
            for c in changes
        ],
    )


@get("/healthz", summary="Liveness", tags=["health"], cache=False)
async def healthz() -> Liveness:
    """The process is up."""
    return Liveness(status="ok")


@get("/readyz", summary="Readiness", tags=["health"])
async def readyz(state: State) -> Response[Health]:
    """Ready when a catalog with prices is loaded, the bundled catalog is whole, the database answers
    and, on a writer that replicates, Litestream is running.

    503 with ``status`` saying why otherwise: ``starting``, ``replication-down``,
    ``bootstrap-incomplete`` (bundled pages not yet ingested) or
    ``storage-unavailable`` (the database file was truncated, replaced or
    damaged, or stopped answering). Says whether this process writes (runs,
    the scheduler, admin) and, across hosts, its replication: a replica's lag
    in versions and seconds.
    """
    service: Service | None = getattr(state, "service", None)
    if service is None or not service.catalog.models:
        return Response(content=Health(status="starting"), status_code=503, headers={"Cache-Control": "no-store"})
    replication = replication_state(service)
    down = replication is not None and replication.role == "writer" and not replication.running
    if down:
        status = "replication-down"
    elif service.bootstrap_missing:
        status = "bootstrap-incomplete"
    elif not (service.db_file.intact() and database_answers(service.db)):
        status = "storage-unavailable"
    else:
        status = "ready"
    settings = service.settings
    body = Health(status=status, catalog_version=service.catalog.version,
                  models=len(service.catalog.models),
                  mode="replica" if settings.replica_of else ("read-only" if settings.read_only else "writer"),
                  writes=service.writes, writes_off_because="" if service.writes else service.write_refusal,
                  scheduler=service.scheduler is not None, replication=replication,
                  stale_sources=stale_sources(service))
    return Response(content=body, status_code=200 if status == "ready" else 503, headers={"Cache-Control": "no-store"})


def replication_state(service: Service) -> Replication | None:
    """The replication block of ``/readyz`` and ``/v1/sources``; None when this process takes no part."""
    settings = service.settings
    if not (settings.replica_of or settings.replicate_to or settings.read_only or service.litestream):
        return None
    child = service.litestream.state() if service.litestream else {}
    if settings.replica_of or settings.read_only:
        lag = replica_lag(service.db, served_version=service.catalog.version, now=service.clock())
        # --read-only alone: something other than this process follows the file (no url, no child running).
        url = public_url(settings.replica_of) if settings.replica_of else ""
        return Replication(role="replica", **{"url": url, **child}, **lag)
    return Replication(role="writer", **{"url": public_url(settings.replicate_to or ""), **child})


def stale_sources(service: Service) -> list[str]:
    """The enabled sources whose last confirmed read is older than their threshold (readiness reports them)."""
    reads, now = service.confirmed[1], service.clock()
    return [s.id for s in service.registry.sources.values() if s.enabled and source_freshness(
        s, reads, now=now, default_hours=service.settings.stale_after_hours).stale]


def epoch_salt(service: Service, as_of: str | None, version: int | None) -> str:
    """ETag salt for price answers: changes when an announced price takes effect (current answers)
    and, for every answer, when its freshness does (a new confirmed read, a source going stale)."""
    fresh = freshness_token(service)
    if as_of or version:
        return fresh
    return f"{service.catalog.epoch(service.clock())}-{fresh}"


ROUTES = [get_prices, list_models, get_model, get_model_history, list_providers, healthz, readyz]
