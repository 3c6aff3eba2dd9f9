"""Bad input, API: whatever a client sends, the answer is a 2xx or a 4xx problem, never a 500.

Hypothesis writes the inputs (bounded and derandomized, so a run is
repeatable): JSON bodies of every shape and near-valid bodies with one field
made wrong, raw bytes, query strings of garbage for every GET operation, and
path segments with traversal, NUL, bidi and invalid UTF-8. The operations,
their parameters and their example bodies come from the app's own OpenAPI
document, so a new endpoint is fuzzed without editing this file. Bodies over
the size limit and deeply nested JSON are tried on every POST operation.
"""

import json
import logging
from collections import Counter
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar.testing import TestClient

from ratecard.service.app import create_app
from tests.conftest import fixed_clock, shared_bundled_service

PROBLEM = "application/problem+json"
logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request would drown the figures
RUNS = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def client():
    service = shared_bundled_service()
    app = create_app(service.settings, service=service, clock=fixed_clock)  # no admin token: admin answers 404
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def operations(client) -> dict[str, list[dict]]:
    """Each method's operations from the app's OpenAPI document: path, parameters, example bodies."""
    doc = client.app.openapi_schema.to_schema()
    out: dict[str, list[dict]] = {"get": [], "post": []}
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method not in out:
                continue
            params = op.get("parameters", [])
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
            out[method].append({
                "path": path,
                "query": [p["name"] for p in params if p["in"] == "query"],
                "path_params": [p["name"] for p in params if p["in"] == "path"],
                "examples": body.get("examples", []) if body else [],
            })
    assert len(out["get"]) >= 15 and len(out["post"]) >= 5
    return out


def check(response, what: str) -> None:
    """A success, or a 4xx that is an RFC 9457 problem naming its own status; never a 5xx."""
    assert response.status_code < 500, f"{what}: {response.status_code} {response.text[:300]}"
    if response.status_code >= 400:
        assert response.headers["content-type"] == PROBLEM, what
        problem = response.json()
        assert problem["status"] == response.status_code, what
        assert problem["type"].startswith("https://ratecard.dev/problems/") and problem["title"], what


# Text a client may send: every Unicode category including lone surrogates (in JSON as \ud800 escapes),
# NUL and control characters, bidi overrides, combining marks, and long runs.
ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=40) | st.sampled_from(
    ["", "\x00", "gpt-4o\x00", "\u202egpt-4o", "ｇｐｔ－４ｏ", "GPT-4O", "../../etc/passwd", "%00", "'; DROP TABLE rates; --",
     "x" * 10_000, "\ufeffgpt-4o", "gpt\u200b-4o", "e\u0301" * 50])
NUMBERS = (st.integers(min_value=-(10**20), max_value=10**20) | st.integers(0, 400).map(lambda n: 10**n)
           | st.integers(0, 400).map(lambda n: -(10**n)) | st.floats(allow_nan=True, allow_infinity=True))
SCALARS = st.none() | st.booleans() | NUMBERS | ANY_TEXT
JSON_VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(ANY_TEXT, inner, max_size=4), max_leaves=12)


def encode(value) -> bytes:
    # allow_nan writes NaN/Infinity tokens: invalid JSON, which is one more bad input.
    return json.dumps(value, allow_nan=True).encode()


def test_post_bodies_of_any_shape_are_answered_with_2xx_or_4xx_problems(client, operations):
    tried: Counter[str] = Counter()
    posts = [op for op in operations["post"] if not op["path"].startswith("/v1/admin")]
    assert {"/v1/estimate", "/v1/forecast", "/v1/tokens"} <= {op["path"] for op in posts}
    base_bodies = [(op["path"], example) for op in posts for example in op["examples"]]
    assert len(base_bodies) >= 3

    @RUNS
    @given(op=st.sampled_from(posts), value=JSON_VALUES)
    def any_json(op, value):
        check(client.post(op["path"], content=encode(value), headers={"Content-Type": "application/json"}),
              op["path"])
        tried["any JSON value"] += 1

    @settings(RUNS, max_examples=300)
    @given(base=st.sampled_from(base_bodies), data=st.data())
    def near_valid(base, data):
        path, body = base[0], dict(base[1])
        field = data.draw(st.sampled_from([*body, "unexpected_field"]))
        action = data.draw(st.sampled_from(["replace", "drop", "wrap"]))
        if action == "drop":
            body.pop(field, None)
        elif action == "wrap":
            body[field] = [body.get(field)]
        else:
            body[field] = data.draw(JSON_VALUES)
        check(client.post(path, content=encode(body), headers={"Content-Type": "application/json"}), path)
        tried["valid example with one field wrong"] += 1

    @RUNS
    @given(op=st.sampled_from(posts), raw=st.binary(max_size=300), content_type=st.sampled_from(
        ["application/json", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
         "application/json; charset=utf-16", ""]))
    def raw_bytes(op, raw, content_type):
        check(client.post(op["path"], content=raw, headers={"Content-Type": content_type}), op["path"])
        tried["raw bytes, any content type"] += 1

    @RUNS
    @given(base=st.sampled_from(base_bodies), data=st.data())
    def truncated_or_spliced(base, data):
        text = encode(base[1])
        cut = data.draw(st.integers(0, len(text)))
        junk = data.draw(st.sampled_from([b"", b"\x00", b"\xff\xfe", b"\xc3", b"\\u0000", b"\xed\xa0\x80", b"}}"]))
        check(client.post(base[0], content=text[:cut] + junk, headers={"Content-Type": "application/json"}),
              base[0])
        tried["valid example truncated or spliced"] += 1

    for run in (any_json, near_valid, raw_bytes, truncated_or_spliced):
        run()
    print(f"\n[bad input/bodies] POST operations {len(posts)}; bodies tried {sum(tried.values())} "
          f"({dict(tried)}); 5xx 0; non-problem 4xx 0")


@pytest.mark.parametrize("depth", [100, 1_000, 10_000, 100_000])
def test_deeply_nested_json_is_a_400_problem_on_every_post(client, operations, depth):
    posts = [op["path"] for op in operations["post"] if not op["path"].startswith("/v1/admin")]
    bodies = {"arrays": b"[" * depth + b"]" * depth,
              "objects": b'{"a":' * depth + b"1" + b"}" * depth,
              "inside a field": b'{"models":' + b"[" * depth + b"]" * depth + b"}"}
    for path in posts:
        for shape, body in bodies.items():
            response = client.post(path, content=body, headers={"Content-Type": "application/json"})
            check(response, f"{path} {shape} {depth}")
            assert response.status_code in (400, 413), f"{path} {shape} {depth}: {response.status_code}"
    print(f"\n[bad input/nesting] depth {depth}: {len(posts) * len(bodies)} bodies, all 400/413 problems")


def test_bodies_over_the_size_limit_are_413_problems_on_every_post(client, operations):
    limit = client.app.state.service.settings.max_body_bytes
    # The admin operations read no body (they answer 404 before reading one, the API being off).
    posts = [op["path"] for op in operations["post"] if not op["path"].startswith("/v1/admin")]
    tried = 0
    for path in posts:
        for body in (b'{"models": ["' + b"x" * limit + b'"]}', b" " * (limit + 1)):
            response = client.post(path, content=body, headers={"Content-Type": "application/json"})
            assert response.status_code == 413, f"{path}: {response.status_code}"
            assert response.headers["content-type"] == PROBLEM
            tried += 1
        # Without a Content-Length (chunked), the limit still holds while the body streams in.
        chunks = (b"x" * 65_536 for _ in range(limit // 65_536 + 2))
        response = client.post(path, content=chunks, headers={"Content-Type": "application/json"})
        assert response.status_code == 413, f"{path} chunked: {response.status_code}"
        tried += 1
    print(f"\n[bad input/size] bodies over {limit} bytes: {tried} on {len(posts)} POST operations, all 413 problems")


QUERY_VALUES = (ANY_TEXT.filter(lambda t: not any(0xD800 <= ord(c) <= 0xDFFF for c in t))
                | NUMBERS.map(str)
                | st.sampled_from(["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "2025-02-30",
                                   "2025-06-01T25:00", "-1", "1e309", "NaN", "true", "[]", "{}", "%", "%zz",
                                   "9223372036854775808", "0x10"]))
# Raw, already-encoded fragments the client would otherwise escape: invalid UTF-8 and broken escapes.
RAW_QUERY = st.sampled_from(["%ff%fe", "%c3", "%ed%a0%80", "%zz", "%", "%00", "a%2", "%e2%80%ae", "&&&", "=", "==x"])


def test_get_query_strings_of_garbage_are_answered_with_2xx_or_4xx_problems(client, operations):
    tried: Counter[str] = Counter()
    gets = operations["get"]

    def fill(path: str, draw) -> str:
        for name in ("provider", "model", "changeset_id", "source_id"):
            if "{" + name + "}" in path:
                value = draw(st.sampled_from(["openai", "gpt-4o", "anthropic", "claude-sonnet-4-5"]) | ANY_TEXT.filter(
                    lambda t: t and not any(0xD800 <= ord(c) <= 0xDFFF for c in t)))
                path = path.replace("{" + name + "}", quote(value, safe=""))
        return path

    @settings(RUNS, max_examples=400)
    @given(op=st.sampled_from(gets), data=st.data())
    def query(op, data):
        path = fill(op["path"], data.draw)
        names = st.sampled_from(op["query"] or ["q"]) | st.sampled_from(["", "x", "model[]", "__proto__", "as_of "])
        params = data.draw(st.lists(st.tuples(names, QUERY_VALUES), max_size=5))
        check(client.get(path, params=params), f"GET {path} {params!r}")
        tried["parameters of garbage"] += 1

    @settings(RUNS, max_examples=150)
    @given(op=st.sampled_from(gets), data=st.data())
    def raw_query(op, data):
        path = fill(op["path"], data.draw)
        name = data.draw(st.sampled_from(op["query"] or ["q"]))
        fragment = data.draw(RAW_QUERY)
        check(client.get(f"{path}?{name}={fragment}"), f"GET {path}?{name}={fragment}")
        tried["raw query with invalid escapes"] += 1

    query()
    raw_query()
    print(f"\n[bad input/queries] GET operations {len(gets)}; query strings tried {sum(tried.values())} "
          f"({dict(tried)}); 5xx 0; non-problem 4xx 0")


PATH_TRICKS = ["%2e%2e%2f%2e%2e%2fetc%2fpasswd", "..%2F..%2Fdata%2Fsources.toml", "%2e%2e", "gpt-4o%00", "%00",
               "%F0%9F%92%B8", "%E2%80%AE", "%ff", "%c3%28", "gpt-4o%2F..%2F..", "%20",
               "a" * 4000, quote("ｇｐｔ－４ｏ"), quote("'; DROP TABLE rates; --", safe=""), "gpt-4o;rm", "~",
               "gpt-4o%0d%0aSet-Cookie:%20x=1", "%252e%252e%252f"]


@pytest.mark.parametrize("template", ["/v1/models/openai/{}", "/v1/models/{}/gpt-4o", "/v1/models/openai/{}/history",
                                      "/v1/models/{}/{}/history", "/v1/admin/refresh/{}"])
def test_path_tricks_in_names_are_4xx_problems(client, template):
    for trick in PATH_TRICKS:
        path = template.replace("{}", trick)
        response = client.get(path) if "admin" not in path else client.post(path)
        check(response, path)
        assert 400 <= response.status_code < 500, f"{path}: {response.status_code}"
        assert "set-cookie" not in response.headers
    print(f"\n[bad input/paths] {template}: {len(PATH_TRICKS)} names, all 4xx problems")


def test_lone_surrogates_and_nul_in_json_strings_are_4xx_not_500(client):
    escapes = ["\\ud800", "\\udfff", "\\ud800\\u0041", "\\u0000", "\\u202e", "\\uffff"]
    tried = 0
    for escape in escapes:
        for body in (f'{{"models": ["gpt-4o{escape}"], "input_tokens": 1}}',
                     f'{{"models": ["gpt-4o"], "text": "a{escape}b"}}'):
            response = client.post("/v1/estimate", content=body.encode(), headers={"Content-Type": "application/json"})
            check(response, body)
            tried += 1
        response = client.post("/v1/tokens", content=f'{{"model": "gpt-4o", "text": "{escape}"}}'.encode(),
                               headers={"Content-Type": "application/json"})
        check(response, escape)
        tried += 1
    assert tried == 18
    print(f"\n[bad input/escapes] JSON strings with lone surrogates, NUL and bidi: {tried}, no 5xx")
