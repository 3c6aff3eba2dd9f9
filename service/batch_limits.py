"""Providers' per-batch limits, and how many batch jobs a volume needs under them.

The limits ship in data/batch_limits.toml, one table per provider with the
page that states them. A provider without a table has no plan: the estimate
still prices its batch tier, it just cannot say how to split the volume.
"""

import functools
import tomllib
from fractions import Fraction
from pathlib import Path

import msgspec

from ratecard import data as ratecard_data

# What one request weighs in a batch input file, estimated from its prompt
# tokens: English text averages about 4 characters per token and is 1 byte per
# character in UTF-8 (JSON escaping and other scripts make it more, so this is
# a typical figure, not a bound) ...
BYTES_PER_INPUT_TOKEN = 4
# ... plus the JSONL envelope every line carries whatever the prompt: custom_id,
# method, url, model, the messages wrapper and parameters such as max_tokens.
JSONL_OVERHEAD_BYTES_PER_REQUEST = 300


class BatchLimitsError(ValueError):
    """The batch limits file is invalid; the message names the provider and field."""


class BatchLimit(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What one batch job of a provider may hold, and the page that says so.

    ``max_requests_per_batch`` is None where the provider states no count
    limit (only a size limit, as Google's Gemini API does).
    """

    max_bytes_per_batch: int
    url: str
    max_requests_per_batch: int | None = None
    note: str = ""


class BatchPlan(msgspec.Struct, frozen=True, kw_only=True):
    """How many batch jobs a period's requests need under a provider's limits, and how to send them.

    ``limited_by`` names the limit that decides the count: "requests" (the
    count per batch) or "bytes" (the size per batch, at
    ``estimated_bytes_per_request`` a request: :func:`bytes_per_request`'s
    estimate, or the caller's figure when ``bytes_per_request_given``).
    ``max_requests_per_job`` is what one job can hold under both limits. The
    split spreads the period's requests evenly over its days
    (DAYS_PER_PERIOD): ``jobs_per_day`` jobs of about ``requests_per_job``
    requests. ``note`` says all of it in a sentence.
    """

    jobs_per_period: int
    limited_by: str
    max_requests_per_batch: int | None
    max_bytes_per_batch: int
    estimated_bytes_per_request: int
    bytes_per_request_given: bool
    max_requests_per_job: int
    jobs_per_day: int
    requests_per_job: int
    note: str
    url: str


# Days in each period, to spread a period's requests over its days: a month is a twelfth of 365 days,
# the same year PERIODS_PER_YEAR counts.
DAYS_PER_PERIOD: dict[str, Fraction] = {"day": Fraction(1), "week": Fraction(7), "month": Fraction(365, 12)}


def bytes_per_request(input_tokens: int) -> int:
    """The estimated weight of one request's line in a batch input file (see BYTES_PER_INPUT_TOKEN)."""
    return input_tokens * BYTES_PER_INPUT_TOKEN + JSONL_OVERHEAD_BYTES_PER_REQUEST


def load_batch_limits(file: Path | None = None) -> dict[str, BatchLimit]:
    """Read per-provider batch limits from ``file`` (the bundled table when None)."""
    file = file or ratecard_data.path("batch_limits.toml")
    try:
        doc = tomllib.loads(file.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise BatchLimitsError(f"{file}: {exc}") from exc
    limits = {}
    for provider, table in doc.items():
        try:
            limit = msgspec.convert(table, BatchLimit)
        except msgspec.ValidationError as exc:
            raise BatchLimitsError(f"{file}: [{provider}] {exc}") from exc
        for field in ("max_requests_per_batch", "max_bytes_per_batch"):
            value = getattr(limit, field)
            if value is not None and value <= 0:
                raise BatchLimitsError(f"{file}: [{provider}] {field} must be positive")
        if not limit.url.startswith("https://"):
            raise BatchLimitsError(f"{file}: [{provider}] url must cite the page stating the limit")
        limits[provider] = limit
    return limits


@functools.cache
def bundled_batch_limits() -> dict[str, BatchLimit]:
    """The bundled limits, read once; treat the answer as read-only."""
    return load_batch_limits()


def plan_batches(limit: BatchLimit, *, requests: int, input_tokens: int, period: str = "month",
                 bytes_per_request_given: int | None = None) -> BatchPlan:
    """Jobs per period = the larger of the request-count and the byte-size splits, and a daily split.

    ``requests`` is the volume per ``period`` and ``input_tokens`` the prompt
    of one request; ``bytes_per_request_given`` replaces the estimate of a
    request's weight. A request heavier than a whole batch still needs one job each.
    """
    weight = bytes_per_request_given or bytes_per_request(input_tokens)
    fit_by_bytes = max(1, limit.max_bytes_per_batch // weight)
    capacity = fit_by_bytes if limit.max_requests_per_batch is None else min(limit.max_requests_per_batch,
                                                                            fit_by_bytes)
    by_requests = 0 if limit.max_requests_per_batch is None else -(-requests // limit.max_requests_per_batch)
    by_bytes = -(-requests // fit_by_bytes)  # ceiling division on ints
    limited_by = "bytes" if by_bytes > by_requests or limit.max_requests_per_batch is None else "requests"
    # requests / days, kept as the integer pair of a fraction: ceilings of int divisions are exact
    # and cost a fraction of Fraction arithmetic's (bench/RESULTS.md).
    days = DAYS_PER_PERIOD[period]
    per_day_num, per_day_den = requests * days.denominator, days.numerator
    jobs_per_day = -(-per_day_num // (per_day_den * capacity))
    requests_per_job = -(-per_day_num // (per_day_den * jobs_per_day)) if jobs_per_day else 0
    plan = BatchPlan(
        jobs_per_period=max(by_requests, by_bytes), limited_by=limited_by,
        max_requests_per_batch=limit.max_requests_per_batch, max_bytes_per_batch=limit.max_bytes_per_batch,
        estimated_bytes_per_request=weight, bytes_per_request_given=bytes_per_request_given is not None,
        max_requests_per_job=capacity, jobs_per_day=jobs_per_day, requests_per_job=requests_per_job,
        note="", url=limit.url,
    )
    return msgspec.structs.replace(plan, note=describe_plan(plan, period))


def describe_plan(plan: BatchPlan, period: str) -> str:
    """The plan in a sentence or two: the job count, the limit that decides it, and the day-by-day split."""
    if not plan.jobs_per_period:
        return f"No requests per {period}, so no batch jobs."
    jobs = f"{plan.jobs_per_period:,} batch job{'s' if plan.jobs_per_period != 1 else ''} per {period}"
    if period == "day":  # the daily split is the plan itself
        jobs += f" of about {_requests(plan.requests_per_job)}"
    weight = f"{plan.estimated_bytes_per_request:,} bytes a request, " + (
        "as given" if plan.bytes_per_request_given else "estimated from the prompt")
    if plan.limited_by == "bytes":
        count = "" if plan.max_requests_per_batch is None else f"; the count limit is {plan.max_requests_per_batch:,}"
        why = (f"limited by size: a batch holds at most {plan.max_bytes_per_batch:,} bytes, "
               f"{plan.max_requests_per_job:,} requests at {weight}{count}")
    else:
        why = (f"limited by count: a batch holds at most {plan.max_requests_per_batch:,} requests "
               f"({weight}: they stay under its {plan.max_bytes_per_batch:,}-byte limit)")
    if period == "day":
        return f"{jobs}, {why}."
    daily = f"{plan.jobs_per_day:,} job{'s' if plan.jobs_per_day != 1 else ''} a day"
    return f"{jobs}, {why}. Day by day: {daily} of about {_requests(plan.requests_per_job)}."


def _requests(count: int) -> str:
    return f"{count:,} request{'' if count == 1 else 's'}"
