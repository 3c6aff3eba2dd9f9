"""The application layer's queries: what the HTTP handlers and the CLI both ask of the catalog.

Resolve a model, the moment of an ``as_of``/``version``, the rates served at a
moment, a page of them, the models priced then, what the witnesses said, and the
knowledge a history read shows. Current answers come from the in-memory snapshot;
past ones from SQLite (service.history), through the service's store. No HTTP
types here: a query that cannot be answered raises an :class:`ApiError`
(a problem detail), which the HTTP layer writes and the CLI prints.
"""

from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from ratecard.scrapers.redact import redact_url
from ratecard.service.agreement import AgreementReport, agreement_report, catalog_rates_at
from ratecard.service.catalog import AmbiguousModel, ModelKey, UnknownModel, as_witness
from ratecard.service.context import Service
from ratecard.service.db import data_version, read_snapshot
from ratecard.service.errors import ApiError, bad_parameter
from ratecard.service.export import EXPORT_FORMATS, EXPORT_SCOPES, served_history
from ratecard.service.history import (
    AsOfFilter,
    InForceCounts,
    Served,
    changeset_time,
    changesets_page,
    in_force_counts,
    page_as_of,
    priced_models_as_of,
    rates_as_of,
    served_lanes_of,
    tier_spans,
    gap_note,
    version_known_at,
)
from ratecard.scrapers.vocabulary import TIERS
from ratecard.service.context import TIER_SPANS
from ratecard.service.freshness import freshness_token, source_freshness
from ratecard.service.rate_index import unpriced_tiers
from ratecard.service.rates import Rate, stated_at
from ratecard.service.schemas import ChangeOut, ChangesetOut, HistoryResponse, UnpricedTierOut
from ratecard.service.sources import OFFICIAL_LANE
from ratecard.service.tier_rules import TIER_RULES_SOURCE, in_force_with_derived, ruled_providers, with_rule_spans
from ratecard.service.timeutil import from_db, parse_moment


def resolve(service: Service, name: str, provider: str | None = None) -> ModelKey:
    """Resolve a model name, or raise a 404 with suggestions / a 400 for an ambiguous name."""
    try:
        return service.catalog.resolve(name, provider)
    except UnknownModel as exc:
        where = f" for provider {provider!r}" if provider else ""
        raise ApiError(
            404, "unknown-model", "Unknown model", f"no model named {name!r}{where}", suggestions=exc.suggestions
        ) from None
    except AmbiguousModel as exc:
        raise ApiError(
            400, "ambiguous-model", "Ambiguous model",
            f"{name!r} names models of several providers; use provider/model", suggestions=exc.candidates,
        ) from None


def moment(service: Service, as_of: str | None, version: int | None) -> tuple[datetime, int | None]:
    """The moment (and version) a read is answered for; now when neither is given."""
    at = None
    if as_of is not None:
        try:
            at = parse_moment(as_of)
        except ValueError as exc:
            raise bad_parameter("as_of", str(exc)) from None
    if version is not None:
        if version > service.catalog.version:
            raise bad_parameter("version", f"no catalog version {version}; the latest is {service.catalog.version}")
        committed = changeset_time(service.store.reader(), version)
        if committed is None:
            raise bad_parameter("version", f"{version} is not an applied changeset")
        return (at or committed), version
    return (at or service.clock()), None


def rates_for(service: Service, at: datetime, version: int | None, key: ModelKey | None = None) -> Sequence[Rate]:
    """Served rates at a moment: from the snapshot when it covers the moment, else from SQLite.

    For one model from the snapshot this is the snapshot's own tuple, the same object
    until the model's prices change, so the estimator's index cache hits on it.
    """
    catalog = service.catalog
    if version is None and at >= catalog.built_at:
        if key:
            return catalog.rates_at(key, at)
        return [r for k in catalog.models for r in catalog.rates_at(k, at)]
    db = service.store.reader()
    if key and key[0] in ruled_providers():
        # Derived from the served history, not the rows in force at `at`: a derived interval ends where a
        # later printed rate begins, as the model's history shows it (service.tier_rules.in_force_with_derived).
        return in_force_with_derived(served_history(db, catalog, provider=key[0], model=key[1], version=version), at)
    if key:  # no rule covers the provider: the rows in force are the answer
        return [_served_row(r, at) for r in rates_as_of(db, at, served=served_lanes(service), provider=key[0],
                                                         model=key[1], version=version)]
    # The whole catalog: the stored rows in force, and the rates the rules derive then.
    stored = [_served_row(r, at) for r in rates_as_of(db, at, served=served_lanes(service), version=version)]
    return sorted([*stored, *derived_in_force(service, at, version, AsOfFilter())], key=_answer_order)


def _served_row(rate: Rate, at: datetime) -> Rate:
    """A stored row as served: an official one with the statement in force at ``at``, a witness's as a witness."""
    return stated_at(rate, at) if rate.lane == OFFICIAL_LANE else as_witness(rate)


def _answer_order(rate: Rate) -> tuple:
    """The order rate rows are listed in, the SQL pages' own (service.history.page_as_of)."""
    return rate.provider, rate.model, rate.tier, rate.kind, rate.min_prompt_tokens, rate.lane


def derived_in_force(service: Service, at: datetime, version: int | None, chosen: AsOfFilter) -> list[Rate]:
    """The rates the providers' rules derive (service.tier_rules) in force at ``at`` that ``chosen`` selects.

    Derived from each ruled provider's whole served history, as known now or at
    ``version`` (a derived interval ends where a later printed rate begins), once
    per snapshot: the derived intervals are few, so each answer only filters them.
    """
    found = []
    for provider in ruled_providers():
        if chosen.provider in (None, provider) and provider in service.catalog.providers:
            found += [r for r in _derived_intervals(service, provider, version) if r.in_force(at)
                      and chosen.model in (None, r.model) and chosen.tier in (None, r.tier)
                      and chosen.kind in (None, r.kind)]
    return sorted(found, key=_answer_order)


def _derived_intervals(service: Service, provider: str, version: int | None) -> list[Rate]:
    catalog = service.catalog
    memo_key = ("derived", provider, version)
    found = catalog.memo.get(memo_key)
    if found is None:
        db = service.store.reader()
        with read_snapshot(db):
            found = [r for r in served_history(db, catalog, provider=provider, version=version)
                     if r.source_id == TIER_RULES_SOURCE]
            current = version is not None or data_version(db) == catalog.version
        if not current:  # the database moved past the snapshot: its own answer, not the snapshot's memo
            return found
        catalog.memo[memo_key] = found
    return found  # type: ignore[return-value]


def tier_knowledge(service: Service, key: ModelKey, at: datetime, version: int | None):
    """(the tiers the model has at some moment, a function saying when a tier's prices are recorded).

    The tiers come from the served snapshot for current answers and from the model's stored
    history for past ones. The spans a note reads are the snapshot's as known now (read with
    it, off the event loop: service.context.with_tier_spans), else SQLite's at ``version``.
    """
    catalog = service.catalog
    lane = catalog.models[key].served_from if key in catalog.models else OFFICIAL_LANE
    memo_key = ("tier-spans", key, version)

    def spans() -> dict:
        found = catalog.memo.get(memo_key)
        if found is None:
            stored = (catalog.memo.get(TIER_SPANS, {}).get((lane, key[0], key[1]), {}) if version is None  # type: ignore[union-attr]
                      else tier_spans(service.store.reader(), key[0], key[1], lane=lane, version=version))
            found = catalog.memo[memo_key] = with_rule_spans(stored, key[0], key[1])
        return found  # type: ignore[return-value]

    if version is None and at >= catalog.built_at:
        known = catalog.memo.get(("tiers", key))
        if known is None:
            known = catalog.memo[("tiers", key)] = tuple(dict.fromkeys(r.tier for r in catalog.all_rates(key)))
    else:
        found = spans()
        known = tuple(t for t in (*TIERS, *sorted(found)) if t in found)
        known = tuple(dict.fromkeys(known))
    return known, lambda tier: gap_note(spans(), tier, at)


def answer_gaps(service: Service, key: ModelKey, at: datetime, version: int | None,
                tier: str | None, rates: Sequence[Rate] | None = None) -> list[UnpricedTierOut]:
    """A model's tiers without a price at ``at`` (only ``tier`` when given): not offered, or unknown and why.

    ``rates``: the model's rates at ``at`` when the caller holds them all, else they are read.
    """
    known, note = tier_knowledge(service, key, at, version)
    rates = rates_for(service, at, version, key) if rates is None else rates
    return [UnpricedTierOut(provider=key[0], model=key[1], tier=t, state=state, reason=reason)
            for t, state, reason in unpriced_tiers(key[0], key[1], rates, known, note) if tier in (None, t)]


def page_gaps(service: Service, at: datetime, version: int | None, chosen: AsOfFilter, page: Sequence[Rate], *,
              offset: int, limit: int, total: int) -> list[UnpricedTierOut]:
    """The gaps (as :func:`answer_gaps`) of the models a page of the catalog covers, ``chosen.tier``'s only when given.

    A page covers the models priced at ``at`` from its first row's model to its last
    row's; the first page from the start and the last to the end, so the pages together
    cover every priced model, also those the tier or kind filter leaves without a row.
    """
    if not page and offset > 0 and total > 0:  # past the last page: the earlier pages covered every model
        return []
    low = (page[0].provider, page[0].model) if page and offset > 0 else None
    high = (page[-1].provider, page[-1].model) if page and offset + limit < total else None
    keys = sorted(k for k in priced_models(service, at, version) if chosen.provider in (None, k[0])
                  and (low is None or k >= low) and (high is None or k <= high))
    # A model strictly inside an unfiltered page has all its rates on it; the others are read.
    whole: dict[ModelKey, list[Rate]] = {}
    if chosen.tier is None and chosen.kind is None:
        for rate in page:
            whole.setdefault((rate.provider, rate.model), []).append(rate)
        for edge in (low, high):  # a model the page starts or ends in may go on beyond it
            whole.pop(edge, None)  # type: ignore[arg-type]
    return [gap for key in keys for gap in answer_gaps(service, key, at, version, chosen.tier, whole.get(key))]


def witness_warnings(service: Service, keys: set[ModelKey]) -> list[str]:
    """A warning for each model in ``keys`` served from a witness although its provider has its own page."""
    out = []
    for key in sorted(keys):
        info = service.catalog.models.get(key)
        if info is None or info.served_from in (OFFICIAL_LANE, service.registry.designated_witness):
            continue
        out.append(f"{key[0]}/{key[1]} rates read from {info.served_from} (a witness), not {key[0]}'s own page,"
                   " which does not list the model yet")
    return out


def stale_sources(service: Service) -> list[str]:
    """The enabled sources whose last confirmed read is older than their threshold (readiness reports them)."""
    reads, now = service.confirmed[1], service.clock()
    return [s.id for s in service.registry.sources.values() if s.enabled and source_freshness(
        s, reads, now=now, default_hours=service.settings.stale_after_hours).stale]


def prices_page(
    service: Service, at: datetime, version: int | None, chosen: AsOfFilter, *, limit: int, offset: int
) -> tuple[list[Rate], int]:
    """A page of served rates at a moment and the count of all of them.

    From the snapshot when it covers the moment; else paged in SQL, so a page
    of a past catalog costs its rows, not the whole catalog's.
    """
    catalog = service.catalog
    if version is None and at >= catalog.built_at:
        key = (chosen.provider, chosen.model) if chosen.model else None
        rows = [
            r for r in rates_for(service, at, None, key)
            if (chosen.provider is None or r.provider == chosen.provider)
            and (chosen.tier is None or r.tier == chosen.tier) and (chosen.kind is None or r.kind == chosen.kind)
        ]
        return rows[offset : offset + limit], len(rows)
    chosen = chosen._replace(served=served_lanes(service))
    counts = in_force_counts_of(service, chosen) if version is None and chosen.model is None else None
    if chosen.model is not None:  # one model: with the rates the providers' rules derive (service.tier_rules)
        rows = [r for r in rates_for(service, at, version, (chosen.provider, chosen.model))
                if (chosen.tier is None or r.tier == chosen.tier) and (chosen.kind is None or r.kind == chosen.kind)]
        return rows[offset : offset + limit], len(rows)
    db = service.store.reader()
    page, total = with_extra_rows(
        lambda start, count: page_as_of(db, at, chosen, version=version, limit=count, offset=start, counts=counts),
        derived_in_force(service, at, version, chosen), offset=offset, limit=limit,
    )
    return [r if r.source_id == TIER_RULES_SOURCE else _served_row(r, at) for r in page], total


def with_extra_rows(
    page_of: Callable[[int, int], tuple[list[Rate], int]], extra: list[Rate], *, offset: int, limit: int
) -> tuple[list[Rate], int]:
    """A page of the union of a paged list (``page_of(offset, limit)`` -> page, total) and a short list ``extra``.

    Both are in answer order. The page is read ``len(extra)`` rows early and ``len(extra)``
    rows long, so it holds every paged row that can share the asked page with an extra
    one: an extra row before the first row read lies before the asked page, one after
    the last (in a full read) lies after it. The paged rows still cost about a page.
    """
    if not extra:
        return page_of(offset, limit)
    start = max(0, offset - len(extra))
    window, total = page_of(start, limit + len(extra))
    if not window and start > 0:  # past the end of the union
        return [], total + len(extra)
    first = _answer_order(window[0]) if window and start > 0 else None
    last = _answer_order(window[-1]) if len(window) == limit + len(extra) else None  # else the read reached the end
    inside = [r for r in extra if (first is None or _answer_order(r) >= first)
              and (last is None or _answer_order(r) <= last)]
    # The union's index of merged[0]: the rows read before it, and the extra rows that sort before those.
    base = start + sum(1 for r in extra if first is not None and _answer_order(r) < first)
    merged = sorted([*window, *inside], key=_answer_order)
    return merged[offset - base : offset - base + limit], total + len(extra)


def in_force_counts_of(service: Service, chosen: AsOfFilter) -> InForceCounts | None:
    """The snapshot's per-model counts for a provider/tier/kind filter, taken on first use.

    None when the database has moved past the snapshot (a commit whose new
    snapshot is not swapped in yet): the page then counts for itself.
    """
    catalog = service.catalog
    memo_key = ("in-force-counts", chosen.provider, chosen.tier, chosen.kind)
    counts = catalog.memo.get(memo_key)
    if counts is None:
        counts = in_force_counts(service.store.reader(), chosen)
        if counts.version != catalog.version:
            return None
        catalog.memo[memo_key] = counts
    return counts


def priced_models(service: Service, at: datetime, version: int | None) -> set[ModelKey]:
    """The served models with a rate in force at a moment."""
    catalog = service.catalog
    if version is None and at >= catalog.built_at:
        return {k for k in catalog.models if catalog.rates_at(k, at)}
    served = served_lanes(service)
    counts = in_force_counts_of(service, AsOfFilter(served=served)) if version is None else None
    if counts is not None:
        return {key for key, _ in counts.by_model(at)}
    return priced_models_as_of(service.store.reader(), at, served=served, version=version)


def served_lanes(service: Service) -> Served:
    """The snapshot's lane choice for SQL reads of the past, worked out once per snapshot."""
    catalog = service.catalog
    served = catalog.memo.get(("served",))
    if served is None:
        served_from = {key: info.served_from for key, info in catalog.models.items()}
        served = served_lanes_of(service.store.reader(), served_from, service.registry.designated_witness)
        catalog.memo[("served",)] = served
    return served


def agreement_for(
    service: Service,
    at: datetime,
    version: int | None,
    *,
    key: ModelKey | None = None,
    provider: str | None = None,
    witnesses: list[str] | None = None,
) -> AgreementReport:
    """What the witnesses said of the official rates at a moment, as known now or at ``version``.

    From the snapshot when it covers the moment, else from SQLite (every
    witness lane of the registry); models are served from today's lane either way.
    """
    catalog = service.catalog
    if version is None and at >= catalog.built_at:
        official, stated = catalog_rates_at(catalog, at, provider=provider, model_key=key)
    else:
        witness_lanes = sorted(s.lane for s in service.registry.sources.values() if s.role == "witness")
        rows = rates_as_of(service.store.reader(), at, lanes=(OFFICIAL_LANE, *witness_lanes), provider=key[0] if key else provider,
                           model=key[1] if key else None, version=version)
        officially_served = {k for k, info in catalog.models.items() if info.served_from == OFFICIAL_LANE}
        rows = [r for r in rows if (r.provider, r.model) in officially_served]
        official = [r for r in rows if r.lane == OFFICIAL_LANE]
        stated = [r for r in rows if r.lane != OFFICIAL_LANE]
    return agreement_report(official, stated, at=at, catalog_version=version or catalog.version, witnesses=witnesses)


def knowledge(service: Service, as_of: str | None, version: int | None) -> tuple[datetime, int]:
    """The knowledge a history read shows: (as of when, catalog version).

    ``version`` is a changeset; ``as_of`` is a moment, meaning the newest
    changeset committed by then (version 0 before the first), never past the
    served snapshot's. Given both, the earlier knowledge wins. Neither: now
    and the current version.
    """
    at, ver = moment(service, as_of, version)  # 400s naming as_of or version
    if as_of is not None:
        by_then = min(version_known_at(service.store.reader(), at) or 0, service.catalog.version)
        ver = by_then if ver is None else min(ver, by_then)
    return at, service.catalog.version if ver is None else ver


def changeset_out(cs: dict, changes: list[dict]) -> ChangesetOut:
    """Shape a stored changeset and its changes for the API."""
    def dec(text: str | None) -> Decimal | None:
        return None if text is None else Decimal(text)

    return ChangesetOut(
        id=cs["id"], created_at=from_db(cs["created_at"]), source=cs["source_id"], status=cs["status"],
        reason=cs["reason"], origin_id=cs["origin_id"],
        changes=[
            ChangeOut(
                action=c["action"], provider=c["provider"], model=c["model"], tier=c["tier"], kind=c["kind"],
                min_prompt_tokens=c["min_prompt_tokens"], old_usd_per_mtok=dec(c["old_usd_per_mtok"]),
                new_usd_per_mtok=dec(c["new_usd_per_mtok"]), old_basis=c["old_basis"], new_basis=c["new_basis"],
                valid_from=from_db(c["valid_from"]), source=c["source_id"], url=redact_url(c["url"]),
            )
            for c in changes
        ],
    )


def epoch_salt(service: Service, as_of: str | None, version: int | None) -> str:
    """ETag salt for price answers: changes when an announced price takes effect (current answers)
    and, for every answer, when its freshness does (a new confirmed read, a source going stale)."""
    fresh = freshness_token(service)
    if as_of or version:
        return fresh
    return f"{service.catalog.epoch(service.clock())}-{fresh}"


def model_history_at(service: Service, key: ModelKey, as_of: str | None, version: int | None) -> HistoryResponse:
    """A model's intervals of its served lane, as known now or at ``as_of`` / ``version`` (see :func:`knowledge`).

    Pinned to the served snapshot's version: another process may have committed a changeset
    the snapshot has not picked up yet, and the answer must hold what the version it names
    held. So the current history is a function of the snapshot alone, and is kept with it.
    """
    catalog = service.catalog
    lane = catalog.models[key].served_from
    at, known = (None, None) if as_of is None and version is None else knowledge(service, as_of, version)
    memo_key = ("history", key, lane)
    body = catalog.memo.get(memo_key) if known is None else None
    if body is None:
        # With the intervals the providers' stated rules derive (basis derived), as prices answers, the
        # CLI's history and its plot show them: one reading (service.export.served_history).
        intervals = served_history(service.store.reader(), catalog, provider=key[0], model=key[1],
                                   version=catalog.version if known is None else known)
        body = HistoryResponse(
            catalog_version=catalog.version if known is None else known, provider=key[0], model=key[1],
            intervals=intervals, as_of=at,
        )
        if known is None:
            catalog.memo[memo_key] = body
    return body


def changesets(service: Service, **filters) -> list[ChangesetOut]:
    """Changesets with their changes, newest first, shaped for answers (filters: ``changesets_page``'s)."""
    return [changeset_out(cs, changes) for cs, changes in changesets_page(service.store.reader(), **filters)]


def check_provider(service: Service, provider: str | None) -> None:
    """A 404 with suggestions unless ``provider`` is None or a provider of the catalog."""
    if provider is not None and provider not in service.catalog.providers:
        raise ApiError(404, "unknown-provider", "Unknown provider", f"no provider {provider!r}",
                       suggestions=sorted(service.catalog.providers))


def select_export(service: Service, *, format_: str, scope: str, as_of: str | None, version: int | None,
                  provider: str | None) -> "ExportSelection":
    """The rates an export holds, as ``/v1/export`` and ``ratecard export`` pick them; a 400/404 problem if invalid.

    The history scope and past moments read SQLite: off the event loop (``service.store.run``).
    """
    for name, value, allowed in (("format", format_, EXPORT_FORMATS), ("scope", scope, EXPORT_SCOPES)):
        if value not in allowed:
            raise bad_parameter(name, f"{value!r} is not one of {', '.join(allowed)}")
    check_provider(service, provider)
    if scope == "history":
        if format_ == "litellm":
            raise bad_parameter("format", "a LiteLLM price map holds one price per rate: use scope=catalog")
        return _history_selection(service, as_of, version, provider)
    return _catalog_selection(service, as_of, version, provider)


class ExportSelection(NamedTuple):
    """The rates an export holds and how its answer may be cached."""

    rates: list[Rate]
    at: datetime
    version: int | None
    etag_extra: str
    max_age_s: int


def _catalog_selection(service: Service, as_of: str | None, version: int | None, provider: str | None) -> ExportSelection:
    at, ver = moment(service, as_of, version)
    rates = [r for r in rates_for(service, at, ver) if provider is None or r.provider == provider]
    # A current answer changes when an announced price takes effect, not only with a new version.
    etag_extra = "" if (as_of or version) else service.catalog.epoch(service.clock())
    return ExportSelection(rates, at, ver, etag_extra, 60)


def _history_selection(service: Service, as_of: str | None, version: int | None, provider: str | None) -> ExportSelection:
    if as_of is not None:
        raise bad_parameter("as_of", "scope=history exports every interval; use version to fix the knowledge")
    at, ver = moment(service, None, version)  # the same 400s for a version that is not an applied changeset
    rates = served_history(service.store.reader(), service.catalog, provider=provider,
                           version=service.catalog.version if ver is None else ver)  # the served snapshot's
    # History only changes with a new changeset, which changes the ETag's version.
    return ExportSelection(rates, at, ver, "", 300)
