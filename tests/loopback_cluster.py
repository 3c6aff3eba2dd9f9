"""A writer, read replicas and nginx on loopback, as separate processes: the harness of the scale test and bench.

One writer (``ratecard serve --replicate-to s3://...``) streams its database
through Litestream to a local S3 server (moto's), replicas
(``ratecard serve --replica-of s3://... --db own-file``) restore and follow it,
and nginx runs ``deploy/nginx.conf`` with only addresses, port and paths
rewritten. Every port is on 127.0.0.1. :func:`missing_tools` says what is
absent, so callers can skip with a reason.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
BUCKET = "ratecard-loopback"
LITELLM_PAGE = sorted((ROOT / "data" / "snapshots" / "litellm").glob("*.json"))[0]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def nginx_binary() -> str | None:
    """Debian's nginx (it lives in /usr/sbin, which a non-root PATH may lack)."""
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)


def moto_binary() -> str | None:
    """moto's S3-compatible server, installed beside this interpreter by the test extra."""
    beside = Path(sys.executable).parent / "moto_server"
    return str(beside) if beside.exists() else shutil.which("moto_server")


def missing_tools() -> list[str]:
    """What the cluster needs and this machine lacks, as reasons to skip."""
    from ratecard.service.replication import ReplicationError, litestream_binary

    missing = []
    if nginx_binary() is None:
        missing.append("nginx is not installed (apt-get install nginx)")
    if moto_binary() is None:
        missing.append("no S3 server: moto_server is not installed (pip install 'moto[server]')")
    try:
        litestream_binary()
    except ReplicationError as exc:
        missing.append(str(exc))
    return missing


def child_env() -> dict[str, str]:
    """The environment of every child: test credentials for the local S3, no RATECARD_* from the caller.

    AWS_CA_BUNDLE is dropped: Litestream 0.5.17's S3 client refuses to start with
    it set (its HTTP client takes no custom CA), and the loopback S3 is plain HTTP.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RATECARD_", "AWS_"))}
    env.update(AWS_ACCESS_KEY_ID="loopback-test", AWS_SECRET_ACCESS_KEY="loopback-test-secret",
               AWS_REGION="us-east-1")
    return env


@dataclass
class Proc:
    """A child process with its log file."""

    name: str
    popen: subprocess.Popen
    log: Path
    port: int = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 15) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
            try:
                self.popen.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


@dataclass
class Cluster:
    """The running pieces; :meth:`close` stops them all."""

    workdir: Path
    s3_port: int = 0
    procs: dict[str, Proc] = field(default_factory=dict)
    litellm: dict = field(default_factory=dict)
    changes_committed: int = 0

    @property
    def replica_url(self) -> str:
        return f"s3://{BUCKET}/ratecard?endpoint=http://127.0.0.1:{self.s3_port}&region=us-east-1&forcePathStyle=true"

    def spawn(self, name: str, args: list[str], port: int = 0) -> Proc:
        log = self.workdir / f"{name}.log"
        handle = open(log, "wb")
        popen = subprocess.Popen(args, env=child_env(), stdout=handle, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, cwd=self.workdir)
        handle.close()
        self.procs[name] = Proc(name, popen, log, port)
        return self.procs[name]

    def start_s3(self) -> None:
        """moto's server on a free port, with the bucket created."""
        self.s3_port = free_port()
        self.spawn("s3", [moto_binary(), "-H", "127.0.0.1", "-p", str(self.s3_port)], self.s3_port)
        wait_until(lambda: _answers(f"http://127.0.0.1:{self.s3_port}/"), 20, "the S3 server to listen",
                   self.procs["s3"])
        # moto does not check signatures: a plain PUT creates the bucket.
        httpx.put(f"http://127.0.0.1:{self.s3_port}/{BUCKET}", timeout=5).raise_for_status()

    def ratecard(self, *args: str) -> list[str]:
        return [str(Path(sys.executable).parent / "ratecard"), *args]

    def start_writer(self, *, heartbeat_s: float = 1.0) -> Proc:
        """The writer: bootstraps its database, serves it, and replicates it to the local S3."""
        port = free_port()
        db = self.workdir / "writer" / "ratecard.db"
        db.parent.mkdir(exist_ok=True)
        return self.spawn("writer", self.ratecard(
            "serve", "--db", str(db), "--port", str(port), "--no-scheduler", "--log-level", "warning",
            "--replicate-to", self.replica_url, "--heartbeat-seconds", str(heartbeat_s)), port)

    def start_replica(self, name: str) -> Proc:
        """A replica restoring into a database file of its own, as if on another host."""
        port = free_port()
        db = self.workdir / name / "ratecard.db"
        db.parent.mkdir(exist_ok=True)
        return self.spawn(name, self.ratecard(
            "serve", "--replica-of", self.replica_url, "--db", str(db), "--port", str(port),
            "--log-level", "warning"), port)

    def start_nginx(self, replicas: list[str]) -> Proc:
        """nginx running deploy/nginx.conf, pointed at these replicas and at the writer."""
        port = free_port()
        prefix = Path(tempfile.mkdtemp(prefix="ratecard-nginx-"))
        (prefix / "logs").mkdir()
        cache = prefix / "cache"
        cache.mkdir()
        # nginx's workers drop to an unprivileged user when started as root: let it reach its dirs.
        for path in (prefix, cache, prefix / "logs"):
            path.chmod(0o777)
        conf = loopback_nginx_conf((ROOT / "deploy" / "nginx.conf").read_text(), port=port, prefix=prefix,
                                   replicas=[self.procs[r].port for r in replicas],
                                   writer=self.procs["writer"].port if "writer" in self.procs else free_port())
        (prefix / "nginx.conf").write_text(conf)
        proc = self.spawn("nginx", [nginx_binary(), "-p", str(prefix), "-c", str(prefix / "nginx.conf"),
                                    "-g", "daemon off;"], port)
        wait_until(lambda: _answers(f"{proc.base}/healthz"), 15, "nginx to listen", proc)
        return proc

    def commit_change(self) -> int:
        """Commit one price change on the writer's database (as ``ratecard refresh --from-file`` does); its version."""
        from ratecard.service.db import open_database
        from ratecard.service.refresh import ingest_page
        from ratecard.service.sources import load_registry

        if not self.litellm:
            self.litellm = json.loads(LITELLM_PAGE.read_bytes())
        self.changes_committed += 1
        # A witness page with gpt-4o's input price one hundredth of a cent higher each time: a small, real move.
        entry = self.litellm["data"]["gpt-4o"]
        entry["input_cost_per_token"] = round(2.5e-06 + self.changes_committed * 1e-08, 12)
        db = open_database(self.workdir / "writer" / "ratecard.db")
        try:
            now = datetime.now(UTC)
            result = ingest_page(db, load_registry(None).sources["litellm"], json.dumps(self.litellm).encode(),
                                 url=LITELLM_PAGE.resolve().as_uri(), fetched_at=now, now=now, trigger="file")
        finally:
            db.close()
        assert result.changeset_id, f"no changeset committed: {result.status} {result.error}"
        return result.changeset_id

    def close(self) -> None:
        """Stop every child, nginx and the S3 server last."""
        for name in [n for n in self.procs if n not in ("nginx", "s3")] + ["nginx", "s3"]:
            if name in self.procs:
                self.procs[name].stop(timeout_s=10)


def loopback_nginx_conf(conf: str, *, port: int, prefix: Path, replicas: list[int], writer: int) -> str:
    """deploy/nginx.conf with loopback addresses, this port and paths under ``prefix``; nothing else changed."""
    lines = [f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;" for p in replicas]
    conf, n = re.subn(r"(?m)^\s*server 10\.0\.0\.1[1-9]:8000[^\n]*\n(?:\s*server 10\.0\.0\.1[1-9]:8000[^\n]*\n)*",
                      "\n".join(lines) + "\n", conf)
    assert n == 1, "deploy/nginx.conf: the replica upstream lines moved"
    conf = conf.replace("server 10.0.0.10:8000;", f"server 127.0.0.1:{writer};")
    conf = conf.replace("listen 8080;", f"listen 127.0.0.1:{port};")
    conf = conf.replace("/run/nginx-ratecard.pid", str(prefix / "nginx.pid"))
    conf = conf.replace("/var/log/nginx/ratecard-error.log", str(prefix / "logs" / "error.log"))
    conf = conf.replace("/var/cache/nginx/ratecard", str(prefix / "cache"))
    assert "10.0.0." not in conf and "/var/" not in conf
    return conf


def _answers(url: str) -> bool:
    try:
        httpx.get(url, timeout=1)
        return True
    except httpx.TransportError:
        return False


def wait_until(check, timeout_s: float, what: str, proc: Proc | None = None, interval_s: float = 0.05) -> float:
    """Poll ``check`` until true; the seconds it took. Fails with the process's log if it died or time ran out."""
    began = time.monotonic()
    while time.monotonic() - began < timeout_s:
        if proc is not None and not proc.alive():
            raise AssertionError(f"{proc.name} exited while waiting for {what}:\n{proc.log.read_text()[-3000:]}")
        if check():
            return time.monotonic() - began
        time.sleep(interval_s)
    tail = f"\n{proc.name} log:\n{proc.log.read_text()[-3000:]}" if proc is not None else ""
    raise AssertionError(f"waited {timeout_s} s for {what}{tail}")


def ready(proc: Proc) -> dict | None:
    """The process's /readyz body when it answers 200, else None."""
    try:
        response = httpx.get(f"{proc.base}/readyz", timeout=2)
    except httpx.TransportError:
        return None
    return response.json() if response.status_code == 200 else None


def serves_version(proc: Proc, version: int) -> bool:
    """Whether the process answers with catalog version ``version`` (or newer)."""
    body = ready(proc)
    return body is not None and body["catalog_version"] >= version
