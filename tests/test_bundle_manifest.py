"""The bundle, stated once: what data/snapshots.toml lists and what a fresh clone serves from it.

Other tests never hard-code how many models, rates or changesets the bundled
data gives; they read :data:`BUNDLE` (or count for themselves). Adding a newer
bundled page changes these numbers here, in one place, and this test says which
moved. The manifest itself is checked too: every bundled page is listed once,
stored once (tests/fixtures/ keeps only test-only pages), has a golden file,
reads with no skipped section, and ingests without a failed run.
"""

import filecmp
import tomllib

import pytest
from ratecard import data as ratecard_data

from ratecard.scrapers import get_parser
from ratecard.service.queries import served_lanes
from tests.conftest import FIXTURES

SNAPSHOTS = ratecard_data.path("snapshots")

# What the bundled data gives at the tests' fixed "now" (2026-11-20 12:00 UTC).
BUNDLE = {
    "changesets": 36,  # every changeset id, the bundled pages' first and then the curated history's
    "applied_changesets": 35,  # /v1/changes and the feed: one entry each
    "priced_models": 229,  # models the catalog prices
    "rates_in_force": 1422,  # stored rows served an hour before "now", every tier, kind and threshold
    "witness_rates_in_force": 192,  # of those, served from the designated witness (models.dev)
    "output_rates_in_force": 400,  # of those, kind=output
    "derived_rates_in_force": 47,  # beside them in /v1/prices: what the stated tier rules derive then
    "rate_boundaries": 33,  # distinct moments a stored rate starts or ends
    "official_models": 147,  # models served from a provider's own page
    "witness_only_models": 82,  # models served from models.dev (no page of their own)
    "hidden_witness_models": 422,  # models.dev models of providers with a page, not served
}
# The curated history (data/curated/) records this many changesets after the bundled pages'.
CURATED_CHANGESETS = 19


def manifest() -> list[dict]:
    return tomllib.loads(ratecard_data.path("snapshots.toml").read_text(encoding="utf-8"))["snapshots"]


def test_every_bundled_page_is_listed_once_and_stored_once() -> None:
    listed = [entry["file"] for entry in manifest()]
    assert len(listed) == len(set(listed))
    on_disk = sorted(str(p.relative_to(SNAPSHOTS)) for p in SNAPSHOTS.glob("*/*") if p.is_file())
    assert sorted(listed) == on_disk
    for name in listed:
        # tests read bundled pages from data/snapshots/; a copy under tests/fixtures/ would drift apart
        assert not (FIXTURES / name).exists(), f"{name} is stored twice"
        assert (FIXTURES / (name + ".expected.json")).exists(), f"{name} has no golden file"
    pages = [p for p in FIXTURES.glob("*/*") if p.suffix not in (".json", ".txt") or not p.name.endswith(
        (".expected.json", ".rejected.txt"))]
    for page in pages:
        assert not any(filecmp.cmp(page, SNAPSHOTS / name, shallow=False) for name in listed), page


@pytest.mark.parametrize("entry", manifest(), ids=lambda e: e["file"])
def test_every_bundled_page_reads_whole(entry: dict) -> None:
    reading = get_parser(entry["source"])((SNAPSHOTS / entry["file"]).read_bytes(), entry["url"])
    assert reading.observations and reading.skipped == []


def test_the_bundle_ingests_without_a_failed_run(bundled_service) -> None:
    runs = list(bundled_service.db.query("SELECT source_id, status, error FROM runs WHERE trigger = 'bundled'"))
    assert len(runs) == len(manifest())
    assert not [r for r in runs if r["status"] == "failed"], runs
    quarantined = {r["source_id"] for r in runs if r["status"] == "quarantined"}
    approved = {e["source"] for e in manifest() if e.get("approve")}
    assert quarantined <= approved


def test_the_bundle_counts(bundled_service, client) -> None:
    db = bundled_service.db
    moment = {"as_of": "2026-11-20T11:00:00Z", "limit": 1}
    lanes = [info.served_from for info in bundled_service.catalog.models.values()]
    counts = {
        "changesets": db.execute("SELECT max(id) FROM changesets").fetchone()[0],
        "official_models": lanes.count("official"),
        "witness_only_models": lanes.count("models-dev"),
        "hidden_witness_models": len(served_lanes(bundled_service).hidden) // 2,
        "applied_changesets": db.execute("SELECT count(*) FROM changesets WHERE status = 'applied'").fetchone()[0],
        "priced_models": len(bundled_service.catalog.models),
        "rates_in_force": client.get("/v1/prices", params=moment).json()["total"],
        "output_rates_in_force": client.get("/v1/prices", params={**moment, "kind": "output"}).json()["total"],
        "rate_boundaries": len({m for (m,) in db.execute(
            "SELECT valid_from FROM rates UNION SELECT valid_to FROM rates WHERE valid_to IS NOT NULL")}),
    }
    rows = client.get("/v1/prices", params={**moment, "limit": 5000}).json()["rates"]
    derived = [r for r in rows if r["source"] == "tier-rules"]  # derived when read, never stored
    counts["rates_in_force"] -= len(derived)
    counts["output_rates_in_force"] -= sum(r["kind"] == "output" for r in derived)
    counts["witness_rates_in_force"] = sum(r["basis"] == "witness" for r in rows)
    counts["derived_rates_in_force"] = len(derived)
    assert counts == BUNDLE
