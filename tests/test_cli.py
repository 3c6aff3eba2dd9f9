"""The `ratecard` command as an operator uses it."""

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import FIXTURES, SNAPSHOTS

RATECARD = Path(sys.executable).parent / "ratecard"
OPENAI = SNAPSHOTS / "openai" / "developers-pricing-md_EXCERPT_2026-08to11_llmstxtarchive-a30a6225.md"
CHALLENGE = FIXTURES / "openai" / "platform-pricing_CLOUDFLARE-CHALLENGE_2026-05-08_quill-d1507e12.html"
ANTHROPIC = sorted((SNAPSHOTS / "anthropic").glob("pricing_md_2025-*.md"))


def ratecard(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(RATECARD), *args], capture_output=True, text=True, timeout=120)


def test_parse_prints_rates_as_json_with_exact_numbers():
    result = ratecard("parse", "openai", str(OPENAI))
    assert result.returncode == 0, result.stderr
    rates = json.loads(result.stdout)
    assert set(rates[0]) >= {"provider", "model", "tier", "kind", "min_prompt_tokens", "usd_per_mtok", "basis"}
    mini = next(r for r in rates if r["model"] == "gpt-4o-mini" and r["tier"] == "batch" and r["kind"] == "input")
    assert mini["usd_per_mtok"] == 0.075 and '"usd_per_mtok":0.075' in result.stdout


def test_parse_rejects_a_challenge_page_with_the_reason_on_stderr():
    result = ratecard("parse", "openai", str(CHALLENGE))
    assert result.returncode == 1 and result.stdout == ""
    assert "page rejected" in result.stderr and "bot-challenge" in result.stderr


def test_refresh_from_file_records_real_changes_once(tmp_path):
    db = str(tmp_path / "r.db")
    first = ratecard("refresh", "anthropic", "--from-file", str(ANTHROPIC[0]), "--observed-at", "2025-10-29", "--db", db)
    assert first.returncode == 0 and "anthropic: changed (changeset 1, 110 change(s))" in first.stderr
    again = ratecard("refresh", "anthropic", "--from-file", str(ANTHROPIC[0]), "--db", db)
    assert "anthropic: unchanged" in again.stderr
    later = ratecard("refresh", "anthropic", "--from-file", str(ANTHROPIC[1]), "--observed-at", "2025-11-08", "--db", db)
    assert "anthropic: no_change" in later.stderr
    listed = ratecard("changesets", "list", "--status", "applied", "--db", db)
    assert listed.returncode == 0 and "anthropic" in listed.stdout and "110 change(s)" in listed.stdout
    shown = json.loads(ratecard("changesets", "show", "1", "--db", db).stdout)
    assert shown["status"] == "applied" and len(shown["changes"]) == 110
    assert ratecard("changesets", "approve", "1", "--db", db).returncode == 1  # not quarantined


def test_unknown_source_and_bad_dates_are_usage_errors(tmp_path):
    db = str(tmp_path / "r.db")
    assert ratecard("refresh", "nope", "--db", db).returncode == 2
    bad = ratecard("refresh", "anthropic", "--from-file", str(ANTHROPIC[0]), "--observed-at", "soon", "--db", db)
    assert bad.returncode == 2 and "--observed-at" in bad.stderr


def test_reparse_rereads_archived_pages_without_changing_correct_history(tmp_path):
    db = str(tmp_path / "r.db")
    ratecard("refresh", "anthropic", "--from-file", str(ANTHROPIC[0]), "--observed-at", "2025-10-29", "--db", db)
    result = ratecard("reparse", "anthropic", "--db", db)
    assert result.returncode == 0 and "1 archived page(s) reparsed" in result.stderr
    assert "anthropic: no_change" in result.stderr


def test_estimate_prints_the_seed_example_per_tier(tmp_path):
    # GPT-4o at $2.50/$10 (batch $1.25/$5): 5,000 x (2,000 in + 800 out) = $65 a month, batch $32.50.
    result = ratecard("estimate", "gpt-4o", "--input-tokens", "2000", "--output-tokens", "800",
                      "--requests", "5000", "--tier", "standard", "--tier", "batch",
                      "--as-of", "2026-11-20", "--db", str(tmp_path / "e.db"))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("catalog version ") and lines[0].endswith(
        "prices as of 2026-11-20T00:00:00+00:00, 5,000 requests per month")
    # Money through the one formatter: cents with thousands separators, two significant digits below 10 cents.
    assert lines[2].split() == ["openai/gpt-4o", "standard", "$0.013", "$13.00", "$65.00", "$780.00"]
    assert lines[3].split() == ["openai/gpt-4o", "batch", "$0.0065", "$6.50", "$32.50", "$390.00", "-50.00%"]


def test_estimate_json_is_the_api_answer_with_exact_numbers(tmp_path):
    result = ratecard("estimate", "gpt-4o-mini", "--input-tokens", "500", "--output-tokens", "300",
                      "--requests", "50000", "--tier", "batch", "--as-of", "2026-11-20", "--json",
                      "--db", str(tmp_path / "e.db"))
    assert result.returncode == 0, result.stderr
    (batch,) = json.loads(result.stdout)["estimates"]
    assert (batch["model"], batch["tier"], batch["per_period"]) == ("gpt-4o-mini", "batch", 6.375)
    assert '"per_period":6.375' in result.stdout


def test_estimate_refuses_bad_input_with_the_reason(tmp_path):
    db = str(tmp_path / "e.db")
    unknown = ratecard("estimate", "gpt-4oo", "--input-tokens", "10", "--db", db)
    assert unknown.returncode == 2 and "no model named 'gpt-4oo'" in unknown.stderr and "openai/gpt-4o" in unknown.stderr
    negative = ratecard("estimate", "gpt-4o", "--input-tokens", "-1", "--db", db)
    assert negative.returncode == 2 and "input_tokens" in negative.stderr
    too_much_cache = ratecard("estimate", "gpt-4o", "--input-tokens", "10", "--cached-input-tokens", "11", "--db", db)
    assert too_much_cache.returncode == 2 and "cached_input_tokens" in too_much_cache.stderr
