"""Security: the admin token guards the admin API, nothing fetches a URL a client names, SQL text is
built from code only, secrets never reach a log, and no server version is announced.

Each check runs on every operation the app's own OpenAPI document lists, so
an endpoint added later is covered without editing this file.
"""

import ast
import logging
import re
import sqlite3
import time
from collections import Counter
from pathlib import Path
from urllib.parse import quote

import httpx
import sqlite_utils
from litestar.testing import TestClient

from ratecard.scrapers.fetch import FetchPolicy
from ratecard.service.app import Service, Settings, create_app
from tests.conftest import fixed_clock, shared_bundled_service
from tests.test_reliability import bundled_db_copy, start_server

ROOT = Path(__file__).parent.parent
TOKEN = "s3cret-admin-token-7f1d2c"  # nothing else in the app contains this text
PROBLEM = "application/problem+json"
ONE_TRY = FetchPolicy(max_attempts=1, connect_timeout_s=1, read_timeout_s=1)
logging.getLogger("httpx").setLevel(logging.WARNING)


class RecordingConnection(sqlite3.Connection):
    """A connection that keeps the text of every statement it is asked to run (without the bound values)."""

    statements: list[tuple[str, tuple]]

    def execute(self, sql, parameters=(), /):
        self.statements.append((sql, tuple(parameters) if not isinstance(parameters, dict) else ()))
        return super().execute(sql, parameters)

    def executemany(self, sql, parameters, /):
        self.statements.append((sql, ()))
        return super().executemany(sql, parameters)


class Fetches:
    """The HTTP client's transport: records every URL the app fetches and answers 503."""

    def __init__(self) -> None:
        self.urls: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.urls.append(str(request.url))
        return httpx.Response(503, text="not here")


def service_copy(settings: Settings) -> tuple[Service, RecordingConnection]:
    """The bundled service's data on a recording connection of its own (so writes stay in this test)."""
    conn = sqlite3.connect(":memory:", factory=RecordingConnection, check_same_thread=False, isolation_level=None)
    conn.statements = []
    shared = shared_bundled_service()
    shared.db.conn.backup(conn)
    return Service(settings, sqlite_utils.Database(conn), shared.registry, fixed_clock), conn


def operations(app) -> list[tuple[str, str, list[dict]]]:
    """(method, path, parameters) of every operation in the app's OpenAPI document."""
    doc = app.openapi_schema.to_schema()
    return [(m.upper(), p, op.get("parameters", [])) for p, item in doc["paths"].items() for m, op in item.items()
            if m in ("get", "post", "put", "patch", "delete")]


def admin_calls(app) -> list[tuple[str, str]]:
    """Every admin operation with its path parameters filled in."""
    calls = []
    for method, path, _ in operations(app):
        if path.startswith("/v1/admin"):
            calls.append((method, path.replace("{changeset_id}", "1").replace("{source_id}", "anthropic")))
    return calls


def example_bodies(app) -> dict[str, list]:
    """Each POST operation's example bodies from the OpenAPI document (an empty object when it has none)."""
    doc = app.openapi_schema.to_schema()
    out = {}
    for path, item in doc["paths"].items():
        if "post" in item:
            schema = item["post"].get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
            out[path] = schema.get("examples") or [{}]
    return out


def with_strings(value, text: str):
    """`value` with every string in it replaced by `text` (model names, moments, periods...)."""
    if isinstance(value, str):
        return text
    if isinstance(value, list):
        return [with_strings(v, text) for v in value]
    if isinstance(value, dict):
        return {k: with_strings(v, text) for k, v in value.items()}
    return value


def is_problem(response, status: int) -> bool:
    return (response.status_code == status and response.headers["content-type"] == PROBLEM
            and response.json()["status"] == status)


WRONG = {
    "no Authorization header": {},
    "an empty bearer": {"Authorization": "Bearer "},
    "a wrong token": {"Authorization": "Bearer not-the-token"},
    "the token with a suffix": {"Authorization": f"Bearer {TOKEN}x"},
    "a prefix of the token": {"Authorization": f"Bearer {TOKEN[:-1]}"},
    "the token, Basic scheme": {"Authorization": f"Basic {TOKEN}"},
    "the token, no scheme": {"Authorization": TOKEN},
    "the token in a query string": {},  # sent as ?token= below
    "the token as a cookie": {"Cookie": f"token={TOKEN}"},
}


def test_admin_endpoints_need_the_token(tmp_path):
    service, _ = service_copy(Settings(admin_token=TOKEN, fetch=ONE_TRY))
    fetches = Fetches()
    http = httpx.AsyncClient(transport=httpx.MockTransport(fetches))
    tried = 0
    with TestClient(create_app(service.settings, service=service, clock=fixed_clock, http=http)) as client:
        calls = admin_calls(client.app)
        assert len(calls) >= 4
        for method, path in calls:
            for name, headers in WRONG.items():
                params = {"token": TOKEN, "access_token": TOKEN} if "query" in name else None
                response = client.request(method, path, headers=headers, params=params)
                assert is_problem(response, 401), f"{method} {path} with {name}: {response.status_code}"
                tried += 1
            right = client.request(method, path, headers={"Authorization": f"bearer {TOKEN}"})
            assert right.status_code in (200, 202, 404, 409), f"{method} {path}: {right.status_code} {right.text[:200]}"
            while right.status_code == 202 and client.get("/v1/runs", params={"status": "running"}).json()["runs"]:
                time.sleep(0.01)  # the refresh runs in the background; let it finish its fetch
            assert right.status_code != 404 or right.json()["title"] != "Admin API disabled"
        assert fetches.urls == [service.registry.sources["anthropic"].url]  # the right token's refresh only
    print(f"\n[security/admin] admin operations {len(calls)}; requests without the right token {tried}, "
          f"all 401 problems; with it: answered")


def test_admin_endpoints_are_off_without_a_token():
    service, _ = service_copy(Settings(admin_token="", fetch=ONE_TRY))
    fetches = Fetches()
    http = httpx.AsyncClient(transport=httpx.MockTransport(fetches))
    tried = 0
    with TestClient(create_app(service.settings, service=service, clock=fixed_clock, http=http)) as client:
        for method, path in admin_calls(client.app):
            for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": "Bearer anything"}):
                response = client.request(method, path, headers=headers)
                assert is_problem(response, 404) and response.json()["title"] == "Admin API disabled", path
                tried += 1
    assert fetches.urls == []
    print(f"\n[security/admin-off] no token configured: {tried} admin requests, all 404 'Admin API disabled'; "
          "pages fetched 0")


URL_LIKE = ("http://127.0.0.1:9/ssrf", "file:///etc/passwd", "http://169.254.169.254/latest/meta-data/",
            "gopher://127.0.0.1:6379/_ssrf", "//ssrf.example/x")


def test_no_endpoint_fetches_a_url_taken_from_a_request():
    service, _ = service_copy(Settings(admin_token=TOKEN, fetch=ONE_TRY))
    fetches = Fetches()
    http = httpx.AsyncClient(transport=httpx.MockTransport(fetches))
    auth = {"Authorization": f"Bearer {TOKEN}"}
    tried = 0
    with TestClient(create_app(service.settings, service=service, clock=fixed_clock, http=http)) as client:
        ops = operations(client.app)
        # No parameter is a URL: none is named like one, none has the uri format.
        for _, path, params in ops:
            for p in params:
                assert not re.search(r"url|uri|href|link|callback|webhook|fetch|target", p["name"], re.I), (path, p)
                assert p.get("schema", {}).get("format") not in ("uri", "url"), (path, p)
        bodies = example_bodies(client.app)
        for method, path, params in ops:
            for url in URL_LIKE:
                filled = re.sub(r"\{[^}]+\}", quote(url, safe=""), path)
                query = {p["name"]: url for p in params if p["in"] == "query"}
                for body in bodies.get(path, [None]) if method == "POST" else [None]:
                    response = client.request(method, filled, params=query, headers=auth,
                                              json=with_strings(body, url) if body is not None else None)
                    assert response.status_code < 500, f"{method} {filled}: {response.status_code}"
                    tried += 1
        # A refresh names a registered source, never a URL.
        for url in URL_LIKE:
            assert is_problem(client.post(f"/v1/admin/refresh/{quote(url, safe='')}", headers=auth), 404)
    assert not any("ssrf" in u or "169.254" in u or u.startswith("file:") for u in fetches.urls), fetches.urls
    registry_urls = {s.url for s in service.registry.sources.values()}
    assert set(fetches.urls) <= registry_urls
    print(f"\n[security/ssrf] operations {len(ops)}; requests with a URL in every parameter and body field {tried}; "
          f"URLs fetched from a request 0 (fetched only registry URLs: {len(fetches.urls)})")


MARKER = "zq9mark"


def test_request_values_reach_sql_only_as_bound_parameters():
    service, conn = service_copy(Settings(admin_token=TOKEN, fetch=ONE_TRY))
    http = httpx.AsyncClient(transport=httpx.MockTransport(Fetches()))
    auth = {"Authorization": f"Bearer {TOKEN}"}
    values = [f"{MARKER}' OR '1'='1", f'{MARKER}" OR 1=1 --', f"{MARKER}; DROP TABLE rates; --", f"{MARKER})--",
              f"2025-01-01' OR {MARKER}"]
    tried = 0
    with TestClient(create_app(service.settings, service=service, clock=fixed_clock, http=http)) as client:
        before = conn.execute("SELECT count(*) FROM rates").fetchone()[0]
        conn.statements.clear()
        bodies = example_bodies(client.app)
        for method, path, params in operations(client.app):
            for value in values:
                filled = re.sub(r"\{[^}]+\}", quote(value, safe=""), path)
                query = {p["name"]: value for p in params if p["in"] == "query"}
                for body in bodies.get(path, [None]) if method == "POST" else [None]:
                    response = client.request(method, filled, params=query, headers=auth,
                                              json=with_strings(body, value) if body is not None else None)
                    assert response.status_code < 500, f"{method} {filled}: {response.status_code} {response.text[:200]}"
                    tried += 1
            # The same with only one parameter set at a time, so a filter reaches its query unhindered.
            for p in params:
                if p["in"] == "query":
                    response = client.request(method, path.replace("{provider}", "openai").replace(
                        "{model}", "gpt-4o").replace("{changeset_id}", "1").replace("{source_id}", "anthropic"),
                        params={p["name"]: values[0]}, headers=auth)
                    assert response.status_code < 500
                    tried += 1
        after = conn.execute("SELECT count(*) FROM rates").fetchone()[0]
    in_text = [sql for sql, _ in conn.statements if MARKER in sql]
    bound = sum(any(MARKER in str(v) for v in params) for _, params in conn.statements)
    assert in_text == [], in_text[:3]
    assert bound > 0  # the values did reach SQL, as parameters
    assert after == before
    print(f"\n[security/sql] requests carrying SQL-injection text {tried}; statements run {len(conn.statements)}; "
          f"statements with a request value bound as a parameter {bound}; with it in the SQL text 0; rates changed 0")


# --- the static half: every SQL string in service/ and scrapers/ is built from code, never from data ---

SQL_METHODS = {"execute", "executemany", "executescript", "query", "rows_where", "count_where", "delete_where"}


class SqlText:
    """Decides whether an expression can only evaluate to text written in the code (identifiers, '?')."""

    def __init__(self, functions: dict[str, ast.FunctionDef]) -> None:
        self.functions = functions

    def safe(self, node: ast.AST, scope: ast.AST, seen: frozenset = frozenset()) -> bool:
        match node:
            case ast.Constant(value=str()):
                return True
            case ast.JoinedStr(values=parts):
                return all(self.safe(p.value if isinstance(p, ast.FormattedValue) else p, scope, seen) for p in parts)
            case ast.BinOp(op=ast.Add(), left=left, right=right):
                return self.safe(left, scope, seen) and self.safe(right, scope, seen)
            case ast.BinOp(op=ast.Mult(), left=ast.Constant(value="?")):
                return True  # '?' * n: placeholders
            case ast.BoolOp(values=values) | ast.List(elts=values) | ast.Tuple(elts=values):
                return all(self.safe(v, scope, seen) for v in values)
            case ast.IfExp(body=body, orelse=orelse):
                return self.safe(body, scope, seen) and self.safe(orelse, scope, seen)
            case ast.Call(func=ast.Attribute(value=ast.Constant(value=str()), attr="join"), args=[arg]):
                return self.safe(arg, scope, seen)
            case ast.Call(func=ast.Attribute(value=receiver, attr="replace"), args=[ast.Constant(), ast.Constant()]):
                return self.safe(receiver, scope, seen)
            case ast.Name(id=name):
                # A name being judged already (sql = sql.replace(...)) is safe if its other bindings are.
                return name in seen or self._name_safe(name, scope, seen | {name})
        return False

    def _name_safe(self, name: str, scope: ast.AST, seen: frozenset) -> bool:
        sources = list(self._bindings(name, scope))
        return bool(sources) and all(self.safe(value, scope, seen) if value is not None else False
                                     for value in sources)

    def _bindings(self, name: str, scope: ast.AST):
        """Every value `name` may hold in `scope`: assignments, appends, loops over literal tuples, unpacked calls."""
        for node in ast.walk(scope):
            if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign) and node.value is not None:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if isinstance(target, ast.Name) and target.id == name:
                        yield node.value
                    elif isinstance(target, ast.Tuple):
                        yield from self._unpacked(name, target, node.value)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in (
                    "append", "extend") and isinstance(node.func.value, ast.Name) and node.func.value.id == name:
                yield from node.args
            elif isinstance(node, ast.For) and isinstance(node.target, ast.Tuple):
                for index, element in enumerate(node.target.elts):
                    if isinstance(element, ast.Name) and element.id == name:
                        literal = isinstance(node.iter, ast.Tuple) and all(isinstance(e, ast.Tuple) for e in node.iter.elts)
                        yield from ([e.elts[index] for e in node.iter.elts] if literal else [None])

    def _unpacked(self, name: str, target: ast.Tuple, value: ast.AST):
        for index, element in enumerate(target.elts):
            if not (isinstance(element, ast.Name) and element.id == name):
                continue
            if isinstance(value, ast.Tuple):
                yield value.elts[index]
            elif isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id in self.functions:
                fn = self.functions[value.func.id]
                for ret in (n for n in ast.walk(fn) if isinstance(n, ast.Return)):
                    yield ret.value.elts[index] if isinstance(ret.value, ast.Tuple) else None
            else:
                yield None


def sql_call_sites() -> list[tuple[str, int, ast.AST, ast.AST]]:
    """(file, line, SQL argument, enclosing function) for every SQL call in service/ and scrapers/."""
    sites = []
    for path in sorted((ROOT / "service").glob("*.py")) + sorted((ROOT / "scrapers").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for fn in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)):
            for node in ast.walk(fn):
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                        and node.func.attr in SQL_METHODS and node.args):
                    sites.append((str(path.relative_to(ROOT)), node.lineno, node.args[0], fn))
    return sites


def test_sql_text_is_built_from_code_only():
    functions = {}
    for path in sorted((ROOT / "service").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef):
                functions.setdefault(node.name, node)
    checker = SqlText(functions)
    sites = sql_call_sites()
    # An SQL call nested in an inner function is seen from each enclosing one; judge it in the innermost.
    innermost: dict[tuple[str, int], tuple[ast.AST, ast.AST]] = {}
    for file, line, arg, fn in sites:
        key = (file, line)
        if key not in innermost or fn.lineno > innermost[key][1].lineno:
            innermost[key] = (arg, fn)
    kinds = Counter()
    unsafe = []
    for (file, line), (arg, fn) in sorted(innermost.items()):
        kinds["literal" if isinstance(arg, ast.Constant) else "built from code"] += 1
        if not checker.safe(arg, fn):
            unsafe.append(f"{file}:{line}: {ast.unparse(arg)[:120]}")
    assert unsafe == [], "SQL text that may contain data (bind it as a parameter):\n" + "\n".join(unsafe)
    assert sum(kinds.values()) >= 50
    # The checker is not a rubber stamp: it refuses the shapes that would be injections.
    bad = ast.parse("def f(name, db):\n    sql = f'SELECT * FROM rates WHERE model = {name}'\n"
                    "    db.execute(sql)\n    db.execute('SELECT %s' % name)\n    db.execute('a' + name)\n"
                    "    db.execute('x {}'.format(name))\n").body[0]
    calls = [n for n in ast.walk(bad) if isinstance(n, ast.Call) and getattr(n.func, "attr", "") == "execute"]
    assert [checker.safe(c.args[0], bad) for c in calls] == [False, False, False, False]
    print(f"\n[security/sql-static] SQL call sites in service/ and scrapers/ {sum(kinds.values())} "
          f"({dict(kinds)}); text built from data 0")


def test_a_served_process_logs_no_secret_and_names_no_server(tmp_path, tmp_path_factory):
    db = bundled_db_copy(tmp_path_factory, tmp_path / "ratecard.db")
    log = tmp_path / "serve.log"
    sources = tmp_path / "sources.toml"  # the one refresh below fetches from a closed loopback port
    sources.write_text('[sources.anthropic]\nurl = "http://127.0.0.1:9/anthropic.md"\n', encoding="utf-8")
    # The writer (scheduler on: admin writes happen only there); its one source fails fast on a closed port.
    server, base = start_server(db, log, extra_env={"RATECARD_ADMIN_TOKEN": TOKEN, "RATECARD_SOURCES": str(sources)},
                                log_level="debug", scheduler=True)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    answers = []
    try:
        answers += [
            httpx.get(f"{base}/v1/prices", params={"model": "gpt-4o"}),
            httpx.get(f"{base}/v1/models/openai/no-such-model"),
            httpx.get(f"{base}/no/such/route"),
            httpx.delete(f"{base}/v1/prices"),
            httpx.post(f"{base}/v1/estimate", content=b"{" * 10, headers={"Content-Type": "application/json"}),
            httpx.post(f"{base}/v1/estimate", content=b"x" * 4_300_000, headers={"Content-Type": "application/json"}),
            httpx.get(f"{base}/v1/admin/changesets", headers=auth),
            httpx.get(f"{base}/v1/admin/changesets", headers={"Authorization": f"Bearer {TOKEN}-wrong"}),
            httpx.post(f"{base}/v1/admin/refresh/anthropic", headers=auth, timeout=120),
        ]
        # The refresh runs in the background: wait for its run to be recorded (a closed port: refused).
        run_id = answers[-1].json()["run_id"]
        for _ in range(600):
            runs = httpx.get(f"{base}/v1/runs", params={"source": "anthropic"}).json()["runs"]
            run = next(r for r in runs if r["id"] == run_id)
            if run["status"] != "running":
                break
            time.sleep(0.05)
    finally:
        server.terminate()
        server.wait(timeout=10)
    statuses = [r.status_code for r in answers]
    assert statuses == [200, 404, 404, 405, 400, 413, 200, 401, 202], statuses
    assert run["status"] == "failed" and "refused" in run["error"], run
    for response in answers:
        names = {k.lower() for k in response.headers}
        assert "server" not in names and "x-powered-by" not in names, response.headers
        assert TOKEN not in response.text and TOKEN not in str(response.headers)
    text = log.read_text()
    assert "catalog version" in text  # the log was captured
    assert TOKEN not in text, "the admin token reached the log"
    print(f"\n[security/process] `ratecard serve --log-level debug` with an admin token: {len(answers)} requests "
          f"(statuses {statuses}); Server/X-Powered-By headers 0; token in {len(text)} bytes of log: 0")


class Records(logging.Handler):
    """Keeps every record, formatted with its traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(logging.Formatter("%(name)s %(levelname)s %(message)s").format(record))


def test_the_token_never_reaches_a_log_record_or_an_answer():
    service, _ = service_copy(Settings(admin_token=TOKEN, fetch=ONE_TRY))
    http = httpx.AsyncClient(transport=httpx.MockTransport(Fetches()))
    records = Records()
    names = ["", "ratecard", "litestar", "httpx", "httpcore", "apscheduler", "uvicorn"]
    levels = {name: logging.getLogger(name).level for name in names}
    with TestClient(create_app(service.settings, service=service, clock=fixed_clock, http=http)) as client:
        # Attached once the app has started: Litestar configures logging on startup.
        for name in names:
            logging.getLogger(name).addHandler(records)
            logging.getLogger(name).setLevel(logging.DEBUG)
        try:
            answers = [client.request(m, p, headers=h) for m, p in admin_calls(client.app)
                       for h in ({"Authorization": f"Bearer {TOKEN}"}, {"Authorization": f"Bearer {TOKEN}0"})]
            answers.append(client.post("/v1/estimate", content=b"[" * 50_000, headers={"Authorization": TOKEN}))
        finally:
            for name in names:
                logging.getLogger(name).removeHandler(records)
                logging.getLogger(name).setLevel(levels[name])
    assert len(records.texts) >= len(answers)  # at least the client's line per request was captured
    leaked = [t for t in records.texts if TOKEN in t]
    assert leaked == []
    assert all(TOKEN not in a.text and TOKEN not in str(a.headers) for a in answers)
    print(f"\n[security/logs] admin calls with the token and with a near miss {len(answers) - 1}, log records "
          f"captured at DEBUG {len(records.texts)}; records or answers containing the token 0")
