"""Providers' per-batch limits, and how many batch jobs a volume needs under them.

The limits ship in data/batch_limits.toml, one table per provider with the
page that states them. A provider without a table has no plan: the estimate
still prices its batch tier, it just cannot say how to split the volume.
"""

import functools
import tomllib
from pathlib import Path

import msgspec

import ratecard_data

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
    """What one batch job of a provider may hold, and the page that says so."""

    max_requests_per_batch: int
    max_bytes_per_batch: int
    url: str
    note: str = ""


class BatchPlan(msgspec.Struct, frozen=True, kw_only=True):
    """How many batch jobs a period's requests need under a provider's limits.

    ``limited_by`` names the limit that decides the count ("requests" or
    "bytes"); ``estimated_bytes_per_request`` is the input-file weight assumed
    for one request (see ``BYTES_PER_INPUT_TOKEN``).
    """

    jobs_per_period: int
    limited_by: str
    max_requests_per_batch: int
    max_bytes_per_batch: int
    estimated_bytes_per_request: int
    url: str


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
            if getattr(limit, field) <= 0:
                raise BatchLimitsError(f"{file}: [{provider}] {field} must be positive")
        if not limit.url.startswith("https://"):
            raise BatchLimitsError(f"{file}: [{provider}] url must cite the page stating the limit")
        limits[provider] = limit
    return limits


@functools.cache
def bundled_batch_limits() -> dict[str, BatchLimit]:
    """The bundled limits, read once; treat the answer as read-only."""
    return load_batch_limits()


def plan_batches(limit: BatchLimit, *, requests: int, input_tokens: int) -> BatchPlan:
    """Jobs per period = the larger of the request-count and the byte-size splits.

    ``requests`` is the volume per period and ``input_tokens`` the prompt of one
    request; a request heavier than a whole batch still needs one job each.
    """
    bytes_per_request = input_tokens * BYTES_PER_INPUT_TOKEN + JSONL_OVERHEAD_BYTES_PER_REQUEST
    by_requests = -(-requests // limit.max_requests_per_batch)  # ceiling division on ints
    requests_per_file = max(1, limit.max_bytes_per_batch // bytes_per_request)
    by_bytes = -(-requests // requests_per_file)
    return BatchPlan(
        jobs_per_period=max(by_requests, by_bytes),
        limited_by="bytes" if by_bytes > by_requests else "requests",
        max_requests_per_batch=limit.max_requests_per_batch,
        max_bytes_per_batch=limit.max_bytes_per_batch,
        estimated_bytes_per_request=bytes_per_request,
        url=limit.url,
    )
