"""A ``ratecard serve`` child process for bench scripts, and a tiny HTTP client.

Not a script: http_load.py and history_scale.py import it.
"""

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import benchlib


def fetch(url: str, body: dict | None = None, *, timeout_s: float = 10) -> tuple[int, bytes]:
    """Status and body of one request (0 when the server does not answer yet)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"} if data else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0, b""


class Server:
    """``ratecard serve --no-scheduler`` on a free loopback port, in its own process group.

    The group lets ``stop`` end the uvicorn workers with their parent; only
    processes this object started are signalled.
    """

    def __init__(self, db_path: Path, workers: int, workdir: Path) -> None:
        self.port = benchlib.free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / f"serve-w{workers}-{self.port}.log"
        cmd = [benchlib.ratecard_executable(), "serve", "--db", str(db_path), "--host", "127.0.0.1",
               "--port", str(self.port), "--workers", str(workers), "--no-scheduler", "--log-level", "warning"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("RATECARD_")}
        self.ready_cpu_s = float("nan")
        self.started = time.perf_counter()
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=workdir, env=env,
                                         start_new_session=True)

    def wait_ready(self, timeout_s: float = 180.0) -> float:
        """Seconds from process start until /readyz answers 200 (polled every 10 ms).

        Also sets ``ready_cpu_s``: the CPU seconds (user + system) the server's main process had used by
        then, which a busy machine inflates far less than the wall-clock figure.
        """
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ratecard serve exited {self.proc.returncode}:\n{self.log_path.read_text()}")
            status, _ = fetch(self.base + "/readyz", timeout_s=2)
            if status == 200:
                elapsed = time.perf_counter() - self.started
                self.ready_cpu_s = self.cpu_seconds()
                return elapsed
            time.sleep(0.01)
        raise RuntimeError(f"ratecard serve not ready after {timeout_s} s:\n{self.log_path.read_text()}")

    def cpu_seconds(self) -> float:
        """User + system CPU seconds of the server's main process so far (Linux /proc), NaN if unknown."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return float("nan")

    def group_cpu_seconds(self) -> float:
        """User + system CPU seconds used so far by every live process of the server's group (parent and
        uvicorn workers): read before and after a load run, the difference is what the run cost the server."""
        total = 0.0
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[2]) == self.proc.pid:  # pgrp: the session start_new_session gave the server
                total += int(fields[11]) + int(fields[12])
        return total / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        """SIGTERM the server's process group, SIGKILL it if it lingers."""
        if self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
