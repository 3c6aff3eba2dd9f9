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
    return Response(content=encode(body), status_code=status_code, media_type="application/json", headers=headers)


def _etag(request: Request, version: int, extra: str) -> str:
    digest = hashlib.sha256(f"{request.url.path}?{request.url.query}|{extra}".encode()).hexdigest()[:16]
    return f'"v{version}-{digest}"'


def _matches(header: str | None, tag: str) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    candidates = {t.strip().removeprefix("W/") for t in header.split(",")}
    return tag in candidates
