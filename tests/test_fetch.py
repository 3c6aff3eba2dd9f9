"""ratecard.scrapers.fetch against httpx.MockTransport: no network, no real sleeping."""

import asyncio
import hashlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from ratecard.scrapers.errors import BlockedError, BodyTooLarge, FetchError
from ratecard.scrapers.fetch import USER_AGENT, FetchPolicy, Fetched, backoff_delay_s, fetch, parse_retry_after

URL = "https://platform.example.test/pricing"
NOW = datetime(2026, 5, 8, 12, 0, tzinfo=UTC)
CHALLENGE_PAGE = Path(__file__).parent / "fixtures" / "openai" / (
    "platform-pricing_CLOUDFLARE-CHALLENGE_2026-05-08_quill-d1507e12.html"
)
PAGE = b"<html><body><table><tr><td>gpt-x</td><td>$1.25</td></tr></table></body></html>"


class FakeSleep:
    """Records the delays asked for instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def run(
    responses: list[httpx.Response | Exception] | Callable[[httpx.Request], httpx.Response],
    *,
    policy: FetchPolicy | None = None,
    url: str = URL,
    **kwargs: object,
) -> tuple[Fetched, list[httpx.Request], FakeSleep]:
    """Fetch through a MockTransport replaying ``responses`` in order (or calling a handler)."""
    seen: list[httpx.Request] = []
    sleep = FakeSleep()
    queue = list(responses) if isinstance(responses, list) else None

    async def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if queue is None:
            return responses(request)  # type: ignore[operator]
        item = queue.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    async def go() -> Fetched:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            return await fetch(
                client, url, policy=policy or FetchPolicy(), now=lambda: NOW, sleep=sleep, rand=lambda: 0.5, **kwargs
            )

    try:
        result = asyncio.run(go())
    except Exception as exc:
        exc.seen, exc.sleep = seen, sleep  # type: ignore[attr-defined]
        raise
    return result, seen, sleep


def test_ok_returns_body_hash_and_validators() -> None:
    result, seen, sleep = run([
        httpx.Response(200, content=PAGE, headers={"ETag": '"v1"', "Last-Modified": "Thu, 07 May 2026 10:00:00 GMT",
                                                   "Content-Type": "text/html; charset=utf-8"})
    ])
    assert result.status == "ok" and result.http_status == 200
    assert result.body == PAGE
    assert result.sha256 == hashlib.sha256(PAGE).hexdigest()
    assert (result.etag, result.last_modified) == ('"v1"', "Thu, 07 May 2026 10:00:00 GMT")
    assert result.content_type == "text/html; charset=utf-8"
    assert (result.url, result.fetched_at, result.attempts) == (URL, NOW, 1)
    assert sleep.delays == []
    assert "If-None-Match" not in seen[0].headers


def test_user_agent_and_timeouts_are_sent() -> None:
    _, seen, _ = run([httpx.Response(200, content=PAGE)])
    assert seen[0].headers["User-Agent"] == USER_AGENT
    assert seen[0].extensions["timeout"] == {"connect": 10.0, "read": 30.0, "write": 30.0, "pool": 30.0}


def test_conditional_get_304_is_not_modified() -> None:
    result, seen, _ = run([httpx.Response(304)], etag='"v1"', last_modified="Thu, 07 May 2026 10:00:00 GMT")
    assert seen[0].headers["If-None-Match"] == '"v1"'
    assert seen[0].headers["If-Modified-Since"] == "Thu, 07 May 2026 10:00:00 GMT"
    assert result.status == "not_modified" and result.http_status == 304
    assert (result.body, result.sha256) == (b"", "")
    # The server did not repeat the validators, so the ones sent still hold.
    assert (result.etag, result.last_modified) == ('"v1"', "Thu, 07 May 2026 10:00:00 GMT")


def test_redirect_is_followed_to_the_final_url() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "old.example.test":
            return httpx.Response(301, headers={"Location": "https://new.example.test/api/pricing"})
        return httpx.Response(200, content=PAGE)

    result, seen, _ = run(handler, url="https://old.example.test/pricing")
    assert result.url == "https://new.example.test/api/pricing"
    assert [str(r.url) for r in seen] == ["https://old.example.test/pricing", "https://new.example.test/api/pricing"]
    assert seen[1].headers["User-Agent"] == USER_AGENT
    assert result.attempts == 1


def test_redirect_loop_is_bounded() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"Location": f"/hop{len(request.url.path)}"})

    with pytest.raises(FetchError, match="more than 2 redirects") as info:
        run(handler, policy=FetchPolicy(max_redirects=2))
    assert info.value.url == URL
    assert len(info.value.seen) == 3  # type: ignore[attr-defined]


def test_429_honours_retry_after_seconds() -> None:
    result, seen, sleep = run([httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(200, content=PAGE)])
    assert sleep.delays == [7.0]
    assert result.status == "ok" and result.attempts == 2 and len(seen) == 2


def test_retry_after_http_date_and_cap() -> None:
    assert parse_retry_after("Fri, 08 May 2026 12:00:30 GMT", NOW) == 30.0
    assert parse_retry_after("Fri, 08 May 2026 11:00:00 GMT", NOW) == 0.0
    assert parse_retry_after("soon", NOW) is None
    _, _, sleep = run([httpx.Response(503, headers={"Retry-After": "86400"}), httpx.Response(200, content=PAGE)])
    assert sleep.delays == [60.0]


def test_5xx_backs_off_with_growing_delays() -> None:
    result, _, sleep = run([httpx.Response(500), httpx.Response(502), httpx.Response(200, content=PAGE)])
    assert result.attempts == 3
    assert sleep.delays == [0.75, 1.5]  # base 1s then 2s, upper half jittered by rand() = 0.5


def test_backoff_is_capped_and_jitter_stays_in_the_upper_half() -> None:
    policy = FetchPolicy(backoff_base_s=1.0, backoff_max_s=60.0)
    assert backoff_delay_s(policy, 10, None, lambda: 0.999) <= 60.0
    assert backoff_delay_s(policy, 10, None, lambda: 0.0) == 30.0
    assert backoff_delay_s(policy, 1, 1000.0, lambda: 0.0) == 60.0


def test_always_500_gives_up_after_max_attempts() -> None:
    with pytest.raises(FetchError, match=r"gave up after 4 attempts, last: HTTP 500") as info:
        run([httpx.Response(500)] * 4)
    assert not isinstance(info.value, BlockedError)
    assert info.value.url == URL
    assert len(info.value.seen) == 4  # type: ignore[attr-defined]
    assert info.value.sleep.delays == [0.75, 1.5, 3.0]  # type: ignore[attr-defined]


def test_timeout_then_success() -> None:
    request = httpx.Request("GET", URL)
    result, seen, sleep = run([httpx.ReadTimeout("timed out", request=request), httpx.Response(200, content=PAGE)])
    assert result.status == "ok" and result.attempts == 2
    assert len(sleep.delays) == 1


def test_repeated_connect_errors_name_the_error() -> None:
    request = httpx.Request("GET", URL)
    with pytest.raises(FetchError, match="gave up after 2 attempts, last: ConnectError: no route") as info:
        run([httpx.ConnectError("no route", request=request)] * 2, policy=FetchPolicy(max_attempts=2))
    assert info.value.url == URL


def test_403_is_blocked_and_not_retried() -> None:
    with pytest.raises(BlockedError, match="HTTP 403") as info:
        run([httpx.Response(403, content=b"Forbidden")])
    assert info.value.url == URL
    assert len(info.value.seen) == 1  # type: ignore[attr-defined]


def test_cf_mitigated_header_is_blocked() -> None:
    with pytest.raises(BlockedError, match="cf-mitigated"):
        run([httpx.Response(200, content=PAGE, headers={"cf-mitigated": "challenge"})])


def test_200_cloudflare_challenge_page_is_blocked() -> None:
    page = CHALLENGE_PAGE.read_bytes()
    with pytest.raises(BlockedError, match="challenge page") as info:
        run([httpx.Response(200, content=page, headers={"Content-Type": "text/html"})])
    assert info.value.url == URL


def test_503_challenge_is_blocked_but_plain_503_is_retried() -> None:
    with pytest.raises(BlockedError) as info:
        run([httpx.Response(503, content=CHALLENGE_PAGE.read_bytes())])
    assert len(info.value.seen) == 1  # type: ignore[attr-defined]
    result, _, _ = run([httpx.Response(503, content=b"upstream down"), httpx.Response(200, content=PAGE)])
    assert result.attempts == 2


def test_other_4xx_is_an_error_without_retry() -> None:
    with pytest.raises(FetchError, match="HTTP 404") as info:
        run([httpx.Response(404)])
    assert not isinstance(info.value, BlockedError)
    assert info.value.url == URL
    assert len(info.value.seen) == 1  # type: ignore[attr-defined]


def test_declared_oversized_body_is_rejected_before_reading() -> None:
    pulled: list[int] = []

    async def stream() -> AsyncIterator[bytes]:
        pulled.append(1)
        yield b"x" * 10

    response = httpx.Response(200, headers={"Content-Length": "2048"}, content=stream())
    with pytest.raises(BodyTooLarge, match="Content-Length 2048") as info:
        run([response], policy=FetchPolicy(max_body_bytes=1024))
    assert info.value.url == URL
    assert pulled == []


def test_streamed_oversized_body_is_aborted_early() -> None:
    pulled: list[int] = []

    async def stream() -> AsyncIterator[bytes]:
        for _ in range(1000):
            pulled.append(1)
            yield b"x" * 256

    response = httpx.Response(200, content=stream())  # chunked: no Content-Length
    assert "content-length" not in response.headers
    with pytest.raises(BodyTooLarge, match="1024-byte cap") as info:
        run([response], policy=FetchPolicy(max_body_bytes=1024))
    assert info.value.url == URL
    assert len(pulled) == 5  # stopped just past the cap, not after 1000 chunks


def test_policy_rejects_zero_attempts() -> None:
    with pytest.raises(ValueError):
        FetchPolicy(max_attempts=0)
