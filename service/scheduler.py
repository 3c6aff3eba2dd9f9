"""Scheduled refreshes: fetch each source's page and run it through the pipeline.

One APScheduler 3 ``AsyncIOScheduler`` runs in the serving process that
writes (``ratecard serve`` without ``--no-scheduler``), with one job per
source: interval plus jitter, ``max_instances=1``, ``coalesce=True``, a
misfire grace time and a stable id. ``ratecard refresh`` runs the same
:func:`refresh_source` once per source. Parsing and the SQLite write happen
on the service store's writer thread (service.store), so requests keep being
served from the snapshot meanwhile.

Every refresh, scheduled or not, first takes its source's lock
(service.source_lock), so the scheduler, the admin API and the CLI never
fetch one source twice at once; a job that finds the lock held skips its turn.
A refresh in flight when the service stops is cancelled and its run recorded
as interrupted.
"""

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import sqlite_utils
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from ratecard.scrapers.errors import ScrapeError
from ratecard.scrapers.fetch import FetchPolicy, fetch
from ratecard.service.db import StorageError, storage_error
from ratecard.service.history import last_attempt_at, last_validators
from ratecard.service.refresh import FAILED, UNCHANGED, RunResult, fail_run, finish_run, ingest_page, start_run
from ratecard.service.source_lock import RefreshInProgress, source_lock
from ratecard.service.sources import Registry, Source
from ratecard.service.store import Store
from ratecard.service.timeutil import utc_now

log = logging.getLogger("ratecard.scheduler")
# APScheduler logs every job start at INFO; its warnings and errors are what matter.
logging.getLogger("apscheduler").setLevel(logging.WARNING)

MISFIRE_GRACE_S = 15 * 60

INTERRUPTED_BY_SHUTDOWN = "interrupted: the service stopped during the refresh"


def job_id(source_id: str) -> str:
    """The stable APScheduler job id of a source."""
    return f"refresh:{source_id}"


async def refresh_source(
    store: Store,
    source: Source,
    client: httpx.AsyncClient,
    *,
    policy: FetchPolicy,
    clock: Callable[[], datetime],
    trigger: str,
    run_id: int | None = None,
) -> RunResult:
    """Fetch one source and ingest its page; every outcome is recorded as a run, none raises.

    Every write (the run, the parse and commit) goes through the store's one writer thread
    and the read of the last validators through a reader thread: the event loop only fetches.
    The caller holds the source's refresh lock (service.source_lock). ``run_id`` is a run the
    caller already started (the admin API answers with it). Only starting the run can fail,
    as a StorageError. A refresh cancelled while fetching (the service stopping) records its
    run as interrupted.
    """
    if run_id is None:
        run_id = await store.write(start_run, source, trigger=trigger, url=source.url, now=clock())
    try:
        etag, last_modified = await store.run(lambda: last_validators(store.reader(), source.id))
        fetched = await fetch(client, source.url, policy=policy, etag=etag, last_modified=last_modified, now=clock)
    except ScrapeError as exc:
        error = f"{type(exc).__name__}: {exc}"
        await store.write(fail_run, run_id, error, now=clock())
        return RunResult(run_id=run_id, source_id=source.id, status=FAILED, error=error)
    except sqlite3.Error as exc:
        error = str(storage_error(exc))
        await store.write(fail_run, run_id, error, now=clock())
        return RunResult(run_id=run_id, source_id=source.id, status=FAILED, error=error)
    except asyncio.CancelledError:
        # Shielded: the stop that cancelled this refresh waits for its run to be recorded.
        await asyncio.shield(store.write(fail_run, run_id, INTERRUPTED_BY_SHUTDOWN, now=clock()))
        raise
    if fetched.status == "not_modified":
        try:
            await store.write(finish_run, run_id, {"status": UNCHANGED, "http_status": fetched.http_status},
                              now=clock())
        except sqlite3.Error as exc:
            error = str(storage_error(exc))
            await store.write(fail_run, run_id, error, now=clock())
            return RunResult(run_id=run_id, source_id=source.id, status=FAILED, error=error)
        return RunResult(run_id=run_id, source_id=source.id, status=UNCHANGED)
    kwargs = dict(
        url=fetched.url, fetched_at=fetched.fetched_at, now=clock(), trigger=trigger, http_status=fetched.http_status,
        etag=fetched.etag or "", last_modified=fetched.last_modified or "", content_type=fetched.content_type or "",
        run_id=run_id,
    )
    # The writer thread is not cancelled with this coroutine; it finishes its commit and records the run.
    return await asyncio.shield(store.write(ingest_page, source, fetched.body, **kwargs))


def refresh_sources_once(
    db: sqlite_utils.Database,
    registry: Registry,
    source_ids: list[str],
    *,
    progress: Callable[[RunResult], None] | None = None,
    started: Callable[[Source], None] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    db_path: str | None = None,
    policy: FetchPolicy | None = None,
) -> list[RunResult]:
    """Refresh the named sources one after another (the ``ratecard refresh`` command).

    ``started`` is called as each source begins and ``progress`` as it ends,
    so a long refresh shows where it is. A source whose refresh lock another
    process holds is skipped, reported as a failed result with run id 0 and
    no run recorded.
    """
    policy = policy or FetchPolicy()
    store = Store(db, None)  # one connection, used by one thread at a time

    async def run_all() -> list[RunResult]:
        results = []
        async with httpx.AsyncClient(transport=transport, follow_redirects=False) as client:
            for source_id in source_ids:
                source = registry.sources[source_id]
                if started:
                    started(source)
                try:
                    with source_lock(db_path, db, source_id):
                        result = await refresh_source(store, source, client, policy=policy, clock=utc_now,
                                                      trigger="cli")
                except RefreshInProgress as exc:
                    result = RunResult(run_id=0, source_id=source_id, status=FAILED, error=f"skipped: {exc}")
                results.append(result)
                if progress:
                    progress(result)
        return results

    try:
        return asyncio.run(run_all())
    finally:
        store.close()


def start_scheduler(
    service, client: httpx.AsyncClient, *, policy: FetchPolicy | None = None, due: dict[str, datetime] | None = None,
) -> AsyncIOScheduler:
    """Start one interval job per enabled source in the running event loop; return the scheduler.

    ``due`` gives each source's :func:`next_due`, read from SQLite by the caller off the loop
    (``sources_due``); without it they are read here.
    """
    policy = policy or FetchPolicy()
    scheduler = AsyncIOScheduler(timezone=UTC)

    async def run(source_id: str) -> None:
        source = service.registry.sources[source_id]
        try:
            with source_lock(service.settings.db_path, service.store.db, source_id):
                result = await service.track(refresh_source(
                    service.store, source, client, policy=policy, clock=service.clock, trigger="schedule",
                ))
        except RefreshInProgress as exc:
            log.info("scheduled refresh skipped: %s", exc)
            return
        except StorageError as exc:
            log.error("scheduled refresh of %s could not start: %s", source_id, exc)
            return
        log.info("refresh %s: %s %s", source_id, result.status, result.error)
        if result.changeset_id:
            await service.store.run(service.reload)

    now = service.clock()
    for position, source in enumerate(service.registry.sources.values()):
        if not source.enabled:
            continue
        interval_s = source.interval_minutes * 60
        first_due = due[source.id] if due is not None else next_due(service.db, source, now=now)
        # Sources due now start a few seconds apart rather than all at once.
        first = max(first_due, now + timedelta(seconds=min(5.0 + 2 * position, interval_s)))
        scheduler.add_job(
            run,
            "interval",
            seconds=interval_s,
            jitter=min(60.0, interval_s / 10),
            args=[source.id],
            id=job_id(source.id),
            name=f"refresh {source.id}",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=MISFIRE_GRACE_S,
            replace_existing=True,
            next_run_time=first,
        )
    scheduler.start()
    return scheduler


def next_due(db: sqlite_utils.Database, source: Source, *, now: datetime) -> datetime:
    """When a source should next be refreshed: its interval after the last real attempt, or now."""
    last = last_attempt_at(db, source.id)
    if last is None:
        return now
    return max(now, last + timedelta(minutes=source.interval_minutes))


def sources_due(service, *, now: datetime) -> dict[str, datetime]:
    """:func:`next_due` of every enabled source, read on the calling thread's store connection."""
    db = service.store.reader()
    return {s.id: next_due(db, s, now=now) for s in service.registry.sources.values() if s.enabled}


def next_run_times(scheduler: AsyncIOScheduler | None) -> dict[str, datetime]:
    """When each source's job runs next, by source id (empty without a scheduler)."""
    if scheduler is None:
        return {}
    return {
        job.id.removeprefix("refresh:"): job.next_run_time
        for job in scheduler.get_jobs()
        if job.next_run_time is not None
    }
