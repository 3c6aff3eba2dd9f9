"""What the HTTP handlers, the CLI and the scheduler share: ``Settings`` and the ``Service``.

``prepare_service`` opens the database, loads the registry, ingests the bundled
pages it lacks and builds the first catalog snapshot. ``settings_from`` reads the
operator's flags and ``RATECARD_*`` environment variables (the CLI's edge).
"""

import argparse
import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import httpx
import msgspec
import sqlite_utils

from ratecard.scrapers.fetch import FetchPolicy
from ratecard.service.bootstrap import incomplete_snapshots, ingest_bundled
from ratecard.service.catalog import Catalog, build_catalog, sync_model_catalog
from ratecard.service.curated import load_curated
from ratecard.service.db import DatabaseFileGuard, data_version, open_database, read_snapshot
from ratecard.service.freshness import latest_run, read_confirmations
from ratecard.service.history import all_tier_spans
from ratecard.service.refresh import close_abandoned_runs
from ratecard.service.replication import FollowedDatabase, Heartbeat, LitestreamProcess
from ratecard.service.sources import Registry, load_registry
from ratecard.service.store import Store
from ratecard.service.tokens import CountSlots
from ratecard.service.timeutil import utc_now

log = logging.getLogger("ratecard")

T = TypeVar("T")

DEFAULT_DB = "ratecard.db"


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
    # Room for the largest `text` an estimate accepts (MAX_TEXT_BYTES of UTF-8, more when a client
    # escapes it as \uXXXX), so an over-long text is a 400 naming the field rather than a bare 413.
    max_body_bytes: int = 4_200_000
    # Long texts counted at once (estimate `text`, /v1/tokens); more get a 429 with Retry-After.
    max_concurrent_counts: int = 2
    count_retry_after_s: int = 1
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
    """What the handlers share: the database, the registry and the current catalog snapshot.

    ``store`` is the one way into SQLite while serving (reads in worker threads, writes on one
    writer thread: service.store); ``db`` is the writer's connection, for startup and the CLI.
    """

    def __init__(self, settings: Settings, db: sqlite_utils.Database, registry: Registry, clock: Callable[[], datetime],
                 *, followed: FollowedDatabase | None = None):
        self.settings = settings
        # A read-only file another process (Litestream) updates: its connection is renewed every reload tick.
        self._followed = followed
        self._db = db
        # The one way into SQLite while serving (service.store). Read-only serving (a replica, a read-only
        # volume) reads through its one connection, one reader at a time: a followed file's connection is
        # closed and reopened every reload tick, and a connection per thread would hold its lock forever.
        self.store = Store(db, None if settings.read_only else settings.db_path,
                           connection=followed.current if followed is not None else None)
        self.registry = registry
        self.clock = clock
        # The snapshot and the freshness every answer carries ((latest run id, per source the moment its
        # last successful read confirmed)), read together and swapped in one assignment, so no reader
        # ever sees one state's catalog with another state's freshness.
        self._served = (with_tier_spans(build_catalog(self.db, registry, now=clock()), self.db),
                        read_confirmations(self.db))
        self.scheduler = None  # the APScheduler instance, in the one process that runs it
        self.http: httpx.AsyncClient | None = None  # opened in the lifespan, or handed in by tests
        self.fetch_policy = settings.fetch
        # Admin writes happen here unless read-only, --no-scheduler, or another worker holds the scheduler.
        self.writes = not settings.read_only and settings.admin_writes
        self.write_refusal = ("read-only serving" if settings.read_only else
                              "" if settings.admin_writes else "this process runs without the scheduler (--no-scheduler)")
        self.litestream: LitestreamProcess | None = None  # replicating (writer) or following (replica)
        self.heartbeat: Heartbeat | None = None
        self.count_slots = CountSlots(settings.max_concurrent_counts)
        # Bundled pages the bootstrap could not ingest; /readyz is 503 while any are left.
        self.bootstrap_missing: list[str] = []
        # A replica's file is replaced by design (a restore), so only a writer's is watched.
        self.db_file = DatabaseFileGuard(None if settings.read_only else settings.db_path)
        # Refreshes in flight (scheduled or started by the admin API), cancelled when the service stops.
        self.refreshes: set[asyncio.Task] = set()

    @property
    def catalog(self) -> Catalog:
        """The served snapshot (swapped whole by :meth:`reload`)."""
        return self._served[0]

    @property
    def confirmed(self) -> tuple[tuple, dict[str, datetime]]:
        """The freshness read with :attr:`catalog`: (latest run marks, per source its last confirmed read)."""
        return self._served[1]

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
        """Rebuild the snapshot from SQLite and swap it in (one assignment: atomic for readers).

        It reads SQLite: off the event loop (``await service.store.run(service.reload)``).
        """
        db = self.store.reader()
        with read_snapshot(db):  # the freshness and the snapshot describe one state of the database
            confirmed = read_confirmations(db)
            catalog = with_tier_spans(build_catalog(db, self.registry, now=self.clock()), db)
        self._served = (catalog, confirmed)  # one assignment: a reader sees the old pair or the new one
        return catalog

    def reload_if_changed(self) -> bool:
        """Swap in a new snapshot when another process committed a changeset; True if it did (off the loop).

        A run that changed nothing (prices confirmed) only refreshes what answers say of freshness.
        """
        if self._followed is not None and not self._followed.refresh():
            return False  # the followed file has not changed
        db = self.store.reader()
        # One snapshot: a run that commits its changeset and then finishes between two reads must not
        # give the old catalog the new freshness.
        with read_snapshot(db):
            if data_version(db) != self.catalog.version:
                self.reload()
                return True
            if latest_run(db) != self.confirmed[0]:
                self._served = (self.catalog, read_confirmations(db))
        return False


TIER_SPANS = ("tier-spans-now",)  # the snapshot memo's entry for history.all_tier_spans


def with_tier_spans(catalog: Catalog, db: sqlite_utils.Database) -> Catalog:
    """``catalog`` with every model's tier spans as known now in its memo (service.queries.tier_knowledge)."""
    catalog.memo[TIER_SPANS] = all_tier_spans(db)
    return catalog


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


def settings_from(args: argparse.Namespace, *, admin: bool = False, **overrides) -> Settings:
    """Build Settings from flags, falling back to RATECARD_* environment variables; ``overrides`` win.

    ``admin``: read (and check) RATECARD_ADMIN_TOKEN; only ``serve`` answers admin requests.
    """
    env = os.environ
    origins = getattr(args, "cors_origins", None) or env.get("RATECARD_CORS_ORIGINS", "")
    fields = dict(
        db_path=getattr(args, "db", None) or env.get("RATECARD_DB") or DEFAULT_DB,
        sources_path=getattr(args, "sources", None) or env.get("RATECARD_SOURCES") or None,
        admin_token=admin_token_from(env.get("RATECARD_ADMIN_TOKEN", "")) if admin else "",
        cors_origins=tuple(o.strip() for o in origins.split(",") if o.strip()),
        fetch=fetch_policy_from_env(env),
    )
    return Settings(**{**fields, **overrides})


def read_settings(args: argparse.Namespace) -> Settings:
    """Settings for a command that only reads: never a new file in the current directory.

    The database is ``--db`` or ``$RATECARD_DB`` when given, else ./ratecard.db
    when one is there (what ``refresh`` and ``serve`` write by default), else
    none: an in-memory database filled from the bundled pages.
    """
    given = getattr(args, "db", None) or os.environ.get("RATECARD_DB")
    if given:
        return settings_from(args)
    return settings_from(args, db_path=DEFAULT_DB if Path(DEFAULT_DB).is_file() else None)
