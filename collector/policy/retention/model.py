"""Retention: the roles, the due actions and the models of states, reviews, holds and purge requests."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import Field

from collector.evidence.custody import CustodyEvent
from collector.evidence.model import Model
from collector.store.model import Role
from collector.store.tombstones import Tombstone

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


