"""The estimate answer as it is written: exact decimals as JSON numbers, percents with their places."""

from decimal import Context, Decimal, Inexact, InvalidOperation

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from ratecard.service.responses import encode
from ratecard.service.pricing import EstimateRequest, estimate_workload


def request(**fields) -> EstimateRequest:
    return msgspec.convert(fields, EstimateRequest)


def test_the_worked_example_renders_its_figures(bundled_service):
    rendered = encode(estimate_workload(bundled_service, request(
        models=["gpt-4o"], input_tokens=2000, output_tokens=800, requests=5000, tiers=["standard", "batch"])))
    body = msgspec.json.Decoder(float_hook=Decimal).decode(rendered)
    standard, batch = body["estimates"]
    assert (standard["per_request"], standard["per_1k_requests"], standard["per_period"], standard["per_year"]) == (
        Decimal("0.013"), 13, 65, 780)  # 2000 x 2.50/1M + 800 x 10/1M = 0.013 USD a request
    assert (batch["per_period"], batch["savings_vs_standard"]) == (
        Decimal("32.5"), {"usd": Decimal("32.5"), "percent": Decimal("50.00")})
    assert b'"percent":50.00' in rendered  # the percent keeps its two places
    assert batch["batch_plan"]["jobs_per_period"] == 1



EXACT = Context(prec=200, traps=[Inexact, InvalidOperation])


@given(units=st.integers(-10**60, 10**60), scale=st.integers(0, 60))
def test_a_figure_is_written_as_str_writes_it(units, scale):
    """A figure is written with its exact digits, as ``str`` writes the Decimal."""
    figure = EXACT.divide(units, Decimal(10**scale))
    assert encode(figure) == str(figure).encode()
    percent = Decimal(units % 10**9).scaleb(-2, EXACT)
    assert encode(percent) == str(percent).encode()
