"""Bad input, pages: a damaged page is a recorded failure with a reason, and never a changed price.

Every source's real saved page (the golden fixture) is damaged in memory and
run through the real pipeline (`ingest_page`: archive, parse, validate, diff,
gate, commit), on an empty database and on one already holding that page:

- pages that cannot be the pricing page (empty, binary, compressed, UTF-16/32,
  invalid UTF-8, an error page, cut before the tables, ...) must end as a
  failed run with a reason and store nothing;
- pages that still look like the page (cut late, headings renamed, cells
  shifted, re-encoded, NULs) may fail, be quarantined, or change listings,
  but may never move a stored price;
- randomly mangled pages (hypothesis) must always end in a recorded run.

The last test fetches over loopback from a raw socket server that lies:
a short body under a longer Content-Length, a chunked body cut off, bodies
over the cap with and without a length, a gzip bomb, a UTF-16 page, a PNG.
"""

import gzip
import re
import socket
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlite_utils
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar.testing import TestClient

from ratecard.scrapers.fetch import FetchPolicy
from ratecard.service.app import Settings, create_app
from ratecard.service.catalog import sync_model_catalog
from ratecard.service.db import open_database
from ratecard.service.refresh import FAILED, RUN_STATUSES, ingest_page
from ratecard.service.sources import load_registry
from tests.conftest import FIXED_NOW, FIXTURES, SNAPSHOTS, fixed_clock, refresh_and_wait
from tests.test_refresh_live import ANTHROPIC, sources_file

REGISTRY = load_registry()


def golden_page(source_id: str) -> Path | None:
    """The first saved page of a source that has expected rates beside it."""
    pages = sorted((FIXTURES / source_id).glob("*.expected.json"))
    if not pages:
        return None
    name = pages[0].name.removesuffix(".expected.json")
    # Bundled pages live in data/snapshots/; test-only pages beside their golden file.
    return FIXTURES / source_id / name if (FIXTURES / source_id / name).exists() else SNAPSHOTS / source_id / name


PAGES = {s: golden_page(s) for s in REGISTRY.sources if golden_page(s) is not None}


def must_fail(body: bytes) -> dict[str, bytes]:
    """Damage no parser may accept: each is a failed run with a reason, and nothing stored."""
    text = body.decode("utf-8")
    return {
        "empty": b"",
        "whitespace": b" \r\n\t" * 200,
        "binary (PNG)": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 40,
        "gzip body, no Content-Encoding": gzip.compress(body, mtime=0),
        "UTF-16 with BOM": text.encode("utf-16"),
        "UTF-16-LE": text.encode("utf-16-le"),
        "UTF-32": text.encode("utf-32"),
        "invalid UTF-8": body.replace(b"$", b"\xff$", 5).replace(b'"', b'\xc3"', 5),
        "an HTTP error page": b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1>"
                              b"<hr><center>nginx</center></body></html>",
        "a JSON error": b'{"error": {"code": 429, "message": "rate limited"}}',
        "cut at 10%": body[: len(body) // 10],
    }


def damaged(body: bytes) -> dict[str, bytes]:
    """Damage a page may survive in part: it must never move a stored price."""
    text = body.decode("utf-8")
    renamed = re.sub(r"(?i)\bcached\b", "Zwischengespeichert", re.sub(r"(?i)\boutput\b", "Salida",
                     re.sub(r"(?i)\binput\b", "Entrada", text)))
    return {
        "cut at 50%": body[: len(body) // 2],
        "cut at 90%": body[: len(body) * 9 // 10],
        "cut at 99%": body[: len(body) * 99 // 100],
        "latin-1": text.encode("latin-1", errors="replace"),
        "cp1252": text.encode("cp1252", errors="replace"),
        "NUL for newline": body.replace(b"\n", b"\x00"),
        "headings renamed": renamed.encode(),
        "cells shifted": re.sub(r"(?i)<tr([^>]*)>", r"<tr\1><td>x</td>", re.sub(r"(?m)^\|", "| x |", text)).encode(),
        "columns swapped": re.sub(r"(?m)^\|([^|\n]*)\|([^|\n]*)\|", r"|\2|\1|", text).encode(),
        "dollar signs gone": text.replace("$", "").encode(),
    }


def empty_db() -> sqlite_utils.Database:
    db = open_database(None)
    sync_model_catalog(db, now=FIXED_NOW)
    return db


_POPULATED: dict[str, sqlite_utils.Database] = {}


def populated_db(source_id: str) -> sqlite_utils.Database:
    """A fresh copy of a database that has ingested the source's real page (built once per source)."""
    if source_id not in _POPULATED:
        db = empty_db()
        result = ingest(db, source_id, PAGES[source_id].read_bytes())
        assert result.status == "changed", result.error
        _POPULATED[source_id] = db
    copy = sqlite_utils.Database(sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None))
    _POPULATED[source_id].conn.backup(copy.conn)
    return copy


def ingest(db: sqlite_utils.Database, source_id: str, body: bytes):
    return ingest_page(db, REGISTRY.sources[source_id], body, url=PAGES[source_id].as_uri(), fetched_at=FIXED_NOW,
                       now=FIXED_NOW, trigger="file")


def current_rates(db: sqlite_utils.Database) -> set[tuple]:
    return set(db.execute(
        "SELECT lane, provider, model, tier, kind, min_prompt_tokens, usd_per_mtok, basis, valid_from, valid_to"
        " FROM rates WHERE closed_changeset_id IS NULL").fetchall())


def stored(db: sqlite_utils.Database) -> tuple[int, int, int]:
    return tuple(db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("rates", "changesets", "changes"))


def last_run(db: sqlite_utils.Database) -> dict:
    return next(db.query("SELECT * FROM runs ORDER BY id DESC LIMIT 1"))


@pytest.mark.parametrize("source_id", sorted(PAGES))
def test_pages_that_are_not_the_page_fail_with_a_reason_and_store_nothing(source_id):
    body = PAGES[source_id].read_bytes()
    tried = 0
    for name, bad in must_fail(body).items():
        for db in (empty_db(), populated_db(source_id)):
            before, rates_before = stored(db), current_rates(db)
            result = ingest(db, source_id, bad)
            run = last_run(db)
            assert result.status == FAILED and run["status"] == FAILED, f"{source_id} {name}: {result.status}"
            assert run["error"] and run["error"] == result.error, f"{source_id} {name}: no reason recorded"
            assert run["finished_at"] is not None and run["body_sha256"]
            assert stored(db) == before and current_rates(db) == rates_before, f"{source_id} {name} stored rows"
            tried += 1
    print(f"\n[pages/{source_id}] pages that are not the page: {tried} (empty and populated database), "
          f"all failed with a reason, rows stored 0")


@pytest.mark.parametrize("source_id", sorted(PAGES))
def test_damaged_pages_never_move_a_stored_price(source_id):
    body = PAGES[source_id].read_bytes()
    outcomes: Counter[str] = Counter()
    for name, bad in damaged(body).items():
        db = populated_db(source_id)
        before = current_rates(db)
        result = ingest(db, source_id, bad)
        run = last_run(db)
        assert run["status"] == result.status and run["status"] in RUN_STATUSES and run["status"] != "running"
        if result.status == FAILED:
            assert run["error"], f"{source_id} {name}: failed without a reason"
        # Every price in force before is still in force, with the same value and interval.
        assert before <= current_rates(db), f"{source_id} {name}: a stored price moved ({result.status})"
        applied = dict(db.execute(
            "SELECT c.action, count(*) FROM changes c JOIN changesets s ON s.id = c.changeset_id"
            " WHERE s.run_id = ? AND s.status = 'applied' GROUP BY 1", [result.run_id]).fetchall())
        assert "changed" not in applied, f"{source_id} {name}: applied {applied}"
        label = result.status + (f" ({', '.join(f'{n} {a}' for a, n in sorted(applied.items()))})" if applied else "")
        outcomes[label] += 1
    print(f"\n[pages/{source_id}] damaged pages: {sum(outcomes.values())}: {dict(outcomes)}; stored prices moved 0")


def table_damage(source_id: str, body: bytes) -> Iterator[tuple[str, bytes]]:
    """One table at a time made wrong in its structure: short rows, lost separators, bad spans, odd numbers."""
    text = body.decode("utf-8")
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if re.match(r"^\|\s*:?-", line):  # a markdown table's separator row
            yield f"table at line {i}: a row of no cells", "\n".join(lines[:i + 1] + ["|"] + lines[i + 1:]).encode()
            yield f"table at line {i}: separator gone", "\n".join(lines[:i] + lines[i + 1:]).encode()
            yield f"table at line {i}: header twice", "\n".join(lines[:i + 1] + [lines[i - 1]] + lines[i + 1:]).encode()
    for span in ('rowspan="x"', 'colspan=""', 'colspan="-1"', 'rowspan="0"', 'colspan="2.5"'):
        for n in range(3):  # the first three plain cells, one at a time
            parts = text.split("<td>")
            if len(parts) > n + 1:
                yield (f"cell {n}: {span}",
                       ("<td>".join(parts[:n + 1]) + f"<td {span}>" + "<td>".join(parts[n + 1:])).encode())
    for value in ('"1e400"', "1e400", '"-0"', '"1_000"', '"\u0661"', "true", "[]"):
        for key in ("prompt", "input_cost_per_token", "input"):  # OpenRouter, LiteLLM, models.dev price fields
            changed = re.sub(rf'("{key}":\s*)("[^"]*"|[-0-9.eE]+)', lambda m: m.group(1) + value, text, count=2)
            if changed != text:
                yield f"{key} = {value}", changed.encode()


# Known bug, not fixed here (the parsers are scrapers/' business): these parsers pick a section's tables by
# position, so when one table's separator row is lost, the table is skipped and the next one's prices are read
# as the lost table's tier, and applied (each move is under the 5x gate). See RELIABILITY.md.
READS_THE_NEXT_TABLE = {"google", "openai"}


def lost_separator(source_id: str, name: str) -> bool:
    return source_id in READS_THE_NEXT_TABLE and name.endswith("separator gone")


@pytest.mark.parametrize("source_id", sorted(PAGES))
def test_tables_with_short_rows_bad_spans_or_odd_numbers_are_recorded_and_move_no_price(source_id):
    outcomes: Counter[str] = Counter()
    crashes = 0
    for name, bad in table_damage(source_id, PAGES[source_id].read_bytes()):
        if lost_separator(source_id, name):
            continue  # the strict xfail below
        db = populated_db(source_id)
        before = current_rates(db)
        result = ingest(db, source_id, bad)  # a parser's IndexError or ValueError must not escape
        run = last_run(db)
        assert run["status"] == result.status != "running"
        if result.status == FAILED:
            assert run["error"], f"{source_id} {name}"
            crashes += "crashed" in run["error"]
        assert before <= current_rates(db), f"{source_id} {name}: a stored price moved ({result.status})"
        outcomes[result.status] += 1
    print(f"\n[pages/{source_id}] tables damaged in structure: {sum(outcomes.values())}: {dict(outcomes)}; "
          f"parser crashes recorded as failed runs {crashes}; stored prices moved 0")


@pytest.mark.parametrize("source_id", sorted(READS_THE_NEXT_TABLE))
def test_a_table_that_lost_its_separator_is_not_read_as_the_next_one(source_id):
    # Google's parser once gave each tier the next tab's table, OpenAI's let a broken table's label
    # name the next one: 37 of 67 Google cases moved 220 stored prices. Both now reject the page.
    moved = Counter()
    cases = [(n, b) for n, b in table_damage(source_id, PAGES[source_id].read_bytes()) if lost_separator(source_id, n)]
    for name, bad in cases:
        db = populated_db(source_id)
        before = current_rates(db)
        ingest(db, source_id, bad)
        moved[name] = len(before - current_rates(db))
    print(f"\n[pages/{source_id}] tables that lost their separator: {len(cases)}; cases that moved stored prices "
          f"{sum(1 for n in moved.values() if n)}, prices moved {sum(moved.values())}")
    assert sum(moved.values()) == 0


# Bytes that mean something to one parser or another, for the random mangler.
TOKENS = [b"|", b"$", b"<tr>", b"</td>", b"<td rowspan=\"x\">", b"{", b"}", b"[", b"]", b'"', b"0", b"9.99", b"-",
          b"\n", b"|---|", b"1e400", b"NaN", b"\\", b"\xff", b"$-1", b"$1e9", b"\x00", b"\xe2\x80\xae", b"<!--"]


@pytest.mark.parametrize("source_id", sorted(PAGES))
def test_randomly_mangled_pages_always_end_in_a_recorded_run(source_id):
    body = PAGES[source_id].read_bytes()
    outcomes: Counter[str] = Counter()
    edit = st.tuples(st.sampled_from(["insert", "delete", "flip"]), st.integers(0, len(body) - 1),
                     st.sampled_from(TOKENS), st.integers(1, 400), st.integers(0, 255))

    @settings(max_examples=25, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(edits=st.lists(edit, min_size=1, max_size=8))
    def mangle(edits):
        page = bytearray(body)
        for op, at, token, length, byte in edits:
            at = min(at, len(page) - 1)
            if op == "insert":
                page[at:at] = token
            elif op == "delete":
                del page[at:at + length]
            else:
                page[at] = byte
        db = populated_db(source_id)
        result = ingest(db, source_id, bytes(page))  # raises nothing, whatever the page
        run = last_run(db)
        assert run["status"] == result.status and run["status"] not in ("running", None)
        assert run["finished_at"] is not None
        if result.status == FAILED:
            assert run["error"]
        # The ledger stays whole: every rate row belongs to an applied changeset.
        assert db.execute("SELECT count(*) FROM rates r LEFT JOIN changesets s ON s.id = r.changeset_id"
                          " WHERE s.status IS NOT 'applied'").fetchone()[0] == 0
        outcomes[result.status] += 1

    mangle()
    print(f"\n[pages/{source_id}] randomly mangled pages: {sum(outcomes.values())}: {dict(outcomes)}; "
          f"exceptions escaping the pipeline 0")


class LyingServer:
    """A raw TCP server on loopback that answers every request with the next scripted byte string."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.answers: list[bytes] = []
        self.hits = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                try:
                    conn.recv(65536)
                    answer = self.answers[min(self.hits, len(self.answers) - 1)]
                    self.hits += 1
                    conn.sendall(answer)
                    conn.shutdown(socket.SHUT_WR)
                except OSError:
                    pass

    def close(self) -> None:
        self.sock.close()


def http(status: str, headers: dict[str, str], body: bytes, *, declared: int | None = None, chunked: bool = False,
         cut_at: int | None = None) -> bytes:
    head = [f"HTTP/1.1 {status}", "Connection: close", *(f"{k}: {v}" for k, v in headers.items())]
    if chunked:
        head.append("Transfer-Encoding: chunked")
        payload = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 8192]), body[i:i + 8192])
                           for i in range(0, len(body), 8192)) + b"0\r\n\r\n"
    else:
        head.append(f"Content-Length: {len(body) if declared is None else declared}")
        payload = body
    raw = ("\r\n".join(head) + "\r\n\r\n").encode() + payload
    return raw if cut_at is None else raw[:cut_at]


CAP = 50_000  # the saved Anthropic page is 20 KB
FAST = FetchPolicy(connect_timeout_s=2, read_timeout_s=2, max_attempts=2, backoff_base_s=0.01, backoff_max_s=0.05,
                   max_body_bytes=CAP, max_retry_after_s=1)
TOKEN = "reliability-pages-token"
MD = {"Content-Type": "text/markdown; charset=utf-8"}


def transport_faults(page: bytes) -> dict[str, tuple[bytes, str]]:
    """What a lying server sends, and a fragment of the reason the run must record."""
    return {
        "body shorter than its Content-Length": (http("200 OK", MD, page, declared=len(page) + 5000), "attempts"),
        "chunked body cut off": (http("200 OK", MD, page, chunked=True, cut_at=len(page) // 2), "attempts"),
        "over the cap, declared": (http("200 OK", MD, page * 3), "BodyTooLarge"),
        "over the cap, chunked without a length": (http("200 OK", MD, page * 3, chunked=True), "BodyTooLarge"),
        "gzip bomb (64 KB that inflates to 64 MB)": (
            http("200 OK", {**MD, "Content-Encoding": "gzip"}, gzip.compress(b"|" * 64_000_000, mtime=0)),
            "BodyTooLarge"),
        "gzip that is not gzip": (http("200 OK", {**MD, "Content-Encoding": "gzip"}, page), "Decoding"),
        "UTF-16 page, labelled so": (
            http("200 OK", {"Content-Type": "text/markdown; charset=utf-16"}, page.decode().encode("utf-16")),
            "binary"),
        "latin-1 label on a UTF-8 page, cut at 10%": (
            http("200 OK", {"Content-Type": "text/markdown; charset=iso-8859-1"}, page[: len(page) // 10]), "table"),
        "a PNG": (http("200 OK", {"Content-Type": "image/png"}, b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 50),
                  "binary"),
        "an empty 200": (http("200 OK", MD, b""), "table"),
        "a garbled status line": (b"HTTP/1.1 2OO OK\r\n\r\n" + page[:1000], "attempts"),
        "no HTTP at all": (page[:2000], "attempts"),
    }


@pytest.fixture
def lying_server() -> Iterator[LyingServer]:
    server = LyingServer()
    yield server
    server.close()


def test_pages_a_lying_server_sends_are_recorded_failures_and_change_nothing(tmp_path, lying_server):
    page = ANTHROPIC[0].read_bytes()
    assert CAP < len(page) * 3 and len(page) < CAP
    settings_ = Settings(db_path=str(tmp_path / "ratecard.db"), bootstrap=False, admin_token=TOKEN, fetch=FAST,
                         sources_path=str(sources_file(tmp_path, lying_server.base)))
    auth = {"Authorization": f"Bearer {TOKEN}"}
    tried = 0
    with TestClient(create_app(settings_, clock=fixed_clock)) as client:
        def refresh() -> dict:
            return refresh_and_wait(client, "anthropic", auth)

        # First on an empty database: nothing may be stored.
        for name, (raw, reason) in transport_faults(page).items():
            lying_server.answers = [raw]
            result = refresh()
            assert result["status"] == FAILED and reason in result["error"], f"{name}: {result}"
            assert client.get("/readyz").json()["catalog_version"] == 0, name
            tried += 1
        lying_server.answers = [http("200 OK", MD, page)]
        assert refresh()["status"] == "changed"
        version = client.get("/readyz").json()["catalog_version"]
        prices = client.get("/v1/prices", params={"provider": "anthropic", "limit": 5000}).json()["rates"]
        assert len(prices) == 110
        # Then on top of real prices: each fault is recorded, and the prices stay exactly as they were.
        for name, (raw, reason) in transport_faults(page).items():
            lying_server.answers = [raw]
            result = refresh()
            assert result["status"] == FAILED and reason in result["error"], f"{name}: {result}"
            assert client.get("/readyz").json()["catalog_version"] == version, name
            tried += 1
        assert client.get("/v1/prices", params={"provider": "anthropic", "limit": 5000}).json()["rates"] == prices
        runs = client.get("/v1/runs", params={"source": "anthropic", "limit": 500}).json()["runs"]
        failed = [r for r in runs if r["status"] == FAILED]
        assert len(failed) == tried and all(r["error"] for r in failed)
    print(f"\n[pages/transport] lying-server answers: {tried} ({len(transport_faults(page))} kinds, on an empty and "
          f"on a populated database); failed runs recorded with a reason {len(failed)}; prices changed 0")

