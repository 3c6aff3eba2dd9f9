"""Batch plans that help: the limit that decides the job count named in the note, the bytes-per-request
estimate documented and overridable, a day-by-day split, and Gemini's published size limit.

By hand: a request weighs input_tokens x 4 + 300 bytes unless the request says otherwise.
"""

import pytest

from ratecard.service.batch_limits import (
    BYTES_PER_INPUT_TOKEN,
    JSONL_OVERHEAD_BYTES_PER_REQUEST,
    BatchLimit,
    bundled_batch_limits,
    bytes_per_request,
    plan_batches,
)
from ratecard.service.estimate import Workload, WorkloadError

OPENAI = bundled_batch_limits()["openai"]


def test_the_estimate_of_a_requests_weight_is_the_documented_rule():
    assert (BYTES_PER_INPUT_TOKEN, JSONL_OVERHEAD_BYTES_PER_REQUEST) == (4, 300)
    assert bytes_per_request(2_000) == 8_300


def test_a_size_limited_plan_names_bytes_the_job_count_and_a_daily_split():
    # 2,000-token prompts weigh 8,300 bytes: 200,000,000 // 8,300 = 24,096 fit a file, under the 50,000 cap.
    # 5,000,000 a month / 24,096 = 207.5 -> 208 jobs; a day is 5,000,000 x 12 / 365 = 164,383.6 requests,
    # so 7 jobs a day (6 would hold 144,576) of 164,383.6 / 7 = 23,483.4 -> about 23,484 each.
    plan = plan_batches(OPENAI, requests=5_000_000, input_tokens=2_000)
    assert (plan.jobs_per_period, plan.limited_by, plan.max_requests_per_job) == (208, "bytes", 24_096)
    assert (plan.jobs_per_day, plan.requests_per_job) == (7, 23_484)
    assert plan.note == (
        "208 batch jobs per month, limited by size: a batch holds at most 200,000,000 bytes, 24,096 requests at "
        "8,300 bytes a request, estimated from the prompt; the count limit is 50,000. "
        "Day by day: 7 jobs a day of about 23,484 requests.")


def test_a_count_limited_plan_names_the_count():
    # 500-token prompts weigh 2,300 bytes: 50,000 of them are 115 MB, under 200 MB, so the count decides.
    plan = plan_batches(OPENAI, requests=120_000, input_tokens=500)
    assert (plan.jobs_per_period, plan.limited_by, plan.max_requests_per_job) == (3, "requests", 50_000)
    assert plan.note.startswith("3 batch jobs per month, limited by count: a batch holds at most 50,000 requests")


def test_the_weight_can_be_given_instead_of_estimated():
    # 40,000 bytes a request (images, long system prompts): 5,000 per file, so 120,000 need 24 jobs.
    plan = plan_batches(OPENAI, requests=120_000, input_tokens=500, bytes_per_request_given=40_000)
    assert (plan.jobs_per_period, plan.limited_by, plan.estimated_bytes_per_request) == (24, "bytes", 40_000)
    assert plan.bytes_per_request_given and "40,000 bytes a request, as given" in plan.note


def test_a_daily_volume_is_split_in_the_day_and_nothing_is_no_job():
    plan = plan_batches(OPENAI, requests=250_000, input_tokens=100, period="day")
    assert (plan.jobs_per_period, plan.jobs_per_day, plan.requests_per_job) == (5, 5, 50_000)
    assert plan.note.startswith("5 batch jobs per day of about 50,000 requests, limited by count")
    assert "Day by day" not in plan.note
    idle = plan_batches(OPENAI, requests=0, input_tokens=100)
    assert (idle.jobs_per_period, idle.jobs_per_day, idle.requests_per_job) == (0, 0, 0)
    assert idle.note == "No requests per month, so no batch jobs."


def test_gemini_states_a_size_limit_only():
    google = bundled_batch_limits()["google"]
    assert google.max_requests_per_batch is None and google.max_bytes_per_batch == 2_000_000_000
    assert google.url == "https://ai.google.dev/gemini-api/docs/rate-limits"
    # 10,000-token prompts weigh 40,300 bytes: 49,627 fit in 2 GB; 1,000,000 a week need 21 jobs.
    plan = plan_batches(google, requests=1_000_000, input_tokens=10_000, period="week")
    assert (plan.jobs_per_period, plan.limited_by, plan.max_requests_per_job) == (21, "bytes", 49_627)
    assert "count limit" not in plan.note


def test_a_bad_weight_is_a_workload_error():
    for value in (0, -1):
        with pytest.raises(WorkloadError) as raised:
            Workload(input_tokens=1, batch_bytes_per_request=value)
        assert raised.value.field == "batch_bytes_per_request"


def test_the_api_answers_with_the_plan_and_takes_the_override(client):
    query = "models=gpt-4o&input_tokens=2000&output_tokens=800&requests=5000000&tier=batch"
    (batch,) = client.get(f"/v1/estimate?{query}").json()["estimates"]
    plan = batch["batch_plan"]
    assert (plan["jobs_per_period"], plan["limited_by"], plan["jobs_per_day"], plan["requests_per_job"]) == (
        208, "bytes", 7, 23_484)
    assert plan["estimated_bytes_per_request"] == 8_300 and plan["bytes_per_request_given"] is False
    assert plan["note"].startswith("208 batch jobs per month, limited by size")
    (given,) = client.get(f"/v1/estimate?{query}&batch_bytes_per_request=2300").json()["estimates"]
    assert (given["batch_plan"]["jobs_per_period"], given["batch_plan"]["limited_by"]) == (100, "requests")
    posted = client.post("/v1/estimate", json={"models": ["gpt-4o"], "input_tokens": 2000, "requests": 5_000_000,
                                               "tiers": ["batch"], "batch_bytes_per_request": 2300}).json()
    assert posted["estimates"][0]["batch_plan"] == given["batch_plan"]
    bad = client.get(f"/v1/estimate?{query}&batch_bytes_per_request=0")
    assert bad.status_code == 400 and "batch_bytes_per_request" in bad.text


def test_gemini_models_get_a_plan_in_the_api(client):
    (batch,) = client.get("/v1/estimate?models=gemini-2.5-pro&input_tokens=10000&requests=1000000&period=week"
                          "&tier=batch").json()["estimates"]
    plan = batch["batch_plan"]
    assert plan["max_requests_per_batch"] is None and plan["limited_by"] == "bytes"
    assert plan["url"] == "https://ai.google.dev/gemini-api/docs/rate-limits"


def test_limits_without_a_count_load_and_plan(tmp_path):
    limit = BatchLimit(max_bytes_per_batch=1_000, url="https://example.test/limits")
    plan = plan_batches(limit, requests=10, input_tokens=100)  # 700 bytes each: one per job
    assert (plan.jobs_per_period, plan.max_requests_per_job) == (10, 1)


@pytest.mark.parametrize(("requests", "period", "jobs_per_day", "requests_per_job"), [
    (36_500, "month", 1, 1_200),  # 36,500 x 12 / 365 = 1,200 a day exactly: nothing to round
    (36_501, "month", 1, 1_201),  # 1,200.03 a day: up to 1,201
    (350_000, "week", 1, 50_000),  # 50,000 a day fills one job exactly
    (350_001, "week", 2, 25_001),  # 50,000.14 a day: a second job, 25,000.07 each -> 25,001
])
def test_the_daily_split_rounds_up_only_a_share_that_is_not_whole(requests, period, jobs_per_day, requests_per_job):
    plan = plan_batches(OPENAI, requests=requests, input_tokens=500, period=period)  # 50,000 requests a job
    assert (plan.max_requests_per_job, plan.jobs_per_day, plan.requests_per_job) == (50_000, jobs_per_day,
                                                                                     requests_per_job)
