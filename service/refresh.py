"""One refresh of one source: archive, parse, validate, diff, gate, commit, and record the run.

These are the refresh steps after the fetch (README, "Keeping current"), for a
body already in hand (from a file, a bundled snapshot or :mod:`scrapers.fetch`). Every attempt leaves a
``runs`` row saying how it ended; a failure stores no rates.
"""

import hashlib
import logging
import sqlite3
from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal

import msgspec
import sqlite_utils

from ratecard.scrapers import get_parser
from ratecard.scrapers.errors import ScrapeError
from ratecard.scrapers.names import model_named_then
from ratecard.scrapers.observation import Observation, Reading, SkippedSection
from ratecard.scrapers.redact import redact_text, redact_url
from ratecard.scrapers.vocabulary import BASES, KINDS, TIERS
from ratecard.service.changesets import (
    DELISTED,
    RELISTED,
    Change,
    ChangesetConflict,
    Proposal,
    diff,
    gate,
    record_changeset,
    withdrawals,
)
from ratecard.service.db import STORAGE_ERROR, StorageError, storage_error, write_transaction
from ratecard.service.sources import Source
from ratecard.service.timeutil import to_db

log = logging.getLogger("ratecard.refresh")

# No model has been priced above $600 per 1M tokens (o1-pro's output); a price 150x that is a
# unit mistake (a per-1M price read as per-token is 10^6 too large), never a real one.
MAX_USD_PER_MTOK = Decimal(100_000)

# How a run ended. `partial`: some sections of the page could not be read (the run lists them)
# and the rest was read and committed as with `changed` / `no_change` (changeset id and change
# count when something changed). A gated diff is `quarantined` even on a partial page.
CHANGED, NO_CHANGE, UNCHANGED, QUARANTINED, FAILED = "changed", "no_change", "unchanged", "quarantined", "failed"
PARTIAL = "partial"
RUN_STATUSES = ("running", CHANGED, NO_CHANGE, PARTIAL, UNCHANGED, QUARANTINED, FAILED)
# Runs whose body was read successfully; an identical body after one of them is `unchanged`.
_READ_OK = (CHANGED, NO_CHANGE, PARTIAL, UNCHANGED, QUARANTINED)
# Runs that parsed their body: the newest one's skipped sections describe the page now read.
PARSED_STATUSES = (CHANGED, NO_CHANGE, PARTIAL, QUARANTINED)


class RunResult(msgspec.Struct, frozen=True, kw_only=True):
    """How a refresh ended: the run id, its status, and the changeset it made if any."""

    run_id: int
    source_id: str
    status: str
    changeset_id: int | None = None
    rows_parsed: int = 0
    changes: int = 0
    error: str = ""
    skipped: tuple[SkippedSection, ...] = ()


# Bodies of failed runs kept per source (the newest); older ones are deleted unless a stored rate,
# change or successful run points at them. A rejected body (a challenge page, random bytes, an
# error page) is evidence for a while, not history.
FAILED_BODIES_KEPT = 20

class ValidationFailed(ScrapeError):
    """Parsed rates break a rule no real price page breaks (negative, batch above standard...)."""


class ParserCrashed(ScrapeError):
    """The parser raised something other than a ScrapeError: a bug it met on an unexpected page."""


def parse_page(source: Source, body: bytes, url: str) -> Reading:
    """Run the source's parser; any exception it raises becomes a ScrapeError, so the run records it.

    A parser is meant to reject a page it does not recognise with a named
    ScrapeError, but a mangled page can still trip an IndexError deep inside
    one. That must end the run as `failed` with the reason (and the traceback
    in the log), not escape the pipeline and leave the run `running`.
    """
    try:
        return get_parser(source.parser)(body, url)
    except ScrapeError:
        raise
    except Exception as exc:
        log.warning("parser %s crashed on %s", source.parser, url, exc_info=True)
        raise ParserCrashed(f"parser {source.parser} crashed: {type(exc).__name__}: {exc}", url=url) from exc


def start_run(db: sqlite_utils.Database, source: Source, *, trigger: str, url: str, now: datetime) -> int:
    """Record the start of a run and return its id; a SQLite failure is a :class:`StorageError`.

    Failures that could not be written earlier (the database was locked or
    full at the time) are written first.
    """
    try:
        record_deferred_failures(db)
        return db["runs"].insert(
            {"source_id": source.id, "trigger": trigger, "started_at": to_db(now), "status": "running",
             "url": redact_url(url)}
        ).last_pk
    except sqlite3.Error as exc:
        raise storage_error(exc) from exc


def finish_run(db: sqlite_utils.Database, run_id: int, result_fields: dict, *, now: datetime) -> None:
    """Record how a run ended (its error text redacted of credentials)."""
    if "error" in result_fields:
        result_fields = {**result_fields, "error": redact_text(result_fields["error"])}
    db["runs"].update(run_id, {**result_fields, "finished_at": to_db(now)})


# Run failures the database refused to record when they happened, by database file:
# (run id, error, finished_at), written by the next start_run on that database.
_deferred_failures: dict[str, list[tuple[int, str, str]]] = defaultdict(list)


def _database_key(db: sqlite_utils.Database) -> str:
    return db.conn.execute("PRAGMA database_list").fetchone()[2] or f":memory:{id(db.conn)}"


def fail_run(db: sqlite_utils.Database, run_id: int, error: str, *, now: datetime, fields: dict | None = None) -> None:
    """Record a run as failed with ``error``, even when the database is what failed.

    A run must never stay ``running``: when the write of the failure fails
    too (the lock is still held, the disk still full), it is tried once more
    without the other fields, and if that fails as well it is kept in memory
    and written by the next :func:`start_run` on the same database.
    """
    error = redact_text(error)
    try:
        finish_run(db, run_id, {**(fields or {}), "status": FAILED, "error": error}, now=now)
        return
    except sqlite3.Error:
        pass
    try:
        if db.conn.in_transaction:
            db.execute("ROLLBACK")
        db.execute("UPDATE runs SET status = ?, error = ?, finished_at = ? WHERE id = ?",
                   [FAILED, error, to_db(now), run_id])
    except sqlite3.Error:
        log.error("run %s failed (%s); recording it when the database takes writes again", run_id, error)
        try:
            _deferred_failures[_database_key(db)].append((run_id, error, to_db(now)))
        except sqlite3.Error:
            log.error("run %s failed (%s) and could not be recorded", run_id, error, exc_info=True)


def record_deferred_failures(db: sqlite_utils.Database) -> int:
    """Write the run failures the database could not take when they happened; return how many."""
    if not _deferred_failures:
        return 0
    pending = _deferred_failures.get(_database_key(db))
    written = 0
    while pending:
        run_id, error, finished_at = pending[0]
        db.execute("UPDATE runs SET status = ?, error = ?, finished_at = ? WHERE id = ? AND status = 'running'",
                   [FAILED, error, finished_at, run_id])
        pending.pop(0)
        written += 1
    return written


# A run fetches with at most 4 attempts of 10 s + 30 s plus capped backoff and parses in under a
# second; one still `running` this long after it started belongs to a process that died.
ABANDONED_AFTER = timedelta(hours=1)


def close_abandoned_runs(db: sqlite_utils.Database, *, now: datetime) -> int:
    """Mark runs left `running` by a process that was killed as failed, saying so; return how many.

    The changeset such a run was writing is all or nothing (one transaction),
    so only the run record is left open; this closes it for /v1/runs and /v1/sources.
    """
    cursor = db.execute(
        "UPDATE runs SET status = ?, finished_at = ?, error = ? WHERE status = 'running' AND started_at < ?",
        [FAILED, to_db(now), "interrupted: the process ended before the run finished", to_db(now - ABANDONED_AFTER)],
    )
    db.conn.commit()
    return cursor.rowcount


def ingest_page(
    db: sqlite_utils.Database,
    source: Source,
    body: bytes,
    *,
    url: str,
    fetched_at: datetime,
    now: datetime,
    trigger: str,
    observed_at: datetime | None = None,
    http_status: int | None = None,
    etag: str = "",
    last_modified: str = "",
    content_type: str = "",
    run_id: int | None = None,
    force: bool = False,
) -> RunResult:
    """Run steps 3 to 7 for one body and record the run; never raises for a bad page.

    ``observed_at`` (default ``fetched_at``) becomes the ``valid_from`` of any
    change: a bundled snapshot or an old file is dated by when it was seen.
    ``force`` parses even a body identical to the last one (a reparse).
    Sections the parser skipped are stored with the run, which ends `partial`
    (or `quarantined` when gated); the models they may price are never taken
    as gone (:func:`shielded_models`).
    """
    observed_at = observed_at or fetched_at
    url = redact_url(url)  # stored as provenance and shown publicly: never with credentials
    if run_id is None:
        run_id = start_run(db, source, trigger=trigger, url=url, now=now)
    sha = hashlib.sha256(body).hexdigest()
    fields = {"http_status": http_status, "body_sha256": sha, "etag": etag, "last_modified": last_modified,
              "observed_at": to_db(observed_at)}  # when the page read was seen: what a success confirms
    try:
        return _ingest(db, source, body, run_id=run_id, sha=sha, fields=fields, url=url, fetched_at=fetched_at,
                       observed_at=observed_at, now=now, content_type=content_type, force=force)
    except sqlite3.Error as exc:
        # A storage failure is the run's outcome, not a crash: recorded with SQLite's reason.
        error = str(storage_error(exc))
        log.error("refresh of %s: %s", source.id, error)
        fail_run(db, run_id, error, now=now, fields=fields)
        return RunResult(run_id=run_id, source_id=source.id, status=FAILED, error=error)


def _ingest(
    db: sqlite_utils.Database,
    source: Source,
    body: bytes,
    *,
    run_id: int,
    sha: str,
    fields: dict,
    url: str,
    fetched_at: datetime,
    observed_at: datetime,
    now: datetime,
    content_type: str,
    force: bool,
) -> RunResult:
    previous = db.execute(
        f"SELECT body_sha256 FROM runs WHERE source_id = ? AND id < ? AND status IN ({','.join('?' * len(_READ_OK))})"
        " ORDER BY id DESC LIMIT 1",
        [source.id, run_id, *_READ_OK],
    ).fetchone()
    archive_page(db, source.id, url, body, fetched_at=fetched_at, content_type=content_type)
    # When the page was seen, before any changeset: a read that commits one confirms its prices from then.
    db.execute("UPDATE runs SET observed_at = ? WHERE id = ?", [to_db(observed_at), run_id])
    if previous and previous[0] == sha and not force:
        finish_run(db, run_id, {**fields, "status": UNCHANGED}, now=now)
        return RunResult(run_id=run_id, source_id=source.id, status=UNCHANGED)
    skipped: list[SkippedSection] = []
    try:
        # Parsing needs no lock; it stays outside the write transaction.
        reading = parse_page(source, body, url)
        parsed, skipped = reading.observations, reading.skipped
        fields["skipped_sections"] = dump_skipped(skipped)
        observations = validate_observations(parsed, source, url=url)
        # Diff, gate and commit see one state: with the write lock held from the diff on, a
        # second writer of this source diffs against this commit, never against what it replaced.
        with write_transaction(db):
            shielded = shielded_models(db, source, skipped)
            changes = _changes_for(db, source, observations, shielded, url=url, sha=sha, run_id=run_id,
                                   observed_at=observed_at)
            reasons = gate(changes, _listed_counts(db, source, shielded)) if changes else []
            changeset_id = (
                record_changeset(db, changes, source_id=source.id, run_id=run_id, now=now, quarantine_reasons=reasons)
                if changes
                else None
            )
    except (ScrapeError, ChangesetConflict) as exc:
        finish_run(db, run_id, {**fields, "status": FAILED, "error": str(exc)}, now=now)
        prune_failed_pages(db, source.id)
        return RunResult(run_id=run_id, source_id=source.id, status=FAILED, error=redact_text(str(exc)),
                         skipped=tuple(skipped))
    status = QUARANTINED if reasons else PARTIAL if skipped else CHANGED if changes else NO_CHANGE
    dropped = len(parsed) - len(observations)
    error = "; ".join(reasons + ([f"dropped {dropped} inconsistent witness rate(s)"] if dropped else []))
    finish_run(
        db,
        run_id,
        {**fields, "status": status, "rows_parsed": len(parsed), "changes": len(changes),
         "changeset_id": changeset_id, "error": error},
        now=now,
    )
    return RunResult(
        run_id=run_id, source_id=source.id, status=status, changeset_id=changeset_id,
        rows_parsed=len(parsed), changes=len(changes), error=error, skipped=tuple(skipped),
    )


def dump_skipped(skipped: list[SkippedSection]) -> str:
    """The skipped sections as the JSON text stored in ``runs.skipped_sections``."""
    return _SKIPPED_ENCODER.encode(skipped).decode()


def load_skipped(text: str | None) -> list[SkippedSection]:
    """The skipped sections a run stored (none for runs recorded before they were kept)."""
    return _SKIPPED_DECODER.decode(text) if text else []


_SKIPPED_ENCODER = msgspec.json.Encoder()
_SKIPPED_DECODER = msgspec.json.Decoder(list[SkippedSection])


def prune_failed_pages(db: sqlite_utils.Database, source_id: str, *, keep: int = FAILED_BODIES_KEPT) -> int:
    """Delete archived bodies that only failed runs point at, beyond the newest ``keep`` of a source.

    A body a rate, a change or a successful run names is provenance and is
    never deleted. Returns how many bodies went.
    """
    cursor = db.execute(
        """DELETE FROM pages WHERE sha256 IN (
               SELECT sha256 FROM pages
               WHERE source_id = :source
                 AND NOT EXISTS (SELECT 1 FROM runs WHERE runs.body_sha256 = pages.sha256 AND runs.status != :failed)
                 AND NOT EXISTS (SELECT 1 FROM rates WHERE rates.body_sha256 = pages.sha256)
                 AND NOT EXISTS (SELECT 1 FROM changes WHERE changes.body_sha256 = pages.sha256)
               ORDER BY fetched_at DESC, rowid DESC
               LIMIT -1 OFFSET :keep)""",
        {"source": source_id, "failed": FAILED, "keep": keep},
    )
    return cursor.rowcount


def archive_page(
    db: sqlite_utils.Database, source_id: str, url: str, body: bytes, *, fetched_at: datetime, content_type: str = ""
) -> str:
    """Store a body by its sha256 (once), so a fixed parser can re-read it; return the hash."""
    sha = hashlib.sha256(body).hexdigest()
    db.execute(
        "INSERT OR IGNORE INTO pages (sha256, source_id, url, fetched_at, content_type, size_bytes, body)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        [sha, source_id, url, to_db(fetched_at), content_type, len(body), body],
    )
    return sha


def validate_observations(observations: list[Observation], source: Source, *, url: str) -> list[Observation]:
    """Check a parse against rules no real price page breaks (step 4); return what may be stored.

    An authoritative page that breaks a rule is rejected whole: its parser or
    the page is wrong. A witness feed keeps its other rates and drops the
    inconsistent ones: an aggregator's typo in one model says nothing of the rest.
    """
    problems = find_problems(observations, source)
    if not problems:
        return observations
    if source.role == "authoritative" or not observations or any(key is None for key, _ in problems):
        shown = "; ".join(m for _, m in problems[:5]) + (f" (and {len(problems) - 5} more)" if len(problems) > 5 else "")
        raise ValidationFailed(f"validation failed: {shown}", url=url)
    bad_models = {key[:2] for key, _ in problems}
    return [o for o in observations if o.key[:2] not in bad_models]


def find_problems(observations: list[Observation], source: Source) -> list[tuple[tuple | None, str]]:
    """Every broken rule as (rate key or None for the whole page, message)."""
    problems: list[tuple[tuple | None, str]] = []
    if not observations:
        problems.append((None, "the parser returned no rates"))
    # A rate may be stated twice only as a dated pair (a promotion and the price after it), so
    # statements are keyed by when they start; the cross-checks compare rates of one moment.
    values: dict[tuple, object] = {}
    for o in observations:
        where = f"{o.provider}/{o.model} {o.tier} {o.kind}"
        if (*o.key, o.valid_from) in values:
            problems.append((o.key, f"{where}: stated twice"))
        if o.valid_from is not None and o.valid_to is not None and o.valid_to <= o.valid_from:
            problems.append((o.key, f"{where}: ends ({o.valid_to.isoformat()}) before it starts"))
        if o.tier not in TIERS or o.kind not in KINDS or o.basis not in BASES:
            problems.append((o.key, f"{where}: unknown tier, kind or basis {o.basis!r}"))
        if (o.usd_per_mtok is None) != (o.basis == "not_offered"):
            problems.append((o.key, f"{where}: a price must be given exactly when the rate is offered"))
        elif o.usd_per_mtok is not None and o.usd_per_mtok < 0:
            problems.append((o.key, f"{where}: negative price {o.usd_per_mtok}"))
        elif o.usd_per_mtok is not None and o.usd_per_mtok > MAX_USD_PER_MTOK:
            problems.append((o.key, f"{where}: {o.usd_per_mtok} USD per 1M tokens is beyond any real price "
                                    f"(at most {MAX_USD_PER_MTOK}): a unit read wrong?"))
        if source.role == "authoritative" and o.provider not in source.providers:
            problems.append((o.key, f"{where}: provider not served by source {source.id}"))
        values[(*o.key, o.valid_from)] = o.usd_per_mtok
    for o in observations:
        if o.valid_to is not None and (*o.key, o.valid_to) not in values:
            # The ledger closes an interval only by opening the next one: a dated end needs
            # the price after it, or budgets past that moment would get no price at all.
            problems.append((o.key, f"{o.provider}/{o.model} {o.tier} {o.kind}: ends {o.valid_to.isoformat()} "
                                    "but the page gives no price from then"))
    for (provider, model, tier, kind, mpt, since), value in values.items():
        key = (provider, model, tier, kind, mpt)
        if value is None:
            continue
        standard = values.get((provider, model, "standard", kind, mpt, since))
        if tier == "batch" and standard is not None and value > standard:
            problems.append((key, f"{provider}/{model} batch {kind} {value} is above standard {standard}"))
        plain = values.get((provider, model, tier, "input", mpt, since))
        if kind == "cached_input" and plain is not None and value > plain:
            problems.append((key, f"{provider}/{model} {tier} cached input {value} is above input {plain}"))
    return problems


def _changes_for(
    db: sqlite_utils.Database,
    source: Source,
    observations: list[Observation],
    shielded: set[tuple[str, str]],
    *,
    url: str,
    sha: str,
    run_id: int,
    observed_at: datetime,
) -> list[Change]:
    # A rate the page dates starts when it says (the list price after a promotion); any other
    # from when the page was seen. A promotion already over when the page is seen is not
    # proposed: the price after it, stated beside it, is what holds.
    proposals = [
        Proposal(
            lane=source.lane,
            provider=o.provider,
            model=_model_then(source, o, observed_at),
            tier=o.tier,
            kind=o.kind,
            min_prompt_tokens=o.min_prompt_tokens,
            usd_per_mtok=o.usd_per_mtok,
            basis=o.basis,
            valid_from=o.valid_from or observed_at,
            source_id=source.id,
            url=url,
            body_sha256=sha,
            run_id=run_id,
            observed_at=observed_at,
            note=o.note,
            display_name="" if _model_then(source, o, observed_at) != o.model else o.display_name,
        )
        for o in sorted(observations, key=lambda o: o.valid_from or observed_at)
        if o.valid_to is None or o.valid_to > observed_at
    ]
    if source.role == "witness":
        proposals = _exactly_named_first(proposals)
    # This reading is the source's word on the future too: a price it scheduled and no longer
    # states is withdrawn, unless a skipped section may still hold it.
    template = Proposal(
        lane=source.lane, provider="", model="", tier="", kind="", min_prompt_tokens=0, usd_per_mtok=None,
        basis="", valid_from=observed_at, source_id=source.id, url=url, body_sha256=sha, run_id=run_id,
        observed_at=observed_at,
    )
    withdrawn = withdrawals(db, proposals, template=template, shielded=shielded)
    changes = diff(db, proposals, withdrawn) + withdrawn
    if source.role == "authoritative":
        changes += _listing_changes(db, source, proposals, shielded)
    return changes


def _exactly_named_first(proposals: list[Proposal]) -> list[Proposal]:
    """One proposal per rate and moment: a row a dated alias moved to a model yields to the row named by it."""
    named = {(p.key, p.valid_from) for p in proposals if p.display_name}
    return [p for p in proposals if p.display_name or (p.key, p.valid_from) not in named]


def _model_then(source: Source, o: Observation, observed_at: datetime) -> str:
    """A witness row's model as its name meant when the row was seen (data/models: dated_aliases)."""
    if source.role != "witness" or not o.display_name:
        return o.model
    return model_named_then(o.provider, o.display_name, to_db(observed_at)[:10]) or o.model


def _listing_changes(
    db: sqlite_utils.Database, source: Source, proposals: list[Proposal], shielded: set[tuple[str, str]]
) -> list[Change]:
    """Models that left the page (delisted: their rates stay) or came back (relisted).

    A model a skipped section may hold (``shielded``) is not delisted: the page
    may still list it where the parser could not read.
    """
    on_page = {(p.provider, p.model): p for p in proposals}
    template = proposals[0]
    changes: list[Change] = []
    for provider in source.providers:
        for row in db.query(
            "SELECT model, listed FROM models WHERE provider = ? AND EXISTS"
            " (SELECT 1 FROM rates WHERE rates.provider = models.provider AND rates.model = models.model"
            "  AND rates.lane = ?)",
            [provider, source.lane],
        ):
            present = (provider, row["model"]) in on_page
            if row["listed"] and not present and (provider, row["model"]) not in shielded:
                action = DELISTED
            elif not row["listed"] and present:
                action = RELISTED
            else:
                continue
            event = msgspec.structs.replace(
                template, provider=provider, model=row["model"], tier="", kind="", min_prompt_tokens=0,
                usd_per_mtok=None, basis="", note="", display_name="",
            )
            changes.append(Change(action=action, proposal=event))
    return changes


def _listed_counts(db: sqlite_utils.Database, source: Source, shielded: set[tuple[str, str]]) -> dict[str, int]:
    """Listed models per provider that the read sections cover: the vanishing gate's denominator.

    Models a skipped section may hold can neither vanish nor count towards the
    share that did, so the 20% rule measures only what the page let us read.
    """
    counts: dict[str, int] = defaultdict(int)
    for provider in source.providers:
        for (model,) in db.execute(
            "SELECT model FROM models WHERE provider = ? AND listed = 1 AND EXISTS"
            " (SELECT 1 FROM rates WHERE rates.provider = models.provider AND rates.model = models.model"
            "  AND rates.lane = ?)",
            [provider, source.lane],
        ).fetchall():
            counts[provider] += (provider, model) not in shielded
    return counts


def shielded_models(
    db: sqlite_utils.Database, source: Source, skipped: list[SkippedSection]
) -> set[tuple[str, str]]:
    """The (provider, model) pairs of this source's lane that some skipped section may price.

    A section's scope is read as a filter where empty means "any": no
    providers means any of the source's providers, no models any model, and
    tiers limit it to models that have a rate in one of those tiers. A section
    with an empty scope therefore shields every model of the source.
    """
    if not skipped:
        return set()
    shielded: set[tuple[str, str]] = set()
    for provider in source.providers:
        tiers_by_model: dict[str, set[str]] = defaultdict(set)
        for model, tier in db.execute(
            "SELECT DISTINCT model, tier FROM rates WHERE closed_changeset_id IS NULL AND lane = ? AND provider = ?",
            [source.lane, provider],
        ).fetchall():
            tiers_by_model[model].add(tier)
        for model, tiers in tiers_by_model.items():
            if any(
                (not s.providers or provider in s.providers)
                and (not s.models or model in s.models)
                and (not s.tiers or tiers & set(s.tiers))
                for s in skipped
            ):
                shielded.add((provider, model))
    return shielded
