"""The ledger: diffs, the gate, and append-only intervals that rebuild any past version exactly."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from ratecard.service.changesets import (
    ADDED,
    CHANGED,
    DELISTED,
    Change,
    ChangesetConflict,
    Proposal,
    diff,
    gate,
    record_changeset,
)
from ratecard.service.db import data_version, open_database
from ratecard.service.history import model_history, rates_as_of

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def day(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def proposal(value: str | None, valid_from: str, *, kind: str = "input", basis: str = "published",
             model: str = "m1", source: str = "test") -> Proposal:
    return Proposal(
        lane="official", provider="acme", model=model, tier="standard", kind=kind, min_prompt_tokens=0,
        usd_per_mtok=None if value is None else Decimal(value), basis=basis, valid_from=day(valid_from),
        source_id=source, url="https://example.test/pricing", body_sha256="ab" * 32, run_id=None,
        observed_at=day(valid_from),
    )


def commit(db, *proposals: Proposal) -> int:
    changes = diff(db, list(proposals))
    return record_changeset(db, changes, source_id="test", run_id=None, now=NOW)


@pytest.fixture
def db():
    return open_database(None)


def test_first_sight_is_added_and_same_value_again_is_no_change(db):
    assert [c.action for c in diff(db, [proposal("2.50", "2025-01-01")])] == [ADDED]
    commit(db, proposal("2.50", "2025-01-01"))
    assert diff(db, [proposal("2.50", "2025-03-01")]) == []


def test_a_change_supersedes_rows_and_never_edits_a_value(db):
    v1 = commit(db, proposal("10", "2025-01-01"))
    v2 = commit(db, proposal("2", "2025-06-10"))
    values = {(r["usd_per_mtok"], r["valid_from"], r["valid_to"], r["closed_changeset_id"]) for r in db["rates"].rows}
    # The original open row is closed by v2, and its truthful head re-appended with an end.
    assert values == {
        ("10", "2025-01-01T00:00:00Z", None, v2),
        ("10", "2025-01-01T00:00:00Z", "2025-06-10T00:00:00Z", None),
        ("2", "2025-06-10T00:00:00Z", None, None),
    }
    history = model_history(db, "acme", "m1")
    assert [(r.usd_per_mtok, r.valid_from, r.valid_to) for r in history] == [
        (Decimal("10"), day("2025-01-01"), day("2025-06-10")),
        (Decimal("2"), day("2025-06-10"), None),
    ]
    # As known at version 1, the $10 rate had no end.
    at_v1 = rates_as_of(db, day("2025-07-01"), version=v1)
    assert [(r.usd_per_mtok, r.valid_to) for r in at_v1] == [(Decimal("10"), None)]
    assert [r.usd_per_mtok for r in rates_as_of(db, day("2025-06-01"))] == [Decimal("10")]
    assert [r.usd_per_mtok for r in rates_as_of(db, day("2025-06-20"))] == [Decimal("2")]
    assert data_version(db) == v2


def test_backfill_before_known_history_ends_where_history_starts(db):
    commit(db, proposal("2", "2025-06-10"))
    changes = diff(db, [proposal("10", "2025-04-16")])
    assert [c.action for c in changes] == [ADDED]
    record_changeset(db, changes, source_id="curated", run_id=None, now=NOW)
    history = model_history(db, "acme", "m1")
    assert [(str(r.usd_per_mtok), r.valid_from.date().isoformat(), r.valid_to and r.valid_to.date().isoformat())
            for r in history] == [("10", "2025-04-16", "2025-06-10"), ("2", "2025-06-10", None)]


def test_curated_and_scraped_values_for_the_same_moment_must_agree(db):
    commit(db, proposal("2", "2025-06-10", source="openai"))
    with pytest.raises(ChangesetConflict, match="acme/m1 standard input"):
        commit(db, proposal("3", "2025-06-10", basis="curated", source="curated"))
    # Nothing of the failed changeset was kept.
    assert db.execute("SELECT count(*) FROM changesets").fetchone()[0] == 1


def test_not_offered_is_stored_without_a_price(db):
    commit(db, proposal(None, "2025-01-01", kind="cache_write", basis="not_offered"))
    (rate,) = rates_as_of(db, day("2025-02-01"))
    assert rate.usd_per_mtok is None and rate.basis == "not_offered"


@pytest.mark.parametrize(
    ("old", "new", "flagged"),
    [("2.50", "25", True), ("2.50", "12.50", False), ("10", "1.99", True), ("10", "2", False),
     ("0", "1", True), ("1", "0", True)],
)
def test_gate_flags_moves_over_5x_and_zero_crossings(old, new, flagged):
    change = Change(action=CHANGED, proposal=proposal(new, "2025-01-01"), old_usd_per_mtok=Decimal(old), old_basis="published")
    assert bool(gate([change], {"acme": 10})) is flagged


def test_gate_flags_more_than_a_fifth_of_models_vanishing():
    gone = [Change(action=DELISTED, proposal=proposal(None, "2025-01-01", model=f"m{i}")) for i in range(3)]
    assert gate(gone[:2], {"acme": 10}) == []
    assert gate(gone, {"acme": 10}) == ["acme: 3 of 10 listed models vanished from the page"]


def test_quarantined_changeset_stores_proposals_but_changes_no_rate(db):
    commit(db, proposal("2.50", "2025-01-01"))
    changes = diff(db, [proposal("25", "2025-02-01")])
    cs = record_changeset(db, changes, source_id="test", run_id=None, now=NOW, quarantine_reasons=gate(changes, {}))
    assert db["changesets"].get(cs)["status"] == "quarantined"
    assert [r.usd_per_mtok for r in rates_as_of(db, day("2025-03-01"))] == [Decimal("2.50")]
    assert data_version(db) == 1


def test_approving_a_quarantined_changeset_applies_it_as_a_new_version(db):
    from ratecard.service.changesets import approve_changeset

    commit(db, proposal("2.50", "2025-01-01"))
    changes = diff(db, [proposal("25", "2025-02-01")])
    held = record_changeset(db, changes, source_id="test", run_id=None, now=NOW, quarantine_reasons=["10x"])
    commit(db, proposal("1", "2025-01-01", kind="output"))  # a later, unrelated changeset
    applied = approve_changeset(db, held, now=NOW)
    assert applied > held and data_version(db) == applied
    assert db["changesets"].get(held)["status"] == "approved"
    assert db["changesets"].get(applied)["origin_id"] == held
    assert [r.usd_per_mtok for r in rates_as_of(db, day("2025-03-01")) if r.kind == "input"] == [Decimal("25")]


def test_rejecting_keeps_the_old_price(db):
    from ratecard.service.changesets import NotQuarantined, reject_changeset

    commit(db, proposal("2.50", "2025-01-01"))
    held = record_changeset(db, diff(db, [proposal("25", "2025-02-01")]), source_id="test", run_id=None, now=NOW,
                            quarantine_reasons=["10x"])
    reject_changeset(db, held, now=NOW)
    assert db["changesets"].get(held)["status"] == "rejected"
    with pytest.raises(NotQuarantined):
        reject_changeset(db, held, now=NOW)
    assert [r.usd_per_mtok for r in rates_as_of(db, day("2025-03-01"))] == [Decimal("2.50")]


def test_an_official_page_breaking_a_rule_is_rejected_but_a_witness_drops_only_the_bad_model():
    from ratecard.scrapers.observation import Observation
    from ratecard.service.refresh import ValidationFailed, validate_observations
    from ratecard.service.sources import Source

    def obs(model, kind, value):
        return Observation(provider="acme", model=model, tier="standard", kind=kind, usd_per_mtok=Decimal(value))

    parsed = [obs("good", "input", "1"), obs("good", "cached_input", "0.1"),
              obs("typo", "input", "0.5"), obs("typo", "cached_input", "1.25")]
    official = Source(id="acme", providers=("acme",), url="u", parser="openai", role="authoritative")
    with pytest.raises(ValidationFailed, match="acme/typo standard cached input 1.25 is above input 0.5"):
        validate_observations(parsed, official, url="u")
    witness = Source(id="feed", providers=("*",), url="u", parser="openai", role="witness")
    assert [o.model for o in validate_observations(parsed, witness, url="u")] == ["good", "good"]
