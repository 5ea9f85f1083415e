"""Documentation and retention: review and purge dates, reviews, legal holds and purges.

Nothing here is a mutable status field. A bundle's retention state is derived, each time,
from three things: its policy class (`Policy.retention_classes`), its capture time
(`data/metadata.json`, or the ledger once the files are gone) and its custody log:

* `reviewed` events with `details["kind"] == "retention"`: a supervisor's review. A
  `retain` decision starts a new period from the review date (28 CFR 23.20(h)); on a
  `purge-unless-promoted` class it is the promotion. A `purge` decision opens a purge
  request. (`kind == "exigent"` events with `purge_review` are the gate's rejected
  exigent captures: they make a purge review due at once.)
* `held` / `released`: the legal hold, which overlays everything. A held bundle is never
  due for purge and cannot be purged.
* `purged`: the last word. The files are gone; the ledger rows and the custody log remain.

Purge requests, their approvals and the tombstones of purged bundles are rows in three
append-only tables (triggers refuse UPDATE and DELETE); a request's state (pending,
superseded, purged) is derived from them and the custody log. A purge takes
`Policy.purge_approvals` distinct people: the requester plus supervisors who are not the
requester (separation of duties).

Who may do what (checked here, refusals recorded as `denied.<what>`):
reviews and purge approvals: supervisors (the reviewer with authority over continuing
reasonable suspicion); holds and releases: custodians and supervisors; purge requests:
custodians (`collector purge`) or a supervisor's `review --purge`.

Nothing here prints or exits: bad input is a `UsageError` (exit 2), a refusal a recorded
`Refused` (exit 3), and verifying a purged bundle raises `BundlePurged` (exit 5).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import Field
from sqlalchemy import Connection, insert, select

from collector.errors import CollectorError, Refused, UsageError
from collector.evidence.bundle import layout
from collector.evidence.custody import CustodyEvent, EventType
from collector.evidence.model import Model
from collector.store import custody_log as services
from collector.store import schema, tombstones
from collector.store.actions import LedgerAction, denial_of
from collector.store.config import Policy, RetentionClass
from collector.store.ledger import now
from collector.store.model import BundleRow, Role
from collector.store.store import Actor, Store
from collector.store.tombstones import Tombstone

"""`collector verify` of a bundle purged under policy: not tampered, nothing left to verify."""

REVIEWERS: frozenset[Role] = frozenset({Role.supervisor})
HOLDERS: frozenset[Role] = frozenset({Role.custodian, Role.supervisor})
PURGE_REQUESTERS: frozenset[Role] = frozenset({Role.custodian})
PURGE_APPROVERS: frozenset[Role] = frozenset({Role.supervisor})

KIND = "retention"

DueAction = Literal[
    "review-or-purge",  # intelligence: a review (retain starts a new period) or a purge
    "purge",  # preliminary, not promoted
    "review",  # preliminary after promotion
    "schedule",  # the agency's records schedule
    "purge-review",  # a rejected exigent capture
    "case-disposition",  # case evidence: no date, never due automatically
    "unknown-class",  # the class is not in the policy (any more): review the policy
    "purged",
]

RETAIN_PLACEHOLDERS = frozenset(
    {"retain", "retained", "keep", "kept", "ok", "okay", "yes", "justified", "valid",
     "still valid", "still relevant", "relevant", "continuing", "same", "as above",
     "as before", "no change", "reviewed", "-", "."}
)  # fmt: skip
RETAIN_MIN_WORDS = 4


# --------------------------------------------------------------------- models


class Hold(Model):
    seq: int
    at: datetime
    by: str
    reason: str


class Review(Model):
    seq: int
    at: datetime
    by: str
    decision: str
    reason: str
    requirement: str | None = None
    period_end: date | None = None


class Approval(Model):
    approver: str
    approved_at: datetime
    custody_seq: int


class PurgeRequest(Model):
    id: str
    bundle_id: str
    requested_by: str
    requested_at: datetime
    reason: str
    origin: Literal["request", "review"]
    custody_seq: int
    approvals: list[Approval] = Field(default_factory=list)
    status: Literal["pending", "superseded", "purged"] = "pending"
    people_needed: int = Field(description="People in all, the requester included.")


class RetentionState(Model):
    """One bundle's retention state, derived from policy, capture time and custody log."""

    bundle_id: str
    case_number: str
    retention_class: str
    class_known: bool
    captured_at: datetime
    period_start: datetime = Field(description="The capture, or the last validated review.")
    period_years: int | None
    due: date | None
    action: DueAction
    until: str = Field(description="The due date, or why there is none.")
    promoted: bool = False
    hold: Hold | None = None
    last_review: Review | None = None
    pending_request: str | None = None
    purged: Tombstone | None = None
    note: str | None = None

    @property
    def held(self) -> bool:
        return self.hold is not None

    def is_due(self, as_of: date) -> bool:
        return self.purged is None and self.due is not None and self.due <= as_of

    def days_overdue(self, as_of: date) -> int | None:
        return None if self.due is None else (as_of - self.due).days

    def listing(self, as_of: date) -> dict[str, Any]:
        """JSON for `retention due` / `status`: the state plus what it means as of a date."""
        data = self.model_dump(mode="json")
        data["held"] = self.held
        data["days_overdue"] = self.days_overdue(as_of)
        return data


class PurgeOutcome(Model):
    request: PurgeRequest
    event: CustodyEvent
    tombstone: Tombstone | None = None
    warnings: list[str] = Field(default_factory=list)


# --------------------------------------------------------------------- reading


def add_years(start: date, years: int) -> date:
    """The same calendar day `years` later (29 February becomes 28 February)."""
    try:
        return start.replace(year=start.year + years)
    except ValueError:
        return start.replace(year=start.year + years, day=28)


def today() -> date:
    return now().date()


def _time(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _bundle(store: Store, bundle_id: str) -> BundleRow:
    row = store.ledger.bundle(bundle_id)
    if row is None:
        raise UsageError(f"unknown bundle {bundle_id!r}")
    return row


def _capture_facts(store: Store, row: BundleRow) -> tuple[str, datetime, str | None]:
    """Retention class and capture time: from the sealed metadata, else from the ledger."""
    try:
        meta = json.loads((store.bundle_path(row) / "data" / layout.METADATA).read_bytes())
        return str(meta["retention_class"]), _time(str(meta["capture"]["started_at"])), None
    except (OSError, ValueError, KeyError, TypeError):
        pass
    auth = store.ledger.authorization(row.authorization_id)
    if auth is None:
        return "?", row.created_at, "no metadata and no authorization record"
    return auth.retention_class, row.created_at, "class and time from the ledger (no metadata)"


def _tombstone(store: Store, bundle_id: str) -> Tombstone | None:
    return tombstones.tombstone(store.ledger, bundle_id)


def _requests(store: Store, bundle_id: str | None = None) -> list[PurgeRequest]:
    query = select(schema.purge_requests).order_by(
        schema.purge_requests.c.requested_at, schema.purge_requests.c.id
    )
    if bundle_id is not None:
        query = query.where(schema.purge_requests.c.bundle_id == bundle_id)
    rows = store.ledger.rows(query)
    approvals: dict[str, list[Approval]] = {}
    pa = schema.purge_approvals
    for a in store.ledger.rows(select(pa).order_by(pa.c.approved_at)):
        approvals.setdefault(a["request_id"], []).append(
            Approval(approver=a["approver"], approved_at=_time(a["approved_at"]),
                     custody_seq=a["custody_seq"])
        )  # fmt: skip
    done = {
        r["request_id"]
        for r in store.ledger.rows(select(schema.purge_tombstones.c.request_id))
    }
    retained: dict[str, list[datetime]] = {}
    found = []
    for r in rows:
        bid = r["bundle_id"]
        if bid not in retained:
            retained[bid] = [
                e.time for e in store.ledger.custody(bid)
                if e.type is EventType.reviewed and e.details.get("kind") == KIND
                and e.details.get("decision") == "retain"
            ]  # fmt: skip
        at = _time(r["requested_at"])
        status: Literal["pending", "superseded", "purged"] = "pending"
        if r["id"] in done:
            status = "purged"
        elif any(t > at for t in retained[bid]):
            status = "superseded"  # a later validated review decided to keep it
        found.append(
            PurgeRequest(
                id=r["id"], bundle_id=bid, requested_by=r["requested_by"], requested_at=at,
                reason=r["reason"], origin=r["origin"], custody_seq=r["custody_seq"],
                approvals=approvals.get(r["id"], []), status=status,
                people_needed=store.config.policy.purge_approvals,
            )
        )  # fmt: skip
    return found


def purge_requests(store: Store) -> list[PurgeRequest]:
    """Every purge request, oldest first, with its approvals and derived status."""
    return _requests(store)


def state(store: Store, bundle_id: str) -> RetentionState:
    """One bundle's retention state."""
    return _state(store, _bundle(store, bundle_id))


def states(store: Store) -> list[RetentionState]:
    """Every bundle's retention state, oldest capture first."""
    return [_state(store, row) for row in store.ledger.bundles()]


def due(store: Store, as_of: date | None = None) -> list[RetentionState]:
    """Bundles whose review or purge is due or overdue as of the date (held ones included)."""
    when = as_of or today()
    found = [s for s in states(store) if s.is_due(when)]
    return sorted(found, key=lambda s: (s.due or when, s.bundle_id))


def _state(store: Store, row: BundleRow) -> RetentionState:
    policy = store.config.policy
    class_name, captured_at, note = _capture_facts(store, row)
    cls = policy.retention_classes.get(class_name)
    period_start = captured_at
    period_years = None if cls is None else cls.max_years
    promoted = False
    hold: Hold | None = None
    last_review: Review | None = None
    flagged: tuple[datetime, str] | None = None
    purged_seen = False
    for event in store.ledger.custody(row.id):
        if purged_seen:
            break
        d = event.details
        if event.type is EventType.reviewed and d.get("kind") == KIND:
            last_review = _review(event)
            if d.get("decision") == "retain":
                period_start = event.time
                years = d.get("period_years")
                period_years = years if isinstance(years, int) else period_years
                promoted = promoted or d.get("promoted") is True
                flagged = None
        elif event.type is EventType.reviewed and d.get("purge_review"):
            flagged = (event.time, f"purge review: {d.get('kind')} review {d.get('decision')}")
        elif event.type is EventType.held:
            hold = Hold(seq=event.seq, at=event.time, by=event.actor.user,
                        reason=str(d.get("reason", "")))  # fmt: skip
        elif event.type is EventType.released:
            hold = None
        elif event.type is EventType.purged:
            purged_seen = True
    grave = _tombstone(store, row.id)
    pending = [r.id for r in _requests(store, row.id) if r.status == "pending"]
    due_date: date | None
    action: DueAction
    if grave is not None:
        due_date, action, until = None, "purged", f"purged {grave.purged_at:%Y-%m-%d}"
    elif flagged is not None:
        due_date, action = flagged[0].date(), "purge-review"
        until, note = f"{due_date} (purge review)", flagged[1]
    elif cls is None:
        due_date, action = captured_at.date(), "unknown-class"
        until = f"{due_date} (class {class_name!r} is not in the policy)"
    elif cls.max_years is None or period_years is None:
        due_date, action, until = None, "case-disposition", "until case disposition"
    else:
        due_date = add_years(period_start.astimezone(UTC).date(), period_years)
        action = _expiry_action(cls, promoted)
        until = due_date.isoformat()
    return RetentionState(
        bundle_id=row.id, case_number=row.case_number, retention_class=class_name,
        class_known=cls is not None, captured_at=captured_at, period_start=period_start,
        period_years=period_years, due=due_date, action=action, until=until, promoted=promoted,
        hold=hold, last_review=last_review, pending_request=pending[0] if pending else None,
        purged=grave, note=note,
    )  # fmt: skip


def _expiry_action(cls: RetentionClass, promoted: bool) -> DueAction:
    if cls.on_expiry == "review-or-purge":
        return "review-or-purge"
    if cls.on_expiry == "purge-unless-promoted":
        return "review" if promoted else "purge"
    return "schedule"


def _review(event: CustodyEvent) -> Review:
    d = event.details
    end = d.get("period_end")
    return Review(
        seq=event.seq, at=event.time, by=event.actor.user, decision=str(d.get("decision")),
        reason=str(d.get("reason", "")), requirement=d.get("requirement"),
        period_end=date.fromisoformat(end) if isinstance(end, str) else None,
    )  # fmt: skip


# --------------------------------------------------------------------- writing helpers


def _deny(store: Store, what: LedgerAction, actor: Actor, subject: str, reason: str) -> Refused:
    """Record a refusal of `what` in the ledger (outside any transaction); return the error."""
    store.ledger.record(denial_of(what), "refused", actor=actor.user.name, subject=subject,
                        details={"reason": reason})  # fmt: skip
    return Refused(f"{actor.user.name}: {reason}")


def _require_role(
    store: Store,
    actor: Actor,
    roles: frozenset[Role],
    what: LedgerAction,
    subject: str,
    doing: str,
) -> None:
    if actor.user.role not in roles:
        allowed = " or ".join(sorted(r.value for r in roles))
        raise _deny(store, what, actor, subject,
                    f"role {actor.user.role.value!r} may not {doing} (only {allowed})")  # fmt: skip


def _text(value: str, option: str) -> str:
    text = value.strip()
    if not text:
        raise UsageError(f"{option} must not be empty")
    return text


def _live(store: Store, bundle_id: str) -> BundleRow:
    row = _bundle(store, bundle_id)
    grave = _tombstone(store, bundle_id)
    if grave is not None:
        raise UsageError(f"{bundle_id} was purged on {grave.purged_at:%Y-%m-%d}: nothing to do")
    return row


def _builder(
    store: Store, actor: Actor, bundle_id: str, type: EventType, details: dict[str, Any]
) -> Callable[[int, str], CustodyEvent]:
    return services.custody_builder(store, actor, bundle_id, type, details)


def validate_justification(policy: Policy, cls: RetentionClass | None, reason: str) -> str:
    """A retain reason must state the class's justification: not empty, not a placeholder."""
    requirement = cls.retain_requires if cls else "a justification"
    hint = f"--retain needs --reason stating {requirement}"
    norm = " ".join(reason.lower().split()).strip(" .!-:;,")
    if not norm:
        raise UsageError(f"{hint} (the reason is empty)")
    placeholders = RETAIN_PLACEHOLDERS | {p.lower() for p in policy.facts_placeholders}
    if norm in placeholders or norm == " ".join(requirement.lower().split()):
        raise UsageError(f"{hint}: {reason.strip()!r} is a placeholder, not the facts")
    if len(norm.split()) < RETAIN_MIN_WORDS:
        raise UsageError(f"{hint}: at least {RETAIN_MIN_WORDS} words of facts")
    return reason


# --------------------------------------------------------------------- reviews


def review(
    store: Store,
    actor: Actor,
    bundle_id: str,
    *,
    retain: bool,
    reason: str,
    years: int | None = None,
) -> tuple[CustodyEvent, PurgeRequest | None]:
    """A supervisor's review: `retain` starts a new period; `purge` opens a purge request."""
    _require_role(store, actor, REVIEWERS, LedgerAction.retention_review, bundle_id, "review retention")
    row = _live(store, bundle_id)
    current = _state(store, row)
    cls = store.config.policy.retention_classes.get(current.retention_class)
    if not retain:
        if years is not None:
            raise UsageError("--years applies to --retain")
        return _open_request(store, actor, bundle_id, reason, origin="review")
    validate_justification(store.config.policy, cls, reason)
    period_years = _period_years(cls, years)
    at = now()
    period_end = None if period_years is None else add_years(at.date(), period_years)
    details: dict[str, Any] = {
        "kind": KIND,
        "decision": "retain",
        "reason": reason,
        "requirement": cls.retain_requires if cls else None,
        "retention_class": current.retention_class,
        "period_years": period_years,
        "period_end": None if period_end is None else period_end.isoformat(),
        "previous_due": None if current.due is None else current.due.isoformat(),
        "promoted": bool(cls and cls.on_expiry == "purge-unless-promoted"),
        "held": current.held,
    }
    with store.ledger.transaction() as db:
        event = store.ledger.append_custody_in(
            db, bundle_id, _builder(store, actor, bundle_id, EventType.reviewed, details)
        )
        store.ledger.record_in(db, LedgerAction.retention_review, actor=actor.user.name, subject=bundle_id,
                               details={"decision": "retain", "seq": event.seq,
                                        "period_end": details["period_end"]})  # fmt: skip
    return event, None


def _period_years(cls: RetentionClass | None, years: int | None) -> int | None:
    limit = cls.max_years if cls else None
    if years is None:
        return limit
    if limit is None:
        raise UsageError("--years: this class has no period (kept until case disposition)")
    if not 1 <= years <= limit:
        raise UsageError(f"--years must be between 1 and {limit} (the class's maximum)")
    return years


# --------------------------------------------------------------------- legal hold


def hold(store: Store, actor: Actor, bundle_id: str, reason: str) -> CustodyEvent:
    """Place a legal hold: a signed `held` event; disposal is suspended until released."""
    _require_role(store, actor, HOLDERS, LedgerAction.retention_hold, bundle_id, "place a legal hold")
    _live(store, bundle_id)
    text = _text(reason, "--reason")
    with store.ledger.transaction() as db:
        current = _state(store, _bundle(store, bundle_id))
        if current.hold is not None:
            raise UsageError(f"{bundle_id} is already on legal hold since "
                             f"{current.hold.at:%Y-%m-%d} ({current.hold.reason})")  # fmt: skip
        event = store.ledger.append_custody_in(
            db, bundle_id, _builder(store, actor, bundle_id, EventType.held,
                                    {"kind": KIND, "reason": text,
                                     "pending_request": current.pending_request})
        )  # fmt: skip
        store.ledger.record_in(db, LedgerAction.retention_hold, actor=actor.user.name, subject=bundle_id,
                               details={"seq": event.seq, "reason": text})  # fmt: skip
    return event


def release(store: Store, actor: Actor, bundle_id: str, reason: str) -> CustodyEvent:
    """Lift the legal hold: a signed `released` event naming the hold it ends."""
    _require_role(store, actor, HOLDERS, LedgerAction.retention_release, bundle_id, "release a legal hold")
    _live(store, bundle_id)
    text = _text(reason, "--reason")
    with store.ledger.transaction() as db:
        current = _state(store, _bundle(store, bundle_id))
        if current.hold is None:
            raise UsageError(f"{bundle_id} is not on legal hold")
        event = store.ledger.append_custody_in(
            db, bundle_id, _builder(store, actor, bundle_id, EventType.released,
                                    {"kind": KIND, "reason": text, "hold_seq": current.hold.seq,
                                     "hold_reason": current.hold.reason})
        )  # fmt: skip
        store.ledger.record_in(db, LedgerAction.retention_release, actor=actor.user.name, subject=bundle_id,
                               details={"seq": event.seq, "reason": text})  # fmt: skip
    return event


# --------------------------------------------------------------------- purges


def request_purge(store: Store, actor: Actor, bundle_id: str, reason: str) -> PurgeRequest:
    """A custodian's purge request: pending until supervisors other than the requester approve."""
    _require_role(store, actor, PURGE_REQUESTERS, LedgerAction.purge_request, bundle_id, "request a purge")
    return _open_request(store, actor, bundle_id, reason, origin="request")[1]


def _open_request(
    store: Store,
    actor: Actor,
    bundle_id: str,
    reason: str,
    *,
    origin: Literal["request", "review"],
) -> tuple[CustodyEvent, PurgeRequest]:
    _live(store, bundle_id)
    text = _text(reason, "--reason")
    denied: str | None = None
    request_id = f"PRG-{secrets.token_hex(4).upper()}"
    with store.ledger.transaction() as db:
        current = _state(store, _bundle(store, bundle_id))
        if current.hold is not None:
            denied = (f"{bundle_id} is on legal hold since {current.hold.at:%Y-%m-%d} "
                      f"({current.hold.reason}): no purge while held")  # fmt: skip
        elif current.pending_request is not None:
            raise UsageError(f"purge request {current.pending_request} is already pending for "
                             f"{bundle_id} (`collector purge approve`)")  # fmt: skip
        else:
            details: dict[str, Any] = {
                "kind": KIND, "decision": "purge", "origin": origin, "reason": text,
                "request_id": request_id, "retention_class": current.retention_class,
                "due": None if current.due is None else current.due.isoformat(),
                "people_needed": store.config.policy.purge_approvals,
            }  # fmt: skip
            event = store.ledger.append_custody_in(
                db, bundle_id, _builder(store, actor, bundle_id, EventType.reviewed, details)
            )
            db.execute(
                insert(schema.purge_requests).values(
                    id=request_id, bundle_id=bundle_id, requested_by=actor.user.name,
                    requested_at=event.at, reason=text, origin=origin, custody_seq=event.seq,
                )
            )  # fmt: skip
            store.ledger.record_in(db, LedgerAction.purge_request, actor=actor.user.name, subject=bundle_id,
                                   details={"request_id": request_id, "origin": origin,
                                            "reason": text, "seq": event.seq})  # fmt: skip
    if denied is not None:
        raise _deny(store, LedgerAction.purge_request, actor, bundle_id, denied)
    found = next(r for r in _requests(store, bundle_id) if r.id == request_id)
    return event, found


def _resolve_request(store: Store, ref: str) -> PurgeRequest:
    """A purge request by its id, or the pending request of a bundle by the bundle's id."""
    every = _requests(store)
    for r in every:
        if r.id == ref:
            return r
    if store.ledger.bundle(ref) is None:
        raise UsageError(f"{ref!r} is neither a purge request nor a known bundle id")
    grave = _tombstone(store, ref)
    if grave is not None:
        raise UsageError(f"{ref} was already purged on {grave.purged_at:%Y-%m-%d}")
    pending = [r for r in every if r.bundle_id == ref and r.status == "pending"]
    if not pending:
        raise UsageError(f"no pending purge request for {ref} (`collector purge {ref} --reason`)")
    return pending[-1]


def approve_purge(store: Store, actor: Actor, ref: str) -> PurgeOutcome:
    """A supervisor other than the requester approves; the last approval carries out the purge.

    Refused under legal hold. Carrying it out removes the bundle's directory, writes the
    tombstone and appends a signed `purged` custody event, all or nothing; the custody log
    and the ledger rows remain.
    """
    _require_role(store, actor, PURGE_APPROVERS, LedgerAction.purge_approve, ref, "approve a purge")
    request = _resolve_request(store, ref)
    bundle_id = request.bundle_id
    row = _bundle(store, bundle_id)
    bag = store.bundle_path(row)
    staging = store.work_dir / f"{bundle_id}.purging"
    denied: str | None = None
    staged: Path | None = None
    outcome: PurgeOutcome | None = None
    try:
        with store.ledger.transaction() as db:
            request = next(r for r in _requests(store, bundle_id) if r.id == request.id)
            current = _state(store, _bundle(store, bundle_id))
            approvers = [a.approver for a in request.approvals]
            if request.status != "pending":
                raise UsageError(f"purge request {request.id} is {request.status}")
            if actor.user.name == request.requested_by:
                denied = (f"separation of duties: {actor.user.name} requested {request.id} and "
                          "may not approve it; another supervisor must")  # fmt: skip
            elif actor.user.name in approvers:
                denied = f"{actor.user.name} already approved {request.id}"
            elif current.hold is not None:
                denied = (f"{bundle_id} is on legal hold since {current.hold.at:%Y-%m-%d} "
                          f"({current.hold.reason}): it cannot be purged")  # fmt: skip
            else:
                people = 1 + len(approvers) + 1
                needed = store.config.policy.purge_approvals
                approvers.append(actor.user.name)
                if people < needed:
                    outcome = _record_approval(store, db, actor, request, people, needed)
                else:
                    files, size = _measure(bag)
                    staged = _stage(bag, staging)
                    outcome = _carry_out(store, db, actor, request, row, approvers, files, size)
    except BaseException:
        if staged is not None:
            _unstage(staged, bag)
        raise
    if denied is not None:
        raise _deny(store, LedgerAction.purge_approve, actor, bundle_id, denied)
    assert outcome is not None
    if staged is not None:
        try:
            _destroy(staged)
        except OSError as exc:
            outcome.warnings.append(f"recorded as purged, but {staged} could not be removed: "
                                    f"{exc}; remove it by hand")  # fmt: skip
    outcome.request = next(r for r in _requests(store, bundle_id) if r.id == request.id)
    return outcome


def _record_approval(
    store: Store,
    db: Connection,
    actor: Actor,
    request: PurgeRequest,
    people: int,
    needed: int,
) -> PurgeOutcome:
    details: dict[str, Any] = {
        "kind": KIND, "decision": "purge-approved", "request_id": request.id,
        "people": people, "people_needed": needed,
    }  # fmt: skip
    event = store.ledger.append_custody_in(
        db, request.bundle_id,
        _builder(store, actor, request.bundle_id, EventType.reviewed, details),
    )  # fmt: skip
    db.execute(
        insert(schema.purge_approvals).values(
            request_id=request.id, approver=actor.user.name, approved_at=event.at,
            custody_seq=event.seq,
        )
    )  # fmt: skip
    store.ledger.record_in(db, LedgerAction.purge_approve, actor=actor.user.name, subject=request.bundle_id,
                           details={"request_id": request.id, "people": people,
                                    "people_needed": needed, "seq": event.seq})  # fmt: skip
    return PurgeOutcome(request=request, event=event)


def _carry_out(
    store: Store,
    db: Connection,
    actor: Actor,
    request: PurgeRequest,
    row: BundleRow,
    approvers: list[str],
    files: int,
    size: int,
) -> PurgeOutcome:
    details: dict[str, Any] = {
        "kind": KIND, "request_id": request.id, "reason": request.reason,
        "requested_by": request.requested_by, "requested_at": request.requested_at.isoformat(),
        "approved_by": approvers, "seal_sha256": row.seal_sha256, "path": row.path,
        "files": files, "bytes": size,
    }  # fmt: skip
    event = store.ledger.append_custody_in(
        db, row.id, _builder(store, actor, row.id, EventType.purged, details)
    )
    db.execute(
        insert(schema.purge_approvals).values(
            request_id=request.id, approver=actor.user.name, approved_at=event.at,
            custody_seq=event.seq,
        )
    )  # fmt: skip
    db.execute(
        insert(schema.purge_tombstones).values(
            bundle_id=row.id, request_id=request.id, seal_sha256=row.seal_sha256,
            reason=request.reason, requested_by=request.requested_by,
            approved_by=json.dumps(approvers), purged_at=event.at, custody_seq=event.seq,
            custody_hash=event.hash, path=row.path, files=files, bytes=size,
        ),
    )  # fmt: skip
    store.ledger.record_in(db, LedgerAction.purge_executed, actor=actor.user.name, subject=row.id,
                           details={"request_id": request.id, "approved_by": approvers,
                                    "seal_sha256": row.seal_sha256, "files": files,
                                    "bytes": size, "seq": event.seq,
                                    "custody_hash": event.hash})  # fmt: skip
    grave = Tombstone(
        bundle_id=row.id, request_id=request.id, seal_sha256=row.seal_sha256,
        reason=request.reason, requested_by=request.requested_by, approved_by=approvers,
        purged_at=event.time, custody_seq=event.seq, custody_hash=event.hash, path=row.path,
        files=files, bytes=size,
    )  # fmt: skip
    return PurgeOutcome(request=request, event=event, tombstone=grave)


# --------------------------------------------------------------------- files


def _measure(bag: Path) -> tuple[int, int]:
    files = size = 0
    for dirpath, _dirs, names in os.walk(bag):
        for name in names:
            files += 1
            size += os.lstat(os.path.join(dirpath, name)).st_size
    return files, size


def _stage(bag: Path, staging: Path) -> Path | None:
    """Move the sealed (read-only) bundle out of bundles/ so the purge is all or nothing."""
    if not bag.exists():
        return None
    if staging.exists():
        _destroy(staging)  # a leftover of an earlier, interrupted removal
    try:
        staging.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(bag, 0o700)  # moving a directory to another parent rewrites its `..`
        os.rename(bag, staging)
    except OSError as exc:
        if bag.is_dir():
            os.chmod(bag, 0o550)  # noqa: S103 - back to the sealed bundle's mode
        raise CollectorError(f"cannot move {bag} aside to purge it: {exc}") from exc
    return staging


def _unstage(staged: Path, bag: Path) -> None:
    os.rename(staged, bag)
    os.chmod(bag, 0o550)  # noqa: S103 - back to the sealed bundle's mode


def _destroy(root: Path) -> None:
    """Remove a read-only tree: make each directory writable, then delete."""
    for dirpath, _dirs, _files in os.walk(root):
        os.chmod(dirpath, 0o700)
    shutil.rmtree(root)


# --------------------------------------------------------------------- verification
