"""Read endpoints of the v1 API. Current prices come from the in-memory snapshot."""

from collections.abc import Callable
from typing import Annotated, TypeVar

from litestar import Request, Response, get
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.openapi.spec import Example
from litestar.params import Parameter

from ratecard.scrapers.vocabulary import KINDS, TIERS
from ratecard.service.context import Service
from ratecard.service.db import database_answers
from ratecard.service.history import AsOfFilter
from ratecard.service.problems import ApiError, bad_parameter, problem_responses
from ratecard.service.freshness import freshness_of
from ratecard.service.queries import (
    agreement_for,
    answer_gaps,
    stale_sources,
    witness_warnings,
    epoch_salt,
    model_history_at,
    moment,
    page_gaps,
    prices_page,
    priced_models,
    rates_for,
    resolve,
)
from ratecard.service.replication import public_url, replica_lag
from ratecard.service.responses import json_response
from ratecard.service.schemas import (
    Replication,
    Health,
    HistoryResponse,
    Liveness,
    ModelDetail,
    ModelsResponse,
    PricesResponse,
    ProviderOut,
    ProvidersResponse,
)

MAX_LIMIT = 5000

# What a handler's ``service`` parameter receives: app.state's Service, provided by create_app.
ServiceDep = NamedDependency[Service]
T = TypeVar("T")

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


async def at_moment(service: Service, as_of: str | None, version: int | None, fn: Callable[[], T]) -> T:
    """``fn()``: here for the current catalog, which the snapshot answers; in a worker thread for
    another moment, which SQLite answers (no SQLite call runs on the event loop)."""
    if as_of is None and version is None:
        return fn()
    return await service.store.run(fn)


def _model_id(vendor: str | None, model: str) -> str:
    """The model named by the path: ``vendor/model`` when it took two segments."""
    return f"{vendor}/{model}" if vendor else model


def _check_choice(field: str, value: str | None, allowed: tuple[str, ...]) -> None:
    if value is not None and value not in allowed:
        raise bad_parameter(field, f"{value!r} is not one of {', '.join(allowed)}")


@get("/v1/prices", summary="Rate rows, current or at a moment", tags=["prices"], responses=problem_responses(404),
     cache=True)
async def get_prices(
    request: Request,
    service: ServiceDep,
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
    _check_choice("tier", tier, TIERS)
    _check_choice("kind", kind, KINDS)
    if provider is not None and provider not in service.catalog.providers:
        raise ApiError(404, "unknown-provider", "Unknown provider", f"no provider {provider!r}",
                       suggestions=sorted(service.catalog.providers))
    key = resolve(service, model, provider) if model else None

    def read() -> PricesResponse:
        at, ver = moment(service, as_of, version)
        chosen = AsOfFilter(provider=key[0] if key else provider, model=key[1] if key else None, tier=tier, kind=kind)
        page, total = prices_page(service, at, ver, chosen, limit=limit, offset=offset)
        unpriced = (answer_gaps(service, key, at, ver, tier) if key
                    else page_gaps(service, at, ver, chosen, page, offset=offset, limit=limit, total=total))
        providers = [key[0]] if key else [provider] if provider else sorted({r.provider for r in [*page, *unpriced]})
        fresh = freshness_of(service, providers)
        return PricesResponse(
            catalog_version=ver or service.catalog.version, as_of=at, total=total, limit=limit, offset=offset,
            rates=list(page), unpriced=unpriced, freshness=fresh,
            warnings=witness_warnings(service, {(r.provider, r.model) for r in page}) + [f.warning for f in fresh
                                                                                           if f.warning],
        )

    body = await at_moment(service, as_of, version, read)
    return json_response(request, body, version=service.catalog.version, etag_extra=epoch_salt(service, as_of, version))


@get("/v1/models", summary="Models with aliases and status, current or at a moment", tags=["models"],
     responses=problem_responses())
async def list_models(
    request: Request,
    service: ServiceDep,
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
    at, ver, priced = await at_moment(service, as_of, version, lambda: _priced_at(service, as_of, version))
    needle = (q or "").lower()
    infos = [
        info for key, info in service.catalog.models.items()
        if (priced is None or key in priced) and (provider is None or info.provider == provider)
        and (not needle or any(needle in n.lower() for n in (info.model, info.display_name, *info.aliases)))
    ]
    body = ModelsResponse(
        catalog_version=ver or service.catalog.version, total=len(infos), limit=limit, offset=offset,
        models=infos[offset : offset + limit], as_of=at,
    )
    return json_response(request, body, version=service.catalog.version)


@get(_MODEL_PATHS, summary="One model with its rates", tags=["models"], responses=problem_responses(404), cache=True)
async def get_model(
    request: Request, service: ServiceDep, provider: ProviderPath, model: ModelPath, as_of: AsOf = None,
    version: Version = None, vendor: VendorPath = None,
) -> Response[ModelDetail]:
    """One model (resolved through aliases) with every rate in force now or at `as_of` / `version`,
    and what the witnesses stated for those rates at that moment."""
    key = resolve(service, _model_id(vendor, model), provider)

    def read() -> ModelDetail:
        at, ver = moment(service, as_of, version)
        fresh = freshness_of(service, [key[0]])
        return ModelDetail(
            catalog_version=ver or service.catalog.version, as_of=at, model=service.catalog.models[key],
            rates=list(rates_for(service, at, ver, key)),
            agreement=list(agreement_for(service, at, ver, key=key).rows),
            unpriced=answer_gaps(service, key, at, ver, None), freshness=fresh,
            warnings=witness_warnings(service, {key}) + [f.warning for f in fresh if f.warning],
        )

    body = await at_moment(service, as_of, version, read)
    return json_response(request, body, version=service.catalog.version, etag_extra=epoch_salt(service, as_of, version))


@get([f"{path}/history" for path in _MODEL_PATHS], tags=["history"], responses=problem_responses(404),
     summary="Every interval of every rate of a model, as known now or then")
async def get_model_history(
    request: Request,
    service: ServiceDep,
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
    key = resolve(service, _model_id(vendor, model), provider)
    catalog = service.catalog
    memo_key = ("history", key, catalog.models[key].served_from)
    body = catalog.memo.get(memo_key) if as_of is None and version is None else None
    if body is None:  # the current history is kept with the snapshot: read once per catalog version
        body = await service.store.run(model_history_at, service, key, as_of, version)
    return json_response(request, body, version=catalog.version, max_age_s=300)


@get("/v1/providers", summary="Providers, their sources and model counts, current or at a moment", tags=["models"],
     responses=problem_responses())
async def list_providers(
    request: Request, service: ServiceDep, as_of: AsOf = None, version: Version = None
) -> Response[ProvidersResponse]:
    """Every provider with prices, the sources that read it, and where its prices are served from.

    With `as_of` or `version`: only providers with a model priced at that
    moment, and `models` counts those models. Not paginated: one row per provider.
    """
    at, ver, priced = await at_moment(service, as_of, version, lambda: _priced_at(service, as_of, version))
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


def _priced_at(service: Service, as_of: str | None, version: int | None):
    """The moment, version and priced models of a listing filtered to a moment; all None for the current one."""
    if as_of is None and version is None:
        return None, None, None
    at, ver = moment(service, as_of, version)
    return at, ver, priced_models(service, at, ver)


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
    settings = service.settings
    # A replica's lag is read from its database: off the event loop.
    replication = (await service.store.run(replication_state, service) if settings.replica_of or settings.read_only
                   else replication_state(service))
    down = replication is not None and replication.role == "writer" and not replication.running
    if down:
        status = "replication-down"
    elif service.bootstrap_missing:
        status = "bootstrap-incomplete"
    elif not await service.store.run(_storage_answers, service):
        status = "storage-unavailable"
    else:
        status = "ready"
    body = Health(status=status, catalog_version=service.catalog.version,
                  models=len(service.catalog.models),
                  mode="replica" if settings.replica_of else ("read-only" if settings.read_only else "writer"),
                  writes=service.writes, writes_off_because="" if service.writes else service.write_refusal,
                  scheduler=service.scheduler is not None, replication=replication,
                  stale_sources=stale_sources(service))
    return Response(content=body, status_code=200 if status == "ready" else 503, headers={"Cache-Control": "no-store"})


def _storage_answers(service: Service) -> bool:
    # The file check and the reads run in a worker thread, on its store connection: never on the loop.
    return service.db_file.intact() and database_answers(service.store.reader())


def replication_state(service: Service) -> Replication | None:
    """The replication block of ``/readyz`` and ``/v1/sources``; None when this process takes no part."""
    settings = service.settings
    if not (settings.replica_of or settings.replicate_to or settings.read_only or service.litestream):
        return None
    child = service.litestream.state() if service.litestream else {}
    if settings.replica_of or settings.read_only:
        lag = replica_lag(service.store.reader(), served_version=service.catalog.version, now=service.clock())
        # --read-only alone: something other than this process follows the file (no url, no child running).
        url = public_url(settings.replica_of) if settings.replica_of else ""
        return Replication(role="replica", **{"url": url, **child}, **lag)
    return Replication(role="writer", **{"url": public_url(settings.replicate_to or ""), **child})


ROUTES = [get_prices, list_models, get_model, get_model_history, list_providers, healthz, readyz]
