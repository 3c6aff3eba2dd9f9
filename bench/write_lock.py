"""Reads while another process holds SQLite's write lock: how long each request waits.

Bootstraps a database file from the bundled pages, starts a second process that
takes the write lock (``BEGIN IMMEDIATE``) and keeps it, then, on one event loop
with the app served in process (httpx's ASGI transport, lifespan included):
starts an admin refresh (its first write waits on the lock, up to the 30 s busy
timeout) and meanwhile times requests that the snapshot answers (``/healthz``,
current prices) and ones SQLite answers (prices as of a past date, a model's
history, the change feed, runs). Target (issue 19, row 2): every read under 1 s.

    python bench/write_lock.py            # about 20 s
    python bench/write_lock.py --no-results
"""

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

import benchlib
from ratecard.service.app import Settings, create_app, prepare_service

TOKEN = "bench-admin-token-of-32-characters"
HOLD = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
conn.execute("ROLLBACK")
"""
# Each round asks another past moment ({day}), so neither the response cache nor the snapshot's
# memo answers in place of SQLite.
PATHS = [
    "/healthz",
    "/v1/prices?model=gpt-4o",
    "/v1/prices?model=gpt-4o&as_of=2025-06-{day:02d}",
    "/v1/prices?as_of=2025-05-{day:02d}&limit=100",
    "/v1/models/openai/o3/history?as_of=2026-11-{day:02d}",
    "/v1/changes?limit=5&since=2024-01-{day:02d}",
    "/v1/runs?limit=5",
]
TARGET_MS = 1000.0


async def measure(db_path: Path, rounds: int) -> tuple[list[list], bool, float]:
    """Each path's latencies while the lock is held and a refresh waits; and whether the refresh still waited."""
    settings = Settings(db_path=str(db_path), admin_token=TOKEN)
    service = prepare_service(settings)
    http = httpx.AsyncClient(transport=httpx.MockTransport(lambda request: httpx.Response(404)))
    app = create_app(settings, service=service, http=http)
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(db_path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        async with app.lifespan(), httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                                     base_url="http://bench") as client:
            started = time.perf_counter()
            refresh = asyncio.create_task(client.post("/v1/admin/refresh/openai",
                                                      headers={"Authorization": f"Bearer {TOKEN}"}))
            while service.store.pending_writes == 0:
                await asyncio.sleep(0.001)
            timings: dict[str, list[float]] = {path: [] for path in PATHS}
            for number in range(rounds):
                for path in PATHS:
                    t0 = time.perf_counter()
                    response = await client.get(path.format(day=1 + number % 28))
                    timings[path].append((time.perf_counter() - t0) * 1000)
                    assert response.status_code == 200, (path, response.status_code, response.text[:200])
            still_waiting = not refresh.done() and service.store.pending_writes == 1
            held_s = time.perf_counter() - started
            holder.stdin.write("release\n")
            holder.stdin.flush()
            await refresh
    finally:
        holder.kill()
        holder.wait()
        service.store.close()
        await http.aclose()
    rows = []
    for path, values in timings.items():
        worst = max(values)
        rows.append([path, len(values), f"{benchlib.median(values):.2f}", f"{benchlib.percentile(values, 99):.2f}",
                     f"{worst:.2f}", benchlib.pass_fail(worst < TARGET_MS)])
    return rows, still_waiting, held_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=28, help="requests per path, one per day asked (default 28)")
    parser.add_argument("--no-results", action="store_true", help="print only; do not append to RESULTS.md")
    args = parser.parse_args()
    env = benchlib.environment()
    with tempfile.TemporaryDirectory() as tmp:
        rows, still_waiting, held_s = asyncio.run(measure(Path(tmp) / "ratecard.db", args.rounds))
    table = benchlib.markdown_table(["request", "n", "median ms", "p99 ms", "max ms", "max < 1 s"], rows)
    notes = (f"- All requests were made while another process held the write lock and an admin refresh waited "
             f"on it ({'still waiting' if still_waiting else 'NOT still waiting'} after the last one, "
             f"{held_s:.1f} s after it started).\n"
             "- The app runs in process on one event loop (httpx's ASGI transport): a blocked loop would hold "
             "every request until the refresh's write gave up.")
    print(table)
    print(notes)
    if not args.no_results:
        benchlib.append_results("Reads while another process holds the write lock (bench/write_lock.py)",
                                [("", table), ("Notes", notes)], env=env)


if __name__ == "__main__":
    main()
