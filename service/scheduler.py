"""Scheduled refreshes: fetch each source's page and run it through the pipeline.

One APScheduler 3 ``AsyncIOScheduler`` runs in the serving process that
writes (``ratecard serve`` without ``--no-scheduler``), with one job per
source: interval plus jitter, ``max_instances=1``, ``coalesce=True``, a
misfire grace time and a stable id. ``ratecard refresh`` runs the same
:func:`refresh_source` once per source. Parsing and the SQLite write happen
on the service store's writer thread (service.store), so requests keep being
served from the snapshot meanwhile.
"""

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import sqlite_utils
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from scrapers.errors import ScrapeError
from scrapers.fetch import FetchPolicy, fetch
from service.history import last_attempt_at, last_validators
from service.refresh import FAILED, UNCHANGED, RunResult, finish_run, ingest_page, start_run
from service.sources import Registry, Source
from service.store import Store
from service.timeutil import utc_now

log = logging.getLogger("ratecard.scheduler")
# APScheduler logs every job start at INFO; its warnings and errors are what matter.
logging.getLogger("apscheduler").setLevel(logging.WARNING)

MISFIRE_GRACE_S = 15 * 60


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
) -> RunResult:
    """Fetch one source and ingest its page; every outcome is recorded as a run, none raises.

    Every write (the run, the parse and commit) goes through the store's one writer thread
    and the read of the last validators through a reader thread: the event loop only fetches.
    """
    run_id = await store.write(start_run, source, trigger=trigger, url=source.url, now=clock())
    etag, last_modified = await store.run(lambda: last_validators(store.reader(), source.id))
    try:
        fetched = await fetch(client, source.url, policy=policy, etag=etag, last_modified=last_modified, now=clock)
    except ScrapeError as exc:
        error = f"{type(exc).__name__}: {exc}"
        await store.write(finish_run, run_id, {"status": FAILED, "error": error}, now=clock())
        return RunResult(run_id=run_id, source_id=source.id, status=FAILED, error=error)
    if fetched.status == "not_modified":
        await store.write(finish_run, run_id, {"status": UNCHANGED, "http_status": fetched.http_status}, now=clock())
        return RunResult(run_id=run_id, source_id=source.id, status=UNCHANGED)
    kwargs = dict(
        url=fetched.url, fetched_at=fetched.fetched_at, now=clock(), trigger=trigger, http_status=fetched.http_status,
        etag=fetched.etag or "", last_modified=fetched.last_modified or "", content_type=fetched.content_type or "",
        run_id=run_id,
    )
    return await store.write(ingest_page, source, fetched.body, **kwargs)


def refresh_sources_once(
    db: sqlite_utils.Database,
    registry: Registry,
    source_ids: list[str],
    *,
    progress: Callable[[RunResult], None] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> list[RunResult]:
    """Refresh the named sources one after another (the ``ratecard refresh`` command)."""
    store = Store(db, None)  # one connection, used by one thread at a time

    async def run_all() -> list[RunResult]:
        results = []
        async with httpx.AsyncClient(transport=transport, follow_redirects=True) as client:
            for source_id in source_ids:
                result = await refresh_source(
                    store, registry.sources[source_id], client, policy=FetchPolicy(), clock=utc_now, trigger="cli"
                )
                results.append(result)
                if progress:
                    progress(result)
        return results

    return asyncio.run(run_all())


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
        result = await refresh_source(service.store, source, client, policy=policy, clock=service.clock,
                                      trigger="schedule")
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
