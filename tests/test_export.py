"""Exports: JSON rows, CSV that reads back to the same Decimals, and a LiteLLM map our own witness parser reads."""

import csv
import io
from decimal import Decimal

import pytest

from ratecard.scrapers import get_parser
from ratecard.scrapers.litellm import rate_key
from ratecard.service.export import CSV_COLUMNS, LITELLM_PROVIDERS, litellm_field, litellm_key, usd_per_token
from tests.test_api import exact
from tests.test_bundle_manifest import BUNDLE

DECIMAL_COLUMNS = {"usd_per_mtok"}
INT_COLUMNS = {"min_prompt_tokens", "changeset_id"}


def export(client, **params):
    response = client.get("/v1/export", params=params)
    assert response.status_code == 200, response.text
    return response


def csv_rows(response) -> list[dict]:
    reader = csv.DictReader(io.StringIO(response.content.decode("utf-8"), newline=""))
    assert tuple(reader.fieldnames) == CSV_COLUMNS
    return list(reader)


def from_csv(column: str, cell: str):
    """A CSV cell typed as the JSON export types it."""
    if cell == "":
        return None
    if column in DECIMAL_COLUMNS:
        return Decimal(cell)
    if column in INT_COLUMNS:
        return int(cell)
    return cell


@pytest.mark.parametrize("scope", ["catalog", "history"])
def test_csv_reads_back_to_the_json_export_value_for_value(client, scope):
    rows = exact(export(client, scope=scope))
    table = csv_rows(export(client, scope=scope, format="csv"))
    assert len(table) == len(rows) > 1000
    for json_row, csv_row in zip(rows, table):
        # Decimals compare by value and keep their digits: "2.50" stays 2.50, never 2.5 or 2.4999.
        assert {c: from_csv(c, csv_row[c]) for c in CSV_COLUMNS} == {c: json_row[c] for c in CSV_COLUMNS}
        if json_row["usd_per_mtok"] is not None:  # the same digits too (a JSON 2 decodes as an int)
            assert csv_row["usd_per_mtok"] == format(Decimal(json_row["usd_per_mtok"]), "f")


def test_csv_is_a_utf8_attachment(client):
    response = export(client, format="csv", provider="anthropic")
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    version = BUNDLE["changesets"]  # the catalog version is the latest changeset
    assert response.headers["content-disposition"] == f'attachment; filename="ratecard-catalog-v{version}-anthropic.csv"'
    assert {row["provider"] for row in csv_rows(response)} == {"anthropic"}


def test_json_catalog_export_is_what_prices_serves(client):
    rows = exact(export(client))
    prices = exact(client.get("/v1/prices", params={"limit": 5000}))
    assert rows == prices["rates"]
    gpt_4o = {(r["tier"], r["kind"]): r["usd_per_mtok"] for r in rows if r["model"] == "gpt-4o"}
    assert (gpt_4o[("standard", "input")], gpt_4o[("batch", "output")]) == (Decimal("2.50"), Decimal("5.00"))


def test_catalog_export_answers_for_a_past_moment(client):
    rows = exact(export(client, as_of="2025-06-01", provider="openai"))
    o3 = {(r["tier"], r["kind"]): r["usd_per_mtok"] for r in rows if r["model"] == "o3"}
    # Batch is derived from OpenAI's stated rule (50% of standard since 2024-04-15).
    assert o3 == {("standard", "input"): Decimal("10.00"), ("standard", "cached_input"): Decimal("2.50"),
                  ("standard", "output"): Decimal("40.00"), ("batch", "input"): Decimal(5),
                  ("batch", "output"): Decimal(20)}
    assert {r["basis"] for r in rows if r["model"] == "o3" and r["tier"] == "batch"} == {"derived"}


def test_history_holds_o3s_two_curated_intervals(client):
    rows = exact(export(client, scope="history", provider="openai"))
    o3 = [(r["kind"], r["usd_per_mtok"], r["valid_from"][:10], (r["valid_to"] or "")[:10], r["basis"],
           [s["source"] for s in r["also_stated_by"]])
          for r in rows if r["model"] == "o3" and r["tier"] == "standard" and r["kind"] in ("input", "output")]
    # The page confirmed the cut prices: one interval from the cut, its provenance the statement that opened it
    # (curated history's), the page's in also_stated_by.
    assert o3 == [
        ("input", Decimal("10.00"), "2025-04-16", "2025-06-10", "curated", []),
        ("input", Decimal("2.00"), "2025-06-10", "", "curated", ["openai"]),
        ("output", Decimal("40.00"), "2025-04-16", "2025-06-10", "curated", []),
        ("output", Decimal("8.00"), "2025-06-10", "", "curated", ["openai"]),
    ]


def test_history_serves_each_model_from_its_lane(client):
    rows = exact(export(client, scope="history"))
    served = {(m["provider"], m["model"]): m["served_from"]
              for m in exact(client.get("/v1/models", params={"limit": 5000}))["models"]}
    assert {(r["provider"], r["model"]) for r in rows} == set(served)
    witness = [r for r in rows if served[(r["provider"], r["model"])] != "official"]
    assert witness and {r["basis"] for r in witness} <= {"witness", "not_offered"}


def test_history_as_known_at_a_version_leaves_out_later_changesets(client):
    rows = exact(export(client, scope="history", version=12))
    assert rows and max(r["changeset_id"] for r in rows) <= 12
    assert not [r for r in rows if r["basis"] == "curated"]  # curated history came in changesets 13-31


def test_litellm_export_reads_back_through_the_litellm_witness_parser(client):
    response = export(client, format="litellm")
    assert response.headers["content-disposition"] == 'attachment; filename="model_prices_and_context_window.json"'
    observations = get_parser("litellm")(response.content, "https://ratecard.test/v1/export?format=litellm").observations
    read = {(o.provider, o.model, o.tier, o.kind, o.min_prompt_tokens): o.usd_per_mtok for o in observations}

    def rates(provider, model):
        return {k[2:]: v for k, v in read.items() if k[:2] == (provider, model)}

    gpt_4o = rates("openai", "gpt-4o")
    assert gpt_4o[("standard", "input", 0)] == Decimal("2.5") and gpt_4o[("standard", "output", 0)] == 10
    assert gpt_4o[("batch", "input", 0)] == Decimal("1.25") and gpt_4o[("batch", "output", 0)] == 5
    sonnet = rates("anthropic", "claude-sonnet-4-5")
    assert (sonnet[("standard", "input", 0)], sonnet[("standard", "output", 0)]) == (3, 15)
    assert sonnet[("standard", "cached_input", 0)] == Decimal("0.3")
    assert sonnet[("standard", "cache_write", 0)] == Decimal("3.75")
    assert sonnet[("standard", "cache_write_1h", 0)] == 6
    gemini = rates("google", "gemini-2.5-pro")
    assert (gemini[("standard", "input", 0)], gemini[("standard", "output", 0)]) == (Decimal("1.25"), 10)
    assert (gemini[("standard", "input", 200000)], gemini[("standard", "output", 200000)]) == (Decimal("2.5"), 15)


def test_litellm_export_round_trips_every_official_price(client):
    """Every priced official rate LiteLLM has a field for comes back equal, and nothing else comes back."""
    body = export(client, format="litellm").content
    read = {(o.provider, o.model, o.tier, o.kind, o.min_prompt_tokens): o.usd_per_mtok
            for o in get_parser("litellm")(body, "https://ratecard.test/export").observations}
    official = {(m["provider"], m["model"]) for m in exact(client.get("/v1/models", params={"limit": 5000}))["models"]
                if m["served_from"] == "official"}
    expected = {
        (r["provider"], r["model"], r["tier"], r["kind"], r["min_prompt_tokens"]): r["usd_per_mtok"]
        for r in exact(export(client))
        if (r["provider"], r["model"]) in official and r["usd_per_mtok"]  # the parser reads 0 as "no price"
        and litellm_field(r["tier"], r["kind"], r["min_prompt_tokens"])
        and not (r["provider"] == "google" and r["kind"].startswith("cache_write"))  # see scrapers.witness
    }
    assert {k: v for k, v in read.items() if k[:2] in official} == expected


def test_litellm_prices_are_exact_decimals_per_token(client):
    prices = exact(export(client, format="litellm"))
    assert prices["gpt-4o"]["input_cost_per_token"] == Decimal("0.0000025")
    assert prices["gpt-4o-mini"]["input_cost_per_token_batches"] == Decimal("7.5E-8")
    assert prices["gemini/gemini-2.5-pro"]["output_cost_per_token_above_200k_tokens"] == Decimal("0.000015")
    assert prices["claude-sonnet-4-5"].items() >= {"litellm_provider": "anthropic", "mode": "chat"}.items()
    assert "sample_spec" in prices  # LiteLLM's own file has it; the witness parser expects it
    assert all(any("cost" in field for field in entry) for key, entry in prices.items() if key != "sample_spec")


def test_litellm_fields_are_what_the_litellm_parser_reads():
    for tier in ("standard", "batch", "flex", "priority"):
        for kind in ("input", "output", "cached_input", "cache_write", "cache_write_1h", "input_audio"):
            for tokens in (0, 200000, 272000):
                assert rate_key(litellm_field(tier, kind, tokens)) == (tier, kind, tokens, 0)
    assert litellm_field("off_peak", "input", 0) is None
    assert litellm_field("standard", "cache_storage_per_hour", 0) is None
    assert litellm_field("standard", "input", 1500) is None


def test_litellm_keys_follow_litellms_conventions():
    assert litellm_key("openai", "gpt-4o") == ("gpt-4o", "openai")
    assert litellm_key("anthropic", "claude-sonnet-4-5") == ("claude-sonnet-4-5", "anthropic")
    assert litellm_key("google", "gemini-2.5-pro") == ("gemini/gemini-2.5-pro", "gemini")
    assert litellm_key("groq", "openai/gpt-oss-120b") == ("groq/openai/gpt-oss-120b", "groq")
    assert litellm_key("upstage", "solar-pro") == ("upstage/solar-pro", "upstage")
    assert set(LITELLM_PROVIDERS) >= {"openai", "anthropic", "google", "deepseek", "xai", "mistral", "groq"}


def test_per_token_prices_are_a_shift_not_a_division():
    assert usd_per_token(Decimal("2.50")) == Decimal("0.0000025")
    assert usd_per_token(Decimal("0.075")) == Decimal("7.5E-8")
    assert usd_per_token(Decimal("3")) * 1_000_000 == 3


@pytest.mark.parametrize(
    ("params", "field"),
    [({"format": "xml"}, "format"), ({"scope": "everything"}, "scope"),
     ({"scope": "history", "format": "litellm"}, "format"), ({"scope": "history", "as_of": "2025-01-01"}, "as_of"),
     ({"as_of": "last tuesday"}, "as_of"), ({"version": 999}, "version")],
)
def test_bad_parameters_are_problems_naming_the_parameter(client, params, field):
    response = client.get("/v1/export", params=params)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == [field]


def test_unknown_provider_is_a_404_with_suggestions(client):
    response = client.get("/v1/export", params={"provider": "opnai"})
    assert response.status_code == 404 and "openai" in response.json()["suggestions"]


def test_exports_are_cacheable_with_etags(client):
    first = export(client, format="csv", scope="history")
    assert first.headers["etag"].removeprefix("W/").startswith(f'"v{BUNDLE["changesets"]}-')  # weak when gzipped
    again = client.get("/v1/export", params={"format": "csv", "scope": "history"},
                       headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert export(client, format="json", scope="history").headers["etag"] != first.headers["etag"]
