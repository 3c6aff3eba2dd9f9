"""Reads that go to SQLite: rates as of a past moment or version, a model's history, the change feed."""

import bisect
import json
from array import array
from datetime import datetime
from typing import NamedTuple

import sqlite_utils

from service.catalog import rate_from_row
from service.db import data_version, read_snapshot
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


class Served(NamedTuple):
    """The served snapshot's choice of lane per model, in a form SQL can apply cheaply.

    A model is served from the official lane when its provider has an official
    source, else from the designated witness (see service/catalog.py). So the
    witness lane is read only for other providers, and ``hidden`` lists the
    (lane, provider, model) series left out besides: every lane of a model the
    snapshot does not serve (nothing in force now), and the official lane of a
    model served from the witness.
    """

    witness_lane: str | None
    official_providers: frozenset[str]
    hidden: frozenset[tuple[str, str, str]]


class AsOfFilter(NamedTuple):
    """What an as-of read selects: the lanes (or the served choice), one provider or model, tier, kind."""

    lanes: tuple[str, ...] = (OFFICIAL_LANE,)
    served: Served | None = None
    provider: str | None = None
    model: str | None = None
    tier: str | None = None
    kind: str | None = None


def rates_as_of(
    db: sqlite_utils.Database,
    at: datetime,
    *,
    lanes: tuple[str, ...] = (OFFICIAL_LANE,),
    served: Served | None = None,
    provider: str | None = None,
    model: str | None = None,
    tier: str | None = None,
    kind: str | None = None,
    version: int | None = None,
) -> list[Rate]:
    """Rates in force at ``at``, as known now or, with ``version``, as known at that changeset.

    Listed by provider, model, tier, kind, min_prompt_tokens (then lane). With
    ``served`` each model's rows come from the lane the snapshot serves it from
    (``lanes`` is then ignored).
    """
    where, params = _as_of_where(at, AsOfFilter(lanes, served, provider, model, tier, kind), version)
    walk = "INDEXED BY rates_current " if version is None else ""  # past knowledge has no partial index to use
    sql = f"SELECT * FROM rates {walk}WHERE {where} ORDER BY provider, model, tier, kind, min_prompt_tokens, lane"
    return [rate_from_row(row) for row in db.query(sql, params)]


def page_as_of(
    db: sqlite_utils.Database,
    at: datetime,
    chosen: AsOfFilter,
    *,
    version: int | None = None,
    limit: int,
    offset: int = 0,
    counts: "InForceCounts | None" = None,
) -> tuple[list[Rate], int]:
    """One page of :func:`rates_as_of` and the count of every row it pages through.

    The page is paged in SQL: the walk along rates_current stops at the page's
    end and reads the table only for the page's rows. The count comes from
    ``counts`` when they were taken at the version the page is read at, else
    from a count in the same statement (over a whole catalog along
    rates_in_force, which leads with the interval start, so it reads only the
    rows that had started by ``at``). Either way page and count describe one
    committed state, even while a refresh commits.
    """
    where, params = _as_of_where(at, chosen, version)
    walk = "INDEXED BY rates_current " if version is None else ""
    by_start = "INDEXED BY rates_current " if chosen.provider or chosen.model else "INDEXED BY rates_in_force "
    count = f"SELECT count(*) FROM rates {by_start if version is None else ''}WHERE {where}"
    page = f"FROM rates {walk}WHERE {where} ORDER BY provider, model, tier, kind, min_prompt_tokens, lane LIMIT ? OFFSET ?"
    if counts is not None:
        latest = "SELECT max(id) FROM changesets WHERE status = 'applied'"  # as service.db.data_version
        rows = list(db.query(f"SELECT ({latest}) AS as_of_version, * {page}", [*params, limit, offset]))
        if rows and rows[0]["as_of_version"] == counts.version:
            return [rate_from_row(row) for row in rows], counts.at(at)
    rows = list(db.query(f"SELECT ({count}) AS as_of_total, * {page}", [*params, *params, limit, offset]))
    if not rows:  # past the last page (or nothing in force): the count alone
        return [], db.execute(count, params).fetchone()[0]
    return [rate_from_row(row) for row in rows], rows[0]["as_of_total"]


class InForceCounts:
    """How many rows a filter selects at any moment, as a step function: counts in O(log n).

    A row is in force at t when ``valid_from <= t < valid_to``, so the count at
    t is the number of rows started by t minus the number ended by t. Taken
    once per catalog version (two grouped walks of rates_in_force) and then
    free, where counting at each request walks every row started by t.
    """

    def __init__(self, version: int, starts: list[tuple[str, int]], ends: list[tuple[str, int]]) -> None:
        self.version = version
        self._starts, self._started = self._cumulative(starts)
        self._ends, self._ended = self._cumulative(ends)

    @staticmethod
    def _cumulative(steps: list[tuple[str, int]]) -> tuple[array, array]:
        # Epoch seconds and running totals in flat arrays: 16 bytes a step, not two Python objects.
        moments, running, total = array("q"), array("q", [0]), 0
        for moment, count in steps:
            moments.append(int(from_db(moment).timestamp()))
            total += count
            running.append(total)
        return moments, running

    def at(self, at: datetime) -> int:
        """The count at ``at``, to the second as stored."""
        second = int(from_db(to_db(at)).timestamp())
        started = self._started[bisect.bisect_right(self._starts, second)]
        return started - self._ended[bisect.bisect_right(self._ends, second)]


def in_force_counts(db: sqlite_utils.Database, chosen: AsOfFilter) -> InForceCounts:
    """The step function of how many rows ``chosen`` selects at each moment, as known now."""
    where, params = _as_of_where(None, chosen, None)
    # Intervals that end where (or before) they start are never in force; leave them out of both sides.
    with read_snapshot(db):
        version = data_version(db)
        starts = db.execute(
            f"SELECT valid_from, count(*) FROM rates INDEXED BY rates_in_force WHERE {where}"
            " AND (valid_to IS NULL OR valid_to > valid_from) GROUP BY valid_from ORDER BY valid_from", params,
        ).fetchall()
        ends = db.execute(
            f"SELECT valid_to, count(*) FROM rates INDEXED BY rates_in_force WHERE {where}"
            " AND valid_to > valid_from GROUP BY valid_to ORDER BY valid_to", params,
        ).fetchall()
    return InForceCounts(version, starts, ends)


def priced_models_as_of(
    db: sqlite_utils.Database, at: datetime, *, served: Served | None = None, version: int | None = None
) -> set[tuple[str, str]]:
    """The (provider, model) pairs with a rate in force at ``at``, without reading the rates."""
    where, params = _as_of_where(at, AsOfFilter(served=served), version)
    index = "INDEXED BY rates_in_force " if version is None else ""
    return {(p, m) for p, m in db.execute(f"SELECT DISTINCT provider, model FROM rates {index}WHERE {where}", params)}


def _as_of_where(at: datetime | None, chosen: AsOfFilter, version: int | None) -> tuple[str, list]:
    """The WHERE clause (and parameters) of the rows in force at ``at`` (None: at any time) that ``chosen`` selects."""
    served = chosen.served
    lanes = chosen.lanes if served is None else (OFFICIAL_LANE, *filter(None, [served.witness_lane]))
    where = [f"lane IN ({','.join('?' * len(lanes))})"]
    params: list = [*lanes]
    if at is not None:
        where += ["valid_from <= ?", "(valid_to IS NULL OR valid_to > ?)"]
        params += [to_db(at), to_db(at)]
    known, known_params = known_rows(version)
    where.append(known)
    params += known_params
    if served is not None and served.witness_lane:
        # The witness lane only for providers without an official source (short-circuits on other lanes).
        providers = sorted(served.official_providers)
        where.append(f"NOT (lane = ? AND provider IN ({','.join('?' * len(providers))}))")
        params += [served.witness_lane, *providers]
    if served is not None and served.hidden:
        # SQLite indexes each list once; the model name, one probe a row, rules out nearly every row
        # before the whole series key is built (a row value IN list would scan it for every row).
        where.append("NOT (model IN (SELECT value FROM json_each(?))"
                     " AND lane || char(31) || provider || char(31) || model IN (SELECT value FROM json_each(?)))")
        params += [json.dumps(sorted({m for _, _, m in served.hidden})),
                   json.dumps(sorted("\x1f".join(series) for series in served.hidden))]
    for column, value in (("provider", chosen.provider), ("model", chosen.model), ("tier", chosen.tier),
                          ("kind", chosen.kind)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    return " AND ".join(where), params


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
