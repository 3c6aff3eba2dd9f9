"""Curated history: dated price changes from before scraping began, loaded as changesets.

data/curated/history.toml lists, per model, the rates in force from an
``effective`` date, each with the URL it was read from. Entries go through the
same diff and commit path as scraped pages, marked ``basis = "curated"``.
Where curated and scraped history overlap they must agree: a scraped
observation made while a curated price was in force must show that price, or
loading fails and names the conflict.
"""

import hashlib
import tomllib
from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import msgspec
import sqlite_utils

from ratecard import data as ratecard_data
from ratecard.scrapers.vocabulary import KINDS, TIERS
from ratecard.service.changesets import ChangesetConflict, Proposal, diff, record_changeset
from ratecard.service.sources import OFFICIAL_LANE
from ratecard.service.timeutil import parse_moment, to_db

CURATED_SOURCE = "curated"


class CuratedEntry(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One dated change: the rates of a model from ``effective`` on, and where that is stated."""

    provider: str
    model: str
    effective: str
    source_url: str
    evidence: str = ""
    announced: str = ""
    note: str = ""
    rates: dict[str, Decimal]


def curated_path() -> Path:
    """The bundled curated history file."""
    return ratecard_data.path("curated", "history.toml")


def load_entries(path: Path) -> list[CuratedEntry]:
    """Read and check the curated file; prices are read as exact decimals."""
    doc = tomllib.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
    entries = msgspec.convert(doc.get("changes", []), type=list[CuratedEntry], strict=False)
    for entry in entries:
        parse_moment(entry.effective)
        for name in entry.rates:
            tier, _, kind = name.partition(".")
            if tier not in TIERS or kind not in KINDS:
                raise ValueError(f"{entry.provider}/{entry.model} {entry.effective}: unknown rate {name!r}")
    return entries


def proposals_from(entries: list[CuratedEntry], *, body_sha256: str) -> list[Proposal]:
    """Turn curated entries into proposals in effective-date order."""
    proposals = []
    for entry in sorted(entries, key=lambda e: (parse_moment(e.effective), e.provider, e.model)):
        effective = parse_moment(entry.effective)
        seen = parse_moment(entry.announced) if entry.announced else effective
        for name, value in sorted(entry.rates.items()):
            tier, _, kind = name.partition(".")
            proposals.append(
                Proposal(
                    lane=OFFICIAL_LANE, provider=entry.provider, model=entry.model, tier=tier, kind=kind,
                    min_prompt_tokens=0, usd_per_mtok=value, basis="curated", valid_from=effective,
                    source_id=CURATED_SOURCE, url=entry.source_url, body_sha256=body_sha256, run_id=None,
                    observed_at=seen, note=entry.note or entry.evidence,
                )
            )
    return proposals


def load_curated(db: sqlite_utils.Database, *, now: datetime, path: Path | None = None) -> list[int]:
    """Load the curated history, one changeset per effective date; return the changeset ids.

    Skipped when this exact file was loaded before (a run records its sha256).
    Raises ChangesetConflict naming the rate when scraped history disagrees;
    the check runs before anything is written.
    """
    path = path or curated_path()
    if not path.exists():
        return []
    body = path.read_bytes()
    sha = hashlib.sha256(body).hexdigest()
    if db.execute("SELECT 1 FROM runs WHERE source_id = ? AND body_sha256 = ? AND status != 'failed'",
                  [CURATED_SOURCE, sha]).fetchone():
        return []
    proposals = proposals_from(load_entries(path), body_sha256=sha)
    _check_agreement(db, proposals)
    by_date: dict[datetime, list[Proposal]] = defaultdict(list)
    for p in proposals:
        by_date[p.valid_from].append(p)
    run_id = db["runs"].insert({"source_id": CURATED_SOURCE, "trigger": "curated", "started_at": to_db(now),
                                "status": "running", "url": path.name, "body_sha256": sha}).last_pk
    changeset_ids = []
    # One announcement, one changeset, in date order: the feed then reads "o3 changed 10 -> 2".
    for moment in sorted(by_date):
        changes = diff(db, by_date[moment])
        if changes:
            changeset_ids.append(record_changeset(db, changes, source_id=CURATED_SOURCE, run_id=run_id, now=now))
    db["runs"].update(run_id, {"status": "changed" if changeset_ids else "no_change", "finished_at": to_db(now),
                               "rows_parsed": len(proposals), "changes": len(changeset_ids)})
    return changeset_ids


def _check_agreement(db: sqlite_utils.Database, proposals: list[Proposal]) -> None:
    """Every scraped observation between two curated entries of a rate must equal the earlier one.

    The last curated entry of a rate claims a price from its date but not
    forever: a later scraped page may show a later change.
    """
    by_key: dict[tuple, list[Proposal]] = defaultdict(list)
    for p in proposals:
        by_key[p.key].append(p)
    for key, series in by_key.items():
        series.sort(key=lambda p: p.valid_from)
        for p, following in zip(series, series[1:]):
            until = following.valid_from
            params = [OFFICIAL_LANE, *key, to_db(p.valid_from)]
            sql = (
                "SELECT usd_per_mtok, valid_from, source_id FROM rates WHERE closed_changeset_id IS NULL"
                " AND lane = ? AND provider = ? AND model = ? AND tier = ? AND kind = ? AND min_prompt_tokens = ?"
                " AND valid_from >= ? AND source_id != 'curated'"
            )
            params.append(to_db(until))
            sql += " ORDER BY valid_from LIMIT 1"
            sql = sql.replace("AND valid_from >= ?", "AND valid_from >= ? AND valid_from < ?")
            row = db.execute(sql, params).fetchone()
            if row and row[0] is not None and Decimal(row[0]) != p.usd_per_mtok:
                raise ChangesetConflict(
                    f"curated history says {p.provider}/{p.model} {p.tier} {p.kind} is {p.usd_per_mtok} from "
                    f"{to_db(p.valid_from)}, but {row[2]} observed {row[0]} on {row[1]}"
                )
