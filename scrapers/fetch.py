"""Download one pricing page politely: honest User-Agent, timeouts, conditional GET, retries.

This module only fetches; it never parses and never touches a database. The
HTTP client is passed in (tests hand in ``httpx.AsyncClient(transport=MockTransport(...))``),
and so are the clock, the sleep and the jitter source.

Exceptions (all from :mod:`scrapers.errors`, all carrying the requested URL)::

    FetchError          gave up after the last attempt (names the last status or
                        error and the attempt count); the refresh deadline
                        passed; the host name does not resolve or the
                        connection is refused; a 4xx other than 403/429; too
                        many redirects; a redirect to an internal address; an
                        unusable URL or content encoding
    +-- BlockedError    a 403; any response with ``cf-mitigated: challenge``; a
                        429 or 5xx whose body is a challenge page; a 2xx whose
                        body is a challenge page (Cloudflare "Just a moment...")
    +-- BodyTooLarge    Content-Length or the streamed body exceeds the size cap

Retry policy in words: a 429, a 5xx (without a challenge body), a timeout, a
network error or a dropped connection is retried, up to ``max_attempts``
attempts in all. A name that does not resolve and a refused connection are
not: offline, or with a wrong host, asking again only wastes the deadline. Before the next attempt we wait what the server's
Retry-After asks (seconds or an HTTP-date), never more than
``max_retry_after_s``; without one we wait ``base * 2**(attempt-1)`` capped at
``backoff_max_s``, of which the upper half is random ("equal jitter") so that
sources refreshed together do not retry in lockstep. Blocks, other 4xx and
oversized bodies are not retried: asking again would not change the answer.
Redirects are followed by hand, at most ``max_redirects`` of them per attempt,
so a redirect's own body is never read.

Bounds: the whole fetch, every attempt and wait included, ends within
``deadline_s`` (a wait that would end past it is not started); a redirect to a
loopback, private, link-local or otherwise non-public address is refused
unless the configured URL is itself on such an address, and the refusal does
not name the address; the body's size cap counts decompressed bytes as they
are produced, so a gzip bomb stops at the cap, not after inflating a chunk.
"""

import asyncio
import hashlib
import ipaddress
import random
import socket
import zlib
from collections.abc import Awaitable, Callable
from contextlib import aclosing
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx
import msgspec

from ratecard.scrapers.errors import BlockedError, BodyTooLarge, FetchError, PageRejected
from ratecard.scrapers.redact import redact_url
from ratecard.scrapers.text import reject_challenge

USER_AGENT = "ratecard/0.1 (+https://github.com/ratecard/ratecard; pricing monitor)"

# Fetched.status values.
OK, NOT_MODIFIED = "ok", "not_modified"

# reject_challenge looks at the first 20,000 characters; 4 bytes a character
# at most in UTF-8, so this many bytes always covers them.
_CHALLENGE_HEAD_BYTES = 80_000

# Failures worth another attempt: the same request may well succeed later.
_TRANSIENT_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)

# Encodings the fetcher decodes itself (incrementally, under the size cap), so the only ones it asks for.
ACCEPT_ENCODING = "gzip, deflate"

# Resolves a host name to its IP addresses (as text); injected by tests, the event loop's resolver otherwise.
Resolver = Callable[[str], Awaitable[list[str]]]


class FetchPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """How politely and how persistently one source is fetched."""

    user_agent: str = USER_AGENT
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 30.0
    max_attempts: int = 4
    backoff_base_s: float = 1.0
    backoff_max_s: float = 60.0
    max_body_bytes: int = 5 * 1024 * 1024
    # A Retry-After longer than this is waited only this long (and never past the deadline).
    max_retry_after_s: float = 60.0
    max_redirects: int = 5
    # The whole fetch (attempts, waits, redirects) ends within this many seconds.
    deadline_s: float = 120.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if not self.deadline_s > 0:
            raise ValueError("deadline_s must be positive")


class Fetched(msgspec.Struct, frozen=True, kw_only=True):
    """A page as downloaded: the final URL, the body and the validators for the next conditional GET.

    ``status`` is ``"ok"`` or ``"not_modified"``; a not-modified result has an
    empty ``body`` and ``sha256``, and keeps the validators that were sent
    when the server did not repeat them.
    """

    url: str
    status: str
    http_status: int
    body: bytes
    sha256: str
    etag: str | None
    last_modified: str | None
    content_type: str
    fetched_at: datetime
    attempts: int


class _Retry(msgspec.Struct, frozen=True):
    """An attempt that failed in a way worth repeating."""

    problem: str
    retry_after_s: float | None = None


class _Call(msgspec.Struct, frozen=True, kw_only=True):
    """What every attempt of one fetch shares."""

    url: str
    policy: FetchPolicy
    etag: str | None
    last_modified: str | None
    now: Callable[[], datetime]
    resolve: Resolver
    # Whether the configured URL is itself on an internal address (then redirects there are fine).
    internal_ok: bool


async def fetch(
    client: httpx.AsyncClient,
    url: str,
    *,
    policy: FetchPolicy,
    etag: str | None = None,
    last_modified: str | None = None,
    now: Callable[[], datetime],
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    rand: Callable[[], float] = random.random,
    resolve: Resolver | None = None,
) -> Fetched:
    """GET ``url`` with retries and block detection; see the module docstring for the rules.

    ``etag`` and ``last_modified`` are the validators from the previous fetch;
    when given, a 304 answer comes back as ``status="not_modified"``.
    ``rand`` returns a float in [0, 1) and drives the backoff jitter;
    ``resolve`` looks host names up for the redirect rule (default: the
    event loop's resolver). The whole call ends within ``policy.deadline_s``
    (measured on the event loop's monotonic clock).
    """
    loop = asyncio.get_running_loop()
    ends_at = loop.time() + policy.deadline_s
    try:
        async with asyncio.timeout_at(ends_at):
            return await _fetch(client, url, policy=policy, etag=etag, last_modified=last_modified, now=now,
                                sleep=sleep, rand=rand, resolve=resolve or _resolve_with_loop, ends_at=ends_at)
    except TimeoutError:
        raise FetchError(f"no complete answer within the {policy.deadline_s:g} s refresh deadline", url=url) from None


async def _fetch(
    client: httpx.AsyncClient,
    url: str,
    *,
    policy: FetchPolicy,
    etag: str | None,
    last_modified: str | None,
    now: Callable[[], datetime],
    sleep: Callable[[float], Awaitable[None]],
    rand: Callable[[], float],
    resolve: Resolver,
    ends_at: float,
) -> Fetched:
    headers = {"User-Agent": policy.user_agent, "Accept-Encoding": ACCEPT_ENCODING}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    timeout = httpx.Timeout(policy.read_timeout_s, connect=policy.connect_timeout_s)
    try:
        host = httpx.URL(url).host
    except (httpx.InvalidURL, TypeError) as exc:
        raise FetchError(f"unusable URL: {exc}", url=url) from exc
    call = _Call(url=url, policy=policy, etag=etag, last_modified=last_modified, now=now, resolve=resolve,
                 internal_ok=await _is_internal(host, resolve))
    retry = _Retry("no attempt made")
    loop = asyncio.get_running_loop()
    for attempt in range(1, policy.max_attempts + 1):
        try:
            request = client.build_request("GET", url, headers=headers, timeout=timeout)
            outcome = await _attempt(client, request, call, attempt)
        except httpx.ConnectError as exc:
            if reason := _unreachable(exc):
                raise FetchError(f"{reason} (not retried)", url=url) from exc
            outcome = _Retry(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
        except _TRANSIENT_ERRORS as exc:
            outcome = _Retry(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise FetchError(f"request failed: {type(exc).__name__}: {exc}", url=url) from exc
        if isinstance(outcome, Fetched):
            return outcome
        retry = outcome
        if attempt < policy.max_attempts:
            delay = backoff_delay_s(policy, attempt, retry.retry_after_s, rand)
            if loop.time() + delay >= ends_at:
                # Waiting would spend the rest of the deadline for an attempt that could not finish.
                raise FetchError(
                    f"gave up after {attempt} attempt(s): the next would start after the "
                    f"{policy.deadline_s:g} s refresh deadline (wait {delay:g} s), last: {retry.problem}", url=url)
            await sleep(delay)
    raise FetchError(f"gave up after {policy.max_attempts} attempts, last: {retry.problem}", url=url)


def _unreachable(exc: httpx.ConnectError) -> str | None:
    """Why a connection can never work by asking again (no such host, refused), or None if it might."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, socket.gaierror):
            return f"the host name does not resolve: {seen.strerror or seen}"
        if isinstance(seen, ConnectionRefusedError):
            return "the connection was refused"
        seen = seen.__cause__ or seen.__context__
    return None


async def _resolve_with_loop(host: str) -> list[str]:
    """The addresses ``host`` resolves to, by the event loop's resolver; empty when it does not resolve."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    return [info[4][0] for info in infos]


async def _is_internal(host: str, resolve: Resolver) -> bool:
    """True when ``host`` is, or resolves to, an address that is not on the public internet.

    Loopback, RFC 1918 private, link-local (cloud metadata at 169.254.169.254),
    unique-local, unspecified and reserved addresses all count.
    """
    host = host.strip("[]")
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        if host.lower() == "localhost" or host.lower().endswith(".localhost"):
            return True
        addresses = []
        for text in await resolve(host):
            try:
                addresses.append(ipaddress.ip_address(text.split("%", 1)[0]))
            except ValueError:
                continue
    return any(not a.is_global or a.is_loopback or a.is_link_local or a.is_private for a in addresses)


def backoff_delay_s(policy: FetchPolicy, attempt: int, retry_after_s: float | None, rand: Callable[[], float]) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based).

    A server's Retry-After wins, capped at ``max_retry_after_s``; otherwise
    exponential backoff with its upper half jittered.
    """
    if retry_after_s is not None:
        return min(max(retry_after_s, 0.0), policy.max_retry_after_s)
    ceiling = min(policy.backoff_max_s, policy.backoff_base_s * 2 ** (attempt - 1))
    return ceiling / 2 + ceiling / 2 * rand()


def parse_retry_after(value: str | None, at: datetime) -> float | None:
    """Read a Retry-After header (delta-seconds or an HTTP-date) as seconds from ``at``; None if unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT
        when = when.replace(tzinfo=UTC)
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return max(0.0, (when - at).total_seconds())


async def _attempt(client: httpx.AsyncClient, request: httpx.Request, call: _Call, attempt: int) -> Fetched | _Retry:
    """One attempt, redirects included: a result, a reason to retry, or a raised error."""
    for _ in range(call.policy.max_redirects + 1):
        response = await client.send(request, stream=True, follow_redirects=False)
        try:
            if response.next_request is None:
                return await _judge(response, call, attempt)
            request = response.next_request
        finally:
            await response.aclose()
        if not call.internal_ok and await _is_internal(request.url.host, call.resolve):
            # The target is not named: an internal address is nobody's business in a public run error.
            raise FetchError("a redirect to a loopback, private or link-local address was refused", url=call.url)
    raise FetchError(f"more than {call.policy.max_redirects} redirects, last to {redact_url(str(request.url))}",
                     url=call.url)


async def _judge(response: httpx.Response, call: _Call, attempt: int) -> Fetched | _Retry:
    """Turn a final (non-redirect) response into a result, a retry or an error."""
    url, code = call.url, response.status_code
    where = "" if str(response.url) == url else f" from {redact_url(str(response.url))}"
    if response.headers.get("cf-mitigated", "").strip().lower() == "challenge":
        raise BlockedError(f"HTTP {code}{where} with cf-mitigated: challenge", url=url)
    if code == 403:
        raise BlockedError(f"HTTP 403{where}: access refused", url=url)
    if code == 429 or code >= 500:
        # A challenge will not go away by asking again, so it is not retried.
        if marker := _challenge(await _read_head(response)):
            raise BlockedError(f"HTTP {code}{where} is a challenge page ({marker})", url=url)
        return _Retry(f"HTTP {code}{where}", parse_retry_after(response.headers.get("retry-after"), call.now()))
    if code == 304:
        body = b""
    elif 200 <= code < 300:
        body = await _read_capped(response, call.policy.max_body_bytes, url)
        if marker := _challenge(body[:_CHALLENGE_HEAD_BYTES]):
            raise BlockedError(f"HTTP {code}{where} served a challenge page ({marker})", url=url)
    else:
        raise FetchError(f"HTTP {code}{where}", url=url)
    return Fetched(
        url=str(response.url),
        status=NOT_MODIFIED if code == 304 else OK,
        http_status=code,
        body=body,
        sha256=hashlib.sha256(body).hexdigest() if code != 304 else "",
        etag=response.headers.get("etag") or (call.etag if code == 304 else None),
        last_modified=response.headers.get("last-modified") or (call.last_modified if code == 304 else None),
        content_type=response.headers.get("content-type", ""),
        fetched_at=call.now(),
        attempts=attempt,
    )


async def _read_capped(response: httpx.Response, limit: int, url: str) -> bytes:
    """Stream the whole body, aborting as soon as it passes ``limit`` bytes (decompressed)."""
    declared = response.headers.get("content-length", "").strip()
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(f"Content-Length {declared} exceeds the {limit}-byte cap", url=url)
    body = bytearray()
    async for piece in _decoded(response, limit + 1, url):
        body += piece
        if len(body) > limit:
            raise BodyTooLarge(f"body passed the {limit}-byte cap (stopped at {len(body)} bytes)", url=url)
    return bytes(body)


async def _read_head(response: httpx.Response) -> bytes:
    """Read only as much of an error body as challenge detection looks at."""
    head = bytearray()
    try:
        async for piece in _decoded(response, _CHALLENGE_HEAD_BYTES, str(response.url)):
            head += piece
            if len(head) >= _CHALLENGE_HEAD_BYTES:
                break
    except FetchError:
        pass  # an error body in an encoding we cannot read is simply not a challenge page
    return bytes(head[:_CHALLENGE_HEAD_BYTES])


async def _decoded(response: httpx.Response, max_piece: int, url: str):
    """The body's bytes, decompressed here in pieces of at most ``max_piece`` bytes.

    httpx's own decoder inflates each network chunk whole: a 1 MB chunk of a
    gzip bomb becomes tens of MB before a cap can look at it. Reading the raw
    stream and inflating with ``max_length`` keeps every piece bounded.
    """
    if response.is_stream_consumed:
        # Already read and decoded whole (a response built in memory, as MockTransport hands back).
        for start in range(0, len(response.content), max_piece):
            yield response.content[start:start + max_piece]
        return
    encodings = [e.strip().lower() for e in response.headers.get("content-encoding", "").split(",") if e.strip()]
    encodings = [e for e in encodings if e != "identity"]
    if not encodings:
        async with aclosing(response.aiter_raw()) as chunks:
            async for chunk in chunks:
                for start in range(0, len(chunk), max_piece):
                    yield chunk[start:start + max_piece]
        return
    if len(encodings) > 1 or encodings[0] not in ("gzip", "x-gzip", "deflate"):
        raise FetchError(f"unsupported Content-Encoding {', '.join(encodings)} (asked for {ACCEPT_ENCODING})", url=url)
    # gzip: MAX_WBITS | 16; deflate: the zlib format as RFC 9110 says, or raw deflate as some servers send.
    wbits = zlib.MAX_WBITS | 16 if encodings[0] != "deflate" else zlib.MAX_WBITS
    inflater = zlib.decompressobj(wbits)
    first = True
    try:
        async with aclosing(response.aiter_raw()) as chunks:
            async for chunk in chunks:
                if first and wbits == zlib.MAX_WBITS and chunk and (chunk[0] & 0x0F) != 8:
                    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
                first = first and not chunk
                data = chunk
                while data and not inflater.eof:
                    piece = inflater.decompress(data, max_piece)
                    if piece:
                        yield piece
                    data = inflater.unconsumed_tail
            tail = inflater.flush()
            if tail:
                yield tail
    except zlib.error as exc:
        raise FetchError(f"the {encodings[0]} body does not decompress (DecodingError: {exc})", url=url) from exc


def _challenge(head: bytes) -> str | None:
    """The reason ``head`` looks like a bot-challenge page, or None (markers live in scrapers.text)."""
    try:
        reject_challenge(head.decode("utf-8", "replace"), "")
    except PageRejected as exc:
        return exc.reason
    return None
