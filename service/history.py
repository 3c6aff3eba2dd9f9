"""Reads that go to SQLite: rates as of a past moment or version, a model's history, the change feed."""

from datetime import datetime

import sqlite_utils

from service.catalog import rate_from_row
from service.rates import Rate
from service.sources import OFFICIAL_LANE
from service.timeutil import from_db, to_db


def changeset_time(db: sqlite_utils.Database, version: int) -> datetime | None:
    """When an applied changeset was committed, or None if there is no such applied changeset."""
    row = db.execute("SELECT created_at FROM changesets WHERE id = ? AND status = 'applied'", [version]).fetchone()
    return from_db(row[0]) if row else None


def version_known_at(db: sqlite_utils.Database, at: datetime) -> int | None:
    """The catalog version at moment ``at``: the newest applied changeset committed by then, or None."""
    row = db.execute(
        "SELECT max(id) FROM changesets WHERE status = 'applied' AND created_at <= ?", [to_db(at)]
    ).fetchone()
    return row[0]


def known_rows(version: int | None) -> tuple[str, list]:
    """The SQL condition on ``rates`` (and its parameters) for the knowledge of ``version`` (None: now).

    A changeset never edits a row; it only stamps the row it supersedes with
    ``closed_changeset_id`` (see service/changesets.py). So the rows known at
    version N are those recorded by changesets <= N and not superseded by
    then, each with the interval it was stored with (a row closed later shows
    as it stood at N).
    """
    if version is None:
        return "closed_changeset_id IS NULL", []
    return "changeset_id <= ? AND (closed_changeset_id IS NULL OR closed_changeset_id > ?)", [version, version]


def rates_as_of(
    db: sqlite_utils.Database,
    at: datetime,
    *,
    lanes: tuple[str, ...] = (OFFICIAL_LANE,),
    provider: str | None = None,
    model: str | None = None,
    version: int | None = None,
) -> list[Rate]:
    """Rates in force at ``at``, as known now or, with ``version``, as known at that changeset."""
    moment = to_db(at)
    known, known_params = known_rows(version)
    where = [f"lane IN ({','.join('?' * len(lanes))})", "valid_from <= ?", "(valid_to IS NULL OR valid_to > ?)", known]
    params: list = [*lanes, moment, moment, *known_params]
    if provider is not None:
        where.append("provider = ?")
        params.append(provider)
    if model is not None:
        where.append("model = ?")
        params.append(model)
    sql = f"SELECT * FROM rates WHERE {' AND '.join(where)} ORDER BY provider, model, tier, kind, min_prompt_tokens"
    return [rate_from_row(row) for row in db.query(sql, params)]


def model_history(
    db: sqlite_utils.Database, provider: str, model: str, *, lane: str = OFFICIAL_LANE, version: int | None = None
) -> list[Rate]:
    """Every interval of every rate of a model, oldest first within each rate.

    As known now, or with ``version`` as known when that changeset was
    committed: one query on the rates_by_model index (provider, model, valid_from).
    """
    known, known_params = known_rows(version)
    return [
        rate_from_row(row)
        for row in db.query(
            f"SELECT * FROM rates WHERE provider = ? AND model = ? AND lane = ? AND {known}"
            " ORDER BY tier, kind, min_prompt_tokens, valid_from",
            [provider, model, lane, *known_params],
        )
    ]


def changesets_page(
    db: sqlite_utils.Database,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    provider: str | None = None,
    model: str | None = None,
    status: str | None = "applied",
    after_id: int = 0,
    limit: int = 50,
) -> list[tuple[dict, list[dict]]]:
    """Changesets (newest first) with their changes, filtered; ``after_id`` pages backwards by id.

    ``since``/``until`` bound the moment a change takes effect (its
    ``valid_from``), which for a scraped page is when it was seen and for
    curated history the announced date.
    """
    where = ["1 = 1"]
    params: list = []
    if status:
        where.append("cs.status = ?")
        params.append(status)
    if after_id:
        where.append("cs.id < ?")
        params.append(after_id)
    change_filter = []
    change_params: list = []
    if provider:
        change_filter.append("c.provider = ?")
        change_params.append(provider)
    if model:
        change_filter.append("c.model = ?")
        change_params.append(model)
    if since:
        change_filter.append("c.valid_from >= ?")
        change_params.append(to_db(since))
    if until:
        change_filter.append("c.valid_from < ?")
        change_params.append(to_db(until))
    cond = " AND ".join(change_filter) or "1 = 1"
    sql = (
        f"SELECT cs.* FROM changesets cs WHERE {' AND '.join(where)} AND EXISTS"
        f" (SELECT 1 FROM changes c WHERE c.changeset_id = cs.id AND {cond}) ORDER BY cs.id DESC LIMIT ?"
    )
    result = []
    for cs in db.query(sql, [*params, *change_params, limit]):
        changes = list(
            db.query(
                f"SELECT c.* FROM changes c JOIN changesets cs ON cs.id = c.changeset_id"
                f" WHERE c.changeset_id = ? AND {cond} ORDER BY c.id",
                [cs["id"], *change_params],
            )
        )
        result.append((cs, changes))
    return result
