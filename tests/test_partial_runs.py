"""A page with one unreadable section: the run is `partial`, and only the readable sections count.

The real bundled Gemini page is ingested through the real pipeline; then a
variant derived from it in memory (one model section broken so it cannot be
read, and prices changed both in that section and in a readable one) is
ingested with a section-scoped stand-in of the Google parser
(tests/sectioned_google.py), registered under its own parser name in the
parser registry the pipeline reads. The saved page itself is never edited.
"""

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import msgspec
import pytest
import sqlite_utils
from litestar.testing import TestClient

from ratecard import data as ratecard_data
from ratecard.scrapers import PARSER_MODULES, google
from ratecard.scrapers.observation import SkippedSection
from ratecard.service.app import Settings, create_app
from ratecard.service.catalog import sync_model_catalog
from ratecard.service.cli import main
from ratecard.service.db import open_database
from ratecard.service.refresh import PARTIAL, QUARANTINED, RunResult, ingest_page, shielded_models
from ratecard.service.sources import load_registry
from tests import sectioned_google
from tests.conftest import FIXED_NOW, fixed_clock
from tests.sectioned_google import PARSERS

PAGE = ratecard_data.path("snapshots", "google", "gemini-api-pricing_jina-md_2026-06-02_quill-3a8ccd31.md")
URL = "https://ai.google.dev/gemini-api/docs/pricing"
SEEN = datetime(2026, 6, 2, tzinfo=UTC)  # when the bundled copy was seen
LATER = datetime(2026, 7, 1, tzinfo=UTC)  # when the variant is "seen"
GOOGLE = load_registry().sources["google"]
BROKEN = "Gemini 2.5 Pro"


@pytest.fixture(autouse=True)
def sectioned_parsers(monkeypatch) -> None:
    """Register the stand-ins in the parser registry for this test only (undone after it)."""
    for name, module in PARSERS.items():
        monkeypatch.setitem(PARSER_MODULES, name, module)


def page_text() -> str:
    return PAGE.read_text(encoding="utf-8")


def edit_section(text: str, title: str, edit) -> str:
    """The page with the ``## title`` section (up to the next ``##`` heading) replaced by ``edit(section)``."""
    start = text.index(f"\n## {title}\n") + 1
    end = text.index("\n## ", start + 1) + 1
    edited = edit(text[start:end])
    assert edited != text[start:end], f"the edit changed nothing in {title}"
    return text[:start] + edited + text[end:]


def replace_once(old: str, new: str):
    def edit(section: str) -> str:
        assert old in section, old
        return section.replace(old, new, 1)
    return edit


def unreadable(section: str) -> str:
    """Drop the section's last price table (4 tier tabs, 3 tables: Google's parser rejects it) and
    raise its standard input price, which must therefore never be read."""
    blocks = section.split("\n\n")
    last = max(i for i, block in enumerate(blocks) if block.startswith("|"))
    section = "\n\n".join(blocks[:last] + blocks[last + 1:])
    return replace_once("| Input price | Free of charge | $1.25,", "| Input price | Free of charge | $1.40,")(section)


def variant(flash_output: str = "$2.75", *, drop: tuple[str, ...] = ()) -> bytes:
    """The real page with Gemini 2.5 Pro unreadable, Gemini 2.5 Flash's standard output at
    ``flash_output`` (from $2.50), and the sections titled in ``drop`` removed."""
    text = edit_section(page_text(), BROKEN, unreadable)
    text = edit_section(text, "Gemini 2.5 Flash",
                        replace_once("| Free of charge | $2.50 |", f"| Free of charge | {flash_output} |"))
    for title in drop:
        text = edit_section(text, title, lambda section: "")
    return text.encode()


def broken_reason() -> str:
    """Why the parser cannot read the broken section, in its own words (the pipeline only carries them)."""
    (section,) = sectioned_google.parse(variant(), URL).skipped
    assert section.reason
    return section.reason


def fresh_db() -> sqlite_utils.Database:
    """A database that has ingested the real bundled Gemini page as it was seen."""
    db = open_database(None)
    sync_model_catalog(db, now=FIXED_NOW)
    first = ingest_page(db, GOOGLE, PAGE.read_bytes(), url=URL, fetched_at=SEEN, now=FIXED_NOW, trigger="test")
    assert first.status == "changed" and not first.skipped
    return db


def ingest_variant(db: sqlite_utils.Database, body: bytes, parser: str = "google-sections") -> RunResult:
    source = msgspec.structs.replace(GOOGLE, parser=parser)
    return ingest_page(db, source, body, url=URL, fetched_at=LATER, now=FIXED_NOW, trigger="test")


def in_force(db: sqlite_utils.Database, model: str | None = None) -> set[tuple]:
    """Every current rate row (value, interval and the changeset that wrote it), optionally of one model."""
    return set(db.execute(
        "SELECT model, tier, kind, min_prompt_tokens, usd_per_mtok, basis, valid_from, valid_to, changeset_id"
        " FROM rates WHERE closed_changeset_id IS NULL AND provider = 'google' AND (? IS NULL OR model = ?)",
        [model, model]).fetchall())


def listed(db: sqlite_utils.Database, model: str) -> bool:
    return bool(db.execute("SELECT listed FROM models WHERE provider = 'google' AND model = ?", [model]).fetchone()[0])


def test_the_stand_in_reads_the_unbroken_page_as_the_real_parser_does():
    reading = sectioned_google.parse(PAGE.read_bytes(), URL)
    assert reading.skipped == []
    assert reading.observations == sectioned_google.as_reading(google.parse(PAGE.read_bytes(), URL)).observations


def test_a_page_with_one_unreadable_section_is_partial_and_changes_only_what_the_rest_says():
    db = fresh_db()
    before = in_force(db)
    pro_before = in_force(db, "gemini-2.5-pro")

    result = ingest_variant(db, variant())

    assert (result.status, result.changes, result.error) == (PARTIAL, 1, "")
    assert result.changeset_id is not None
    assert result.skipped == (SkippedSection(section=BROKEN, reason=broken_reason(), providers=("google",),
                                             models=("gemini-2.5-pro",)),)
    changes = [tuple(r) for r in db.execute(
        "SELECT action, model, tier, kind, min_prompt_tokens, old_usd_per_mtok, new_usd_per_mtok, valid_from"
        " FROM changes WHERE changeset_id = ?", [result.changeset_id]).fetchall()]
    assert changes == [("changed", "gemini-2.5-flash", "standard", "output", 0, "2.50", "2.75",
                        "2026-07-01T00:00:00Z")]
    # The skipped section's rates are exactly as they were (values, intervals, changeset), and its
    # model is still listed; its unread new input price ($1.40) was never taken.
    assert in_force(db, "gemini-2.5-pro") == pro_before
    pro = {(tier, kind, mpt): (Decimal(value), valid_from, valid_to)
           for _, tier, kind, mpt, value, _, valid_from, valid_to, _ in pro_before}
    assert pro[("standard", "input", 0)] == (Decimal("1.25"), "2026-06-02T00:00:00Z", None)
    assert pro[("standard", "input", 200000)] == (Decimal("2.50"), "2026-06-02T00:00:00Z", None)
    assert pro[("priority", "output", 0)] == (Decimal("18.00"), "2026-06-02T00:00:00Z", None)
    assert listed(db, "gemini-2.5-pro")
    # Everything else stands but the one rate the readable section changed, now split at LATER.
    after = in_force(db)
    flash_output = {r for r in before if r[:4] == ("gemini-2.5-flash", "standard", "output", 0)}
    assert before - after == flash_output
    assert {r[:8] for r in after - before} == {
        ("gemini-2.5-flash", "standard", "output", 0, "2.50", "published", "2026-06-02T00:00:00Z",
         "2026-07-01T00:00:00Z"),
        ("gemini-2.5-flash", "standard", "output", 0, "2.75", "published", "2026-07-01T00:00:00Z", None),
    }
    stored = json.loads(db.execute("SELECT skipped_sections FROM runs WHERE id = ?", [result.run_id]).fetchone()[0])
    assert stored == [{"section": BROKEN, "reason": broken_reason(), "providers": ["google"],
                       "models": ["gemini-2.5-pro"], "tiers": []}]


def test_a_model_missing_beside_a_scoped_skip_is_delisted_but_nothing_is_beside_an_unscoped_one():
    gone = "Gemini 2.0 Flash"
    scoped = fresh_db()
    result = ingest_variant(scoped, variant(drop=(gone,)))
    assert result.status == PARTIAL
    assert not listed(scoped, "gemini-2.0-flash") and listed(scoped, "gemini-2.5-pro")

    # A skipped section that could have priced anything of the source: nothing absent is gone.
    unscoped = fresh_db()
    before = in_force(unscoped)
    result = ingest_variant(unscoped, variant(drop=(gone,)), parser="google-sections-unscoped")
    assert result.status == PARTIAL and result.skipped[0].models == () and result.changes == 1
    assert listed(unscoped, "gemini-2.0-flash") and listed(unscoped, "gemini-2.5-pro")
    assert unscoped.execute("SELECT count(*) FROM changes WHERE action = 'delisted'").fetchone()[0] == 0
    assert {r for r in before if r[0] != "gemini-2.5-flash"} <= in_force(unscoped)


def test_the_5x_gate_still_quarantines_a_wild_move_in_a_read_section_of_a_partial_page():
    db = fresh_db()
    before = in_force(db)
    result = ingest_variant(db, variant("$25.00"))
    assert result.status == QUARANTINED
    assert result.error == "google/gemini-2.5-flash standard output moves more than 5x: 2.50 -> 25.00"
    assert [s.section for s in result.skipped] == [BROKEN]
    assert in_force(db) == before
    stored = db.execute("SELECT status, skipped_sections FROM runs WHERE id = ?", [result.run_id]).fetchone()
    assert stored[0] == QUARANTINED and json.loads(stored[1])[0]["section"] == BROKEN


def test_the_vanishing_gate_still_counts_the_models_the_read_sections_cover():
    db = fresh_db()
    # Seven model sections gone: above 20% of the models the read sections cover.
    gone = ("Gemini 2.5 Flash-Lite", "Gemini 2.0 Flash", "Gemini 2.0 Flash-Lite", "Gemini 3 Flash Preview",
            "Gemini 3.1 Flash-Lite", "Gemini 3.1 Pro Preview", "Gemini 2.5 Flash Image 🍌")
    result = ingest_variant(db, variant(drop=gone))
    assert result.status == QUARANTINED
    assert "listed models vanished from the page" in result.error
    assert listed(db, "gemini-2.0-flash")


def test_a_skipped_sections_scope_shields_the_models_it_may_price():
    db = fresh_db()
    models = {m for (m,) in db.execute("SELECT DISTINCT model FROM rates WHERE provider = 'google'").fetchall()}
    batch = {m for (m,) in db.execute("SELECT DISTINCT model FROM rates WHERE provider = 'google' AND tier = 'batch'")
             .fetchall()}
    assert set() < batch < models  # the page has models without a batch price, so the tier scope matters

    def shielded(**scope) -> set[str]:
        return {m for _, m in shielded_models(db, GOOGLE, [SkippedSection(section="s", reason="r", **scope)])}

    assert shielded() == shielded(providers=("google",)) == models
    assert shielded(providers=("openai",)) == set()
    assert shielded(models=("gemini-2.5-pro", "gemini-9")) == {"gemini-2.5-pro"}
    assert shielded(tiers=("batch",)) == batch
    assert shielded(models=("gemini-2.5-pro",), tiers=("flex",)) == {"gemini-2.5-pro"}
    assert shielded_models(db, GOOGLE, []) == set()


def test_a_page_with_no_readable_section_still_fails_whole():
    db = fresh_db()
    before = in_force(db)
    text = variant().decode()
    # The page's preamble and the broken section alone: nothing on it can be read.
    start = text.index(f"\n## {BROKEN}\n")
    body = (text[:text.index("\n## Gemini")] + text[start:text.index("\n## ", start + 1)]).encode()
    result = ingest_variant(db, body)
    assert result.status == "failed" and result.changeset_id is None
    assert result.error  # the parser's own words: the page has no section it can read
    assert in_force(db) == before and listed(db, "gemini-2.5-pro")


@pytest.fixture
def partial_client() -> Iterator[tuple[TestClient, sqlite_utils.Database, RunResult]]:
    db = fresh_db()
    result = ingest_variant(db, variant())
    app = create_app(Settings(bootstrap=False), db=db, clock=fixed_clock)
    with TestClient(app) as client:
        yield client, db, result


def test_runs_and_sources_list_the_skipped_section_with_its_reason(partial_client):
    client, db, result = partial_client
    skipped = [{"section": BROKEN, "reason": broken_reason(), "providers": ["google"], "models": ["gemini-2.5-pro"],
                "tiers": []}]
    runs = client.get("/v1/runs", params={"source": "google"}).json()["runs"]
    assert [(r["status"], r["changes"], r["changeset_id"], r["skipped_sections"]) for r in runs] == [
        ("partial", 1, result.changeset_id, skipped),
        ("changed", runs[1]["changes"], runs[1]["changeset_id"], []),
    ]
    assert [r["id"] for r in client.get("/v1/runs", params={"status": "partial"}).json()["runs"]] == [result.run_id]
    google = next(s for s in client.get("/v1/sources").json()["sources"] if s["id"] == "google")
    assert (google["last_status"], google["skipped_sections"]) == ("partial", skipped)
    # The skipped model keeps its old price and its listing.
    model = client.get("/v1/models/google/gemini-2.5-pro").json()
    assert model["model"]["listed"] is True
    rates = {(r["tier"], r["kind"], r["min_prompt_tokens"]): r for r in model["rates"]}
    assert (rates[("standard", "input", 0)]["usd_per_mtok"], rates[("standard", "input", 0)]["valid_from"]) == (
        1.25, "2026-06-02T00:00:00Z")

    # The same body again is `unchanged`; the source still shows the page as read in part.
    again = ingest_variant(db, variant())
    assert again.status == "unchanged"
    google = next(s for s in client.get("/v1/sources").json()["sources"] if s["id"] == "google")
    assert (google["last_status"], google["skipped_sections"]) == ("unchanged", skipped)


def test_ratecard_parse_lists_each_skipped_section_on_stderr_and_exits_0(tmp_path, capsys):
    page = tmp_path / "gemini-broken.md"
    page.write_bytes(variant())
    assert main(["parse", "google-sections", str(page)]) == 0
    out, err = capsys.readouterr()
    assert err.splitlines() == [
        f"ratecard parse: skipped section {BROKEN!r} (google, gemini-2.5-pro): {broken_reason()}"
    ]
    read = json.loads(out)
    assert "gemini-2.5-pro" not in {o["model"] for o in read}
    assert {(o["tier"], o["usd_per_mtok"]) for o in read
            if o["model"] == "gemini-2.5-flash" and o["kind"] == "output"} >= {("standard", 2.75)}


def test_ratecard_refresh_reports_a_partial_run_with_its_skipped_sections(tmp_path, capsys):
    db, page, sources = str(tmp_path / "ratecard.db"), tmp_path / "gemini-broken.md", tmp_path / "sources.toml"
    page.write_bytes(variant())
    sources.write_text('[sources.google]\nparser = "google-sections"\n', encoding="utf-8")
    assert main(["refresh", "google", "--from-file", str(PAGE), "--observed-at", "2026-06-02", "--db", db]) == 0
    capsys.readouterr()
    assert main(["refresh", "google", "--from-file", str(page), "--observed-at", "2026-07-01", "--db", db,
                 "--sources", str(sources)]) == 0
    first, *rest = capsys.readouterr().err.splitlines()
    read = len(sectioned_google.parse(variant(), URL).observations)
    assert first.startswith("google: partial (changeset ") and first.endswith(f", 1 change(s)), {read} rates read")
    assert rest == [f"  skipped section {BROKEN!r} (google, gemini-2.5-pro): {broken_reason()}"]
