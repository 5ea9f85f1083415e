"""Each bundle's retention state, read from its policy class, its capture time and its custody log."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal

from sqlalchemy import select

from collector.errors import CollectorError, UsageError
from collector.evidence.bundle import layout
from collector.evidence.custody import CustodyEvent, EventType
from collector.policy.retention.model import (
    KIND,
    Approval,
    DueAction,
    Hold,
    PurgeRequest,
    RetentionState,
    Review,
)
from collector.store import schema, storage, tombstones
from collector.store.config import RetentionClass
from collector.store.ledger import add_years, now
from collector.store.model import BundleRow
from collector.store.store import Store
from collector.store.tombstones import Tombstone

# --------------------------------------------------------------------- reading


def today() -> date:
    return now().date()


def _time(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def known_bundle(store: Store, bundle_id: str) -> BundleRow:
    row = store.ledger.bundle(bundle_id)
    if row is None:
        raise UsageError(f"unknown bundle {bundle_id!r}")
    return row


def _capture_facts(store: Store, row: BundleRow) -> tuple[str, datetime, str | None]:
    """Retention class and capture time: from the sealed metadata, else from the ledger."""
    try:
        meta = json.loads(storage.bundle_file(store, row, f"data/{layout.METADATA}"))
        return str(meta["retention_class"]), _time(str(meta["capture"]["started_at"])), None
    except (OSError, ValueError, KeyError, TypeError, CollectorError):
        pass
    auth = store.ledger.authorization(row.authorization_id)
    if auth is None:
        return "?", row.created_at, "no metadata and no authorization record"
    return auth.retention_class, row.created_at, "class and time from the ledger (no metadata)"


def tombstone_of(store: Store, bundle_id: str) -> Tombstone | None:
    return tombstones.tombstone(store.ledger, bundle_id)


def requests_of(store: Store, bundle_id: str | None = None) -> list[PurgeRequest]:
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
        r["request_id"] for r in store.ledger.rows(select(schema.purge_tombstones.c.request_id))
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
    return requests_of(store)


def state(store: Store, bundle_id: str) -> RetentionState:
    """One bundle's retention state."""
    return state_of(store, known_bundle(store, bundle_id))


@dataclass(frozen=True)
class _Recorded:
    """What `state_of` reads from the ledger, for every bundle at once (three queries instead of
    five per bundle: every command's standing warnings compute every bundle's state)."""

    custody: dict[str, list[CustodyEvent]]
    graves: dict[str, Tombstone]
    requests: dict[str, list[PurgeRequest]]

    @classmethod
    def read(cls, store: Store) -> _Recorded:
        c, t = schema.custody, schema.purge_tombstones
        custody: dict[str, list[CustodyEvent]] = {}
        for r in store.ledger.rows(select(c.c.bundle_id, c.c.body).order_by(c.c.bundle_id, c.c.seq)):
            custody.setdefault(r["bundle_id"], []).append(CustodyEvent.model_validate_json(r["body"]))
        graves: dict[str, Tombstone] = {}
        for r in store.ledger.rows(select(t)):
            data = dict(r)
            data["approved_by"] = json.loads(data["approved_by"])
            graves.setdefault(str(data["bundle_id"]), Tombstone.model_validate(data))
        requests: dict[str, list[PurgeRequest]] = {}
        for request in requests_of(store):
            requests.setdefault(request.bundle_id, []).append(request)
        return cls(custody, graves, requests)


def states(store: Store) -> list[RetentionState]:
    """Every bundle's retention state, oldest capture first."""
    recorded = _Recorded.read(store)
    return [state_of(store, row, recorded) for row in store.ledger.bundles()]


def due(store: Store, as_of: date | None = None) -> list[RetentionState]:
    """Bundles whose review or purge is due or overdue as of the date (held ones included)."""
    when = as_of or today()
    found = [s for s in states(store) if s.is_due(when)]
    return sorted(found, key=lambda s: (s.due or when, s.bundle_id))


def state_of(store: Store, row: BundleRow, recorded: _Recorded | None = None) -> RetentionState:
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
    events = recorded.custody.get(row.id, []) if recorded else store.ledger.custody(row.id)
    for event in events:
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
    grave = recorded.graves.get(row.id) if recorded else tombstone_of(store, row.id)
    requests = recorded.requests.get(row.id, []) if recorded else requests_of(store, row.id)
    pending = [r.id for r in requests if r.status == "pending"]
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
