"""What an audit report is made of: the period, one row model per section, the report."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, Field

from collector.evidence.model import Model
from collector.store.model import Role

REPORT_FORMAT = "collector-audit/1.0"
AUDITORS: frozenset[Role] = frozenset({Role.auditor, Role.supervisor, Role.admin})
FORMATS: tuple[str, ...] = ("md", "json", "csv", "html")
Format = Literal["md", "json", "csv", "html"]
WITHHELD = "[withheld: quarantined for protected-content review]"

SummaryValue = str | int | bool | None


# --------------------------------------------------------------------- the model


class Period(Model):
    """Inclusive UTC dates; None is open-ended."""

    start: date | None = None
    end: date | None = None

    def contains(self, at: datetime) -> bool:
        day = at.astimezone(UTC).date() if at.tzinfo else at.date()
        return (self.start is None or day >= self.start) and (self.end is None or day <= self.end)

    @property
    def label(self) -> str:
        if self.start is None and self.end is None:
            return "everything (no period limits)"
        first = self.start.isoformat() if self.start else "the beginning"
        last = self.end.isoformat() if self.end else "the report date"
        return f"{first} to {last} (UTC, inclusive)"


class CaptureRow(Model):
    bundle_id: str
    captured_at: datetime
    captured_by: str
    case_number: str
    authorization_id: str
    source_url: str
    title: str | None = None
    note: str | None = None
    exigent: bool | None = None
    engagement: str | None = None
    alias: str | None = None
    machine: str | None = Field(None, description="agency, personal or unregistered.")
    equipment_id: str | None = None
    screening: str | None = Field(None, description="clear, nexus-stated or quarantined.")
    retention_class: str | None = None
    policy_version: str | None = None
    metadata_readable: bool
    purged: bool


class RefusalRow(Model):
    seq: int
    at: datetime
    actor: str | None
    action: str
    kind: Literal["refused", "denied by supervisor", "revoked"]
    subject: str | None
    code: str | None = None
    reason: str | None = None
    url: str | None = None


class ExigentRow(Model):
    authorization_id: str
    case_number: str
    requested_by: str
    requested_at: datetime
    review_due: datetime
    status: str
    decision: str | None = None
    reviewer: str | None = None
    reviewed_at: datetime | None = None
    review_reason: str | None = None
    late: bool | None = None
    overdue: bool
    bundles: list[str]
    in_period: bool


class AliasRow(Model):
    kind: str = Field(description="capture, authorization, or the alias.* ledger action.")
    at: datetime
    actor: str | None
    alias: str | None
    reference: str | None = Field(None, description="Bundle, authorization or alias id.")
    outcome: str
    detail: str | None = None


class ProtectedRow(Model):
    bundle_id: str
    screened_at: datetime
    captured_by: str | None
    disposition: str
    categories: list[str]
    terms: dict[str, list[str]] = Field(description="The policy terms matched, by category.")
    nexus: str | None = None
    review_due: datetime | None = None
    state: str = Field(description="pending, approved, rejected, or none (nexus stated).")
    overdue: bool
    decision: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_text: str | None = None
    in_period: bool


class EquipmentRow(Model):
    kind: Literal["capture", "refused", "registered"]
    at: datetime
    actor: str | None
    reference: str | None
    machine: str | None
    equipment_id: str | None = None
    host_name: str | None = None
    allowed_by_authorization: bool | None = None
    detail: str | None = None


class GradeMissingRow(Model):
    bundle_id: str
    captured_at: datetime
    captured_by: str
    case_number: str
    days_since_capture: int


class RetentionRow(Model):
    bundle_id: str
    case_number: str
    retention_class: str
    due: date | None
    days_overdue: int | None
    action: str
    held: bool
    pending_request: str | None = None
    note: str | None = None


class HoldPurgeRow(Model):
    kind: Literal["held", "released", "purged", "purge-request", "purge-review"]
    at: datetime
    actor: str | None
    bundle_id: str | None
    reference: str | None = Field(None, description="The purge request id, when there is one.")
    reason: str | None = None
    status: str | None = None
    approvals: list[str] = Field(default_factory=list)


class DisseminationRow(Model):
    at: datetime
    bundle_id: str
    recipient: str | None
    recipient_agency: str | None
    reason: str | None
    by: str
    by_name: str
    by_badge: str
    export_id: str | None = None
    file: str | None = None


class DeniedRow(Model):
    seq: int
    at: datetime
    actor: str | None
    action: str
    what: str
    subject: str | None
    reason: str | None


class PolicyReviewRow(Model):
    seq: int
    at: datetime
    by: str | None
    reason: str | None
    version_before: str | None
    version_after: str | None
    sha256_before: str | None
    sha256_after: str | None


class WatchRow(Model):
    watch_id: str
    started_at: datetime
    requested_by: str | None
    url: str | None
    authorization_id: str | None
    every_s: int | None
    runs: int
    captured: int
    changes: int
    deleted_or_hidden: bool
    stopped: str | None


class IntegrityRow(Model):
    check: str
    subject: str | None
    ok: bool
    detail: str


RowT = TypeVar("RowT", bound=BaseModel)


class Section(Model, Generic[RowT]):
    """One section: its rows (one per item), counts and facts, and notes on how it was made."""

    number: int
    title: str
    count: int = Field(description="Number of rows.")
    columns: list[str]
    summary: dict[str, SummaryValue] = Field(default_factory=dict)
    breakdown: dict[str, dict[str, int]] = Field(default_factory=dict)
    rows: list[RowT]
    notes: list[str] = Field(default_factory=list)


class AuditReport(Model):
    """The audit report: who made it, when, over which period, and its fourteen sections."""

    format: str = REPORT_FORMAT
    agency: str
    store_id: str
    generated_at: datetime
    generated_by: str | None
    period: Period
    captures: Section[CaptureRow]
    refusals: Section[RefusalRow]
    exigent: Section[ExigentRow]
    alias: Section[AliasRow]
    protected: Section[ProtectedRow]
    equipment: Section[EquipmentRow]
    grades_missing: Section[GradeMissingRow]
    retention: Section[RetentionRow]
    holds_purges: Section[HoldPurgeRow]
    disseminations: Section[DisseminationRow]
    denied: Section[DeniedRow]
    policy: Section[PolicyReviewRow]
    watches: Section[WatchRow]
    integrity: Section[IntegrityRow]

    def sections(self) -> list[tuple[str, Section[Any]]]:
        """The sections in report order, with their field names (the CSV `section` column)."""
        return [(name, getattr(self, name)) for name in SECTION_NAMES]

    def counts(self) -> dict[str, int]:
        return {name: section.count for name, section in self.sections()}


SECTION_NAMES: tuple[str, ...] = (
    "captures", "refusals", "exigent", "alias", "protected", "equipment", "grades_missing",
    "retention", "holds_purges", "disseminations", "denied", "policy", "watches", "integrity",
)  # fmt: skip


def make_section(
    number: int,
    title: str,
    row_type: type[RowT],
    rows: list[RowT],
    summary: dict[str, SummaryValue] | None = None,
    breakdown: dict[str, dict[str, int]] | None = None,
    notes: list[str] | None = None,
) -> Section[RowT]:
    return Section[row_type](  # type: ignore[valid-type]
        number=number,
        title=title,
        count=len(rows),
        columns=list(row_type.model_fields),
        summary=summary or {},
        breakdown={k: v for k, v in (breakdown or {}).items() if v},
        rows=rows,
        notes=notes or [],
    )


