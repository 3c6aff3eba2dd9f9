"""Issue 17: unknown is not "not offered", dated tier rules, witness-only models, freshness, same-value handovers.

Tests marked BUNDLE below read the bundled snapshots and curated history (gpt-4o-mini at
$0.15/$0.60 since 2024-07-18 with OpenAI's page first read on 2026-08-01, claude-opus-4-5 curated
at $5/$25, claude-sonnet-4-6 and claude-opus-4-6 listed by claude.com); the others build their
own database and hold whatever the bundle holds.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import feedparser
import msgspec
import pytest
from litestar.testing import TestClient

from ratecard.service.app import Settings, create_app, prepare_service
from ratecard.service.bootstrap import bundled_snapshots
from ratecard.service.catalog import build_catalog
from ratecard.service.changesets import Proposal, diff, record_changeset
from ratecard.service.db import open_database
from ratecard.service.freshness import confirmed_reads, provider_freshness
from ratecard.service.history import changesets_page, model_history
from ratecard.service.rates import Rate, stored_statements
from ratecard.service.sources import Registry, Source
from ratecard.service.tier_rules import TierRule, bundled_tier_rules, derive_rates
from ratecard.service.timeutil import parse_moment, to_db
from tests.conftest import FIXED_NOW
from tests.test_api import exact

D = Decimal
T = datetime(2025, 1, 1, tzinfo=UTC)


# ---------------------------------------------------------------- BUNDLE: the "Done when" figures


def test_forecast_across_the_first_observation_prices_batch_as_billed(client):
    # 50,000 requests of 500 in + 300 out, growing 10% a month, 60% of it on batch, from 2026-01: OpenAI's
    # page (and its batch rows) was first read on 2026-08-01, but its Batch API has billed 50% since 2024.
    body = exact(client.post("/v1/forecast", json={
        "models": ["gpt-4o-mini"], "input_tokens": 500, "output_tokens": 300, "monthly_requests": 50_000,
        "monthly_growth_percent": 10, "batch_share": 0.6, "start_month": "2026-01", "months": 3}))
    (mini,) = body["forecasts"]
    # standard 50,000 x (500 x 0.15 + 300 x 0.60) / 1e6 = 12.75; with 60% at half price: 12.75 x 0.7 = 8.925
    assert [m["cost_usd"] for m in mini["months"]] == [D("8.925"), D("9.8175"), D("10.79925")]
    assert mini["total_usd"] == D("29.54175")
    assert [(m["batch_tier_offered"], m["batch_tier_state"]) for m in mini["months"]] == [(True, "priced")] * 3
    assert not any("offers no batch tier" in w for w in body["warnings"])


def test_a_past_batch_estimate_is_derived_from_the_stated_rule(client):
    body = exact(client.post("/v1/estimate", json={
        "models": ["gpt-4o-mini"], "input_tokens": 1_000_000, "output_tokens": 1_000_000, "tiers": ["batch"],
        "as_of": "2025-03-01"}))
    (batch,) = body["estimates"]
    assert batch["per_request"] == D("0.375")  # 1M x 0.075 + 1M x 0.30
    assert {line["basis"] for line in batch["lines"]} == {"derived"} and batch["source"] == ["tier-rules"]
    assert body["unpriced"] == [] and not any("does not offer" in w for w in body["warnings"])


def test_a_curated_model_gets_batch_rates_from_anthropics_rule(client):
    # Now: $2.50 / $12.50, printed by a newer Anthropic page or derived from the rule (either way the same).
    rates = exact(client.get("/v1/prices", params={"model": "claude-opus-4-5", "tier": "batch"}))["rates"]
    batch = {r["kind"]: r for r in rates if r["min_prompt_tokens"] == 0}
    assert (batch["input"]["usd_per_mtok"], batch["output"]["usd_per_mtok"]) == (D("2.5"), D("12.5"))
    # A week after its launch only curated history prices it (no bundled page lists it yet): derived.
    rates = exact(client.get("/v1/prices", params={"model": "claude-opus-4-5", "tier": "batch",
                                                   "as_of": "2025-12-01"}))["rates"]
    batch = {r["kind"]: r for r in rates if r["min_prompt_tokens"] == 0}
    assert (batch["input"]["usd_per_mtok"], batch["output"]["usd_per_mtok"]) == (D("2.5"), D("12.5"))
    assert batch["input"]["basis"] == "derived" and "anthropic-message-batches" in batch["input"]["note"]
    assert batch["input"]["url"] == "https://www.anthropic.com/news/message-batches-api"


@pytest.mark.parametrize(("model", "input_usd"), [("claude-sonnet-4-6", D(3)), ("claude-opus-4-6", D(5))])
def test_models_only_witnesses_list_answer_with_their_prices(client, model, input_usd):
    # Served from claude.com while Anthropic's bundled page lacks them (or officially, once a newer page lists them).
    body = exact(client.get("/v1/prices", params={"model": model, "tier": "standard", "kind": "input"}))
    (row,) = body["rates"]
    assert row["usd_per_mtok"] == input_usd
    if row["basis"] == "witness":
        assert any("a witness" in w for w in body["warnings"]) and "agree" in row["note"]
    estimate = exact(client.get("/v1/estimate", params={"model": model, "input_tokens": 1000, "output_tokens": 100}))
    assert estimate["estimates"][0]["per_request"] > 0


def latest_bundled_read(source: str) -> datetime:
    """When the newest bundled copy of a source's page was seen (the manifest: no bundle contents hard-coded)."""
    return max(parse_moment(s.observed_at) for s in bundled_snapshots() if s.source == source)


def test_a_get_estimate_says_how_old_its_prices_are_and_that_they_are_stale(client):
    body = exact(client.get("/v1/estimate", params={"model": "gpt-4o-mini", "input_tokens": 100}))
    (fresh,) = body["freshness"]
    seen = latest_bundled_read("openai")  # 2026-08-01 in today's bundle; the test clock reads 2026-11-20 12:00
    assert (fresh["provider"], fresh["source"], fresh["prices_as_of"]) == ("openai", "openai", to_db(seen))
    assert fresh["stale_after_hours"] == 48 and fresh["stale"] is (FIXED_NOW - seen > timedelta(hours=48))
    if fresh["stale"]:
        assert fresh["warning"] in body["warnings"]
        assert to_db(seen) in fresh["warning"] and "stale" in fresh["warning"]


def test_the_feed_shows_gpt_4o_minis_input_price_once(client):
    changesets = exact(client.get("/v1/changes", params={"provider": "openai", "model": "gpt-4o-mini",
                                                        "limit": 200}))["changesets"]
    inputs = [(c["action"], c["new_usd_per_mtok"], c["source"]) for cs in changesets for c in cs["changes"]
              if (c["tier"], c["kind"], c["min_prompt_tokens"]) == ("standard", "input", 0)]
    # Curated history dates the price; the page and the witnesses that state it later confirm it.
    assert [a for a in inputs if a[0] in ("added", "changed")] == [("added", D("0.15"), "curated")]
    assert ("confirmed", D("0.15"), "openai") in inputs
    assert {a[0] for a in inputs} == {"added", "confirmed"}
    atom = feedparser.parse(client.get("/v1/changes.atom", params={"provider": "openai",
                                                                   "model": "gpt-4o-mini"}).content)
    assert sum("gpt-4o-mini standard input new at 0.15 USD/1M" in e.summary for e in atom.entries) == 1


def test_readyz_stays_ready_and_names_the_stale_sources():
    seen = latest_bundled_read("openai")
    service = prepare_service(Settings(), clock=lambda: seen + timedelta(days=3))
    with TestClient(create_app(service.settings, service=service, clock=service.clock)) as client:
        response = client.get("/readyz")
        assert response.status_code == 200
        body = exact(response)
        assert body["status"] == "ready" and "openai" in body["stale_sources"]


# ---------------------------------------------------------------- the tier rules, pure


def rate(tier: str, kind: str, usd: str | None, start: datetime = T, end: datetime | None = None,
         model: str = "m", provider: str = "openai") -> Rate:
    return Rate(provider=provider, model=model, tier=tier, kind=kind, min_prompt_tokens=0,
                usd_per_mtok=None if usd is None else D(usd), basis="not_offered" if usd is None else "published",
                valid_from=start, valid_to=end, source_id=provider, url="https://example.test/", body_sha256="0" * 64,
                run_id=1, observed_at=start, changeset_id=1)


HALF = TierRule(id="half", provider="openai", tiers=("batch",), kinds=("input", "output"), of_tier="standard",
                multiplier=D("0.5"), effective="2025-03-01", source_url="https://example.test/rule", evidence="50% off")


def spans(rates: list[Rate]) -> list[tuple]:
    return [(r.tier, r.kind, r.usd_per_mtok, r.valid_from, r.valid_to, r.basis) for r in rates]


def test_a_rule_derives_from_its_start_until_a_printed_rate_takes_over():
    page = datetime(2025, 8, 1, tzinfo=UTC)
    rates = [rate("standard", "input", "0.15"), rate("batch", "input", "0.08", page)]
    assert spans(derive_rates(rates, [HALF])) == [
        ("batch", "input", D("0.075"), datetime(2025, 3, 1, tzinfo=UTC), page, "derived")]
    note = derive_rates(rates, [HALF])[0].note
    assert "rule half (since 2025-03-01)" in note and "50% off" in note


def test_a_rate_the_page_says_is_not_offered_is_never_derived():
    rates = [rate("standard", "output", "0.60"), rate("batch", "output", None, datetime(2025, 8, 1, tzinfo=UTC))]
    assert derive_rates(rates, [HALF]) == []


def test_a_rule_ends_when_it_says_and_skips_the_models_it_excludes():
    ending = TierRule(**{**{f: getattr(HALF, f) for f in HALF.__struct_fields__}, "until": "2025-06-01",
                         "except_models": ("x",)})
    rates = [rate("standard", "input", "1"), rate("standard", "input", "1", model="x")]
    assert spans(derive_rates(rates, [ending])) == [
        ("batch", "input", D("0.5"), datetime(2025, 3, 1, tzinfo=UTC), datetime(2025, 6, 1, tzinfo=UTC), "derived")]


# ---------------------------------------------------------------- freshness, on an injected clock


def test_freshness_is_a_function_of_the_clock_and_the_sources_threshold():
    source = Source(id="p", providers=("p",), url="https://example.test/", parser="openai", role="authoritative",
                    stale_after_hours=24)
    registry = Registry(sources={"p": source})
    reads = {"p": T}
    (fresh,) = provider_freshness(registry, reads, ["p"], now=T + timedelta(hours=23), default_hours=48)
    assert (fresh.prices_as_of, fresh.stale, fresh.warning) == (T, False, None)
    (stale,) = provider_freshness(registry, reads, ["p"], now=T + timedelta(hours=25), default_hours=48)
    assert stale.stale and stale.warning == (
        "p prices were last confirmed on 2025-01-01T00:00:00Z by reading p: stale (older than 24 hours)")
    (never,) = provider_freshness(registry, {}, ["p"], now=T, default_hours=48)
    assert never.stale and "never confirmed" in never.warning


# ---------------------------------------------------------------- handovers and witness-only models, own database


def proposal(lane: str, source: str, model: str, usd: str, at: datetime, *, basis: str = "published",
             url: str = "") -> Proposal:
    return Proposal(lane=lane, provider="anthropic", model=model, tier="standard", kind="input", min_prompt_tokens=0,
                    usd_per_mtok=D(usd), basis=basis, valid_from=at, source_id=source,
                    url=url or f"https://{source}.test/", body_sha256="1" * 64, run_id=None, observed_at=at)


def commit(db, proposals: list[Proposal], source: str, *, read_at: datetime | None = None) -> None:
    changes = diff(db, proposals)
    if changes:
        record_changeset(db, changes, source_id=source, run_id=None, now=FIXED_NOW)
    if read_at is not None:  # a successful read of the source's page seen at read_at
        db["runs"].insert({"source_id": source, "trigger": "test", "started_at": "2026-11-20T12:00:00Z",
                           "finished_at": "2026-11-20T12:00:00Z", "status": "changed",
                           "observed_at": read_at.strftime("%Y-%m-%dT%H:%M:%SZ")})


@pytest.mark.parametrize("curated_first", [True, False])
def test_a_page_taking_over_a_curated_rate_at_the_same_value_leaves_one_interval(curated_first):
    db = open_database(None)
    curated = [proposal("official", "curated", "m", "3", T, basis="curated")]
    page = [proposal("official", "anthropic", "m", "3", datetime(2026, 8, 1, tzinfo=UTC))]
    for batch, source in ([(curated, "curated"), (page, "anthropic")] if curated_first
                          else [(page, "anthropic"), (curated, "curated")]):
        commit(db, batch, source)
    (interval,) = model_history(db, "anthropic", "m")
    assert (interval.usd_per_mtok, interval.valid_from, interval.valid_to) == (D(3), T, None)
    assert (interval.source_id, interval.basis) == ("anthropic", "published")  # the page is the latest statement
    stored = stored_statements(interval)
    assert '"source":"curated"' in stored and '"source":"anthropic"' in stored
    assert b'"also"' not in msgspec.json.encode(interval)  # the stored list stays inside: also_stated_by says it
    # The feed: the price appears once; the other source's statement is a confirmation.
    actions = [(c["action"], c["source_id"]) for _, changes in changesets_page(db, limit=10) for c in changes]
    assert sorted(actions) == sorted([("added", "curated"), ("confirmed", "anthropic")])
    # Reading the same again changes nothing; a different price is a change.
    assert diff(db, curated) == [] and diff(db, page) == []
    assert [c.action for c in diff(db, [proposal("official", "anthropic", "m", "2", datetime(2026, 9, 1,
                                                                                              tzinfo=UTC))])] == [
        "changed"]


def test_a_witness_only_model_is_served_until_the_page_lists_it():
    db = open_database(None)
    page_read = datetime(2025, 11, 19, tzinfo=UTC)
    registry = Registry(sources={
        "anthropic": Source(id="anthropic", providers=("anthropic",), url="https://a.test/", parser="anthropic",
                            role="authoritative"),
        "claude-com": Source(id="claude-com", providers=("anthropic",), url="https://c.test/", parser="claude-com",
                             role="witness"),
        "models-dev": Source(id="models-dev", providers=("*",), url="https://m.test/", parser="models-dev",
                             role="witness"),
    })
    commit(db, [proposal("official", "anthropic", "claude-sonnet-4-5", "3", page_read)], "anthropic",
           read_at=page_read)
    # Two witnesses list a model the page lacks (claude-sonnet-4-6 is an active id of the bundled model
    # catalog), both seen after the page was last read; one of them also lists a model the page dropped.
    commit(db, [proposal("claude-com", "claude-com", "claude-sonnet-4-6", "3", datetime(2026, 5, 8, tzinfo=UTC))],
           "claude-com", read_at=datetime(2026, 5, 8, tzinfo=UTC))
    commit(db, [proposal("models-dev", "models-dev", "claude-sonnet-4-6", "3", datetime(2026, 3, 1, tzinfo=UTC))],
           "models-dev", read_at=datetime(2026, 3, 1, tzinfo=UTC))
    catalog = build_catalog(db, registry, now=FIXED_NOW)
    key = ("anthropic", "claude-sonnet-4-6")
    assert catalog.models[key].served_from == "claude-com"  # the witness that names the provider
    (served,) = [r for r in catalog.rates_at(key, FIXED_NOW) if (r.tier, r.kind) == ("standard", "input")]
    assert (served.basis, served.usd_per_mtok, served.source_id) == ("witness", D(3), "claude-com")
    assert "2 of 2 witnesses listing it agree (claude-com, models-dev)" in served.note
    # The page lists it: served officially from then on.
    commit(db, [proposal("official", "anthropic", "claude-sonnet-4-6", "3", datetime(2026, 8, 1, tzinfo=UTC))],
           "anthropic", read_at=datetime(2026, 8, 1, tzinfo=UTC))
    catalog = build_catalog(db, registry, now=FIXED_NOW)
    assert catalog.models[key].served_from == "official"
    assert [r.basis for r in catalog.rates_at(key, FIXED_NOW) if (r.tier, r.kind) == ("standard", "input")] == [
        "published"]
    assert confirmed_reads(db)["anthropic"] == datetime(2026, 8, 1, tzinfo=UTC)


def test_a_witness_row_older_than_the_pages_last_read_is_not_served():
    db = open_database(None)
    registry = Registry(sources={
        "anthropic": Source(id="anthropic", providers=("anthropic",), url="https://a.test/", parser="anthropic",
                            role="authoritative"),
        "claude-com": Source(id="claude-com", providers=("anthropic",), url="https://c.test/", parser="claude-com",
                             role="witness"),
    })
    commit(db, [proposal("claude-com", "claude-com", "claude-sonnet-4-6", "3", T)], "claude-com", read_at=T)
    commit(db, [proposal("official", "anthropic", "claude-sonnet-4-5", "3", T + timedelta(days=30))], "anthropic",
           read_at=T + timedelta(days=30))
    assert ("anthropic", "claude-sonnet-4-6") not in build_catalog(db, registry, now=FIXED_NOW).models


# ---------------------------------------------------------------- stale warnings on a service of its own clock


def test_a_fresh_read_clears_the_stale_warning():
    # The newest bundled OpenAI page: a clock a day after it says fresh, one three days after, stale.
    seen = latest_bundled_read("openai")
    for now, stale in ((seen + timedelta(days=1), False), (seen + timedelta(days=3), True)):
        service = prepare_service(Settings(), clock=lambda now=now: now)
        with TestClient(create_app(service.settings, service=service, clock=service.clock)) as client:
            body = exact(client.get("/v1/prices", params={"model": "gpt-4o-mini", "kind": "input"}))
            (fresh,) = body["freshness"]
            assert fresh["stale"] is stale
            assert any("stale" in w for w in body["warnings"]) is stale


# ---------------------------------------------------------------- dated aliases


def test_a_dated_alias_names_the_model_it_meant_when_the_row_was_seen():
    from ratecard.scrapers.names import model_named_then

    assert model_named_then("deepseek", "deepseek-chat", "2026-01-26") == "deepseek-v3.2"
    assert model_named_then("deepseek", "deepseek-chat", "2026-05-08") is None  # from then: the catalog's alias
    assert model_named_then("deepseek", "deepseek/deepseek-chat", "2026-09-01") == "deepseek-v3"
    assert model_named_then("openai", "deepseek-chat", "2026-01-26") is None


def test_old_witness_rows_of_deepseek_chat_are_not_compared_with_v4(bundled_service):  # BUNDLE
    rows = bundled_service.db.execute(
        "SELECT lane, valid_from FROM rates WHERE provider = 'deepseek' AND model = 'deepseek-v4-flash'"
        " AND lane != 'official' AND valid_from < '2026-05-08'").fetchall()
    assert rows == []


def test_openais_2024_caching_rule_covers_only_the_models_it_names(client):  # BUNDLE
    # gpt-4o-mini in 2025: curated history states its cached input, so the rule derives nothing (a stated
    # price wins), and the rule agrees with it: half of the $0.15 input, as the 2024-10-01 announcement says.
    mini = exact(client.get("/v1/prices", params={"model": "gpt-4o-mini", "as_of": "2025-03-01",
                                                  "tier": "standard", "kind": "cached_input"}))["rates"]
    assert [(r["usd_per_mtok"], r["basis"]) for r in mini] == [(D("0.075"), "curated")]
    rule = next(r for r in bundled_tier_rules() if r.id == "openai-prompt-caching-2024")
    assert rule.covers("openai", "gpt-4o-mini") and D("0.15") * rule.multiplier == D("0.075")
    assert not rule.covers("openai", "o3")
    # o3 is not one of them: no rule, so its cached input is whatever curated history or the page says.
    o3 = exact(client.get("/v1/prices", params={"model": "o3", "as_of": "2025-06-20", "tier": "standard",
                                                "kind": "cached_input"}))["rates"]
    assert [r["basis"] for r in o3] == ["curated"]


def test_history_shows_the_intervals_a_rule_derives(client):  # BUNDLE
    # gpt-4o-mini's batch input: derived from the curated standard price since it launched, until the page prints it.
    body = exact(client.get("/v1/models/openai/gpt-4o-mini/history"))
    batch = [(i["basis"], i["usd_per_mtok"], i["valid_from"][:10], (i["valid_to"] or "")[:10])
             for i in body["intervals"] if (i["tier"], i["kind"], i["min_prompt_tokens"]) == ("batch", "input", 0)]
    first_page = to_db(min(parse_moment(s.observed_at) for s in bundled_snapshots() if s.source == "openai"))[:10]
    assert batch[0] == ("derived", D("0.075"), "2024-07-18", first_page)
    assert all(basis != "derived" for basis, *_ in batch[1:])


def _batch_input(rows):
    return [(r["basis"], r["usd_per_mtok"], r["valid_from"][:10], (r["valid_to"] or "")[:10])
            for r in rows if (r["tier"], r["kind"], r["min_prompt_tokens"]) == ("batch", "input", 0)]


GPT_4O_BATCH_INPUT = [("derived", D("2.5"), "2024-05-13", "2024-10-02"),
                      ("derived", D("1.25"), "2024-10-02", "2026-08-01"),
                      ("published", D("1.25"), "2026-08-01", "")]


def test_the_cli_history_and_its_plot_read_the_derived_intervals_the_api_shows(client, bundled_service):  # BUNDLE
    from ratecard.service.export import served_history

    api = exact(client.get("/v1/models/openai/gpt-4o/history"))["intervals"]
    # `ratecard history` and its --plot read served_history: the same intervals as the API, derived ones too.
    cli = [msgspec.to_builtins(r) for r in served_history(  # Rate is the API's rate row
        bundled_service.db, bundled_service.catalog, provider="openai", model="gpt-4o")]
    cli = [{**r, "usd_per_mtok": None if r["usd_per_mtok"] is None else D(r["usd_per_mtok"])} for r in cli]
    assert _batch_input(api) == _batch_input(cli) == GPT_4O_BATCH_INPUT
    export = exact(client.get("/v1/export", params={"scope": "history", "provider": "openai"}))
    rows = export["rates"] if isinstance(export, dict) else export
    assert _batch_input([r for r in rows if r["model"] == "gpt-4o"]) == GPT_4O_BATCH_INPUT


def test_a_past_derived_rate_ends_where_the_printed_price_begins(client):  # BUNDLE
    rows = exact(client.get("/v1/prices", params={"model": "gpt-4o", "tier": "batch", "kind": "input",
                                                  "as_of": "2025-01-01"}))["rates"]
    # As in the history: the rule's $1.25 until OpenAI's page prints $1.25 (from 2026-08-01), not open-ended.
    assert _batch_input(rows) == [GPT_4O_BATCH_INPUT[1]]
    assert rows[0]["also_stated_by"] == []
    # The catalog of that moment (every model, as the catalog export reads it) says the same.
    export = exact(client.get("/v1/export", params={"scope": "catalog", "as_of": "2025-01-01"}))
    rows = export["rates"] if isinstance(export, dict) else export
    assert _batch_input([r for r in rows if r["model"] == "gpt-4o"]) == [GPT_4O_BATCH_INPUT[1]]


def test_a_past_catalog_without_a_model_lists_the_derived_rates(client):  # BUNDLE
    # Before OpenAI's page was first read (2026-08-01) its batch rates come from the 50% rule, as with model=.
    rows = exact(client.get("/v1/prices", params={"as_of": "2025-03-01", "provider": "openai", "tier": "batch",
                                                  "kind": "input"}))["rates"]
    assert [(r["model"], r["usd_per_mtok"], r["basis"], r["source"]) for r in rows] == [
        ("gpt-4o", D("1.25"), "derived", "tier-rules"), ("gpt-4o-2024-05-13", D("2.5"), "derived", "tier-rules"),
        ("gpt-4o-2024-08-06", D("1.25"), "derived", "tier-rules"), ("gpt-4o-mini", D("0.075"), "derived", "tier-rules")]


@pytest.mark.parametrize("limit", [5, 500])
def test_a_past_catalog_in_pages_is_the_models_answers_one_after_another(client, limit):  # BUNDLE
    """Paged without ``model``, derived rates and gaps included, it says what each model's own answer says."""
    moment = {"as_of": "2025-03-01"}
    pages, offset = [], 0
    while not pages or offset < pages[-1]["total"]:
        pages.append(exact(client.get("/v1/prices", params={**moment, "limit": limit, "offset": offset})))
        offset += limit
    rows = [r for p in pages for r in p["rates"]]
    models = list(dict.fromkeys((r["provider"], r["model"]) for r in rows))
    assert models == [("anthropic", "claude-3-5-haiku"), ("anthropic", "claude-3-7-sonnet"),
                      ("anthropic", "claude-3-haiku"), ("openai", "gpt-4o"), ("openai", "gpt-4o-2024-05-13"),
                      ("openai", "gpt-4o-2024-08-06"), ("openai", "gpt-4o-mini")]
    one_by_one = [exact(client.get("/v1/prices", params={**moment, "provider": p, "model": m})) for p, m in models]
    assert rows == [r for answer in one_by_one for r in answer["rates"]]
    assert sum(r["source"] == "tier-rules" for r in rows) == 22
    # Every page lists the gaps of the models it covers; together they are every model's own.
    gaps = [g for p in pages for g in p["unpriced"]]
    assert list(dict.fromkeys(map(tuple, (g.values() for g in gaps)))) == [
        tuple(g.values()) for answer in one_by_one for g in answer["unpriced"]]
    assert [g["reason"] for g in pages[-1]["unpriced"]][-1] == (
        "no priority price is recorded for openai/gpt-4o-mini before 2026-08-01")


def test_a_filtered_past_catalog_names_the_tier_it_has_no_record_of(client):  # BUNDLE
    # No model had a priority price on 2025-03-01: no rows, and each OpenAI model's priority tier is unknown then.
    body = exact(client.get("/v1/prices", params={"as_of": "2025-03-01", "tier": "priority"}))
    assert (body["total"], body["rates"]) == (0, [])
    assert [(g["model"], g["state"], g["reason"]) for g in body["unpriced"]] == [
        (model, "unknown", f"no priority price is recorded for openai/{model} before 2026-08-01")
        for model in ("gpt-4o", "gpt-4o-2024-05-13", "gpt-4o-mini")]


def test_a_derived_rate_claims_only_its_rule_and_the_rate_it_was_derived_from(client):  # BUNDLE
    body = exact(client.get("/v1/models/anthropic/claude-opus-4-1/history"))
    (derived,) = [i for i in body["intervals"] if (i["tier"], i["kind"], i["basis"]) == ("standard", "cache_write",
                                                                                         "derived")]
    # Curated history states only input/output; the page's own 18.75 is the next interval. So the derived
    # row names its rule and the curated input $15 it is 1.25 x of, stated from 2025-08-05, and no one else.
    assert (derived["usd_per_mtok"], derived["valid_from"][:10], derived["valid_to"][:10]) == (
        D("18.75"), "2025-08-05", "2025-10-29")
    assert (derived["source"], derived["observed_at"][:10], derived["also_stated_by"]) == (
        "tier-rules", "2025-08-05", [])
    assert "derived from standard input 15 x 1.25" in derived["note"]
    published = [i for i in body["intervals"] if (i["tier"], i["kind"]) == ("standard", "cache_write")
                 and i["basis"] == "published"]
    assert [(p["source"], p["valid_from"][:10], p["usd_per_mtok"]) for p in published] == [
        ("anthropic", "2025-10-29", D("18.75"))]


def test_a_merged_interval_names_one_statement_whole_and_the_others_beside_it(client):  # BUNDLE
    def statement(row):
        return (row["basis"], row["source"], row["observed_at"][:10], row["changeset_id"],
                [(s["source"], s["valid_from"][:10], s["changeset_id"]) for s in row["also_stated_by"]])

    # Opus 4.1's input: curated history states $15 from 2025-08-05 (changeset 32 recorded it, reaching back
    # before the page), Anthropic's page from 2025-10-29 (its own changeset). One interval, two statements.
    history = exact(client.get("/v1/models/anthropic/claude-opus-4-1/history"))["intervals"]
    (interval,) = [i for i in history if (i["tier"], i["kind"], i["min_prompt_tokens"]) == ("standard", "input", 0)]
    curated_cs = interval["changeset_id"]
    page_cs = next(s["changeset_id"] for s in interval["also_stated_by"] if s["source"] == "anthropic")
    # The history row says the statement that opened it, as its valid_from does.
    assert statement(interval) == ("curated", "curated", "2025-08-05", curated_cs,
                                   [("anthropic", "2025-10-29", page_cs)])
    assert interval["valid_from"][:10] == "2025-08-05" and page_cs < curated_cs  # the page was read first

    def price(**params):
        (row,) = exact(client.get("/v1/prices", params={"model": "claude-opus-4-1", "tier": "standard",
                                                         "kind": "input", **params}))["rates"]
        return statement(row)

    # Now the page says the price, with the changeset that recorded the page's statement, not the curated one.
    assert price() == ("published", "anthropic", "2025-10-29", page_cs,
                       [("curated", "2025-08-05", curated_cs)])
    assert price(as_of="2025-09-01") == statement(interval)


def test_every_current_rate_is_the_historys_interval_in_force_now(bundled_service):  # BUNDLE
    from ratecard.service.export import served_history
    from ratecard.service.rates import stated_at

    # The snapshot derives from the rows in force now, the history from every row: the same
    # intervals, derived ones included, and the same provenance (the statement in force now).
    def shown(rates):
        return sorted((r.key, r.usd_per_mtok, r.valid_from, r.valid_to, r.basis, r.source_id, r.changeset_id)
                      for r in rates)

    history = [stated_at(r, FIXED_NOW) for r in served_history(bundled_service.db, bundled_service.catalog)
               if r.in_force(FIXED_NOW)]
    catalog = bundled_service.catalog
    assert shown(history) == shown(r for key in catalog.models for r in catalog.rates_at(key, FIXED_NOW))
    assert any(r.basis == "derived" for r in history)
