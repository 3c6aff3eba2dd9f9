"""The estimate fast path (service.fast_path) answers exactly as the handlers do.

Every request here goes to two apps over the same bundled catalog, one with the fast path and
one without (``Settings(fast_path=False)``): the status, the headers in their order and the body
must be the same bytes. The corpus has the answers calculator pages ask for, every kind of bad
request, requests the fast path hands on to the handler, and generated queries and bodies.
"""

import asyncio
import copy
import json
from urllib.parse import parse_qsl, quote

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from litestar.testing import TestClient

from service.app import create_app
from service.fast_path import MAX_BODY_BYTES, _from_body, _from_query, _query_pairs
from tests.conftest import fixed_clock


def twin(service, **changes):
    """The same service (database, catalog, memos) with other settings."""
    other = copy.copy(service)
    other.settings = msgspec.structs.replace(service.settings, **changes)
    return other


@pytest.fixture(scope="module")
def clients(bundled_service):
    """(with the fast path, without it) over one catalog."""
    fast = twin(bundled_service, fast_path=True)
    slow = twin(bundled_service, fast_path=False)
    with TestClient(create_app(fast.settings, service=fast, clock=fixed_clock)) as with_fast, \
            TestClient(create_app(slow.settings, service=slow, clock=fixed_clock)) as without:
        for client in (with_fast, without):  # httpx asks for gzip, and gzipped answers are the handler's
            client.headers["Accept-Encoding"] = "identity"
        yield with_fast, without


def answer(client, method: str, url: str, **kwargs) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    if "content" in kwargs:  # bodies are JSON and say so (an undeclared body is a 415 before any route)
        kwargs["headers"] = {"Content-Type": "application/json", **kwargs.get("headers", {})}
    response = client.request(method, url, **kwargs)
    return response.status_code, list(response.headers.raw), response.content


def assert_alike(clients, method: str, url: str, **kwargs) -> tuple[int, list, bytes]:
    fast, slow = clients
    got = answer(fast, method, url, **kwargs)
    assert got == answer(slow, method, url, **kwargs)
    return got


GOOD_QUERIES = [
    "model=gpt-4o&input_tokens=2000&output_tokens=800&requests=5000",
    "model=gpt-4o&model=anthropic/claude-sonnet-4-5&input_tokens=12000&cached_input_tokens=10000"
    "&output_tokens=500&requests=2000&period=day",
    "model=claude-sonnet-4-5&input_tokens=12000&cache_write_tokens=4000&cache_ttl=1h&output_tokens=500&period=week",
    "model=gpt-4o&model=gemini-2.5-pro&input_tokens=2000&tier=standard&tier=batch",
    "model=gemini-2.5-pro&input_tokens=250000&output_tokens=1000&requests=10",  # over the long-context level
    "model=gpt-4o-mini&input_tokens=1&output_tokens=1&requests=0",
    "model=o3&input_tokens=400&output_tokens=100&requests=100000&discount_percent=12.5",
    "model=gpt-4o&input_tokens=2000&discount_percent=10&tier=priority&tier=flex",
    "model=gpt-4o&input_tokens=0",
    "model=anthropic%2Fclaude-sonnet-4-5&input_tokens=2000",  # quoted: read by parse_qsl
    "model=gpt-4o&&input_tokens=2000&",  # empty parts are skipped
    "model=gpt-4o&model=gpt-4o&input_tokens=2000",  # one model named twice
]
# What the fast path hands on (the handler answers, 200 or a problem), and every kind of error.
HANDED_ON_QUERIES = [
    "",
    "model=",
    "input_tokens=2000",
    "model=gpt-4o",  # neither input_tokens nor text
    "model=gpt-4o&input_tokens=-1",
    "model=gpt-4o&input_tokens=abc",
    "model=gpt-4o&input_tokens=1e3",
    "model=gpt-4o&input_tokens=007",
    "model=gpt-4o&input_tokens=%202000",
    "model=gpt-4o&input_tokens=2000&input_tokens=3000",
    "model=gpt-4o&input_tokens=1000000001",
    "model=gpt-4o&input_tokens=2000&period=year",
    "model=gpt-4o&input_tokens=2000&cache_ttl=2h",
    "model=gpt-4o&input_tokens=2000&cached_input_tokens=3000",
    "model=gpt-4o&input_tokens=2000&tier=cheap",
    "model=gpt-4o&input_tokens=2000&discount_percent=101",
    "model=gpt-4o&input_tokens=2000&discount_percent=abc",
    "model=gpt-4o&input_tokens=2000&foo=bar",  # a parameter the handler ignores
    "model=gpt-4o&input_tokens=2000&as_of=2025-06-01",
    "model=gpt-4o&input_tokens=2000&as_of=yesterday",
    "model=o3&input_tokens=400&version=1",
    "model=gpt-4o&input_tokens=2000&version=999999",
    "model=gpt-4o&text=Summarise+this+ticket",
    "model=gpt-5-turbo-ultra&input_tokens=2000",
    "&".join(f"model=m{i}" for i in range(21)) + "&input_tokens=5",
]


@pytest.mark.parametrize("query", GOOD_QUERIES + HANDED_ON_QUERIES)
def test_a_get_is_answered_alike_with_and_without_the_fast_path(clients, query):
    assert_alike(clients, "GET", f"/v1/estimate?{query}")


def scope_of(method: str, query: bytes = b"", headers=()) -> dict:
    declared = [(b"content-type", b"application/json")] if method == "POST" else []
    return {"type": "http", "method": method, "path": "/v1/estimate", "query_string": query,
            "headers": [(b"host", b"testserver"), *declared, *headers]}


@pytest.mark.parametrize("query", GOOD_QUERIES)
def test_the_fast_path_takes_plain_queries(query):
    assert _from_query(scope_of("GET", query.encode())) is not None


NOT_READ = [
    "", "model=", "input_tokens=2000", "model=gpt-4o&input_tokens=abc", "model=gpt-4o&input_tokens=007",
    "model=gpt-4o&input_tokens=%202000", "model=gpt-4o&input_tokens=2000&input_tokens=3000",
    "model=gpt-4o&input_tokens=1000000001", "model=gpt-4o&input_tokens=2000&period=year",
    "model=gpt-4o&input_tokens=2000&foo=bar", "model=gpt-4o&input_tokens=2000&as_of=2025-06-01",
    "model=o3&input_tokens=400&version=1", "model=gpt-4o&text=Summarise+this+ticket",
    "&".join(f"model=m{i}" for i in range(21)) + "&input_tokens=5",
]


@pytest.mark.parametrize("query", NOT_READ)
def test_the_fast_path_hands_on_what_it_does_not_read(query):
    """Blank, repeated, unknown or unconvertible parameters, a past moment, a text: the handler's.

    (A query it reads can still be handed on: one whose pricing is a problem, such as an unknown model.)
    """
    assert _from_query(scope_of("GET", query.encode())) is None


def test_a_revalidation_is_answered_alike_and_by_the_handler(clients):
    url = f"/v1/estimate?{GOOD_QUERIES[0]}"
    status, headers, _ = assert_alike(clients, "GET", url)
    tag = dict(headers)[b"etag"].decode()
    assert status == 200 and tag.startswith('"v')
    assert assert_alike(clients, "GET", url, headers={"If-None-Match": tag})[0] == 304
    assert assert_alike(clients, "GET", url, headers={"If-None-Match": '"v1-0000000000000000"'})[0] == 200


def test_a_post_revalidation_is_answered_alike(clients):
    """A POST's answer has an ETag too; the handler gives a 304 for it, so the fast path hands it on."""
    status, headers, _ = assert_alike(clients, "POST", "/v1/estimate", content=GOOD_BODIES[0].encode())
    tag = dict(headers)[b"etag"].decode()
    got = assert_alike(clients, "POST", "/v1/estimate", content=GOOD_BODIES[0].encode(), headers={"If-None-Match": tag})
    assert (status, got[0]) == (200, 304)


def test_the_fast_answer_is_the_documented_one(clients):
    """The fast path's bytes are the real answer, not just equal to the handler's: GPT-4o's month, by hand."""
    status, headers, body = assert_alike(clients, "GET", f"/v1/estimate?{GOOD_QUERIES[0]}")
    assert status == 200
    assert [name for name, _ in headers] == [b"etag", b"cache-control", b"vary", b"content-type", b"content-length"]
    assert dict(headers)[b"cache-control"] == b"public, max-age=60"
    tiers = {e["tier"]: e for e in json.loads(body)["estimates"]}
    # 5,000 x (2,000 x $2.50 + 800 x $10) / 1M = $65 a month standard, half on batch.
    assert tiers["standard"]["per_period"] == 65 and tiers["batch"]["per_period"] == 32.5


POST_BODY = {"models": ["gpt-4o", "anthropic/claude-sonnet-4-5", "gemini-2.5-pro"], "input_tokens": 2000,
             "output_tokens": 800, "requests": 5000, "tiers": ["standard", "batch"]}
GOOD_BODIES = [
    json.dumps(POST_BODY),
    json.dumps({"models": ["claude-sonnet-4-5"], "input_tokens": 12000, "cached_input_tokens": 10000,
                "output_tokens": 500, "requests": 2000, "period": "day"}),
    json.dumps({"models": ["openai/o3"], "input_tokens": 400, "output_tokens": 100, "requests": 100000,
                "tiers": ["standard"], "as_of": "2025-06-01"}),
    json.dumps({"models": ["o3"], "input_tokens": 400, "version": 1}),
    json.dumps({"models": ["gpt-4o"], "text": "Summarise this support ticket in two lines.", "output_tokens": 50}),
    json.dumps({"models": ["gpt-4o"], "input_tokens": 2000, "tiers": None, "cache_ttl": "1h"}),
    '{"models": ["gpt-4o"], "input_tokens": 1, "input_tokens": 2000}',  # a repeated key: the last one
    '  {"models":["gpt-4o"],"input_tokens":2000}\n',
]
# Read the lax way (Litestar reads a JSON number into a Decimal through a float), or handed on.
LAX_BODIES = [
    '{"models": ["gpt-4o"], "input_tokens": 2000, "discount_percent": 10.50}',
    '{"models": ["gpt-4o"], "input_tokens": 2000, "discount_percent": 12.3456789012345678901}',
    '{"models": ["gpt-4o"], "input_tokens": 2000, "discount_percent": "7.5"}',
    '{"models": ["gpt-4o"], "input_tokens": "2000"}',
    '{"models": ["gpt-4o"], "input_tokens": 2000.0}',
]
BAD_BODIES = [
    "", "{}", "[]", '"gpt-4o"', "null", "not json", '{"models": ["gpt-4o"], "input_tokens": 2000',
    '{"models": ["gpt-4o"], "input_tokenz": 2000}',
    '{"models": [], "input_tokens": 2000}',
    json.dumps({"models": [f"m{i}" for i in range(21)], "input_tokens": 5}),
    '{"models": ["gpt-4o"]}',
    '{"models": ["gpt-4o"], "input_tokens": 5, "text": "hi"}',
    '{"models": ["gpt-4o"], "input_tokens": -5}',
    '{"models": ["gpt-4o"], "input_tokens": true}',
    '{"models": ["gpt-4o"], "input_tokens": 5, "period": "year"}',
    '{"models": ["gpt-4o"], "input_tokens": 5, "tiers": ["cheap"]}',
    '{"models": ["gpt-4o"], "input_tokens": 5, "version": 999999}',
    '{"models": ["gpt-4o"], "input_tokens": 5, "as_of": "yesterday"}',
    '{"models": ["gpt-4o"], "input_tokens": 5, "discount_percent": 0.1}',
    '{"models": ["gpt-5-turbo-ultra"], "input_tokens": 5}',
    '{"models": ["gpt-4o"], "input_tokens": 5, "cached_input_tokens": 6}',
]


@pytest.mark.parametrize("body", GOOD_BODIES + LAX_BODIES + BAD_BODIES)
def test_a_post_is_answered_alike_with_and_without_the_fast_path(clients, body):
    assert_alike(clients, "POST", "/v1/estimate", content=body.encode(), headers={"Content-Type": "application/json"})


@pytest.mark.parametrize("body", GOOD_BODIES + LAX_BODIES[:3])
def test_the_fast_path_takes_plain_bodies(body):
    data = body.encode()
    scope = scope_of("POST", headers=[(b"content-length", str(len(data)).encode())])
    request, _ = asyncio.run(_from_body(scope, one_message(data), MAX_BODY_BYTES))
    assert request is not None


def test_a_lax_decimal_is_read_as_litestar_reads_it(clients):
    """10.50 comes through a float as 10.5, as the handler reads it; the answers agree to the byte."""
    status, _, body = assert_alike(clients, "POST", "/v1/estimate", content=LAX_BODIES[0].encode())
    standard = json.loads(body)["estimates"][0]
    assert status == 200 and standard["tier"] == "standard"
    assert standard["per_request"] == 0.0044750  # 2,000 x $2.50 / 1M, less 10.5%


def one_message(body: bytes):
    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}
    return receive


def messages_of(*messages):
    queue = list(messages)

    async def receive():
        return queue.pop(0) if queue else {"type": "http.disconnect"}
    return receive


async def call(app, scope: dict, receive) -> list[dict]:
    """One request straight over ASGI; the messages the app sent."""
    sent: list[dict] = []

    async def send(message):
        sent.append(message)
    scope = {"asgi": {"version": "3.0"}, "http_version": "1.1", "scheme": "http", "root_path": "",
             "raw_path": scope["path"].encode(), "client": ("127.0.0.1", 5000), "server": ("testserver", 80),
             "state": {}, **scope}
    await app(scope, receive, send)
    return sent


def run_alike(clients, scope: dict, *messages) -> list[dict]:
    """The messages both apps send for this scope and these request messages (which must be the same)."""
    fast, slow = clients
    got = fast.blocking_portal.call(call, fast.app, dict(scope), messages_of(*messages))
    assert got == slow.blocking_portal.call(call, slow.app, dict(scope), messages_of(*messages))
    return got


def test_a_body_in_several_messages_or_without_a_length_is_answered_alike(clients):
    data = json.dumps(POST_BODY).encode()
    whole = run_alike(clients, scope_of("POST", headers=[(b"content-length", str(len(data)).encode())]),
                      {"type": "http.request", "body": data})
    assert whole[0]["status"] == 200
    parts = [{"type": "http.request", "body": data[i:i + 7], "more_body": i + 7 < len(data)}
             for i in range(0, len(data), 7)]
    assert run_alike(clients, scope_of("POST", headers=[(b"content-length", str(len(data)).encode())]),
                     *parts) == whole
    # Chunked (no Content-Length): the handler's, the same answer.
    assert run_alike(clients, scope_of("POST"), *parts) == whole


def test_a_client_gone_before_its_body_ends_is_handled_alike(clients):
    data = json.dumps(POST_BODY).encode()
    scope = scope_of("POST", headers=[(b"content-length", str(len(data)).encode())])
    run_alike(clients, scope, {"type": "http.request", "body": data[:10], "more_body": True},
              {"type": "http.disconnect"})


def test_a_body_over_the_fast_path_limit_is_answered_alike(clients):
    """Past MAX_BODY_BYTES the handler reads the body, what the fast path read first included."""
    text = "word " * (MAX_BODY_BYTES // 4)
    data = json.dumps({"models": ["gpt-4o"], "text": text}).encode()
    parts = [{"type": "http.request", "body": data[i:i + 50_000], "more_body": i + 50_000 < len(data)}
             for i in range(0, len(data), 50_000)]
    got = run_alike(clients, scope_of("POST", headers=[(b"content-length", b"1000")]), *parts)  # it lies
    assert got[0]["status"] == 200
    assert run_alike(clients, scope_of("POST", headers=[(b"content-length", str(len(data)).encode())]), *parts) == got


def test_a_query_that_is_not_utf8_is_answered_alike_not_500(clients):
    got = run_alike(clients, scope_of("GET", b"model=gpt-4o&input_tokens=2000&note=caf\xe9"))
    assert got[0]["status"] == 200


def test_a_body_over_the_service_limit_is_413_alike(bundled_service):
    small = [twin(bundled_service, fast_path=on, max_body_bytes=100) for on in (True, False)]
    data = json.dumps(POST_BODY).encode()
    assert len(data) > 100
    with TestClient(create_app(small[0].settings, service=small[0], clock=fixed_clock)) as fast, \
            TestClient(create_app(small[1].settings, service=small[1], clock=fixed_clock)) as slow:
        got = assert_alike((fast, slow), "POST", "/v1/estimate", content=data)
    assert got[0] == 413


# Generated requests: names from the real ones and a stray, values valid or not.
_VALUES = {
    "model": st.sampled_from(["gpt-4o", "anthropic/claude-sonnet-4-5", "gemini-2.5-pro", "o3", "gpt-4o-mini",
                              "claude-haiku-4-5", "nope", ""]),
    "input_tokens": st.one_of(st.integers(-5, 2_000_000).map(str), st.sampled_from(["", "x", "1.5", "1e3", "+5"])),
    "cached_input_tokens": st.integers(0, 3000).map(str),
    "cache_write_tokens": st.integers(0, 3000).map(str),
    "output_tokens": st.integers(0, 100_000).map(str),
    "requests": st.one_of(st.integers(0, 10**6).map(str), st.just("-1")),
    "period": st.sampled_from(["day", "week", "month", "year"]),
    "tier": st.sampled_from(["standard", "batch", "flex", "priority", "cheap"]),
    "cache_ttl": st.sampled_from(["5m", "1h", "1d"]),
    "discount_percent": st.sampled_from(["0", "10", "12.5", "33.333", "100", "101", "0.0000001", "x"]),
    "foo": st.just("1"),
}
_PAIRS = st.lists(st.sampled_from(sorted(_VALUES)).flatmap(lambda key: st.tuples(st.just(key), _VALUES[key])),
                  min_size=1, max_size=7)


@settings(max_examples=120, deadline=None)
@given(pairs=_PAIRS, quoted=st.booleans())
def test_generated_queries_are_answered_alike(clients, pairs, quoted):
    query = "&".join(f"{key}={quote(value, safe='') if quoted else value}" for key, value in pairs)
    assert_alike(clients, "GET", f"/v1/estimate?{query}")


_FIELDS = {
    "models": st.lists(_VALUES["model"], min_size=0, max_size=4),
    "input_tokens": st.one_of(st.integers(-5, 2_000_000), st.none(), st.just("2000"), st.just(1.5)),
    "cached_input_tokens": st.integers(0, 3000),
    "cache_write_tokens": st.integers(0, 3000),
    "output_tokens": st.integers(0, 100_000),
    "requests": st.integers(-1, 10**6),
    "period": _VALUES["period"],
    "tiers": st.one_of(st.none(), st.lists(_VALUES["tier"], max_size=3)),
    "cache_ttl": _VALUES["cache_ttl"],
    "discount_percent": st.one_of(st.integers(0, 101), st.sampled_from([12.5, 0.5, 33.3333])),
    "as_of": st.sampled_from(["2025-06-01", "2026-01-01T00:00:00Z", "soon"]),
    "modelz": st.just(["gpt-4o"]),
}


@settings(max_examples=120, deadline=None)
@given(body=st.fixed_dictionaries({"models": _FIELDS["models"]},
                                  optional={k: v for k, v in _FIELDS.items() if k != "models"}))
def test_generated_bodies_are_answered_alike(clients, body):
    assert_alike(clients, "POST", "/v1/estimate", content=json.dumps(body).encode())


@given(st.lists(st.sampled_from(["a", "b", "=", "&", "%41", "+", " ", "é", ";"]), max_size=12).map("".join))
def test_query_pairs_are_parse_qsls(query):
    assert _query_pairs(query) == parse_qsl(query, keep_blank_values=True, separator="&")


def test_cross_origin_answers_carry_the_same_cors_headers(bundled_service):
    """CORS wraps the route, the fast path included: its headers come out alike."""
    pair = [twin(bundled_service, fast_path=on, cors_origins=("https://calc.example",)) for on in (True, False)]
    with TestClient(create_app(pair[0].settings, service=pair[0], clock=fixed_clock)) as fast, \
            TestClient(create_app(pair[1].settings, service=pair[1], clock=fixed_clock)) as slow:
        origin = {"Origin": "https://calc.example", "Accept-Encoding": "identity"}  # not gzip: the fast path's
        status, headers, _ = assert_alike((fast, slow), "GET", f"/v1/estimate?{GOOD_QUERIES[0]}", headers=origin)
        assert status == 200 and dict(headers)[b"access-control-allow-origin"] == b"https://calc.example"
        status, headers, _ = assert_alike((fast, slow), "POST", "/v1/estimate", content=GOOD_BODIES[0].encode(),
                                          headers=origin)
        assert status == 200 and dict(headers)[b"access-control-expose-headers"] == b"ETag"
