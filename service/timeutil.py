"""Times as ratecard stores and reads them: aware UTC datetimes, ISO-8601 text in SQLite."""

from datetime import UTC, date, datetime, time

# One fixed, sortable text form so SQLite compares times as strings correctly.
_DB_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def to_db(moment: datetime) -> str:
    """Format an aware datetime as the UTC text stored in SQLite (second precision)."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: ratecard times are timezone-aware")
    return moment.astimezone(UTC).strftime(_DB_FORMAT)


def from_db(text: str) -> datetime:
    """Parse a time stored by :func:`to_db` (``2025-06-10T00:00:00Z``).

    ``fromisoformat`` reads that form exactly (the trailing Z as UTC) about 70x
    faster than ``strptime``, which dominated as-of reads of many rows.
    """
    return datetime.fromisoformat(text)


def parse_moment(text: str) -> datetime:
    """Read a user-given moment: a date (``2025-06-10``, midnight UTC) or an ISO-8601 time.

    A time without an offset is taken as UTC. Raises ValueError with the text on failure.
    """
    text = text.strip()
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(), tzinfo=UTC)
        moment = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise ValueError(f"{text!r} is not a date (YYYY-MM-DD) or an ISO-8601 time") from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    try:
        # Every moment is stored and compared in UTC; 0001-01-01T00:00+14:00 has no UTC year.
        moment.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{text!r} is outside the years 1 to 9999 in UTC") from None
    return moment


def utc_now() -> datetime:
    """The real clock, for the edges only (CLI and app start); cores take ``at``."""
    return datetime.now(UTC)
