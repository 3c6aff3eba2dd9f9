"""The Litestar application: ``create_app(settings, *, db, clock)``.

Resources are opened in the lifespan and kept on ``app.state.service``;
handlers gather inputs, call the core and shape the answer.
"""

import asyncio
import fcntl
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

import httpx
import msgspec
import sqlite_utils
from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import OpenAPIType, Schema, Server
from litestar.plugins import OpenAPISchemaPlugin

from scrapers.fetch import FetchPolicy
from scrapers.redact import install_log_redaction
from service.bootstrap import incomplete_snapshots, ingest_bundled
from service.compression import compression_config
from service.curated import load_curated
from service.catalog import Catalog, build_catalog, sync_model_catalog
from service.db import DatabaseFileGuard, data_version, open_database
from service.field_docs import GENERIC_DECIMAL
from service.freshness import latest_run, read_confirmations
from service.refresh import close_abandoned_runs
from service.replication import FollowedDatabase, Heartbeat, LitestreamProcess
from service.http_server import JsonBodyOnly
from service.problems import EXCEPTION_HANDLERS
from service.sources import Registry, load_registry
from service.timeutil import utc_now

log = logging.getLogger("ratecard")

T = TypeVar("T")

# How long the service waits, when it stops, for cancelled refreshes to record their runs.
STOP_REFRESHES_TIMEOUT_S = 5.0

API_VERSION = "1.0.0"


class Settings(msgspec.Struct, kw_only=True, frozen=True):
    """Everything an operator can set; read from flags and environment at the edge (the CLI)."""

    db_path: str | None = None  # None: an in-memory database (tests)
    sources_path: str | None = None
    admin_token: str = ""
    cors_origins: tuple[str, ...] = ()
    scheduler: bool = False
    # How often a reader checks the database for a changeset another process committed.
    reload_interval_s: float = 2.0
    stale_after_hours: float = 48.0
    bootstrap: bool = True
    # Room for the largest `text` an estimate accepts (MAX_TEXT_CHARS of up to 4 UTF-8 bytes
    # each), so an over-long text is a 400 naming the field rather than a bare 413.
    max_body_bytes: int = 4_200_000
    # Answer plain estimate requests in a route middleware (service.fast_path); False: every one by the handler.
    fast_path: bool = True
    fetch: FetchPolicy = FetchPolicy()
    # Serve an existing database without ever writing to it (replicas; a read-only volume).
    read_only: bool = False
    # False for `serve --no-scheduler`: an extra server beside the writer refuses admin writes.
    admin_writes: bool = True
    # Follow this Litestream replica URL into db_path (implies read_only); see service.replication.
    replica_of: str | None = None
    # Stream the database to this Litestream replica URL, and beat a heartbeat this often for replicas.
    replicate_to: str | None = None
    heartbeat_s: float = 5.0
    # Absolute links (the Atom feed) start with this, e.g. https://prices.example.com; empty: relative links.
    public_base_url: str = ""


def fetch_policy_from_env(env: Mapping[str, str]) -> FetchPolicy:
    """The fetch policy, with ``RATECARD_REFRESH_DEADLINE_S`` (seconds per refresh) applied when set."""
    deadline = env.get("RATECARD_REFRESH_DEADLINE_S", "").strip()
    if not deadline:
        return FetchPolicy()
    try:
        return FetchPolicy(deadline_s=float(deadline))
    except ValueError:
        raise ValueError(f"RATECARD_REFRESH_DEADLINE_S must be a positive number of seconds, not {deadline!r}") from None


class Service:
    """What the handlers share: the database, the registry and the current catalog snapshot."""

    def __init__(self, settings: Settings, db: sqlite_utils.Database, registry: Registry, clock: Callable[[], datetime],
                 *, followed: FollowedDatabase | None = None):
        self.settings = settings
        # A read-only file another process (Litestream) updates: its connection is renewed every reload tick.
        self._followed = followed
        self._db = db
        self.registry = registry
        self.clock = clock
        self.catalog: Catalog = build_catalog(self.db, registry, now=clock())
        self.scheduler = None  # the APScheduler instance, in the one process that runs it
        self.http: httpx.AsyncClient | None = None  # opened in the lifespan, or handed in by tests
        self.fetch_policy = settings.fetch
        # (latest run id, per source the moment its last successful read confirmed): the freshness
        # every answer carries, read with the snapshot so both describe one state of the database.
        self.confirmed = read_confirmations(self.db)
        # Admin writes happen here unless read-only, --no-scheduler, or another worker holds the scheduler.
        self.writes = not settings.read_only and settings.admin_writes
        self.write_refusal = ("read-only serving" if settings.read_only else
                              "" if settings.admin_writes else "this process runs without the scheduler (--no-scheduler)")
        self.litestream: LitestreamProcess | None = None  # replicating (writer) or following (replica)
        self.heartbeat: Heartbeat | None = None
        # Bundled pages the bootstrap could not ingest; /readyz is 503 while any are left.
        self.bootstrap_missing: list[str] = []
        # A replica's file is replaced by design (a restore), so only a writer's is watched.
        self.db_file = DatabaseFileGuard(None if settings.read_only else settings.db_path)
        # Refreshes in flight (scheduled or started by the admin API), cancelled when the service stops.
        self.refreshes: set[asyncio.Task] = set()

    @property
    def db(self) -> sqlite_utils.Database:
        """The database connection: for a followed file, the one of this reload tick (see FollowedDatabase)."""
        return self._followed.current() if self._followed is not None else self._db

    @db.setter
    def db(self, value: sqlite_utils.Database) -> None:
        self._db = value

    async def track(self, awaitable: Awaitable[T]) -> T:
        """Await a refresh as part of the current task, which the service cancels when it stops."""
        task = asyncio.current_task()
        self.refreshes.add(task)
        try:
            return await awaitable
        finally:
            self.refreshes.discard(task)

    def run_in_background(self, awaitable: Awaitable) -> asyncio.Task:
        """Run a refresh after the request that started it has been answered (cancelled at shutdown)."""
        async def run():
            return await awaitable

        task = asyncio.create_task(run())
        self.refreshes.add(task)
        task.add_done_callback(self.refreshes.discard)
        return task

    async def stop_refreshes(self, timeout_s: float) -> None:
        """Cancel every refresh in flight and wait (at most ``timeout_s``) for each to record its run."""
        tasks = [t for t in self.refreshes if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=timeout_s)

    def reload(self) -> Catalog:
        """Rebuild the snapshot from SQLite and swap it in (one assignment: atomic for readers)."""
        self.confirmed = read_confirmations(self.db)
        self.catalog = build_catalog(self.db, self.registry, now=self.clock())
        return self.catalog

    def reload_if_changed(self) -> bool:
        """Swap in a new snapshot when another process committed a changeset; True if it did.

        A run that changed nothing (prices confirmed) only refreshes what answers say of freshness.
        """
        if self._followed is not None and not self._followed.refresh():
            return False  # the followed file has not changed
        if data_version(self.db) != self.catalog.version:
            self.reload()
            return True
        if latest_run(self.db) != self.confirmed[0]:
            self.confirmed = read_confirmations(self.db)
        return False


def prepare_service(
    settings: Settings,
    *,
    db: sqlite_utils.Database | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> Service:
    """Open the database, load the registry, ingest the bundled pages it lacks, and build the catalog.

    Read-only serving opens an existing file read-only and skips every step that writes.
    Otherwise the bootstrap resumes where an interrupted one stopped
    (service.bootstrap); if it still cannot finish (a full disk), the service
    starts with ``bootstrap_missing`` set and /readyz answers 503 until a start
    completes it.
    """
    registry = load_registry(Path(settings.sources_path) if settings.sources_path else None)
    if settings.read_only:
        followed = FollowedDatabase(settings.db_path) if db is None and settings.db_path else None
        return Service(settings, db, registry, clock, followed=followed)
    db = db if db is not None else open_database(settings.db_path)
    sync_model_catalog(db, now=clock())
    close_abandoned_runs(db, now=clock())
    missing: list[str] = []
    if settings.bootstrap:
        ingest_bundled(db, registry, clock=clock)
        load_curated(db, now=clock())
        missing = [s.file for s in incomplete_snapshots(db, registry)]
        if missing:
            log.error("the bundled catalog is incomplete: %d page(s) not ingested (first: %s); "
                      "/readyz answers 503 until a start ingests them", len(missing), missing[0])
    service = Service(settings, db, registry, clock)
    service.bootstrap_missing = missing
    return service


def create_app(
    settings: Settings,
    *,
    db: sqlite_utils.Database | None = None,
    clock: Callable[[], datetime] = utc_now,
    service: Service | None = None,
    http: httpx.AsyncClient | None = None,
    litestream: LitestreamProcess | None = None,
) -> Litestar:
    """Build the app. The database, HTTP client (for fetching pages), clock and optionally a
    prepared service are handed in; what is not handed in is opened in the lifespan.

    ``litestream`` is the Litestream child started beside this server (replicating or
    following); the app reports it in ``/readyz`` and stops it on shutdown.
    """
    from service.routes import ROUTES
    from service.routes_calculator import CALCULATOR_ROUTES
    from service.routes_pages import PAGE_ROUTES
    from service.routes_estimate import ESTIMATE_ROUTES
    from service.routes_forecast import FORECAST_ROUTES
    from service.routes_tokens import TOKENS_ROUTES
    from service.routes_history import HISTORY_ROUTES
    from service.routes_ops import OPS_ROUTES
    from service.scheduler import start_scheduler

    install_log_redaction()  # httpx logs every fetched URL; credentials in one must not reach a log

    async def start(app: Litestar) -> None:
        svc = service or prepare_service(settings, db=db, clock=clock)
        svc.http = http or httpx.AsyncClient(follow_redirects=True)
        app.state.service = svc
        app.state.reloader = asyncio.create_task(_follow_writer(svc))
        svc.litestream = litestream
        if settings.scheduler and not settings.read_only:
            app.state.scheduler_lock = hold_scheduler_lock(settings.db_path)
            if app.state.scheduler_lock is not False:
                svc.scheduler = start_scheduler(svc, svc.http, policy=svc.fetch_policy)
            else:
                svc.writes, svc.write_refusal = False, "another worker runs the scheduler"
        if settings.replicate_to and settings.db_path and not settings.read_only:
            svc.heartbeat = Heartbeat(settings.db_path, interval_s=settings.heartbeat_s, clock=svc.clock,
                                      version=lambda: svc.catalog.version).start()

    async def stop(app: Litestar) -> None:
        svc: Service = app.state.service
        app.state.reloader.cancel()
        if svc.scheduler is not None:
            svc.scheduler.shutdown(wait=False)
        # A refresh in flight (a slow page, a long Retry-After) must not hold the process past its
        # graceful timeout: cancelled, it records its run as interrupted.
        await svc.stop_refreshes(STOP_REFRESHES_TIMEOUT_S)
        lock = getattr(app.state, "scheduler_lock", None)
        if lock:
            lock.close()
        if http is None and svc.http is not None:
            await svc.http.aclose()
        if svc.heartbeat is not None:
            await asyncio.to_thread(svc.heartbeat.stop)
        if litestream is not None:
            await asyncio.to_thread(litestream.stop)  # a replicating Litestream syncs the last changes first

    # Browsers may read prices and post estimates; nothing else crosses origins. The admin
    # API needs an Authorization header, which is not an allowed header, so its preflight fails.
    cors = (
        CORSConfig(allow_origins=list(settings.cors_origins), allow_methods=["GET", "POST"],
                   allow_headers=["Content-Type", "If-None-Match"], expose_headers=["ETag"], max_age=600)
        if settings.cors_origins else None
    )
    return Litestar(
        route_handlers=[*ROUTES, *ESTIMATE_ROUTES, *FORECAST_ROUTES, *TOKENS_ROUTES, *OPS_ROUTES, *HISTORY_ROUTES, *CALCULATOR_ROUTES,
                        *PAGE_ROUTES],
        on_startup=[start],
        on_shutdown=[stop],
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[JsonBodyOnly()],
        cors_config=cors,
        request_max_body_size=settings.max_body_bytes,
        compression_config=compression_config(),
        openapi_config=openapi_config(),
        plugins=[DecimalAsNumber()],
        debug=False,
    )


MIN_ADMIN_TOKEN_CHARS = 16


class SettingsError(Exception):
    """A setting the service cannot start with; the message says what to change."""


def admin_token_from(raw: str) -> str:
    """The admin token as configured, without surrounding whitespace; empty turns the admin API off.

    A token that is only whitespace, or shorter than 16 characters once
    stripped, is refused: the first could never match, the second is guessable.
    """
    token = raw.strip()
    if raw and not token:
        raise SettingsError("RATECARD_ADMIN_TOKEN is only whitespace: unset it to turn the admin API off, "
                            f"or set at least {MIN_ADMIN_TOKEN_CHARS} characters")
    if token and len(token) < MIN_ADMIN_TOKEN_CHARS:
        raise SettingsError(f"RATECARD_ADMIN_TOKEN has {len(token)} characters; at least {MIN_ADMIN_TOKEN_CHARS} "
                            "are needed (e.g. python -c 'import secrets; print(secrets.token_urlsafe(24))')")
    return token


def hold_scheduler_lock(db_path: str | None):
    """Take the one-scheduler-per-database lock; the open lock file, None for memory, False if taken.

    The lock is an exclusive ``flock`` on ``<db>.scheduler.lock``: the OS drops
    it when the holder exits, so a restarted worker can take over.
    """
    if db_path is None:
        return None
    handle = open(f"{db_path}.scheduler.lock", "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        log.info("another process runs the scheduler for %s", db_path)
        return False
    return handle


class DecimalAsNumber(OpenAPISchemaPlugin):
    """Document Decimal as a JSON number, which is how ratecard encodes money (litestar says string)."""

    @staticmethod
    def is_plugin_supported_type(value: object) -> bool:
        return value is Decimal

    def to_openapi_schema(self, field_definition, schema_creator) -> Schema:
        # A field's own description (msgspec.Meta) wins; Litestar applies it only where this one is None.
        described = getattr(field_definition.kwarg_definition, "description", None)
        return Schema(type=OpenAPIType.NUMBER, description=None if described else GENERIC_DECIMAL)


def openapi_config() -> OpenAPIConfig:
    """The OpenAPI document's metadata; the paths come from the route handlers.

    ``/schema`` is a static HTML reference rendered from the document (no viewer
    from a CDN, so it works offline); ``/schema/openapi.json`` is the document.
    Both fill the fields the Structs leave undescribed from service.field_docs.
    """
    from service.routes_pages import DescribedJson, ReferencePage

    return OpenAPIConfig(
        title="ratecard",
        version=API_VERSION,
        description=(
            "Versioned prices of LLM APIs read from the providers' own pages, and cost estimates. "
            "Prices are USD per 1M tokens (usd_per_mtok), exact decimals. Errors are RFC 9457 problem details. "
            "A rate lookup has three answers: a price (basis published, curated, witness, or derived from a "
            "provider's stated, dated rule such as batch at 50% of standard); not_offered (a page or cited source "
            "says the model lacks it: basis not_offered, usd_per_mtok null); or unknown (nothing recorded covers "
            "that moment: no row, and the answer's `unpriced` names the gap). Unknown is never shown as not "
            "offered. Every estimate, forecast and price answer carries `freshness`: per provider, when its "
            "prices were last confirmed by a successful read of its source, and whether that is stale."
        ),
        servers=[Server(url="/")],
        path="/schema",
        render_plugins=[ReferencePage(), DescribedJson()],
    )


async def _follow_writer(service: Service) -> None:
    """Pick up changesets committed by another process without reading SQLite per request."""
    while True:
        await asyncio.sleep(service.settings.reload_interval_s)
        try:
            if service.reload_if_changed():
                log.info("catalog reloaded at version %s", service.catalog.version)
            if service.bootstrap_missing:
                # Another process (a restart, the parent of the workers) may have completed it.
                service.bootstrap_missing = [s.file for s in incomplete_snapshots(service.db, service.registry)]
        except Exception:  # keep serving the last snapshot; the next tick tries again
            log.exception("catalog reload failed")
