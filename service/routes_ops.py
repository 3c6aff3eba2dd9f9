"""Operations endpoints: scraper health, runs, and the admin API (bearer token, off without one)."""

import hmac
from datetime import datetime
from typing import Annotated

import msgspec
from litestar import Request, Response, get, post
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.openapi.spec import Example
from litestar.params import Parameter

from ratecard.scrapers.observation import SkippedSection
from ratecard.scrapers.redact import redact_text, redact_url
from ratecard.service.agreement import RateAgreement, WitnessSummary
from ratecard.service.changesets import NotQuarantined, approve_changeset, reject_changeset
from ratecard.service.freshness import source_freshness
from ratecard.service.problems import ApiError, bad_parameter, problem_responses
from ratecard.service.refresh import PARSED_STATUSES, RUN_STATUSES, load_skipped, start_run
from ratecard.service.responses import json_response
from ratecard.service.context import Service
from ratecard.service.history import runs_page, source_runs
from ratecard.service.queries import agreement_for, changesets, moment
from ratecard.service.routes import AsOf, ProviderFilter, ServiceDep, Version, at_moment, replication_state
from ratecard.service.scheduler import next_due, next_run_times, refresh_source
from ratecard.service.schemas import ChangesetOut, Out, Replication
from ratecard.service.source_lock import RefreshInProgress, source_lock
from ratecard.service.timeutil import from_db


MAX_RUNS_PER_PAGE = 500
MAX_CHANGESETS_LISTED = 200
CHANGESET_STATUSES = ("quarantined", "approved", "rejected", "applied")
RUN_STATUS_HELP = (
    "How the run ended: `changed` (a changeset applied), `no_change`, `partial` (some page sections could not be "
    "read: listed in `skipped_sections`; the rest was applied as with changed/no_change, `changeset_id` and "
    "`changes` say what changed), `unchanged` (the same body as the last read), `quarantined` (a changeset awaits "
    "approval, also on a partial page), `failed` (`error` says why), or `running`."
)

ChangesetId = Annotated[int, Parameter(description="A changeset id (see `/v1/admin/changesets`).",
                                       examples=[Example(value=32)])]
SourceId = Annotated[str, Parameter(description="A source id from the registry, e.g. `anthropic`.",
                                    examples=[Example(value="openai")])]


class SourceOut(Out):
    """One source's health."""

    id: str
    providers: list[str]
    url: str
    role: str
    interval_minutes: float
    last_run_at: datetime | None
    last_status: str | None
    last_error: str
    last_success_at: datetime | None
    data_age_hours: float | None
    stale: bool
    next_run_at: datetime | None
    skipped_sections: Annotated[list[SkippedSection], msgspec.Meta(
        description="Sections of the source's page that could not be read, as of the newest run that parsed the "
                    "page (an `unchanged` or failed run since keeps them); their rates stay in force untouched.")] = []
    prices_as_of: datetime | None = None  # when the page of the last successful read was seen
    stale_after_hours: float | None = None  # this source's threshold


class SourcesResponse(Out):
    """Every source in the registry with its freshness."""

    catalog_version: int
    stale_after_hours: float
    sources: list[SourceOut]
    # On a replica: how far behind the writer it is (see /readyz); absent on a lone writer.
    replication: Replication | None = None


class RunOut(Out):
    """One refresh attempt."""

    id: int
    source: str
    trigger: str
    started_at: datetime
    finished_at: datetime | None
    status: Annotated[str, msgspec.Meta(description=RUN_STATUS_HELP)]
    http_status: int | None
    body_sha256: str
    rows_parsed: int
    changes: int
    changeset_id: int | None
    error: str
    skipped_sections: Annotated[list[SkippedSection], msgspec.Meta(
        description="Sections of the page this run could not read, each with its reason and what it would have "
                    "priced (empty lists: unknown); their rates stay in force untouched.")] = []


class RunsResponse(Out):
    """Runs, newest first; pass ``next_before`` as ``before`` for the next page."""

    runs: list[RunOut]
    next_before: int | None


class ChangesetsResponse(Out):
    """Changesets of one status, newest first; pass ``next_before`` as ``before`` for the next page."""

    changesets: list[ChangesetOut]
    next_before: int | None = None


class DecisionOut(Out):
    """What approving or rejecting a quarantined changeset did."""

    changeset_id: int
    status: str
    applied_as: int | None = None
    catalog_version: int = 0


@get("/v1/sources", summary="Scraper health per source", tags=["sources"], responses=problem_responses())
async def list_sources(service: ServiceDep) -> Response[SourcesResponse]:
    """Each source's last run, last success, age of its data, staleness and next scheduled run."""
    body = await service.store.run(_sources_health, service)
    return Response(content=body, headers={"Cache-Control": "no-cache"})


def _sources_health(service: Service) -> SourcesResponse:
    now = service.clock()
    upcoming = next_run_times(service.scheduler)
    db = service.store.reader()
    out = []
    for source in service.registry.sources.values():
        runs = source_runs(db, source.id, parsed_statuses=PARSED_STATUSES)
        ok = runs.last_success_at
        # One definition of fresh for every answer (service/freshness.py): the last confirmed read.
        fresh = source_freshness(source, service.confirmed[1], now=now,
                                 default_hours=service.settings.stale_after_hours)
        out.append(
            SourceOut(
                id=source.id, providers=list(source.providers), url=redact_url(source.url), role=source.role,
                interval_minutes=source.interval_minutes,
                last_run_at=from_db(runs.last_started_at) if runs.last_started_at else None,
                last_status=runs.last_status, last_error=redact_text(runs.last_error),
                last_success_at=from_db(ok) if ok else None,
                data_age_hours=fresh.age_hours, stale=fresh.stale, prices_as_of=fresh.confirmed_at,
                stale_after_hours=fresh.stale_after_hours,
                next_run_at=upcoming.get(source.id) or (next_due(db, source, now=now) if source.enabled else None),
                skipped_sections=load_skipped(runs.last_skipped_sections),
            )
        )
    return SourcesResponse(catalog_version=service.catalog.version,
                           stale_after_hours=service.settings.stale_after_hours, sources=out,
                           replication=replication_state(service))


@get("/v1/runs", summary="Refresh runs", tags=["sources"], responses=problem_responses())
async def list_runs(
    service: ServiceDep,
    source: Annotated[str | None, Parameter(description="Only this source id.", examples=[Example(value="anthropic")])] = None,
    status: Annotated[str | None, Parameter(description=f"Only this status: {', '.join(RUN_STATUSES)}.",
                                            examples=[Example(value="failed")])] = None,
    before: Annotated[int | None, Parameter(description="Page cursor: runs with a smaller id (the previous page's "
                                            "`next_before`).", ge=1, examples=[Example(value=120)])] = None,
    limit: Annotated[int, Parameter(description=f"Runs per page, newest first, 1 to {MAX_RUNS_PER_PAGE} (default 50).",
                                    ge=1, le=MAX_RUNS_PER_PAGE, examples=[Example(value=20)])] = 50,
) -> Response[RunsResponse]:
    """Every refresh attempt with how it ended, newest first."""
    if status is not None and status not in RUN_STATUSES:
        raise bad_parameter("status", f"{status!r} is not one of {', '.join(RUN_STATUSES)}")
    if source is not None and source not in service.registry.sources:
        raise bad_parameter("source", f"no source {source!r}")
    rows = await service.store.run(
        lambda: runs_page(service.store.reader(), source=source, status=status, before=before, limit=limit))
    runs = [
        RunOut(
            id=r["id"], source=r["source_id"], trigger=r["trigger"], started_at=from_db(r["started_at"]),
            finished_at=from_db(r["finished_at"]) if r["finished_at"] else None, status=r["status"],
            http_status=r["http_status"], body_sha256=r["body_sha256"], rows_parsed=r["rows_parsed"],
            changes=r["changes"], changeset_id=r["changeset_id"], error=redact_text(r["error"]),
            skipped_sections=load_skipped(r["skipped_sections"]),
        )
        for r in rows
    ]
    return Response(content=RunsResponse(runs=runs, next_before=runs[-1].id if len(runs) == limit else None),
                    headers={"Cache-Control": "no-cache"})


def require_writer(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """The admin writes' Guard: they happen only in the process that runs the scheduler; elsewhere a 503 naming why.

    A replica or a worker without the scheduler would otherwise write beside
    the one writer (or into a file Litestream follows). Retrying may reach the
    writer's worker; a read-only replica never is one.
    """
    service = connection.app.state.service
    if not service.writes:
        raise ApiError(503, "read-only", "Not the writer",
                       f"this process does not write ({service.write_refusal}): send admin writes to the "
                       "process that runs the scheduler")


def require_admin(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """The admin endpoints' Guard: ``Authorization: Bearer <RATECARD_ADMIN_TOKEN>``; without a token they are off."""
    token = connection.app.state.service.settings.admin_token
    if not token:
        raise ApiError(404, "admin-disabled", "Admin API disabled",
                       "the admin API is off: set RATECARD_ADMIN_TOKEN to enable it")
    given = connection.headers.get("authorization", "")
    scheme, _, value = given.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(), token.encode()):
        raise ApiError(401, "unauthorized", "Unauthorized", "a valid bearer token is required")


@get("/v1/admin/changesets", summary="Changesets by status (admin)", tags=["admin"], responses=problem_responses(401, 404),
     guards=[require_admin])
async def admin_list_changesets(
    service: ServiceDep,
    status: Annotated[str, Parameter(description=f"Only this status: {', '.join(CHANGESET_STATUSES)}.",
                                     examples=[Example(value="quarantined")])] = "quarantined",
    before: Annotated[int | None, Parameter(description="Page cursor: changesets with a smaller id (the previous "
                                            "page's `next_before`).", ge=1, examples=[Example(value=40)])] = None,
    limit: Annotated[int, Parameter(description=f"Changesets per page, newest first, 1 to {MAX_CHANGESETS_LISTED} "
                                    f"(default {MAX_CHANGESETS_LISTED}).", ge=1, le=MAX_CHANGESETS_LISTED,
                                    examples=[Example(value=20)])] = MAX_CHANGESETS_LISTED,
) -> Response[ChangesetsResponse]:
    """Changesets awaiting a decision (or decided), with their proposed changes."""
    if status not in CHANGESET_STATUSES:
        raise bad_parameter("status", f"must be {', '.join(CHANGESET_STATUSES[:-1])} or {CHANGESET_STATUSES[-1]}")
    page = await service.store.run(changesets, service, status=status, after_id=before or 0, limit=limit)
    body = ChangesetsResponse(changesets=page, next_before=page[-1].id if len(page) == limit else None)
    return Response(content=body, headers={"Cache-Control": "no-store"})


@post("/v1/admin/changesets/{changeset_id:int}/approve", summary="Approve a quarantined changeset", tags=["admin"],
      status_code=200, responses=problem_responses(401, 404, 409, 503), guards=[require_admin, require_writer])
async def admin_approve(service: ServiceDep, changeset_id: ChangesetId) -> DecisionOut:
    """Apply a quarantined changeset as a new catalog version."""
    try:
        applied = await service.store.write(approve_changeset, changeset_id, now=service.clock())
    except NotQuarantined as exc:
        raise ApiError(409, "not-quarantined", "Not quarantined", str(exc)) from None
    catalog = await service.store.run(service.reload)
    return DecisionOut(changeset_id=changeset_id, status="approved", applied_as=applied, catalog_version=catalog.version)


@post("/v1/admin/changesets/{changeset_id:int}/reject", summary="Reject a quarantined changeset", tags=["admin"],
      status_code=200, responses=problem_responses(401, 404, 409, 503), guards=[require_admin, require_writer])
async def admin_reject(service: ServiceDep, changeset_id: ChangesetId) -> DecisionOut:
    """Discard a quarantined changeset; the prices stay as they were."""
    try:
        await service.store.write(reject_changeset, changeset_id, now=service.clock())
    except NotQuarantined as exc:
        raise ApiError(409, "not-quarantined", "Not quarantined", str(exc)) from None
    return DecisionOut(changeset_id=changeset_id, status="rejected", catalog_version=service.catalog.version)


class RefreshOut(Out):
    """A refresh the admin API started: it runs in the background; its run (by ``run_id``) tells how it ends."""

    source: str
    status: str
    run_id: int
    changeset_id: int | None
    error: str
    catalog_version: int


@post("/v1/admin/refresh/{source_id:str}", summary="Refresh one source now (admin)", tags=["admin"], status_code=202,
      responses=problem_responses(401, 404, 409, 503), guards=[require_admin, require_writer])
async def admin_refresh(service: ServiceDep, source_id: SourceId) -> Response[RefreshOut]:
    """Start fetching and ingesting one registered source, as its scheduled job would; answer at once.

    202 with the run id (status `running`); follow it in `/v1/runs?source=...`.
    409 while another refresh of the source (scheduled, admin or CLI) runs.
    """
    source = service.registry.sources.get(source_id)
    if source is None:
        raise ApiError(404, "unknown-source", "Unknown source", f"no source {source_id!r}",
                       suggestions=sorted(service.registry.sources))
    lock = source_lock(service.settings.db_path, service.store.db, source_id)
    try:
        lock.acquire()
    except RefreshInProgress as exc:
        raise ApiError(409, "refresh-in-progress", "Refresh in progress", f"{exc}; follow it in /v1/runs") from None
    try:
        run_id = await service.store.write(start_run, source, trigger="admin", url=source.url, now=service.clock())
    except BaseException:
        lock.release()
        raise

    async def refresh_then_reload() -> None:
        try:
            result = await refresh_source(service.store, source, service.http, policy=service.fetch_policy,
                                          clock=service.clock, trigger="admin", run_id=run_id)
        finally:
            lock.release()
        if result.changeset_id:
            await service.store.run(service.reload)

    service.run_in_background(refresh_then_reload())
    body = RefreshOut(source=source_id, status="running", run_id=run_id, changeset_id=None, error="",
                      catalog_version=service.catalog.version)
    return Response(content=body, status_code=202,
                    headers={"Location": f"/v1/runs?source={source_id}", "Cache-Control": "no-store"})


class AgreementOut(Out):
    """Whether the witnesses agree with the official rates: a summary per witness and every disagreement."""

    catalog_version: int
    at: datetime
    witnesses: list[WitnessSummary]
    disagreements: list[RateAgreement]
    compared: int


@get("/v1/sources/agreement", summary="Agreement of witnesses with the official rates, now or at a moment",
     tags=["sources"], responses=problem_responses())
async def get_agreement(
    request: Request,
    service: ServiceDep,
    provider: ProviderFilter = None,
    witness: Annotated[list[str] | None, Parameter(description="Only these witness source ids (repeatable).",
                                                   examples=[Example(value=["openrouter", "litellm"])])] = None,
    as_of: AsOf = None,
    version: Version = None,
) -> Response[AgreementOut]:
    """For every official rate a witness also states: a per-witness count, and each disagreement with both values.

    With `as_of` / `version`: the official rates and the witnesses' rates in
    force at that moment (as known now, or at `version`), compared the same way.
    Not paginated: `disagreements` lists every miss, `witnesses` one line per witness.
    """
    if witness:
        unknown = [w for w in witness if w not in service.registry.sources or
                   service.registry.sources[w].role != "witness"]
        if unknown:
            raise bad_parameter("witness", f"not witness sources: {', '.join(unknown)}")
    def read():
        at, ver = moment(service, as_of, version)
        return agreement_for(service, at, ver, provider=provider, witnesses=witness)

    report = await at_moment(service, as_of, version, read)
    body = AgreementOut(catalog_version=report.catalog_version, at=report.at, witnesses=list(report.witnesses),
                        disagreements=list(report.disagreements), compared=len(report.rows))
    epoch = "" if (as_of or version) else service.catalog.epoch(service.clock())
    return json_response(request, body, version=service.catalog.version, etag_extra=epoch)


OPS_ROUTES = [list_sources, get_agreement, list_runs, admin_list_changesets, admin_approve, admin_reject, admin_refresh]
