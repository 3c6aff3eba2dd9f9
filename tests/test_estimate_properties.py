"""Properties of the estimator over generated rates and workloads (hypothesis)."""

from decimal import Decimal, localcontext

from hypothesis import assume, given
from hypothesis import strategies as st

from ratecard.service.estimate import PERIODS_PER_YEAR, Workload, estimate_model
from tests.test_estimate import rate

LONG = 200_000
PROMPT_KINDS = ("cached_input", "cache_write", "cache_write_1h")

usd_per_mtok = st.builds(lambda n, places: Decimal(n).scaleb(-places), st.integers(0, 10**6), st.integers(0, 4))
fraction = st.builds(lambda n: Decimal(n) / 100, st.integers(0, 100))  # batch as a share of standard


@st.composite
def model_rates(draw):
    """Standard and batch rates of one model with the same kinds, batch <= standard, maybe a long-context level."""
    kinds = ["input", "output", *draw(st.lists(st.sampled_from(PROMPT_KINDS), unique=True))]
    levels = [0, LONG] if draw(st.booleans()) else [0]
    rates = []
    for level in levels:
        for kind in kinds:
            standard = draw(usd_per_mtok)
            rates.append(rate("p", "m", "standard", kind, str(standard), level=level))
            rates.append(rate("p", "m", "batch", kind, str(standard * draw(fraction)), level=level))
    return tuple(rates)


@st.composite
def workloads(draw, max_prompt: int = 400_000):
    input_tokens = draw(st.integers(0, max_prompt))
    cached = draw(st.integers(0, input_tokens))
    written = draw(st.integers(0, input_tokens - cached))
    return Workload(
        input_tokens=input_tokens, cached_input_tokens=cached, cache_write_tokens=written,
        cache_ttl=draw(st.sampled_from(["5m", "1h"])), output_tokens=draw(st.integers(0, 200_000)),
        requests=draw(st.integers(0, 10**7)), period=draw(st.sampled_from(list(PERIODS_PER_YEAR))),
        discount_percent=draw(st.builds(lambda n: Decimal(n).scaleb(-2), st.integers(0, 10_000))),
    )


def tiers(rates, workload):
    return {t.tier: t for t in estimate_model(rates, workload).tiers}


def with_(workload: Workload, **changes) -> Workload:
    fields = {f: getattr(workload, f) for f in workload.__struct_fields__}
    return Workload(**{**fields, **changes})


@given(model_rates(), workloads())
def test_lines_sum_to_the_request_and_the_figures_follow_from_it(rates, workload):
    for estimate in tiers(rates, workload).values():
        assert sum(ln.cost_usd for ln in estimate.lines) == estimate.usd_per_request
        assert estimate.usd_per_1k_requests == estimate.usd_per_request * 1000
        assert estimate.usd_per_period == estimate.usd_per_request * workload.requests
        assert estimate.usd_per_year == estimate.usd_per_period * PERIODS_PER_YEAR[workload.period]
        assert sum(ln.tokens for ln in estimate.lines if ln.kind != "output") == workload.input_tokens


@given(model_rates(), workloads())
def test_figures_equal_the_formula_in_exact_decimal(rates, workload):
    for estimate in tiers(rates, workload).values():
        with localcontext(prec=200):
            expected = sum((ln.tokens * ln.usd_per_mtok for ln in estimate.lines), Decimal(0)) / 1_000_000
            expected = expected * (100 - workload.discount_percent) / 100
            assert estimate.usd_per_request == expected


@given(model_rates(), workloads(), st.integers(2, 1000))
def test_cost_is_linear_in_requests(rates, workload, k):
    assume(workload.requests * k <= 10**12)
    one, many = tiers(rates, workload), tiers(rates, with_(workload, requests=workload.requests * k))
    for tier, estimate in one.items():
        with localcontext(prec=200):  # the default 28 digits would round the product of a 30-digit figure
            assert many[tier].usd_per_period == estimate.usd_per_period * k
        assert many[tier].usd_per_request == estimate.usd_per_request


@given(model_rates(), workloads(), st.sampled_from(["input", "cached", "written", "output"]), st.integers(0, 100_000))
def test_cost_is_monotone_in_every_token_count_within_one_context_level(rates, workload, part, more):
    if part == "output":
        bigger = with_(workload, output_tokens=workload.output_tokens + more)
    else:
        grown = {"cached": "cached_input_tokens", "written": "cache_write_tokens"}.get(part)
        changes = {"input_tokens": workload.input_tokens + more}
        if grown:
            changes[grown] = getattr(workload, grown) + more
        bigger = with_(workload, **changes)
    before, after = tiers(rates, workload), tiers(rates, bigger)
    for tier, estimate in before.items():
        assume(after[tier].min_prompt_tokens == estimate.min_prompt_tokens)
        assert after[tier].usd_per_request >= estimate.usd_per_request


@given(model_rates(), workloads())
def test_batch_never_costs_more_than_standard_when_its_rates_do_not(rates, workload):
    priced = tiers(rates, workload)
    assert priced["batch"].usd_per_period <= priced["standard"].usd_per_period
    savings = priced["batch"].savings_vs_standard
    assert savings.usd_per_period == priced["standard"].usd_per_period - priced["batch"].usd_per_period
    assert savings.percent is None or Decimal(0) <= savings.percent <= Decimal(100)


@given(model_rates(), workloads())
def test_the_context_level_is_the_largest_threshold_the_prompt_exceeds(rates, workload):
    has_long = any(r.min_prompt_tokens == LONG for r in rates)
    for estimate in tiers(rates, workload).values():
        assert estimate.min_prompt_tokens == (LONG if has_long and workload.input_tokens > LONG else 0)
