"""Diff, gate and commit: turning proposed rates into a changeset.

A :class:`Proposal` says "from ``valid_from`` on, this rate is this value". The
diff compares each proposal with the rate in force at that moment (current
knowledge); the gate flags anomalies; the commit writes one changeset in one
transaction. Applying a change supersedes the row in force and appends its
replacements, so no stored interval is ever edited (see service/db.py).

A source's newest reading is also its statement about the future: an interval
it once scheduled (starting after the page that dated it was seen, and still
in the future) that its newer reading no longer states is ``withdrawn``
(:func:`withdrawals`): superseded, never shown as a price that took effect.
"""

import json
import os
import time
from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import msgspec
import sqlite_utils

from ratecard.scrapers.names import name_key
from ratecard.service.db import write_transaction
from ratecard.service.timeutil import from_db, to_db

# The gate's thresholds (README, "Quarantine and the admin API").
MAX_MOVE_FACTOR = Decimal(5)
MAX_VANISHED_SHARE = Decimal("0.2")

# Change actions. `withdrawn`: a scheduled price the source no longer states, superseded before it began.
# `confirmed`: another source (or the same one with another basis) states the value already in force;
# the interval goes on, with both provenances.
ADDED, CHANGED, DELISTED, RELISTED, WITHDRAWN, CONFIRMED = (
    "added", "changed", "delisted", "relisted", "withdrawn", "confirmed")

Key = tuple[str, str, str, str, int]  # (provider, model, tier, kind, min_prompt_tokens)


class Proposal(msgspec.Struct, frozen=True, kw_only=True):
    """A rate value from ``valid_from`` on, with the provenance it will be stored with."""

    lane: str
    provider: str
    model: str
    tier: str
    kind: str
    min_prompt_tokens: int
    usd_per_mtok: Decimal | None
    basis: str
    valid_from: datetime
    source_id: str
    url: str
    body_sha256: str
    run_id: int | None
    observed_at: datetime
    note: str = ""
    display_name: str = ""

    @property
    def key(self) -> Key:
        """The rate key, without the lane."""
        return (self.provider, self.model, self.tier, self.kind, self.min_prompt_tokens)


class Change(msgspec.Struct, frozen=True, kw_only=True):
    """One difference a changeset records: a proposal and what it replaces, or a model event."""

    action: str
    proposal: Proposal
    old_usd_per_mtok: Decimal | None = None
    old_basis: str | None = None


class ChangesetConflict(ValueError):
    """Two sources of history state different values for the same rate at the same moment."""


def diff(db: sqlite_utils.Database, proposals: list[Proposal], withdrawn: Sequence[Change] = ()) -> list[Change]:
    """Compare proposals with the rates in force at their ``valid_from``; return what differs.

    A proposal equal (value and basis) to the rate in force, from a source that
    already stated it, is no change; equal in value but from another source or
    with another basis it is ``confirmed`` (a handover, not a price change). A
    proposal for a moment at which no rate is in force is ``added``. Rows the
    same changeset withdraws (``withdrawn``) are not in force for the
    comparison: a price moved to a later date is then added at that date.
    """
    series = _load_series(db, proposals)
    gone = {_row_key(c.proposal) for c in withdrawn}
    changes: list[Change] = []
    for proposal in proposals:
        rows = [r for r in series.get((proposal.lane, *proposal.key), []) if _stored_key(r) not in gone]
        row = _in_force(rows, proposal.valid_from)
        if row is None:
            changes.append(Change(action=ADDED, proposal=proposal))
            continue
        old_value = _decimal(row["usd_per_mtok"])
        if old_value == proposal.usd_per_mtok:
            if _stated_by(row, proposal):
                continue
            changes.append(Change(action=CONFIRMED, proposal=proposal, old_usd_per_mtok=old_value,
                                  old_basis=row["basis"]))
            continue
        changes.append(
            Change(action=CHANGED, proposal=proposal, old_usd_per_mtok=old_value, old_basis=row["basis"])
        )
    return changes


def withdrawals(
    db: sqlite_utils.Database,
    proposals: list[Proposal],
    *,
    template: Proposal,
    shielded: Collection[tuple[str, str]] = (),
) -> list[Change]:
    """The scheduled intervals of ``template.source_id`` its newer reading no longer states.

    ``proposals`` are everything the reading states (its rates, undated ones
    from when the page was seen), ``template`` gives the reading's lane,
    source, page and observation time. A stored interval of that source is
    withdrawn when it was scheduled (it starts after the page that stated it
    was seen), still lies ahead (it starts after this reading was seen, which
    is no older than that page), and no proposal states the same rate from the
    same moment: the rate is read undated or with another date, or, where the
    page was read, not at all. An interval whose start has passed is history
    and stays; a model a skipped section may price (``shielded``) keeps its
    schedule, as it keeps its listing; a proposal with the same start but
    another value is a ``changed`` from :func:`diff`, not a withdrawal.
    """
    seen = to_db(template.observed_at)
    stated = {_row_key(p) for p in proposals}
    changes: list[Change] = []
    for row in db.query(
        "SELECT * FROM rates WHERE closed_changeset_id IS NULL AND lane = ? AND source_id = ?"
        " AND valid_from > ? AND valid_from > observed_at AND observed_at <= ?"
        " ORDER BY provider, model, tier, kind, min_prompt_tokens, valid_from",
        [template.lane, template.source_id, seen, seen],
    ):
        if _stored_key(row) in stated or (row["provider"], row["model"]) in shielded:
            continue
        when = from_db(row["observed_at"]).date().isoformat()
        withdrawn = msgspec.structs.replace(
            template, provider=row["provider"], model=row["model"], tier=row["tier"], kind=row["kind"],
            min_prompt_tokens=row["min_prompt_tokens"], usd_per_mtok=None, basis="",
            valid_from=from_db(row["valid_from"]), display_name="",
            note=f"scheduled on the page seen {when}; the page seen {template.observed_at.date().isoformat()} "
                 "no longer states it",
        )
        changes.append(
            Change(action=WITHDRAWN, proposal=withdrawn, old_usd_per_mtok=_decimal(row["usd_per_mtok"]),
                   old_basis=row["basis"])
        )
    return changes


def _row_key(p: Proposal) -> tuple:
    return (p.lane, *p.key, to_db(p.valid_from))


def _stored_key(row: dict) -> tuple:
    return (row["lane"], row["provider"], row["model"], row["tier"], row["kind"], row["min_prompt_tokens"],
            row["valid_from"])


def _stated_by(row: dict, p: Proposal) -> bool:
    """Whether the row's interval already has ``p``'s statement: its own provenance or one of ``also``."""
    # The same source at another URL (a moved page, a saved copy) states nothing new: its first statement stands.
    return any((claim["source"], claim["basis"]) == (p.source_id, p.basis) for claim in _statements(row))



def claims_of(also: str) -> list[dict]:
    """The other statements of an interval's value, from a stored ``also`` (oldest first)."""
    return json.loads(also) if also else []


def _claim(row: dict) -> dict:
    """A row's own provenance as one statement of its value, stated from the row's ``valid_from``."""
    return {"source": row["source_id"], "url": row["url"], "body_sha256": row["body_sha256"], "basis": row["basis"],
            "valid_from": row["valid_from"], "observed_at": row["observed_at"], "changeset_id": row["changeset_id"],
            "run_id": row.get("run_id"), "note": row.get("note") or ""}


def gate(changes: list[Change], listed_models_by_provider: dict[str, int]) -> list[str]:
    """Reasons to quarantine a changeset instead of applying it; empty when it looks sane.

    A value moving by more than 5x either way, a value crossing zero, or more
    than 20% of a provider's listed models vanishing at once.
    """
    reasons: list[str] = []
    for change in changes:
        if change.action != CHANGED:
            continue
        old, new = change.old_usd_per_mtok, change.proposal.usd_per_mtok
        if old is None or new is None:
            continue
        p = change.proposal
        where = f"{p.provider}/{p.model} {p.tier} {p.kind}" + (f" >{p.min_prompt_tokens}" if p.min_prompt_tokens else "")
        if (old == 0) != (new == 0):
            reasons.append(f"{where} crosses zero: {old} -> {new}")
        elif old and new and (new / old > MAX_MOVE_FACTOR or old / new > MAX_MOVE_FACTOR):
            reasons.append(f"{where} moves more than {MAX_MOVE_FACTOR}x: {old} -> {new}")
    vanished: dict[str, int] = defaultdict(int)
    for change in changes:
        if change.action == DELISTED:
            vanished[change.proposal.provider] += 1
    for provider, count in sorted(vanished.items()):
        listed = listed_models_by_provider.get(provider, 0)
        if listed and Decimal(count) / Decimal(listed) > MAX_VANISHED_SHARE:
            reasons.append(f"{provider}: {count} of {listed} listed models vanished from the page")
    return reasons


def record_changeset(
    db: sqlite_utils.Database,
    changes: list[Change],
    *,
    source_id: str,
    run_id: int | None,
    now: datetime,
    quarantine_reasons: list[str] = (),
    origin_id: int | None = None,
) -> int:
    """Write a changeset in one transaction: applied, or quarantined with its reasons.

    Returns the changeset id, which for an applied changeset is the new
    catalog version. An applied changeset supersedes and appends rate rows
    and updates model listing; a quarantined one only stores its proposals.
    """
    status = "quarantined" if quarantine_reasons else "applied"
    counts = defaultdict(int)
    for change in changes:
        counts[change.action] += 1
    with write_transaction(db):
        changeset_id = db["changesets"].insert(
            {
                "created_at": to_db(now),
                "source_id": source_id,
                "run_id": run_id,
                "status": status,
                "reason": "; ".join(quarantine_reasons),
                "origin_id": origin_id,
                "added": counts[ADDED],
                "changed": counts[CHANGED],
                "delisted": counts[DELISTED],
            }
        ).last_pk
        db["changes"].insert_all(_change_row(changeset_id, c) for c in changes)
        if status == "applied":
            apply_changes(db, changes, changeset_id, now)
        _fault_pause_before_commit()
    return changeset_id


def _fault_pause_before_commit() -> None:
    """Fault injection for the crash test only: park inside the open transaction.

    When RATECARD_FAULT_PAUSE_BEFORE_COMMIT names a file, the writer creates
    it and sleeps with the changeset written but not committed, so a test can
    SIGKILL it there. Never set outside tests.
    """
    marker = os.environ.get("RATECARD_FAULT_PAUSE_BEFORE_COMMIT")
    if marker:
        Path(marker).write_text(str(os.getpid()), encoding="utf-8")
        time.sleep(120)


def apply_changes(db: sqlite_utils.Database, changes: list[Change], changeset_id: int, now: datetime) -> None:
    """Apply changes inside the caller's transaction (rates superseded and appended, models listed).

    Withdrawn intervals are superseded first, then rates applied (a confirmation restates the
    interval in force), then the interval before each withdrawn one is re-appended running to
    the next interval that remains (open-ended when none does).
    """
    rate_changes = [c for c in changes if c.action in (ADDED, CHANGED, CONFIRMED)]
    withdrawn = [c for c in changes if c.action == WITHDRAWN]
    series = _load_series(db, [c.proposal for c in rate_changes + withdrawn])
    for change in withdrawn:
        _withdraw(db, series, change.proposal, changeset_id)
    for change in rate_changes:
        if change.action == CONFIRMED:
            _confirm_rate(db, series, change.proposal, changeset_id)
        else:
            _apply_rate(db, series, change.proposal, changeset_id)
    for change in withdrawn:
        _close_gap(db, series, change.proposal, changeset_id)
    for change in changes:
        p = change.proposal
        if change.action in (DELISTED, RELISTED):
            db.execute(
                "UPDATE models SET listed = ? WHERE provider = ? AND model = ?",
                [1 if change.action == RELISTED else 0, p.provider, p.model],
            )
    _touch_models(db, [c.proposal for c in rate_changes], now)


def _apply_rate(db: sqlite_utils.Database, series: dict, p: Proposal, changeset_id: int) -> None:
    rows = series.setdefault((p.lane, *p.key), [])
    at = to_db(p.valid_from)
    current = _in_force(rows, p.valid_from)
    if current is not None:
        if current["valid_from"] == at and p.lane == "official" and "curated" in (p.basis, current["basis"]):
            raise ChangesetConflict(
                f"{p.provider}/{p.model} {p.tier} {p.kind}: {current['source_id']} says "
                f"{current['usd_per_mtok']} but {p.source_id} says {p.usd_per_mtok} from {at}"
            )
        valid_to = current["valid_to"]
        db.execute("UPDATE rates SET closed_changeset_id = ? WHERE id = ?", [changeset_id, current["id"]])
        rows.remove(current)
        if current["valid_from"] < at:
            # The part of the old interval before the change stays true: re-append it, closed.
            head = {**current, "valid_to": at, "changeset_id": changeset_id, "closed_changeset_id": None}
            head.pop("id")
            head["id"] = db["rates"].insert(head).last_pk
            rows.append(head)
    else:
        later = [r["valid_from"] for r in rows if r["valid_from"] > at]
        valid_to = min(later) if later else None
    following = next((r for r in rows if r["valid_from"] == valid_to), None) if valid_to else None
    if following is not None and _decimal(following["usd_per_mtok"]) == p.usd_per_mtok:
        # History reaching back before a rate already recorded at this value (curated history
        # loaded after the page): one interval from the earlier start, stated by both.
        _replace_row(db, rows, following, changeset_id, valid_from=at,
                     **_restated(following, _claim(_proposal_row(p, changeset_id))))
        return
    new = {
        "lane": p.lane,
        "provider": p.provider,
        "model": p.model,
        "tier": p.tier,
        "kind": p.kind,
        "min_prompt_tokens": p.min_prompt_tokens,
        "usd_per_mtok": None if p.usd_per_mtok is None else str(p.usd_per_mtok),
        "basis": p.basis,
        "valid_from": at,
        "valid_to": valid_to,
        "changeset_id": changeset_id,
        "closed_changeset_id": None,
        "source_id": p.source_id,
        "url": p.url,
        "body_sha256": p.body_sha256,
        "run_id": p.run_id,
        "observed_at": to_db(p.observed_at),
        "note": p.note,
    }
    new["id"] = db["rates"].insert(new).last_pk
    rows.append(new)
    rows.sort(key=lambda r: r["valid_from"])


def _withdraw(db: sqlite_utils.Database, series: dict, p: Proposal, changeset_id: int) -> None:
    rows = series.get((p.lane, *p.key), [])
    at = to_db(p.valid_from)
    for row in [r for r in rows if r["valid_from"] == at]:
        db.execute("UPDATE rates SET closed_changeset_id = ? WHERE id = ?", [changeset_id, row["id"]])
        rows.remove(row)


def _close_gap(db: sqlite_utils.Database, series: dict, p: Proposal, changeset_id: int) -> None:
    rows = series.get((p.lane, *p.key), [])
    at = to_db(p.valid_from)
    before = [r for r in rows if r["valid_to"] == at]
    if not before:
        return  # nothing ran up to the withdrawn start (it was the first interval, or a gap preceded it)
    head = before[0]
    later = [r["valid_from"] for r in rows if r["valid_from"] > head["valid_from"]]
    valid_to = min(later) if later else None
    if valid_to == head["valid_to"]:
        return
    if head["changeset_id"] == changeset_id:
        # Written by this changeset a moment ago, not yet committed: no recorded history to keep.
        db.execute("UPDATE rates SET valid_to = ? WHERE id = ?", [valid_to, head["id"]])
        head["valid_to"] = valid_to
        return
    db.execute("UPDATE rates SET closed_changeset_id = ? WHERE id = ?", [changeset_id, head["id"]])
    rows.remove(head)
    longer = {**head, "valid_to": valid_to, "changeset_id": changeset_id, "closed_changeset_id": None}
    longer.pop("id")
    longer["id"] = db["rates"].insert(longer).last_pk
    rows.append(longer)
    rows.sort(key=lambda r: r["valid_from"])


def _proposal_row(p: Proposal, changeset_id: int) -> dict:
    return {"source_id": p.source_id, "url": p.url, "body_sha256": p.body_sha256, "basis": p.basis,
            "valid_from": to_db(p.valid_from), "observed_at": to_db(p.observed_at), "changeset_id": changeset_id,
            "run_id": p.run_id, "note": p.note}


def _statements(row: dict) -> list[dict]:
    """Every statement of a row's value: its ``also`` list, or the row's own provenance alone."""
    return claims_of(row.get("also") or "") or [_claim(row)]


def _restated(row: dict, claim: dict) -> dict:
    """The fields of ``row`` once ``claim`` is one of its statements.

    The row's own provenance is the statement that starts last (a page over curated history
    starting the same moment): what is true of the rate now. ``also`` keeps them all, each
    with the moment it states the value from, so a read at a past moment shows the statement
    of that moment (service.rates.stated_at).
    """
    claims = [c for c in _statements(row)
              if (c["source"], c["url"], c["basis"]) != (claim["source"], claim["url"], claim["basis"])]
    claims.append(claim)
    claims.sort(key=lambda c: (c["valid_from"], c["basis"] != "curated", c["observed_at"]))
    main = claims[-1]
    return {"also": json.dumps(claims, separators=(",", ":")), "source_id": main["source"], "url": main["url"],
            "body_sha256": main["body_sha256"], "basis": main["basis"], "observed_at": main["observed_at"],
            "run_id": main.get("run_id"), "note": main.get("note", "")}


def _replace_row(db: sqlite_utils.Database, rows: list[dict], row: dict, changeset_id: int, **fields) -> dict:
    """Supersede ``row`` by a copy with ``fields`` changed, recorded by ``changeset_id``."""
    db.execute("UPDATE rates SET closed_changeset_id = ? WHERE id = ?", [changeset_id, row["id"]])
    rows.remove(row)
    new = {**row, **fields, "changeset_id": changeset_id, "closed_changeset_id": None}
    new.pop("id")
    new["id"] = db["rates"].insert(new).last_pk
    rows.append(new)
    rows.sort(key=lambda r: r["valid_from"])
    return new


def _confirm_rate(db: sqlite_utils.Database, series: dict, p: Proposal, changeset_id: int) -> None:
    """Another statement of the value in force: the interval goes on, now stated by both."""
    rows = series.setdefault((p.lane, *p.key), [])
    current = _in_force(rows, p.valid_from)
    if current is None:  # cannot happen after diff; nothing to confirm
        return
    fields = _restated(current, _claim(_proposal_row(p, changeset_id)))
    if (fields["source_id"], fields["url"], fields["basis"]) == (p.source_id, p.url, p.basis):
        # The value as the statement now in front writes it (5 or 5.00): the same row whatever the order of reading.
        fields["usd_per_mtok"] = None if p.usd_per_mtok is None else str(p.usd_per_mtok)
    _replace_row(db, rows, current, changeset_id, **fields)


def _touch_models(db: sqlite_utils.Database, proposals: list[Proposal], now: datetime) -> None:
    """Make sure every model a change names exists, and record page display names as aliases."""
    seen: dict[tuple[str, str], Proposal] = {}
    for p in proposals:
        seen.setdefault((p.provider, p.model), p)
    for (provider, model), p in seen.items():
        db.execute(
            "INSERT INTO providers (id, display_name) VALUES (?, ?) ON CONFLICT(id) DO NOTHING",
            [provider, provider],
        )
        db.execute(
            """INSERT INTO models (provider, model, display_name, status, listed, first_seen, last_seen)
               VALUES (?, ?, ?, 'active', 1, ?, ?)
               ON CONFLICT(provider, model) DO UPDATE SET last_seen = excluded.last_seen""",
            [provider, model, p.display_name or model, to_db(now), to_db(now)],
        )
        if p.display_name and p.display_name != model:
            db.execute(
                "INSERT OR IGNORE INTO aliases (alias_key, alias, provider, model) VALUES (?, ?, ?, ?)",
                [name_key(p.display_name), p.display_name, provider, model],
            )


def _load_series(db: sqlite_utils.Database, proposals: list[Proposal]) -> dict[tuple, list[dict]]:
    """Current-knowledge rows of every (lane, provider, model) the proposals touch, by series."""
    series: dict[tuple, list[dict]] = defaultdict(list)
    for lane, provider, model in sorted({(p.lane, p.provider, p.model) for p in proposals}):
        for row in db.query(
            "SELECT * FROM rates WHERE closed_changeset_id IS NULL AND lane = ? AND provider = ? AND model = ?"
            " ORDER BY valid_from",
            [lane, provider, model],
        ):
            series[(row["lane"], row["provider"], row["model"], row["tier"], row["kind"], row["min_prompt_tokens"])].append(row)
    return series


def _in_force(rows: list[dict], at: datetime) -> dict | None:
    moment = to_db(at)
    for row in rows:
        if row["valid_from"] <= moment and (row["valid_to"] is None or moment < row["valid_to"]):
            return row
    return None


def _change_row(changeset_id: int, change: Change) -> dict:
    p = change.proposal
    return {
        "changeset_id": changeset_id,
        "action": change.action,
        "lane": p.lane,
        "provider": p.provider,
        "model": p.model,
        "tier": p.tier,
        "kind": p.kind,
        "min_prompt_tokens": p.min_prompt_tokens,
        "old_usd_per_mtok": None if change.old_usd_per_mtok is None else str(change.old_usd_per_mtok),
        "old_basis": change.old_basis,
        "new_usd_per_mtok": None if p.usd_per_mtok is None else str(p.usd_per_mtok),
        "new_basis": p.basis,
        "valid_from": to_db(p.valid_from),
        "valid_to": None,
        "source_id": p.source_id,
        "url": p.url,
        "body_sha256": p.body_sha256,
        "run_id": p.run_id,
        "observed_at": to_db(p.observed_at),
        "note": p.note,
        "display_name": p.display_name,
    }


def proposals_of_changeset(db: sqlite_utils.Database, changeset_id: int) -> list[Change]:
    """Rebuild the changes a stored changeset proposed (to apply a quarantined one later)."""
    changes = []
    for row in db.query("SELECT * FROM changes WHERE changeset_id = ? ORDER BY id", [changeset_id]):
        proposal = Proposal(
            lane=row["lane"],
            provider=row["provider"],
            model=row["model"],
            tier=row["tier"],
            kind=row["kind"],
            min_prompt_tokens=row["min_prompt_tokens"],
            usd_per_mtok=_decimal(row["new_usd_per_mtok"]),
            basis=row["new_basis"] or "",
            valid_from=from_db(row["valid_from"]),
            source_id=row["source_id"],
            url=row["url"],
            body_sha256=row["body_sha256"],
            run_id=row["run_id"],
            observed_at=from_db(row["observed_at"]),
            note=row["note"],
            display_name=row["display_name"],
        )
        changes.append(
            Change(
                action=row["action"],
                proposal=proposal,
                old_usd_per_mtok=_decimal(row["old_usd_per_mtok"]),
                old_basis=row["old_basis"],
            )
        )
    return changes


def _decimal(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


class NotQuarantined(ValueError):
    """Only a quarantined changeset can be approved or rejected."""


def approve_changeset(db: sqlite_utils.Database, changeset_id: int, *, now: datetime) -> int | None:
    """Apply a quarantined changeset as a new changeset (so versions stay in commit order).

    Its rate proposals are diffed again against today's knowledge; what still
    differs is applied. Returns the new changeset id, or None if nothing differs.
    """
    # One transaction: the re-diff sees the state the new changeset is applied to, and two
    # approvals of one changeset cannot both apply it.
    with write_transaction(db):
        row = _quarantined(db, changeset_id)
        stored = proposals_of_changeset(db, changeset_id)
        # A withdrawal still applies while the interval it names is in force as scheduled.
        withdrawn = [c for c in stored if c.action == WITHDRAWN and _still_stored(db, c.proposal)]
        rate_changes = diff(db, [c.proposal for c in stored if c.action in (ADDED, CHANGED, CONFIRMED)], withdrawn)
        events = [c for c in stored if c.action in (DELISTED, RELISTED)]
        new_id = None
        if rate_changes or events or withdrawn:
            new_id = record_changeset(
                db, rate_changes + withdrawn + events, source_id=row["source_id"], run_id=row["run_id"], now=now,
                origin_id=changeset_id,
            )
        db["changesets"].update(changeset_id, {"status": "approved", "decided_at": to_db(now), "applied_as": new_id})
    return new_id


def _still_stored(db: sqlite_utils.Database, p: Proposal) -> bool:
    return db.execute(
        "SELECT 1 FROM rates WHERE closed_changeset_id IS NULL AND lane = ? AND provider = ? AND model = ?"
        " AND tier = ? AND kind = ? AND min_prompt_tokens = ? AND valid_from = ? AND source_id = ?",
        [p.lane, *p.key, to_db(p.valid_from), p.source_id],
    ).fetchone() is not None


def reject_changeset(db: sqlite_utils.Database, changeset_id: int, *, now: datetime) -> None:
    """Mark a quarantined changeset rejected; its proposals stay stored for the record."""
    with write_transaction(db):
        _quarantined(db, changeset_id)
        db["changesets"].update(changeset_id, {"status": "rejected", "decided_at": to_db(now)})


def _quarantined(db: sqlite_utils.Database, changeset_id: int) -> dict:
    rows = list(db.query("SELECT * FROM changesets WHERE id = ?", [changeset_id]))
    if not rows:
        raise NotQuarantined(f"no changeset {changeset_id}")
    if rows[0]["status"] != "quarantined":
        raise NotQuarantined(f"changeset {changeset_id} is {rows[0]['status']}, not quarantined")
    return rows[0]
