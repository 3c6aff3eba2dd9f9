"""One way into SQLite for a serving process: reads in worker threads, writes on one writer thread.

A ``Store`` owns the process's connections to one database:

- reads run through :meth:`Store.run` in a worker thread, where
  :meth:`Store.reader` gives that thread its own connection (opened on first
  use, kept for the thread's life). SQLite in WAL mode lets those readers go on
  while another process holds the write lock, so no read waits on a writer;
- every write runs through :meth:`Store.write` (or :meth:`Store.write_sync`
  from code that is not async) on the one writer thread and its connection,
  so writes of this process never interleave, and a write that waits on another
  process's lock waits in that thread, never on the event loop.

:meth:`Store.reader` refuses to run on a thread with a running event loop: an
SQLite call there would stall every request (one waiting on a lock held by
another process stalled ``/healthz`` for the whole 30 s busy timeout). The
check costs one call, and a handler that forgets to go off the loop fails its
tests instead of stalling in production.

An in-memory database (tests) has one connection, which cannot be opened
twice, and read-only serving reads through one connection it reopens every
reload tick (service.replication.FollowedDatabase); the store then runs every
read and write on that one connection, one at a time.

The SQL itself lives in service.db, service.history, service.changesets and the
refresh pipeline; this module only decides which connection and which thread.
"""

import asyncio
import functools
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import ParamSpec, TypeVar

import anyio.to_thread
import sqlite_utils

from ratecard.service.db import open_database

P = ParamSpec("P")
T = TypeVar("T")

# How long a reader waits for a lock before SQLite says "database is locked". Under WAL a
# reader only waits while a checkpoint or recovery holds one, which takes milliseconds.
READ_BUSY_TIMEOUT_S = 5.0


class ReadOnTheEventLoop(RuntimeError):
    """An SQLite read was attempted on a thread that runs an event loop."""


class Store:
    """The database of one serving process: per-thread read connections and one writer.

    ``db`` is the writer's connection (opened by the caller and already
    migrated); ``path`` is the database file, None for an in-memory database.
    """

    def __init__(self, db: sqlite_utils.Database | None, path: str | Path | None, *,
                 connection: Callable[[], sqlite_utils.Database] | None = None) -> None:
        self.db = db
        self.path = None if path is None else str(path)
        # Without a path: one connection for every read, ``connection()`` (default the writer's).
        self._connection = connection or (lambda: self.db)
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        # In memory there is one connection: every use of it holds this lock.
        self._memory_lock = threading.RLock() if self.path is None else None
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ratecard-writer")
        self.pending_writes = 0  # writes awaited and not yet done (one runs; the rest queue behind it)

    def reader(self) -> sqlite_utils.Database:
        """This thread's read connection (the one connection, in memory); never on an event loop's thread."""
        if _on_event_loop():
            raise ReadOnTheEventLoop("an SQLite read on the event loop; run it through Store.run")
        if self.path is None:
            return self._connection()
        db = getattr(self._local, "db", None)
        if db is None:
            conn = sqlite3.connect(self.path, timeout=READ_BUSY_TIMEOUT_S, check_same_thread=False,  # busy timeout
                                   isolation_level=None)
            conn.execute("PRAGMA query_only=ON")  # this connection only reads: say so to SQLite too
            db = self._local.db = sqlite_utils.Database(conn)
            with self._readers_lock:
                self._readers.append(conn)
        return db

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Call ``fn(*args, **kwargs)`` in a worker thread, where :meth:`reader` may be used; await its result."""
        return await anyio.to_thread.run_sync(functools.partial(self._call, fn, *args, **kwargs))

    def _call(self, fn: Callable[..., T], *args, **kwargs) -> T:
        if self._memory_lock is None:
            return fn(*args, **kwargs)
        with self._memory_lock:
            return fn(*args, **kwargs)

    async def write(self, fn: Callable[..., T], *args, **kwargs) -> T:
        """Call ``fn(db, *args, **kwargs)`` on the writer thread with the writer's connection; await its result."""
        loop = asyncio.get_running_loop()
        self.pending_writes += 1  # only the event loop's thread counts: no lock needed
        try:
            return await loop.run_in_executor(self._writer, functools.partial(self._call, fn, self.db, *args, **kwargs))
        finally:
            self.pending_writes -= 1

    def write_sync(self, fn: Callable[..., T], *args, **kwargs) -> T:
        """:meth:`write` for code that is not async (the CLI, startup): runs on the writer thread and waits."""
        if _on_event_loop():
            raise RuntimeError("Store.write_sync on the event loop would block it; await Store.write")
        return self._writer.submit(functools.partial(self._call, fn, self.db, *args, **kwargs)).result()

    def close(self) -> None:
        """Stop the writer thread and close every connection this store opened (not the writer's ``db``)."""
        self._writer.shutdown(wait=True)
        with self._readers_lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()


def open_store(path: str | Path | None) -> Store:
    """Open (creating and migrating if needed) the database at ``path`` (None: in memory) as a Store."""
    return Store(open_database(path), path)


def _on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
