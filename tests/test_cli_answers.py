"""`ratecard forecast`, `tokens` and `export` against their endpoints, and the CLI's common manners:
one money format, a quiet closed pipe, exit 1 on an empty result, no file made by a command that only reads.

The commands run as real processes in an empty working directory, with no RATECARD_* variable set,
so they price from the bundled catalog in memory; the HTTP side is the test app over the same bundle.
"""

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from ratecard.service.terminal import EXIT_CLOSED_PIPE, EXIT_EMPTY, EXIT_USAGE, format_table, format_usd

RATECARD = Path(sys.executable).parent / "ratecard"
ENV = {k: v for k, v in os.environ.items() if not k.startswith("RATECARD_")}


@pytest.fixture
def workdir(tmp_path) -> Path:
    """An empty working directory; every test using it checks nothing was left in it."""
    yield tmp_path
    assert sorted(p.name for p in tmp_path.iterdir()) == [], "a command that only reads made a file"


def ratecard(cwd: Path, *args: str, text: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(RATECARD), *args], capture_output=True, cwd=cwd, env=ENV, input=text, timeout=120,
                          text=text is not None)


# ---------------------------------------------------------------- the money format


@pytest.mark.parametrize(("amount", "shown", "exact_shown"), [
    ("6.5", "$6.50", "$6.50"),
    ("1326", "$1,326.00", "$1,326.00"),
    ("1234567.891", "$1,234,567.89", "$1,234,567.891"),
    ("0", "$0.00", "$0.00"),
    ("-12", "-$12.00", "-$12.00"),
    ("0.5", "$0.50", "$0.50"),
    ("0.1234", "$0.12", "$0.1234"),
    # Below ten cents two decimals would leave one significant digit: keep two.
    ("0.013", "$0.013", "$0.013"),
    ("0.0221", "$0.022", "$0.0221"),
    ("0.0065", "$0.0065", "$0.0065"),
    ("0.000375", "$0.00038", "$0.000375"),  # half-even: 3.75 -> 3.8
    ("0.005", "$0.005", "$0.005"),
    ("0.0999", "$0.10", "$0.0999"),  # rounding up to a round figure leaves no trailing zero
    ("1.3E+3", "$1,300.00", "$1,300.00"),
])
def test_money_has_two_decimals_separators_and_sub_cent_digits(amount, shown, exact_shown):
    assert format_usd(Decimal(amount)) == shown
    assert format_usd(Decimal(amount), exact=True) == exact_shown  # prices: never rounded


def test_no_price_is_a_dash_and_tables_align_numbers_right():
    assert format_usd(None) == "-"
    assert format_table([("model", "cost"), ("a", "$1.00"), ("bbbb", "$1,000.00")], right=(1,)).splitlines() == [
        "model       cost", "a          $1.00", "bbbb   $1,000.00"]


# ---------------------------------------------------------------- forecast

# The seed's example: $2,000 a month on gpt-4o (1,000 in + 250 out = $0.005 a request at $2.50/$10,
# x 400,000 requests) with 60% moved to batch (half price) saves 0.6 x 0.5 x $2,000 = $600 a month.
SEED = ["gpt-4o", "--input-tokens", "1000", "--output-tokens", "250", "--monthly-requests", "400000",
        "--batch-share", "0.6", "--start-month", "2026-12", "--months", "12"]
SEED_BODY = {"models": ["gpt-4o"], "input_tokens": 1000, "output_tokens": 250, "monthly_requests": 400000,
             "batch_share": 0.6, "start_month": "2026-12", "months": 12}


def test_forecast_prints_the_seed_example_month_by_month(workdir):
    result = ratecard(workdir, "forecast", *SEED, "--migration-hours", "16", "--hourly-rate-usd", "100")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.decode().splitlines()
    assert lines[0] == "openai/gpt-4o: 12 month(s), 2026-12 to 2027-11, catalog version " + lines[0].split()[-1]
    assert lines[1].split() == ["month", "requests", "cost", "baseline", "batch", "saves", "cache", "saves",
                                "cumulative"]
    assert lines[2].split() == ["2026-12", "400,000", "$1,400.00", "$2,000.00", "$600.00", "$0.00", "$1,400.00"]
    assert lines[13].split() == ["2027-11", "400,000", "$1,400.00", "$2,000.00", "$600.00", "$0.00", "$16,800.00"]
    assert lines[14].split() == ["total", "4,800,000", "$16,800.00", "$24,000.00", "$7,200.00", "$0.00"]
    # 16 h x $100 = $1,600: month 1 saves $600, month 2 $1,200, month 3 $1,800.
    assert lines[15] == "migration $1,600.00: paid back in month 3 (2027-02)"


def test_forecast_json_is_the_bytes_of_post_forecast(workdir, client):
    mixed = ["gpt-4o,claude-sonnet-4-5", "o3", *SEED[1:], "--monthly-growth-percent", "10",
             "--cached-input-tokens", "400", "--cache-hit-share", "0.5"]
    spend = [*SEED[:5], "--monthly-spend-usd", "2000", *SEED[7:]]
    assert SEED[5:7] == ["--monthly-requests", "400000"]
    for flags, body in ((SEED, {}), (mixed, {"monthly_growth_percent": 10, "cached_input_tokens": 400,
                                             "cache_hit_share": 0.5, "models": ["gpt-4o", "claude-sonnet-4-5", "o3"]}),
                        (spend, {"monthly_requests": None, "monthly_spend_usd": 2000})):
        result = ratecard(workdir, "forecast", *flags, "--json")
        assert result.returncode == 0, result.stderr
        answer = client.post("/v1/forecast", json={**SEED_BODY, **body})
        assert answer.status_code == 200, answer.text
        assert result.stdout == answer.content + b"\n"


def test_forecast_can_start_from_a_monthly_spend(workdir):
    # $2,000 a month at $0.005 a request is the seed's 400,000 requests.
    result = ratecard(workdir, "forecast", *SEED[:5], "--monthly-spend-usd", "2000", *SEED[7:])
    assert result.returncode == 0, result.stderr
    lines = result.stdout.decode().splitlines()
    assert lines[0].endswith("; $2,000.00 a month on openai/gpt-4o at $0.005 a request is 400,000 requests")
    assert lines[2].split() == ["2026-12", "400,000", "$1,400.00", "$2,000.00", "$600.00", "$0.00", "$1,400.00"]


def test_forecast_refuses_bad_input_like_the_api(workdir):
    bad = ratecard(workdir, "forecast", *SEED[:-2], "--months", "0")
    assert bad.returncode == EXIT_USAGE and b"months" in bad.stderr
    share = ratecard(workdir, "forecast", *SEED, "--batch-share", "1.5")
    assert share.returncode == EXIT_USAGE and b"batch_share" in share.stderr
    unknown = ratecard(workdir, "forecast", "gpt-4oo", *SEED[1:])
    assert unknown.returncode == EXIT_USAGE and b"openai/gpt-4o" in unknown.stderr


def test_a_forecast_with_no_priced_month_exits_1(workdir):
    # gpt-4o was launched in 2024: nothing is in force in January 2020.
    result = ratecard(workdir, "forecast", "gpt-4o", "--input-tokens", "10", "--monthly-requests", "10",
                      "--start-month", "2020-01", "--months", "2")
    assert result.returncode == EXIT_EMPTY and b"not priced in 2 months" in result.stderr
    assert result.stdout.decode().splitlines()[2].split() == ["2020-01", "10", "-", "-", "-", "-", "$0.00"]


# ---------------------------------------------------------------- tokens


def test_tokens_counts_stdin_for_each_model_like_post_tokens(workdir, client):
    text = "How much does a million tokens cost?"
    table = ratecard(workdir, "tokens", "gpt-4o,claude-sonnet-4-5", text=text)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["model", "tokens", "characters", "encoding", "exact"]
    assert lines[1].split() == ["openai/gpt-4o", "8", "36", "o200k_base", "yes"]
    assert lines[2].split()[0] == "anthropic/claude-sonnet-4-5" and lines[2].split()[-1] == "no"
    assert "approximate" in table.stderr
    as_json = ratecard(workdir, "tokens", "gpt-4o", "claude-sonnet-4-5", "--text", text, "--json")
    expected = [client.post("/v1/tokens", json={"model": m, "text": text}).content
                for m in ("gpt-4o", "claude-sonnet-4-5")]
    assert as_json.stdout.splitlines() == expected


# ---------------------------------------------------------------- export


def test_export_formats_are_the_bytes_of_get_export(workdir, client):
    query = {"provider": "anthropic", "as_of": "2026-11-20"}
    flags = ["--provider", "anthropic", "--as-of", "2026-11-20"]
    for fmt in ("json", "csv", "litellm"):
        result = ratecard(workdir, "export", "--format", fmt, *flags)
        assert result.returncode == 0, result.stderr
        answer = client.get("/v1/export", params={**query, "format": fmt})
        assert result.stdout.rstrip(b"\n") == answer.content.rstrip(b"\n"), fmt
    assert ratecard(workdir, "export", "--json", *flags).stdout == ratecard(workdir, "export", "--format", "json",
                                                                             *flags).stdout


def test_export_table_prints_prices_exactly(workdir):
    result = ratecard(workdir, "export", "--provider", "openai", "--as-of", "2026-11-20")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.decode().splitlines()
    assert lines[0].split() == ["model", "tier", "kind", "over", "tokens", "usd_per_mtok", "basis", "from"]
    rows = {tuple(line.split()[:3]): line.split() for line in lines[1:]}
    assert rows[("openai/gpt-4o", "standard", "input")][3] == "$2.50"
    assert rows[("openai/gpt-4o-mini", "batch", "input")][3] == "$0.075"  # a price is never rounded to cents


def test_export_to_a_file_and_an_empty_selection(tmp_path):
    out = tmp_path / "rates.csv"
    result = ratecard(tmp_path, "export", "--format", "csv", "--provider", "openai", "--output", str(out))
    assert result.returncode == 0 and result.stdout == b"" and out.read_bytes().startswith(b"provider,model,tier")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rates.csv"]
    out.unlink()
    nothing = ratecard(tmp_path, "export", "--provider", "openai", "--as-of", "2001-01-01")
    assert nothing.returncode == EXIT_EMPTY and nothing.stdout == b"" and b"no rates match" in nothing.stderr
    wrong = ratecard(tmp_path, "export", "--scope", "history", "--format", "litellm")
    assert wrong.returncode == EXIT_USAGE and b"scope=catalog" in wrong.stderr


# ---------------------------------------------------------------- common manners


def test_an_estimate_with_nothing_priced_exits_1(workdir):
    result = ratecard(workdir, "estimate", "gpt-4o", "--input-tokens", "10", "--as-of", "2001-01-01")
    assert result.returncode == EXIT_EMPTY and b"had no prices in force" in result.stderr


def test_commands_that_only_read_make_no_file(workdir):
    for args in (["estimate", "gpt-4o", "--input-tokens", "10"], ["agreement", "--provider", "anthropic"],
                 ["history", "o3"], ["changesets", "list", "--status", "applied"]):
        result = ratecard(workdir, *args)
        assert result.returncode == 0, (args, result.stderr)


def test_a_closed_pipe_ends_quietly(workdir):
    # As a person types it: the shell's pipe into head.
    shell = subprocess.run(f"'{RATECARD}' agreement | head -4", shell=True, capture_output=True, cwd=workdir,
                           env=ENV, timeout=120)
    assert len(shell.stdout.splitlines()) == 4
    assert b"Traceback" not in shell.stderr and b"BrokenPipeError" not in shell.stderr
    # And for certain: a pipe whose reader is gone before the first line is written.
    read, write = os.pipe()
    os.close(read)
    try:
        closed = subprocess.run([str(RATECARD), "export", "--provider", "openai"], stdout=write,
                                stderr=subprocess.PIPE, cwd=workdir, env=ENV, timeout=120)
    finally:
        os.close(write)
    assert closed.returncode == EXIT_CLOSED_PIPE and closed.stderr == b""
