"""The SQLite database: schema, migrations and connection settings.

Tables (the data model in the README's "How it is built"):

- ``providers``, ``models``, ``aliases``: what is priced and the names it goes by.
- ``rates``: one row per interval of one rate, as known from changeset
  ``changeset_id`` until ``closed_changeset_id``. Rows are never edited but
  for that one close: a change supersedes the row in force and appends its
  replacement(s), so the catalog of every past version can be rebuilt exactly. ``lane`` separates the series: ``official`` for a
  provider's authoritative page and curated history, a witness source's id for
  aggregator data, so a witness never overwrites an official value.
- ``changesets`` and ``changes``: each committed refresh that changes anything
  is one changeset; its id is the catalog version. A quarantined changeset
  keeps its proposed changes in ``changes`` until approved or rejected.
- ``runs``: every refresh attempt, successful or not, with the page sections it skipped.
- ``pages``: fetched bodies archived by sha256, so a fixed parser can re-read them.
"""

import os
import sqlite3
from pathlib import Path

import sqlite_utils
from sqlite_utils.migrations import Migrations

MIGRATIONS = Migrations("ratecard")


@MIGRATIONS()
def m001_initial_schema(db: sqlite_utils.Database) -> None:
    """Create the first version of every table and the indexes the queries use."""
    db.execute(
        """
        CREATE TABLE providers (
            id TEXT PRIMARY KEY,
            display_name TEXT NOT NULL
        )"""
    )
    db.execute(
        """
        CREATE TABLE models (
            provider TEXT NOT NULL,
            model TEXT NOT NULL,
            display_name TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'active',
            listed INTEGER NOT NULL DEFAULT 1,
            first_seen TEXT NOT NULL,
            last_seen TEXT NOT NULL,
            PRIMARY KEY (provider, model)
        )"""
    )
    db.execute(
        """
        CREATE TABLE aliases (
            alias_key TEXT NOT NULL,
            alias TEXT NOT NULL,
            provider TEXT NOT NULL,
            model TEXT NOT NULL,
            PRIMARY KEY (alias_key, provider, model)
        )"""
    )
    db.execute(
        """
        CREATE TABLE changesets (
            id INTEGER PRIMARY KEY,
            created_at TEXT NOT NULL,
            source_id TEXT NOT NULL,
            run_id INTEGER,
            status TEXT NOT NULL,
            reason TEXT NOT NULL DEFAULT '',
            decided_at TEXT,
            applied_as INTEGER,
            origin_id INTEGER,
            added INTEGER NOT NULL DEFAULT 0,
            changed INTEGER NOT NULL DEFAULT 0,
            delisted INTEGER NOT NULL DEFAULT 0
        )"""
    )
    db.execute(
        """
        CREATE TABLE changes (
            id INTEGER PRIMARY KEY,
            changeset_id INTEGER NOT NULL REFERENCES changesets(id),
            action TEXT NOT NULL,
            lane TEXT NOT NULL,
            provider TEXT NOT NULL,
            model TEXT NOT NULL,
            tier TEXT NOT NULL,
            kind TEXT NOT NULL,
            min_prompt_tokens INTEGER NOT NULL,
            old_usd_per_mtok TEXT,
            old_basis TEXT,
            new_usd_per_mtok TEXT,
            new_basis TEXT,
            valid_from TEXT NOT NULL,
            valid_to TEXT,
            source_id TEXT NOT NULL,
            url TEXT NOT NULL,
            body_sha256 TEXT NOT NULL,
            run_id INTEGER,
            observed_at TEXT NOT NULL,
            note TEXT NOT NULL DEFAULT '',
            display_name TEXT NOT NULL DEFAULT ''
        )"""
    )
    db.execute("CREATE INDEX changes_by_changeset ON changes (changeset_id)")
    db.execute("CREATE INDEX changes_by_model ON changes (provider, model)")
    db.execute(
        """
        CREATE TABLE rates (
            id INTEGER PRIMARY KEY,
            lane TEXT NOT NULL,
            provider TEXT NOT NULL,
            model TEXT NOT NULL,
            tier TEXT NOT NULL,
            kind TEXT NOT NULL,
            min_prompt_tokens INTEGER NOT NULL,
            usd_per_mtok TEXT,
            basis TEXT NOT NULL,
            valid_from TEXT NOT NULL,
            valid_to TEXT,
            changeset_id INTEGER NOT NULL REFERENCES changesets(id),
            closed_changeset_id INTEGER,
            source_id TEXT NOT NULL,
            url TEXT NOT NULL,
            body_sha256 TEXT NOT NULL,
            run_id INTEGER,
            observed_at TEXT NOT NULL,
            note TEXT NOT NULL DEFAULT ''
        )"""
    )
    db.execute(
        "CREATE INDEX rates_by_model ON rates (provider, model, valid_from)"
    )
    # Rows of the current knowledge (not superseded) by series, for diffs and as-of reads.
    db.execute(
        "CREATE INDEX rates_current ON rates (lane, provider, model, tier, kind, min_prompt_tokens, valid_from)"
        " WHERE closed_changeset_id IS NULL"
    )
    db.execute("CREATE INDEX rates_by_changeset ON rates (changeset_id)")
    db.execute(
        """
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            source_id TEXT NOT NULL,
            trigger TEXT NOT NULL,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            status TEXT NOT NULL,
            url TEXT NOT NULL DEFAULT '',
            http_status INTEGER,
            body_sha256 TEXT NOT NULL DEFAULT '',
            etag TEXT NOT NULL DEFAULT '',
            last_modified TEXT NOT NULL DEFAULT '',
            rows_parsed INTEGER NOT NULL DEFAULT 0,
            changes INTEGER NOT NULL DEFAULT 0,
            changeset_id INTEGER,
            error TEXT NOT NULL DEFAULT ''
        )"""
    )
    db.execute("CREATE INDEX runs_by_source ON runs (source_id, id)")
    db.execute(
        """
        CREATE TABLE pages (
            sha256 TEXT PRIMARY KEY,
            source_id TEXT NOT NULL,
            url TEXT NOT NULL,
            fetched_at TEXT NOT NULL,
            content_type TEXT NOT NULL DEFAULT '',
            size_bytes INTEGER NOT NULL,
            body BLOB NOT NULL
        )"""
    )
    db.execute("CREATE INDEX pages_by_source ON pages (source_id, fetched_at)")


@MIGRATIONS()
def m002_as_of_indexes(db: sqlite_utils.Database) -> None:
    """Index current knowledge for as-of reads of a whole catalog that page in SQL.

    ``rates_current`` is reordered to the order answers are listed in (provider,
    model, tier, kind, min_prompt_tokens), with the lane and interval in the
    index, so a page of rates in force at a moment is a walk of one index that
    stops at the page's end, with no table lookups until the page's rows. The
    diff and curated reads (lane, provider, model, ...) still seek on it.
    ``rates_in_force`` holds each model's intervals in time order, so the
    per-model counts of rows in force at any moment (service/history.py) are
    one grouped walk without a sort.
    """
    db.execute("DROP INDEX rates_current")
    db.execute(
        "CREATE INDEX rates_current ON rates"
        " (provider, model, tier, kind, min_prompt_tokens, lane, valid_from, valid_to)"
        " WHERE closed_changeset_id IS NULL"
    )
    db.execute(
        "CREATE INDEX rates_in_force ON rates (provider, model, valid_from, valid_to, lane, tier, kind)"
        " WHERE closed_changeset_id IS NULL"
    )


@MIGRATIONS()
def m003_run_skipped_sections(db: sqlite_utils.Database) -> None:
    """Keep, with each run, the sections of its page the parser skipped and why.

    ``skipped_sections`` is a JSON array of ``{section, reason, providers,
    models, tiers}`` (scrapers.observation.SkippedSection); ``[]`` for a run
    that read its whole page, and for every run recorded before this.
    """
    db.execute("ALTER TABLE runs ADD COLUMN skipped_sections TEXT NOT NULL DEFAULT '[]'")


@MIGRATIONS()
def m004_rate_claims_and_read_times(db: sqlite_utils.Database) -> None:
    """Keep every source that stated an interval's value, and when each run's page was seen.

    ``rates.also`` is a JSON list of the other sources that stated the same value
    for the interval (empty text: none), so a source taking over a rate at the
    same value keeps one interval with both provenances (service/changesets.py).
    ``runs.observed_at`` is when the page a run read was seen (a bundled copy is
    older than the run), which dates the prices a successful read confirms.
    """
    db.execute("ALTER TABLE rates ADD COLUMN also TEXT NOT NULL DEFAULT ''")
    db.execute("ALTER TABLE runs ADD COLUMN observed_at TEXT")


# How a storage failure is worded on a run, so it reads apart from a page's fault.
STORAGE_ERROR = "storage error"


class StorageError(RuntimeError):
    """SQLite failed under a run (disk full, locked past the busy timeout, a table missing).

    The message is one line, ``storage error: <SQLite's words>``, ready for a
    run record, a 503 problem and the CLI.
    """


def storage_error(exc: sqlite3.Error) -> StorageError:
    """Wrap a SQLite error as a :class:`StorageError` whose message names SQLite's reason."""
    return StorageError(f"{STORAGE_ERROR}: {type(exc).__name__}: {exc}")


class DatabaseRefused(RuntimeError):
    """A database file ratecard will not open: empty, unreadable, not SQLite, or from a newer build.

    Each of these would otherwise be "fixed" silently: an empty file re-bootstrapped
    over (its history gone without a word), a newer schema written into with
    defaults. The message says what was found and what an operator can do.
    """


def open_database(path: str | Path | None) -> sqlite_utils.Database:
    """Open (creating if needed) the database at ``path``, or in memory for None, and migrate it.

    File databases use WAL so readers never block the writer, and a busy
    timeout so a second process waits for a lock instead of failing.
    Raises :class:`DatabaseRefused` for an existing file that is empty,
    unreadable, not a database, or migrated by a newer ratecard.
    """
    # Autocommit mode: every transaction is explicit (write_transaction), never implicit.
    if path is None:
        db = sqlite_utils.Database(sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None))
    else:
        refuse_unusable_file(Path(path))
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = sqlite3.connect(str(path), timeout=30, check_same_thread=False, isolation_level=None)
            db = sqlite_utils.Database(conn)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.DatabaseError as exc:
            raise DatabaseRefused(
                f"database {path} cannot be read ({exc}); it is left as it is: restore a backup or move it away"
            ) from exc
    db.execute("PRAGMA busy_timeout=30000")
    db.execute("PRAGMA foreign_keys=ON")
    refuse_unknown_migrations(db, path)
    MIGRATIONS.apply(db)
    return db


class NotARatecardDatabase(Exception):
    """A file opened read-only is missing, or is not a ratecard database; the message says which."""


def open_read_only(path: str | Path) -> sqlite_utils.Database:
    """Open an existing database for reading only: nothing is created, migrated or written.

    ``mode=ro`` first, which sees commits made by a writer on the same host
    (through the WAL index). A file on a read-only volume whose WAL index
    cannot be opened is opened ``immutable=1`` instead: SQLite then takes no
    locks, which is right only because nothing can change such a file.
    """
    if not Path(path).is_file():
        raise NotARatecardDatabase(f"{path}: no such database file (read-only serving never creates one)")
    uri = Path(path).resolve().as_uri()
    try:
        db = _connect_read_only(f"{uri}?mode=ro")
    except sqlite3.OperationalError:
        db = _connect_read_only(f"{uri}?immutable=1")
    names = set(db.table_names())
    if "changesets" not in names or "rates" not in names:
        db.close()
        raise NotARatecardDatabase(f"{path}: not a ratecard database (no changesets or rates table)")
    return db


def _connect_read_only(uri: str) -> sqlite_utils.Database:
    conn = sqlite3.connect(uri, uri=True, timeout=30, check_same_thread=False, isolation_level=None)
    db = sqlite_utils.Database(conn)
    try:
        db.execute("PRAGMA query_only=ON")  # a second guard: even a bug cannot write through this handle
        db.execute("PRAGMA busy_timeout=30000")
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()  # opens the file now, not on first use
    except sqlite3.OperationalError:
        conn.close()
        raise
    return db


def refuse_unusable_file(path: Path) -> None:
    """Raise :class:`DatabaseRefused` for an existing file that must not be opened, let alone replaced.

    A missing file is a fresh install. An existing zero-length one is not: it
    is what a truncation, a failed restore or a full disk leaves, and
    bootstrapping over it would hide the loss of every recorded price.
    """
    if not path.exists():
        return
    if not path.is_file():
        raise DatabaseRefused(f"database {path} is not a regular file")
    if not os.access(path, os.R_OK | os.W_OK):
        raise DatabaseRefused(f"database {path} is not readable and writable by this user; fix its permissions")
    if path.stat().st_size == 0:
        raise DatabaseRefused(
            f"database {path} exists but is empty (0 bytes): refusing to start a new catalog over it. "
            "Restore it from a backup, or delete the file to start afresh from the bundled pages"
        )


def refuse_unknown_migrations(db: sqlite_utils.Database, path: str | Path | None) -> None:
    """Raise :class:`DatabaseRefused` when the database holds migrations this build does not know.

    A newer ratecard may have added columns or tables whose rules this build
    cannot keep; writing into such a database would break it for both.
    """
    known = {m.name for m in MIGRATIONS._migrations}
    unknown = [m.name for m in MIGRATIONS.applied(db) if m.name not in known]
    if unknown:
        raise DatabaseRefused(
            f"database {path or ':memory:'} was migrated by a newer ratecard (unknown migrations: "
            f"{', '.join(unknown)}); run that version, or restore a backup made by this one"
        )


class DatabaseFileGuard:
    """Notices when the database file is cut short or replaced under a running process.

    SQLite keeps answering from its page cache and the WAL for a while after
    the file is truncated, so a query alone can say "fine" while reads of
    older pages fail. ratecard never shrinks its file (no VACUUM, no
    auto_vacuum; checkpoints only grow it), so a file smaller than it has
    been, or another file at the path, means the data under the process is gone.
    """

    def __init__(self, path: str | Path | None) -> None:
        self.path = None if path is None else Path(path)
        self.identity, self.largest = self._stat()

    def _stat(self) -> tuple[tuple[int, int] | None, int]:
        if self.path is None:
            return None, 0
        try:
            st = self.path.stat()
        except OSError:
            return None, -1
        return (st.st_dev, st.st_ino), st.st_size

    def intact(self) -> bool:
        """False once the file is missing, replaced or smaller than it has been."""
        if self.path is None:
            return True
        identity, size = self._stat()
        if identity is None or identity != self.identity or size < self.largest:
            return False
        self.largest = size
        return True


def database_answers(db: sqlite_utils.Database) -> bool:
    """Whether the database still answers the reads the service depends on (readiness).

    Reads the newest changeset and a run through their indexes: cheap, and a
    file truncated or overwritten under a live server fails it (no such
    table, malformed image, not a database) instead of failing requests later.
    """
    try:
        db.execute("SELECT max(id) FROM changesets").fetchone()
        db.execute("SELECT id FROM runs ORDER BY id DESC LIMIT 1").fetchone()
        db.execute("SELECT id FROM rates ORDER BY id DESC LIMIT 1").fetchone()
    except sqlite3.Error:
        return False
    return True


def data_version(db: sqlite_utils.Database) -> int:
    """The latest catalog version: the id of the newest applied changeset, 0 if none."""
    row = db.execute("SELECT max(id) FROM changesets WHERE status = 'applied'").fetchone()
    return row[0] or 0


class write_transaction:  # noqa: N801 - used as a context manager, reads like a statement
    """``with write_transaction(db):`` runs the block in one BEGIN IMMEDIATE transaction.

    IMMEDIATE takes the write lock up front, so a second writer waits on the
    busy timeout instead of failing half-way when it upgrades a read lock.

    Inside a transaction already open on the connection it nests as a
    SAVEPOINT, so a step that commits on its own (record_changeset) can also
    be one part of a larger transaction (diff, gate and commit together).
    """

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db
        self.nested = False

    def __enter__(self) -> sqlite_utils.Database:
        self.nested = self.db.conn.in_transaction
        self.db.execute("SAVEPOINT write_transaction" if self.nested else "BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.nested:
            if exc_type:
                self.db.execute("ROLLBACK TO write_transaction")
            self.db.execute("RELEASE write_transaction")
        elif exc_type:
            # After some errors (SQLITE_FULL, an I/O error) SQLite has already rolled back.
            if self.db.conn.in_transaction:
                self.db.execute("ROLLBACK")
        else:
            self.db.execute("COMMIT")


class read_snapshot:  # noqa: N801 - used as a context manager, reads like a statement
    """``with read_snapshot(db):`` runs several reads against one committed state of the database.

    In autocommit mode each statement sees the newest commit, so a reader that
    asks for the version and then for the rates could pair one version with
    the next one's rows when another process commits in between. A SAVEPOINT
    opens a deferred read transaction, which under WAL keeps one snapshot
    until it is released; inside a caller's transaction it simply nests.
    """

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

    def __enter__(self) -> sqlite_utils.Database:
        self.db.execute("SAVEPOINT read_snapshot")
        return self.db

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type:
            self.db.execute("ROLLBACK TO read_snapshot")
        self.db.execute("RELEASE read_snapshot")


def upsert_catalog_model(db: sqlite_utils.Database, *, provider: str, model: str, display_name: str, status: str,
                         aliases: list[tuple[str, str]], stamp: str) -> None:
    """Record one model-catalog entry: its provider (if new), its model row and its ``(alias_key, alias)`` pairs.

    A known provider keeps its display name; a known model takes the entry's display name and
    status but keeps when it was first and last seen; known aliases are kept as they are.
    """
    db.execute(
        "INSERT INTO providers (id, display_name) VALUES (?, ?) ON CONFLICT(id) DO NOTHING",
        [provider, provider],
    )
    db.execute(
        """INSERT INTO models (provider, model, display_name, status, listed, first_seen, last_seen)
           VALUES (?, ?, ?, ?, 1, ?, ?)
           ON CONFLICT(provider, model) DO UPDATE SET
             display_name = excluded.display_name, status = excluded.status""",
        [provider, model, display_name, status, stamp, stamp],
    )
    for alias_key, alias in aliases:
        db.execute(
            "INSERT OR IGNORE INTO aliases (alias_key, alias, provider, model) VALUES (?, ?, ?, ?)",
            [alias_key, alias, provider, model],
        )


def create_heartbeat_table(conn: sqlite3.Connection) -> None:
    """Create the one-row ``replication_heartbeat`` table if it is missing (only replicating writers have it)."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS replication_heartbeat (id INTEGER PRIMARY KEY CHECK (id = 1),"
        " beat_at TEXT NOT NULL, catalog_version INTEGER NOT NULL)")


def write_heartbeat(conn: sqlite3.Connection, *, beat_at: str, catalog_version: int) -> None:
    """Rewrite the heartbeat row: when the writer beat (as stored) and its catalog version then."""
    conn.execute("INSERT OR REPLACE INTO replication_heartbeat (id, beat_at, catalog_version) VALUES (1, ?, ?)",
                 [beat_at, catalog_version])
