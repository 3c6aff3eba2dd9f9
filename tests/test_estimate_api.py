"""The estimate over HTTP on the bundled pages: the seeds' worked examples, caching, long context, errors."""

from decimal import Decimal

import pytest

from tests.test_api import exact


def by_tier(body: dict, model: str) -> dict[str, dict]:
    return {e["tier"]: e for e in body["estimates"] if e["model"] == model}


@pytest.mark.parametrize(
    ("model", "requests", "input_tokens", "output_tokens", "standard", "batch"),
    [
        ("gpt-4o", 5_000, 2_000, 800, "65", "32.5"),
        ("gpt-4o-mini", 50_000, 500, 300, "12.75", "6.375"),
        ("o4-mini", 100_000, 400, 100, "88", "44"),
    ],
)
def test_seed_examples_come_out_exactly_through_post_and_get(client, model, requests, input_tokens, output_tokens,
                                                             standard, batch):
    workload = {"input_tokens": input_tokens, "output_tokens": output_tokens, "requests": requests, "period": "month"}
    posted = exact(client.post("/v1/estimate", json={"models": [model], **workload}))
    got = exact(client.get("/v1/estimate", params={"model": model, **workload}))
    for body in (posted, got):
        tiers = by_tier(body, model)
        assert tiers["standard"]["per_period"] == Decimal(standard)
        assert tiers["batch"]["per_period"] == Decimal(batch)
        assert tiers["batch"]["per_year"] == Decimal(batch) * 12
        assert tiers["batch"]["savings_vs_standard"] == {"usd": Decimal(standard) - Decimal(batch),
                                                         "percent": Decimal("50.00")}
        assert sum(line["cost_usd"] for line in tiers["standard"]["lines"]) == tiers["standard"]["per_request"]
        assert body["catalog_version"] >= 1


def test_gpt_4o_answer_in_full(client):
    body = exact(client.post("/v1/estimate", json={"models": ["gpt-4o"], "input_tokens": 2000, "output_tokens": 800,
                                                   "requests": 5000, "tiers": ["standard", "batch"]}))
    standard, batch = body["estimates"]
    assert standard["per_request"] == Decimal("0.013") and standard["per_1k_requests"] == Decimal("13")
    assert [(ln["kind"], ln["tokens"], ln["usd_per_mtok"], ln["cost_usd"]) for ln in standard["lines"]] == [
        ("input", 2000, Decimal("2.50"), Decimal("0.005")), ("output", 800, Decimal("10.00"), Decimal("0.008")),
    ]
    assert batch["batch_plan"]["jobs_per_period"] == 1 and batch["batch_plan"]["max_requests_per_batch"] == 50000
    # The page confirmed the price of the 2024 cut: one interval since then.
    assert standard["source"] == ["openai"] and standard["valid_from"].startswith("2024-10-02")


def test_anthropic_caching_multipliers_on_standard_and_batch(client):
    # 10,000 prompt tokens: 6,000 read from cache, 2,000 written with a 1h TTL, 2,000 fresh; 500 out.
    body = exact(client.post("/v1/estimate", json={
        "models": ["claude-sonnet-4-5"], "input_tokens": 10_000, "cached_input_tokens": 6_000,
        "cache_write_tokens": 2_000, "cache_ttl": "1h", "output_tokens": 500, "requests": 1,
        "tiers": ["standard", "batch"]}))
    tiers = by_tier(body, "claude-sonnet-4-5")
    lines = {ln["kind"]: ln for ln in tiers["standard"]["lines"]}
    assert lines["input"]["usd_per_mtok"] == Decimal("3") and lines["input"]["tokens"] == 2000
    assert lines["cached_input"]["usd_per_mtok"] == Decimal("0.30")  # 0.1x input
    assert lines["cache_write_1h"]["usd_per_mtok"] == Decimal("6")  # 2x input
    # 2000*3 + 6000*0.3 + 2000*6 + 500*15 = 6000 + 1800 + 12000 + 7500 = 27300 / 1M
    assert tiers["standard"]["per_request"] == Decimal("0.0273")
    batch_lines = {ln["kind"]: ln for ln in tiers["batch"]["lines"]}
    assert batch_lines["cached_input"]["usd_per_mtok"] == Decimal("0.15")
    assert batch_lines["cached_input"]["basis"] == "derived"  # not on the page: batch x caching stacked
    assert tiers["batch"]["per_request"] == Decimal("0.01365")
    five_minutes = exact(client.post("/v1/estimate", json={
        "models": ["claude-sonnet-4-5"], "input_tokens": 10_000, "cache_write_tokens": 10_000, "tiers": ["standard"]}))
    assert five_minutes["estimates"][0]["lines"][0]["usd_per_mtok"] == Decimal("3.75")  # 1.25x input


def test_long_context_bills_every_token_at_the_higher_rates(client):
    body = exact(client.post("/v1/estimate", json={"models": ["claude-sonnet-4-5"], "input_tokens": 250_000,
                                                   "output_tokens": 1_000, "tiers": ["standard", "batch"]}))
    tiers = by_tier(body, "claude-sonnet-4-5")
    assert tiers["standard"]["min_prompt_tokens"] == 200_000
    # 250,000 x $6 + 1,000 x $22.50 per 1M
    assert tiers["standard"]["per_request"] == Decimal("1.5225")
    assert tiers["batch"]["per_request"] == Decimal("0.76125")
    at_threshold = exact(client.post("/v1/estimate", json={"models": ["claude-sonnet-4-5"], "input_tokens": 200_000,
                                                           "tiers": ["standard"]}))
    assert at_threshold["estimates"][0]["min_prompt_tokens"] == 0  # "exceeds", not "reaches"


def test_several_models_are_ranked_cheapest_first(client):
    body = exact(client.get("/v1/estimate", params={"model": ["gpt-4o", "gpt-4o-mini", "o4-mini"],
                                                      "input_tokens": 1000, "output_tokens": 100, "tier": "standard"}))
    assert [e["model"] for e in body["estimates"]] == ["gpt-4o-mini", "o4-mini", "gpt-4o"]


def test_not_offered_cached_input_is_billed_at_input_with_a_warning(client):
    body = exact(client.post("/v1/estimate", json={"models": ["gpt-4o"], "input_tokens": 1000,
                                                   "cached_input_tokens": 1000, "tiers": ["batch"]}))
    (batch,) = body["estimates"]
    assert batch["lines"][0]["usd_per_mtok"] == Decimal("1.25")
    assert any("cached" in w for w in batch["warnings"])


def test_discount_is_applied_last(client):
    body = exact(client.post("/v1/estimate", json={"models": ["gpt-4o"], "input_tokens": 2000, "output_tokens": 800,
                                                   "requests": 5000, "discount_percent": 10, "tiers": ["standard"]}))
    assert body["estimates"][0]["per_period"] == Decimal("58.5")


def test_as_of_prices_o3_before_and_after_its_cut(client):
    workload = {"models": ["o3"], "input_tokens": 1_000_000, "output_tokens": 1_000_000, "tiers": ["standard"]}
    before = exact(client.post("/v1/estimate", json={**workload, "as_of": "2025-06-01"}))["estimates"][0]
    after = exact(client.post("/v1/estimate", json={**workload, "as_of": "2025-06-20"}))["estimates"][0]
    assert (before["per_request"], after["per_request"]) == (Decimal("50"), Decimal("10"))
    assert before["lines"][0]["basis"] == "curated"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"models": ["gpt-4o"], "input_tokens": -1}, "input_tokens"),
        ({"models": ["gpt-4o"], "input_tokens": 1.5}, "input_tokens"),
        ({"models": ["gpt-4o"], "input_tokens": 10, "cached_input_tokens": 8, "cache_write_tokens": 8},
         "cached_input_tokens"),
        ({"models": ["gpt-4o"], "input_tokens": 10, "tiers": ["gold"]}, "tiers"),
        ({"models": ["gpt-4o"], "input_tokens": 10, "requests": 10**15}, "requests"),
        ({"models": ["gpt-4o"]}, "input_tokens"),
        ({"models": [], "input_tokens": 10}, "models"),
        ({"models": ["gpt-4o"], "input_tokens": 10, "period": "year"}, "period"),
        ({"models": ["gpt-4o"], "input_tokens": 10, "bogus": 1}, "bogus"),
        ({"models": ["gpt-4o"], "input_tokens": 10, "cache_ttl": "2h"}, "cache_ttl"),
    ],
)
def test_bad_workloads_are_400_problems_naming_the_field(client, body, field):
    response = client.post("/v1/estimate", json=body)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 400 and field in problem["detail"]


def test_a_misspelt_or_missing_body_field_is_named_in_the_problem(client):
    misspelt = client.post("/v1/estimate", json={"models": ["gpt-4o"], "input_tokenz": 2000}).json()
    assert misspelt["errors"] == [{"field": "input_tokenz", "reason": "unknown field, not part of this request"}]
    missing = client.post("/v1/estimate", json={"input_tokens": 2000}).json()
    assert missing["errors"] == [{"field": "models", "reason": "required field missing"}]
    assert missing["detail"] == "models: required field missing"


def test_unknown_model_in_an_estimate_is_404_with_suggestions(client):
    response = client.post("/v1/estimate", json={"models": ["gpt-4o-minii"], "input_tokens": 10})
    assert response.status_code == 404
    assert "openai/gpt-4o-mini" in response.json()["suggestions"]


def test_a_body_that_is_not_json_is_a_400_problem(client):
    response = client.post("/v1/estimate", content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"


def test_a_long_text_is_counted_off_the_event_loop_with_the_same_answer(client):
    # 120,000 characters: counted in a worker thread; "hello", " world", " hello", ... is 20,000 o200k tokens.
    text = " ".join(["hello world"] * 10_000)
    body = client.post("/v1/estimate", json={"models": ["gpt-4o"], "text": text, "tiers": ["standard"],
                                             "as_of": "2026-11-20"}).json()
    (standard,) = body["estimates"]
    assert standard["input_tokens"] == 20_000 and standard["per_request"] == 0.05  # 20,000 x $2.50 / 1M


def test_a_post_with_another_workload_and_the_first_answers_etag_gets_its_own_answer(client):
    """A POST's answer depends on its body: it carries no ETag, so no other body can be answered 304."""
    first = client.post("/v1/estimate", json={"models": ["gpt-4o"], "input_tokens": 2000, "output_tokens": 800,
                                              "requests": 5000, "tiers": ["standard"]})
    assert first.status_code == 200 and "etag" not in first.headers
    assert first.headers["cache-control"] == "no-store"
    tag = client.get("/v1/estimate", params={"model": "gpt-4o", "input_tokens": 2000}).headers["etag"]
    second = client.post("/v1/estimate", json={"models": ["gpt-4o"], "input_tokens": 4000, "output_tokens": 800,
                                               "requests": 5000, "tiers": ["standard"]},
                         headers={"If-None-Match": f'{tag}, {first.headers.get("etag", tag)}'})
    assert second.status_code == 200
    # 5,000 x (4,000 x $2.50 + 800 x $10) / 1M = $90 a month
    assert exact(second)["estimates"][0]["per_period"] == Decimal(90)
