"""A stored rate: an observation with its validity interval and provenance."""

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import ClassVar

import msgspec

from ratecard.scrapers.redact import redact_url
from ratecard.service.timeutil import from_db


class Statement(msgspec.Struct, frozen=True, kw_only=True):
    """One source's statement of an interval's value: a rate another source took over at the same value."""

    source: str
    url: str
    body_sha256: str
    basis: str
    valid_from: datetime  # the moment this statement gives the value from
    observed_at: datetime
    changeset_id: int


class Rate(msgspec.Struct, frozen=True, kw_only=True, dict=True):
    """One rate over ``[valid_from, valid_to)``; ``valid_to`` None means still in force.

    ``usd_per_mtok`` is None exactly when ``basis`` is ``not_offered``.
    Provenance: the source and URL it was read from, the sha256 of that page
    body, the run that observed it, when it was observed, and the changeset
    (catalog version) that recorded it.

    This is also the API's rate row (``/v1/prices``, history, exports): the source
    id is written as ``source``.

    ``stored_statements`` (the stored ``rates.also``, a JSON list) is not a field: the API shows
    those statements as ``also_stated_by``, and only the reads that pick the statement in force
    at a moment need the stored list. :func:`with_stored_statements` keeps it in the instance's
    ``__dict__``, msgspec's place for private state, which is never encoded. A copy made with
    ``msgspec.structs.replace`` does not carry it: a function that copies a rate and still
    needs it passes it on.
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
    # The stored statements other than this row's own provenance, for the API (see with_statements).
    also_stated_by: tuple[Statement, ...] = ()
    # Read by stored_statements: "" unless with_stored_statements set the instance's own.
    stored_statements: ClassVar[str] = ""

    @property
    def key(self) -> tuple[str, str, str, str, int]:
        """The rate key: (provider, model, tier, kind, min_prompt_tokens)."""
        return (self.provider, self.model, self.tier, self.kind, self.min_prompt_tokens)

    def in_force(self, at: datetime) -> bool:
        """True when ``at`` falls inside this rate's interval."""
        return self.valid_from <= at and (self.valid_to is None or at < self.valid_to)


def stored_statements(rate: Rate) -> str:
    """Every source that stated ``rate``'s value for its interval, as stored (JSON; "" for one source).

    A source taking over a rate at the same value adds itself to the row's list instead of
    starting a new interval (service.changesets).
    """
    return rate.stored_statements


def with_stored_statements(rate: Rate, also: str) -> Rate:
    """``rate`` holding ``also``, its stored statements (see :func:`stored_statements`); the same object."""
    if also:
        msgspec.structs.force_setattr(rate, "stored_statements", also)
    return rate


def stated_at(rate: Rate, at: datetime) -> Rate:
    """``rate`` with the provenance of the statement of its value in force at ``at``.

    An interval several sources stated (a page taking a rate over from curated history at
    the same value) is one row whose own provenance is the latest statement's; at an
    earlier moment the statement of that moment is the one that says the price. The
    provenance is the statement's own throughout, its changeset included (the changeset
    that recorded that statement, not the one that merged it into the row).
    """
    also = stored_statements(rate)
    if not also:
        return rate
    moment = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")  # as stored (service.timeutil.to_db)
    claims = [c for c in json.loads(also) if c["valid_from"] <= moment]
    if not claims:
        return rate
    return as_claim(rate, max(claims, key=lambda c: (c["valid_from"], c["basis"] != "curated", c["observed_at"])))


def opening_statement(rate: Rate) -> Rate:
    """``rate`` with the provenance of the statement that opened its interval (the others in ``also_stated_by``)."""
    return stated_at(rate, rate.valid_from)


def as_claim(rate: Rate, claim: dict) -> Rate:
    """``rate`` with the provenance of ``claim``, one of its stored statements."""
    if (claim["source"], claim["url"], claim["basis"], claim["changeset_id"]) == (
            rate.source_id, rate.url, rate.basis, rate.changeset_id):
        return rate
    return with_statements(msgspec.structs.replace(
        rate, source_id=claim["source"], url=redact_url(claim["url"]), body_sha256=claim["body_sha256"],
        basis=claim["basis"], observed_at=datetime.fromisoformat(claim["observed_at"]), note=claim.get("note", ""),
        changeset_id=claim["changeset_id"], run_id=claim.get("run_id"),
    ), stored_statements(rate))


def with_statements(rate: Rate, also: str) -> Rate:
    """``rate`` holding ``also`` (its stored statements), with ``also_stated_by``: those other than the one it shows."""
    if not also:
        return rate
    others = tuple(
        Statement(source=c["source"], url=redact_url(c["url"]), body_sha256=c["body_sha256"], basis=c["basis"],
                  valid_from=from_db(c["valid_from"]), observed_at=from_db(c["observed_at"]),
                  changeset_id=c["changeset_id"])
        for c in json.loads(also)
        if (c["source"], redact_url(c["url"]), c["basis"], c["changeset_id"]) != (
            rate.source_id, rate.url, rate.basis, rate.changeset_id))
    return with_stored_statements(msgspec.structs.replace(rate, also_stated_by=others), also)


def rate_from_row(row: dict) -> Rate:
    """Turn a ``rates`` row into a Rate, with the other statements of its value (``also_stated_by``).

    A row several sources stated carries the provenance of the latest statement (what says
    the price now, service.changesets._restated), its changeset included: the stored
    ``changeset_id`` is the changeset that merged the statements, which version reads use
    in SQL, while the answer names the changeset that recorded the statement it shows.
    """
    rate = _rate_from_row(row)
    also = row.get("also") or ""
    if not also:
        return rate
    own = [c for c in json.loads(also) if (c["source"], c["basis"], c["observed_at"]) == (
        row["source_id"], row["basis"], row["observed_at"])]
    if own and own[-1]["changeset_id"] != rate.changeset_id:
        rate = msgspec.structs.replace(rate, changeset_id=own[-1]["changeset_id"], run_id=own[-1].get("run_id"))
    return with_statements(rate, also)


def _rate_from_row(row: dict) -> Rate:
    return Rate(
        provider=row["provider"],
        model=row["model"],
        tier=row["tier"],
        kind=row["kind"],
        min_prompt_tokens=row["min_prompt_tokens"],
        usd_per_mtok=None if row["usd_per_mtok"] is None else Decimal(row["usd_per_mtok"]),
        basis=row["basis"],
        valid_from=from_db(row["valid_from"]),
        valid_to=None if row["valid_to"] is None else from_db(row["valid_to"]),
        source_id=row["source_id"],
        url=redact_url(row["url"]),  # rows stored before URLs were redacted on the way in
        body_sha256=row["body_sha256"],
        run_id=row["run_id"],
        observed_at=from_db(row["observed_at"]),
        changeset_id=row["changeset_id"],
        note=row["note"],
        lane=row["lane"],
    )
