"""Reads that go to SQLite: rates as of a past moment or version, a model's history, the change feed."""

import bisect
import json
from array import array
from collections import defaultdict
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import NamedTuple

import sqlite_utils

from ratecard.service.db import data_version, read_snapshot
from ratecard.service.rates import Rate, rate_from_row
from ratecard.service.sources import OFFICIAL_LANE
from ratecard.service.timeutil import from_db, to_db


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
    # (lane, provider, model) of models only a witness lists (service/catalog.py): read from that lane alone.
    witness_only: frozenset[tuple[str, str, str]] = frozenset()


def served_lanes_of(
    db: sqlite_utils.Database, served_from: Mapping[tuple[str, str], str], witness_lane: str | None
) -> Served:
    """The Served choice for a snapshot that serves each model in ``served_from`` from the lane given."""
    official = frozenset(p for (p, _), lane in served_from.items() if lane == OFFICIAL_LANE)
    # Every stored rate has a models row (changesets touch it), so this is every model not served now.
    known = {(p, m) for p, m in db.execute("SELECT provider, model FROM models")}
    lanes = [lane for lane in (OFFICIAL_LANE, witness_lane) if lane]
    hidden = {(lane, p, m) for p, m in known - served_from.keys() for lane in lanes}
    for (p, m), lane in served_from.items():
        if lane != OFFICIAL_LANE and db.execute(
                "SELECT 1 FROM rates INDEXED BY rates_current WHERE provider = ? AND model = ? AND lane = ?"
                " AND closed_changeset_id IS NULL LIMIT 1", [p, m, OFFICIAL_LANE]).fetchone():
            hidden.add((OFFICIAL_LANE, p, m))  # old official rows of a model now served from the witness
    witness_only = frozenset((lane, p, m) for (p, m), lane in served_from.items()
                             if lane not in (OFFICIAL_LANE, witness_lane))
    return Served(witness_lane, official, frozenset(hidden), witness_only)


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
    end and reads the table only for the page's rows. With ``counts`` taken at
    the version the page is read at, the count is theirs and the walk starts
    at the model the page starts in, so any page costs about its own rows.
    Else the count runs in the same statement (a walk of rates_in_force, the
    narrower index) and the walk starts at the first row. Either way page and
    count describe one committed state, even while a refresh commits.
    """
    where, params = _as_of_where(at, chosen, version)
    walk = "INDEXED BY rates_current " if version is None else ""
    order = "ORDER BY provider, model, tier, kind, min_prompt_tokens, lane LIMIT ? OFFSET ?"
    if counts is not None:
        total, start, skip = counts.locate(at, offset)
        latest = "SELECT max(id) FROM changesets WHERE status = 'applied'"  # as service.db.data_version
        if start is None:  # past the last page
            if db.execute(latest).fetchone()[0] == counts.version:
                return [], total
        else:
            rows = list(db.query(f"SELECT ({latest}) AS as_of_version, * FROM rates {walk}WHERE {where}"
                                 f" AND (provider, model) >= (?, ?) {order}", [*params, *start, limit, skip]))
            if rows and rows[0]["as_of_version"] == counts.version:
                return [rate_from_row(row) for row in rows], total
    count = f"SELECT count(*) FROM rates {'INDEXED BY rates_in_force ' if version is None else ''}WHERE {where}"
    rows = list(db.query(f"SELECT ({count}) AS as_of_total, * FROM rates {walk}WHERE {where} {order}",
                         [*params, *params, limit, offset]))
    if not rows:  # past the last page (or nothing in force): the count alone
        return [], db.execute(count, params).fetchone()[0]
    return [rate_from_row(row) for row in rows], rows[0]["as_of_total"]


class InForceCounts:
    """How many rows a filter selects in each model at any moment, as step functions.

    A row is in force at t when ``valid_from <= t < valid_to``, so a model's
    count at t is its rows started by t minus its rows ended by t: two
    bisections. Taken once per catalog version (one grouped walk), they give
    the total and the model a page starts in without reading the rows in
    force, where counting walks every row started by t and an offset walks
    every row before the page.
    """

    def __init__(self, version: int, spans: list[tuple]) -> None:
        """``spans``: (provider, model, valid_from, valid_to or None - epoch seconds - and how many rows)."""
        self.version = version
        starts: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
        ends: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
        for provider, model, valid_from, valid_to, count in spans:
            starts[(provider, model)].append((valid_from, count))
            if valid_to is not None:
                ends[(provider, model)].append((valid_to, count))
        self._models = sorted(starts)
        self._steps = {key: (*self._cumulative(starts[key]), *self._cumulative(ends.get(key, [])))
                       for key in self._models}

    @staticmethod
    def _cumulative(steps: list[tuple[int, int]]) -> tuple[array, array]:
        # Epoch seconds and running totals in flat arrays, 16 bytes a step.
        moments, running = array("q"), array("q", [0])
        for second, count in sorted(steps):
            moments.append(second)
            running.append(running[-1] + count)
        return moments, running

    def by_model(self, at: datetime) -> list[tuple[tuple[str, str], int]]:
        """Each model with rows in force at ``at`` (to the second, as stored), in answer order, and how many."""
        second = int(from_db(to_db(at)).timestamp())
        counted = []
        for key in self._models:
            starts, started, ends, ended = self._steps[key]
            count = started[bisect.bisect_right(starts, second)] - ended[bisect.bisect_right(ends, second)]
            if count:
                counted.append((key, count))
        return counted

    def at(self, at: datetime) -> int:
        """How many rows are in force at ``at``."""
        return sum(count for _, count in self.by_model(at))

    def locate(self, at: datetime, offset: int) -> tuple[int, tuple[str, str] | None, int]:
        """(total, the model row ``offset`` falls in, rows of that model before it) at ``at``; None past the end."""
        counted = self.by_model(at)
        total = sum(count for _, count in counted)
        before = 0
        for key, count in counted:
            if before + count > offset:
                return total, key, offset - before
            before += count
        return total, None, 0


def in_force_counts(db: sqlite_utils.Database, chosen: AsOfFilter) -> InForceCounts:
    """The per-model step functions of how many rows ``chosen`` selects, as known now: one grouped walk."""
    where, params = _as_of_where(None, chosen, None)
    # Intervals that end where (or before) they start are never in force; leave them out.
    with read_snapshot(db):
        version = data_version(db)
        # Epoch seconds from SQLite's own date parser, which reads the stored form (2025-06-10T00:00:00Z).
        spans = db.execute(
            "SELECT provider, model, CAST(strftime('%s', valid_from) AS INTEGER),"
            " CAST(strftime('%s', valid_to) AS INTEGER), count(*)"
            f" FROM rates INDEXED BY rates_in_force WHERE {where} AND (valid_to IS NULL OR valid_to > valid_from)"
            " GROUP BY provider, model, valid_from, valid_to", params,
        ).fetchall()
    return InForceCounts(version, spans)


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
    extra = sorted({lane for lane, _, _ in served.witness_only}) if served is not None else []
    where = [f"lane IN ({','.join('?' * (len(lanes) + len(extra)))})"]
    params: list = [*lanes, *extra]
    if extra:
        # Another witness's lane only for the models it alone lists (and is served from).
        where.append(f"(lane NOT IN ({','.join('?' * len(extra))}) OR lane || char(31) || provider || char(31)"
                     " || model IN (SELECT value FROM json_each(?)))")
        params += [*extra, json.dumps(sorted("\x1f".join(series) for series in served.witness_only))]
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
    # Whether a change's value at its moment only continues an interval that began earlier at the same
    # value (as known now): a source took the rate over, history later reached back before it, or a
    # witness stated the official price already in force.
    continued = (
        "c.action IN ('added', 'changed') AND EXISTS (SELECT 1 FROM rates r INDEXED BY rates_current"
        " WHERE r.closed_changeset_id IS NULL AND r.provider = c.provider AND r.model = c.model AND r.tier = c.tier"
        " AND r.kind = c.kind AND r.min_prompt_tokens = c.min_prompt_tokens"
        " AND (r.lane = c.lane OR (c.lane != 'official' AND r.lane = 'official'))"
        " AND r.valid_from < c.valid_from AND (r.valid_to IS NULL OR r.valid_to > c.valid_from)"
        " AND (r.usd_per_mtok IS NULL AND c.new_usd_per_mtok IS NULL"
        "      OR CAST(r.usd_per_mtok AS REAL) = CAST(c.new_usd_per_mtok AS REAL)))"
    )
    sql = (
        f"SELECT cs.* FROM changesets cs WHERE {' AND '.join(where)} AND EXISTS"
        f" (SELECT 1 FROM changes c WHERE c.changeset_id = cs.id AND {cond}) ORDER BY cs.id DESC LIMIT ?"
    )
    result = []
    for cs in db.query(sql, [*params, *change_params, limit]):
        changes = list(
            db.query(
                f"SELECT c.*, {continued} AS continued FROM changes c JOIN changesets cs ON cs.id = c.changeset_id"
                f" WHERE c.changeset_id = ? AND {cond} ORDER BY c.id",
                [cs["id"], *change_params],
            )
        )
        result.append((cs, [_as_known_now(change) for change in changes]))
    return result


def changeset_with_changes(db: sqlite_utils.Database, changeset_id: int) -> tuple[dict, list[dict]] | None:
    """One changeset of any status and every change in it, or None if there is no such changeset."""
    rows = list(db.query("SELECT * FROM changesets WHERE id = ?", [changeset_id]))
    if not rows:
        return None
    return rows[0], list(db.query("SELECT * FROM changes WHERE changeset_id = ? ORDER BY id", [changeset_id]))


class SourceRuns(NamedTuple):
    """What the runs and rates say of one source's freshness (stored text, None when never)."""

    last_started_at: str | None
    last_status: str | None
    last_error: str
    last_success_at: str | None
    last_observed_at: str | None
    last_skipped_sections: str | None  # as the newest run that parsed the page stored them


def source_runs(db: sqlite_utils.Database, source_id: str, *, parsed_statuses: tuple[str, ...]) -> SourceRuns:
    """A source's last run, its last successful fetch (bundled ingests aside), its newest observed rate,
    and the skipped sections of its newest run with one of ``parsed_statuses``."""
    last = db.execute(
        "SELECT started_at, status, error FROM runs WHERE source_id = ? ORDER BY id DESC LIMIT 1", [source_id]
    ).fetchone()
    ok = db.execute(
        "SELECT max(finished_at) FROM runs WHERE source_id = ?"
        " AND status IN ('changed','no_change','partial','unchanged') AND trigger != 'bundled'",
        [source_id],
    ).fetchone()[0]
    read = db.execute(
        f"SELECT skipped_sections FROM runs WHERE source_id = ? AND status IN ({','.join('?' * len(parsed_statuses))})"
        " ORDER BY id DESC LIMIT 1",
        [source_id, *parsed_statuses],
    ).fetchone()
    data = db.execute("SELECT max(observed_at) FROM rates WHERE source_id = ?", [source_id]).fetchone()[0]
    return SourceRuns(last[0] if last else None, last[1] if last else None, last[2] if last else "", ok, data,
                      read[0] if read else None)


def runs_page(
    db: sqlite_utils.Database, *, source: str | None = None, status: str | None = None, before: int | None = None,
    limit: int = 50,
) -> list[dict]:
    """Runs, newest first, optionally of one source and one status; ``before`` pages backwards by id."""
    where, params = ["1 = 1"], []
    for column, value in (("source_id", source), ("status", status)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    if before:
        where.append("id < ?")
        params.append(before)
    return list(db.query(f"SELECT * FROM runs WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT ?",
                         [*params, limit]))


def last_validators(db: sqlite_utils.Database, source_id: str) -> tuple[str | None, str | None]:
    """The ETag and Last-Modified of a source's last good fetch, for a conditional GET."""
    row = db.execute(
        "SELECT etag, last_modified FROM runs WHERE source_id = ? AND status NOT IN ('failed', 'running')"
        " AND http_status = 200 ORDER BY id DESC LIMIT 1",
        [source_id],
    ).fetchone()
    return (row[0] or None, row[1] or None) if row else (None, None)


def last_attempt_at(db: sqlite_utils.Database, source_id: str) -> datetime | None:
    """When a source was last fetched for real (bundled ingests, reparses and file ingests aside)."""
    row = db.execute(
        "SELECT max(started_at) FROM runs WHERE source_id = ? AND trigger NOT IN ('bundled', 'reparse', 'file')",
        [source_id],
    ).fetchone()
    return from_db(row[0]) if row and row[0] else None


def archived_pages(db: sqlite_utils.Database, source_id: str) -> Iterator[dict]:
    """A source's archived pages, oldest first: sha256, url, fetched_at (stored text) and body.

    The list is read first and each body as it is reached (a page may be megabytes), so the
    caller may write between pages; a body pruned meanwhile is skipped.
    """
    pages = list(db.query("SELECT sha256, url, fetched_at FROM pages WHERE source_id = ? ORDER BY fetched_at",
                          [source_id]))
    for page in pages:
        row = db.execute("SELECT body FROM pages WHERE sha256 = ?", [page["sha256"]]).fetchone()
        if row is None:
            continue  # a failed body pruned meanwhile (only the newest few are kept)
        page["body"] = row[0]
        yield page


def rate_rows_of_lanes(
    db: sqlite_utils.Database, lanes: list[str], *, version: int | None = None, provider: str | None = None,
    model: str | None = None,
) -> Iterator[dict]:
    """Every ``rates`` row of these lanes known now (or at ``version``), in rate-key then time order."""
    known, known_params = known_rows(version)
    where = [f"lane IN ({','.join('?' * len(lanes))})", known]
    params: list = [*lanes, *known_params]
    for column, value in (("provider", provider), ("model", model)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    sql = (
        f"SELECT * FROM rates WHERE {' AND '.join(where)}"
        " ORDER BY provider, model, tier, kind, min_prompt_tokens, valid_from"
    )
    return db.query(sql, params)


def _as_known_now(change: dict) -> dict:
    """A change shown as ``confirmed`` when, as known now, it did not move the price (``continued``)."""
    if not change.pop("continued"):
        return change
    return {**change, "action": "confirmed", "old_usd_per_mtok": change["new_usd_per_mtok"],
            "old_basis": change["old_basis"] or change["new_basis"]}


def tier_spans(
    db: sqlite_utils.Database, provider: str, model: str, *, lane: str = OFFICIAL_LANE, version: int | None = None
) -> dict[str, tuple[datetime, datetime | None]]:
    """Per tier, the first moment any rate of it is recorded for the model and when the last one ends (None: open)."""
    known, known_params = known_rows(version)
    spans = {}
    for tier, first, last in db.execute(
        f"SELECT tier, min(valid_from), max(coalesce(valid_to, '9999')) FROM rates WHERE provider = ? AND model = ?"
        f" AND lane = ? AND {known} GROUP BY tier", [provider, model, lane, *known_params],
    ):
        spans[tier] = (from_db(first), None if last == "9999" else from_db(last))
    return spans


def all_tier_spans(db: sqlite_utils.Database) -> dict[tuple[str, str, str], dict[str, tuple[datetime, datetime | None]]]:
    """:func:`tier_spans` of every model and lane as known now, by (lane, provider, model), in one query.

    Read with each snapshot (off the event loop), so a current answer never reads SQLite for them.
    """
    known, known_params = known_rows(None)
    spans: dict[tuple[str, str, str], dict[str, tuple[datetime, datetime | None]]] = defaultdict(dict)
    for lane, provider, model, tier, first, last in db.execute(
        f"SELECT lane, provider, model, tier, min(valid_from), max(coalesce(valid_to, '9999')) FROM rates"
        f" WHERE {known} GROUP BY lane, provider, model, tier", known_params,
    ):
        spans[(lane, provider, model)][tier] = (from_db(first), None if last == "9999" else from_db(last))
    return dict(spans)


def gap_note(spans: Mapping[str, tuple[datetime, datetime | None]], tier: str, at: datetime) -> str:
    """When ``tier``'s prices are recorded, relative to ``at``: " before 2026-08-01", " after ...", " at ..."."""
    span = spans.get(tier)
    if span is None:
        return " at any moment"
    first, last = span
    if at < first:
        return f" before {_day(first)}"
    if last is not None and at >= last:
        return f" after {_day(last)}"
    return f" at {_day(at)}"


def _day(moment: datetime) -> str:
    text = to_db(moment)
    return text[:10] if text.endswith("T00:00:00Z") else text


def current_rate_rows(db: sqlite_utils.Database, now: datetime) -> list[dict]:
    """The ``rates`` rows of the current knowledge in force at or after ``now``, every lane, in catalog order."""
    return list(
        db.query(
            "SELECT * FROM rates WHERE closed_changeset_id IS NULL AND (valid_to IS NULL OR valid_to > ?)"
            " ORDER BY provider, model, tier, kind, min_prompt_tokens, valid_from",
            [to_db(now)],
        )
    )


def provider_names(db: sqlite_utils.Database) -> dict[str, str]:
    """Every provider's display name, by provider id."""
    return {row["id"]: row["display_name"] for row in db.query("SELECT * FROM providers")}


def alias_rows(db: sqlite_utils.Database) -> Iterator[dict]:
    """Every alias row (provider, model, alias), in alias order."""
    return db.query("SELECT provider, model, alias FROM aliases ORDER BY alias")


def model_rows(db: sqlite_utils.Database) -> Iterator[dict]:
    """Every ``models`` row, by provider and model."""
    return db.query("SELECT * FROM models ORDER BY provider, model")


def confirmed_read_times(db: sqlite_utils.Database, statuses: tuple[str, ...]) -> dict[str, datetime]:
    """Per source id, when the page of its latest read ending in one of ``statuses`` was seen.

    A run records the moment its page was seen (``observed_at``); runs older than that
    column fall back to the archived page's fetch time for bundled copies, else to when
    the run finished.
    """
    marks = ",".join("?" * len(statuses))
    # A run still `running` whose changeset is committed has read its page: the snapshot built from that
    # changeset and its freshness then describe one state, before the run's own record is closed.
    rows = db.execute(
        "SELECT source_id, max(coalesce(observed_at, CASE WHEN trigger = 'bundled' THEN"
        " (SELECT fetched_at FROM pages WHERE sha256 = runs.body_sha256) END, finished_at))"
        f" FROM runs WHERE status IN ({marks}) OR (status = 'running' AND observed_at IS NOT NULL AND EXISTS"
        " (SELECT 1 FROM changesets cs WHERE cs.run_id = runs.id AND cs.status = 'applied'))"
        " GROUP BY source_id", list(statuses),
    ).fetchall()
    return {source: from_db(moment) for source, moment in rows if moment}


def latest_run_marks(db: sqlite_utils.Database) -> tuple:
    """(the newest run's id, the latest time any run finished): either is None when there are no runs."""
    return tuple(db.execute("SELECT max(id), max(finished_at) FROM runs").fetchone())


def heartbeat_row(db: sqlite_utils.Database) -> tuple | None:
    """The replication heartbeat row (beat_at as stored, catalog_version), or None if no beat was written.

    Raises ``sqlite3.OperationalError`` when the table does not exist (the writer never replicated).
    """
    row = db.execute("SELECT beat_at, catalog_version FROM replication_heartbeat WHERE id = 1").fetchone()
    return tuple(row) if row else None
