"""The HTTP edge: errors before the app (uvicorn's parser) and before the handlers (body type) as problem+json.

uvicorn answers a request it cannot parse (a malformed request line, an
invalid header, a URL or header past httptools'/h11's limits) before the app
sees it, with ``400 text/plain "Invalid HTTP request received."``. These
subclasses send the same status as an RFC 9457 problem instead; ``ratecard
serve`` runs uvicorn with ``http="ratecard.service.http_server:ProblemHttpToolsProtocol"``.
"""

import msgspec
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from ratecard.service.problems import PROBLEM_MEDIA_TYPE, Problem, problem_response, problem_type


def parser_error_response(msg: str) -> bytes:
    """The whole HTTP/1.1 answer to a request the server could not parse: a 400 problem, connection closed."""
    body = msgspec.json.encode(Problem(type=problem_type("malformed-request"), title="Malformed request", status=400,
                                       detail=f"the HTTP request could not be parsed: {msg.rstrip('.')}"))
    head = (f"HTTP/1.1 400 Bad Request\r\ncontent-type: {PROBLEM_MEDIA_TYPE}\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n")
    return head.encode("ascii") + body


class ProblemHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, its 400 for an unparsable request a problem+json body."""

    def send_400_response(self, msg: str) -> None:  # noqa: D102 - overrides uvicorn's text/plain answer
        self.transport.write(parser_error_response(msg))
        self.transport.close()


class ProblemH11Protocol(H11Protocol):
    """uvicorn's h11 protocol (where httptools is not installed), with the same problem+json 400."""

    def send_400_response(self, msg: str) -> None:  # noqa: D102 - overrides uvicorn's text/plain answer
        self.transport.write(parser_error_response(msg))
        self.transport.close()


_BODY_METHODS = {"POST", "PUT", "PATCH"}


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


class JsonBodyOnly(ASGIMiddleware):
    """A request body must be declared JSON: a body sent as ``text/plain`` (or untyped) is a 415 problem.

    Every body the API reads is JSON; parsing one declared as something else
    would let a browser form post (``text/plain`` needs no CORS preflight)
    reach the handlers. Requests without a body (the admin POSTs) pass.
    """

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if scope["method"] in _BODY_METHODS:
            headers = dict(scope["headers"])
            has_body = headers.get(b"content-length", b"0") not in (b"0", b"") or b"transfer-encoding" in headers
            if has_body and not _is_json(headers.get(b"content-type", b"").decode("latin-1")):
                given = headers.get(b"content-type", b"").decode("latin-1") or "no Content-Type"
                problem = Problem(type=problem_type("unsupported-media-type"), title="Unsupported media type",
                                  status=415, detail=f"the body must be JSON: send Content-Type: application/json "
                                                     f"(got {given})")
                await problem_response(problem).to_asgi_response(app=None, request=None)(scope, receive, send)  # type: ignore[arg-type]
                return
        await next_app(scope, receive, send)
