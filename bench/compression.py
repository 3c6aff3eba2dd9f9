"""What gzip costs and saves: bytes on the wire and time per answer, with and without compression.

Drives the app in process through ASGI (no sockets, no server: the same
overhead on every case, so the ratios show what compression adds) over the
bundled catalog. Five answers, from the largest the API gives to a small
one: ``/v1/prices?limit=5000``, the CSV export of one provider, a two-model
estimate, the calculator page and one model's prices. Each is asked for
plainly and with ``Accept-Encoding: gzip`` at zlib levels 1, 6 (what the app
uses) and 9 (Litestar's default), and with brotli when the ``brotli`` module
is installed (it is not a dependency). Sizes are exact; times are the median
of interleaved rounds.

    python bench/compression.py
    python bench/compression.py --rounds 5 --round-time 0.2 --no-results
"""

import argparse
import asyncio
from unittest import mock

import benchlib
from litestar.config.compression import CompressionConfig

from ratecard.service.app import Settings, create_app, prepare_service
from ratecard.service.compression import COMPRESS_OVER_BYTES, GZIP_LEVEL, CachingCompression

ANSWERS = {
    "/v1/prices?limit=5000 (JSON)": ("/v1/prices", "limit=5000"),
    "/v1/export?format=csv&provider=openai": ("/v1/export", "format=csv&provider=openai"),
    "/v1/estimate, 2 models (JSON)": ("/v1/estimate",
                                      "models=gpt-4o,claude-sonnet-4-5&input_tokens=2000&output_tokens=800"),
    "/calculator (HTML)": ("/calculator", ""),
    "/v1/prices?model=gpt-4o (JSON)": ("/v1/prices", "model=gpt-4o"),
}


def app_with(service, config: CompressionConfig | None):
    """The app over ``service``, with this compression in place of its own (None: its own).

    create_app takes no compression argument (operators have nothing to tune), so the bench
    swaps the config it reads for the one case. State is set as the lifespan would set it.
    """
    if config is None:
        app = create_app(service.settings, service=service)
    else:
        with mock.patch("ratecard.service.app.compression_config", lambda: config):
            app = create_app(service.settings, service=service)
    app.state.service = service
    return app


async def fetch(app, path: str, query: str, encoding: str) -> tuple[int, int]:
    """(status, body bytes on the wire) of one GET through the ASGI app."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": query.encode(), "root_path": "",
             "headers": [(b"host", b"bench"), (b"accept-encoding", encoding.encode())],
             "client": ("127.0.0.1", 1), "server": ("bench", 80), "state": {}}
    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    await app(scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status, sum(len(m.get("body", b"")) for m in sent if m["type"] == "http.response.body")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7, help="timed rounds per case (default 7)")
    parser.add_argument("--round-time", type=float, default=0.3, help="seconds per round (default 0.3)")
    parser.add_argument("--no-results", action="store_true", help="do not append to bench/RESULTS.md")
    args = parser.parse_args()

    service = prepare_service(Settings(db_path=None))
    # (label, app, Accept-Encoding): the app as configured, plus other gzip levels and brotli for comparison.
    variants = [("plain", app_with(service, None), "identity"),
                (f"gzip {GZIP_LEVEL} (the app)", app_with(service, None), "gzip")]
    for level in (1, 9):
        config = CompressionConfig(backend="gzip", minimum_size=COMPRESS_OVER_BYTES, gzip_compress_level=level,
                                   middleware_class=CachingCompression)
        variants.append((f"gzip {level}", app_with(service, config), "gzip"))
    try:
        brotli_config = CompressionConfig(backend="brotli", minimum_size=COMPRESS_OVER_BYTES,
                                          middleware_class=CachingCompression)
        variants.append(("brotli 5", app_with(service, brotli_config), "br"))
    except Exception:  # MissingDependencyException: brotli is not installed
        pass

    loop = asyncio.new_event_loop()
    sizes: dict[tuple[str, str], int] = {}
    cases = {}
    for answer, (path, query) in ANSWERS.items():
        for label, app, encoding in variants:
            status, size = loop.run_until_complete(fetch(app, path, query, encoding))
            assert status == 200, (answer, label, status)
            sizes[(answer, label)] = size
            cases[(answer, label)] = (lambda a=app, p=path, q=query, e=encoding:
                                      loop.run_until_complete(fetch(a, p, q, e)))
    print(f"timing {len(cases)} cases, {args.rounds} interleaved rounds of ~{args.round_time:g} s each", flush=True)
    rounds = benchlib.time_interleaved(cases, repeat=args.rounds, min_time_s=args.round_time)
    labels = [label for label, _, _ in variants]

    size_rows, time_rows = [], []
    for answer in ANSWERS:
        plain = sizes[(answer, "plain")]
        size_rows.append([answer, f"{plain:,}", *(f"{sizes[(answer, l)]:,} ({sizes[(answer, l)] / plain:.1%})"
                                                   for l in labels[1:])])
        base = rounds[(answer, "plain")]
        cells = [answer, f"{benchlib.median(base) * 1e6:,.0f}"]
        for label in labels[1:]:
            # The median of per-round ratios: each round's two figures were taken moments apart.
            ratio = benchlib.median([t / b for t, b in zip(rounds[(answer, label)], base)])
            cells.append(f"{benchlib.median(rounds[(answer, label)]) * 1e6:,.0f} ({ratio:.2f}x)")
        time_rows.append(cells)
    size_table = benchlib.markdown_table(["answer", "plain bytes", *labels[1:]], size_rows)
    time_table = benchlib.markdown_table(["answer", "plain µs", *(f"{l} µs (x plain)" for l in labels[1:])],
                                         time_rows)
    print("\n" + size_table + "\n\n" + time_table)
    notes = [
        f"Answers under {COMPRESS_OVER_BYTES} bytes go plain whatever the client accepts.",
        "µs per answer through the ASGI app in process (routing, handler, encoding, compression), no sockets;"
        " the ratio is the median of per-round ratios against the plain answer.",
        "brotli runs only where the `brotli` module is installed (not a dependency)."
        + ("" if any(l.startswith("brotli") for l in labels) else " It was not installed for this run."),
    ]
    if not args.no_results:
        benchlib.append_results(
            "Compression: size and time per answer (bench/compression.py)",
            [("Bytes on the wire", size_table), ("Time per answer", time_table),
             ("Notes", "\n".join(f"- {n}" for n in notes))],
            env=benchlib.environment({"rounds": f"{args.rounds} x ~{args.round_time:g} s"}),
        )


if __name__ == "__main__":
    main()
