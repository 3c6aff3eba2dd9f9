"""The estimate answer written from templates is the answer the structs encode to, byte for byte.

``render_estimate`` (what /v1/estimate sends) fills a per-bill JSON template with the
figures; ``estimate_workload`` builds the response structs, which the encoder writes. The
two must never differ, for any model, tier, workload shape or count.
"""

from decimal import Context, Decimal, Inexact, InvalidOperation

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.responses import encode
from service.routes_estimate import EstimateRequest, estimate_workload, render_estimate
from tests.test_bundle_manifest import BUNDLE

SHAPES = [
    {"input_tokens": 2000, "output_tokens": 800, "requests": 5000},
    {"input_tokens": 300_000, "cached_input_tokens": 100_000, "cache_write_tokens": 50_000, "cache_ttl": "1h",
     "output_tokens": 5000, "requests": 31, "period": "day", "discount_percent": "7.5"},
    {"input_tokens": 1_000_000, "cache_write_tokens": 999_999, "output_tokens": 1, "requests": 10**12,
     "period": "week", "discount_percent": "0.000001"},
    {"input_tokens": 128_001, "cached_input_tokens": 128_001, "requests": 0},
    {"input_tokens": 1, "output_tokens": 1, "requests": 1, "discount_percent": "100"},
]


def request(**fields) -> EstimateRequest:
    return msgspec.convert(fields, EstimateRequest)


def both(service, req: EstimateRequest) -> tuple[bytes, bytes]:
    return render_estimate(service, req), encode(estimate_workload(service, req))


@pytest.mark.parametrize("shape", SHAPES, ids=["plain", "cached-1h-day", "huge-week", "no-requests", "free"])
def test_every_bundled_model_renders_as_its_structs_encode(bundled_service, shape):
    keys = [f"{p}/{m}" for p, m in sorted(bundled_service.catalog.models)]
    assert len(keys) == BUNDLE["priced_models"]  # every model the bundled catalog prices, 20 to a request
    for start in range(0, len(keys), 20):
        for tiers in (None, ["priority", "flex", "batch", "standard"], ["batch"]):
            rendered, encoded = both(bundled_service, request(models=keys[start:start + 20], tiers=tiers, **shape))
            assert rendered == encoded


def test_the_worked_example_renders_its_figures(bundled_service):
    rendered, encoded = both(bundled_service, request(models=["gpt-4o"], input_tokens=2000, output_tokens=800,
                                                      requests=5000, tiers=["standard", "batch"]))
    assert rendered == encoded
    body = msgspec.json.Decoder(float_hook=Decimal).decode(rendered)
    standard, batch = body["estimates"]
    assert (standard["per_request"], standard["per_1k_requests"], standard["per_period"], standard["per_year"]) == (
        Decimal("0.013"), 13, 65, 780)  # 2000 x 2.50/1M + 800 x 10/1M = 0.013 USD a request
    assert (batch["per_period"], batch["savings_vs_standard"]) == (
        Decimal("32.5"), {"usd": Decimal("32.5"), "percent": Decimal("50.00")})
    assert b'"percent":50.00' in rendered  # the percent keeps its two places
    assert batch["batch_plan"]["jobs_per_period"] == 1


def test_text_notes_and_past_prices_render_as_their_structs_encode(bundled_service):
    for fields in ({"models": ["claude-sonnet-4-5", "gpt-4o"], "text": "Summarise this ticket in two lines."},
                   {"models": ["o3"], "input_tokens": 10**6, "output_tokens": 10**6, "as_of": "2025-06-01"},
                   {"models": ["o3", "gpt-4o"], "input_tokens": 5, "version": 5}):
        rendered, encoded = both(bundled_service, request(**fields))
        assert rendered == encoded


counts = st.integers(0, 10**9)


@settings(max_examples=150, deadline=None)
@given(prompt=counts, cached=st.integers(0, 100), written=st.integers(0, 100), output=counts,
       requests=st.integers(0, 10**12), period=st.sampled_from(["day", "week", "month"]),
       ttl=st.sampled_from(["5m", "1h"]), discount=st.integers(0, 10**8))
def test_random_workloads_render_as_their_structs_encode(bundled_service, prompt, cached, written, output, requests,
                                                         period, ttl, discount):
    cached_tokens, written_tokens = prompt * cached // 200, prompt * written // 200  # together at most the prompt
    req = request(models=["gpt-4o", "claude-sonnet-4-5", "gemini-2.5-pro", "o3", "deepseek-chat"],
                  input_tokens=prompt, cached_input_tokens=cached_tokens, cache_write_tokens=written_tokens,
                  cache_ttl=ttl, output_tokens=output, requests=requests, period=period,
                  discount_percent=str(Decimal(discount).scaleb(-6)))
    rendered, encoded = both(bundled_service, req)
    assert rendered == encoded


EXACT = Context(prec=200, traps=[Inexact, InvalidOperation])


@given(units=st.integers(-10**60, 10**60), scale=st.integers(0, 60))
def test_a_figure_is_written_as_str_writes_it(units, scale):
    """The templates put ``str(figure)`` where the encoder would write the Decimal as a JSON number."""
    figure = EXACT.divide(units, Decimal(10**scale))
    assert encode(figure) == str(figure).encode()
    percent = Decimal(units % 10**9).scaleb(-2, EXACT)
    assert encode(percent) == str(percent).encode()
