"""Why a page could not be turned into rates.

Exception hierarchy::

    ScrapeError                 anything that stops a source's refresh
    +-- FetchError              the page could not be downloaded
    |   +-- BlockedError        a challenge or block page was served instead (403, 503, cf-mitigated)
    |   +-- BodyTooLarge        the body exceeded the size cap
    +-- PageRejected            a body arrived but it is not the page we expect
                                (tables gone, a challenge page, zero rows)

Every error carries the URL and says what was expected, so a recorded run
explains itself. The message is redacted (:mod:`scrapers.redact`): credentials
in a URL never reach a run record or a log through an error.
"""

from ratecard.scrapers.redact import redact_text, redact_url


class ScrapeError(Exception):
    """Base class: a source could not be refreshed."""

    def __init__(self, message: str, *, url: str = "") -> None:
        message = redact_text(message)
        super().__init__(f"{message} ({redact_url(url)})" if url else message)
        self.url = url
        self.reason = message


class FetchError(ScrapeError):
    """The page could not be downloaded (network error, timeout, HTTP error)."""


class BlockedError(FetchError):
    """The site served a block or bot-challenge page instead of the pricing page."""


class BodyTooLarge(FetchError):
    """The response body exceeded the configured size cap."""


class PageRejected(ScrapeError):
    """The body is not the pricing page the parser expects."""
