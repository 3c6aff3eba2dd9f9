"""A section-scoped reading of the Gemini pricing page, for testing the pipeline's `partial` runs.

Until every parser returns a :class:`~scrapers.observation.Reading` with the
sections it skipped, these stand-ins produce one from the real Google parser:
each ``## <model>`` section is tried alone with the parser's own
``parse_section``; a section it rejects is cut out of the page and reported as
skipped with the parser's reason, and the rest of the page is read by the real
``scrapers.google.parse``. They are registered under their own parser names
(``PARSERS``) by the tests that use them, through the registry the pipeline
reads (``scrapers.PARSER_MODULES`` maps a name to a module with a ``parse``).
"""

import re

from scrapers import google
from scrapers.errors import ScrapeError
from scrapers.observation import Reading, SkippedSection
from scrapers.text import decode_page

# Parser name -> module, for tests to register.
PARSERS = {"google-sections": "tests.sectioned_google", "google-sections-unscoped": "tests.sectioned_google_unscoped"}

_SECTION_START = re.compile(r"(?m)^(?=##[ \t])")


def parse(body: bytes, url: str) -> Reading:
    """The page's rates from every readable model section; each unreadable one skipped, scoped to its ids."""
    text = decode_page(body, url)
    kept: list[str] = []
    skipped: list[SkippedSection] = []
    for chunk in _SECTION_START.split(text):
        heading, _, rest = chunk.partition("\n")
        ids = google.section_model_ids(rest) if heading.startswith("## ") else []
        if ids:
            title = heading.removeprefix("## ").strip()
            try:
                google.parse_section(title, rest, url)
            except ScrapeError as exc:
                skipped.append(SkippedSection(section=title, reason=exc.reason, providers=(google.PROVIDER,),
                                              models=tuple(ids)))
                continue
        kept.append(chunk)
    return Reading(observations=google.parse("".join(kept).encode(), url), skipped=skipped)


def parse_unscoped(body: bytes, url: str) -> Reading:
    """As :func:`parse`, but as a parser that cannot tell what a broken section priced (empty scope)."""
    reading = parse(body, url)
    return Reading(observations=reading.observations,
                   skipped=[SkippedSection(section=s.section, reason=s.reason) for s in reading.skipped])
