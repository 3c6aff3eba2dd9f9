"""The commands that print an API answer: ``forecast``, ``tokens`` and ``export``.

Each builds the request the endpoint would decode, calls the same function
the handler calls (service.pricing's ``forecast_workload`` and ``tokens_answer``,
service.queries' ``select_export``)
and prints a readable table, or with ``--json`` the endpoint's JSON answer.
Money goes through service.terminal.format_usd; exit statuses are
service.terminal's.
"""

import argparse
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path

from ratecard.service.terminal import EXIT_EMPTY, EXIT_USAGE, format_table, format_usd, write_json


def add_answer_parsers(add, db_flags) -> None:
    """Add ``forecast``, ``tokens`` and ``export``; ``add(name, handler, help)`` and ``db_flags(p)`` are the CLI's."""
    from ratecard.service.export import EXPORT_FORMATS, EXPORT_SCOPES
    from ratecard.service.forecast import DEFAULT_MONTHS, MAX_MONTHS

    p = add("forecast", cmd_forecast, "Project a workload's cost month by month, as POST /v1/forecast does.")
    db_flags(p)
    p.add_argument("models", nargs="+", metavar="MODEL", help="`model` or `provider/model` (a comma list works too).")
    p.add_argument("--input-tokens", type=int, required=True, help="Prompt tokens per request (the whole prompt).")
    volume = p.add_mutually_exclusive_group(required=True)
    volume.add_argument("--monthly-requests", type=int, help="Requests in the first month.")
    volume.add_argument("--monthly-spend-usd", type=_decimal,
                        help="Instead: what the workload costs a month today on --spend-model (default the first MODEL).")
    p.add_argument("--spend-model", metavar="MODEL", help="The model --monthly-spend-usd is spent on.")
    p.add_argument("--cached-input-tokens", type=int, default=0,
                   help="Of the prompt, tokens a cache hit reads from cache.")
    p.add_argument("--output-tokens", type=int, default=0, help="Output tokens per request.")
    p.add_argument("--start-month", metavar="YYYY-MM", help="First month (default: this month, UTC).")
    p.add_argument("--months", type=int, default=DEFAULT_MONTHS, help=f"Months to project, 1 to {MAX_MONTHS}.")
    p.add_argument("--monthly-growth-percent", type=_decimal, default=Decimal(0),
                   help="Growth of requests per month in percent, compounding (-100 to 1000).")
    p.add_argument("--batch-share", type=_decimal, default=Decimal(0),
                   help="Share of requests sent through the batch tier, 0 to 1 (0.6 = 60%%).")
    p.add_argument("--cache-hit-share", type=_decimal, default=Decimal(0),
                   help="Share of requests that read --cached-input-tokens from cache, 0 to 1.")
    p.add_argument("--migration-hours", type=_decimal, help="Hours to move the batch share (with --hourly-rate-usd).")
    p.add_argument("--hourly-rate-usd", type=_decimal, help="Cost of one hour in USD (with --migration-hours).")
    p.add_argument("--json", action="store_true", help="Print the JSON answer of POST /v1/forecast.")

    p = add("tokens", cmd_tokens, "Count a text's tokens for one or more models, as POST /v1/tokens does.")
    db_flags(p)
    p.add_argument("models", nargs="+", metavar="MODEL", help="`model` or `provider/model` (a comma list works too).")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--text", help="The text to count.")
    source.add_argument("--text-file", metavar="FILE", help="Count this file (- for stdin, the default).")
    p.add_argument("--json", action="store_true",
                   help="Print the JSON answer of POST /v1/tokens, one line per model.")

    p = add("export", cmd_export, "Print the catalog or its history: a table, JSON, CSV or a LiteLLM price map.")
    db_flags(p)
    p.add_argument("--format", choices=("table", *EXPORT_FORMATS), default="table",
                   help="table (default), or a format of GET /v1/export.")
    p.add_argument("--json", dest="format", action="store_const", const="json", help="The same as --format json.")
    p.add_argument("--scope", choices=EXPORT_SCOPES, default="catalog",
                   help="catalog: the rates in force; history: every interval of every served rate.")
    p.add_argument("--provider", help="Only this provider id.")
    p.add_argument("--as-of", metavar="TIME", help="The catalog at this date or ISO time.")
    p.add_argument("--version", type=int, help="As the catalog stood at this version.")
    p.add_argument("--output", "-o", metavar="FILE", help="Write to FILE instead of stdout.")


def cmd_forecast(args: argparse.Namespace) -> int:
    """Print each model's months (requests, cost, baseline, savings), totals and payback; or the JSON answer."""
    import msgspec

    from ratecard.service.context import prepare_service, read_settings
    from ratecard.service.errors import ApiError
    from ratecard.service.pricing import ForecastRequest, forecast_workload
    from ratecard.service.responses import encode
    from ratecard.service.terminal import print_warnings, report_invalid

    fields = {
        "models": args.models, "input_tokens": args.input_tokens, "monthly_requests": args.monthly_requests,
        "cached_input_tokens": args.cached_input_tokens, "output_tokens": args.output_tokens,
        "start_month": args.start_month, "months": args.months, "monthly_growth_percent": args.monthly_growth_percent,
        "batch_share": args.batch_share, "cache_hit_share": args.cache_hit_share,
        "migration_hours": args.migration_hours, "hourly_rate_usd": args.hourly_rate_usd,
        "monthly_spend_usd": args.monthly_spend_usd, "spend_model": args.spend_model,
    }
    try:
        # The same validation as the HTTP body: through the typed decoder.
        request = msgspec.json.decode(encode(fields), type=ForecastRequest)
        answer = forecast_workload(prepare_service(read_settings(args)), request)
    except (ApiError, msgspec.ValidationError) as exc:
        return report_invalid("forecast", exc)
    status = 0 if any(f.priced_months for f in answer.forecasts) else EXIT_EMPTY
    if args.json:
        write_json(encode(answer))
    else:
        print("\n\n".join(_forecast_table(answer, f) for f in answer.forecasts))
    print_warnings(answer.warnings)
    return status


def _forecast_table(answer, forecast) -> str:
    head = (f"{forecast.provider}/{forecast.model}: {len(forecast.months)} month(s), {answer.start_month} to "
            f"{answer.end_month}, catalog version {answer.catalog_version}")
    if answer.spend is not None:
        spend = answer.spend
        head += (f"; {format_usd(spend.monthly_spend_usd)} a month on {spend.provider}/{spend.model} at "
                 f"{format_usd(spend.usd_per_request)} a request is {answer.monthly_requests:,} requests")
    rows = [("month", "requests", "cost", "baseline", "batch saves", "cache saves", "cumulative")]
    for m in forecast.months:
        rows.append((m.month, f"{m.requests:,}", format_usd(m.cost_usd), format_usd(m.baseline_usd),
                     format_usd(m.savings_from_batch_usd), format_usd(m.savings_from_caching_usd),
                     format_usd(m.cumulative_cost_usd)))
    rows.append(("total", f"{forecast.requests:,}", format_usd(forecast.total_usd), format_usd(forecast.baseline_usd),
                 format_usd(forecast.savings_from_batch_usd), format_usd(forecast.savings_from_caching_usd), ""))
    lines = [head, format_table(rows, right=range(1, 7))]
    payback = forecast.payback
    if payback is not None:
        when = (f"paid back in month {payback.months} ({payback.month})" if payback.months is not None
                else f"not paid back: {payback.reason}")
        lines.append(f"migration {format_usd(payback.migration_cost_usd)}: {when}")
    return "\n".join(lines)


def cmd_tokens(args: argparse.Namespace) -> int:
    """Print each model's token count for the text (a table, or the JSON answers one per line)."""
    import msgspec

    from ratecard.service.context import prepare_service, read_settings
    from ratecard.service.errors import ApiError
    from ratecard.service.pricing import TokensRequest, model_names, tokens_answer
    from ratecard.service.responses import encode
    from ratecard.service.terminal import report_invalid

    if args.text is not None:
        text = args.text
    elif args.text_file and args.text_file != "-":
        try:
            text = Path(args.text_file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            print(f"ratecard tokens: cannot read {args.text_file}: {exc}", file=sys.stderr)
            return EXIT_USAGE
    else:
        text = sys.stdin.read()
    service = prepare_service(read_settings(args))
    answers = []
    try:
        for name in dict.fromkeys(model_names(args.models)):
            request = msgspec.json.decode(encode({"model": name, "text": text}), type=TokensRequest)
            answers.append(tokens_answer(service, request))
    except (ApiError, msgspec.ValidationError) as exc:
        return report_invalid("tokens", exc)
    if args.json:
        for answer in answers:
            write_json(encode(answer))
        return 0
    rows = [("model", "tokens", "characters", "encoding", "exact")]
    rows += [(f"{a.provider}/{a.model}", f"{a.tokens:,}", f"{a.characters:,}", a.encoding, "yes" if a.exact else "no")
             for a in answers]
    print(format_table(rows, right=(1, 2)))
    for answer in answers:
        if answer.note:
            print(f"note: {answer.provider}/{answer.model}: {answer.note}", file=sys.stderr)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Print (or write to --output) the catalog or its history in the format asked for."""
    from ratecard.service.context import prepare_service, read_settings
    from ratecard.service.errors import ApiError
    from ratecard.service.export import litellm_price_map, rates_csv
    from ratecard.service.queries import select_export
    from ratecard.service.responses import encode
    from ratecard.service.terminal import report_invalid

    service = prepare_service(read_settings(args))
    try:
        # A table is the JSON rows, printed.
        chosen = select_export(service, format_="json" if args.format == "table" else args.format, scope=args.scope,
                               as_of=args.as_of, version=args.version, provider=args.provider)
    except ApiError as exc:
        return report_invalid("export", exc)
    if not chosen.rates:
        print("ratecard export: no rates match", file=sys.stderr)
        return EXIT_EMPTY
    rows = chosen.rates
    if args.format == "litellm":
        body = encode(litellm_price_map(chosen.rates, catalog_version=chosen.version or service.catalog.version,
                                        as_of=chosen.at)) + b"\n"
    elif args.format == "json":
        body = encode(rows) + b"\n"
    elif args.format == "csv":
        body = rates_csv(rows).encode()
    else:
        body = (_rates_table(rows, history=args.scope == "history") + "\n").encode()
    if args.output:
        Path(args.output).write_bytes(body)
        print(f"wrote {args.output} ({len(rows):,} rates)", file=sys.stderr)
    else:
        sys.stdout.flush()
        sys.stdout.buffer.write(body)
    return 0


def _rates_table(rows, *, history: bool) -> str:
    header = ("model", "tier", "kind", "over tokens", "usd_per_mtok", "basis", "from") + (("until",) if history else ())
    table = [header]
    for r in rows:
        cells = (f"{r.provider}/{r.model}", r.tier, r.kind, f"{r.min_prompt_tokens:,}" if r.min_prompt_tokens else "",
                 format_usd(r.usd_per_mtok, exact=True), r.basis, r.valid_from.date().isoformat())
        if history:
            cells += (r.valid_to.date().isoformat() if r.valid_to else "",)
        table.append(cells)
    return format_table(table, right=(3, 4))


def _decimal(text: str) -> Decimal:
    """An exact decimal flag (``0.6``, ``10``); argparse reports anything else as invalid."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value.is_finite():
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value
