"""Refreshing from a real HTTP server on loopback: the saved pages, pages that change, and faults.

A local server plays the provider: it serves the byte-exact saved pages (and,
for fault tests, bodies derived from them in memory). The app fetches with
the real fetcher and, in one test, the real APScheduler on a short interval.
"""

import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from litestar.testing import TestClient

from ratecard.scrapers.fetch import FetchPolicy
from ratecard.service.app import Settings, create_app
from ratecard.service.sources import load_registry
from tests.conftest import FIXTURES, SNAPSHOTS, fixed_clock, refresh_and_wait

ANTHROPIC = sorted((SNAPSHOTS / "anthropic").glob("pricing_md_2025-*.md"))
CHALLENGE = FIXTURES / "openai" / "platform-pricing_CLOUDFLARE-CHALLENGE_2026-05-08_quill-d1507e12.html"
TOKEN = "test-admin-token"


class Script:
    """What the server answers for a path: a queue of (status, headers, body, delay_s); the last repeats."""

    def __init__(self) -> None:
        self.answers: dict[str, list[tuple[int, dict, bytes, float]]] = {}
        self.hits: dict[str, int] = {}
        self.lock = threading.Lock()

    def set(self, path: str, *answers: tuple[int, dict, bytes, float]) -> None:
        with self.lock:
            self.answers[path] = list(answers)

    def next(self, path: str) -> tuple[int, dict, bytes, float]:
        with self.lock:
            self.hits[path] = self.hits.get(path, 0) + 1
            queue = self.answers.get(path) or [(404, {}, b"not found", 0.0)]
            return queue.pop(0) if len(queue) > 1 else queue[0]


def ok(body: bytes) -> tuple[int, dict, bytes, float]:
    return (200, {"Content-Type": "text/markdown; charset=utf-8"}, body, 0.0)


@pytest.fixture
def provider_server() -> Iterator[tuple[str, Script]]:
    script = Script()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            status, headers, body, delay = script.next(self.path)
            time.sleep(delay)
            try:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", script
    server.shutdown()
    server.server_close()


def sources_file(tmp_path: Path, base: str, *, interval_minutes: float = 360) -> Path:
    """A sources override pointing anthropic at the local server and switching the rest off."""
    lines = []
    for source_id in load_registry().sources:
        lines.append(f'[sources.{source_id}]')
        if source_id == "anthropic":
            lines += [f'url = "{base}/anthropic.md"', f"interval_minutes = {interval_minutes}"]
        else:
            lines.append("enabled = false")
    path = tmp_path / "sources.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


FAST = FetchPolicy(connect_timeout_s=2, read_timeout_s=1, max_attempts=3, backoff_base_s=0.05, backoff_max_s=0.2,
                   max_body_bytes=200_000, max_retry_after_s=2)


@pytest.fixture
def live(tmp_path, provider_server) -> Iterator[tuple[TestClient, Script]]:
    """An app over an empty file database whose anthropic source is the local server."""
    base, script = provider_server
    settings = Settings(db_path=str(tmp_path / "ratecard.db"), sources_path=str(sources_file(tmp_path, base)),
                        admin_token=TOKEN, bootstrap=False, fetch=FAST)
    with TestClient(create_app(settings, clock=fixed_clock)) as client:
        yield client, script


def refresh(client: TestClient) -> dict:
    return refresh_and_wait(client, "anthropic", {"Authorization": f"Bearer {TOKEN}"})


def sonnet_input(client: TestClient) -> Decimal | None:
    body = client.get("/v1/prices", params={"model": "claude-sonnet-4-5", "tier": "standard", "kind": "input"})
    if body.status_code == 404:
        return None
    return Decimal(str(body.json()["rates"][0]["usd_per_mtok"]))


def haiku_input(client: TestClient) -> Decimal:
    body = client.get("/v1/prices", params={"model": "claude-haiku-4-5", "tier": "standard", "kind": "input"})
    return Decimal(str(body.json()["rates"][0]["usd_per_mtok"]))


def last_run(client: TestClient) -> dict:
    return client.get("/v1/runs", params={"source": "anthropic", "limit": 1}).json()["runs"][0]


def test_three_pages_served_in_turn_leave_exactly_their_real_changes(live):
    client, script = live
    statuses = []
    for page in ANTHROPIC:
        script.set("/anthropic.md", ok(page.read_bytes()))
        statuses.append(refresh(client)["status"])
    # The three dates differ in links only, not in prices: one changeset, then nothing.
    assert statuses == ["changed", "no_change", "no_change"]
    assert sonnet_input(client) == Decimal("3")
    changesets = client.get("/v1/changes", params={"provider": "anthropic"}).json()["changesets"]
    assert len(changesets) == 1 and len(changesets[0]["changes"]) == 110
    # The same body again ends as `unchanged` without parsing.
    assert refresh(client)["status"] == "unchanged"


@pytest.mark.parametrize(
    ("answers", "error_fragment"),
    [
        pytest.param([(200, {}, b"", 5.0)], "ReadTimeout", id="timeout"),
        pytest.param([(500, {}, b"oops", 0.0)], "gave up after 3 attempts", id="always-500"),
        pytest.param([(403, {}, b"forbidden", 0.0)], "BlockedError", id="403"),
        pytest.param([(200, {"Content-Type": "text/html"}, CHALLENGE.read_bytes(), 0.0)], "BlockedError",
                     id="challenge-page"),
        # Cut inside the model table: a page cut after it is read in part (issue 16), one cut inside it is not.
        pytest.param([(200, {}, ANTHROPIC[-1].read_bytes()[:1500], 0.0)], "failed", id="truncated"),
        pytest.param([(200, {}, b"x" * 300_000, 0.0)], "BodyTooLarge", id="oversized"),
        pytest.param([(200, {}, b"\x89PNG\r\n\x1a\n\x00\x00" * 50, 0.0)], "binary", id="binary"),
    ],
)
def test_faults_are_recorded_and_prices_stay_as_they_were(live, answers, error_fragment):
    client, script = live
    script.set("/anthropic.md", ok(ANTHROPIC[0].read_bytes()))
    assert refresh(client)["status"] == "changed"
    version = client.get("/readyz").json()["catalog_version"]
    script.set("/anthropic.md", *answers)
    result = refresh(client)
    assert result["status"] == "failed"
    run = last_run(client)
    assert run["status"] == "failed" and run["error"]
    assert error_fragment in run["error"] or error_fragment == "failed"
    assert sonnet_input(client) == Decimal("3")
    assert client.get("/readyz").json()["catalog_version"] == version


def test_page_whose_tables_vanished_is_rejected_with_the_reason(live):
    client, script = live
    page = ANTHROPIC[-1].read_text(encoding="utf-8")
    without_tables = "\n".join(line for line in page.splitlines() if not line.lstrip().startswith("|"))
    script.set("/anthropic.md", ok(without_tables.encode()))
    refresh(client)
    run = last_run(client)
    assert run["status"] == "failed" and "table" in run["error"]
    assert sonnet_input(client) is None


def test_429_with_retry_after_then_success(live):
    client, script = live
    script.set("/anthropic.md", (429, {"Retry-After": "1"}, b"slow down", 0.0), ok(ANTHROPIC[0].read_bytes()))
    started = time.monotonic()
    assert refresh(client)["status"] == "changed"
    assert time.monotonic() - started >= 0.9  # it waited as told
    assert script.hits["/anthropic.md"] == 2


def test_500_then_success(live):
    client, script = live
    script.set("/anthropic.md", (500, {}, b"", 0.0), (502, {}, b"", 0.0), ok(ANTHROPIC[0].read_bytes()))
    assert refresh(client)["status"] == "changed"
    assert script.hits["/anthropic.md"] == 3


def test_tenfold_price_jump_is_quarantined_then_approved_by_an_admin(live):
    client, script = live
    page = ANTHROPIC[-1].read_text(encoding="utf-8")
    script.set("/anthropic.md", ok(page.encode()))
    refresh(client)
    # The provider's page "changes": Haiku 4.5's base input goes from $1 to $10 (a typo, or not).
    jumped = "\n".join(
        line.replace("\\$1 / MTok ", "\\$10 / MTok", 1) if line.startswith("| Claude Haiku 4.5 ") else line
        for line in page.splitlines()
    )
    assert jumped != page
    script.set("/anthropic.md", ok(jumped.encode()))
    assert refresh(client)["status"] == "quarantined"
    assert haiku_input(client) == Decimal("1")
    held = client.get("/v1/admin/changesets", headers={"Authorization": f"Bearer {TOKEN}"}).json()["changesets"]
    assert len(held) == 1 and "claude-haiku-4-5 standard input moves more than 5x: 1 -> 10" in held[0]["reason"]
    assert client.post(f"/v1/admin/changesets/{held[0]['id']}/approve").status_code == 401
    decided = client.post(f"/v1/admin/changesets/{held[0]['id']}/approve",
                          headers={"Authorization": f"Bearer {TOKEN}"}).json()
    assert decided["status"] == "approved" and decided["applied_as"] > held[0]["id"]
    assert haiku_input(client) == Decimal("10")


def test_admin_endpoints_are_off_without_a_token(tmp_path):
    with TestClient(create_app(Settings(bootstrap=False), clock=fixed_clock)) as client:
        response = client.post("/v1/admin/refresh/anthropic", headers={"Authorization": "Bearer anything"})
        assert response.status_code == 404
        assert response.json()["title"] == "Admin API disabled"


def test_scheduler_refreshes_on_its_own_and_sources_show_it(tmp_path, provider_server):
    base, script = provider_server
    script.set("/anthropic.md", ok(ANTHROPIC[0].read_bytes()))
    settings = Settings(db_path=str(tmp_path / "ratecard.db"),
                        sources_path=str(sources_file(tmp_path, base, interval_minutes=0.02)),
                        bootstrap=False, scheduler=True, fetch=FAST)
    with TestClient(create_app(settings, clock=fixed_clock)) as client:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and script.hits.get("/anthropic.md", 0) < 2:
            time.sleep(0.2)
        assert script.hits.get("/anthropic.md", 0) >= 2  # the first run, then at least one more on schedule
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and sonnet_input(client) is None:
            time.sleep(0.2)
        assert sonnet_input(client) == Decimal("3")
        source = next(s for s in client.get("/v1/sources").json()["sources"] if s["id"] == "anthropic")
        assert source["last_status"] in ("changed", "unchanged", "no_change")
        assert source["next_run_at"] is not None and source["last_success_at"] is not None
