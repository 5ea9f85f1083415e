"""Retention decisions: reviews (retain or purge), legal holds and their release, each a signed custody event."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

from collector.errors import UsageError
from collector.evidence.custody import CustodyEvent, EventType
from collector.policy.retention.model import HOLDERS, KIND, REVIEWERS, PurgeRequest
from collector.policy.retention.purge import open_request
from collector.policy.retention.rules import (
    clean_text,
    event_builder,
    live_bundle,
    require_role,
    validate_justification,
)
from collector.policy.retention.state import known_bundle, state_of
from collector.store import storage
from collector.store.actions import LedgerAction
from collector.store.config import RetentionClass
from collector.store.ledger import add_years, now
from collector.store.store import Actor, Store

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
    require_role(store, actor, REVIEWERS, LedgerAction.retention_review, bundle_id, "review retention")
    row = live_bundle(store, bundle_id)
    current = state_of(store, row)
    cls = store.config.policy.retention_classes.get(current.retention_class)
    if not retain:
        if years is not None:
            raise UsageError("--years applies to --retain")
        return open_request(store, actor, bundle_id, reason, origin="review")
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
            db, bundle_id, event_builder(store, actor, bundle_id, EventType.reviewed, details)
        )
        store.ledger.record_in(db, LedgerAction.retention_review, actor=actor.user.name, subject=bundle_id,
                               details={"decision": "retain", "seq": event.seq,
                                        "period_end": details["period_end"]})  # fmt: skip
        # the bucket keeps it as long (if that fails, the review is not recorded either); a class
        # kept until case disposition is locked for `[bundles] lock_years` more from today
        locked = period_end or add_years(at.date(), store.config.bundles.lock_years)
        storage.extend_retention(store, bundle_id, datetime.combine(locked, time(), UTC))
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
    require_role(store, actor, HOLDERS, LedgerAction.retention_hold, bundle_id, "place a legal hold")
    live_bundle(store, bundle_id)
    text = clean_text(reason, "--reason")
    with store.ledger.transaction() as db:
        current = state_of(store, known_bundle(store, bundle_id))
        if current.hold is not None:
            raise UsageError(f"{bundle_id} is already on legal hold since "
                             f"{current.hold.at:%Y-%m-%d} ({current.hold.reason})")  # fmt: skip
        storage.legal_hold(store, bundle_id, True)  # the bucket first: no record of a hold it lacks
        event = store.ledger.append_custody_in(
            db, bundle_id, event_builder(store, actor, bundle_id, EventType.held,
                                    {"kind": KIND, "reason": text,
                                     "pending_request": current.pending_request})
        )  # fmt: skip
        store.ledger.record_in(db, LedgerAction.retention_hold, actor=actor.user.name, subject=bundle_id,
                               details={"seq": event.seq, "reason": text})  # fmt: skip
    return event


def release(store: Store, actor: Actor, bundle_id: str, reason: str) -> CustodyEvent:
    """Lift the legal hold: a signed `released` event naming the hold it ends."""
    require_role(store, actor, HOLDERS, LedgerAction.retention_release, bundle_id, "release a legal hold")
    live_bundle(store, bundle_id)
    text = clean_text(reason, "--reason")
    with store.ledger.transaction() as db:
        current = state_of(store, known_bundle(store, bundle_id))
        if current.hold is None:
            raise UsageError(f"{bundle_id} is not on legal hold")
        event = store.ledger.append_custody_in(
            db, bundle_id, event_builder(store, actor, bundle_id, EventType.released,
                                    {"kind": KIND, "reason": text, "hold_seq": current.hold.seq,
                                     "hold_reason": current.hold.reason})
        )  # fmt: skip
        store.ledger.record_in(db, LedgerAction.retention_release, actor=actor.user.name, subject=bundle_id,
                               details={"seq": event.seq, "reason": text})  # fmt: skip
        storage.legal_hold(store, bundle_id, False)  # fails: the release is not recorded either
    return event


