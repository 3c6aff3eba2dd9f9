"""The Litestar application: ``create_app(settings, *, db, clock)``.

Resources are opened in the lifespan and kept on ``app.state.service``;
handlers gather inputs, call the core and shape the answer.
"""

import asyncio
import fcntl
import logging
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

import anyio.to_thread
import httpx
import sqlite_utils
from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.config.response_cache import ResponseCacheConfig
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import OpenAPIType, Schema, Server
from litestar.plugins import OpenAPISchemaPlugin

from ratecard.scrapers.redact import install_log_redaction
from ratecard.service.bootstrap import incomplete_snapshots
from ratecard.service.compression import compression_config
from ratecard.service.context import (
    MIN_ADMIN_TOKEN_CHARS,
    Service,
    Settings,
    SettingsError,
    admin_token_from,
    fetch_policy_from_env,
    prepare_service,
)
from ratecard.service.field_docs import GENERIC_DECIMAL
from ratecard.service.http_server import JsonBodyOnly
from ratecard.service.replication import Heartbeat, LitestreamProcess
from ratecard.service.problems import EXCEPTION_HANDLERS
from ratecard.service.responses import ANSWER_CACHE_S, answer_cache_key
from ratecard.service.routes import ROUTES
from ratecard.service.routes_calculator import CALCULATOR_ROUTES
from ratecard.service.routes_estimate import ESTIMATE_ROUTES
from ratecard.service.routes_forecast import FORECAST_ROUTES
from ratecard.service.routes_history import HISTORY_ROUTES
from ratecard.service.routes_ops import OPS_ROUTES
from ratecard.service.routes_pages import PAGE_ROUTES, DescribedJson, ReferencePage
from ratecard.service.routes_tokens import TOKENS_ROUTES
from ratecard.service.scheduler import sources_due, start_scheduler
from ratecard.service.timeutil import utc_now

# Settings, Service and the admin token rule live in service.context; importing them from here still works.
__all__ = ["MIN_ADMIN_TOKEN_CHARS", "Service", "Settings", "SettingsError", "admin_token_from", "create_app",
           "fetch_policy_from_env", "prepare_service"]

log = logging.getLogger("ratecard")

# How long the service waits, when it stops, for cancelled refreshes to record their runs.
STOP_REFRESHES_TIMEOUT_S = 5.0

API_VERSION = "1.0.0"


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
    install_log_redaction()  # httpx logs every fetched URL; credentials in one must not reach a log

    async def start(app: Litestar) -> None:
        # Opening, migrating and perhaps bootstrapping the database reads and writes SQLite: not on the loop.
        svc = service or await anyio.to_thread.run_sync(lambda: prepare_service(settings, db=db, clock=clock))
        svc.http = http or httpx.AsyncClient(follow_redirects=True)
        app.state.service = svc
        app.state.reloader = asyncio.create_task(_follow_writer(app, svc))
        svc.litestream = litestream
        if settings.scheduler and not settings.read_only:
            app.state.scheduler_lock = hold_scheduler_lock(settings.db_path)
            if app.state.scheduler_lock is not False:
                due = await svc.store.run(lambda: sources_due(svc, now=svc.clock()))
                svc.scheduler = start_scheduler(svc, svc.http, policy=svc.fetch_policy, due=due)
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
        if service is None:  # the store this app opened: its writer thread and reader connections
            await anyio.to_thread.run_sync(svc.store.close)

    # Browsers may read prices and post estimates; nothing else crosses origins. The admin
    # API needs an Authorization header, which is not an allowed header, so its preflight fails.
    cors = (
        CORSConfig(allow_origins=list(settings.cors_origins), allow_methods=["GET", "POST"],
                   allow_headers=["Content-Type", "If-None-Match"], expose_headers=["ETag"], max_age=600)
        if settings.cors_origins else None
    )
    app = Litestar(
        route_handlers=[*ROUTES, *ESTIMATE_ROUTES, *FORECAST_ROUTES, *TOKENS_ROUTES, *OPS_ROUTES, *HISTORY_ROUTES, *CALCULATOR_ROUTES,
                        *PAGE_ROUTES],
        on_startup=[start],
        on_shutdown=[stop],
        # The service is made once per app, in the lifespan: the dependency is worked out on the
        # first request and cached (a provider taking `state` cost every request its injection).
        dependencies={"service": Provide(lambda: service_of(app), use_cache=True, sync_to_thread=False)},
        response_cache_config=ResponseCacheConfig(key_builder=answer_cache_key, default_expiration=ANSWER_CACHE_S),
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[JsonBodyOnly()],
        cors_config=cors,
        request_max_body_size=settings.max_body_bytes,
        compression_config=compression_config(),
        openapi_config=openapi_config(),
        plugins=[DecimalAsNumber()],
        debug=False,
    )
    return app


def service_of(app: Litestar) -> Service:
    """The service the lifespan put on the app's state: what every handler's ``service`` parameter receives."""
    return app.state.service


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


async def _follow_writer(app: Litestar, service: Service) -> None:
    """Pick up changesets committed by another process without reading SQLite per request."""
    while True:
        await asyncio.sleep(service.settings.reload_interval_s)
        # The response cache's memory store drops an expired answer only when it is asked for again.
        await app.response_cache_config.get_store_from_app(app).delete_expired()
        try:
            if await service.store.run(service.reload_if_changed):
                log.info("catalog reloaded at version %s", service.catalog.version)
            if service.bootstrap_missing:
                # Another process (a restart, the parent of the workers) may have completed it.
                service.bootstrap_missing = await service.store.run(
                    lambda: [s.file for s in incomplete_snapshots(service.store.reader(), service.registry)])
        except Exception:  # keep serving the last snapshot; the next tick tries again
            log.exception("catalog reload failed")
