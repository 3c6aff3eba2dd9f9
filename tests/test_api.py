"""The read API over HTTP, on the bundled pages (the offline default)."""

from decimal import Decimal

import msgspec
import pytest


_EXACT = msgspec.json.Decoder(float_hook=Decimal)


def exact(response) -> dict:
    """Decode a JSON body keeping numbers exact, as a careful client would."""
    return _EXACT.decode(response.content)


def rates_by_key(body: dict) -> dict:
    return {(r["tier"], r["kind"], r["min_prompt_tokens"]): r["usd_per_mtok"] for r in body["rates"]}


def test_sonnet_4_5_prices_are_the_pages_numbers(client):
    response = client.get("/v1/prices", params={"model": "claude-sonnet-4-5"})
    assert response.status_code == 200
    rates = rates_by_key(exact(response))
    assert rates[("standard", "input", 0)] == Decimal("3")
    assert rates[("standard", "output", 0)] == Decimal("15")
    assert rates[("standard", "cached_input", 0)] == Decimal("0.30")
    assert rates[("standard", "cache_write", 0)] == Decimal("3.75")
    assert rates[("standard", "cache_write_1h", 0)] == Decimal("6")
    assert rates[("batch", "input", 0)] == Decimal("1.50")
    assert rates[("batch", "output", 0)] == Decimal("7.50")
    # Long context: from 200K prompt tokens, $6 in / $22.50 out.
    assert rates[("standard", "input", 200000)] == Decimal("6")
    assert rates[("standard", "output", 200000)] == Decimal("22.50")


def test_prices_are_exact_json_numbers_not_strings_or_floats(client):
    body = client.get("/v1/prices", params={"model": "gpt-4o-mini", "tier": "batch", "kind": "input"}).text
    assert '"usd_per_mtok":0.075' in body


def test_every_rate_row_carries_keys_interval_and_provenance(client):
    row = exact(client.get("/v1/prices", params={"model": "gpt-4o", "tier": "standard", "kind": "input"}))["rates"][0]
    assert row["provider"] == "openai" and row["model"] == "gpt-4o" and row["min_prompt_tokens"] == 0
    assert row["usd_per_mtok"] == Decimal("2.50") and row["basis"] == "published"
    # The page took the price over from curated history at the same value: one interval since the 2024 cut.
    assert row["valid_from"].startswith("2024-10-02") and row["valid_to"] is None
    assert row["source"] == "openai" and row["url"].startswith("https://developers.openai.com/")
    assert row["observed_at"].startswith("2026-08-01")
    assert [(s["source"], s["valid_from"][:10]) for s in row["also_stated_by"]] == [("curated", "2024-10-02")]
    assert len(row["body_sha256"]) == 64


@pytest.mark.parametrize(
    "name", ["claude-sonnet-4-5", "Claude Sonnet 4.5", "CLAUDE-SONNET-4-5", "claude-sonnet-4-5-20250929",
             "anthropic/claude-sonnet-4.5"],
)
def test_models_resolve_through_aliases_case_insensitively(client, name):
    response = client.get("/v1/prices", params={"model": name, "tier": "standard", "kind": "input"})
    assert response.status_code == 200, response.text
    assert exact(response)["rates"][0]["model"] == "claude-sonnet-4-5"


def test_unknown_model_is_404_problem_with_close_matches(client):
    response = client.get("/v1/models/anthropic/claude-sonet-4-5")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 404 and problem["title"] == "Unknown model"
    assert "anthropic/claude-sonnet-4-5" in problem["suggestions"]


@pytest.mark.parametrize(
    ("query", "field"),
    [({"tier": "gold"}, "tier"), ({"as_of": "last tuesday"}, "as_of"), ({"version": "999999"}, "version"),
     ({"limit": "0"}, "limit"), ({"kind": "vibes"}, "kind")],
)
def test_bad_parameters_are_400_problems_naming_the_field(client, query, field):
    response = client.get("/v1/prices", params=query)
    assert response.status_code == 400
    problem = response.json()
    assert problem["errors"][0]["field"] == field
    assert response.headers["content-type"] == "application/problem+json"


def test_model_detail_lists_current_rates(client):
    body = exact(client.get("/v1/models/openai/o4-mini"))
    assert body["model"]["display_name"]
    rates = rates_by_key(body)
    assert rates[("standard", "input", 0)] == Decimal("1.10")
    assert rates[("standard", "output", 0)] == Decimal("4.40")
    assert rates[("batch", "input", 0)] == Decimal("0.55")
    assert rates[("priority", "input", 0)] == Decimal("2.00")


def test_history_shows_intervals_with_provenance(client):
    body = exact(client.get("/v1/models/anthropic/claude-opus-4-1/history"))
    inputs = [i for i in body["intervals"] if i["tier"] == "standard" and i["kind"] == "input"]
    # Curated from its launch (the announcement), then read from the pricing page at the same price:
    # a new source is not a new price, so one interval from the launch with both provenances. The
    # interval says the statement that opened it; the page's is beside it, from when the page was read.
    assert [(i["usd_per_mtok"], i["valid_from"][:10], i["source"], i["basis"]) for i in inputs] == [
        (Decimal("15"), "2025-08-05", "curated", "curated"),
    ]
    assert inputs[0]["valid_to"] is None and inputs[0]["url"].startswith("https://www.anthropic.com/")
    (page,) = inputs[0]["also_stated_by"]
    assert (page["source"], page["basis"], page["valid_from"][:10]) == ("anthropic", "published", "2025-10-29")
    assert page["url"].startswith("https://docs.anthropic.com/") and len(page["body_sha256"]) == 64
    assert all(i["observed_at"] for i in body["intervals"])
    # At a moment before the page was read, the curated statement is the one that says the price.
    then = exact(client.get("/v1/prices", params={"model": "claude-opus-4-1", "as_of": "2025-09-01",
                                                  "tier": "standard", "kind": "input"}))["rates"][0]
    assert (then["source"], then["basis"], then["valid_from"][:10]) == ("curated", "curated", "2025-08-05")
    # Now the page is the one that says it.
    now = exact(client.get("/v1/prices", params={"model": "claude-opus-4-1", "tier": "standard",
                                                 "kind": "input"}))["rates"][0]
    assert (now["source"], now["basis"], now["changeset_id"]) == ("anthropic", "published", page["changeset_id"])


def test_as_of_before_a_provider_was_first_seen_has_none_of_its_rates(client):
    body = exact(client.get("/v1/prices", params={"provider": "openai", "as_of": "2024-01-01"}))
    assert body["total"] == 0
    # Before the page was first read, only the curated launches are known, and what OpenAI's stated rules
    # derive from them (batch at 50%, cached input for the models its 2024 announcement names).
    body = exact(client.get("/v1/prices", params={"provider": "openai", "as_of": "2026-07-01"}))
    assert {(r["basis"], r["source"]) for r in body["rates"]} == {("curated", "curated"), ("derived", "tier-rules")}
    body = exact(client.get("/v1/prices", params={"model": "claude-haiku-4-5", "as_of": "2025-11-01"}))
    assert rates_by_key(body)[("standard", "input", 0)] == Decimal("1")


def test_the_three_anthropic_pages_make_one_changeset_since_their_prices_agree(bundled_service):
    runs = list(bundled_service.db.query(
        "SELECT status, changeset_id FROM runs WHERE source_id = 'anthropic' ORDER BY id"))
    # The three 2025 copies; the 2026 copies after them change prices (tests/test_bundle_manifest.py).
    assert [r["status"] for r in runs][:3] == ["changed", "no_change", "no_change"]


def test_change_feed_lists_changesets_with_their_diffs(client):
    body = exact(client.get("/v1/changes", params={"provider": "anthropic"}))
    assert body["changesets"]
    first = body["changesets"][-1]
    assert first["source"] == "anthropic"
    added = {(c["model"], c["tier"], c["kind"]) for c in first["changes"] if c["action"] == "added"}
    assert ("claude-sonnet-4-5", "standard", "input") in added


def test_get_answers_carry_etag_and_revalidate_with_304(client):
    first = client.get("/v1/prices", params={"model": "gpt-4o"})
    tag = first.headers["etag"]
    assert first.headers["cache-control"].startswith("public, max-age=")
    again = client.get("/v1/prices", params={"model": "gpt-4o"}, headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.content == b""
    other = client.get("/v1/prices", params={"model": "gpt-4o-mini"}, headers={"If-None-Match": tag})
    assert other.status_code == 200


def test_health_and_readiness(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["models"] > 20


def test_a_provider_without_a_page_is_served_from_the_designated_witness_and_flagged(client):
    providers = {p["id"]: p for p in client.get("/v1/providers").json()["providers"]}
    assert providers["openai"]["served_from"] == "official"
    assert providers["qwen"]["served_from"] == "models-dev"
    rates = exact(client.get("/v1/prices", params={"provider": "qwen"}))["rates"]
    assert rates and {r["basis"] for r in rates} <= {"witness", "not_offered"}
    assert {r["source"] for r in rates} == {"models-dev"}
    # The same holds when the answer comes from SQLite (as_of) instead of the snapshot.
    past = exact(client.get("/v1/prices", params={"provider": "qwen", "as_of": "2026-06-01"}))["rates"]
    assert {r["basis"] for r in past} <= {"witness", "not_offered"} and len(past) == len(rates)


def test_a_model_id_with_a_slash_has_its_own_paths(client):
    """Groq's `openai/gpt-oss-120b` takes two path segments: the model, and its history below it."""
    detail = client.get("/v1/models/groq/openai/gpt-oss-120b")
    assert detail.status_code == 200
    assert detail.json()["model"]["model"] == "openai/gpt-oss-120b"
    rates = {(r["tier"], r["kind"]): r["usd_per_mtok"] for r in detail.json()["rates"]}
    assert (rates[("standard", "input")], rates[("standard", "output")]) == (0.15, 0.6)  # Groq's page: $0.15 / $0.60
    history = client.get("/v1/models/groq/openai/gpt-oss-120b/history")
    assert history.status_code == 200 and history.json()["model"] == "openai/gpt-oss-120b"
    assert {r["model"] for r in history.json()["intervals"]} == {"openai/gpt-oss-120b"}
    # One segment still means one model id; an unknown two-segment id is the usual problem.
    assert client.get("/v1/models/anthropic/claude-sonnet-4-5/history").json()["model"] == "claude-sonnet-4-5"
    missing = client.get("/v1/models/groq/openai/nope")
    assert missing.status_code == 404 and "openai/nope" in missing.json()["detail"]
