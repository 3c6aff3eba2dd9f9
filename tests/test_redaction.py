"""Nothing secret leaves the process (issue 19 rows 6, 7): credentials in a source URL are
redacted in /v1/sources, /v1/runs, run errors, rate provenance, the change feed, the database
and the logs; a redirect to an internal address is refused, its body never archived, its
address never shown.
"""

import logging

import httpx
from litestar.testing import TestClient

from ratecard import data as ratecard_data
from ratecard.scrapers.redact import LOGGERS
from ratecard.service.app import Settings, create_app
from ratecard.service.sources import load_registry
from tests.conftest import fixed_clock, refresh_and_wait

TOKEN = "redaction-admin-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PAGE = ratecard_data.path("snapshots", "anthropic", "pricing_md_2025-11-19_8c7f4da.md").read_bytes()
# A public address as an IP literal: the redirect rule needs no name lookup, so no network is touched.
SECRET_URL = "https://scraper:hunter2@93.184.215.14/anthropic.md?key=sk-live-123&region=eu"
REDACTED_URL = "https://93.184.215.14/anthropic.md?key=REDACTED&region=REDACTED"
SECRETS = ("hunter2", "sk-live-123", "scraper:")


def sources_with(tmp_path, url: str):
    lines = []
    for source_id in load_registry().sources:
        lines.append(f"[sources.{source_id}]")
        lines += [f'url = "{url}"'] if source_id == "anthropic" else ["enabled = false"]
    path = tmp_path / "sources.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


class Records(logging.Handler):
    """Keeps every record it is handed (the app configures logging at start, so caplog's handler goes)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_credentials_in_a_source_url_are_published_nowhere(tmp_path):
    answers = [httpx.Response(200, content=PAGE, headers={"Content-Type": "text/markdown"}),
               httpx.Response(404, content=b"gone")]
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return answers.pop(0)

    settings = Settings(db_path=str(tmp_path / "ratecard.db"), sources_path=sources_with(tmp_path, SECRET_URL),
                        admin_token=TOKEN, bootstrap=False)
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    published = []
    records = Records()
    # On each logger itself: what propagates to the root depends on the logging config of the moment.
    loggers = [logging.getLogger(name) for name in (*LOGGERS, "uvicorn", "litestar")]
    with TestClient(create_app(settings, clock=fixed_clock, http=http)) as client:
        levels = [logger.level for logger in loggers]
        for logger in loggers:
            logger.addHandler(records)
            logger.setLevel(logging.DEBUG)
        assert refresh_and_wait(client, "anthropic", AUTH)["status"] == "changed"
        failed = refresh_and_wait(client, "anthropic", AUTH)
        assert failed["status"] == "failed"
        assert failed["error"] == f"FetchError: HTTP 404 ({REDACTED_URL})"
        sources = client.get("/v1/sources").json()["sources"]
        assert [s["url"] for s in sources if s["id"] == "anthropic"] == [REDACTED_URL]
        prices = client.get("/v1/prices", params={"provider": "anthropic", "limit": 5000}).json()["rates"]
        assert {r["url"] for r in prices} == {REDACTED_URL}
        for path in ("/v1/sources", "/v1/runs", "/v1/prices?provider=anthropic&limit=5000", "/v1/changes",
                     "/v1/changes.atom", "/v1/admin/changesets?status=applied",
                     "/v1/models/anthropic/claude-sonnet-4-5/history"):
            answer = client.get(path, headers=AUTH)
            assert answer.status_code == 200, path
            published.append(answer.text)
        db = client.app.state.service.db
        stored = [str(v) for table, column in (("runs", "url"), ("runs", "error"), ("rates", "url"),
                                               ("changes", "url"), ("pages", "url"))
                  for (v,) in db.execute(f"SELECT DISTINCT {column} FROM {table}").fetchall()]
        for logger, level in zip(loggers, levels):
            logger.removeHandler(records)
            logger.setLevel(level)
    assert seen == [SECRET_URL] * 2  # the source itself still gets its credentials
    logged = list(dict.fromkeys(r.getMessage() for r in records.records))  # once, however many loggers saw it
    assert any(REDACTED_URL in m for m in logged)  # httpx's request line, redacted
    for secret in SECRETS:
        for where, texts in (("answers", published), ("database", stored), ("logs", logged)):
            assert not any(secret in t for t in texts), (secret, where)
    print(f"\n[redaction] {len(published)} answers, {len(stored)} stored URLs and errors, {len(logged)} log "
          "records: 0 carried a credential")


def test_a_redirect_to_an_internal_address_is_refused_archived_never_and_named_nowhere(tmp_path):
    fetched = []

    def handler(request: httpx.Request) -> httpx.Response:
        fetched.append(str(request.url))
        if request.url.host == "93.184.215.14":
            return httpx.Response(302, headers={"Location": "http://10.20.30.40:8080/internal/status?x=1"})
        return httpx.Response(200, content=b"internal dashboard")

    settings = Settings(db_path=str(tmp_path / "ratecard.db"), admin_token=TOKEN, bootstrap=False,
                        sources_path=sources_with(tmp_path, "https://93.184.215.14/anthropic.md"))
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    with TestClient(create_app(settings, clock=fixed_clock, http=http)) as client:
        result = refresh_and_wait(client, "anthropic", AUTH)
        assert result["status"] == "failed"
        assert result["error"] == ("FetchError: a redirect to a loopback, private or link-local address was refused"
                                   " (https://93.184.215.14/anthropic.md)")
        runs = client.get("/v1/runs").text + client.get("/v1/sources").text
        assert "10.20.30.40" not in runs and "internal" not in runs
        db = client.app.state.service.db
        assert db.execute("SELECT count(*) FROM pages").fetchone()[0] == 0
    assert fetched == ["https://93.184.215.14/anthropic.md"]
