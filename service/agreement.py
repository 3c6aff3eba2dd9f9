"""Witness agreement: how the aggregators' numbers compare with the official pages.

A pure core over rates in force at one moment: for every rate served from the
official lane, each witness that states the same key (provider, model, tier,
kind, min_prompt_tokens) at ``at`` yields one :class:`RateAgreement` row. The
rates come from a :class:`~service.catalog.Catalog` snapshot (now and later)
or, for an earlier moment or version, from SQLite; the comparison is the same.
Models served *from* a witness (providers with no page of their own) are
skipped: a witness cannot cross-check itself.
"""

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal

import msgspec

from ratecard.service.catalog import Catalog, ModelKey
from ratecard.service.rates import Rate
from ratecard.service.sources import OFFICIAL_LANE
from ratecard.service.tier_rules import TIER_RULES_SOURCE

RateKey = tuple[str, str, str, str, int]  # provider, model, tier, kind, min_prompt_tokens

# Two decimal places of a percent are enough to rank disagreements and still
# show a rounding-sized gap (0.01%) next to a real one.
PERCENT_STEP = Decimal("0.01")


class RateAgreement(msgspec.Struct, frozen=True, kw_only=True):
    """One official rate next to what one witness states for the same key.

    ``*_usd_per_mtok`` is None where that side says the rate is not offered.
    ``difference_percent`` is (witness - official) / official * 100, or None when
    either side is not offered or the official rate is zero (no base to divide by).
    """

    provider: str
    model: str
    tier: str
    kind: str
    min_prompt_tokens: int
    official_usd_per_mtok: Decimal | None
    official_source: str
    witness: str
    witness_usd_per_mtok: Decimal | None
    agrees: bool
    difference_percent: Decimal | None


class WitnessSummary(msgspec.Struct, frozen=True, kw_only=True):
    """How many official rates one witness states, and how many of them it matches."""

    witness: str
    compared: int
    agreeing: int
    disagreeing: int


class AgreementReport(msgspec.Struct, frozen=True, kw_only=True):
    """Every comparison at ``at`` in catalog ``catalog_version``, per-witness counts, and the misses."""

    at: datetime
    catalog_version: int
    witnesses: tuple[WitnessSummary, ...]
    rows: tuple[RateAgreement, ...]
    disagreements: tuple[RateAgreement, ...]


def compare_rates(
    catalog: Catalog,
    *,
    at: datetime,
    witnesses: Sequence[str] | None = None,
    provider: str | None = None,
) -> AgreementReport:
    """Compare every official rate in force at ``at`` with each witness that states its key.

    ``witnesses`` limits the report to those source ids (None: every witness
    present in the catalog); ``provider`` limits it to one provider. ``at``
    must not precede ``catalog.built_at`` (the snapshot holds nothing earlier);
    for an earlier moment, read the rates from SQLite and call
    :func:`agreement_report` on them. Reads only the catalog: no database.
    """
    official, stated = catalog_rates_at(catalog, at, provider=provider)
    return agreement_report(official, stated, at=at, catalog_version=catalog.version, witnesses=witnesses)


def catalog_rates_at(
    catalog: Catalog, at: datetime, *, provider: str | None = None, model_key: ModelKey | None = None
) -> tuple[list[Rate], list[Rate]]:
    """From the snapshot: the official rates of officially served models in force at ``at``, and the
    witnesses' rates of the same models (``at`` must not precede ``catalog.built_at``)."""
    official: list[Rate] = []
    stated: list[Rate] = []
    keys = [model_key] if model_key is not None else list(catalog.models)
    for key in keys:
        info = catalog.models.get(key)
        if info is None or info.served_from != OFFICIAL_LANE or (provider is not None and key[0] != provider):
            continue
        # What the tier rules derive is ratecard's, not the page's: witnesses check the page.
        official.extend(r for r in catalog.rates_at(key, at) if r.source_id != TIER_RULES_SOURCE)
        for rates in catalog.witness_rates_at(key, at).values():
            stated.extend(rates)
    return official, stated


def agreement_report(
    official: Iterable[Rate],
    stated: Iterable[Rate],
    *,
    at: datetime,
    catalog_version: int,
    witnesses: Sequence[str] | None = None,
) -> AgreementReport:
    """The report for rates in force at one moment: official rates against what the witnesses state.

    ``official`` holds the rates served from the official lane (rates of any
    other lane are ignored), ``stated`` the witnesses' rates (``lane`` is the
    witness source id); the caller reads both for the same moment and version,
    from the snapshot or from SQLite. Pure.
    """
    rows = agreement_rows(official, stated, witnesses=witnesses)
    # Sorted so that reports, diffs of reports and README tables are stable whatever the input order.
    rows.sort(key=lambda r: (r.provider, r.model, r.tier, r.kind, r.min_prompt_tokens, r.witness))
    compared = Counter(r.witness for r in rows)
    agreeing = Counter(r.witness for r in rows if r.agrees)
    # A witness asked for by name gets its line even when it states none of these rates.
    summaries = tuple(
        WitnessSummary(witness=w, compared=compared[w], agreeing=agreeing[w], disagreeing=compared[w] - agreeing[w])
        for w in sorted({*compared, *(witnesses or ())})
    )
    return AgreementReport(
        at=at,
        catalog_version=catalog_version,
        witnesses=summaries,
        rows=tuple(rows),
        disagreements=tuple(r for r in rows if not r.agrees),
    )


def agreement_rows(
    official: Iterable[Rate], stated: Iterable[Rate], *, witnesses: Sequence[str] | None = None
) -> list[RateAgreement]:
    """One row per official rate and witness stating the same key, witnesses in id order."""
    by_key: dict[RateKey, dict[str, Rate]] = defaultdict(dict)
    for rate in stated:
        if rate.lane != OFFICIAL_LANE and (witnesses is None or rate.lane in witnesses):
            by_key[rate.key][rate.lane] = rate
    return [
        compare_rate(rate, by_witness[source])
        for rate in official
        if rate.lane == OFFICIAL_LANE and (by_witness := by_key.get(rate.key))
        for source in sorted(by_witness)
    ]


def agreement_by_rate(
    catalog: Catalog,
    model_key: ModelKey,
    at: datetime,
    *,
    witnesses: Sequence[str] | None = None,
) -> dict[RateKey, dict[str, RateAgreement]]:
    """What each witness says about each official rate of one model at ``at`` (from the snapshot).

    Returns ``{rate.key: {witness source id: RateAgreement}}``; a rate no
    witness states is absent, and a witness-served or unknown model gives
    ``{}``. Built for the API: fetch once per model, then attach
    ``result.get(rate.key, {})`` to each rate it serves.
    """
    official, stated = catalog_rates_at(catalog, at, model_key=model_key)
    return rows_by_rate(agreement_rows(official, stated, witnesses=witnesses))


def rows_by_rate(rows: Iterable[RateAgreement]) -> dict[RateKey, dict[str, RateAgreement]]:
    """Agreement rows grouped as ``{rate key: {witness: row}}``."""
    result: dict[RateKey, dict[str, RateAgreement]] = {}
    for row in rows:
        key = (row.provider, row.model, row.tier, row.kind, row.min_prompt_tokens)
        result.setdefault(key, {})[row.witness] = row
    return result


def compare_rate(official: Rate, witness: Rate) -> RateAgreement:
    """One row: an official rate and a witness's rate for the same key."""
    official_usd, witness_usd = official.usd_per_mtok, witness.usd_per_mtok
    # Decimal equality is by value, so "2.50" on a page and "2.5" in a feed agree;
    # None == None is "both say not offered", which is agreement too.
    agrees = official_usd == witness_usd
    difference = None
    if official_usd is not None and witness_usd is not None and official_usd != 0:
        difference = ((witness_usd - official_usd) / official_usd * 100).quantize(PERCENT_STEP)
    return RateAgreement(
        provider=official.provider,
        model=official.model,
        tier=official.tier,
        kind=official.kind,
        min_prompt_tokens=official.min_prompt_tokens,
        official_usd_per_mtok=official_usd,
        official_source=official.source_id,
        witness=witness.lane,
        witness_usd_per_mtok=witness_usd,
        agrees=agrees,
        difference_percent=difference,
    )
