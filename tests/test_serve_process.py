"""The real thing: `ratecard serve` as a user starts it, on a free loopback port."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> str:
    db = tmp_path_factory.mktemp("serve") / "ratecard.db"
    port = free_port()
    env = {**os.environ, "RATECARD_DB": str(db)}
    env.pop("RATECARD_SOURCES", None)
    # The console script the install put beside this interpreter: what a user runs.
    ratecard = Path(sys.executable).parent / "ratecard"
    assert ratecard.exists(), "install the project (pip install '.[test]') to get the ratecard command"
    proc = subprocess.Popen(
        [str(ratecard), "serve", "--port", str(port), "--no-scheduler", "--log-level", "warning"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise AssertionError(f"ratecard serve exited: {proc.stderr.read().decode()}")
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            raise AssertionError("ratecard serve did not become ready in 60 s")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert Path(db).exists()


def test_serves_real_anthropic_prices_from_the_bundled_pages(served):
    response = httpx.get(f"{served}/v1/prices", params={"model": "claude-sonnet-4-5"})
    assert response.status_code == 200
    rates = {(r["tier"], r["kind"], r["min_prompt_tokens"]): r["usd_per_mtok"] for r in response.json()["rates"]}
    assert rates[("standard", "input", 0)] == 3
    assert rates[("standard", "output", 0)] == 15
    assert rates[("standard", "cached_input", 0)] == 0.3
    assert rates[("standard", "cache_write", 0)] == 3.75
    assert rates[("standard", "cache_write_1h", 0)] == 6
    assert rates[("batch", "input", 0)] == 1.5
    assert rates[("batch", "output", 0)] == 7.5
    assert "server" not in {k.lower() for k in response.headers}


def test_unknown_model_is_a_problem_with_suggestions(served):
    response = httpx.get(f"{served}/v1/models/anthropic/claude-sonet-4-5")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert "anthropic/claude-sonnet-4-5" in response.json()["suggestions"]


def test_estimates_over_real_http_with_and_without_content_length(served):
    """GET and POST estimates as uvicorn sends them; a chunked POST (read by the handler) says the same."""
    body = {"models": ["gpt-4o", "claude-sonnet-4-5"], "input_tokens": 2000, "output_tokens": 800, "requests": 5000,
            "tiers": ["standard", "batch"]}
    with httpx.Client(base_url=served) as client:
        got = client.get("/v1/estimate", params={"model": "gpt-4o", "input_tokens": 2000, "output_tokens": 800,
                                                  "requests": 5000})
        assert got.status_code == 200 and got.headers["cache-control"] == "public, max-age=60"
        tiers = {e["tier"]: e["per_period"] for e in got.json()["estimates"]}
        assert tiers["standard"] == 65 and tiers["batch"] == 32.5  # 5,000 x (2,000 x $2.50 + 800 x $10) / 1M
        assert client.get("/v1/estimate", params={"model": "gpt-4o", "input_tokens": 2000},
                          headers={"If-None-Match": got.headers["etag"]}).status_code in (200, 304)
        posted = client.post("/v1/estimate", json=body)
        data = httpx.Request("POST", "/", json=body).content
        chunked = client.post("/v1/estimate", content=iter([data[:20], data[20:]]),  # no Content-Length
                              headers={"Content-Type": "application/json"})
    assert posted.status_code == chunked.status_code == 200
    assert "content-length" not in chunked.request.headers
    answers = [response.json() for response in (posted, chunked)]
    for answer in answers:
        answer.pop("as_of")  # the moment each was priced: the server's clock
    assert answers[0] == answers[1]
    # 5,000 x (2,000 x $3 + 800 x $15) / 1M = $90 standard on Sonnet 4.5; gpt-4o's $65 ranks first.
    assert [(e["model"], e["tier"], e["per_period"]) for e in answers[0]["estimates"]] == [
        ("gpt-4o", "standard", 65), ("gpt-4o", "batch", 32.5),
        ("claude-sonnet-4-5", "standard", 90), ("claude-sonnet-4-5", "batch", 45)]
