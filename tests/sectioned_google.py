"""A section-scoped reading of the Gemini pricing page, for testing the pipeline's `partial` runs.

Until every parser returns a :class:`~scrapers.observation.Reading` with the
sections it skipped, these stand-ins produce one from the real Google parser,
using only its public ``parse``: each ``## <model>`` section that holds a
per-token price table is parsed alone; one the parser rejects is cut out of
the page and reported as skipped with the parser's reason, scoped to the API
ids the section names, and the rest of the page is read by ``parse``. They are
registered under their own parser names (``PARSERS``) by the tests that use
them, through the registry the pipeline reads (``scrapers.PARSER_MODULES``
maps a name to a module with a ``parse``).
"""

import re

from ratecard.scrapers import google
from ratecard.scrapers.errors import PageRejected
from ratecard.scrapers.observation import Observation, Reading, SkippedSection

# Parser name -> module, for tests to register.
PARSERS = {"google-sections": "tests.sectioned_google", "google-sections-unscoped": "tests.sectioned_google_unscoped"}

_SECTION_START = re.compile(r"(?m)^(?=##[ \t])")
_MODEL_IDS = re.compile(r"(?m)^_(`[^\n]+`)_[ \t]*$")  # the page's line of API ids: _`gemini-2.5-pro`_


def parse(body: bytes, url: str) -> Reading:
    """The page's rates from every readable model section; each unreadable one skipped, scoped to its ids."""
    kept: list[str] = []
    skipped: list[SkippedSection] = []
    for chunk in _SECTION_START.split(body.decode("utf-8")):
        ids = _MODEL_IDS.search(chunk)
        if chunk.startswith("## ") and ids and "per 1M tokens" in chunk:
            try:
                as_reading(google.parse(chunk.encode(), url))
            except PageRejected as exc:
                title = chunk.partition("\n")[0].removeprefix("## ").strip()
                models = tuple(re.findall(r"`([^`]+)`", ids.group(1)))
                skipped.append(SkippedSection(section=title, reason=exc.reason, providers=(google.PROVIDER,),
                                              models=models))
                continue
        kept.append(chunk)
    rest = as_reading(google.parse("".join(kept).encode(), url))
    return Reading(observations=rest.observations, skipped=skipped + rest.skipped)


def parse_unscoped(body: bytes, url: str) -> Reading:
    """As :func:`parse`, but as a parser that cannot tell what a broken section priced (empty scope)."""
    reading = parse(body, url)
    return Reading(observations=reading.observations,
                   skipped=[SkippedSection(section=s.section, reason=s.reason) for s in reading.skipped])


def as_reading(result: Reading | list[Observation]) -> Reading:
    """A parser's result as a Reading: the Google parser returns a list until it returns a Reading itself."""
    return result if isinstance(result, Reading) else Reading(observations=result)
