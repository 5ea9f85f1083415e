"""What the ledger holds about people, authorizations, bundles and events."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import Field

from collector.evidence.model import Conditions, Model, Person, approval_fields

# --------------------------------------------------------------------- people and authorizations


class Role(StrEnum):
    investigator = "investigator"
    supervisor = "supervisor"
    custodian = "custodian"
    auditor = "auditor"
    admin = "admin"
    system = "system"  # the store's own key: recovery and reconciliation events; never logs in
    capture_system = "capture-system"  # a capture worker's machine key: seals requested captures


class User(Model):
    name: str
    full_name: str
    badge: str
    role: Role
    created_at: datetime
    retired_at: datetime | None = None
    key_fingerprint: str
    public_key_pem: str

    def person(self) -> Person:
        return Person(user=self.name, full_name=self.full_name, badge=self.badge)


class AuthStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    denied = "denied"
    revoked = "revoked"
    exigent = "exigent"  # captured without prior approval; a supervisor's review is owed
    rejected = "rejected"  # an exigent capture whose review rejected it


class Authorization(Model):
    """A request to capture under a legal predicate, and its decision."""

    id: str
    case_number: str
    predicate: str
    standard: str
    purpose: str
    facts: str
    scopes: list[str]
    retention_class: str
    valid_days: int
    investigators: list[str]
    requested_by: str
    requested_at: datetime
    conditions: Conditions = Field(default_factory=Conditions)
    status: AuthStatus = AuthStatus.pending
    approved_by: str | None = None
    approved_at: datetime | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    approval_signature: str | None = None
    approver_key_fingerprint: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_reason: str | None = None

    def signed_fields(self) -> dict[str, object]:
        """What the approver signs: every field the gate relies on."""
        return approval_fields(
            self.id, self.case_number, self.predicate, self.standard, self.purpose, self.facts,
            self.scopes, self.retention_class, self.investigators, self.requested_by,
            self.requested_at, self.approved_by, self.approved_at, self.valid_from,
            self.valid_until, self.conditions,
        )  # fmt: skip


class LedgerEvent(Model):
    """One row of the append-only, hash-chained ledger."""

    seq: int
    at: datetime
    actor: str | None
    action: str
    outcome: Literal["ok", "refused", "failed"]
    subject: str | None
    details: dict[str, object]
    prev_hash: str
    hash: str
    signer: str | None = None
    signature: str | None = None


class BundleRow(Model):
    id: str
    case_number: str
    authorization_id: str
    path: str = Field(description="Relative to the store root.")
    seal_sha256: str
    source_url: str
    captured_by: str
    created_at: datetime


