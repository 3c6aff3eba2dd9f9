"""One error shape everywhere: RFC 9457 problem details (``application/problem+json``).

Handlers raise :class:`ApiError` (or a litestar HTTPException); the handlers
in :data:`EXCEPTION_HANDLERS` turn every error, including an unexpected one,
into the same shape: ``type``, ``title``, ``status``, ``detail``, and for
validation errors ``errors``, a list of ``{field, reason}``.
"""

import logging
import re
import sqlite3

import msgspec
from litestar import Request, Response
from litestar.exceptions import ClientException, HTTPException, ValidationException

from ratecard.service.db import StorageError
from ratecard.service.errors import PROBLEM_TYPE_BASE as _TYPE_BASE, ApiError, FieldError, Problem, bad_parameter, problem_type

__all__ = ["ApiError", "FieldError", "Problem", "bad_parameter", "problem_response", "problem_type", "EXCEPTION_HANDLERS"]

PROBLEM_MEDIA_TYPE = "application/problem+json"

log = logging.getLogger("ratecard")


def problem_response(problem: Problem, headers: dict[str, str] | None = None) -> Response:
    """Encode a problem as the response body with its media type."""
    return Response(
        content=_ENCODER.encode(problem),
        status_code=problem.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def _on_api_error(_: Request, exc: ApiError) -> Response:
    if exc.retry_after_s is not None:
        return problem_response(exc.problem, headers={"Retry-After": str(exc.retry_after_s)})
    return problem_response(exc.problem)


# msgspec's words for a body object with a field too many or too few; Litestar files both under
# the body parameter, ``data``, which tells a client nothing.
_BODY_FIELD = re.compile(r"Object (contains unknown|missing required) field `([^`]+)`")
_BODY_FIELD_REASONS = {"contains unknown": "unknown field, not part of this request",
                       "missing required": "required field missing"}


def _on_validation(_: Request, exc: ValidationException) -> Response:
    errors = []
    for item in exc.extra or []:
        if isinstance(item, dict):
            field = str(item.get("key") or item.get("source") or "body")
            reason = str(item.get("message", ""))
            if field == "data" and (named := _BODY_FIELD.fullmatch(reason)):
                field, reason = named[2], _BODY_FIELD_REASONS[named[1]]
            errors.append(FieldError(field, reason))
    detail = "; ".join(f"{e.field}: {e.reason}" for e in errors) or str(exc.detail)
    return problem_response(
        Problem(type=_TYPE_BASE + "invalid-request", title="Invalid request", status=400, detail=detail, errors=errors)
    )


def _on_http(request: Request, exc: HTTPException) -> Response:
    status = exc.status_code
    if status == 400 and type(exc) is ClientException and request.method in ("POST", "PUT", "PATCH"):
        # A bare 400 on a body is Litestar passing on msgspec's parse error ("JSON is malformed: ...",
        # "Input data was truncated"); validation errors have their own class. Name the body, as they do.
        reason = str(exc.detail)
        return problem_response(Problem(type=_TYPE_BASE + "invalid-json", title="Malformed JSON", status=400,
                                        detail=f"body: {reason}", errors=[FieldError("body", reason)]))
    titles = {404: "Not found", 405: "Method not allowed", 413: "Request body too large", 401: "Unauthorized"}
    slug = {404: "not-found", 405: "method-not-allowed", 413: "body-too-large", 401: "unauthorized"}.get(status, "http-error")
    headers = dict(exc.headers or {})
    return problem_response(
        Problem(type=_TYPE_BASE + slug, title=titles.get(status, "HTTP error"), status=status, detail=str(exc.detail)),
        headers=headers,
    )


# What the decoders and SQLite say when a request goes past their limits: the client's input, not a fault.
_TOO_DEEP = "while deserializing"  # msgspec: "maximum recursion depth exceeded while deserializing an object"
_INT_TOO_LARGE = "too large to convert to SQLite INTEGER"


def _client_limit(marker: str, slug: str, title: str, detail: str):
    """A handler answering 400 for an exception whose message has ``marker`` (the input's fault), else a 500."""

    def handle(request: Request, exc: Exception) -> Response:
        if marker not in str(exc):
            return _on_unexpected(request, exc)
        return problem_response(Problem(type=_TYPE_BASE + slug, title=title, status=400, detail=detail))

    return handle


_on_too_deep = _client_limit(_TOO_DEEP, "invalid-request", "Invalid request", "the JSON body is nested too deeply")
_on_overflow = _client_limit(_INT_TOO_LARGE, "invalid-parameter", "Invalid parameter",
                             "a number in the request is out of range (at most 9223372036854775807)")


# How long a client should wait before asking again after a storage failure (a lock, a full disk).
STORAGE_RETRY_AFTER_S = 5


def storage_unavailable(reason: str) -> Problem:
    """The 503 problem for a request that waited on the database and the database failed."""
    return Problem(type=_TYPE_BASE + "storage-unavailable", title="Storage unavailable", status=503,
                   detail=f"the database could not answer: {reason}")


def _on_storage(request: Request, exc: Exception) -> Response:
    # The database failing (locked past the timeout, full, damaged, a table missing) is a 503 the
    # client may retry; SQLite refusing a statement as written (a bug) stays a logged 500.
    if isinstance(exc, sqlite3.Error) and type(exc) not in (sqlite3.OperationalError, sqlite3.DatabaseError):
        return _on_unexpected(request, exc)
    reason = str(exc).removeprefix("storage error: ")
    log.error("storage failure on %s %s: %s", request.method, request.url.path, reason)
    return problem_response(storage_unavailable(reason), headers={"Retry-After": str(STORAGE_RETRY_AFTER_S)})


def _on_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(
        Problem(type=_TYPE_BASE + "internal", title="Internal error", status=500, detail="an unexpected error occurred; it has been logged")
    )


def problem_responses(*statuses: int) -> dict:
    """OpenAPI response entries for the problems a route can answer with (always 400 and 500)."""
    from litestar.openapi import ResponseSpec

    described = {
        400: "Invalid parameter or body; `errors` names each field.",
        401: "Missing or wrong bearer token.",
        404: "Unknown model, provider, source or path; `suggestions` lists close matches.",
        409: "Conflict: the changeset is not quarantined, or a refresh of the source is already running.",
        413: "Request body too large.",
        415: "The body is not JSON (send `Content-Type: application/json`).",
        429: "Too many long texts being counted at once; retry after the `Retry-After` seconds.",
        500: "Unexpected error (logged).",
        503: "This process does not write (a read-only replica, or not the scheduler's worker), or the database "
             "failed (locked, full or damaged); retry after `Retry-After` seconds.",
    }
    from litestar.openapi.spec import Example

    # Real examples, so the schema does not carry (and change with) examples litestar would make up.
    examples = {
        400: Problem(type=_TYPE_BASE + "invalid-parameter", title="Invalid parameter", status=400,
                     detail="tier: 'cheap' is not one of standard, batch, flex, priority, off_peak",
                     errors=[FieldError("tier", "'cheap' is not one of standard, batch, flex, priority, off_peak")]),
        401: Problem(type=_TYPE_BASE + "unauthorized", title="Unauthorized", status=401,
                     detail="a valid bearer token is required"),
        404: Problem(type=_TYPE_BASE + "unknown-model", title="Unknown model", status=404,
                     detail="no model named 'gpt-4oo'", suggestions=["openai/gpt-4o", "openai/gpt-4.1"]),
        409: Problem(type=_TYPE_BASE + "not-quarantined", title="Not quarantined", status=409,
                     detail="changeset 12 is applied, not quarantined"),
        413: Problem(type=_TYPE_BASE + "body-too-large", title="Request body too large", status=413,
                     detail="Request Entity Too Large"),
        415: Problem(type=_TYPE_BASE + "unsupported-media-type", title="Unsupported media type", status=415,
                     detail="the body must be JSON: send Content-Type: application/json"),
        429: Problem(type=_TYPE_BASE + "busy-counting", title="Too many texts being counted", status=429,
                     detail="2 long texts are being counted; try again shortly"),
        500: Problem(type=_TYPE_BASE + "internal", title="Internal error", status=500,
                     detail="an unexpected error occurred; it has been logged"),
        503: Problem(type=_TYPE_BASE + "read-only", title="Not the writer", status=503,
                     detail="this process does not write (read-only serving): send admin writes to the process "
                            "that runs the scheduler"),
    }
    return {
        status: ResponseSpec(data_container=Problem, description=described[status], media_type=PROBLEM_MEDIA_TYPE,
                             generate_examples=False,
                             examples=[Example(summary=examples[status].title,
                                               value=msgspec.to_builtins(examples[status]))])
        for status in sorted({400, 500, *statuses})
    }


EXCEPTION_HANDLERS = {
    ApiError: _on_api_error,
    ValidationException: _on_validation,
    HTTPException: _on_http,
    RecursionError: _on_too_deep,
    OverflowError: _on_overflow,
    sqlite3.Error: _on_storage,
    StorageError: _on_storage,
    Exception: _on_unexpected,
}

_ENCODER = msgspec.json.Encoder()
