"""A workload to price: one kind of request, its token counts and its volume.

Kept apart from the arithmetic (service.estimate) because the HTTP layer
decodes and validates it on its own; every rule about what a valid workload
is lives here.
"""

from decimal import Decimal

import msgspec

from ratecard.scrapers.vocabulary import CACHE_WRITE_KIND_BY_TTL

# Periods a volume may be given per, and how many make a year. Budgets count a
# year as 12 months, 52 weeks or 365 days; these disagree slightly (52 weeks =
# 364 days) and we keep each one's own convention rather than mix them.
PERIODS_PER_YEAR: dict[str, int] = {"day": 365, "week": 52, "month": 12}

# Sanity bounds, far beyond any real workload (the largest context windows are
# ~10M tokens); they keep a request from making the service multiply huge numbers.
MAX_TOKENS_PER_REQUEST = 1_000_000_000
MAX_REQUESTS_PER_PERIOD = 1_000_000_000_000
MAX_DISCOUNT_DECIMAL_PLACES = 6
# A batch input line heavier than this is no workload a batch API takes (their files hold a few GB).
MAX_BATCH_BYTES_PER_REQUEST = 10_000_000_000


class WorkloadError(ValueError):
    """A workload (or estimate option) is invalid; ``field`` names the offending field."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class Workload(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One kind of request and how often it is made.

    Token counts are per request; ``requests`` is per ``period`` ("day",
    "week" or "month"). ``cached_input_tokens`` (cache reads) and
    ``cache_write_tokens`` (written with ``cache_ttl`` "5m" or "1h") are parts
    of ``input_tokens``. ``discount_percent`` (0-100, e.g. a negotiated
    discount) comes off every figure. ``batch_bytes_per_request`` replaces the
    estimated weight of one request in a batch input file (the batch plan's
    rule, service.batch_limits). Invalid values raise WorkloadError
    (a msgspec.ValidationError with the same message when decoding).
    """

    input_tokens: int
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    cache_ttl: str = "5m"
    output_tokens: int = 0
    requests: int = 1
    period: str = "month"
    discount_percent: Decimal = Decimal(0)
    batch_bytes_per_request: int | None = None

    def __post_init__(self) -> None:
        validate_workload(self)


# The counted fields with their bounds, in the order they are checked.
_COUNTS = (
    ("input_tokens", MAX_TOKENS_PER_REQUEST),
    ("cached_input_tokens", MAX_TOKENS_PER_REQUEST),
    ("cache_write_tokens", MAX_TOKENS_PER_REQUEST),
    ("output_tokens", MAX_TOKENS_PER_REQUEST),
    ("requests", MAX_REQUESTS_PER_PERIOD),
)
_NO_DISCOUNT, _FULL_DISCOUNT, _ONE = Decimal(0), Decimal(100), Decimal(1)


def validate_workload(workload: Workload) -> None:
    """Raise WorkloadError naming the first invalid field of ``workload``."""
    for field, maximum in _COUNTS:
        value = getattr(workload, field)
        # A plain int in range is by far the common case; anything else gets the full check and its message.
        if value.__class__ is not int or not 0 <= value <= maximum:
            _check_count(field, value, maximum)
    if workload.cached_input_tokens + workload.cache_write_tokens > workload.input_tokens:
        field = "cached_input_tokens" if workload.cached_input_tokens else "cache_write_tokens"
        raise WorkloadError(
            field,
            f"cached_input_tokens ({workload.cached_input_tokens}) + cache_write_tokens"
            f" ({workload.cache_write_tokens}) exceed input_tokens ({workload.input_tokens}), the whole prompt",
        )
    if workload.cache_ttl not in CACHE_WRITE_KIND_BY_TTL:
        raise WorkloadError("cache_ttl", f"must be one of {', '.join(CACHE_WRITE_KIND_BY_TTL)}")
    if workload.period not in PERIODS_PER_YEAR:
        raise WorkloadError("period", f"must be one of {', '.join(PERIODS_PER_YEAR)}")
    check_decimal("discount_percent", workload.discount_percent, _NO_DISCOUNT, _FULL_DISCOUNT,
                  MAX_DISCOUNT_DECIMAL_PLACES)
    if workload.batch_bytes_per_request is not None:
        _check_count("batch_bytes_per_request", workload.batch_bytes_per_request, MAX_BATCH_BYTES_PER_REQUEST)
        if workload.batch_bytes_per_request == 0:
            raise WorkloadError("batch_bytes_per_request", "must be at least 1")


def check_decimal(field: str, value: object, low: Decimal, high: Decimal, places: int) -> None:
    """WorkloadError naming ``field`` unless ``value`` is an exact number in [low, high] with at most ``places``."""
    if value.__class__ is not Decimal:
        if isinstance(value, bool) or not isinstance(value, Decimal | int):
            # A float would carry a binary fraction into money; make the caller say the digits.
            raise WorkloadError(field, f"must be a Decimal, not {type(value).__name__}")
        value = Decimal(value)  # type: ignore[arg-type]
    if not value.is_finite() or not low <= value <= high:  # type: ignore[union-attr]
        raise WorkloadError(field, f"must be between {low} and {high}")
    if decimal_places(value) > places:  # type: ignore[arg-type]
        raise WorkloadError(field, f"at most {places} decimal places")


def _check_count(field: str, value: object, maximum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise WorkloadError(field, f"must be an integer, not {type(value).__name__}")
    if value < 0:
        raise WorkloadError(field, "must not be negative")
    if value > maximum:
        raise WorkloadError(field, f"must be at most {maximum:,}")


def decimal_places(value: Decimal) -> int:
    """Digits after the point as written (2.50 -> 2, 3 -> 0, 1E+1 -> 0)."""
    if value.same_quantum(_ONE):  # written without a point, like most discounts: no digits tuple to build
        return 0
    exponent = value.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0
