"""Take secrets out of URLs before they leave the process.

An operator may configure a source URL with credentials in it
(``https://user:pass@host/page`` or ``...?key=abc``). The URL is stored as
provenance and shown in run errors, ``/v1/sources``, ``/v1/runs`` and logs, so
every one of those goes through :func:`redact_url` or :func:`redact_text`:
userinfo is dropped and every query value becomes ``REDACTED``, while the
scheme, host, path and the query's parameter names stay, which is what a
reader needs to tell pages apart.
"""

import logging
import re
from urllib.parse import parse_qsl, urlsplit, urlunsplit

REDACTED = "REDACTED"

# A URL inside free text (an error message): a scheme, "://", and everything up to a space or quote.
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")


def redact_url(url: str) -> str:
    """``url`` without userinfo and with every query value replaced by ``REDACTED``.

    Text that does not parse as a URL is returned unchanged; a URL with
    nothing secret comes back byte-for-byte as given.
    """
    if "@" not in url and "?" not in url:
        return url  # the common case, and the hot one: provenance of every rate served
    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port
    except ValueError:
        return url
    netloc = parts.netloc
    if "@" in netloc:
        netloc = (f"[{host}]" if host and ":" in host else host or "") + (f":{port}" if port is not None else "")
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = "&".join(f"{name}={REDACTED}" if value else name for name, value in pairs) if pairs else REDACTED
    if netloc == parts.netloc and query == parts.query:
        return url
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_text(text: str) -> str:
    """``text`` with every URL in it passed through :func:`redact_url` (for error messages and logs)."""
    if "://" not in text:
        return text
    return _URL_IN_TEXT.sub(_redact_match, text)


def _redact_match(match: re.Match) -> str:
    # Punctuation closing the sentence or the parenthesis a URL sits in is not part of it.
    url = match.group(0)
    core = url.rstrip(").,;]")
    return redact_url(core) + url[len(core):]


class RedactingFilter(logging.Filter):
    """A logging filter that redacts URLs in a record's message and arguments.

    httpx logs every request line with its full URL at INFO; installed on the
    ``httpx`` logger (and ratecard's own), it keeps credentials out of logs.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place; never drops it."""
        if record.args:
            record.msg = redact_text(record.getMessage())
            record.args = None
        elif isinstance(record.msg, str):
            record.msg = redact_text(record.msg)
        return True


# A logger's filters see only the records logged on it, not its children's: each one is named.
LOGGERS = ("httpx", "httpcore", "ratecard", "ratecard.refresh", "ratecard.scheduler", "apscheduler")


def install_log_redaction(names: tuple[str, ...] = LOGGERS) -> None:
    """Add one :class:`RedactingFilter` to each named logger (idempotent)."""
    for name in names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())
