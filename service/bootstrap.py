"""The offline default: on an empty database, ingest the bundled snapshots (and curated history).

Everything goes through the same pipeline as a live refresh, in date order,
so a fresh clone serves real prices with a real history and no network.
"""

import tomllib
from collections.abc import Callable
from datetime import datetime

import msgspec
import sqlite_utils

import ratecard_data
from service.changesets import approve_changeset
from service.refresh import RunResult, ingest_page
from service.sources import Registry
from service.timeutil import parse_moment


class Snapshot(msgspec.Struct, frozen=True, kw_only=True):
    """One bundled page copy: which source, which file under data/snapshots, when it was seen."""

    source: str
    file: str
    observed_at: str
    url: str
    # A bundled page whose change the gates quarantine (models retired from the page at
    # once) is applied only when this says why it was checked by hand and is real.
    approve: str = ""


def bundled_snapshots() -> list[Snapshot]:
    """The manifest data/snapshots.toml, oldest first."""
    doc = tomllib.loads(ratecard_data.path("snapshots.toml").read_text(encoding="utf-8"))
    snapshots = msgspec.convert(doc.get("snapshots", []), type=list[Snapshot])
    return sorted(snapshots, key=lambda s: parse_moment(s.observed_at))


def needs_bootstrap(db: sqlite_utils.Database) -> bool:
    """True when the database has never recorded a run (a fresh install)."""
    return db.execute("SELECT count(*) FROM runs").fetchone()[0] == 0


def ingest_bundled(
    db: sqlite_utils.Database,
    registry: Registry,
    *,
    clock: Callable[[], datetime],
    progress: Callable[[RunResult], None] | None = None,
) -> list[RunResult]:
    """Ingest every bundled snapshot whose source is in the registry, in date order."""
    results = []
    for snapshot in bundled_snapshots():
        source = registry.sources.get(snapshot.source)
        if source is None or not source.enabled:
            continue
        seen = parse_moment(snapshot.observed_at)
        body = ratecard_data.path("snapshots", *snapshot.file.split("/")).read_bytes()
        result = ingest_page(
            db, source, body, url=snapshot.url, fetched_at=seen, observed_at=seen, now=clock(), trigger="bundled"
        )
        if result.status == "quarantined" and snapshot.approve and result.changeset_id is not None:
            approve_changeset(db, result.changeset_id, now=clock())
        results.append(result)
        if progress:
            progress(result)
    return results
