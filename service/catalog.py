"""The in-memory catalog: an immutable snapshot of current prices, swapped after each commit.

Current prices and estimates are answered from here without touching SQLite.
The snapshot holds every rate of the current knowledge that is in force at
or after the moment it was built (so announced future prices are in it too);
reads for earlier moments go to :mod:`service.history`.
"""

import bisect
import difflib
from collections import defaultdict
from datetime import datetime

import msgspec
import sqlite_utils

from ratecard.scrapers.names import catalog_entries, name_key
from ratecard.service.db import data_version, read_snapshot, upsert_catalog_model, write_transaction
from ratecard.service.freshness import confirmed_reads
from ratecard.service.history import alias_rows, current_rate_rows, model_rows, provider_names
from ratecard.service.rates import Rate, rate_from_row
from ratecard.service.sources import OFFICIAL_LANE, Registry
from ratecard.service.tier_rules import with_derived
from ratecard.service.timeutil import to_db

ModelKey = tuple[str, str]


class ModelInfo(msgspec.Struct, frozen=True, kw_only=True):
    """A model as the API lists it."""

    provider: str
    model: str
    display_name: str
    status: str
    listed: bool
    aliases: tuple[str, ...]
    served_from: str  # "official" or the witness source id that serves it


class UnknownModel(LookupError):
    """A name matched no model; ``suggestions`` holds close matches."""

    def __init__(self, name: str, suggestions: list[str]) -> None:
        super().__init__(name)
        self.name = name
        self.suggestions = suggestions


class AmbiguousModel(LookupError):
    """A bare name matched models of several providers."""

    def __init__(self, name: str, candidates: list[str]) -> None:
        super().__init__(name)
        self.name = name
        self.candidates = candidates


class Catalog:
    """One immutable snapshot of the catalog at ``version``, built at ``built_at``."""

    def __init__(
        self,
        *,
        version: int,
        built_at: datetime,
        models: dict[ModelKey, ModelInfo],
        rates: dict[ModelKey, tuple[Rate, ...]],
        witness_rates: dict[ModelKey, dict[str, tuple[Rate, ...]]],
        providers: dict[str, str],
    ) -> None:
        self.version = version
        self.built_at = built_at
        self.models = models
        self.providers = providers
        self._rates = rates
        self._witness_rates = witness_rates
        self._names: dict[str, list[ModelKey]] = defaultdict(list)
        for key, info in models.items():
            for name in (info.model, info.display_name, *info.aliases, f"{key[0]}/{key[1]}"):
                if key not in self._names[name_key(name)]:
                    self._names[name_key(name)].append(key)
        self._current: dict[ModelKey, tuple[datetime, datetime | None, tuple[Rate, ...]]] = {}
        # Answers derived from this snapshot's version alone (a model's history), kept with the
        # snapshot and dropped with it when the next commit swaps a new one in.
        self.memo: dict[tuple, object] = {}
        # Moments after the build at which some served rate starts or ends (announced changes).
        self._boundaries = sorted(
            {m for rs in rates.values() for r in rs for m in (r.valid_from, r.valid_to) if m is not None and m > built_at}
        )

    def epoch(self, at: datetime) -> str:
        """How many announced boundaries have passed by ``at``: current answers change with it."""
        return str(bisect.bisect_right(self._boundaries, at))

    def resolve(self, name: str, provider: str | None = None) -> ModelKey:
        """Find a model by id, display name or alias, case-insensitively; ``provider/model`` works too."""
        if provider is None and "/" in name:
            head, _, tail = name.partition("/")
            if head in self.providers:
                provider, name = head, tail
        candidates = self._names.get(name_key(name), [])
        if provider is not None:
            candidates = [k for k in candidates if k[0] == provider]
            if not candidates:
                # An aggregator-style slug under the right provider ("anthropic/claude-opus-4.5").
                candidates = [k for k in self._names.get(name_key(f"{provider}/{name}"), []) if k[0] == provider]
        if len(candidates) > 1:
            official = [k for k in candidates if self.models[k].served_from == OFFICIAL_LANE]
            candidates = official if len(official) == 1 else candidates
        if len(candidates) == 1:
            return candidates[0]
        if candidates:
            raise AmbiguousModel(name, sorted(f"{p}/{m}" for p, m in candidates))
        raise UnknownModel(name, self.suggest(name, provider))

    def suggest(self, name: str, provider: str | None = None, limit: int = 5) -> list[str]:
        """Close matches for a name that resolved to nothing, as ``provider/model``."""
        keys = [k for k in self.models if provider is None or k[0] == provider]
        by_name = {k[1].lower(): k for k in keys}
        matches = difflib.get_close_matches(name.lower(), list(by_name), n=limit, cutoff=0.6)
        return [f"{by_name[m][0]}/{by_name[m][1]}" for m in matches]

    def rates_at(self, key: ModelKey, at: datetime) -> tuple[Rate, ...]:
        """The served rates of a model in force at ``at`` (which must not precede ``built_at``).

        The answer for the present is cached until the next interval boundary,
        so the hot path is a dict lookup and a comparison.
        """
        cached = self._current.get(key)
        if cached is not None and cached[0] <= at and (cached[1] is None or at < cached[1]):
            return cached[2]
        rates = self._rates.get(key, ())
        in_force = tuple(r for r in rates if r.in_force(at))
        boundaries = [r.valid_from for r in rates if r.valid_from > at] + [
            r.valid_to for r in in_force if r.valid_to is not None
        ]
        since = max([r.valid_from for r in in_force], default=self.built_at)
        self._current[key] = (since, min(boundaries, default=None), in_force)
        return in_force

    def all_rates(self, key: ModelKey) -> tuple[Rate, ...]:
        """Every served rate of a model in the snapshot, current and announced."""
        return self._rates.get(key, ())

    def witness_rates_at(self, key: ModelKey, at: datetime) -> dict[str, tuple[Rate, ...]]:
        """What each witness states for a model at ``at``, by witness source id."""
        return {
            source: tuple(r for r in rates if r.in_force(at))
            for source, rates in self._witness_rates.get(key, {}).items()
        }


def build_catalog(db: sqlite_utils.Database, registry: Registry, *, now: datetime) -> Catalog:
    """Read the current knowledge from SQLite into a new snapshot (at start and after commits).

    Every read sees one committed state, so the version and the rows always belong together.
    """
    with read_snapshot(db):
        return _build_catalog(db, registry, now=now)


def _build_catalog(db: sqlite_utils.Database, registry: Registry, *, now: datetime) -> Catalog:
    version = data_version(db)
    rows = current_rate_rows(db, now)
    by_lane: dict[str, dict[ModelKey, list[Rate]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        by_lane[row["lane"]][(row["provider"], row["model"])].append(rate_from_row(row))
    official = by_lane.get(OFFICIAL_LANE, {})
    official_providers = {p for p, _ in official}
    served: dict[ModelKey, tuple[Rate, ...]] = {k: tuple(v) for k, v in official.items()}
    served_from = {k: OFFICIAL_LANE for k in official}
    long_tail = by_lane.get(registry.designated_witness, {}) if registry.designated_witness else {}
    for key, rates in long_tail.items():
        if key[0] not in official_providers:
            served[key] = tuple(as_witness(r) for r in rates)
            served_from[key] = registry.designated_witness
    for key, (lane, rates) in witness_only_models(by_lane, registry, official_providers, confirmed_reads(db)).items():
        served[key] = rates
        served_from[key] = lane
    # Rates the providers' stated rules give where the pages print none (service/tier_rules.py).
    served = {key: tuple(with_derived(rates)) for key, rates in served.items()}
    witness_rates: dict[ModelKey, dict[str, tuple[Rate, ...]]] = defaultdict(dict)
    for lane, models in by_lane.items():
        if lane == OFFICIAL_LANE:
            continue
        for key, rates in models.items():
            if key in served:
                witness_rates[key][lane] = tuple(rates)
    models = _model_infos(db, served_from)
    providers = provider_names(db)
    return Catalog(
        version=version,
        built_at=now,
        models=models,
        rates=served,
        witness_rates=dict(witness_rates),
        providers={p: providers.get(p, p) for p in sorted({k[0] for k in served})},
    )


def witness_only_models(
    by_lane: dict[str, dict[ModelKey, list[Rate]]], registry: Registry, official_providers: set[str],
    reads: dict[str, datetime],
) -> dict[ModelKey, tuple[str, tuple[Rate, ...]]]:
    """Models of providers with an authoritative page that only witnesses list, seen after the page's last read.

    A newer model reaches users before its provider's page is read again: it is served from
    the witness that lists it (one naming the provider before the catch-all aggregators, then
    the latest seen), basis ``witness``, each rate noting how many of the witnesses listing the
    model agree on it. Once the page lists the model it has official rates and this no longer
    applies; a witness row older than the page's last read names a model the page dropped.
    Only models the bundled model catalog (data/models) names as active qualify.
    """
    official = by_lane.get(OFFICIAL_LANE, {})
    witnesses = {s.id: s for s in registry.sources.values() if s.role == "witness"}
    # Only API ids the bundled model catalog names as active: aggregators also list retired models
    # and their own spellings of dated snapshots, which are no newer model.
    known = {(e.provider, e.model) for e in catalog_entries() if e.status == "active"}
    found: dict[ModelKey, list[str]] = defaultdict(list)
    for lane, models in by_lane.items():
        if lane not in witnesses:
            continue
        for key, rates in models.items():
            if key[0] not in official_providers or key in official or key not in known:
                continue
            source = registry.authoritative_for(key[0])
            page_read = reads.get(source.id) if source else None
            if page_read is not None and max(r.observed_at for r in rates) <= page_read:
                continue
            found[key].append(lane)
    served: dict[ModelKey, tuple[str, tuple[Rate, ...]]] = {}
    for key, lanes in found.items():
        def rank(lane: str) -> tuple:
            return (key[0] in witnesses[lane].providers, max(r.observed_at for r in by_lane[lane][key]), lane)

        lane = max(lanes, key=rank)
        others = {other: {r.key: r.usd_per_mtok for r in by_lane[other][key]} for other in lanes}
        rates = []
        for rate in by_lane[lane][key]:
            agree = sorted(o for o, values in others.items() if values.get(rate.key, _MISSING) == rate.usd_per_mtok)
            note = (f"served from witness {lane}: {key[0]}'s own page does not list {key[1]};"
                    f" {len(agree)} of {len(lanes)} witnesses listing it agree ({', '.join(agree)})")
            rates.append(as_witness(msgspec.structs.replace(rate, note=note)))
        served[key] = (lane, tuple(rates))
    return served


_MISSING = object()


def _model_infos(db: sqlite_utils.Database, served_from: dict[ModelKey, str]) -> dict[ModelKey, ModelInfo]:
    aliases: dict[ModelKey, list[str]] = defaultdict(list)
    for row in alias_rows(db):
        aliases[(row["provider"], row["model"])].append(row["alias"])
    infos: dict[ModelKey, ModelInfo] = {}
    for row in model_rows(db):
        key = (row["provider"], row["model"])
        if key not in served_from:
            continue
        infos[key] = ModelInfo(
            provider=key[0],
            model=key[1],
            display_name=row["display_name"],
            status=row["status"] if row["listed"] else "no_longer_listed",
            listed=bool(row["listed"]),
            aliases=tuple(a for a in aliases[key] if a != key[1]),
            served_from=served_from[key],
        )
    return infos


def sync_model_catalog(db: sqlite_utils.Database, *, now: datetime) -> None:
    """Load data/models/*.toml into the models and aliases tables (display names, status, aliases)."""
    stamp = to_db(now)
    with write_transaction(db):
        for entry in catalog_entries():
            aliases = [(name_key(alias), alias) for alias in (entry.display_name, *entry.aliases)]
            upsert_catalog_model(db, provider=entry.provider, model=entry.model, display_name=entry.display_name,
                                 status=entry.status, aliases=aliases, stamp=stamp)


def as_witness(rate: Rate) -> Rate:
    """A long-tail rate served from a witness is flagged with that basis."""
    if rate.basis == "not_offered":
        return rate
    return msgspec.structs.replace(rate, basis="witness", note=rate.note or f"served from witness {rate.source_id}")
