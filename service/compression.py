"""Compressed answers: Litestar's gzip compression, with what HTTP caches need from it.

``compression_config()`` is Litestar's ``CompressionConfig``: answers of
``COMPRESS_OVER_BYTES`` or more (JSON, CSV, HTML, Atom, the page's scripts)
are gzipped for a client whose Accept-Encoding names gzip. Litestar's
middleware leaves two things to the app, which ``CachingCompression`` (its
``middleware_class``) does in one send wrapper around it:

- **Vary.** Every answer says ``Vary: Accept-Encoding``, compressed or not,
  so a shared cache never hands gzip bytes to a client that did not ask for
  them, nor keeps one copy for both; Litestar adds it only to the answers
  it compresses, and a second time where the app already said it.
- **ETag.** A strong ETag names one exact sequence of bytes, and the gzip
  bytes are not the plain ones. So an ETag goes out weak (``W/"v31-..."``)
  on a compressed answer, and on a 304 to a client that accepts gzip (the
  200 it revalidates was compressed, or is weakly the same). If-None-Match
  is compared weakly (service.responses), so either form revalidates either
  answer, and the plain answer keeps its strong ETag.

Brotli is not used: Litestar's brotli backend needs the ``brotli`` extension
module, and bench/RESULTS.md shows gzip already brings the largest answer
under a tenth of its size.
"""

from litestar.config.compression import CompressionConfig
from litestar.datastructures import MutableScopeHeaders
from litestar.middleware.compression import CompressionMiddleware

# Below this an answer goes as it is: gzip's 18-byte frame and the CPU buy little.
COMPRESS_OVER_BYTES = 1024
# zlib's default level: within a few percent of level 9's size at a fraction of its time (bench/RESULTS.md).
GZIP_LEVEL = 6


class CachingCompression(CompressionMiddleware):
    """Litestar's compression middleware, plus ``Vary: Accept-Encoding`` always and weak ETags on gzip answers."""

    async def __call__(self, scope, receive, send) -> None:
        accepts = accepts_gzip(scope)

        async def send_for_caches(message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders(message)
                vary = [token.strip() for token in headers.get("vary", "").split(",") if token.strip()]
                if "accept-encoding" not in {token.lower() for token in vary}:
                    vary.insert(0, "Accept-Encoding")
                headers["Vary"] = ", ".join(dict.fromkeys(vary))  # Litestar's second Accept-Encoding goes
                etag = headers.get("etag")
                if etag and not etag.startswith("W/") and (
                        "content-encoding" in headers or (accepts and message["status"] == 304)):
                    headers["ETag"] = f"W/{etag}"
            await send(message)

        await super().__call__(scope, receive, send_for_caches)


def accepts_gzip(scope) -> bool:
    """Whether the request's Accept-Encoding names gzip, read as Litestar's middleware reads it."""
    return any(name == b"accept-encoding" and b"gzip" in value for name, value in scope["headers"])


def compression_config() -> CompressionConfig:
    """Gzip for answers of COMPRESS_OVER_BYTES or more, through :class:`CachingCompression`."""
    return CompressionConfig(backend="gzip", minimum_size=COMPRESS_OVER_BYTES, gzip_compress_level=GZIP_LEVEL,
                             middleware_class=CachingCompression)
