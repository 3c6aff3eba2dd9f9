"""The offline default: ingest the bundled snapshots (and curated history) the database lacks.

Everything goes through the same pipeline as a live refresh, in date order,
so a fresh clone serves real prices with a real history and no network.

The bootstrap is resumable and verified: on every start each bundled page is
identified by its sha256, and any whose body no finished run has read is
ingested. A first start killed half-way (or stopped by a full disk) is
completed by the next one, a release that bundles newer pages adds them, and
:func:`missing_snapshots` tells readiness whether the bundled catalog is whole.
"""

import hashlib
import tomllib
from collections.abc import Callable
from datetime import datetime

import msgspec
import sqlite_utils

import ratecard_data
from service.changesets import approve_changeset
from service.db import STORAGE_ERROR
from service.refresh import FAILED, RunResult, ingest_page
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


def snapshot_body(snapshot: Snapshot) -> bytes:
    """The bundled page's bytes."""
    return ratecard_data.path("snapshots", *snapshot.file.split("/")).read_bytes()


def _ingested_bodies(db: sqlite_utils.Database) -> set[str]:
    # A body counts as ingested once a run read it to an end: any outcome but a storage failure or
    # an interruption (those are the store's fault, not the page's, and are tried again).
    rows = db.execute(
        "SELECT DISTINCT body_sha256 FROM runs WHERE status NOT IN ('running', ?)"
        " OR (status = ? AND error NOT LIKE ? AND error NOT LIKE 'interrupted%')",
        [FAILED, FAILED, f"{STORAGE_ERROR}%"],
    ).fetchall()
    return {row[0] for row in rows if row[0]}


def missing_snapshots(db: sqlite_utils.Database, registry: Registry) -> list[Snapshot]:
    """Bundled snapshots of enabled sources whose body no finished run has read, oldest first."""
    done = _ingested_bodies(db)
    return [
        snapshot for snapshot in bundled_snapshots()
        if (source := registry.sources.get(snapshot.source)) is not None and source.enabled
        and hashlib.sha256(snapshot_body(snapshot)).hexdigest() not in done
    ]


def ingest_bundled(
    db: sqlite_utils.Database,
    registry: Registry,
    *,
    clock: Callable[[], datetime],
    progress: Callable[[RunResult], None] | None = None,
) -> list[RunResult]:
    """Ingest every bundled snapshot not yet ingested whose source is in the registry, in date order."""
    results = []
    for snapshot in missing_snapshots(db, registry):
        source = registry.sources[snapshot.source]
        seen = parse_moment(snapshot.observed_at)
        result = ingest_page(
            db, source, snapshot_body(snapshot), url=snapshot.url, fetched_at=seen, observed_at=seen, now=clock(),
            trigger="bundled",
        )
        if result.status == "quarantined" and snapshot.approve and result.changeset_id is not None:
            approve_changeset(db, result.changeset_id, now=clock())
        results.append(result)
        if progress:
            progress(result)
        if result.status == FAILED and result.error.startswith(STORAGE_ERROR):
            break  # the store is failing: later pages would fail the same way; the next start resumes here
    return results
