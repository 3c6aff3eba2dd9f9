"""A route middleware that answers ordinary estimates without Litestar's handler machinery.

A Litestar handler builds a Request, extracts and converts its parameters through a
signature model and turns the returned Response into ASGI messages. On ``/v1/estimate``
that was about 70k instructions of a GET's 607k (13 query parameters) and 130k of the
POST's 892k (a JSON body): more than pricing one model (bench/RESULTS.md). This
middleware sits on the two estimate routes, after Litestar's routing, CORS and exception
handling, and answers a request without an If-None-Match that it can read plainly:

- GET: only the workload parameters (``model``, the token counts, ``requests``,
  ``period``, ``tier``, ``cache_ttl``, ``discount_percent``), none blank, none but
  ``model`` and ``tier`` repeated;
- POST: a body of at most ``MAX_BODY_BYTES`` with a Content-Length.

It reads them the way Litestar does (the query split as ``parse_qsl`` splits the latin-1
text; the body decoded as JSON and converted with ``strict=False``, or decoded straight
into the struct where that reads the same values), prices with the same
``render_estimate`` and sends the same headers and bytes as the handler would.
Anything else, and every request whose answer would be an error, goes on to the
handler, so errors keep their one shape and one source. tests/test_fast_path.py holds
the two paths to the same status, headers and body over a corpus of good and bad
requests and generated ones; ``Settings(fast_path=False)`` switches this off.
"""

from urllib.parse import parse_qsl

import msgspec

from service.compression import accepts_gzip
from service.problems import ApiError
from service.responses import ready_json
from service.routes import epoch_salt
from service.routes_estimate import (
    GET_MAX_AGE_S,
    POST_MAX_AGE_S,
    EstimateRequest,
    estimate_off_the_loop,
    render_estimate,
)

# Larger bodies carry a `text` to count, which costs far more than the handler does.
MAX_BODY_BYTES = 65_536

# Query parameters read here, with the EstimateRequest field each one fills; the GET
# handler's parameters are the same names (``model`` and ``tier`` are the lists).
_QUERY_FIELDS = {
    "model": "models", "tier": "tiers", "input_tokens": "input_tokens", "cached_input_tokens": "cached_input_tokens",
    "cache_write_tokens": "cache_write_tokens", "cache_ttl": "cache_ttl", "output_tokens": "output_tokens",
    "requests": "requests", "period": "period", "discount_percent": "discount_percent",
}
_LISTS = frozenset(("model", "tier"))
_DECODER = msgspec.json.Decoder(EstimateRequest)


class EstimateFastPath:
    """ASGI middleware for the estimate routes: answer plain requests here, hand the rest on."""

    __slots__ = ("app",)

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        service = scope["app"].state.service
        method = scope["method"]
        # Compression sits inside this route middleware: an answer that may be gzipped is the handler's.
        if not service.settings.fast_path or method not in ("GET", "POST") or _revalidating(scope) or accepts_gzip(scope):
            return await self.app(scope, receive, send)
        if method == "GET":
            request = _from_query(scope)
            replay = receive
        else:
            request, replay = await _from_body(scope, receive, min(MAX_BODY_BYTES, service.settings.max_body_bytes))
        if request is None:
            return await self.app(scope, replay, send)
        try:
            if request.text is None:  # nothing to count: no need to look at moving off the loop
                body = render_estimate(service, request)
            else:
                body = await estimate_off_the_loop(service, request)
        except ApiError:  # the handler makes the problem answer, from the same request
            return await self.app(scope, replay, send)
        version = service.catalog.version
        if method == "GET":  # the handlers' caching headers
            answer = ready_json(scope, body, version=version, max_age_s=GET_MAX_AGE_S,
                                etag_extra=epoch_salt(service, request.as_of, request.version))
        else:
            answer = ready_json(scope, body, version=version, max_age_s=POST_MAX_AGE_S)
        await answer(scope, receive, send)


def _revalidating(scope) -> bool:
    """Whether the request has an If-None-Match: the handler answers those (a 304 or the full answer)."""
    for name, _ in scope["headers"]:
        if name == b"if-none-match":
            return True
    return False


def _from_query(scope) -> EstimateRequest | None:
    """The GET's workload, or None when the handler should read the query itself."""
    fields: dict[str, object] = {}
    for key, value in _query_pairs(scope["query_string"].decode("latin-1")):
        field = _QUERY_FIELDS.get(key)
        if field is None or not value:
            return None
        if key in _LISTS:
            fields.setdefault(field, []).append(value)  # type: ignore[union-attr]
        elif field in fields:
            return None
        else:
            fields[field] = value
    return _convert(fields)


def _query_pairs(query: str) -> list[tuple[str, str]]:
    """The query's pairs as Litestar reads them: ``parse_qsl`` with blank values kept.

    Without a ``%`` or ``+`` nothing is unquoted, and splitting on ``&`` and the first ``=``
    (skipping empty parts, as parse_qsl does) gives the same pairs at a third of the cost.
    """
    if "%" in query or "+" in query:
        return parse_qsl(query, keep_blank_values=True, separator="&")
    return [(key, value) for key, _, value in (part.partition("=") for part in query.split("&") if part)]


async def _from_body(scope, receive, limit: int):
    """The POST's workload and a receive that replays what was read, for the handler if it is None.

    Only a body with a Content-Length of at most ``limit`` bytes is read.
    """
    length = None
    for name, value in scope["headers"]:
        if name == b"content-length":
            length = value
            break
    if length is None or not length.isdigit() or int(length) > limit:
        return None, receive
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # a disconnect: the handler sees it after what came before
            return None, _replay(chunks, True, message, receive)
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            break
        if size > limit:
            return None, _replay(chunks, True, None, receive)
    body = b"".join(chunks)
    replay = _replay([body], False, None, receive)
    if not body:
        return None, replay
    if b"discount_percent" not in body:
        # Decoding straight into the struct is strict: what it accepts, Litestar's lax conversion of
        # the decoded JSON reads as the same values (what it refuses goes the lax way below). Only a
        # Decimal can differ: Litestar reads a JSON number as a float first (10.50 -> 10.5).
        try:
            return _DECODER.decode(body), replay
        except msgspec.DecodeError:  # ValidationError is one
            pass
    try:
        decoded = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return None, replay
    if type(decoded) is not dict:
        return None, replay
    return _convert(decoded), replay


def _convert(fields: dict[str, object]) -> EstimateRequest | None:
    """``fields`` as an EstimateRequest, converted as Litestar converts a handler's inputs; None if invalid."""
    try:
        return msgspec.convert(fields, EstimateRequest, strict=False, str_keys=True)
    except msgspec.ValidationError:
        return None


def _replay(chunks: list[bytes], more: bool, last: dict | None, receive):
    """A receive that gives back the body read so far (``more``: not all of it), then ``last``, then reads on."""
    pending = [{"type": "http.request", "body": b"".join(chunks), "more_body": more}] if chunks else []
    if last is not None:
        pending.append(last)

    async def replay():
        if pending:
            return pending.pop(0)
        return await receive()

    return replay
