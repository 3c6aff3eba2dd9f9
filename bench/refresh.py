"""Refresh costs: parsing each saved page, the full offline ingest, and a no-change refresh.

1. Parse time of every saved page under tests/fixtures/<source>/ (sidecar
   ``.expected.json`` / ``.rejected.txt`` files skipped; a page with a
   ``.rejected.txt`` is timed to its rejection) via ``scrapers.get_parser``.
   Folders that name no parser (e.g. tests/fixtures/pages) are not pages of a source.
2. The full offline ingest: ``prepare_service`` on an empty temporary database
   (every bundled snapshot, curated history, the first catalog), plus the same
   steps timed one by one to show where the time goes.
3. A refresh that changes nothing adds nothing: for the latest bundled snapshot
   of each source, on a fresh in-memory database, ``ingest_page`` once, then
   again with ``force=True`` (so it is parsed and diffed, not skipped as an
   identical body); the second must add 0 rate rows and 0 changesets.

    python bench/refresh.py
    python bench/refresh.py --ingest-repeat 1 --no-results
"""

import argparse
import tempfile
import time
from pathlib import Path

import benchlib
from ratecard import data as ratecard_data
from ratecard.scrapers import PARSER_MODULES, get_parser
from ratecard.scrapers.errors import ScrapeError
from ratecard.service.app import Settings, prepare_service
from ratecard.service.bootstrap import bundled_snapshots, ingest_bundled
from ratecard.service.catalog import build_catalog, sync_model_catalog
from ratecard.service.curated import load_curated
from ratecard.service.db import open_database
from ratecard.service.refresh import ingest_page
from ratecard.service.sources import load_registry
from ratecard.service.timeutil import parse_moment, utc_now

# Bundled pages live once, in data/snapshots/; tests/fixtures/ keeps only test-only pages.
PAGE_FOLDERS = (benchlib.REPO / "data" / "snapshots", benchlib.REPO / "tests" / "fixtures")
SIDECARS = (".expected.json", ".rejected.txt")


def saved_pages() -> list[tuple[str, Path]]:
    """(source, page) for every saved page of a known parser, sidecars skipped."""
    return [
        (source_dir.name, page)
        for folder in PAGE_FOLDERS
        for source_dir in sorted(p for p in folder.iterdir() if p.is_dir() and p.name in PARSER_MODULES)
        for page in sorted(source_dir.iterdir())
        if page.is_file() and not page.name.endswith(SIDECARS)
    ]


def bench_parsers(args: argparse.Namespace) -> str:
    """Time each parser on each saved page; a Markdown table."""
    rows = []
    for source, page in saved_pages():
        parse = get_parser(source)
        body = page.read_bytes()
        url = page.resolve().as_uri()
        try:
            reading = parse(body, url)
            outcome = f"{len(reading.observations)} rates" + (f", {len(reading.skipped)} skipped" if reading.skipped else "")
        except ScrapeError as exc:
            outcome = f"rejected ({type(exc).__name__})"

        def once() -> None:
            try:
                parse(body, url)
            except ScrapeError:
                pass

        rounds = benchlib.time_per_call(once, repeat=args.rounds, min_time_s=args.round_time)
        rows.append([source, page.name if len(page.name) <= 60 else page.name[:57] + "...", f"{len(body) / 1024:.0f}",
                     outcome, f"{benchlib.median(rounds) * 1000:.2f}", f"{min(rounds) * 1000:.2f}"])
        print(f"parse {source}/{page.name}: {rows[-1][4]} ms", flush=True)
    return benchlib.markdown_table(["source", "page", "KiB", "outcome", "ms (median)", "ms (best)"], rows)


def bench_ingest(args: argparse.Namespace, workdir: Path) -> str:
    """Time the full offline ingest on empty databases; a Markdown table."""
    totals, counts = [], {}
    for i in range(args.ingest_repeat):
        path = workdir / f"ingest-{i}.db"
        start = time.perf_counter()
        service = prepare_service(Settings(db_path=str(path)))
        totals.append(time.perf_counter() - start)
        counts = {
            "rate rows": service.db.execute("SELECT count(*) FROM rates").fetchone()[0],
            "changesets": service.db.execute("SELECT count(*) FROM changesets").fetchone()[0],
            "runs": service.db.execute("SELECT count(*) FROM runs").fetchone()[0],
            "models served": len(service.catalog.models),
        }
        service.db.close()
        print(f"offline ingest {i + 1}: {totals[-1]:.2f} s", flush=True)
    # The same steps one by one (as prepare_service runs them), to see where the time goes.
    steps = {}
    path = workdir / "ingest-steps.db"
    start = time.perf_counter()
    db = open_database(path)
    registry = load_registry(None)
    steps["open_database + load_registry"] = time.perf_counter() - start
    for name, step in (
        ("sync_model_catalog", lambda: sync_model_catalog(db, now=utc_now())),
        ("ingest_bundled (every snapshot)", lambda: ingest_bundled(db, registry, clock=utc_now)),
        ("load_curated", lambda: load_curated(db, now=utc_now())),
        ("build_catalog", lambda: build_catalog(db, registry, now=utc_now())),
    ):
        start = time.perf_counter()
        step()
        steps[name] = time.perf_counter() - start
    db.close()
    rows = [[f"prepare_service on an empty file database (median of {len(totals)})",
             f"{benchlib.median(totals):.2f}", "runs: " + ", ".join(f"{t:.2f}" for t in totals)]]
    rows += [[f"  step: {name}", f"{seconds:.2f}", ""] for name, seconds in steps.items()]
    rows.append(["result", "", ", ".join(f"{v:,} {k}" for k, v in counts.items())])
    return benchlib.markdown_table(["offline ingest", "seconds", "detail"], rows)


def bench_no_change(args: argparse.Namespace) -> tuple[str, bool]:
    """Ingest each source's latest bundled page twice; a Markdown table and whether all added nothing."""
    registry = load_registry(None)
    latest = {}
    for snapshot in bundled_snapshots():  # oldest first: the last one per source wins
        latest[snapshot.source] = snapshot
    rows, all_ok = [], True
    for source_id, snapshot in latest.items():
        source = registry.sources.get(source_id)
        if source is None or not source.enabled:
            continue
        body = ratecard_data.path("snapshots", *snapshot.file.split("/")).read_bytes()
        db = open_database(None)
        sync_model_catalog(db, now=utc_now())
        seen = parse_moment(snapshot.observed_at)
        start = time.perf_counter()
        first = ingest_page(db, source, body, url=snapshot.url, fetched_at=seen, observed_at=seen, now=utc_now(),
                            trigger="bench")
        first_s = time.perf_counter() - start
        rates_before = db.execute("SELECT count(*) FROM rates").fetchone()[0]
        changesets_before = db.execute("SELECT count(*) FROM changesets").fetchone()[0]
        now = utc_now()
        start = time.perf_counter()
        second = ingest_page(db, source, body, url=snapshot.url, fetched_at=now, now=now, trigger="bench", force=True)
        second_s = time.perf_counter() - start
        added = db.execute("SELECT count(*) FROM rates").fetchone()[0] - rates_before
        new_changesets = db.execute("SELECT count(*) FROM changesets").fetchone()[0] - changesets_before
        ok = added == 0 and new_changesets == 0 and second.status == "no_change"
        all_ok = all_ok and ok
        rows.append([source_id, first.status, rates_before, f"{first_s * 1000:.0f}", second.status,
                     f"{second_s * 1000:.0f}", added, new_changesets, benchlib.pass_fail(ok)])
        db.close()
        print(f"no-change {source_id}: second ingest {second.status}, {added} rows added", flush=True)
    table = benchlib.markdown_table(
        ["source", "1st ingest", "rate rows", "1st ms", "2nd ingest (force)", "2nd ms", "rows added",
         "changesets added", "0 added"], rows)
    return table, all_ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds per page (default 5)")
    parser.add_argument("--round-time", type=float, default=0.3, help="seconds per round (default 0.3)")
    parser.add_argument("--ingest-repeat", type=int, default=3, help="full offline ingests to time (default 3)")
    parser.add_argument("--no-results", action="store_true", help="do not append to bench/RESULTS.md")
    args = parser.parse_args()

    parse_table = bench_parsers(args)
    with tempfile.TemporaryDirectory(prefix="ratecard-bench-refresh-") as tmp:
        ingest_table = bench_ingest(args, Path(tmp))
    no_change_table, ok = bench_no_change(args)
    print("\n" + parse_table + "\n\n" + ingest_table + "\n\n" + no_change_table)
    print(f"\nno-change refresh adds 0 rate rows: {benchlib.pass_fail(ok)}")
    if not args.no_results:
        benchlib.append_results(
            "Refresh costs (bench/refresh.py)",
            [("Parse time per saved page", parse_table), ("Full offline ingest", ingest_table),
             (f"Refresh with no change (second ingest forced): {benchlib.pass_fail(ok)}", no_change_table)],
            env=benchlib.environment(),
        )


if __name__ == "__main__":
    main()
