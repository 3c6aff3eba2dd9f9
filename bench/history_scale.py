"""History at scale: as-of reads, commits and startup on a database of ~1,000,000 rate rows.

Builds the database fast - executemany into the real schema from
``open_database`` - as the append-only model of service/changesets.py would
have written it: 2,000 synthetic models x 20 rate keys, each key changing 12
times. A change closes the row in force (``closed_changeset_id``) and appends
two rows (the closed-off head ``[from, change)`` and the new value), so a key
with 12 changes has 25 rows: 13 current, 12 superseded; 2,000 x 20 x 25 =
1,000,000 rows, plus one ``changes`` row per change. Changeset ids follow
commit order and rows are appended in it, so one model's rows are scattered
over the table as in a long-lived database. The bundled pages are then
ingested on top (``prepare_service``), so the real models are there too.

The issue's "2,000 models x 20 rate keys x 25 changes" is read as 25 stored
rows per key, which is what makes 1,000,000 rows in this schema.

Then measures: ``rates_as_of`` for one model (random models and moments; target
median < 2 ms); for the whole catalog what the API reads - a page of 500 and
the total, first, middle and last page of random moments, located with the
per-model counts the service takes once per version (target < 100 ms; the
counts' cost, pages without them, and every rate as Rate objects are
context); the size on disk, one
changeset of 100 changes through the real ``diff`` + ``record_changeset``,
``build_catalog``, ``prepare_service`` on an existing bundled database and on
the big one, ``ratecard serve`` from process start to /readyz 200 on both
(target < 2 s on the bundled one; the big one is context), and GET
/v1/prices?as_of= served from the big one. EXPLAIN QUERY PLAN of the as-of
queries goes into the results. About 4 minutes on 2 cores.

    python bench/history_scale.py
    python bench/history_scale.py --models 200 --no-results      # a quick 100,000-row run
    python bench/history_scale.py --db /tmp/big.db --keep         # keep the database for a later run
"""

import argparse
import hashlib
import json
import random
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import benchlib
from ratecard_server import Server, fetch
from ratecard.service.app import Settings, prepare_service
from ratecard.service.catalog import build_catalog
from ratecard.service.changesets import Proposal, diff, record_changeset
from ratecard.service.db import open_database
from ratecard.service.history import AsOfFilter, Served, in_force_counts, page_as_of, rates_as_of
from ratecard.service.queries import served_lanes
from ratecard.service.sources import load_registry
from ratecard.service.timeutil import to_db, utc_now

SOURCE_ID = "bench-synthetic"
HISTORY_START = datetime(2023, 1, 1, tzinfo=UTC)
HISTORY_END = datetime(2026, 6, 1, tzinfo=UTC)
TIERS = ("standard", "batch", "flex", "priority")
KINDS = ("input", "cached_input", "cache_write", "cache_write_1h", "output")
CONTEXT_LEVELS = (0, 200_000)
TARGET_ONE_MODEL_MS, TARGET_CATALOG_MS, TARGET_READY_S = 2.0, 100.0, 2.0
PAGE = 500  # the API's default page size

RATE_COLUMNS = ("lane", "provider", "model", "tier", "kind", "min_prompt_tokens", "usd_per_mtok", "basis",
                "valid_from", "valid_to", "changeset_id", "closed_changeset_id", "source_id", "url", "body_sha256",
                "run_id", "observed_at", "note")
CHANGE_COLUMNS = ("changeset_id", "action", "lane", "provider", "model", "tier", "kind", "min_prompt_tokens",
                  "old_usd_per_mtok", "old_basis", "new_usd_per_mtok", "new_basis", "valid_from", "valid_to",
                  "source_id", "url", "body_sha256", "run_id", "observed_at", "note", "display_name")


def synthetic_models(count: int) -> list[tuple[str, str]]:
    """(provider, model) pairs, 100 models a provider."""
    return [(f"synth-{i // 100:03d}", f"synth-model-{i:05d}") for i in range(count)]


def rate_keys(count: int) -> list[tuple[str, str, int]]:
    """(tier, kind, min_prompt_tokens) keys, base context first."""
    keys = [(t, k, level) for level in CONTEXT_LEVELS for t in TIERS for k in KINDS]
    if count > len(keys):
        raise SystemExit(f"--keys at most {len(keys)}")
    return keys[:count]


def generate(db_path: Path, *, models: int, keys: int, changes: int, seed: int) -> dict:
    """Write the synthetic history into a fresh database at ``db_path``; counts and seconds."""
    rng = random.Random(seed)
    pairs = synthetic_models(models)
    key_list = rate_keys(keys)
    span_s = int((HISTORY_END - HISTORY_START).total_seconds())
    # Each model changes at changes+1 distinct moments (the first adds it); all keys of a model change together.
    events = []
    for m in range(models):
        for step, second in enumerate(sorted(rng.sample(range(span_s), changes + 1))):
            events.append((second, m, step))
    events.sort()
    cs_of: dict[tuple[int, int], int] = {(m, step): i + 1 for i, (_, m, step) in enumerate(events)}
    moment_text = {second: to_db(HISTORY_START + timedelta(seconds=second)) for second, _, _ in events}
    moments = {(m, step): moment_text[second] for second, m, step in events}
    # Prices: a random base per model and key, each change moving it by -30%..+30% (4 decimal places).
    prices = {}
    for m in range(models):
        for k in range(keys):
            value = Decimal(rng.randrange(5, 20000)) / 1000
            for step in range(changes + 1):
                prices[(m, k, step)] = str(value)
                value = max(Decimal("0.0001"), (value * Decimal(rng.randrange(70, 131)) / 100).quantize(Decimal("0.0001")))

    def shas(cs: int) -> str:
        return hashlib.sha256(str(cs).encode()).hexdigest()

    def url(m: int) -> str:
        return f"https://example.com/{pairs[m][0]}/pricing"

    def rate_rows():
        for second, m, step in events:
            provider, model = pairs[m]
            cs = cs_of[(m, step)]
            closed_next = cs_of.get((m, step + 1))  # the changeset that will supersede this value's open row
            at = moments[(m, step)]
            sha = shas(cs)
            for k, (tier, kind, level) in enumerate(key_list):
                common = (SOURCE_ID, url(m), sha, None, at, "")
                if step:
                    # The head of the previous value, closed off at this change (current knowledge).
                    yield ("official", provider, model, tier, kind, level, prices[(m, k, step - 1)], "published",
                           moments[(m, step - 1)], at, cs, None, *common)
                yield ("official", provider, model, tier, kind, level, prices[(m, k, step)], "published",
                       at, None, cs, closed_next, *common)

    def change_rows():
        for second, m, step in events:
            provider, model = pairs[m]
            cs = cs_of[(m, step)]
            at = moments[(m, step)]
            for k, (tier, kind, level) in enumerate(key_list):
                old = prices[(m, k, step - 1)] if step else None
                yield (cs, "changed" if step else "added", "official", provider, model, tier, kind, level,
                       old, "published" if step else None, prices[(m, k, step)], "published", at, None,
                       SOURCE_ID, url(m), shas(cs), None, at, "", "")

    db = open_database(db_path)
    conn = db.conn
    started = time.perf_counter()
    conn.execute("PRAGMA cache_size=-262144")  # 256 MiB for the load only; the server's connections use the default
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany("INSERT INTO providers (id, display_name) VALUES (?, ?)",
                     sorted({(p, p.title()) for p, _ in pairs}))
    first_seen = to_db(HISTORY_START)
    conn.executemany(
        "INSERT INTO models (provider, model, display_name, status, listed, first_seen, last_seen)"
        " VALUES (?, ?, ?, 'active', 1, ?, ?)",
        [(p, m, m.replace("-", " ").title(), first_seen, first_seen) for p, m in pairs])
    conn.executemany(
        "INSERT INTO changesets (id, created_at, source_id, run_id, status, reason, added, changed, delisted)"
        " VALUES (?, ?, ?, NULL, 'applied', '', ?, ?, 0)",
        [(cs_of[(m, step)], moments[(m, step)], SOURCE_ID, 0 if step else keys, keys if step else 0)
         for _, m, step in events])
    conn.executemany(f"INSERT INTO rates ({', '.join(RATE_COLUMNS)}) VALUES ({', '.join('?' * len(RATE_COLUMNS))})",
                     rate_rows())
    conn.executemany(f"INSERT INTO changes ({', '.join(CHANGE_COLUMNS)}) VALUES "
                     f"({', '.join('?' * len(CHANGE_COLUMNS))})", change_rows())
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    seconds = time.perf_counter() - started
    counts = {
        "rate rows": conn.execute("SELECT count(*) FROM rates").fetchone()[0],
        "current rows": conn.execute("SELECT count(*) FROM rates WHERE closed_changeset_id IS NULL").fetchone()[0],
        "changes rows": conn.execute("SELECT count(*) FROM changes").fetchone()[0],
        "changesets": len(events),
    }
    db.close()
    return {"seconds": seconds, **counts}


class SqlTrace:
    """Collects the SQL a block runs on a connection (values expanded), for EXPLAIN QUERY PLAN."""

    def __init__(self, db) -> None:
        self.conn = db.conn
        self.statements: list[str] = []

    def __enter__(self) -> "SqlTrace":
        self.conn.set_trace_callback(self.statements.append)
        return self

    def __exit__(self, *exc) -> None:
        self.conn.set_trace_callback(None)

    def select(self) -> str:
        return next(s for s in self.statements if s.lstrip().upper().startswith("SELECT"))


def query_plan(db, sql: str) -> str:
    """EXPLAIN QUERY PLAN of ``sql``, one line per step."""
    return "\n".join(row[3] for row in db.conn.execute("EXPLAIN QUERY PLAN " + sql))


def abbreviated(statement: str) -> str:
    """A traced statement for the results, with long string literals (the served-lane lists) cut short."""
    return re.sub(r"'([^']{120})[^']+'", lambda m: f"'{m.group(1)}...'", statement)


def random_moment(rng: random.Random, end: datetime) -> datetime:
    """A moment between the start of the synthetic history and ``end``, second precision."""
    return HISTORY_START + timedelta(seconds=rng.randrange(int((end - HISTORY_START).total_seconds())))


def measure_as_of(db, pairs, served: Served, *, samples: int, catalog_samples: int,
                  rng: random.Random) -> tuple[dict, dict]:
    """Timings of as-of reads for one model and for the whole catalog (ms), and the traced SQL."""
    now = utc_now()
    one, one_rows, one_sql_ms = [], [], []
    for _ in range(samples):
        provider, model = rng.choice(pairs)
        at = random_moment(rng, now)
        start = time.perf_counter()
        rows = rates_as_of(db, at, provider=provider, model=model)
        one.append((time.perf_counter() - start) * 1000)
        one_rows.append(len(rows))
    with SqlTrace(db) as trace:
        rates_as_of(db, random_moment(rng, now), provider=pairs[0][0], model=pairs[0][1])
    one_sql = trace.select()
    for _ in range(min(samples, 500)):
        provider, model = rng.choice(pairs)
        at = to_db(random_moment(rng, now))
        sql = one_sql.replace(f"'{pairs[0][0]}'", f"'{provider}'").replace(f"'{pairs[0][1]}'", f"'{model}'")
        start = time.perf_counter()
        db.conn.execute(sql).fetchall()
        one_sql_ms.append((time.perf_counter() - start) * 1000)
    whole, whole_rows = [], []
    for _ in range(catalog_samples):
        at = random_moment(rng, now)
        start = time.perf_counter()
        rows = rates_as_of(db, at, served=served)
        whole.append((time.perf_counter() - start) * 1000)
        whole_rows.append(len(rows))
    # What the API reads for the whole catalog: a page of PAGE rates and the total, at the first,
    # middle and last page of random moments. The service takes per-model counts once per catalog
    # version (timed here) and locates each page with them; without them (a version not swapped in
    # yet) a page counts in SQL and walks from the first row.
    start = time.perf_counter()
    counts = in_force_counts(db, AsOfFilter(served=served))
    counts_ms = (time.perf_counter() - start) * 1000
    pages: dict[str, list[float]] = {f"{name}{how}": [] for how in ("", " (no counts)")
                                     for name in ("first", "middle", "last")}
    totals = []
    for _ in range(catalog_samples):
        at = random_moment(rng, now)
        total = counts.at(at)
        totals.append(total)
        last = max(0, (total - 1) // PAGE * PAGE)
        for how, given in (("", counts), (" (no counts)", None)):
            for name, offset in (("first", 0), ("middle", last // 2 // PAGE * PAGE), ("last", last)):
                start = time.perf_counter()
                page, counted = page_as_of(db, at, AsOfFilter(served=served), limit=PAGE, offset=offset, counts=given)
                pages[name + how].append((time.perf_counter() - start) * 1000)
                assert counted == total and len(page) == min(PAGE, total - offset), (name, offset, total, len(page))
    with SqlTrace(db) as trace:
        page_as_of(db, random_moment(rng, now), AsOfFilter(served=served), limit=PAGE, offset=PAGE, counts=counts)
    whole_sql = trace.select()
    return (
        {"one": one, "one_rows": one_rows, "one_sql": one_sql_ms, "whole": whole, "whole_rows": whole_rows,
         "pages": pages, "totals": totals, "counts_ms": counts_ms, "counted_models": len(counts.by_model(now))},
        {"one model": one_sql, "whole catalog, a page": whole_sql},
    )


def measure_changeset(db, pairs, *, models_per_changeset: int, key_count: int, repeat: int,
                      rng: random.Random) -> list[tuple[float, float, int]]:
    """(diff s, record_changeset s, changes) for changesets of models_per_changeset x keys changes."""
    key_list = rate_keys(key_count)
    results = []
    for _ in range(repeat):
        now = utc_now()
        chosen = rng.sample(pairs, models_per_changeset)
        proposals = [
            Proposal(lane="official", provider=p, model=m, tier=tier, kind=kind, min_prompt_tokens=level,
                     usd_per_mtok=Decimal(rng.randrange(5, 20000)) / 1000, basis="published", valid_from=now,
                     source_id=SOURCE_ID, url=f"https://example.com/{p}/pricing",
                     body_sha256=hashlib.sha256(f"{p}{m}{now}".encode()).hexdigest(), run_id=None, observed_at=now)
            for p, m in chosen for tier, kind, level in key_list
        ]
        start = time.perf_counter()
        changes = diff(db, proposals)
        diffed = time.perf_counter()
        record_changeset(db, changes, source_id=SOURCE_ID, run_id=None, now=now)
        results.append((diffed - start, time.perf_counter() - diffed, len(changes)))
    return results


def time_prepare(db_path: Path, repeat: int) -> list[float]:
    """Seconds of prepare_service (what `ratecard serve` does before listening) on an existing database."""
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        service = prepare_service(Settings(db_path=str(db_path)))
        runs.append(time.perf_counter() - start)
        service.db.close()
    return runs


def time_serve_ready(db_path: Path, workdir: Path, repeat: int,
                     probe: Callable[[Server], list[list]] | None = None) -> tuple[list[float], list[float], list[list]]:
    """`ratecard serve` (one worker, existing database) from process start to /readyz 200: wall and CPU seconds.

    ``probe``, if given, runs against the last server once it is ready and returns table rows.
    """
    walls, cpus, probed = [], [], []
    for i in range(repeat):
        with Server(db_path, 1, workdir) as server:
            walls.append(server.wait_ready())
            cpus.append(server.ready_cpu_s)
            if probe is not None and i == repeat - 1:
                probed = probe(server)
    return walls, cpus, probed


def http_as_of_probe(pairs, *, samples: int, rng: random.Random) -> Callable[[Server], list[list]]:
    """GET /v1/prices?as_of= on a served big database: the whole catalog's first and last page, and one model."""
    def get(url: str) -> tuple[float, dict]:
        start = time.perf_counter()
        status, body = fetch(url, timeout_s=120)
        elapsed = (time.perf_counter() - start) * 1000
        if status != 200:
            raise RuntimeError(f"{url} answered {status}: {body[:300]!r}")
        return elapsed, json.loads(body)

    def probe(server: Server) -> list[list]:
        now = utc_now()
        timings: dict[str, list[float]] = {"whole catalog, first page": [], "whole catalog, last page": [],
                                           "one model": []}
        totals = []
        for _ in range(max(3, samples // 20)):
            url = f"{server.base}/v1/prices?as_of={to_db(random_moment(rng, now))}&limit={PAGE}"
            elapsed, body = get(url)
            timings["whole catalog, first page"].append(elapsed)
            totals.append(body["total"])
            elapsed, body = get(f"{url}&offset={max(0, (body['total'] - 1) // PAGE * PAGE)}")
            timings["whole catalog, last page"].append(elapsed)
        for _ in range(samples):
            url = f"{server.base}/v1/prices?as_of={to_db(random_moment(rng, now))}&model={rng.choice(pairs)[1]}"
            timings["one model"].append(get(url)[0])
        return [[f"GET /v1/prices?as_of=..., {label}, on the big database (median)",
                 f"{benchlib.median(times):.1f} ms", "(context)",
                 f"{len(times)} random moments; urllib client, loopback"
                 + (f"; median total {benchlib.median(totals):,.0f} rates" if "catalog" in label else "")]
                for label, times in timings.items()]
    return probe


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=int, default=2000, help="synthetic models (default 2000)")
    parser.add_argument("--keys", type=int, default=20, help="rate keys per model, at most 40 (default 20)")
    parser.add_argument("--changes", type=int, default=12,
                        help="price changes per key after the first value; rows per key = 2 x changes + 1 (default 12)")
    parser.add_argument("--samples", type=int, default=2000, help="one-model as-of samples (default 2000)")
    parser.add_argument("--catalog-samples", type=int, default=10, help="whole-catalog as-of samples (default 10)")
    parser.add_argument("--repeat", type=int, default=3, help="repeats of the startup timings (default 3)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--db", type=Path, help="big database path (default: in a temp dir, deleted unless --keep)")
    parser.add_argument("--reuse", action="store_true", help="measure an existing --db instead of generating it")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (big and bundled databases, server logs)")
    parser.add_argument("--no-results", action="store_true", help="do not append to bench/RESULTS.md")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="ratecard-bench-history-"))
    try:
        run(args, workdir)
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def run(args: argparse.Namespace, workdir: Path) -> None:
    """Generate (unless --reuse), measure, print and record."""
    db_path = args.db or workdir / "big.db"
    rng = random.Random(args.seed)
    pairs = synthetic_models(args.models)
    rows: list[list] = []
    notes: list[str] = []

    if not args.reuse:
        if db_path.exists():
            raise SystemExit(f"{db_path} exists: pass --reuse to measure it, or another --db")
        print(f"generating {args.models} models x {args.keys} keys x {2 * args.changes + 1} rows into {db_path}",
              flush=True)
        made = generate(db_path, models=args.models, keys=args.keys, changes=args.changes, seed=args.seed)
        rows.append(["generate synthetic history (executemany, one transaction)", f"{made['seconds']:.1f} s", "", ""])
        notes.append(f"Synthetic: {made['rate rows']:,} rate rows ({made['current rows']:,} current, "
                     f"{made['rate rows'] - made['current rows']:,} superseded), {made['changes rows']:,} changes "
                     f"rows, {made['changesets']:,} changesets; {args.models} models x {args.keys} keys x "
                     f"{args.changes} changes after the first value (a change supersedes the open row and appends "
                     "two: the closed-off head and the new value, so 25 rows per key).")
        start = time.perf_counter()
        prepare_service(Settings(db_path=str(db_path))).db.close()
        rows.append(["bootstrap the bundled pages on top (first prepare_service)",
                     f"{time.perf_counter() - start:.1f} s", "", ""])
    service = prepare_service(Settings(db_path=str(db_path)))
    served = served_lanes(service)  # the lane choice the served snapshot applies to past reads
    service.db.close()
    db = open_database(db_path)
    total_rows = db.execute("SELECT count(*) FROM rates").fetchone()[0]
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = sum(p.stat().st_size for p in db_path.parent.glob(db_path.name + "*") if p.suffix != ".lock")
    rows.append(["database size on disk (db + wal)", f"{size / 2**20:.0f} MiB", "",
                 f"{total_rows:,} rate rows, {size / total_rows:.0f} B/row all tables"])

    print("as-of reads ...", flush=True)
    timings, sql = measure_as_of(db, pairs, served, samples=args.samples, catalog_samples=args.catalog_samples, rng=rng)
    one_med, one_p99 = benchlib.median(timings["one"]), benchlib.percentile(timings["one"], 99)
    rows.append(["as_of one model: rates_as_of (median)", f"{one_med:.2f} ms",
                 f"< {TARGET_ONE_MODEL_MS:g} ms {benchlib.pass_fail(one_med < TARGET_ONE_MODEL_MS)}",
                 f"{args.samples} random models x moments; {benchlib.median(timings['one_rows']):.0f} rows each"])
    rows.append(["as_of one model: rates_as_of (p99)", f"{one_p99:.2f} ms", "", ""])
    rows.append(["as_of one model: SQL only (median / p99)",
                 f"{benchlib.median(timings['one_sql']):.2f} / {benchlib.percentile(timings['one_sql'], 99):.2f} ms",
                 "", "same statement, fetchall, no Rate objects"])
    total = benchlib.median(timings["totals"])
    rows.append(["as_of whole catalog: per-model counts, once per catalog version", f"{timings['counts_ms']:.0f} ms",
                 "", f"one grouped walk of rates_in_force; {timings['counted_models']:,} models"])
    for name, times in timings["pages"].items():
        med = benchlib.median(times)
        judged = "no counts" not in name
        rows.append([f"as_of whole catalog: {name} page of {PAGE} + total, page_as_of (median)", f"{med:.1f} ms",
                     f"< {TARGET_CATALOG_MS:g} ms {benchlib.pass_fail(med < TARGET_CATALOG_MS)}" if judged
                     else "(context)",
                     f"{args.catalog_samples} random moments; median total {total:,.0f} rates; "
                     f"max {max(times):.1f} ms"])
    rows.append(["as_of whole catalog: every rate as Rate objects, rates_as_of (median)",
                 f"{benchlib.median(timings['whole']):.1f} ms", "(context)",
                 f"{args.catalog_samples} random moments; median {benchlib.median(timings['whole_rows']):,.0f} rows; "
                 "what an export reads, not a page"])

    print("changesets ...", flush=True)
    commits = measure_changeset(db, pairs, models_per_changeset=max(1, 100 // args.keys), key_count=args.keys,
                                repeat=5, rng=rng)
    diff_s = benchlib.median([c[0] for c in commits])
    record_s = benchlib.median([c[1] for c in commits])
    rows.append([f"one changeset of {commits[0][2]} changes: diff (median of 5)", f"{diff_s * 1000:.1f} ms", "", ""])
    rows.append([f"one changeset of {commits[0][2]} changes: record_changeset (median of 5)",
                 f"{record_s * 1000:.1f} ms", "", f"diff + record {(diff_s + record_s) * 1000:.1f} ms"])

    print("startup ...", flush=True)
    registry = load_registry(None)
    builds = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        catalog = build_catalog(db, registry, now=utc_now())
        builds.append(time.perf_counter() - start)
    rows.append(["build_catalog on the big database (median)", f"{benchlib.median(builds) * 1000:.0f} ms", "",
                 f"{len(catalog.models):,} models in the snapshot"])
    db.close()

    bundled_path = workdir / "bundled.db"
    prepare_service(Settings(db_path=str(bundled_path))).db.close()  # bootstrap once; the timed runs reuse it
    # The target is the service's own database; the big one is context (2,000 extra live models).
    startups = (("existing bundled database", bundled_path, True, None),
                ("big database", db_path, False, http_as_of_probe(pairs, samples=100, rng=rng)))
    for label, path, _, _ in startups:
        prepared = benchlib.median(time_prepare(path, args.repeat))
        rows.append([f"prepare_service on the {label} (median)", f"{prepared:.2f} s", "(part of startup)", ""])
    probed: list[list] = []
    for label, path, judged, probe in startups:
        walls, cpus, probe_rows = time_serve_ready(path, workdir, args.repeat, probe)
        probed += probe_rows
        ready = benchlib.median(walls)
        target = f"< {TARGET_READY_S:g} s {benchlib.pass_fail(ready < TARGET_READY_S)}" if judged else "(context)"
        rows.append([f"`ratecard serve` start to /readyz 200, {label} (median)", f"{ready:.2f} s", target,
                     "runs: " + ", ".join(f"{w:.2f}" for w in walls) + " s wall; server CPU "
                     + ", ".join(f"{c:.2f}" for c in cpus) + " s"])
    rows += probed

    db = open_database(db_path)
    plans = "\n\n".join(f"{name}:\n\n```\n{abbreviated(statement)}\n\n{query_plan(db, statement)}\n```"
                        for name, statement in sql.items())
    db.close()
    table = benchlib.markdown_table(["measure", "value", "target", "detail"], rows)
    print("\n" + table + "\n\n" + plans)
    for note in notes:
        print("- " + note)
    if not args.no_results:
        benchlib.append_results("History at scale (bench/history_scale.py)",
                                [("", table), ("Query plans (as traced from service.history)", plans),
                                 ("Notes", "\n".join("- " + n for n in notes))], env=benchlib.environment())


if __name__ == "__main__":
    main()
