"""What a parser returns: one observed rate, with the page's words kept beside it."""

from datetime import datetime
from decimal import Decimal

import msgspec


class Observation(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One rate as a page states it.

    ``usd_per_mtok`` is ``None`` exactly when ``basis`` is ``not_offered``.
    ``display_name`` is the page's own label for the model (recorded as an
    alias); ``note`` explains a derived value or a caveat the page gives.

    Most rates hold from when the page is seen. A page that dates a rate says
    so with ``valid_from`` (a price announced to start later, such as the list
    price a promotion falls back to) and ``valid_to`` (a promotion's stated
    end, exclusive); both are aware UTC datetimes.
    """

    provider: str
    model: str
    tier: str
    kind: str
    usd_per_mtok: Decimal | None
    min_prompt_tokens: int = 0
    basis: str = "published"
    display_name: str = ""
    note: str = ""
    valid_from: datetime | None = None
    valid_to: datetime | None = None

    @property
    def key(self) -> tuple[str, str, str, str, int]:
        """The rate key: (provider, model, tier, kind, min_prompt_tokens)."""
        return (self.provider, self.model, self.tier, self.kind, self.min_prompt_tokens)


class SkippedSection(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A part of a page (a model family, a tier tab, a table) the parser could not read.

    ``section`` names it as the page does ("Batch pricing data", "Gemini 3 Pro
    / Batch"); ``reason`` says what was expected and not found. ``providers``,
    ``models`` and ``tiers`` say what the section would have priced, as far as
    the page lets the parser tell (empty means "unknown"): the refresh pipeline
    leaves rates in that scope untouched rather than treating them as gone.
    """

    section: str
    reason: str
    providers: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    tiers: tuple[str, ...] = ()


class Reading(msgspec.Struct, frozen=True, kw_only=True):
    """What a parser returns for a page: the rates it read and the sections it skipped.

    A page with at least one readable section is a Reading; a page that is not
    the page (a challenge, the wrong page, no readable section) is a
    :class:`~scrapers.errors.PageRejected` instead.
    """

    observations: list[Observation]
    skipped: list[SkippedSection] = []

    @property
    def partial(self) -> bool:
        """True when some section of the page could not be read."""
        return bool(self.skipped)


def dump_observations(observations: list[Observation]) -> bytes:
    """Encode observations as a JSON array with prices as exact decimal numbers."""
    return _ENCODER.encode(observations)


_ENCODER = msgspec.json.Encoder(decimal_format="number")
