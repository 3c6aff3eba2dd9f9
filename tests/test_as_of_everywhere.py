"""`as_of` and `version` on every read endpoint and the estimate, over HTTP.

On the bundled data (real curated history: o3 went from $10/$40 to $2/$8 on
2025-06-10; the `gpt-4o` alias moved from the 2024-05-13 snapshot, $5/$15, to
the 2024-08-06 one, $2.50/$10, on 2024-10-02), and on a small curated file
loaded through the real curated path with a promotion that ends and an
announced future price, to check both are served with their dates.
"""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from litestar.testing import TestClient

from ratecard.service.app import Settings, create_app, prepare_service
from ratecard.service.curated import load_curated
from ratecard.service.db import open_database
from tests.conftest import FIXED_NOW
from tests.test_api import exact, rates_by_key
from tests.test_bundle_manifest import BUNDLE, CURATED_CHANGESETS

# Changesets of the bundled database (tests/conftest.py): first the bundled pages', then the
# curated history in effective-date order, whose 6th records the gpt-4o alias switch of
# 2024-10-02, 11th o3's launch prices and 13th its cut of 2025-06-10. All are committed at
# FIXED_NOW. How many the pages make is stated once, in tests/test_bundle_manifest.py.
LATEST = BUNDLE["changesets"]
BEFORE_CURATED = LATEST - CURATED_CHANGESETS
GPT_4O_SWITCH, O3_LAUNCH, O3_CUT = BEFORE_CURATED + 6, BEFORE_CURATED + 11, BEFORE_CURATED + 13


def standard(body: dict) -> tuple:
    rates = rates_by_key(body)
    return rates[("standard", "input", 0)], rates[("standard", "output", 0)]


def model_keys(body: dict) -> list[tuple[str, str]]:
    return [(m["provider"], m["model"]) for m in body["models"]]


def provider_counts(body: dict) -> list[tuple[str, int]]:
    return [(p["id"], p["models"]) for p in body["providers"]]


def standard_inputs(body: dict) -> list[tuple]:
    return [
        (i["usd_per_mtok"], i["valid_from"][:10], i["valid_to"] and i["valid_to"][:10], i["changeset_id"])
        for i in body["intervals"] if i["tier"] == "standard" and i["kind"] == "input" and not i["min_prompt_tokens"]
    ]


# ------------------------------------------------------------------ /v1/models, /v1/providers


def test_models_as_of_lists_only_the_models_priced_then(client):
    body = exact(client.get("/v1/models", params={"as_of": "2024-06-01"}))
    assert model_keys(body) == [("anthropic", "claude-3-haiku"), ("openai", "gpt-4o"), ("openai", "gpt-4o-2024-05-13")]
    assert body["total"] == 3 and body["as_of"] == "2024-06-01T00:00:00Z" and body["catalog_version"] == LATEST
    # On the day of the alias switch the 2024-08-06 snapshot and GPT-4o mini are priced too.
    body = exact(client.get("/v1/models", params={"as_of": "2024-10-02", "provider": "openai"}))
    assert model_keys(body) == [("openai", "gpt-4o"), ("openai", "gpt-4o-2024-05-13"),
                                ("openai", "gpt-4o-2024-08-06"), ("openai", "gpt-4o-mini")]
    assert exact(client.get("/v1/models", params={"as_of": "2024-01-01"}))["total"] == 0


def test_models_at_a_version_leave_out_what_later_changesets_added(client):
    now = exact(client.get("/v1/models"))
    assert now["as_of"] is None and now["catalog_version"] == LATEST
    before = exact(client.get("/v1/models", params={"version": BEFORE_CURATED}))
    assert before["catalog_version"] == BEFORE_CURATED and before["as_of"] == "2026-11-20T12:00:00Z"
    # Only the curated history prices this one today; the bundled pages do not.
    assert sorted(set(model_keys(now)) - set(model_keys(before))) == [("openai", "gpt-4o-2024-08-06")]
    # The latest version rebuilt from SQLite is the in-memory catalog.
    latest = exact(client.get("/v1/models", params={"version": LATEST}))
    assert model_keys(latest) == model_keys(now)


def test_providers_as_of_count_the_models_priced_then(client):
    body = exact(client.get("/v1/providers", params={"as_of": "2024-06-01"}))
    assert provider_counts(body) == [("anthropic", 1), ("openai", 2)]
    assert body["as_of"] == "2024-06-01T00:00:00Z"
    assert provider_counts(exact(client.get("/v1/providers", params={"as_of": "2024-10-02"}))) == [
        ("anthropic", 1), ("openai", 4)]
    assert exact(client.get("/v1/providers", params={"as_of": "2024-01-01"}))["providers"] == []
    now = exact(client.get("/v1/providers"))
    assert now["as_of"] is None
    assert provider_counts(exact(client.get("/v1/providers", params={"version": LATEST}))) == provider_counts(now)


def test_providers_at_a_version_before_the_official_pages_are_anthropic_and_the_long_tail(client):
    body = exact(client.get("/v1/providers", params={"version": 4}))  # anthropic page + three witnesses
    served = {p["id"]: p["served_from"] for p in body["providers"]}
    assert served.pop("anthropic") == "official"
    assert "openai" not in served and set(served.values()) == {"models-dev"}


# ------------------------------------------------------------------ one model, estimate


def test_model_detail_follows_the_gpt_4o_alias_switch(client):
    before = exact(client.get("/v1/models/openai/gpt-4o", params={"as_of": "2024-10-01"}))
    after = exact(client.get("/v1/models/openai/gpt-4o", params={"as_of": "2024-10-02"}))
    assert standard(before) == (Decimal("5.00"), Decimal("15.00"))
    assert standard(after) == (Decimal("2.50"), Decimal("10.00"))
    # As known before changeset 18 recorded the switch, 2024-10-02 was still $5/$15.
    then = exact(client.get("/v1/models/openai/gpt-4o", params={"as_of": "2024-10-02", "version": GPT_4O_SWITCH - 1}))
    assert standard(then) == (Decimal("5.00"), Decimal("15.00")) and then["catalog_version"] == GPT_4O_SWITCH - 1


def test_estimate_as_of_prices_the_workload_of_that_day(client):
    workload = {"model": "gpt-4o", "input_tokens": 2000, "output_tokens": 800, "requests": 5000, "tier": "standard"}

    def per_period(**query) -> Decimal:
        body = exact(client.get("/v1/estimate", params={**workload, **query}))
        (estimate,) = body["estimates"]
        return estimate["per_period"]

    assert per_period(as_of="2024-10-01") == Decimal("110")  # 5,000 x (2,000 x $5 + 800 x $15) / 1M
    assert per_period(as_of="2024-10-02") == Decimal("65")  # 5,000 x (2,000 x $2.50 + 800 x $10) / 1M
    assert per_period(as_of="2024-10-02", version=GPT_4O_SWITCH - 1) == Decimal("110")
    body = exact(client.post("/v1/estimate", json={"models": ["o3"], "input_tokens": 1_000_000, "output_tokens": 1_000_000,
                                                   "tiers": ["standard"], "as_of": "2025-06-09T23:59:59Z"}))
    assert body["estimates"][0]["per_request"] == Decimal("50")  # $10 + $40, the day before the cut


# ------------------------------------------------------------------ history


def test_history_at_a_version_shows_only_what_was_recorded_by_then(client):
    path = "/v1/models/openai/o3/history"
    assert exact(client.get(path, params={"version": 10}))["intervals"] == []  # before the OpenAI page
    assert standard_inputs(exact(client.get(path, params={"version": O3_LAUNCH - 1}))) == [
        (Decimal("2.00"), "2026-08-01", None, 11)]
    # After the launch entry, before the cut: the launch interval as it was stored then,
    # running up to the page's first reading (changeset 25 later superseded it).
    at_launch = exact(client.get(path, params={"version": O3_LAUNCH}))
    assert at_launch["catalog_version"] == O3_LAUNCH and at_launch["as_of"] == "2026-11-20T12:00:00Z"
    assert standard_inputs(at_launch) == [
        (Decimal("10.00"), "2025-04-16", "2026-08-01", O3_LAUNCH), (Decimal("2.00"), "2026-08-01", None, 11)]
    # The cut to $2.00 reaches back before the page's $2.00: one interval, stated by both (not a price change).
    assert standard_inputs(exact(client.get(path, params={"version": O3_CUT}))) == [
        (Decimal("10.00"), "2025-04-16", "2025-06-10", O3_CUT), (Decimal("2.00"), "2025-06-10", None, O3_CUT)]
    now = exact(client.get(path))
    assert now["catalog_version"] == LATEST and now["as_of"] is None
    assert now["intervals"] == exact(client.get(path, params={"version": O3_CUT}))["intervals"]


def test_history_as_of_is_the_knowledge_committed_by_that_moment(client):
    path = "/v1/models/openai/o3/history"
    # Every bundled changeset was committed at FIXED_NOW: a moment before knows nothing yet.
    before = exact(client.get(path, params={"as_of": "2026-11-19"}))
    assert before["intervals"] == [] and before["catalog_version"] == 0
    at_commit = exact(client.get(path, params={"as_of": "2026-11-20T12:00:00Z"}))
    assert at_commit["catalog_version"] == LATEST and at_commit["intervals"] == exact(client.get(path))["intervals"]
    # With both, the earlier knowledge wins.
    both = exact(client.get(path, params={"as_of": "2027-01-01", "version": O3_LAUNCH}))
    assert both["catalog_version"] == O3_LAUNCH and len(standard_inputs(both)) == 2


def test_history_of_a_witness_served_model_says_witness(client):
    body = exact(client.get("/v1/models/qwen/qvq-max/history"))
    assert body["intervals"] and {i["basis"] for i in body["intervals"]} == {"witness"}


# ------------------------------------------------------------------ agreement


def test_agreement_as_of_compares_the_rates_in_force_then(client):
    # No witness had been read by 2025-06-01.
    early = exact(client.get("/v1/sources/agreement", params={"as_of": "2025-06-01"}))
    assert (early["compared"], early["witnesses"], early["at"]) == (0, [], "2025-06-01T00:00:00Z")
    # By 2026-02-01 LiteLLM (2025-12-29) and OpenRouter (2026-01-26) had been; models.dev (2026-03-01) had not.
    body = exact(client.get("/v1/sources/agreement", params={"as_of": "2026-02-01"}))
    assert [w["witness"] for w in body["witnesses"]] == ["litellm", "openrouter"]
    assert body["compared"] == sum(w["compared"] for w in body["witnesses"]) > 0
    o3 = exact(client.get("/v1/models/openai/o3", params={"as_of": "2026-02-01"}))["agreement"]
    assert [(a["kind"], a["official_usd_per_mtok"], a["witness"], a["witness_usd_per_mtok"], a["agrees"]) for a in o3] == [
        ("cached_input", Decimal("0.50"), "litellm", Decimal("0.5"), True),
        ("cached_input", Decimal("0.50"), "openrouter", Decimal("0.5"), True),
        ("input", Decimal("2.00"), "litellm", Decimal("2"), True),
        ("input", Decimal("2.00"), "openrouter", Decimal("2"), True),
        ("output", Decimal("8.00"), "litellm", Decimal("8"), True),
        ("output", Decimal("8.00"), "openrouter", Decimal("8"), True),
    ]


def test_agreement_read_from_sqlite_at_the_latest_version_is_the_current_one(client):
    now = exact(client.get("/v1/sources/agreement"))
    latest = exact(client.get("/v1/sources/agreement", params={"version": LATEST}))
    assert latest == now and now["compared"] > 0


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize("path", ["/v1/models", "/v1/providers", "/v1/models/openai/o3/history",
                                  "/v1/sources/agreement", "/v1/prices", "/v1/models/openai/o3", "/v1/export"])
@pytest.mark.parametrize(("query", "field"), [
    ({"as_of": "2025-13-45"}, "as_of"), ({"as_of": "soon"}, "as_of"), ({"version": "0"}, "version"),
    ({"version": "999999"}, "version"), ({"version": "latest"}, "version"),
])
def test_bad_as_of_or_version_is_a_400_problem_naming_the_field(client, path, query, field):
    response = client.get(path, params=query)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == [field]


@pytest.mark.parametrize(("query", "field"), [({"as_of": "2025-02-30"}, "as_of"), ({"version": "999999"}, "version")])
def test_bad_as_of_or_version_in_an_estimate_names_the_field(client, query, field):
    response = client.get("/v1/estimate", params={"model": "o3", "input_tokens": 10, **query})
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == field
    response = client.post("/v1/estimate", json={"models": ["o3"], "input_tokens": 10, **query})
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == field


# ------------------------------------------------------------------ promotions and announced prices

# Test data, not prices of any real model: a launch price, a November promotion that ends on
# 2026-12-01 (written, as curated history writes it, as the change back at its end date), and,
# in a second file read later, a cut announced on 2026-11-15 that takes effect on 2027-01-01.
LAUNCH_AND_PROMOTION = """
[[changes]]
provider = "acme"
model = "acme-chat"
effective = "2026-01-01"
source_url = "https://example.test/acme-chat-launch"
rates = { "standard.input" = 2.00, "standard.output" = 8.00 }

[[changes]]
provider = "acme"
model = "acme-chat"
effective = "2026-11-01"
announced = "2026-10-20"
source_url = "https://example.test/acme-november-promotion"
note = "Promotion: half price from 2026-11-01 until 2026-12-01."
rates = { "standard.input" = 1.00, "standard.output" = 4.00 }

[[changes]]
provider = "acme"
model = "acme-chat"
effective = "2026-12-01"
announced = "2026-10-20"
source_url = "https://example.test/acme-november-promotion"
note = "End of the November promotion."
rates = { "standard.input" = 2.00, "standard.output" = 8.00 }
"""

ANNOUNCED_CUT = """
[[changes]]
provider = "acme"
model = "acme-chat"
effective = "2027-01-01"
announced = "2026-11-15"
source_url = "https://example.test/acme-2027-prices"
rates = { "standard.input" = 1.50, "standard.output" = 6.00 }
"""

PROMOTION_LOADED = datetime(2026, 10, 20, 9, 0, tzinfo=UTC)
CUT_LOADED = datetime(2026, 11, 15, 9, 0, tzinfo=UTC)


class MovableClock:
    """A clock a test can move forward."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def promo(tmp_path):
    """A client over a database holding only the acme curated files, loaded at two moments, and its clock."""
    db = open_database(None)
    for name, text, loaded in (("promotion.toml", LAUNCH_AND_PROMOTION, PROMOTION_LOADED),
                               ("cut.toml", ANNOUNCED_CUT, CUT_LOADED)):
        (tmp_path / name).write_text(text, encoding="utf-8")
        assert load_curated(db, now=loaded, path=tmp_path / name)
    clock = MovableClock(FIXED_NOW)  # 2026-11-20: inside the promotion
    service = prepare_service(Settings(bootstrap=False), db=db, clock=clock)
    with TestClient(create_app(service.settings, service=service, clock=clock)) as client:
        yield client, clock


def acme_prices(client, **query) -> tuple:
    return standard(exact(client.get("/v1/prices", params={"model": "acme-chat", **query})))


def test_a_running_promotion_is_served_with_its_end_date(promo):
    client, _ = promo
    body = exact(client.get("/v1/prices", params={"model": "acme-chat", "kind": "input"}))
    (row,) = body["rates"]
    assert (row["usd_per_mtok"], row["valid_from"], row["valid_to"]) == (
        Decimal("1.00"), "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z")
    assert row["basis"] == "curated" and row["observed_at"] == "2026-10-20T00:00:00Z"  # the announcement date
    assert row["note"] == "Promotion: half price from 2026-11-01 until 2026-12-01."


def test_as_of_before_during_and_after_the_promotion_and_after_the_announced_cut(promo):
    client, _ = promo
    assert acme_prices(client, as_of="2026-10-31T23:59:59Z") == (Decimal("2.00"), Decimal("8.00"))  # from SQLite
    assert acme_prices(client, as_of="2026-11-10") == (Decimal("1.00"), Decimal("4.00"))  # from SQLite
    assert acme_prices(client) == (Decimal("1.00"), Decimal("4.00"))  # now, from the snapshot
    assert acme_prices(client, as_of="2026-12-01") == (Decimal("2.00"), Decimal("8.00"))  # the promotion has ended
    assert acme_prices(client, as_of="2027-01-01") == (Decimal("1.50"), Decimal("6.00"))  # the announced cut
    # As known before the cut was announced (the first file's three changesets), 2027 keeps the regular price.
    assert acme_prices(client, as_of="2027-02-01", version=3) == (Decimal("2.00"), Decimal("8.00"))
    # The model is priced from its launch on, not before.
    assert exact(client.get("/v1/models", params={"as_of": "2025-12-31"}))["total"] == 0
    assert model_keys(exact(client.get("/v1/models", params={"as_of": "2027-06-01"}))) == [("acme", "acme-chat")]


def test_current_answers_move_to_the_post_promotion_price_when_the_clock_passes_its_end(promo):
    client, clock = promo
    during = client.get("/v1/prices", params={"model": "acme-chat"})
    clock.now = datetime(2026, 12, 1, tzinfo=UTC)
    after = client.get("/v1/prices", params={"model": "acme-chat"}, headers={"If-None-Match": during.headers["etag"]})
    assert after.status_code == 200 and after.headers["etag"] != during.headers["etag"]
    assert standard(exact(after)) == (Decimal("2.00"), Decimal("8.00"))
    workload = {"model": "acme-chat", "input_tokens": 1_000_000, "output_tokens": 1_000_000, "tier": "standard"}
    assert exact(client.get("/v1/estimate", params=workload))["estimates"][0]["per_request"] == Decimal("10")
    clock.now = datetime(2027, 1, 1, tzinfo=UTC)
    assert exact(client.get("/v1/estimate", params=workload))["estimates"][0]["per_request"] == Decimal("7.5")


def test_history_as_of_shows_the_promotion_as_known_before_the_cut_was_announced(promo):
    client, _ = promo
    path = "/v1/models/acme/acme-chat/history"
    assert standard_inputs(exact(client.get(path))) == [
        (Decimal("2.00"), "2026-01-01", "2026-11-01", 2), (Decimal("1.00"), "2026-11-01", "2026-12-01", 3),
        (Decimal("2.00"), "2026-12-01", "2027-01-01", 4), (Decimal("1.50"), "2027-01-01", None, 4)]
    # Before the second file was read, the post-promotion price ran open-ended, as it was stored then.
    before_cut = exact(client.get(path, params={"as_of": "2026-11-01"}))
    assert before_cut["catalog_version"] == 3 and before_cut["as_of"] == "2026-11-01T00:00:00Z"
    assert standard_inputs(before_cut) == [
        (Decimal("2.00"), "2026-01-01", "2026-11-01", 2), (Decimal("1.00"), "2026-11-01", "2026-12-01", 3),
        (Decimal("2.00"), "2026-12-01", None, 3)]
    assert exact(client.get(path, params={"version": 3}))["intervals"] == before_cut["intervals"]
    nothing_yet = exact(client.get(path, params={"as_of": "2026-10-01"}))
    assert nothing_yet["intervals"] == [] and nothing_yet["catalog_version"] == 0
