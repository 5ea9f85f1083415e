"""Protected-category quarantine: who may see a quarantined bundle, and the supervisor's review.

A capture whose page text matched a protected category (28 CFR 23.20(b)) without a nexus
statement is sealed but quarantined: only its investigators and supervisors may see it,
it is not exported, and a supervisor must approve it (stating the nexus) or reject it
(sending it to purge) within the policy's deadline. Each decision is a signed custody event.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from collector.errors import CollectorError, Refused, UsageError
from collector.evidence.bundle import layout
from collector.evidence.custody import EventType
from collector.evidence.model import Metadata
from collector.store import custody_log as services
from collector.store import storage
from collector.store.actions import LedgerAction
from collector.store.ledger import now
from collector.store.model import BundleRow, Role
from collector.store.store import Actor, Identity, Store

State = Literal["none", "pending", "approved", "rejected"]


def _metadata(store: Store, bundle_id: str) -> Metadata | None:
    row = store.ledger.bundle(bundle_id)
    if row is None:
        raise UsageError(f"unknown bundle {bundle_id!r}")
    return _metadata_of(store, row)


def _metadata_of(store: Store, row: BundleRow) -> Metadata | None:
    try:
        return Metadata.model_validate_json(
            storage.bundle_file(store, row, f"data/{layout.METADATA}")
        )
    except (OSError, ValueError, CollectorError):
        return None  # purged or unreadable: nothing left to show


def state(store: Store, bundle_id: str) -> State:
    return _state(store, bundle_id, _metadata(store, bundle_id))


def _state(store: Store, bundle_id: str, meta: Metadata | None) -> State:
    if meta is None or meta.screening.disposition != "quarantined":
        return "none"
    for event in reversed(store.ledger.custody(bundle_id)):
        if event.type is EventType.reviewed and event.details.get("kind") == "protected":
            return "approved" if event.details.get("decision") == "approved" else "rejected"
    return "pending"


def pending(store: Store) -> list[tuple[str, datetime | None]]:
    """Quarantined bundles still awaiting a supervisor's decision, with their due times."""
    found = []
    for row in store.ledger.bundles():
        meta = _metadata_of(store, row)
        if meta is not None and _state(store, row.id, meta) == "pending":
            found.append((row.id, meta.screening.review_due))
    return found


def overdue(store: Store) -> list[tuple[str, datetime]]:
    moment = now()
    return [(b, due) for b, due in pending(store) if due is not None and due < moment]


def require_visible(store: Store, actor: Identity, bundle_id: str, what: str) -> None:
    """While quarantined or rejected, only the bundle's investigators and supervisors may see it."""
    if state(store, bundle_id) not in ("pending", "rejected"):
        return
    meta = _metadata(store, bundle_id)
    investigators = meta.authorization.investigators if meta else []
    if actor.user.role is Role.supervisor or actor.user.name in investigators:
        return
    reason = f"{bundle_id} is quarantined for protected-content review: {actor.user.name} may not {what} it"
    store.ledger.record(LedgerAction.denied_quarantine, "refused", actor=actor.user.name, subject=bundle_id,
                        details={"reason": reason, "what": what})  # fmt: skip
    raise Refused(reason)


def review(
    store: Store,
    actor: Actor,
    bundle_id: str,
    *,
    approve: bool,
    nexus: str | None,
    reason: str | None,
) -> str:
    """A supervisor approves (stating the nexus) or rejects (sending to purge) a quarantined bundle."""
    if actor.user.role is not Role.supervisor:
        why = f"role {actor.user.role.value!r} may not decide protected-content reviews"
        store.ledger.record(LedgerAction.denied_review_protected, "refused", actor=actor.user.name,
                            subject=bundle_id, details={"reason": why})  # fmt: skip
        raise Refused(f"{actor.user.name}: {why}")
    current = state(store, bundle_id)
    if current != "pending":
        raise UsageError(f"{bundle_id} has no protected-content review pending ({current})")
    if approve:
        text = " ".join((nexus or "").split())
        if len(text) < 20:
            raise UsageError(
                "--approve needs --nexus: how the content relates to the criminal conduct"
            )
        details: dict[str, object] = {"kind": "protected", "decision": "approved", "nexus": text}
    else:
        text = " ".join((reason or "").split())
        if not text:
            raise UsageError("--reject needs --reason")
        details = {
            "kind": "protected",
            "decision": "rejected",
            "reason": text,
            "purge_review": True,
        }
    services.append(store, actor, bundle_id, EventType.reviewed, details)
    if not approve:
        store.ledger.record(LedgerAction.retention_purge_review, actor=actor.user.name, subject=bundle_id,
                            details={"reason": f"protected-content review rejected: {text}"})  # fmt: skip
    return str(details["decision"])
