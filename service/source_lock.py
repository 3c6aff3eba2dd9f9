"""One refresh of a source at a time, whoever starts it: the scheduler, the admin API or the CLI.

The lock is an exclusive, non-blocking ``flock`` on ``<db>.refresh-<source>.lock``
beside the database file. ``flock`` locks belong to an open file, so two
holders in one process exclude each other as well as two processes do, and
the OS drops a lock when its holder dies: a killed refresh never leaves a
source locked. An in-memory database (tests) has no file to lock beside;
its locks are a set kept in this process.

A refresh that finds its source locked does not wait and does not start a
second fetch: it reports :class:`RefreshInProgress`.
"""

import fcntl
import re
import threading
from pathlib import Path

_memory_held: set[tuple[int, str]] = set()
_memory_guard = threading.Lock()


class RefreshInProgress(RuntimeError):
    """Another refresh of this source (in this process or another) holds its lock."""

    def __init__(self, source_id: str) -> None:
        super().__init__(f"a refresh of {source_id} is already running")
        self.source_id = source_id


class SourceLock:
    """The refresh lock of one source of one database; ``acquire`` never blocks.

    ``key`` is the database path, or for an in-memory database any object
    standing for it (the Database instance).
    """

    def __init__(self, key: str | object | None, source_id: str) -> None:
        self.source_id = source_id
        self.path = Path(f"{key}.refresh-{_safe(source_id)}.lock") if isinstance(key, str) else None
        self.memory_key = (id(key), source_id)
        self.handle = None
        self.held = False

    def acquire(self) -> None:
        """Take the lock or raise :class:`RefreshInProgress`."""
        if self.held:
            raise RefreshInProgress(self.source_id)
        if self.path is None:
            with _memory_guard:
                if self.memory_key in _memory_held:
                    raise RefreshInProgress(self.source_id)
                _memory_held.add(self.memory_key)
            self.held = True
            return
        handle = open(self.path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise RefreshInProgress(self.source_id) from None
        self.handle, self.held = handle, True

    def release(self) -> None:
        """Give the lock back (idempotent)."""
        if not self.held:
            return
        self.held = False
        if self.path is None:
            with _memory_guard:
                _memory_held.discard(self.memory_key)
        elif self.handle is not None:
            self.handle.close()  # closing the file drops the flock
            self.handle = None

    def __enter__(self) -> "SourceLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def source_lock(db_path: str | None, db: object, source_id: str) -> SourceLock:
    """The lock for refreshing ``source_id`` of the database at ``db_path`` (or the in-memory ``db``)."""
    return SourceLock(db_path if db_path is not None else db, source_id)


def _safe(source_id: str) -> str:
    # Registry ids are slugs already; this only keeps a path from ever being built from anything else.
    return re.sub(r"[^A-Za-z0-9_.-]", "_", source_id)
