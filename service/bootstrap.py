"""The offline default: ingest the bundled snapshots (and curated history) the database lacks.

Everything goes through the same pipeline as a live refresh, in date order,
so a fresh clone serves real prices with a real history and no network.

The bootstrap is resumable and verified: on every start each bundled page is
identified by its sha256, and any whose body no finished run has read is
ingested. A first start killed half-way (or stopped by a full disk) is
completed by the next one, a release that bundles newer pages adds them, and
:func:`incomplete_snapshots` tells readiness whether the bundled catalog is whole.
"""

import hashlib
import logging
import sqlite3
import tomllib
from collections.abc import Callable
from datetime import datetime

import msgspec
import sqlite_utils

from ratecard import data as ratecard_data
from ratecard.service.changesets import approve_changeset
from ratecard.service.db import STORAGE_ERROR, storage_error
from ratecard.service.refresh import FAILED, RunResult, ingest_page
from ratecard.service.sources import Registry
from ratecard.service.timeutil import parse_moment

log = logging.getLogger("ratecard")


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


def unapproved_snapshots(db: sqlite_utils.Database) -> list[Snapshot]:
    """Bundled pages marked ``approve`` whose ingested changeset still waits in quarantine.

    Their approval follows their ingest at once; a start stopped between the
    two (killed, a full disk) leaves one here for the next start to apply.
    """
    waiting = []
    for snapshot in bundled_snapshots():
        if not snapshot.approve:
            continue
        row = db.execute(
            "SELECT 1 FROM runs JOIN changesets ON changesets.id = runs.changeset_id"
            " WHERE runs.body_sha256 = ? AND runs.trigger = 'bundled' AND changesets.status = 'quarantined' LIMIT 1",
            [hashlib.sha256(snapshot_body(snapshot)).hexdigest()],
        ).fetchone()
        if row:
            waiting.append(snapshot)
    return waiting


def incomplete_snapshots(db: sqlite_utils.Database, registry: Registry) -> list[Snapshot]:
    """What keeps the bundled catalog from being whole: pages not ingested, or ingested but not yet approved."""
    return missing_snapshots(db, registry) + unapproved_snapshots(db)


def ingest_bundled(
    db: sqlite_utils.Database,
    registry: Registry,
    *,
    clock: Callable[[], datetime],
    progress: Callable[[RunResult], None] | None = None,
) -> list[RunResult]:
    """Ingest every bundled snapshot not yet ingested whose source is in the registry, in date order.

    A storage failure stops the pass (the next start resumes it); it is
    recorded on the run, or, during an approval, logged.
    """
    try:
        for snapshot in unapproved_snapshots(db):
            _approve_bundled(db, snapshot, clock=clock)
    except sqlite3.Error as exc:
        log.error("bootstrap stopped: %s", storage_error(exc))
        return []
    results = []
    for snapshot in missing_snapshots(db, registry):
        source = registry.sources[snapshot.source]
        seen = parse_moment(snapshot.observed_at)
        result = ingest_page(
            db, source, snapshot_body(snapshot), url=snapshot.url, fetched_at=seen, observed_at=seen, now=clock(),
            trigger="bundled",
        )
        results.append(result)
        if progress:
            progress(result)
        if result.status == FAILED and result.error.startswith(STORAGE_ERROR):
            break  # the store is failing: later pages would fail the same way; the next start resumes here
        if result.status == "quarantined" and snapshot.approve:
            try:
                _approve_bundled(db, snapshot, clock=clock)
            except sqlite3.Error as exc:
                log.error("bootstrap stopped: %s", storage_error(exc))
                break
    return results


def _approve_bundled(db: sqlite_utils.Database, snapshot: Snapshot, *, clock: Callable[[], datetime]) -> None:
    # Only the quarantined changesets bundled runs of this very page made: the manifest vouches for no other.
    rows = db.execute(
        "SELECT changesets.id FROM runs JOIN changesets ON changesets.id = runs.changeset_id"
        " WHERE runs.body_sha256 = ? AND runs.trigger = 'bundled' AND changesets.status = 'quarantined'",
        [hashlib.sha256(snapshot_body(snapshot)).hexdigest()],
    ).fetchall()
    for (changeset_id,) in rows:
        approve_changeset(db, changeset_id, now=clock())
