"""Read endpoints of the v1 API. Current prices come from the in-memory snapshot."""

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from litestar import Request, Response, get
from litestar.datastructures import State
from litestar.params import Parameter

from scrapers.vocabulary import KINDS, TIERS
from service.agreement import agreement_by_rate
from service.app import Service
from service.catalog import AmbiguousModel, ModelKey, UnknownModel, as_witness
from service.history import changeset_time, changesets_page, model_history, rates_as_of
from service.problems import ApiError, bad_parameter, problem_responses
from service.rates import Rate
from service.responses import json_response
from service.schemas import (
    ChangeOut,
    ChangesetOut,
    ChangesResponse,
    Health,
    HistoryResponse,
    ModelDetail,
    ModelsResponse,
    PricesResponse,
    ProviderOut,
    ProvidersResponse,
    model_out,
    rate_out,
)
from service.sources import OFFICIAL_LANE
from service.timeutil import from_db, parse_moment

MAX_LIMIT = 5000

# A date (YYYY-MM-DD) or an ISO-8601 time, as timeutil.parse_moment reads them.
MOMENT_PATTERN = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?)?$"

AsOf = Annotated[
    str | None,
    Parameter(description="A date (YYYY-MM-DD, midnight UTC) or ISO-8601 time: answer with the prices in force then.",
              pattern=MOMENT_PATTERN),
]
Version = Annotated[
    int | None,
    Parameter(description="A catalog version (changeset id): answer as the catalog stood when it was committed.", ge=1),
]
Limit = Annotated[int, Parameter(description=f"Page size, 1 to {MAX_LIMIT}.", ge=1, le=MAX_LIMIT)]
Offset = Annotated[int, Parameter(description="Rows to skip.", ge=0)]
ProviderPath = Annotated[str, Parameter(description="Provider id, e.g. `anthropic`.")]
ModelPath = Annotated[str, Parameter(description="Model id, display name or alias, case-insensitive.")]


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


def rates_for(service: Service, at: datetime, version: int | None, key: ModelKey | None = None) -> list[Rate]:
    """Served rates at a moment: from the snapshot when it covers the moment, else from SQLite."""
    catalog = service.catalog
    if version is None and at >= catalog.built_at:
        keys = [key] if key else list(catalog.models)
        return [r for k in keys for r in catalog.rates_at(k, at)]
    provider, model = key if key else (None, None)
    lanes = (OFFICIAL_LANE, service.registry.designated_witness) if service.registry.designated_witness else (OFFICIAL_LANE,)
    rates = rates_as_of(service.db, at, lanes=lanes, provider=provider, model=model, version=version)
    # Each model is served from one lane, as in the snapshot; witness-served rates say so.
    served = []
    for r in rates:
        info = catalog.models.get((r.provider, r.model))
        if info is not None and r.lane == info.served_from:
            served.append(r if r.lane == OFFICIAL_LANE else as_witness(r))
    return served


def _check_choice(field: str, value: str | None, allowed: tuple[str, ...]) -> None:
    if value is not None and value not in allowed:
        raise bad_parameter(field, f"{value!r} is not one of {', '.join(allowed)}")


@get("/v1/prices", summary="Rate rows, current or at a moment", tags=["prices"], responses=problem_responses(404))
async def get_prices(
    request: Request,
    state: State,
    provider: Annotated[str | None, Parameter(description="Only this provider.")] = None,
    model: Annotated[str | None, Parameter(description="Only this model (id, display name or alias).")] = None,
    tier: Annotated[str | None, Parameter(description=f"Only this tier: {', '.join(TIERS)}.")] = None,
    kind: Annotated[str | None, Parameter(description=f"Only this kind: {', '.join(KINDS)}.")] = None,
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
    rows = [
        r for r in rates_for(service, at, ver, key)
        if (provider is None or r.provider == provider) and (tier is None or r.tier == tier)
        and (kind is None or r.kind == kind)
    ]
    body = PricesResponse(
        catalog_version=ver or service.catalog.version, as_of=at, total=len(rows), limit=limit, offset=offset,
        rates=[rate_out(r) for r in rows[offset : offset + limit]],
    )
    return json_response(request, body, version=service.catalog.version, etag_extra=_epoch(service, as_of, version))


@get("/v1/models", summary="Models with aliases and status", tags=["models"], responses=problem_responses())
async def list_models(
    request: Request,
    state: State,
    provider: Annotated[str | None, Parameter(description="Only this provider.")] = None,
    q: Annotated[str | None, Parameter(description="Case-insensitive text to find in ids, names and aliases.")] = None,
    limit: Limit = 500,
    offset: Offset = 0,
) -> Response[ModelsResponse]:
    """Models the catalog prices, with aliases and listing status."""
    service = svc(state)
    needle = (q or "").lower()
    infos = [
        info for info in service.catalog.models.values()
        if (provider is None or info.provider == provider)
        and (not needle or any(needle in n.lower() for n in (info.model, info.display_name, *info.aliases)))
    ]
    body = ModelsResponse(
        catalog_version=service.catalog.version, total=len(infos), limit=limit, offset=offset,
        models=[model_out(i) for i in infos[offset : offset + limit]],
    )
    return json_response(request, body, version=service.catalog.version)


@get("/v1/models/{provider:str}/{model:str}", summary="One model with its rates", tags=["models"], responses=problem_responses(404))
async def get_model(
    request: Request, state: State, provider: ProviderPath, model: ModelPath, as_of: AsOf = None, version: Version = None
) -> Response[ModelDetail]:
    """One model (resolved through aliases) with every rate in force now or at `as_of` / `version`."""
    service = svc(state)
    key = resolve(service, model, provider)
    at, ver = moment(service, as_of, version)
    current = ver is None and at >= service.catalog.built_at
    agreement = agreement_by_rate(service.catalog, key, at) if current else {}
    body = ModelDetail(
        catalog_version=ver or service.catalog.version, as_of=at, model=model_out(service.catalog.models[key]),
        rates=[rate_out(r) for r in rates_for(service, at, ver, key)],
        agreement=[row for by_witness in agreement.values() for row in by_witness.values()],
    )
    return json_response(request, body, version=service.catalog.version, etag_extra=_epoch(service, as_of, version))


@get("/v1/models/{provider:str}/{model:str}/history", summary="Every interval of every rate of a model", tags=["history"], responses=problem_responses(404))
async def get_model_history(request: Request, state: State, provider: ProviderPath, model: ModelPath) -> Response[HistoryResponse]:
    """The model's full price history: each rate's intervals `[valid_from, valid_to)` with provenance."""
    service = svc(state)
    key = resolve(service, model, provider)
    lane = service.catalog.models[key].served_from
    intervals = model_history(service.db, key[0], key[1], lane=lane)
    body = HistoryResponse(
        catalog_version=service.catalog.version, provider=key[0], model=key[1],
        intervals=[rate_out(r) for r in intervals],
    )
    return json_response(request, body, version=service.catalog.version, max_age_s=300)


@get("/v1/providers", summary="Providers, their sources and model counts", tags=["models"], responses=problem_responses())
async def list_providers(request: Request, state: State) -> Response[ProvidersResponse]:
    """Every provider with prices, the sources that read it, and where its prices are served from."""
    service = svc(state)
    counts: dict[str, int] = {}
    served: dict[str, str] = {}
    for (provider, _), info in service.catalog.models.items():
        counts[provider] = counts.get(provider, 0) + 1
        served.setdefault(provider, info.served_from)
    providers = [
        ProviderOut(
            id=p, display_name=name, models=counts.get(p, 0),
            sources=sorted(s.id for s in service.registry.sources.values() if p in s.providers),
            served_from=served.get(p, OFFICIAL_LANE),
        )
        for p, name in sorted(service.catalog.providers.items())
    ]
    return json_response(request, ProvidersResponse(catalog_version=service.catalog.version, providers=providers),
                         version=service.catalog.version)


@get("/v1/changes", summary="The change feed", tags=["history"], responses=problem_responses(404))
async def list_changes(
    request: Request,
    state: State,
    since: Annotated[str | None, Parameter(description="Only changes taking effect at or after this moment (date or ISO time).",
                                   pattern=MOMENT_PATTERN)] = None,
    until: Annotated[str | None, Parameter(description="Only changes taking effect before this moment (date or ISO time).",
                                   pattern=MOMENT_PATTERN)] = None,
    provider: Annotated[str | None, Parameter(description="Only this provider.")] = None,
    model: Annotated[str | None, Parameter(description="Only this model id.")] = None,
    before: Annotated[int | None, Parameter(description="Page cursor: changesets with a smaller id.", ge=1)] = None,
    limit: Annotated[int, Parameter(description="Changesets per page, 1 to 200.", ge=1, le=200)] = 50,
) -> Response[ChangesResponse]:
    """Applied changesets, newest first, each with its changes (added, changed, delisted, relisted)."""
    service = svc(state)
    bounds = {}
    for name, value in (("since", since), ("until", until)):
        if value is not None:
            try:
                bounds[name] = parse_moment(value)
            except ValueError as exc:
                raise bad_parameter(name, str(exc)) from None
    if model and provider:
        model = resolve(service, model, provider)[1]
    page = changesets_page(service.db, provider=provider, model=model, after_id=before or 0, limit=limit, **bounds)
    body = ChangesResponse(
        catalog_version=service.catalog.version,
        changesets=[changeset_out(cs, changes) for cs, changes in page],
        next_before=page[-1][0]["id"] if len(page) == limit else None,
    )
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
                valid_from=from_db(c["valid_from"]), source=c["source_id"], url=c["url"],
            )
            for c in changes
        ],
    )


@get("/healthz", summary="Liveness", tags=["health"], cache=False)
async def healthz() -> Health:
    """The process is up."""
    return Health(status="ok")


@get("/readyz", summary="Readiness", tags=["health"])
async def readyz(state: State) -> Response[Health]:
    """Ready when a catalog with prices is loaded."""
    service: Service | None = getattr(state, "service", None)
    if service is None or not service.catalog.models:
        return Response(content=Health(status="starting"), status_code=503)
    return Response(content=Health(status="ready", catalog_version=service.catalog.version,
                                   models=len(service.catalog.models)))


def _epoch(service: Service, as_of: str | None, version: int | None) -> str:
    """ETag salt for current-price answers: changes when an announced price takes effect."""
    if as_of or version:
        return ""
    return service.catalog.epoch(service.clock())


ROUTES = [get_prices, list_models, get_model, get_model_history, list_providers, list_changes, healthz, readyz]
