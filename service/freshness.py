"""How fresh the served prices are: per provider, when its source was last read successfully.

Every estimate, forecast and price answer carries, per provider it used, the moment
its prices were last confirmed by a successful read of its source (``prices_as_of``)
and a ``stale`` flag with a warning once that is older than the source's staleness
threshold (``stale_after_hours`` in the registry, else the service's setting). A
provider's source is its authoritative page, or the designated witness for a
provider without one. The moment is when the page read was seen: a bundled copy
confirms the prices of the day it was saved, not the day it was ingested. Time is
an argument: staleness is a function of the injected clock.
"""

from collections.abc import Iterable
from datetime import datetime, timedelta

import msgspec
import sqlite_utils

from ratecard.service.history import confirmed_read_times, latest_run_marks
from ratecard.service.sources import Registry, Source
from ratecard.service.timeutil import to_db

__all__ = ["ProviderFreshness", "SourceFreshness", "confirmed_reads", "freshness_of", "freshness_token",
           "latest_run", "provider_freshness", "read_confirmations", "source_freshness"]

# Run statuses that read the page and left the served prices confirmed (a quarantined read did not).
CONFIRMING_STATUSES = ("changed", "no_change", "unchanged", "partial")


class ProviderFreshness(msgspec.Struct, frozen=True, kw_only=True):
    """When one provider's prices were last confirmed by a successful read of ``source``.

    ``prices_as_of`` is None when no read of the source ever succeeded. ``stale`` is true when
    it is None or older than ``stale_after_hours`` at the moment of the answer; ``warning``
    then says so in words. Nothing here moves with the clock but ``stale`` (no running age),
    so an answer stays the same, and keeps its ETag, until a read or the threshold changes it.
    """

    provider: str
    source: str
    prices_as_of: datetime | None
    stale_after_hours: float
    stale: bool
    warning: str | None = None


class SourceFreshness(msgspec.Struct, frozen=True, kw_only=True):
    """A source's last confirmed read and whether it is stale now."""

    source: str
    confirmed_at: datetime | None
    age_hours: float | None
    stale_after_hours: float
    stale: bool


def confirmed_reads(db: sqlite_utils.Database) -> dict[str, datetime]:
    """Per source id, when the page of its latest successful read was seen (:func:`history.confirmed_read_times`)."""
    return confirmed_read_times(db, CONFIRMING_STATUSES)


def source_freshness(source: Source, reads: dict[str, datetime], *, now: datetime,
                     default_hours: float) -> SourceFreshness:
    """One source's freshness at ``now`` from its confirmed reads."""
    threshold = source.stale_after_hours if source.stale_after_hours is not None else default_hours
    confirmed = reads.get(source.id)
    age = None if confirmed is None else round((now - confirmed).total_seconds() / 3600, 2)
    return SourceFreshness(source=source.id, confirmed_at=confirmed, age_hours=age, stale_after_hours=threshold,
                           stale=age is None or age > threshold)


def provider_freshness(registry: Registry, reads: dict[str, datetime], providers: Iterable[str], *,
                       now: datetime, default_hours: float) -> list[ProviderFreshness]:
    """Per provider (in the order given), the freshness of the source its prices are served from."""
    out = []
    for provider in providers:
        source = registry.authoritative_for(provider) or registry.sources.get(registry.designated_witness)
        if source is None:
            continue
        fresh = source_freshness(source, reads, now=now, default_hours=default_hours)
        warning = None
        if fresh.stale:
            if fresh.confirmed_at is None:
                warning = f"{provider} prices were never confirmed by a successful read of {source.id}: stale"
            else:
                warning = (f"{provider} prices were last confirmed on {to_db(fresh.confirmed_at)} by reading"
                           f" {source.id}: stale (older than {_plain(fresh.stale_after_hours)} hours)")
        out.append(ProviderFreshness(provider=provider, source=source.id, prices_as_of=fresh.confirmed_at,
                                     stale_after_hours=fresh.stale_after_hours, stale=fresh.stale, warning=warning))
    return out


def latest_run(db: sqlite_utils.Database) -> tuple:
    """The newest run and the latest end of one: when either moves, the confirmed reads may have."""
    return latest_run_marks(db)


def read_confirmations(db: sqlite_utils.Database) -> tuple[tuple, dict[str, datetime]]:
    """(:func:`latest_run`, :func:`confirmed_reads`), read together, for a service to keep with its snapshot."""
    return latest_run(db), confirmed_reads(db)


def freshness_of(service, providers: Iterable[str]) -> list[ProviderFreshness]:
    """:func:`provider_freshness` for a service: its registry, its clock and the reads it keeps (``confirmed``).

    Every answer asks, so each list is kept (and shared: it is never changed) until a run is
    recorded or one of its sources goes stale.
    """
    providers = tuple(providers)
    run, reads = service.confirmed
    now = service.clock()
    memo = service.__dict__.setdefault("_freshness_memo", {})
    cached = memo.get(providers)
    if cached is not None and cached[0] == run and (cached[1] is None or now < cached[1]):
        return cached[2]
    found = provider_freshness(service.registry, reads, providers, now=now,
                               default_hours=service.settings.stale_after_hours)
    flips = [f.prices_as_of + timedelta(hours=f.stale_after_hours) for f in found
             if not f.stale and f.prices_as_of is not None]
    if len(memo) > 1024:  # provider sets come from requests: bound what is kept
        memo.clear()
    memo[providers] = (run, min(flips, default=None), found)
    return found


def freshness_token(service) -> str:
    """A short text that changes whenever an answer's freshness would: a new confirmed read, a source going stale.

    Part of the ETag of every answer that carries freshness, so a 304 never hands back an old
    ``prices_as_of`` or a warning the clock has made wrong.
    """
    run, reads = service.confirmed
    now = service.clock()
    cached = getattr(service, "_freshness_token", None)
    if cached is not None and cached[0] == run and (cached[1] is None or now < cached[1]):
        return cached[2]
    default = service.settings.stale_after_hours
    flags, flips = [], []
    for source in service.registry.sources.values():
        fresh = source_freshness(source, reads, now=now, default_hours=default)
        flags.append("s" if fresh.stale else "f")
        if not fresh.stale and fresh.confirmed_at is not None:  # it goes stale then, unless read again
            flips.append(fresh.confirmed_at + timedelta(hours=fresh.stale_after_hours))
    token = f"r{run[0]}.{run[1]}{''.join(flags)}"
    # Kept until a source goes stale (or a new run): the token is the same for every answer until then.
    service._freshness_token = (run, min(flips, default=None), token)
    return token


def _plain(value: float) -> str:
    return f"{value:g}"
