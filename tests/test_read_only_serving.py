"""Read-only serving (replicas never write), the feed's links, admin tokens, and errors before the handlers.

Rows 13, 14 and 15 of the second reliability round: each test here failed
before its fix.
"""

import hashlib
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from litestar.testing import TestClient

from conftest import FIXED_NOW, fixed_clock, shared_bundled_service
from ratecard.service.app import Service, Settings, SettingsError, admin_token_from, create_app, prepare_service
from ratecard.service.db import NotARatecardDatabase, open_read_only
from ratecard.service.replication import ReplicationError, check_replica_url, public_url, replica_lag

TOKEN = "read-only-test-admin-token"


@pytest.fixture(scope="module")
def db_file(tmp_path_factory) -> Path:
    """The bundled catalog as a database file (WAL, checkpointed), as a writer leaves it."""
    path = tmp_path_factory.mktemp("ro") / "ratecard.db"
    target = sqlite3.connect(path)
    shared_bundled_service().db.conn.backup(target)
    target.execute("PRAGMA journal_mode=WAL")
    target.close()
    return path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_read_only_serving_answers_everything_and_never_writes(db_file):
    before = digest(db_file)
    settings = Settings(db_path=str(db_file), read_only=True, admin_token=TOKEN)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with TestClient(create_app(settings, clock=fixed_clock)) as client:
        ready = client.get("/readyz").json()
        assert ready["mode"] == "read-only" and ready["writes"] is False and ready["scheduler"] is False
        assert ready["writes_off_because"] == "read-only serving"
        for path in ("/v1/models/openai/gpt-4o", "/v1/prices?model=gpt-4o&as_of=2025-11-01",
                     "/v1/models/openai/gpt-4o/history", "/v1/changes?limit=2", "/v1/sources", "/v1/runs"):
            assert client.get(path).status_code == 200, path
        # Admin reads work with the token; every admin write is refused, naming why.
        assert client.get("/v1/admin/changesets", headers=auth).status_code == 200
        for path in ("/v1/admin/refresh/openai", "/v1/admin/changesets/1/approve", "/v1/admin/changesets/1/reject"):
            refused = client.post(path, headers=auth)
            assert refused.status_code == 503, path
            assert refused.headers["content-type"] == "application/problem+json"
            assert "read-only serving" in refused.json()["detail"]
    assert digest(db_file) == before


def test_the_read_only_connection_cannot_write_even_by_mistake(db_file):
    db = open_read_only(db_file)
    with pytest.raises(sqlite3.OperationalError, match="readonly|read-only|query_only"):
        db.execute("DELETE FROM changesets")


def test_a_file_whose_wal_index_cannot_be_opened_is_read_immutable(tmp_path, db_file):
    # As on a read-only volume: SQLite cannot create the -shm file beside it (here a directory holds its name).
    copy = tmp_path / "ratecard.db"
    shutil.copy(db_file, copy)
    (tmp_path / "ratecard.db-shm").mkdir()
    service = prepare_service(Settings(db_path=str(copy), read_only=True), clock=fixed_clock)
    assert service.catalog.models and service.catalog.version == shared_bundled_service().catalog.version


def test_read_only_serving_refuses_a_missing_or_foreign_file(tmp_path):
    with pytest.raises(NotARatecardDatabase, match="no such database file"):
        prepare_service(Settings(db_path=str(tmp_path / "absent.db"), read_only=True))
    assert not (tmp_path / "absent.db").exists()
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)")
    with pytest.raises(NotARatecardDatabase, match="not a ratecard database"):
        prepare_service(Settings(db_path=str(other), read_only=True))


def test_a_no_scheduler_server_refuses_admin_writes(db_file, tmp_path):
    copy = tmp_path / "ratecard.db"
    shutil.copy(db_file, copy)
    settings = Settings(db_path=str(copy), admin_token=TOKEN, admin_writes=False, bootstrap=False)
    with TestClient(create_app(settings, clock=fixed_clock)) as client:
        ready = client.get("/readyz").json()
        assert ready["writes"] is False and "--no-scheduler" in ready["writes_off_because"]
        refused = client.post("/v1/admin/refresh/openai", headers={"Authorization": f"Bearer {TOKEN}"})
        assert refused.status_code == 503 and "--no-scheduler" in refused.json()["detail"]


def test_a_worker_without_the_scheduler_lock_refuses_admin_writes(db_file, tmp_path):
    import fcntl

    copy = tmp_path / "ratecard.db"
    shutil.copy(db_file, copy)
    holder = open(f"{copy}.scheduler.lock", "a+")
    fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)  # another worker runs the scheduler
    try:
        settings = Settings(db_path=str(copy), admin_token=TOKEN, scheduler=True, bootstrap=False)
        with TestClient(create_app(settings, clock=fixed_clock)) as client:
            ready = client.get("/readyz").json()
            assert ready["writes"] is False and ready["writes_off_because"] == "another worker runs the scheduler"
            refused = client.post("/v1/admin/changesets/1/approve", headers={"Authorization": f"Bearer {TOKEN}"})
            assert refused.status_code == 503
    finally:
        holder.close()


def test_replica_lag_is_read_from_the_writers_heartbeat():
    db = shared_bundled_service().db
    assert replica_lag(db, served_version=5, now=FIXED_NOW)["seconds_behind"] is None  # no heartbeat table
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE replication_heartbeat (id INTEGER PRIMARY KEY, beat_at TEXT, catalog_version INTEGER)")
    conn.execute("INSERT INTO replication_heartbeat VALUES (1, '2026-11-20T11:59:50Z', 7)")
    import sqlite_utils

    lag = replica_lag(sqlite_utils.Database(conn), served_version=5, now=FIXED_NOW)
    assert lag["versions_behind"] == 2 and lag["seconds_behind"] == 10.0 and lag["writer_catalog_version"] == 7


@pytest.mark.parametrize("url", [
    "s3://AKIAEXAMPLE:secretvalue@bucket/path",
    "s3://bucket/path?access-key-id=AKIAEXAMPLE&endpoint=http://127.0.0.1:9000",
    "s3://bucket/path?secret-access-key=xyz",
    "not a url",
])
def test_replica_urls_with_credentials_are_refused_without_echoing_them(url):
    with pytest.raises(ReplicationError) as caught:
        check_replica_url(url)
    assert "AKIAEXAMPLE" not in str(caught.value) and "secretvalue" not in str(caught.value)


def test_replica_urls_are_shown_without_secrets():
    assert public_url("s3://u:p@bucket/db?endpoint=http://127.0.0.1:9000&sig=abc") == \
        "s3://bucket/db?endpoint=http%3A%2F%2F127.0.0.1%3A9000"
    assert check_replica_url("file:///var/lib/ratecard/replica") == "file:///var/lib/ratecard/replica"


# Row 14: the feed's links.

def test_feed_links_are_relative_by_default_and_never_take_the_host_header(client):
    answer = client.get("/v1/changes.atom?limit=2", headers={"Host": "evil.example"})
    assert answer.status_code == 200
    assert b"evil.example" not in answer.content
    assert b'href="/v1/changes.atom?limit=2"' in answer.content
    assert b"<id>tag:ratecard.dev,2025:/v1/changes.atom?limit=2</id>" in answer.content


def test_feed_links_use_the_configured_public_base_url():
    service: Service = shared_bundled_service()
    settings = Settings(public_base_url="https://prices.example.com")
    app = create_app(settings, service=Service(settings, service.db, service.registry, fixed_clock), clock=fixed_clock)
    with TestClient(app) as client:
        one = client.get("/v1/changes.atom?limit=1", headers={"Host": "evil.example"})
        two = client.get("/v1/changes.atom?limit=1", headers={"Host": "other.example"})
    assert one.content == two.content and one.headers["etag"] == two.headers["etag"]
    assert b'href="https://prices.example.com/v1/changes.atom?limit=1"' in one.content
    assert b"evil.example" not in one.content


# Row 15: admin tokens, errors before the handlers, JSON bodies.

@pytest.mark.parametrize("raw", [" ", "\n", "short-token", "  fifteen-chars!! "[:17].strip() + "\n"])
def test_admin_tokens_that_cannot_work_or_are_guessable_are_refused(raw):
    with pytest.raises(SettingsError, match="RATECARD_ADMIN_TOKEN"):
        admin_token_from(raw)


def test_admin_tokens_are_stripped():
    assert admin_token_from("  a-long-enough-admin-token\n") == "a-long-enough-admin-token"
    assert admin_token_from("") == ""


def test_serve_refuses_to_start_with_a_short_admin_token(tmp_path):
    ratecard = Path(sys.executable).parent / "ratecard"
    done = subprocess.run([str(ratecard), "serve", "--db", str(tmp_path / "x.db")], capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "RATECARD_ADMIN_TOKEN": "tiny\n"}, timeout=60)
    assert done.returncode == 2
    assert "RATECARD_ADMIN_TOKEN has 4 characters; at least 16" in done.stderr
    assert not (tmp_path / "x.db").exists()


def test_a_body_not_declared_json_is_a_415_problem(client):
    body = b'{"models": ["gpt-4o"], "input_tokens": 10}'
    for headers in ({"Content-Type": "text/plain"}, {}, {"Content-Type": "application/x-www-form-urlencoded"}):
        answer = client.post("/v1/estimate", content=body, headers=headers)
        assert answer.status_code == 415, headers
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["type"].endswith("/unsupported-media-type")
    assert client.post("/v1/estimate", content=body,
                       headers={"Content-Type": "application/json; charset=utf-8"}).status_code == 200


def test_malformed_json_names_the_body_in_errors(client):
    answer = client.post("/v1/estimate", content=b'{"models": [', headers={"Content-Type": "application/json"})
    assert answer.status_code == 400
    problem = answer.json()
    assert problem["type"].endswith("/invalid-json")
    assert problem["errors"][0]["field"] == "body" and problem["errors"][0]["reason"] == "Input data was truncated"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_servers_own_parser_errors_are_problem_json(db_file):
    port = _free_port()
    ratecard = Path(sys.executable).parent / "ratecard"
    server = subprocess.Popen([str(ratecard), "serve", "--read-only", "--db", str(db_file), "--port", str(port),
                               "--log-level", "warning"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              env={"PATH": "/usr/bin:/bin"})
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert server.poll() is None, server.stderr.read().decode()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        for raw in (b"GET /v1/models HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
                    b"GARBAGE\x00\x01 / HTTP/1.1\r\n\r\n"):
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                sock.sendall(raw)
                answer = b""
                while chunk := sock.recv(65536):
                    answer += chunk
            head, _, body = answer.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 400"), answer
            assert b"content-type: application/problem+json" in head.lower()
            assert b'"status":400' in body and b"malformed-request" in body
    finally:
        server.terminate()
        server.wait(timeout=10)


class StoppedLitestream:
    """Stands in for a Litestream child that has died."""

    url = "s3://bucket/ratecard"

    def state(self) -> dict:
        return {"url": self.url, "running": False, "restarts": 3, "last_error": "s3: access denied"}

    def stop(self) -> None:
        pass


def test_a_writer_whose_litestream_is_down_is_not_ready(db_file, tmp_path):
    copy = tmp_path / "ratecard.db"
    shutil.copy(db_file, copy)
    settings = Settings(db_path=str(copy), bootstrap=False, replicate_to="s3://bucket/ratecard", heartbeat_s=60)
    with TestClient(create_app(settings, clock=fixed_clock, litestream=StoppedLitestream())) as client:
        answer = client.get("/readyz")
    assert answer.status_code == 503
    body = answer.json()
    assert body["status"] == "replication-down"
    assert body["replication"] == {"role": "writer", "url": "s3://bucket/ratecard", "running": False, "restarts": 3,
                                   "last_error": "s3: access denied", "versions_behind": None,
                                   "seconds_behind": None, "writer_heartbeat_at": None,
                                   "writer_catalog_version": None}
    # The writer beat once on start: the row a replica measures its lag by.
    from ratecard.service.replication import last_heartbeat

    beat_at, version = last_heartbeat(open_read_only(copy))
    assert beat_at == FIXED_NOW and version == shared_bundled_service().catalog.version


def test_read_only_alone_reports_no_replica_url(db_file):
    with TestClient(create_app(Settings(db_path=str(db_file), read_only=True), clock=fixed_clock)) as client:
        replication = client.get("/readyz").json()["replication"]
    assert replication["role"] == "replica" and replication["url"] == "" and replication["running"] is False
