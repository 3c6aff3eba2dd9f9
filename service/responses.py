"""Encoding answers: exact decimals as JSON numbers, versioned ETags, Cache-Control, 304s."""

import hashlib

import msgspec
from litestar import Request, Response

from ratecard.service.compression import accepts_gzip
from ratecard.service.freshness import freshness_token

# Money leaves as JSON numbers written with their exact decimal digits.
_ENCODER = msgspec.json.Encoder(decimal_format="number")


def encode(value: object) -> bytes:
    """Encode a response body (Decimals as exact JSON numbers)."""
    return _ENCODER.encode(value)


# How long the response cache keeps an answer. Its key holds the catalog version and epoch,
# so no answer outlives its prices; the expiry only bounds the cache's memory.
ANSWER_CACHE_S = 10


def answer_cache_key(request: Request) -> str:
    """The response cache's key: the catalog version, epoch and freshness, the whole request target, its
    If-None-Match (a revalidation reaches the handler, which answers 304 or the full answer) and
    whether the client takes gzip (the cache keeps what the compression middleware sent)."""
    service = request.app.state.service
    scope = request.scope
    revalidating = ",".join(v.decode("latin-1") for n, v in scope["headers"] if n == b"if-none-match")
    coding = "gzip" if accepts_gzip(scope) else "identity"
    return (f"{service.catalog.version}:{service.catalog.epoch(service.clock())}:{freshness_token(service)}:"
            f"{scope['method']}:"
            f"{scope.get('root_path', '')}{scope['path']}?{scope.get('query_string', b'').decode('latin-1')}"
            f"|{revalidating}|{coding}")


def json_response(
    request: Request,
    body: object,
    *,
    version: int,
    max_age_s: int = 60,
    status_code: int = 200,
    etag_extra: str = "",
) -> Response:
    """A cacheable JSON answer with an ETag derived from the catalog version and the request.

    A request whose If-None-Match holds that ETag gets an empty 304.
    """
    headers = answer_headers(request.scope, version, max_age_s, etag_extra)
    if (unchanged := not_modified(request.scope, headers)) is not None:
        return unchanged
    return _Encoded(content=encode(body), status_code=status_code, media_type=_JSON, headers=headers)


def answer_headers(scope, version: int, max_age_s: int, etag_extra: str) -> dict[str, str]:
    """The caching headers of an answer to the request in ``scope``: ETag, Cache-Control, Vary."""
    return {"ETag": _etag(scope, version, etag_extra), "Cache-Control": _cache_control(max_age_s), "Vary": _VARY}


def ready_answer(headers: dict[str, str], body: bytes, status: int = 200) -> "_Ready":
    """A JSON answer with these headers as the two ASGI messages ``_Encoded`` sends (the same bytes)."""
    encoded = [_ENCODED.get((name, value)) or _encoded(name, value) for name, value in headers.items()]
    encoded += ((b"content-type", _JSON_BYTES), (b"content-length", str(len(body)).encode()))
    return _Ready(status, encoded, body)


def post_answer(body: object) -> Response:
    """The JSON answer to a POST: no ETag and not stored by caches.

    Its ETag could only be derived from the URL, which is the same for every body, so a
    client revalidating one workload's answer would get a 304 for another's.
    """
    return _Encoded(content=encode(body), status_code=200, media_type=_JSON, headers=_POST_HEADERS)


_POST_HEADERS = {"Cache-Control": "no-store", "Vary": "Accept-Encoding, Origin"}


# The headers most answers share (Cache-Control, Vary, the POST ones), encoded once.
_ENCODED: dict[tuple[str, str], tuple[bytes, bytes]] = {}


def _encoded(name: str, value: str) -> tuple[bytes, bytes]:
    pair = (name.lower().encode("latin-1"), value.encode("latin-1"))
    if name != "ETag" and len(_ENCODED) < 64:  # an ETag differs by request; the rest are a handful of constants
        _ENCODED[(name, value)] = pair
    return pair


def _cache_control(max_age_s: int) -> str:
    return f"public, max-age={max_age_s}"


_VARY = "Accept-Encoding, Origin"


def not_modified(scope, headers: dict[str, str]) -> Response | None:
    """The empty 304 for a request whose If-None-Match the answer's ETag satisfies; else None."""
    if _matches(_if_none_match(scope), headers["ETag"]):
        return Response(content=b"", status_code=304, headers=headers)
    return None


_JSON = "application/json"


class _Encoded(Response):
    """A response whose body is already encoded JSON, sent as it is.

    Litestar turns a Response into an ASGIResponse by adding each header to a header
    object one at a time (Content-Type and Content-Length with ``setdefault``, which
    raises and catches a KeyError for each), then encodes them all: about 10 µs a
    response. When nothing else is added (no route headers, cookies or background task,
    none of which ratecard uses) the same headers go out in the same order, encoded once,
    by ``_Ready``; otherwise Litestar builds the response as usual.
    """

    def to_asgi_response(self, *args, **kwargs):  # type: ignore[override]
        body = self.content
        if (isinstance(body, bytes) and self.media_type == _JSON and not kwargs.get("is_head_response")
                and not kwargs.get("headers") and not kwargs.get("cookies") and not kwargs.get("encoded_headers")
                and kwargs.get("background") is None and self.background is None and not self.cookies):
            return ready_answer(self.headers, body, self.status_code or kwargs.get("status_code") or 200)
        return super().to_asgi_response(*args, **kwargs)


_JSON_BYTES = _JSON.encode()


class _Ready:
    """An ASGI answer whose status, encoded headers and body are all known: two messages."""

    __slots__ = ("status", "headers", "body")

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    async def __call__(self, scope, receive, send) -> None:
        await send({"type": "http.response.start", "status": self.status, "headers": self.headers})
        await send({"type": "http.response.body", "body": self.body, "more_body": False})


def _etag(scope, version: int, extra: str) -> str:
    """``"v<version>-<16 hex of blake2b(path?query|extra)>"``, read straight from the ASGI scope.

    The query is its raw bytes read as latin-1, which any bytes are (a client may send bytes
    that are not UTF-8). blake2b rather than sha256: half the cost, and any 64-bit hash
    tells one request's answers from another's.
    """
    target = f"{scope.get('root_path', '')}{scope['path']}?{scope.get('query_string', b'').decode('latin-1')}|{extra}"
    return f'"v{version}-{hashlib.blake2b(target.encode(), digest_size=8).hexdigest()}"'


def _if_none_match(scope) -> str | None:
    """The request's If-None-Match, read from the ASGI scope (several header lines joined by commas).

    Building Litestar's header object for the one header costs more than the rest of the check.
    """
    values = [value for name, value in scope["headers"] if name == b"if-none-match"]
    if not values:
        return None
    return ", ".join(value.decode("latin-1") for value in values)


def _matches(header: str | None, tag: str) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    candidates = {t.strip().removeprefix("W/") for t in header.split(",")}
    return tag in candidates
