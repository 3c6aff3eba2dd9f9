"""The shapes the HTTP API returns (and the OpenAPI schema describes).

New fields get defaults; existing field types never change.
"""

from datetime import datetime
from decimal import Decimal

import msgspec

from ratecard.service.agreement import RateAgreement
from ratecard.service.catalog import ModelInfo
from ratecard.service.freshness import ProviderFreshness
from ratecard.service.rates import Rate


class Out(msgspec.Struct, kw_only=True, frozen=True):
    """Base of every response body."""


class UnpricedTierOut(Out):
    """A tier of a model with no price at the moment asked.

    ``state`` is ``not_offered`` (a page or cited source says the model lacks it) or
    ``unknown`` (no observation or rule covers that moment); ``reason`` names the gap.
    """

    provider: str
    model: str
    tier: str
    state: str
    reason: str


class PricesResponse(Out):
    """Flat rate rows in force at ``as_of`` (current when not given).

    ``unpriced`` lists the tiers without a price at that moment (not offered, or unknown
    with the gap named): with ``model``, that model's; else those of the models the page
    covers (from its first row's model to its last, the first and last pages to either
    end), so the pages together name every priced model's gaps, also where a ``tier``
    filter leaves a model without rows. ``freshness`` says per provider listed when
    its prices were last confirmed by reading its source; ``warnings`` holds the stale
    ones and models served from a witness.
    """

    catalog_version: int
    as_of: datetime
    total: int
    limit: int
    offset: int
    rates: list[Rate]
    unpriced: list[UnpricedTierOut] = []
    freshness: list[ProviderFreshness] = []
    warnings: list[str] = []


class ModelsResponse(Out):
    """Models matching the filters; with ``as_of``/``version``, only those priced at that moment."""

    catalog_version: int
    total: int
    limit: int
    offset: int
    models: list[ModelInfo]
    as_of: datetime | None = None  # the moment asked for; None: every model the catalog serves


class ModelDetail(Out):
    """One model with the rates in force at ``as_of``, and what witnesses said of them then.

    ``unpriced``, ``freshness`` and ``warnings`` as in PricesResponse.
    """

    catalog_version: int
    as_of: datetime
    model: ModelInfo
    rates: list[Rate]
    agreement: list[RateAgreement] = []
    unpriced: list[UnpricedTierOut] = []
    freshness: list[ProviderFreshness] = []
    warnings: list[str] = []


class HistoryResponse(Out):
    """Every interval of every rate of a model, oldest first within each rate, as known at ``catalog_version``."""

    catalog_version: int
    provider: str
    model: str
    intervals: list[Rate]
    as_of: datetime | None = None  # the moment whose knowledge is shown; None: now


class ProviderOut(Out):
    """A provider, the sources that read it, and how many models it has."""

    id: str
    display_name: str
    models: int
    sources: list[str]
    served_from: str


class ProvidersResponse(Out):
    """Every provider with prices (with ``as_of``/``version``: with prices in force at that moment)."""

    catalog_version: int
    providers: list[ProviderOut]
    as_of: datetime | None = None  # the moment asked for; None: the current catalog


class ChangeOut(Out):
    """One change inside a changeset."""

    action: str
    provider: str
    model: str
    tier: str
    kind: str
    min_prompt_tokens: int
    old_usd_per_mtok: Decimal | None
    new_usd_per_mtok: Decimal | None
    old_basis: str | None
    new_basis: str | None
    valid_from: datetime
    source: str
    url: str


class ChangesetOut(Out):
    """A changeset: its id is the catalog version it made."""

    id: int
    created_at: datetime
    source: str
    status: str
    reason: str
    origin_id: int | None
    changes: list[ChangeOut]


class ChangesResponse(Out):
    """The change feed, newest first; pass ``next_before`` as ``before`` for the next page."""

    catalog_version: int
    changesets: list[ChangesetOut]
    next_before: int | None


class Liveness(Out):
    """The process is up (it says nothing of the catalog: that is readiness)."""

    status: str


class Replication(Out):
    """This process's part in replication across hosts (Litestream), and a replica's lag behind the writer."""

    role: str = ""  # "writer" (replicating to url) or "replica" (following url, or a read-only file)
    url: str = ""
    running: bool = False  # the Litestream child is alive
    restarts: int = 0
    last_error: str = ""
    versions_behind: int | None = None  # the writer's catalog version at its newest heartbeat here, minus ours
    seconds_behind: float | None = None  # age of the writer's newest heartbeat here: an upper bound of the lag
    writer_heartbeat_at: str | None = None
    writer_catalog_version: int | None = None


class Health(Out):
    """Readiness: whether a catalog with prices is loaded, and which; whether this process writes, and why not.

    Stale sources do not make the service unready (it serves the last known prices):
    ``stale_sources`` lists the sources whose last confirmed read is older than their threshold.
    """

    status: str
    catalog_version: int = 0
    models: int = 0
    mode: str = "writer"  # writer, read-only or replica
    writes: bool = True  # whether runs, the scheduler and admin writes happen in this process
    writes_off_because: str = ""
    scheduler: bool = False
    replication: Replication | None = None
    stale_sources: list[str] = []
