"""Across hosts, on loopback: a writer replicating through S3 (Litestream, moto), two replicas, nginx in front.

Every process is real and separate: ``ratecard serve`` three and then four
times, ``litestream`` under each, moto's S3 server and nginx running
``deploy/nginx.conf``. Skipped with the reason when nginx, the S3 server or
Litestream is missing; ``.ci/run`` installs all three. Bounds are generous
upper limits for a shared 2-core machine, not measurements (those are in
bench/RESULTS.md, from bench/scale.py).
"""

import signal
import tempfile
import threading
from pathlib import Path

import httpx
import pytest

from loopback_cluster import Cluster, missing_tools, ready, serves_version, wait_until

pytestmark = pytest.mark.skipif(bool(missing_tools()), reason="; ".join(missing_tools()))

# A change committed on the writer reaches both replicas within this: Litestream's 1 s sync to S3,
# the replicas' 250 ms follow interval and catalog reload, with room for a busy machine.
REPLICATION_BOUND_S = 15


@pytest.fixture(scope="module")
def cluster():
    workdir = Path(tempfile.mkdtemp(prefix="ratecard-scale-"))
    c = Cluster(workdir)
    try:
        c.start_s3()
        writer = c.start_writer()
        wait_until(lambda: ready(writer) is not None, 60, "the writer to bootstrap", writer)
        for name in ("replica1", "replica2"):
            c.start_replica(name)
        for name in ("replica1", "replica2"):
            wait_until(lambda: ready(c.procs[name]) is not None, 60, f"{name} to restore", c.procs[name])
        c.start_nginx(["replica1", "replica2"])
        yield c
    finally:
        c.close()


def test_the_writer_replicates_and_the_replicas_say_they_never_write(cluster):
    writer = ready(cluster.procs["writer"])
    assert writer["mode"] == "writer"
    assert writer["replication"]["role"] == "writer" and writer["replication"]["running"] is True
    # The URL is shown without anything secret; the credentials live only in the environment.
    assert "loopback-test" not in str(writer)
    for name in ("replica1", "replica2"):
        body = ready(cluster.procs[name])
        assert body["mode"] == "replica" and body["writes"] is False and body["scheduler"] is False
        assert body["writes_off_because"] == "read-only serving"
        assert body["replication"]["role"] == "replica" and body["replication"]["running"] is True
        assert body["catalog_version"] == writer["catalog_version"]
        assert body["replication"]["seconds_behind"] is not None
    refused = httpx.post(f"{cluster.procs['replica1'].base}/v1/admin/refresh/openai")
    assert refused.status_code in (404, 503)  # admin off (no token) or, with one, not the writer


def test_a_committed_price_reaches_both_replicas_within_the_bound(cluster):
    version = cluster.commit_change()
    for name in ("replica1", "replica2"):
        replica = cluster.procs[name]
        wait_until(lambda: serves_version(replica, version), REPLICATION_BOUND_S, f"{name} to serve version {version}",
                   replica)
        newest = httpx.get(f"{replica.base}/v1/changes", params={"limit": 1}).json()["changesets"][0]
        assert newest["id"] == version
        # Only gpt-4o's price is moved by the test; the same witness page, read at today's date, may also
        # confirm or add other rows (a dated alias such as deepseek-chat names another model now).
        moved = [c for c in newest["changes"] if c["model"] == "gpt-4o" and c["kind"] == "input"]
        assert [c["new_usd_per_mtok"] for c in moved] == [2.51]
    lag = httpx.get(f"{cluster.procs['replica1'].base}/v1/sources").json()["replication"]
    assert lag["versions_behind"] == 0


def test_nginx_caches_with_the_replicas_etag(cluster):
    nginx, replica = cluster.procs["nginx"], cluster.procs["replica1"]
    path = "/v1/models/openai/gpt-4o"
    first = httpx.get(nginx.base + path)
    second = httpx.get(nginx.base + path)
    direct = httpx.get(replica.base + path)
    assert first.status_code == second.status_code == 200
    assert second.headers["x-cache-status"] == "HIT"
    assert second.headers["etag"] == direct.headers["etag"]
    assert second.json()["catalog_version"] == direct.json()["catalog_version"]
    assert second.headers["cache-control"] == direct.headers["cache-control"]
    # A client's conditional request is answered from the cache too.
    assert httpx.get(nginx.base + path, headers={"If-None-Match": direct.headers["etag"]}).status_code == 304
    # Uncacheable answers stay uncached.
    assert httpx.get(nginx.base + "/v1/sources").headers["x-cache-status"] in ("MISS", "BYPASS", "EXPIRED")


def _steady_load(base: str, stop: threading.Event, outcomes: list) -> None:
    """Uncached work (an estimate POST) and cached reads, back to back, recording every status."""
    with httpx.Client(base_url=base, timeout=10) as client:
        while not stop.is_set():
            try:
                outcomes.append(client.post("/v1/estimate", json={"models": ["gpt-4o"], "input_tokens": 1000,
                                                                  "output_tokens": 200}).status_code)
                outcomes.append(client.get("/v1/models/anthropic/claude-opus-4-5").status_code)
            except httpx.TransportError as exc:
                outcomes.append(repr(exc))


def test_killing_a_replica_under_load_loses_no_request(cluster):
    nginx = cluster.procs["nginx"]
    stop, outcomes = threading.Event(), []
    load = [threading.Thread(target=_steady_load, args=(nginx.base, stop, outcomes)) for _ in range(4)]
    for t in load:
        t.start()
    try:
        wait_until(lambda: len(outcomes) >= 40, 20, "load to flow")
        cluster.procs["replica1"].stop(signal.SIGKILL)
        seen = len(outcomes)
        wait_until(lambda: len(outcomes) >= seen + 100, 30, "load to keep flowing after the kill")
    finally:
        stop.set()
        for t in load:
            t.join(timeout=15)
    assert len(outcomes) > 140
    # A response the killed replica had begun (nginx already passed its headers on) is cut short:
    # no proxy can retry a response it has started relaying. That can hit only the requests in
    # flight at the instant of the kill, at most one per client; every other one must be a 200.
    cut = [o for o in outcomes if isinstance(o, str) and "without sending complete message body" in o]
    assert len(cut) <= len(load), cut
    assert {o for o in outcomes if o not in cut} == {200}, [o for o in outcomes if o != 200 and o not in cut][:5]


def test_reads_keep_flowing_while_the_writer_is_stopped(cluster):
    cluster.procs["writer"].stop()  # SIGTERM: Litestream syncs the last changes and stops with it
    nginx, replica2 = cluster.procs["nginx"], cluster.procs["replica2"]
    statuses = [httpx.get(nginx.base + "/v1/models", params={"provider": "openai", "n": i}).status_code
                for i in range(30)]
    assert statuses == [200] * 30
    assert ready(replica2) is not None  # a replica stays ready; its lag grows and says so


def test_a_replica_started_later_catches_up_from_object_storage_alone(cluster):
    assert not cluster.procs["writer"].alive()
    newest = ready(cluster.procs["replica2"])["catalog_version"]
    late = cluster.start_replica("replica3")
    wait_until(lambda: ready(late) is not None, 60, "replica3 to restore", late)
    body = ready(late)
    assert body["catalog_version"] == newest
    assert body["replication"]["versions_behind"] == 0
    assert httpx.get(f"{late.base}/v1/changes", params={"limit": 1}).json()["changesets"][0]["id"] == newest
