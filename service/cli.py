"""The ``ratecard`` command: a thin edge over the library (flags and environment in, core calls out)."""

import argparse
import functools
import os
import sys
from pathlib import Path

from ratecard.scrapers import PARSER_MODULES, get_parser
from ratecard.scrapers.errors import ScrapeError
from ratecard.scrapers.observation import SkippedSection, dump_observations
from ratecard.service.cli_answers import add_answer_parsers
from ratecard.service.context import DEFAULT_DB, read_settings, settings_from
from ratecard.service.plot import add_history_parser
from ratecard.service.terminal import (
    EXIT_EMPTY,
    EXIT_USAGE,
    format_table,
    format_usd,
    print_warnings,
    report_invalid,
    silence_closed_stdout,
    write_json,
)
from ratecard.service.timeutil import parse_moment, utc_now


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status (service.terminal lists them).

    A database ratecard refuses (empty, unreadable, from a newer build) and a
    storage failure (disk full, locked past the timeout, a table missing) end
    the command with one line naming the reason, not a traceback.
    """
    import sqlite3

    from ratecard.service.db import DatabaseRefused, StorageError

    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return EXIT_USAGE
    command = argv[0] if argv else (sys.argv[1] if len(sys.argv) > 1 else "")
    try:
        status = args.handler(args) or 0
        sys.stdout.flush()  # inside the try: a reader that went away shows here, not at exit
    except BrokenPipeError:  # `ratecard export | head`: the reader has what it wanted
        return silence_closed_stdout()
    except DatabaseRefused as exc:
        print(f"ratecard {command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (StorageError, sqlite3.Error) as exc:
        reason = str(exc) if isinstance(exc, StorageError) else f"storage error: {type(exc).__name__}: {exc}"
        print(f"ratecard {command}: {reason}", file=sys.stderr)
        return EXIT_EMPTY
    return status


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the HTTP service (bootstrapping an empty database from the bundled pages first).

    ``--read-only`` serves an existing file and never writes; ``--replica-of URL``
    also restores it from a Litestream replica and follows it; ``--replicate-to URL``
    streams the writer's database to one (see service.replication).
    """
    import uvicorn

    from ratecard.service.app import create_app
    from ratecard.service.context import SettingsError, prepare_service
    from ratecard.service.db import NotARatecardDatabase
    from ratecard.service.replication import ReplicationError, check_replica_url, start_following, start_replicating, \
        wait_for_restore

    read_only = args.read_only or bool(args.replica_of)
    try:
        if args.replica_of and args.replicate_to:
            raise ReplicationError("a replica follows the writer's replica; it does not replicate itself")
        if (args.replica_of or args.replicate_to) and args.workers != 1:
            raise ReplicationError("--replica-of and --replicate-to run one Litestream child beside one worker; for "
                                   "more workers run litestream yourself (see README, Running at scale)")
        for url in filter(None, [args.replica_of, args.replicate_to]):
            check_replica_url(url)
        settings = settings_from(
            args, admin=True, scheduler=not (args.no_scheduler or read_only), admin_writes=not args.no_scheduler,
            bootstrap=not args.no_bootstrap, read_only=read_only, replica_of=args.replica_of,
            replicate_to=args.replicate_to, heartbeat_s=args.heartbeat_seconds,
            public_base_url=(args.public_base_url or os.environ.get("RATECARD_PUBLIC_BASE_URL", "")).rstrip("/"),
            # A replica's file changes under it every follow interval: look often, it costs two stat calls.
            reload_interval_s=0.25 if read_only else 2.0)
    except (SettingsError, ReplicationError) as exc:
        print(f"ratecard serve: {exc}", file=sys.stderr)
        return 2
    litestream = None
    try:
        if args.replica_of:
            if not args.db and not os.environ.get("RATECARD_DB"):
                raise ReplicationError("--replica-of needs --db PATH: the file the replica restores into")
            litestream = start_following(settings.db_path, args.replica_of)
            print(f"ratecard: restoring {litestream.url} into {settings.db_path}", file=sys.stderr, flush=True)
            wait_for_restore(settings.db_path, litestream)
        service = prepare_service(settings)  # bootstraps an empty database once, before any worker starts
        if args.replicate_to:
            litestream = start_replicating(settings.db_path, args.replicate_to)
    except (ReplicationError, NotARatecardDatabase) as exc:
        if litestream is not None:
            litestream.stop()
        print(f"ratecard serve: {exc}", file=sys.stderr)
        return 2
    mode = "replica of " + litestream.url if args.replica_of else ("read-only" if read_only else "writer")
    print(
        f"ratecard: catalog version {service.catalog.version}, {len(service.catalog.models)} models, "
        f"database {settings.db_path} ({mode}); {args.workers} worker(s) on http://{args.host}:{args.port}",
        file=sys.stderr,
        flush=True,
    )
    # uvicorn's own 400s (a malformed request line, an oversize header) are problem+json too; a request or
    # refresh still running when SIGTERM arrives is given the graceful timeout, then cut off.
    common = dict(host=args.host, port=args.port, log_level=args.log_level, server_header=False, loop="auto",
                  http="ratecard.service.http_server:ProblemHttpToolsProtocol", access_log=False,
                  timeout_graceful_shutdown=args.graceful_timeout)
    if args.workers == 1:
        try:
            uvicorn.run(create_app(settings, service=service, litestream=litestream), **common)
        finally:
            if litestream is not None:
                litestream.stop()
        return 0
    service.db.close()
    os.environ.update({
        "RATECARD_DB": str(settings.db_path), "RATECARD_SOURCES": settings.sources_path or "",
        "RATECARD_SCHEDULER": "1" if settings.scheduler else "0",
        "RATECARD_ADMIN_WRITES": "1" if settings.admin_writes else "0",
        "RATECARD_READ_ONLY": "1" if settings.read_only else "0",
        "RATECARD_PUBLIC_BASE_URL": settings.public_base_url,
        "RATECARD_CORS_ORIGINS": ",".join(settings.cors_origins),
        "RATECARD_BOOTSTRAP": "1" if settings.bootstrap else "0",
    })
    uvicorn.run("ratecard.service.asgi:app_from_env", factory=True, workers=args.workers, **common)
    return 0


def cmd_parse(args: argparse.Namespace) -> int:
    """Print a page's observations as JSON; no database is touched."""
    try:
        body = Path(args.file).read_bytes()
    except OSError as exc:
        print(f"ratecard parse: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    try:
        reading = get_parser(args.source)(body, args.url or Path(args.file).resolve().as_uri())
    except ScrapeError as exc:
        print(f"ratecard parse: page rejected: {exc}", file=sys.stderr)
        return 1
    for section in reading.skipped:
        print(f"ratecard parse: {skipped_line(section)}", file=sys.stderr)
    # A page read in part still gave rates (exit 0); one that gave none is rejected, as the pipeline does.
    if not reading.observations:
        print("ratecard parse: page rejected: no rates read", file=sys.stderr)
        return 1
    sys.stdout.buffer.write(dump_observations(reading.observations) + b"\n")
    return 0


def skipped_line(section: SkippedSection) -> str:
    """One line naming a skipped page section, what it would have priced, and why it was skipped."""
    scope = ", ".join(part for part in (" ".join(section.providers), " ".join(section.models),
                                        " ".join(section.tiers)) if part)
    return f"skipped section {section.section!r} ({scope or 'scope unknown'}): {section.reason}"


def cmd_refresh(args: argparse.Namespace) -> int:
    """Refresh sources: from a saved file (``--from-file``) or by fetching their pages."""
    from ratecard.scrapers.redact import redact_url
    from ratecard.service.catalog import sync_model_catalog
    from ratecard.service.db import open_database
    from ratecard.service.refresh import ingest_page
    from ratecard.service.source_lock import RefreshInProgress, source_lock
    from ratecard.service.sources import RegistryError, load_registry

    settings = settings_from(args)
    try:
        registry = load_registry(Path(settings.sources_path) if settings.sources_path else None)
    except RegistryError as exc:
        print(f"ratecard refresh: {exc}", file=sys.stderr)
        return 2
    unknown = [s for s in args.source_ids if s not in registry.sources]
    if unknown:
        print(f"ratecard refresh: unknown source(s) {', '.join(unknown)}; known: {', '.join(registry.sources)}",
              file=sys.stderr)
        return 2
    db = open_database(settings.db_path)
    sync_model_catalog(db, now=utc_now())
    if args.from_file:
        if len(args.source_ids) != 1:
            print("ratecard refresh: --from-file needs exactly one SOURCE", file=sys.stderr)
            return 2
        source = registry.sources[args.source_ids[0]]
        try:
            observed = parse_moment(args.observed_at) if args.observed_at else None
        except ValueError as exc:
            print(f"ratecard refresh: --observed-at: {exc}", file=sys.stderr)
            return 2
        now = utc_now()
        body = Path(args.from_file).read_bytes()
        try:
            with source_lock(settings.db_path, db, source.id):
                result = ingest_page(db, source, body, url=Path(args.from_file).resolve().as_uri(), fetched_at=now,
                                     observed_at=observed, now=now, trigger="file")
        except RefreshInProgress as exc:
            print(f"ratecard refresh: {exc} (scheduler, admin API or another command); try again later",
                  file=sys.stderr)
            return 1
        _print_result(result)
        return 0 if result.status != "failed" else 1
    from ratecard.service.scheduler import refresh_sources_once

    source_ids = args.source_ids or list(registry.sources)
    counter = iter(range(1, len(source_ids) + 1))

    def starting(source) -> None:
        # One line as each source starts, so a long refresh (a slow page, a deadline) shows where it is.
        print(f"[{next(counter)}/{len(source_ids)}] {source.id}: fetching {redact_url(source.url)} ...",
              file=sys.stderr, flush=True)

    # A single source's result line is progress enough; several get a line as each starts too.
    results = refresh_sources_once(db, registry, source_ids, progress=_print_result,
                                   started=starting if len(source_ids) > 1 else None,
                                   db_path=settings.db_path, policy=settings.fetch)
    failed = sum(r.status == "failed" for r in results)
    print(f"{len(results)} source(s) refreshed, {failed} failed", file=sys.stderr)
    return 1 if failed else 0


def _print_result(result) -> None:
    line = f"{result.source_id}: {result.status}"
    if result.changeset_id:
        line += f" (changeset {result.changeset_id}, {result.changes} change(s))"
    if result.rows_parsed:
        line += f", {result.rows_parsed} rates read"
    if result.error:
        line += f" - {result.error}"
    print(line, file=sys.stderr, flush=True)
    for section in result.skipped:
        print(f"  {skipped_line(section)}", file=sys.stderr, flush=True)


def cmd_changesets(args: argparse.Namespace) -> int:
    """List, show, approve or reject changesets (quarantined ones await a decision)."""
    from ratecard.service.changesets import NotQuarantined, approve_changeset, reject_changeset
    from ratecard.service.db import open_database
    from ratecard.service.history import changeset_with_changes, changesets_page
    from ratecard.service.responses import encode
    from ratecard.service.queries import changeset_out

    settings = read_settings(args) if args.action in ("list", "show") else settings_from(args)
    if settings.db_path is None:  # nothing given: the bundled history, in memory
        from ratecard.service.context import prepare_service

        db = prepare_service(settings).db
    else:
        db = open_database(settings.db_path)
    if args.action == "list":
        listed = changesets_page(db, status=args.status, limit=args.limit)
        for cs, changes in listed:
            print(f"{cs['id']:>5}  {cs['created_at']}  {cs['source_id']:<12} {cs['status']:<11} "
                  f"{len(changes):>4} change(s)  {cs['reason']}")
        if not listed:
            print(f"ratecard changesets list: no {args.status} changesets", file=sys.stderr)
            return EXIT_EMPTY
        return 0
    if args.id is None:
        print(f"ratecard changesets {args.action}: a changeset ID is required", file=sys.stderr)
        return 2
    try:
        if args.action == "show":
            found = changeset_with_changes(db, args.id)
            if found is None:
                print(f"ratecard changesets show: no changeset {args.id}", file=sys.stderr)
                return 1
            write_json(encode(changeset_out(*found)))
        elif args.action == "approve":
            applied = approve_changeset(db, args.id, now=utc_now())
            print(f"changeset {args.id} approved" + (f", applied as {applied}" if applied else ", nothing left to apply"))
        else:
            reject_changeset(db, args.id, now=utc_now())
            print(f"changeset {args.id} rejected")
    except NotQuarantined as exc:
        print(f"ratecard changesets {args.action}: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_reparse(args: argparse.Namespace) -> int:
    """Run today's parser over a source's archived bodies, oldest first, without fetching."""
    from ratecard.service.db import open_database
    from ratecard.service.history import archived_pages
    from ratecard.service.refresh import ingest_page
    from ratecard.service.source_lock import RefreshInProgress, source_lock
    from ratecard.service.sources import load_registry
    from ratecard.service.timeutil import from_db

    settings = settings_from(args)
    registry = load_registry(Path(settings.sources_path) if settings.sources_path else None)
    if args.source not in registry.sources:
        print(f"ratecard reparse: unknown source {args.source!r}", file=sys.stderr)
        return 2
    db = open_database(settings.db_path)
    source = registry.sources[args.source]
    lock = source_lock(settings.db_path, db, source.id)
    try:
        lock.acquire()
    except RefreshInProgress as exc:
        print(f"ratecard reparse: {exc}; try again later", file=sys.stderr)
        return 1
    count = 0
    try:
        for page in archived_pages(db, source.id):  # a failed body pruned meanwhile is skipped
            count += 1
            seen = from_db(page["fetched_at"])
            # A reparse must not stop at "identical body": the parser, not the page, changed.
            result = ingest_page(db, source, page["body"], url=page["url"], fetched_at=seen, observed_at=seen,
                                 now=utc_now(), trigger="reparse", force=True)
            _print_result(result)
    finally:
        lock.release()
    print(f"{count} archived page(s) reparsed", file=sys.stderr)
    return 0


def cmd_agreement(args: argparse.Namespace) -> int:
    """Print where the witnesses disagree with the official rates."""
    from ratecard.service.agreement import compare_rates
    from ratecard.service.context import prepare_service

    service = prepare_service(read_settings(args))
    report = compare_rates(service.catalog, at=utc_now(), provider=args.provider)
    for summary in report.witnesses:
        print(f"{summary.witness:<12} compared {summary.compared:>4}  agree {summary.agreeing:>4}  "
              f"disagree {summary.disagreeing:>4}")
    if not any(summary.compared for summary in report.witnesses):
        print("ratecard agreement: no witness rate to compare" + (f" for {args.provider}" if args.provider else ""),
              file=sys.stderr)
        return EXIT_EMPTY
    print()
    for row in report.disagreements:
        key = f"{row.provider}/{row.model} {row.tier} {row.kind}" + (f" >{row.min_prompt_tokens}" if row.min_prompt_tokens else "")
        official = "not offered" if row.official_usd_per_mtok is None else format_usd(row.official_usd_per_mtok, exact=True)
        said = "not offered" if row.witness_usd_per_mtok is None else format_usd(row.witness_usd_per_mtok, exact=True)
        print(f"{key:<62} official {official:>11}  {row.witness:<11} {said:>11}")
    return 0


def cmd_estimate(args: argparse.Namespace) -> int:
    """Price a workload on every tier of each model, as POST /v1/estimate does; a table or --json."""
    from decimal import Decimal, InvalidOperation

    import msgspec

    from ratecard.service.context import prepare_service
    from ratecard.service.problems import ApiError
    from ratecard.service.responses import encode
    from ratecard.service.pricing import EstimateRequest, estimate_workload

    text = None
    if args.text_file:
        text = sys.stdin.read() if args.text_file == "-" else Path(args.text_file).read_text(encoding="utf-8")
    try:
        discount = Decimal(args.discount_percent)
    except InvalidOperation:
        print(f"ratecard estimate: --discount-percent: {args.discount_percent!r} is not a number", file=sys.stderr)
        return 2
    try:
        request = EstimateRequest(
            models=args.models, input_tokens=args.input_tokens, text=text,
            cached_input_tokens=args.cached_input_tokens, cache_write_tokens=args.cache_write_tokens,
            cache_ttl=args.cache_ttl, output_tokens=args.output_tokens, requests=args.requests, period=args.period,
            tiers=args.tier or None, as_of=args.as_of, version=args.version, discount_percent=discount,
            batch_bytes_per_request=args.batch_bytes_per_request,
        )
        # The same validation as the HTTP body: round-trip through the typed decoder.
        request = msgspec.json.decode(encode(request), type=EstimateRequest)
        answer = estimate_workload(prepare_service(read_settings(args)), request)
    except (ApiError, msgspec.ValidationError) as exc:
        return report_invalid("estimate", exc)
    status = 0 if answer.estimates else EXIT_EMPTY  # every model unpriced: the warnings say why
    if args.json:
        write_json(encode(answer))
        print_warnings(answer.warnings)
        return status
    per = answer.period
    print(f"catalog version {answer.catalog_version}, prices as of {answer.as_of.isoformat()}, "
          f"{answer.requests:,} requests per {per}")
    header = ("model", "tier", "per request", "per 1k", f"per {per}", "per year", "vs standard")
    rows = [header]
    for e in answer.estimates:
        pct = None if e.savings_vs_standard is None else e.savings_vs_standard.percent
        saving = "" if pct is None else (f"-{pct}%" if pct >= 0 else f"+{-pct}%")  # the change in cost
        tier = e.tier + (f" >{e.min_prompt_tokens:,}" if e.min_prompt_tokens else "")
        rows.append((f"{e.provider}/{e.model}", tier, format_usd(e.usd_per_request), format_usd(e.usd_per_1k_requests),
                     format_usd(e.usd_per_period), format_usd(e.usd_per_year), saving))
    print(format_table(rows, right=range(2, 7)))
    for e in answer.estimates:
        if e.batch_plan is not None:
            print(f"{e.provider}/{e.model} batch plan: {e.batch_plan.note}")
    print_warnings([*answer.warnings, *(w for e in answer.estimates for w in e.warnings)])
    return status


def cmd_openapi(args: argparse.Namespace) -> int:
    """Write the OpenAPI document generated from the app."""
    from ratecard.service.openapi import openapi_json

    Path(args.output).write_bytes(openapi_json())
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ratecard", description="Versioned LLM API prices and cost estimates.")
    sub = parser.add_subparsers(title="commands")

    def add(name: str, handler, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(handler=handler)
        return p

    def db_flags(p: argparse.ArgumentParser, *, reads: bool = False) -> None:
        fallback = f", else ./{DEFAULT_DB} if there, else the bundled catalog in memory" if reads else f" or {DEFAULT_DB}"
        p.add_argument("--db", help=f"SQLite database path (default: $RATECARD_DB{fallback})")
        p.add_argument("--sources", help="TOML file overriding the source registry (default: $RATECARD_SOURCES)")

    p = add("serve", cmd_serve, "Run the HTTP API (an empty database is filled from the bundled pages).")
    db_flags(p)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--no-scheduler", action="store_true", help="Do not run scheduled refreshes (extra replicas).")
    p.add_argument("--workers", type=int, default=1,
                   help="Worker processes (default 1); only one of them runs the scheduler.")
    p.add_argument("--cors-origins", help="Comma-separated origins allowed to call the API from a browser.")
    p.add_argument("--read-only", action="store_true",
                   help="Serve an existing database without writing (no runs, scheduler or admin writes).")
    p.add_argument("--replica-of", metavar="URL",
                   help="Restore --db from this Litestream replica URL (s3://bucket/path, file:///path) and follow "
                        "it; implies --read-only. Credentials come from the AWS environment or config file.")
    p.add_argument("--replicate-to", metavar="URL",
                   help="Stream the database to this Litestream replica URL while serving (the writer).")
    p.add_argument("--heartbeat-seconds", type=float, default=5.0,
                   help="With --replicate-to: how often the writer records a heartbeat replicas measure lag by.")
    p.add_argument("--public-base-url", metavar="URL",
                   help="Absolute links (the Atom feed) start with this, e.g. https://prices.example.com "
                        "(default: $RATECARD_PUBLIC_BASE_URL, else links are relative).")
    p.add_argument("--log-level", default="info")
    p.add_argument("--no-bootstrap", action="store_true",
                   help="Serve the database as it is, without ingesting the bundled pages it lacks.")
    p.add_argument("--graceful-timeout", type=float, default=10.0, metavar="SECONDS",
                   help="On SIGTERM, wait this long for requests in flight before stopping (default 10).")

    p = add("parse", cmd_parse, "Parse a saved page and print its rates as JSON (no database).")
    p.add_argument("source", choices=sorted(PARSER_MODULES), metavar="SOURCE")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--url", help="The URL the page came from (for error messages).")

    p = add("refresh", cmd_refresh, "Refresh sources now, from their pages or from a saved file.")
    db_flags(p)
    p.add_argument("source_ids", nargs="*", metavar="SOURCE")
    p.add_argument("--from-file", metavar="PATH", help="Ingest this saved page instead of fetching.")
    p.add_argument("--observed-at", metavar="TIME", help="When the saved page was seen (date or ISO time).")

    p = add("changesets", cmd_changesets, "List, show, approve or reject changesets.")
    db_flags(p, reads=True)
    p.add_argument("action", choices=["list", "show", "approve", "reject"])
    p.add_argument("id", nargs="?", type=int, metavar="ID")
    p.add_argument("--status", default="quarantined", help="With list: quarantined (default), applied, approved, rejected.")
    p.add_argument("--limit", type=int, default=50)

    p = add("reparse", cmd_reparse, "Re-read a source's archived pages with today's parser (no fetching).")
    db_flags(p)
    p.add_argument("source", metavar="SOURCE")

    p = add("agreement", cmd_agreement, "Show where witnesses disagree with the official rates.")
    db_flags(p, reads=True)
    p.add_argument("--provider")

    p = add("estimate", cmd_estimate, "Estimate what a workload costs on every tier of one or more models.")
    db_flags(p, reads=True)
    p.add_argument("models", nargs="+", metavar="MODEL", help="`model` or `provider/model` (a comma list works too).")
    p.add_argument("--input-tokens", type=int, help="Prompt tokens per request (the whole prompt).")
    p.add_argument("--text-file", metavar="FILE", help="Count this prompt (- for stdin) instead of --input-tokens.")
    p.add_argument("--cached-input-tokens", type=int, default=0, help="Of the prompt, tokens read from cache.")
    p.add_argument("--cache-write-tokens", type=int, default=0, help="Of the prompt, tokens written to cache.")
    p.add_argument("--cache-ttl", choices=["5m", "1h"], default="5m")
    p.add_argument("--output-tokens", type=int, default=0, help="Output tokens per request.")
    p.add_argument("--requests", type=int, default=1, help="Requests per period (default 1).")
    p.add_argument("--period", choices=["day", "week", "month"], default="month")
    p.add_argument("--tier", action="append", help="Only this tier (repeatable).")
    p.add_argument("--as-of", metavar="TIME", help="Price at this date or ISO time.")
    p.add_argument("--version", type=int, help="Price as of this catalog version.")
    p.add_argument("--discount-percent", default="0", help="A negotiated discount, applied last.")
    p.add_argument("--batch-bytes-per-request", type=int,
                   help="A request's weight in a batch input file, for the batch plan (default: input tokens x 4 + 300).")
    p.add_argument("--json", action="store_true", help="Print the JSON answer of POST /v1/estimate.")

    add_answer_parsers(add, functools.partial(db_flags, reads=True))
    add_history_parser(sub)

    p = add("openapi", cmd_openapi, "Write openapi/openapi.json from the app.")
    p.add_argument("--output", default="openapi/openapi.json")
    return parser


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
