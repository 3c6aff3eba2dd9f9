"""Past-moment prices are paged in SQL with the snapshot's lane choice; the pages must add up.

`GET /v1/prices?as_of=` before the snapshot no longer reads every row in force
and filters them in Python: the lane each model is served from, the filters
and the page are applied in one SQL statement (service/history.py). These
tests hold it to the plain reading - every row in force in the official and
designated-witness lanes, kept when its lane is the one the snapshot serves the
model from - on the bundled data, which has both: 121 models served from the
official pages and 82 long-tail models from models.dev, plus 436 models only
the other witnesses know, which are not served at all.
"""

import sqlite3
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import sqlite_utils
from litestar.testing import TestClient

from ratecard.service.app import Service
from ratecard.service.catalog import as_witness
from ratecard.service.db import MIGRATIONS, open_database
from ratecard.service.history import AsOfFilter, InForceCounts, in_force_counts, page_as_of, rates_as_of
from ratecard.service.queries import priced_models, served_lanes
from ratecard.service.sources import OFFICIAL_LANE
from ratecard.service.timeutil import from_db
from tests.test_as_of_everywhere import BEFORE_CURATED, GPT_4O_SWITCH, LATEST, O3_CUT
from tests.test_bundle_manifest import BUNDLE

# Moments around the curated history: before gpt-4o's alias switch, between it and o3's cut, after.
MOMENTS = [datetime(2024, 6, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 6, 9, 23, 59, 59, tzinfo=UTC),
           datetime(2025, 6, 10, tzinfo=UTC), datetime(2026, 11, 20, 11, 0, tzinfo=UTC)]


def reference(service: Service, at: datetime, version: int | None, chosen: AsOfFilter) -> list:
    """Every row in force in the served lanes, filtered in Python as the snapshot serves models."""
    # Every lane the snapshot serves a model from: a model only another witness lists is served from it.
    lanes = tuple(dict.fromkeys([OFFICIAL_LANE, service.registry.designated_witness,
                                 *(info.served_from for info in service.catalog.models.values())]))
    served = []
    for r in rates_as_of(service.db, at, lanes=lanes, version=version):
        info = service.catalog.models.get((r.provider, r.model))
        if info is None or r.lane != info.served_from:
            continue
        if any(v is not None and getattr(r, f) != v for f, v in
               (("provider", chosen.provider), ("model", chosen.model), ("tier", chosen.tier), ("kind", chosen.kind))):
            continue
        served.append(r if r.lane == OFFICIAL_LANE else as_witness(r))
    return served


def walk(service: Service, at: datetime, version: int | None, chosen: AsOfFilter, limit: int) -> tuple[list, set]:
    """Every page of the SQL read, and the totals each page reported."""
    rows, totals, offset = [], set(), 0
    while True:
        page, total = page_as_of(service.db, at, chosen._replace(served=served_lanes(service)), version=version,
                                 limit=limit, offset=offset)
        totals.add(total)
        if not page:
            return rows, totals
        rows += [r if r.lane == OFFICIAL_LANE else as_witness(r) for r in page]
        offset += limit


def test_the_bundled_data_has_both_lanes_and_unserved_models(bundled_service: Service) -> None:
    served = served_lanes(bundled_service)
    assert served.witness_lane == "models-dev"
    assert sorted(served.official_providers) == ["anthropic", "deepseek", "google", "groq", "mistral", "openai", "xai"]
    assert len(served.hidden) == 2 * BUNDLE["hidden_witness_models"]
    lanes = [info.served_from for info in bundled_service.catalog.models.values()]
    assert (lanes.count("official"), lanes.count("models-dev")) == (BUNDLE["official_models"],
                                                                     BUNDLE["witness_only_models"])


@pytest.mark.parametrize("at", MOMENTS, ids=lambda m: m.isoformat())
@pytest.mark.parametrize("version", [None, BEFORE_CURATED, GPT_4O_SWITCH, O3_CUT, LATEST])
def test_pages_add_up_to_the_plain_reading(bundled_service: Service, at: datetime, version: int | None) -> None:
    expected = reference(bundled_service, at, version, AsOfFilter())
    rows, totals = walk(bundled_service, at, version, AsOfFilter(), limit=97)
    assert rows == expected
    assert totals == {len(expected)}
    assert {(r.provider, r.model) for r in expected} == priced_models(bundled_service, at, version)


@pytest.mark.parametrize("chosen", [
    AsOfFilter(provider="openai"), AsOfFilter(provider="openrouter"), AsOfFilter(provider="openai", model="o3"),
    AsOfFilter(tier="batch"), AsOfFilter(kind="cache_write"), AsOfFilter(provider="anthropic", tier="standard",
                                                                          kind="input"),
], ids=repr)
def test_filters_page_like_the_plain_reading(bundled_service: Service, chosen: AsOfFilter) -> None:
    for at in MOMENTS:
        expected = reference(bundled_service, at, None, chosen)
        assert walk(bundled_service, at, None, chosen, limit=13) == (expected, {len(expected)})


def test_the_past_catalogs_in_numbers(bundled_service: Service) -> None:
    """What the pages above are checked against: rates, witness-served rates, models, o3's standard price.

    Scraped rows take effect when their page was seen, so before 2026 only the
    curated history is in force; an hour before the snapshot, everything is.
    """
    seen = []
    for at in MOMENTS:
        rates = reference(bundled_service, at, None, AsOfFilter())
        o3 = {(r.tier, r.kind): str(r.usd_per_mtok) for r in rates if r.model == "o3" and not r.min_prompt_tokens}
        seen.append((len(rates), sum(r.lane != OFFICIAL_LANE for r in rates), len({(r.provider, r.model) for r in rates}),
                     o3.get(("standard", "input")), o3.get(("standard", "output"))))
    assert seen == [(6, 0, 3, None, None), (15, 0, 6, None, None), (32, 0, 12, "10.00", "40.00"),
                    (32, 0, 12, "2.00", "8.00"),
                    (BUNDLE["rates_in_force"], BUNDLE["witness_rates_in_force"], BUNDLE["priced_models"], "2.00", "8.00")]


def test_http_pages_of_a_past_catalog(client: TestClient) -> None:
    """An hour before the snapshot is read from SQLite: every rate in force, in pages of 500.

    Nothing changed in that hour, so the pages add up to the current answer, the rates
    OpenAI's and Anthropic's stated rules derive included (service.tier_rules).
    """
    now = client.get("/v1/prices", params={"limit": 5000}).json()
    total = now["total"]
    derived = [r for r in now["rates"] if r["source"] == "tier-rules"]
    assert (total, len(derived)) == (BUNDLE["rates_in_force"] + BUNDLE["derived_rates_in_force"],
                                     BUNDLE["derived_rates_in_force"])
    moment = {"as_of": "2026-11-20T11:00:00Z", "limit": 500}
    offsets = range(0, total + 500, 500)
    pages = [client.get("/v1/prices", params={**moment, "offset": offset}).json() for offset in offsets]
    assert [(p["total"], len(p["rates"])) for p in pages] == [(total, max(0, min(500, total - o))) for o in offsets]
    keys = [(r["provider"], r["model"], r["tier"], r["kind"], r["min_prompt_tokens"]) for p in pages for r in p["rates"]]
    assert keys == sorted(keys) and len(set(keys)) == total
    assert [r for p in pages for r in p["rates"]] == now["rates"]
    witness = [r for p in pages for r in p["rates"] if r["basis"] == "witness"]
    # models.dev serves the long tail; claude.com the Anthropic models only it lists, if any (issue 17).
    assert len(witness) == BUNDLE["witness_rates_in_force"]
    assert {r["source"] for r in witness} <= {"models-dev", "claude-com"}


def test_the_per_model_counts_match_counting(bundled_service: Service) -> None:
    """The memoised counts agree with counting rows, model by model, at every moment a row starts or ends."""
    db = bundled_service.db
    boundaries = sorted({m for (m,) in db.execute(
        "SELECT valid_from FROM rates UNION SELECT valid_to FROM rates WHERE valid_to IS NOT NULL")})
    moments = [from_db(m) for m in boundaries] + [from_db(m) - timedelta(seconds=1) for m in boundaries] + MOMENTS
    assert len(boundaries) == BUNDLE["rate_boundaries"]
    for chosen in (AsOfFilter(), AsOfFilter(tier="batch"), AsOfFilter(kind="input"), AsOfFilter(provider="openai"),
                   AsOfFilter(tier="standard", kind="cache_write")):
        chosen = chosen._replace(served=served_lanes(bundled_service))
        counts = in_force_counts(db, chosen)
        assert counts.version == LATEST
        for at in moments:
            expected = Counter((r.provider, r.model) for r in reference(bundled_service, at, None, chosen))
            assert counts.by_model(at) == sorted(expected.items()), (chosen, at)
            assert counts.at(at) == sum(expected.values())


def test_pages_located_by_the_counts_match_walking_from_the_start(bundled_service: Service) -> None:
    """Every page, with the walk started at the model the counts name, equals the page walked from row one."""
    at = datetime(2026, 11, 20, 11, 0, tzinfo=UTC)
    for chosen in (AsOfFilter(), AsOfFilter(provider="openai"), AsOfFilter(kind="output")):
        chosen = chosen._replace(served=served_lanes(bundled_service))
        counts = in_force_counts(bundled_service.db, chosen)
        total = counts.at(at)
        for offset in [*range(0, total + 40, 37), total - 1, total, total + 1]:
            located = page_as_of(bundled_service.db, at, chosen, limit=37, offset=offset, counts=counts)
            walked = page_as_of(bundled_service.db, at, chosen, limit=37, offset=offset)
            assert located == walked, (chosen, offset)
    assert (total, located[1]) == (BUNDLE["output_rates_in_force"],) * 2  # kind=output: the last total checked


def test_counts_of_another_version_are_not_used(bundled_service: Service) -> None:
    """Counts taken before a commit that is not swapped in yet: the page counts for itself."""
    chosen = AsOfFilter(served=served_lanes(bundled_service))
    at = datetime(2026, 11, 20, 11, 0, tzinfo=UTC)
    steps = [("openai", "o3", int(datetime(2020, 1, 1, tzinfo=UTC).timestamp()), None, 7)]
    stale = InForceCounts(LATEST - 1, steps)
    assert (stale.at(at), stale.locate(at, 3)) == (7, (7, ("openai", "o3"), 3))
    assert page_as_of(bundled_service.db, at, chosen, limit=5, counts=stale)[1] == BUNDLE["rates_in_force"]
    assert page_as_of(bundled_service.db, at, chosen, limit=5, offset=10, counts=stale)[1] == BUNDLE["rates_in_force"]
    fresh = InForceCounts(LATEST, steps)  # trusted at its version: o3's rows from its fourth
    page, total = page_as_of(bundled_service.db, at, chosen, limit=2, offset=3, counts=fresh)
    assert total == 7 and [(r.model, r.tier, r.kind) for r in page] == [("o3", "batch", "output"),
                                                                           ("o3", "flex", "cache_write")]


def test_a_database_of_the_first_schema_gets_the_as_of_indexes(tmp_path) -> None:
    """An existing database (migration 1 only) is migrated on open, its rows kept."""
    path = tmp_path / "old.db"
    old = sqlite_utils.Database(sqlite3.connect(str(path), isolation_level=None))
    MIGRATIONS.apply(old, stop_before="m002_as_of_indexes")
    old.execute("INSERT INTO changesets (id, created_at, source_id, status, reason, added, changed, delisted)"
                " VALUES (1, '2025-01-01T00:00:00Z', 'curated', 'applied', '', 1, 0, 0)")
    old.execute("INSERT INTO rates (lane, provider, model, tier, kind, min_prompt_tokens, usd_per_mtok, basis,"
                " valid_from, changeset_id, source_id, url, body_sha256, observed_at) VALUES ('official', 'openai',"
                " 'o3', 'standard', 'input', 0, '2', 'published', '2025-06-10T00:00:00Z', 1, 'curated', 'u', 's',"
                " '2025-06-10T00:00:00Z')")
    old.conn.close()
    db = open_database(path)
    indexes = {row[0]: row[1] for row in db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index'")}
    assert "(provider, model, tier, kind, min_prompt_tokens, lane, valid_from, valid_to)" in indexes["rates_current"]
    assert "(provider, model, valid_from, valid_to, lane, tier, kind)" in indexes["rates_in_force"]
    (rate,) = rates_as_of(db, datetime(2025, 7, 1, tzinfo=UTC))
    assert (rate.model, str(rate.usd_per_mtok)) == ("o3", "2")
