"""Instructions a real ``ratecard serve`` executes per request, counted by valgrind's callgrind.

Wall time and even CPU time on a shared 2-core machine move by 30% from one minute to the
next; an instruction count moves by about 2% at most. So this is the tool for an
A/B of a change to a hot path; http_load.py stays the judge of the targets. The server
runs under callgrind with instrumentation off, is switched on for each endpoint's
requests (sent one after another on one keep-alive connection) and dumped after them.
User-space instructions only: the kernel's share of a request (sockets, epoll) is not in
them, so ratios here run lower than http_load.py's.

    python bench/instructions.py                # 200 requests an endpoint, about a minute
    python bench/instructions.py --requests 50 --tree ../other-checkout   # A/B against another tree

Needs valgrind (Debian: ``apt-get install -y valgrind``). Prints a table; records nothing.
"""

import argparse
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import benchlib
from http_load import CEILING_PATH, ENDPOINTS

ROOT = Path(__file__).resolve().parent.parent


def request_all(port: int, method: str, path: str, body: dict | None, count: int) -> None:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if data else {}
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    for _ in range(count):
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"{method} {path}: {response.status}")
    connection.close()


def callgrind(pid: int, *args: str) -> None:
    subprocess.run(["callgrind_control", *args, str(pid)], check=True, capture_output=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="requests per endpoint (default 200)")
    parser.add_argument("--tree", type=Path, default=ROOT, help="the checkout whose server to run (default this one)")
    args = parser.parse_args()
    if not shutil.which("valgrind"):
        print("valgrind is not installed (Debian: apt-get install -y valgrind)", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="ratecard-instructions-"))
    db = work / "ratecard.db"
    python = sys.executable
    tree = args.tree.resolve()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("RATECARD_")},
           "PYTHONPATH": str(tree), "PYTHONHASHSEED": "0"}
    # Bootstrap the database outside valgrind: that is minutes under it.
    subprocess.run([python, "-c", f"from service.app import Settings, prepare_service; "
                    f"prepare_service(Settings(db_path={str(db)!r}))"], check=True, cwd=tree, env=env)
    port = benchlib.free_port()
    server = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={work}/callgrind.%p",
         python, "-m", "ratecard.service.cli", "serve", "--db", str(db), "--host", "127.0.0.1", "--port", str(port),
         "--workers", "1", "--no-scheduler", "--log-level", "warning"],
        cwd=tree, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cases = [("ceiling GET " + CEILING_PATH, "GET", CEILING_PATH, None)]
    cases += [(e.name, e.method, e.path, e.body) for e in ENDPOINTS]
    counts: dict[str, int] = {}
    try:
        deadline = time.monotonic() + 600
        while True:
            try:
                request_all(port, "GET", "/readyz", None, 1)
                break
            except (OSError, RuntimeError, http.client.HTTPException):
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the server under valgrind did not become ready") from None
                time.sleep(0.5)
        for number, (name, method, path, body) in enumerate(cases):
            request_all(port, method, path, body, 20)  # warm: the first requests fill caches and memos
            callgrind(server.pid, "--instr=on")
            callgrind(server.pid, "--zero")
            request_all(port, method, path, body, args.requests)
            callgrind(server.pid, f"--dump=case{number}")
            callgrind(server.pid, "--instr=off")
            dump = next(p for p in work.glob("callgrind.*") if f"Trigger: dump case{number}\n" in p.read_text())
            summary = next(line for line in dump.read_text().splitlines() if line.startswith("summary:"))
            counts[name] = int(summary.split()[1]) // args.requests
    finally:
        server.terminate()
        server.wait(timeout=60)
    ceiling = counts[cases[0][0]]
    print(f"instructions per request, {args.requests} requests an endpoint, server tree {tree}")
    print(f"| {'endpoint':<52} | {'instructions':>12} | {'ceiling / endpoint':>18} |")
    print(f"|{'-' * 54}|{'-' * 13}:|{'-' * 19}:|")
    for name, count in counts.items():
        print(f"| {name:<52} | {count:>12,} | {ceiling / count:>17.2f}x |")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
