"""Encoding answers: exact decimals as JSON numbers, versioned ETags, Cache-Control, 304s."""

import hashlib

import msgspec
from litestar import Request, Response

# Money leaves as JSON numbers written with their exact decimal digits.
_ENCODER = msgspec.json.Encoder(decimal_format="number")


def encode(value: object) -> bytes:
    """Encode a response body (Decimals as exact JSON numbers)."""
    return _ENCODER.encode(value)


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
    tag = _etag(request, version, etag_extra)
    headers = {"ETag": tag, "Cache-Control": f"public, max-age={max_age_s}", "Vary": "Accept-Encoding, Origin"}
    if _matches(request.headers.get("if-none-match"), tag):
        return Response(content=b"", status_code=304, headers=headers)
    return _Encoded(content=encode(body), status_code=status_code, media_type=_JSON, headers=headers)


_JSON = "application/json"


class _Encoded(Response):
    """A response whose body is already encoded JSON, and which says so to Litestar up front.

    Litestar adds Content-Type and Content-Length with ``MutableMapping.setdefault``, which
    scans the headers and raises and catches a KeyError for each: about 5 µs a response.
    Handing them over with the other headers, where Litestar would append them and with the
    values it would give, sends the same headers in the same order. ``headers`` itself is
    left alone: callers copy it for answers of other media types.
    """

    def to_asgi_response(self, *args, **kwargs):  # type: ignore[override]
        body = self.content
        if isinstance(body, bytes) and self.media_type == _JSON and not kwargs.get("is_head_response"):
            kwargs["headers"] = {**(kwargs.get("headers") or {}), **self.headers,
                                 "content-type": _JSON, "content-length": str(len(body))}
        return super().to_asgi_response(*args, **kwargs)


def _etag(request: Request, version: int, extra: str) -> str:
    """``"v<version>-<16 hex of sha256(path?query|extra)>"``, read straight from the ASGI scope.

    The same text ``request.url.path`` and ``request.url.query`` give (root path + path, and
    the query string decoded), without building the URL objects: that cost more than the hash.
    """
    scope = request.scope
    target = f"{scope.get('root_path', '')}{scope['path']}?{scope.get('query_string', b'').decode()}|{extra}"
    return f'"v{version}-{hashlib.sha256(target.encode()).hexdigest()[:16]}"'


def _matches(header: str | None, tag: str) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    candidates = {t.strip().removeprefix("W/") for t in header.split(",")}
    return tag in candidates
