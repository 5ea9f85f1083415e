"""Custody operations shared by several commands: signed events as the acting user."""

from __future__ import annotations

from typing import Any

from collector.errors import Refused, UsageError
from collector.evidence.custody import CustodyEvent, EventType, make_event
from collector.store.actions import LedgerAction
from collector.store.ledger import CustodyBuilder, now
from collector.store.model import Role
from collector.store.roles import Action
from collector.store.store import Actor, Store


def custody_builder(
    store: Store, actor: Actor, bundle_id: str, type: EventType, details: dict[str, Any]
) -> CustodyBuilder:
    """A builder the ledger calls, inside its transaction, with the next seq and previous hash."""

    def build(seq: int, prev_hash: str) -> CustodyEvent:
        return make_event(
            bundle_id=bundle_id,
            seq=seq,
            type=type,
            actor=actor.user.person(),
            key=actor.key,
            key_fingerprint=actor.user.key_fingerprint,
            details=details,
            prev_hash=prev_hash,
            at=now(),
        )

    return build


def append(
    store: Store, actor: Actor, bundle_id: str, type: EventType, details: dict[str, Any]
) -> CustodyEvent:
    """Append one signed custody event to a bundle's log; a purged bundle's log is closed."""
    purged_at = store.ledger.purged_at(bundle_id)
    if purged_at is not None:
        raise UsageError(f"{bundle_id} was purged on {purged_at}: its custody log is closed")
    return store.ledger.append_custody(
        bundle_id, custody_builder(store, actor, bundle_id, type, details)
    )


def holder(store: Store, bundle_id: str) -> str:
    """Who has custody now: the last transfer's recipient, else the capturing investigator (for a
    capture a capture system made, the investigator who requested it)."""
    current = None
    for event in store.ledger.custody(bundle_id):
        if event.type is EventType.captured:
            current = str(event.details.get("custodian") or event.actor.user)
        elif event.type is EventType.recovered and current is None:
            current = str(event.details.get("captured_by") or event.actor.user)
        elif event.type is EventType.transferred:
            current = str(event.details.get("to"))
    if current is None:
        raise UsageError(f"bundle {bundle_id} has no custody log")
    return current


def transfer(store: Store, actor: Actor, bundle_id: str, to: str, reason: str) -> CustodyEvent:
    """Hand custody to another active user; only the holder or a custodian may."""
    store.require(actor, Action.custody, subject=bundle_id)
    if store.ledger.bundle(bundle_id) is None:
        raise UsageError(f"unknown bundle {bundle_id!r}")
    if not reason.strip():
        raise UsageError("--reason must not be empty")
    recipient = store.ledger.user(to)
    if recipient is None or recipient.retired_at is not None:
        raise UsageError(f"{to!r} is not an active user")
    if store.certified_role(to) in (None, Role.system, Role.capture_system):
        raise UsageError(f"{to!r} holds no valid certificate of a person: custody cannot pass to them")
    current = holder(store, bundle_id)
    if actor.user.name != current and actor.user.role is not Role.custodian:
        reason_refused = f"{actor.user.name} does not hold {bundle_id} (held by {current})"
        store.ledger.record(LedgerAction.custody_transfer, "refused", actor=actor.user.name,
                            subject=bundle_id, details={"reason": reason_refused})  # fmt: skip
        raise Refused(reason_refused)
    if to == current:
        raise UsageError(f"{to} already holds {bundle_id}")
    return append(
        store,
        actor,
        bundle_id,
        EventType.transferred,
        {"from": current, "to": to, "to_name": recipient.full_name,
         "to_badge": recipient.badge, "reason": reason.strip()},
    )  # fmt: skip


REVIEW_STATEMENT = ("I requested this capture and have reviewed it: it shows the page I asked "
                    "to be captured.")  # fmt: skip


def review_as_requester(store: Store, actor: Actor, bundle_id: str, note: str | None) -> CustodyEvent:
    """The investigator who requested a capture system's capture says they reviewed it (a signed
    `requester-reviewed` custody event, once): optional, beside the process that made it."""
    from collector.store.jobs import job_of

    store.require(actor, Action.custody, subject=bundle_id)
    job = job_of(store, bundle_id)
    if job is None:
        raise UsageError(f"{bundle_id} was sealed by the investigator who captured it, not by a "
                         "capture system: there is no request to review")  # fmt: skip
    job_id, requested_by = job
    if actor.user.name != requested_by:
        why = f"only {requested_by}, who requested {bundle_id}, reviews it as its requester"
        store.ledger.record(LedgerAction.custody_review, "refused", actor=actor.user.name,
                            subject=bundle_id, details={"reason": why})  # fmt: skip
        raise Refused(why)
    if any(e.type is EventType.requester_reviewed for e in store.ledger.custody(bundle_id)):
        raise UsageError(f"{requested_by} already reviewed {bundle_id}")
    details: dict[str, Any] = {"job_id": job_id, "statement": REVIEW_STATEMENT}
    if note and note.strip():
        details["note"] = note.strip()
    return append(store, actor, bundle_id, EventType.requester_reviewed, details)
