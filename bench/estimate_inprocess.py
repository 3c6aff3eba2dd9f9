"""The estimator's cost per call, in process, against genai-prices' ``calc_price``.

Bench-only dependency, not in pyproject: ``pip install genai-prices``.

Prices one workload (2,000 input / 800 output tokens, 5,000 requests a month)
on gpt-4o from the bundled catalog (an in-memory database bootstrapped from the
bundled pages). genai-prices prices the same usage with its public
``calc_price`` (the model matched by name on each call, as a caller uses it).
The judged pair is the issue's: one model and one tier, ours including the
name lookup (``catalog.resolve`` + ``catalog.rates_at`` + ``estimate_model``)
against ``calc_price``; target ours >= 10x faster. Also shown: every tier on
both sides (genai-prices once per tier via its ``price_context``), the
arithmetic alone, and ``estimate_workload`` - the core of one GET /v1/estimate,
minus HTTP - which shows whether the RateIndex cache is hit on the HTTP path.
Each figure is the median of several timed rounds.

    python bench/estimate_inprocess.py
    python bench/estimate_inprocess.py --rounds 15 --round-time 0.5 --no-results
"""

import argparse
import sys
from decimal import Decimal

import benchlib
from ratecard.service.app import Settings, prepare_service
from ratecard.service.estimate import Workload, estimate_model
from ratecard.service.pricing import EstimateRequest, estimate_workload
from ratecard.service.timeutil import utc_now

MODEL = "gpt-4o"
INPUT_TOKENS, OUTPUT_TOKENS, REQUESTS = 2000, 800, 5000
# ratecard tier -> genai-prices price_context selecting that tier's prices (see its PriceVariant.when).
GENAI_CONTEXT = {"standard": None, "batch": {"processing": "batch"}, "priority": {"service_tier": "priority"},
                 "flex": {"service_tier": "flex"}}
TARGET_SPEEDUP = 10.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=9, help="timed rounds per case (default 9)")
    parser.add_argument("--round-time", type=float, default=0.3, help="seconds per round (default 0.3)")
    parser.add_argument("--no-results", action="store_true", help="do not append to bench/RESULTS.md")
    args = parser.parse_args()
    try:
        import genai_prices
        from genai_prices import Usage, calc_price
        from genai_prices.data_snapshot import get_snapshot
    except ImportError:
        sys.exit("genai-prices is a bench-only dependency: pip install genai-prices")

    service = prepare_service(Settings(db_path=None))
    catalog = service.catalog
    key = catalog.resolve(MODEL)
    now = utc_now()
    rates = catalog.rates_at(key, now)
    tiers = [t for t in GENAI_CONTEXT if any(r.tier == t for r in rates)]
    workload = Workload(input_tokens=INPUT_TOKENS, output_tokens=OUTPUT_TOKENS, requests=REQUESTS)
    usage = Usage(input_tokens=INPUT_TOKENS, output_tokens=OUTPUT_TOKENS)

    # The two must agree on the standard price before their speed is worth comparing.
    ours = estimate_model(rates, workload, tiers=["standard"]).tiers[0].usd_per_request
    theirs = calc_price(usage, MODEL, provider_id="openai").total_price
    snapshot = get_snapshot()
    provider, model = snapshot.find_provider_model(MODEL, None, "openai", None)

    def genai_all_tiers() -> None:
        for tier in tiers:
            calc_price(usage, MODEL, provider_id="openai", price_context=GENAI_CONTEXT[tier])

    request = EstimateRequest(models=[MODEL], input_tokens=INPUT_TOKENS, output_tokens=OUTPUT_TOKENS,
                              requests=REQUESTS)
    lookup_one = "ours: resolve + rates_at + estimate_model, one tier"
    lookup_all = "ours: resolve + rates_at + estimate_model, all tiers"
    genai_one = "genai-prices: calc_price, one tier"
    genai_all = f"genai-prices: calc_price x {len(tiers)} tiers"
    cases = {
        lookup_one: lambda: estimate_model(catalog.rates_at(catalog.resolve(MODEL), utc_now()), workload,
                                           tiers=["standard"]),
        lookup_all: lambda: estimate_model(catalog.rates_at(catalog.resolve(MODEL), utc_now()), workload),
        "ours: estimate_model, one tier (rates in hand)": lambda: estimate_model(rates, workload, tiers=["standard"]),
        "ours: estimate_model, all tiers (rates in hand)": lambda: estimate_model(rates, workload),
        "ours: estimate_model, all tiers, rates indexed afresh": lambda: estimate_model(list(rates), workload),
        "ours: estimate_workload, all tiers (GET /v1/estimate minus HTTP)":
            lambda: estimate_workload(service, request),
        genai_one: lambda: calc_price(usage, MODEL, provider_id="openai"),
        genai_all: genai_all_tiers,
        "genai-prices: model.calc_price, model pre-resolved, one tier":
            lambda: model.calc_price(usage, provider),
    }
    print(f"timing {len(cases)} cases, {args.rounds} interleaved rounds of ~{args.round_time:g} s each", flush=True)
    rounds = benchlib.time_interleaved(cases, repeat=args.rounds, min_time_s=args.round_time)
    timings = {name: benchlib.median(seconds) * 1e6 for name, seconds in rounds.items()}
    spread = {name: (min(seconds) * 1e6, max(seconds) * 1e6) for name, seconds in rounds.items()}

    # (label, ours, theirs, judged): the first is the target; the others are context.
    pairs = [
        ("one model, one tier, name lookup included (the target)", lookup_one, genai_one, True),
        (f"one model, all tiers ({', '.join(tiers)}), name lookup included", lookup_all, genai_all, False),
        ("one tier, arithmetic only (both sides' model in hand)", "ours: estimate_model, one tier (rates in hand)",
         "genai-prices: model.calc_price, model pre-resolved, one tier", False),
        ("GET /v1/estimate core (all tiers) vs calc_price per tier",
         "ours: estimate_workload, all tiers (GET /v1/estimate minus HTTP)", genai_all, False),
    ]
    rows = [[name, f"{us:.2f}", f"{spread[name][0]:.2f} - {spread[name][1]:.2f}"] for name, us in timings.items()]
    table = benchlib.markdown_table(["case", "µs/call (median)", "range over rounds"], rows)
    verdict_rows = []
    for label, ours_case, theirs_case, judged in pairs:
        # The median of per-round ratios: each round's two figures were taken moments apart.
        speedup = benchlib.median([theirs / ours for ours, theirs in zip(rounds[ours_case], rounds[theirs_case])])
        verdict_rows.append([label, f"{timings[ours_case]:.2f}", f"{timings[theirs_case]:.2f}", f"{speedup:.1f}x",
                             benchlib.pass_fail(speedup >= TARGET_SPEEDUP) if judged else "(context)"])
    verdicts = benchlib.markdown_table(["comparison", "ours µs", "genai-prices µs", "ours faster by (median of rounds)",
                                        f"target >= {TARGET_SPEEDUP:g}x"], verdict_rows)
    print("\n" + table + "\n\n" + verdicts)
    notes = [
        f"Workload: {MODEL}, {INPUT_TOKENS} input + {OUTPUT_TOKENS} output tokens, {REQUESTS} requests/month. "
        f"Standard price per request: ours {ours}, genai-prices {theirs}"
        + (" (agree)." if Decimal(ours) == theirs else " (DISAGREE: the comparison is suspect)."),
        "Ours computes per request, per 1k, per period, per year, lines and savings vs standard (and a batch plan); "
        "genai-prices computes one request's input/output/total.",
        "'rates in hand' passes the catalog's own tuple, so estimate_model's RateIndex cache (keyed by the "
        "tuple's identity) hits; 'rates indexed afresh' passes a list, so every call re-indexes (a cold model). "
        "If estimate_workload costs about as much as 'indexed afresh', the HTTP path misses that cache.",
        f"{args.rounds} rounds of ~{args.round_time:g} s per case, the cases taking turns within each round "
        "(so a burst of load on the shared machine hits all of them); median of the rounds.",
    ]
    for note in notes:
        print("- " + note)
    if not args.no_results:
        env = benchlib.environment({"genai-prices": genai_prices.__version__})
        benchlib.append_results("Estimator in process vs genai-prices (bench/estimate_inprocess.py)",
                                [("", table), ("Verdicts", verdicts), ("Notes", "\n".join("- " + n for n in notes))],
                                env=env)


if __name__ == "__main__":
    main()
