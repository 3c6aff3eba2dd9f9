"""The fetcher's bounds: an overall deadline, no retry of what cannot work, no redirect inward,
a size cap on decompressed bytes as they are produced, and no credentials in its errors.

Everything runs against httpx.MockTransport or a socket on loopback: no network.
"""

import asyncio
import gzip
import socket
import tracemalloc
import zlib
from datetime import UTC, datetime

import httpx
import pytest

from ratecard.scrapers.errors import BodyTooLarge, FetchError
from ratecard.scrapers.fetch import ACCEPT_ENCODING, FetchPolicy, fetch
from ratecard.scrapers.redact import redact_text, redact_url

URL = "https://pricing.example.test/page"
NOW = datetime(2026, 5, 8, 12, 0, tzinfo=UTC)
PAGE = b"<html><body><table><tr><td>gpt-x</td><td>$1.25</td></tr></table></body></html>"


class Recorder:
    """Records the waits asked for (returning at once) and the requests sent."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self.requests: list[httpx.Request] = []

    async def sleep(self, seconds: float) -> None:
        self.delays.append(seconds)


def public_resolver(names: dict[str, str] | None = None):
    """A resolver that answers from a table (default: a public documentation address)."""
    async def resolve(host: str) -> list[str]:
        return [(names or {}).get(host, "93.184.215.14")]
    return resolve


def fetch_with(handler, *, url: str = URL, policy: FetchPolicy | None = None, recorder: Recorder | None = None,
               resolve=None):
    recorder = recorder or Recorder()

    async def record(request: httpx.Request) -> httpx.Response:
        recorder.requests.append(request)
        return await handler(request)

    async def go():
        async with httpx.AsyncClient(transport=httpx.MockTransport(record)) as client:
            return await fetch(client, url, policy=policy or FetchPolicy(), now=lambda: NOW, sleep=recorder.sleep,
                               rand=lambda: 0.5, resolve=resolve or public_resolver())

    return asyncio.run(go())


class Drip(httpx.AsyncByteStream):
    """A body that never ends: one byte, then a pause, forever (a server stalling a run)."""

    async def __aiter__(self):
        while True:
            yield b"x"
            await asyncio.sleep(0.02)


def test_a_dripping_body_ends_at_the_refresh_deadline():
    async def handler(request):
        return httpx.Response(200, stream=Drip())

    # Every read gets a byte within the read timeout, so only the overall deadline can end this.
    policy = FetchPolicy(deadline_s=0.3, read_timeout_s=5, max_body_bytes=10_000_000)
    with pytest.raises(FetchError, match=r"no complete answer within the 0.3 s refresh deadline"):
        fetch_with(handler, policy=policy)


def test_a_retry_after_past_the_deadline_gives_up_instead_of_waiting():
    recorder = Recorder()

    async def handler(request):
        return httpx.Response(429, headers={"Retry-After": "300"})

    policy = FetchPolicy(deadline_s=30, max_retry_after_s=60)
    with pytest.raises(FetchError, match=r"gave up after 1 attempt\(s\): the next would start after the 30 s"):
        fetch_with(handler, policy=policy, recorder=recorder)
    assert recorder.delays == [] and len(recorder.requests) == 1


def test_retry_after_waits_are_capped():
    recorder = Recorder()
    answers = [httpx.Response(503, headers={"Retry-After": "86400"}), httpx.Response(200, content=PAGE)]

    async def handler(request):
        return answers.pop(0)

    fetched = fetch_with(handler, recorder=recorder)
    assert fetched.body == PAGE and recorder.delays == [FetchPolicy().max_retry_after_s]
    assert FetchPolicy().max_retry_after_s < FetchPolicy().deadline_s == 120


def test_a_name_that_does_not_resolve_is_not_retried():
    recorder = Recorder()

    async def handler(request):
        try:
            raise socket.gaierror(-2, "Name or service not known")
        except socket.gaierror as exc:
            raise httpx.ConnectError("[Errno -2] Name or service not known", request=request) from exc

    with pytest.raises(FetchError, match=r"the host name does not resolve: Name or service not known \(not retried\)"):
        fetch_with(handler, recorder=recorder)
    assert len(recorder.requests) == 1 and recorder.delays == []


def test_a_refused_connection_on_loopback_is_not_retried():
    # A port bound but not listening refuses connections: a real refusal, on loopback.
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}/pricing"
        sleeps: list[float] = []

        async def sleep(seconds: float) -> None:
            sleeps.append(seconds)

        async def go():
            async with httpx.AsyncClient() as client:
                return await fetch(client, url, policy=FetchPolicy(), now=lambda: NOW, sleep=sleep)

        with pytest.raises(FetchError, match=r"the connection was refused \(not retried\)"):
            asyncio.run(go())
    assert sleeps == []


def test_other_connect_errors_are_still_retried():
    recorder = Recorder()
    answers: list = [httpx.ConnectError("Network is unreachable"), httpx.Response(200, content=PAGE)]

    async def handler(request):
        item = answers.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    assert fetch_with(handler, recorder=recorder).attempts == 2


@pytest.mark.parametrize("target", [
    "http://127.0.0.1:9/admin", "http://10.0.0.7/", "http://192.168.1.1/", "http://169.254.169.254/latest/meta-data/",
    "http://[::1]:8080/", "http://localhost:6379/", "http://0.0.0.0/", "http://internal.corp.example/",
])
def test_redirects_to_internal_addresses_are_refused_without_naming_them(target):
    async def handler(request):
        if request.url.host == "pricing.example.test":
            return httpx.Response(302, headers={"Location": target})
        return httpx.Response(200, content=b"internal secrets")

    recorder = Recorder()
    resolve = public_resolver({"internal.corp.example": "10.1.2.3"})
    with pytest.raises(FetchError) as info:
        fetch_with(handler, recorder=recorder, resolve=resolve)
    assert "redirect to a loopback, private or link-local address was refused" in str(info.value)
    host = httpx.URL(target).host
    assert host not in str(info.value)
    assert [str(r.url) for r in recorder.requests] == [URL]  # the internal address was never asked


def test_redirects_to_public_hosts_and_within_an_internal_source_are_followed():
    async def handler(request):
        if request.url.path == "/old":
            return httpx.Response(301, headers={"Location": "https://cdn.example.test/new"})
        return httpx.Response(200, content=PAGE)

    fetched = fetch_with(handler, url="https://pricing.example.test/old")
    assert (fetched.url, fetched.body) == ("https://cdn.example.test/new", PAGE)

    async def local(request):
        if request.url.path == "/old":
            return httpx.Response(302, headers={"Location": "http://127.0.0.1:8081/new"})
        return httpx.Response(200, content=PAGE)

    # An operator who configured a loopback source (a mirror, a test server) may redirect within it.
    assert fetch_with(local, url="http://127.0.0.1:8080/old").body == PAGE


class OneChunk(httpx.AsyncByteStream):
    """A raw (compressed) body delivered as one network chunk."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    async def __aiter__(self):
        yield self.data


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_a_compression_bomb_stops_at_the_cap_while_inflating(encoding):
    inflated = 64 * 1024 * 1024
    raw = (gzip.compress(b"\0" * inflated, mtime=0) if encoding == "gzip"
           else zlib.compress(b"\0" * inflated, 9))
    assert len(raw) < 200_000
    cap = 1_000_000

    async def handler(request):
        return httpx.Response(200, headers={"Content-Encoding": encoding}, stream=OneChunk(raw))

    tracemalloc.start()
    try:
        with pytest.raises(BodyTooLarge, match=r"passed the 1000000-byte cap \(stopped at 1000001 bytes\)"):
            fetch_with(handler, policy=FetchPolicy(max_body_bytes=cap))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # Inflating the chunk whole (httpx's decoder) allocates all 64 MB at once; a few caps' worth is the bound.
    assert peak < 8 * cap, peak


def test_compressed_pages_within_the_cap_decode_exactly():
    page = PAGE * 1000
    raw_deflate = zlib.compressobj(wbits=-15)  # what some servers send as "deflate"
    for encoding, raw in [("gzip", gzip.compress(page)), ("deflate", zlib.compress(page)),
                          ("deflate", raw_deflate.compress(page) + raw_deflate.flush())]:
        async def handler(request, raw=raw, encoding=encoding):
            assert request.headers["accept-encoding"] == ACCEPT_ENCODING
            return httpx.Response(200, headers={"Content-Encoding": encoding}, stream=OneChunk(raw))

        assert fetch_with(handler).body == page


def test_an_encoding_not_asked_for_is_refused():
    async def handler(request):
        return httpx.Response(200, headers={"Content-Encoding": "br"}, stream=OneChunk(b"\x1b\x00"))

    with pytest.raises(FetchError, match=r"unsupported Content-Encoding br \(asked for gzip, deflate\)"):
        fetch_with(handler)


def test_credentials_in_a_source_url_never_reach_an_error():
    url = "https://scraper:hunter2@pricing.example.test/page?key=sk-live-123&region=eu"

    async def handler(request):
        return httpx.Response(404)

    with pytest.raises(FetchError) as info:
        fetch_with(handler, url=url)
    message = str(info.value)
    assert message == "HTTP 404 (https://pricing.example.test/page?key=REDACTED&region=REDACTED)"
    assert "hunter2" not in message and "sk-live-123" not in message


def test_redaction_keeps_what_tells_pages_apart():
    assert redact_url("https://u:p@h.example:8443/a/b?x=1&y=&z") == "https://h.example:8443/a/b?x=REDACTED&y&z"
    assert redact_url("https://h.example/plain") == "https://h.example/plain"
    assert redact_url("file:///tmp/page.html") == "file:///tmp/page.html"
    assert redact_text("failed: GET https://a:b@x.test/p?token=s3cret (503)") == \
        "failed: GET https://x.test/p?token=REDACTED (503)"
