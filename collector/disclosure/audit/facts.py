"""What the audit reads from a store: ledger events, custody logs, sealed metadata."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from collector.disclosure.audit.model import Period
from collector.errors import CollectorError
from collector.evidence.bundle import layout
from collector.evidence.custody import CustodyEvent, EventType
from collector.store import storage
from collector.store.actions import LedgerAction
from collector.store.model import Authorization, BundleRow, LedgerEvent
from collector.store.store import Store

# --------------------------------------------------------------------- reading the store


def as_str(value: object) -> str | None:
    return None if value is None else str(value)


def as_bool(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


def dig(data: object, *keys: str) -> object:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def as_time(text: object) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def reason_of(details: dict[str, object]) -> str | None:
    reason = details.get("reason")
    if reason is not None:
        return str(reason)
    problems = details.get("problems")
    if isinstance(problems, list):
        return "; ".join(str(p) for p in problems)
    return None


def is_grade(event: CustodyEvent) -> bool:
    if event.type is not EventType.graded:
        return False
    kind = event.details.get("kind")
    return kind == "grade" or (kind is None and "scale" in event.details)


@dataclass
class Facts:
    """Everything read once from the store for one report."""

    store: Store
    period: Period
    at: datetime
    events: list[LedgerEvent]
    bundles: list[BundleRow]
    auths: dict[str, Authorization]
    metadata: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    custody: dict[str, list[CustodyEvent]] = field(default_factory=dict)
    latest: dict[tuple[str, str], LedgerEvent] = field(default_factory=dict)

    @classmethod
    def read(cls, store: Store, period: Period, at: datetime) -> Facts:
        facts = cls(
            store=store,
            period=period,
            at=at,
            events=store.ledger.events(),
            bundles=store.ledger.bundles(),
            auths={a.id: a for a in store.ledger.authorizations()},
        )
        for row in facts.bundles:
            facts.metadata[row.id] = _read_metadata(store, row)
            facts.custody[row.id] = store.ledger.custody(row.id)
        for event in facts.events:
            if event.outcome == "ok" and event.subject is not None:
                facts.latest[(event.action, event.subject)] = event
        return facts

    def last(self, action: LedgerAction, subject: str) -> LedgerEvent | None:
        """The latest successful event of this action about this subject."""
        return self.latest.get((action, subject))

    def in_period(self) -> list[LedgerEvent]:
        return [e for e in self.events if self.period.contains(e.at)]

    def bundles_in_period(self) -> list[BundleRow]:
        return [b for b in self.bundles if self.period.contains(b.created_at)]

    def purged(self, bundle_id: str) -> bool:
        return any(e.type is EventType.purged for e in self.custody.get(bundle_id, []))

    def protected_state(self, bundle_id: str) -> str:
        """none, pending, approved or rejected (as `collector.protected.state`, without re-reading)."""
        meta = self.metadata.get(bundle_id)
        if meta is not None and dig(meta, "screening", "disposition") != "quarantined":
            return "none"
        if meta is None and self.last(LedgerAction.screening_quarantine, bundle_id) is None:
            return "none"  # purged: the ledger still says whether it was quarantined
        for event in reversed(self.custody.get(bundle_id, [])):
            if event.type is EventType.reviewed and event.details.get("kind") == "protected":
                return "approved" if event.details.get("decision") == "approved" else "rejected"
        return "pending"

    def withheld(self, bundle_id: str) -> bool:
        return self.protected_state(bundle_id) in ("pending", "rejected")

    def terms(self, row: BundleRow) -> tuple[bool | None, str | None, str | None, str | None]:
        """Exigent, engagement, alias and retention class: from the sealed metadata, else
        (a purged or unreadable bundle) from the ledger's authorization record."""
        meta = self.metadata.get(row.id)
        if meta is not None:
            engagement = as_str(dig(meta, "engagement"))
            alias = as_str(dig(meta, "authorization", "conditions", "alias")) or as_str(
                dig(meta, "virtual_identity")
            )
            return (
                as_bool(dig(meta, "exigent")),
                engagement,
                alias if engagement == "alias" else None,
                as_str(dig(meta, "retention_class")),
            )
        auth = self.auths.get(row.authorization_id)
        if auth is None:
            return None, None, None, None
        conditions = auth.conditions
        return (
            conditions.exigent,
            conditions.engagement,
            conditions.alias if conditions.engagement == "alias" else None,
            auth.retention_class,
        )


def _read_metadata(store: Store, row: BundleRow) -> dict[str, Any] | None:
    """The sealed metadata as plain JSON (tolerant of newer or older bundle formats)."""
    try:
        data = json.loads(storage.bundle_file(store, row, f"data/{layout.METADATA}"))
    except (OSError, ValueError, CollectorError):
        return None
    return data if isinstance(data, dict) else None
