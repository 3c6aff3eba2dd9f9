"""A stored rate: an observation with its validity interval and provenance."""

from datetime import datetime
from decimal import Decimal

import msgspec


class Rate(msgspec.Struct, frozen=True, kw_only=True):
    """One rate over ``[valid_from, valid_to)``; ``valid_to`` None means still in force.

    ``usd_per_mtok`` is None exactly when ``basis`` is ``not_offered``.
    Provenance: the source and URL it was read from, the sha256 of that page
    body, the run that observed it, when it was observed, and the changeset
    (catalog version) that recorded it.

    This is also the API's rate row (``/v1/prices``, history, exports): the source
    id is written as ``source``.
    """

    provider: str
    model: str
    tier: str
    kind: str
    min_prompt_tokens: int
    usd_per_mtok: Decimal | None
    basis: str
    valid_from: datetime
    valid_to: datetime | None
    source_id: str = msgspec.field(name="source")
    url: str
    body_sha256: str
    run_id: int | None
    observed_at: datetime
    changeset_id: int
    note: str = ""
    lane: str = "official"  # the series it belongs to: official, or a witness source id

    @property
    def key(self) -> tuple[str, str, str, str, int]:
        """The rate key: (provider, model, tier, kind, min_prompt_tokens)."""
        return (self.provider, self.model, self.tier, self.kind, self.min_prompt_tokens)

    def in_force(self, at: datetime) -> bool:
        """True when ``at`` falls inside this rate's interval."""
        return self.valid_from <= at and (self.valid_to is None or at < self.valid_to)
