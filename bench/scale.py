"""Replicas behind nginx on loopback: cache throughput, replication lag, and a new replica's time to ready.

Starts the same cluster as tests/test_scale_loopback.py (moto's S3 server, a
writer with ``--replicate-to``, two replicas with ``--replica-of``, nginx
running deploy/nginx.conf), then measures:

1. requests/s of ``GET /v1/models/openai/gpt-4o`` through nginx with the
   cache warm, and straight to one replica (``wrk``, Debian's package);
2. replication lag: the time from a changeset committed on the writer's
   database to both replicas answering with its version (polled every 20 ms
   on /readyz), over ``--changesets`` changesets (median and max);
3. the time from starting a new replica (``ratecard serve --replica-of``)
   to its first 200 on /readyz, restoring from object storage alone.

    python bench/scale.py                      # about a minute
    python bench/scale.py --changesets 5 --duration 3
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from loopback_cluster import Cluster, missing_tools, ready, serves_version, wait_until  # noqa: E402

PATH = "/v1/models/openai/gpt-4o"


def wrk_rps(url: str, *, duration_s: int, connections: int, threads: int) -> float:
    """Requests per second wrk reports for a plain GET of ``url``."""
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration_s}s", url],
                         capture_output=True, text=True, timeout=duration_s + 30)
    for line in out.stdout.splitlines():
        if line.startswith("Requests/sec:"):
            return float(line.split()[1])
    raise RuntimeError(f"wrk said:\n{out.stdout}{out.stderr}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--changesets", type=int, default=20)
    parser.add_argument("--duration", type=int, default=5, help="seconds of each wrk run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if missing_tools():
        print("missing: " + "; ".join(missing_tools()), file=sys.stderr)
        return 2
    cluster = Cluster(Path(tempfile.mkdtemp(prefix="ratecard-bench-scale-")))
    try:
        cluster.start_s3()
        writer = cluster.start_writer()
        wait_until(lambda: ready(writer) is not None, 120, "the writer", writer)
        for name in ("replica1", "replica2"):
            cluster.start_replica(name)
        for name in ("replica1", "replica2"):
            wait_until(lambda: ready(cluster.procs[name]) is not None, 120, name, cluster.procs[name])
        nginx = cluster.start_nginx(["replica1", "replica2"])

        # 2. Replication lag, commit -> both replicas serving the version.
        lags = []
        for _ in range(args.changesets):
            began = time.monotonic()
            version = cluster.commit_change()
            committed = time.monotonic()
            for name in ("replica1", "replica2"):
                wait_until(lambda: serves_version(cluster.procs[name], version), 60, f"{name} at {version}",
                           cluster.procs[name], interval_s=0.02)
            lags.append(time.monotonic() - committed)
            time.sleep(max(0.0, 0.5 - (time.monotonic() - began)))  # changesets apart, as a scheduler spreads them

        # 1. Throughput: the cache warm through nginx, and one replica directly.
        wrk = dict(duration_s=args.duration, connections=args.connections, threads=args.threads)
        wrk_rps(nginx.base + PATH, duration_s=1, connections=4, threads=1)  # warm the cache
        through_nginx = wrk_rps(nginx.base + PATH, **wrk)
        direct = wrk_rps(cluster.procs["replica1"].base + PATH, **wrk)

        # 3. A new replica, from object storage alone.
        began = time.monotonic()
        late = cluster.start_replica("replica3")
        to_ready = wait_until(lambda: ready(late) is not None, 120, "replica3", late, interval_s=0.02)
        db_mb = (cluster.workdir / "replica3" / "ratecard.db").stat().st_size / 1e6
    finally:
        cluster.close()
    print(f"GET {PATH}: through nginx (cache warm) {through_nginx:,.0f} req/s; one replica directly "
          f"{direct:,.0f} req/s ({through_nginx / direct:.1f}x); wrk -t{args.threads} -c{args.connections} "
          f"-d{args.duration}s")
    print(f"replication lag commit -> both replicas over {len(lags)} changesets: median "
          f"{statistics.median(lags):.2f} s, max {max(lags):.2f} s (min {min(lags):.2f} s)")
    print(f"a new replica ready from object storage in {to_ready:.2f} s ({db_mb:.1f} MB database, "
          f"process start included)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
