"""The errors a query can answer with: RFC 9457 problem details, with no HTTP machinery.

The application layer raises :class:`ApiError`; service.problems turns it into
an ``application/problem+json`` response.
"""

import msgspec

PROBLEM_TYPE_BASE = "https://ratecard.dev/problems/"


class FieldError(msgspec.Struct, frozen=True):
    """Which input was wrong and why."""

    field: str
    reason: str


class Problem(msgspec.Struct, kw_only=True, omit_defaults=True):
    """An RFC 9457 problem details body."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldError] = []
    suggestions: list[str] = []


class ApiError(Exception):
    """An error with a status and a reason the client can act on (and when to retry, if it may)."""

    def __init__(
        self,
        status: int,
        slug: str,
        title: str,
        detail: str,
        *,
        errors: list[FieldError] | None = None,
        suggestions: list[str] | None = None,
        retry_after_s: int | None = None,
    ) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s  # when the client may try again (a busy service's 429)
        self.problem = Problem(
            type=PROBLEM_TYPE_BASE + slug,
            title=title,
            status=status,
            detail=detail,
            errors=errors or [],
            suggestions=suggestions or [],
        )


def problem_type(slug: str) -> str:
    """The ``type`` URI of a problem named ``slug``."""
    return PROBLEM_TYPE_BASE + slug


def bad_parameter(field: str, reason: str, *, slug: str = "invalid-parameter", title: str = "Invalid parameter") -> ApiError:
    """A 400 naming the query parameter or body field that is wrong (``slug``/``title`` say which kind of input)."""
    return ApiError(400, slug, title, f"{field}: {reason}", errors=[FieldError(field, reason)])
