"""Audits: one report, over any period, of what the agency policy asks an auditor to see.

`build_report(store, start, end)` is pure: it reads the ledger, the custody logs and each
bundle's sealed `data/metadata.json` and returns an `AuditReport` (a pydantic model) of
thirteen sections. `render(report, fmt)` turns it into Markdown, JSON, CSV or a single
self-contained HTML file. `run_report(...)` is the command: it checks the role (an
auditor, supervisor or admin; anyone else is refused and recorded as `denied.audit`),
builds, renders, writes, and records the run as an `audit.report` ledger event.

The period is inclusive and in UTC dates; either end may be open. Event sections hold the
events whose ledger (or custody) time falls in the period. Owed reviews that are overdue
when the report is made are listed whatever the period (marked `in_period: false`), so a
narrow period never hides one. Retention, policy review and integrity describe the store as
it is when the report is made.

Values come from hostile web pages (titles) and from users (notes, reasons): the HTML is
rendered by Jinja2 with autoescaping and a Content-Security-Policy that allows no script
and no request; Markdown and CSV cells are escaped for their formats (CSV cells that a
spreadsheet would run as a formula are prefixed with `'`). The title and note of a bundle
quarantined for protected-content review are withheld, and screening excerpts are never
shown: matches describe the page's text, never a person.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, Field

from collector.errors import CollectorError, Refused, UsageError
from collector.evidence.bundle import layout
from collector.evidence.custody import CustodyEvent, EventType
from collector.evidence.model import Model
from collector.policy import exigent, retention
from collector.store.actions import DENIED_PREFIX, LedgerAction, family
from collector.store.ledger import iso, now
from collector.store.model import Authorization, BundleRow, LedgerEvent, Role
from collector.store.store import Actor, Store
from collector.store.verify import verify_custody

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
    """The audit report: who made it, when, over which period, and its thirteen sections."""

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
    integrity: Section[IntegrityRow]

    def sections(self) -> list[tuple[str, Section[Any]]]:
        """The sections in report order, with their field names (the CSV `section` column)."""
        return [(name, getattr(self, name)) for name in SECTION_NAMES]

    def counts(self) -> dict[str, int]:
        return {name: section.count for name, section in self.sections()}


SECTION_NAMES: tuple[str, ...] = (
    "captures", "refusals", "exigent", "alias", "protected", "equipment", "grades_missing",
    "retention", "holds_purges", "disseminations", "denied", "policy", "integrity",
)  # fmt: skip


def _section(
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


# --------------------------------------------------------------------- reading the store


def _str(value: object) -> str | None:
    return None if value is None else str(value)


def _bool(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


def _dig(data: object, *keys: str) -> object:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _time(text: object) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _reason(details: dict[str, object]) -> str | None:
    reason = details.get("reason")
    if reason is not None:
        return str(reason)
    problems = details.get("problems")
    if isinstance(problems, list):
        return "; ".join(str(p) for p in problems)
    return None


def _is_grade(event: CustodyEvent) -> bool:
    if event.type is not EventType.graded:
        return False
    kind = event.details.get("kind")
    return kind == "grade" or (kind is None and "scale" in event.details)


@dataclass
class _Facts:
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
    def read(cls, store: Store, period: Period, at: datetime) -> _Facts:
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
        if meta is not None and _dig(meta, "screening", "disposition") != "quarantined":
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
            engagement = _str(_dig(meta, "engagement"))
            alias = _str(_dig(meta, "authorization", "conditions", "alias")) or _str(
                _dig(meta, "virtual_identity")
            )
            return (
                _bool(_dig(meta, "exigent")),
                engagement,
                alias if engagement == "alias" else None,
                _str(_dig(meta, "retention_class")),
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
        data = json.loads((store.bundle_path(row) / "data" / layout.METADATA).read_bytes())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


# --------------------------------------------------------------------- the sections


def _captures(f: _Facts) -> Section[CaptureRow]:
    rows: list[CaptureRow] = []
    withheld = 0
    for b in f.bundles_in_period():
        meta = f.metadata.get(b.id)
        hide = f.withheld(b.id)
        withheld += hide
        is_exigent, engagement, alias, retention_class = f.terms(b)
        rows.append(CaptureRow(
            bundle_id=b.id, captured_at=b.created_at, captured_by=b.captured_by,
            case_number=b.case_number, authorization_id=b.authorization_id,
            source_url=b.source_url,
            title=WITHHELD if hide else _str(_dig(meta, "capture", "title")),
            note=WITHHELD if hide and _dig(meta, "note") else _str(_dig(meta, "note")),
            exigent=is_exigent, engagement=engagement, alias=alias,
            machine=_str(_dig(meta, "machine", "kind")),
            equipment_id=_str(_dig(meta, "machine", "equipment_id")),
            screening=_str(_dig(meta, "screening", "disposition")),
            retention_class=retention_class,
            policy_version=_str(_dig(meta, "policy", "version")),
            metadata_readable=meta is not None, purged=f.purged(b.id),
        ))  # fmt: skip
    return _section(
        1, "Captures by user and by case", CaptureRow, rows,
        summary={
            "bundles": len(rows),
            "users": len({r.captured_by for r in rows}),
            "cases": len({r.case_number for r in rows}),
            "exigent": sum(r.exigent is True for r in rows),
            "alias": sum(r.engagement == "alias" for r in rows),
            "personal_equipment": sum(r.machine == "personal" for r in rows),
            "unregistered_equipment": sum(r.machine == "unregistered" for r in rows),
            "quarantined_withheld": withheld,
            "metadata_unreadable": sum(not r.metadata_readable for r in rows),
        },
        breakdown={
            "by user": dict(Counter(r.captured_by for r in rows)),
            "by case": dict(Counter(r.case_number for r in rows)),
        },
        notes=["Sealed bundles whose seal was recorded in the period. Flags are read from each "
               "bundle's sealed metadata; where it is gone (purged) exigent, engagement, alias "
               "and retention class come from the ledger's authorization record, and the title, "
               "note, machine and screening are unknown. Title and note of a bundle under "
               "protected-content quarantine are withheld."],
    )  # fmt: skip


def _refusals(f: _Facts) -> Section[RefusalRow]:
    rows: list[RefusalRow] = []
    for e in f.in_period():
        denied = e.action.startswith(DENIED_PREFIX) or e.action == LedgerAction.auth_login
        kind: Literal["refused", "denied by supervisor", "revoked"]
        if e.outcome == "refused" and not denied:
            kind = "refused"
        elif e.outcome == "ok" and e.action == LedgerAction.auth_deny:
            kind = "denied by supervisor"
        elif e.outcome == "ok" and e.action == LedgerAction.auth_revoke:
            kind = "revoked"
        else:
            continue
        rows.append(RefusalRow(
            seq=e.seq, at=e.at, actor=e.actor, action=e.action, kind=kind, subject=e.subject,
            code=_str(e.details.get("code")), reason=_reason(e.details),
            url=_str(e.details.get("url")),
        ))  # fmt: skip
    return _section(
        2, "Refusals with reasons", RefusalRow, rows,
        summary={"refusals": len(rows),
                 "capture_refusals": sum(r.action == LedgerAction.capture_refused for r in rows),
                 "authorization_refusals": sum(r.action in family("auth") for r in rows)},
        breakdown={"by action": dict(Counter(r.action for r in rows)),
                   "capture refusals by code": dict(Counter(
                       r.code or "-" for r in rows if r.action == LedgerAction.capture_refused))},
        notes=["Every refused event except denied permissions and failed log-ins (section 11), "
               "and supervisors' denials and revocations of authorization requests."],
    )  # fmt: skip


def _exigent(f: _Facts) -> Section[ExigentRow]:
    rows: list[ExigentRow] = []
    for auth in f.auths.values():
        if not auth.conditions.exigent:
            continue
        made = f.last(LedgerAction.auth_exigent, auth.id)
        in_period = f.period.contains(made.at if made else auth.requested_at)
        due = exigent.review_due(f.store, auth)
        pending = auth.status.value == "exigent"
        overdue = pending and due < f.at
        if not in_period and not overdue:
            continue
        review = None if pending else f.last(LedgerAction.auth_review, auth.id)
        rows.append(ExigentRow(
            authorization_id=auth.id, case_number=auth.case_number,
            requested_by=auth.requested_by, requested_at=auth.requested_at, review_due=due,
            status=auth.status.value,
            decision=_str(review.details.get("decision")) if review else None,
            reviewer=review.actor if review else auth.decided_by,
            reviewed_at=review.at if review else auth.decided_at,
            review_reason=_str(review.details.get("reason")) if review else auth.decision_reason,
            late=_bool(review.details.get("late")) if review else (True if overdue else None),
            overdue=overdue,
            bundles=[b.id for b in f.bundles if b.authorization_id == auth.id],
            in_period=in_period,
        ))  # fmt: skip
    return _section(
        3, "Exigent captures and their reviews", ExigentRow, rows,
        summary={"exigent": len(rows),
                 "reviewed": sum(r.decision is not None for r in rows),
                 "approved": sum(r.decision == "approved" for r in rows),
                 "rejected": sum(r.decision == "rejected" for r in rows),
                 "pending": sum(r.status == "exigent" for r in rows),
                 "OVERDUE": sum(r.overdue for r in rows),
                 "reviewed_late": sum(r.late is True and r.decision is not None for r in rows)},
        notes=[f"Review deadline: {f.store.config.policy.exigent_review_hours} h after the "
               "capture. OVERDUE: no review by the deadline, as of the report time. Exigent "
               "captures made before the period are listed while their review is overdue."],
    )  # fmt: skip


def _alias(f: _Facts) -> Section[AliasRow]:
    rows: list[AliasRow] = []
    for b in f.bundles_in_period():
        _exigent_flag, engagement, alias, _class = f.terms(b)
        if engagement != "alias":
            continue
        rows.append(AliasRow(kind="capture", at=b.created_at, actor=b.captured_by, alias=alias,
                             reference=b.id, outcome="ok", detail=f"case {b.case_number}"))  # fmt: skip
    for auth in f.auths.values():
        if auth.conditions.engagement != "alias":
            continue
        made = f.last(LedgerAction.auth_request, auth.id)
        if f.period.contains(made.at if made else auth.requested_at):
            rows.append(AliasRow(
                kind="authorization", at=made.at if made else auth.requested_at,
                actor=auth.requested_by, alias=auth.conditions.alias, reference=auth.id,
                outcome=auth.status.value,
                detail=f"case {auth.case_number}; approved by {auth.approved_by or '-'}",
            ))  # fmt: skip
    for e in f.in_period():
        if e.action not in family("alias"):
            continue
        rows.append(AliasRow(
            kind=e.action, at=e.at, actor=e.actor,
            alias=_str(e.details.get("alias")) or _str(e.details.get("name")) or e.subject,
            reference=e.subject, outcome=e.outcome, detail=_alias_detail(e),
        ))  # fmt: skip
    rows.sort(key=lambda r: r.at)
    return _section(
        4, "Alias use", AliasRow, rows,
        summary={"alias_captures": sum(r.kind == "capture" for r in rows),
                 "alias_authorizations": sum(r.kind == "authorization" for r in rows),
                 "alias_events": sum(r.kind in family("alias") for r in rows)},
        breakdown={"by kind": dict(Counter(r.kind for r in rows))},
        notes=["Captures under an alias engagement (online undercover), authorizations that "
               "name an alias, and the alias registry's events (alias.request, approve, deny, "
               "retire). Refused alias actions also appear in section 11 as denied.alias."],
    )  # fmt: skip


def _alias_detail(event: LedgerEvent) -> str | None:
    """What an alias.* event says, in one line (see `collector.aliases`)."""
    d = event.details
    if event.action == LedgerAction.alias_request:
        return (f"platform {d.get('platform', '?')}, handle {d.get('handle', '?')}, "
                f"{d.get('days', '?')} days, {d.get('approvals_required', '?')} approvals "
                f"required: {d.get('reason', '')}")  # fmt: skip
    if event.action == LedgerAction.alias_approve:
        state = f"active until {d.get('expires_at')}" if d.get("active") else "not yet active"
        return f"approval {d.get('approvals', '?')} of {d.get('required', '?')}; {state}"
    reason = _reason(d)
    before = d.get("status_before")
    return f"{reason} (was {before})" if reason and before else reason


def _protected(f: _Facts) -> Section[ProtectedRow]:
    rows: list[ProtectedRow] = []
    for e in f.events:
        if e.action not in (LedgerAction.screening_quarantine, LedgerAction.screening_nexus) or e.outcome != "ok":
            continue
        bundle_id = e.subject or ""
        state = f.protected_state(bundle_id)
        due = _time(e.details.get("review_due")) or _time(
            _dig(f.metadata.get(bundle_id), "screening", "review_due")
        )
        overdue = state == "pending" and due is not None and due < f.at
        in_period = f.period.contains(e.at)
        if not in_period and not overdue:
            continue
        raw = e.details.get("terms")
        terms = ({str(k): [str(t) for t in v] for k, v in raw.items() if isinstance(v, list)}
                 if isinstance(raw, dict) else {})  # fmt: skip
        decision = next((c for c in reversed(f.custody.get(bundle_id, []))
                         if c.type is EventType.reviewed and c.details.get("kind") == "protected"),
                        None)  # fmt: skip
        rows.append(ProtectedRow(
            bundle_id=bundle_id, screened_at=e.at, captured_by=e.actor,
            disposition="quarantined" if e.action == LedgerAction.screening_quarantine else "nexus-stated",
            categories=sorted(terms), terms=terms, nexus=_str(e.details.get("nexus")),
            review_due=due, state=state, overdue=overdue,
            decision=_str(decision.details.get("decision")) if decision else None,
            decided_by=decision.actor.user if decision else None,
            decided_at=decision.time if decision else None,
            decision_text=(_str(decision.details.get("nexus")) or _str(decision.details.get("reason")))
            if decision else None,
            in_period=in_period,
        ))  # fmt: skip
    categories: Counter[str] = Counter(c for r in rows for c in r.categories)
    return _section(
        5, "Protected-category matches and nexus statements", ProtectedRow, rows,
        summary={"matches": len(rows),
                 "quarantined": sum(r.disposition == "quarantined" for r in rows),
                 "nexus_stated": sum(r.disposition == "nexus-stated" for r in rows),
                 "pending_review": sum(r.state == "pending" for r in rows),
                 "OVERDUE": sum(r.overdue for r in rows),
                 "approved": sum(r.state == "approved" for r in rows),
                 "rejected": sum(r.state == "rejected" for r in rows)},
        breakdown={"by category": dict(categories)},
        notes=["28 CFR 23.20(b): the page text matched policy terms for these categories. The "
               "matches describe the captured text; no person is classified, and excerpts of "
               "the text are not reproduced here. OVERDUE: pending past its review deadline "
               "as of the report time (listed whatever the period)."],
    )  # fmt: skip


def _equipment(f: _Facts) -> Section[EquipmentRow]:
    rows: list[EquipmentRow] = []
    kinds: Counter[str] = Counter()
    for b in f.bundles_in_period():
        meta = f.metadata.get(b.id)
        kind = _str(_dig(meta, "machine", "kind")) or "unknown"
        kinds[kind] += 1
        if kind not in ("personal", "unregistered"):
            continue
        rows.append(EquipmentRow(
            kind="capture", at=b.created_at, actor=b.captured_by, reference=b.id, machine=kind,
            equipment_id=_str(_dig(meta, "machine", "equipment_id")),
            host_name=_str(_dig(meta, "machine", "host_name")),
            allowed_by_authorization=_bool(_dig(meta, "authorization", "conditions",
                                               "allow_personal_equipment")),
            detail=_str(_dig(meta, "machine", "description")),
        ))  # fmt: skip
    for e in f.in_period():
        if e.action == LedgerAction.capture_refused and e.details.get("code") == "equipment":
            rows.append(EquipmentRow(kind="refused", at=e.at, actor=e.actor, reference=e.subject,
                                     machine=None, detail=_reason(e.details)))  # fmt: skip
        elif e.action == LedgerAction.equipment_add and e.outcome == "ok":
            rows.append(EquipmentRow(
                kind="registered", at=e.at, actor=e.actor, reference=e.subject,
                machine=_str(e.details.get("kind")), equipment_id=e.subject,
                detail=_str(e.details.get("description")),
            ))  # fmt: skip
    rows.sort(key=lambda r: r.at)
    rules = f.store.config.policy.equipment
    return _section(
        6, "Personal and unregistered equipment", EquipmentRow, rows,
        summary={"captures_agency": kinds.get("agency", 0),
                 "captures_personal": kinds.get("personal", 0),
                 "captures_unregistered": kinds.get("unregistered", 0),
                 "refused_for_equipment": sum(r.kind == "refused" for r in rows),
                 "registered": sum(r.kind == "registered" for r in rows),
                 "policy_refuses_personal": rules.refuse_personal,
                 "policy_refuses_unregistered": rules.refuse_unregistered},
        notes=["Captures on personal or unregistered machines (as each bundle records its "
               "machine), captures refused for equipment, and equipment registered."],
    )  # fmt: skip


def _grades_missing(f: _Facts) -> Section[GradeMissingRow]:
    rows: list[GradeMissingRow] = []
    graded = purged = 0
    for b in f.bundles_in_period():
        if f.purged(b.id):
            purged += 1
            continue
        if any(_is_grade(e) for e in f.custody.get(b.id, [])):
            graded += 1
            continue
        rows.append(GradeMissingRow(
            bundle_id=b.id, captured_at=b.created_at, captured_by=b.captured_by,
            case_number=b.case_number, days_since_capture=(f.at - b.created_at).days,
        ))  # fmt: skip
    return _section(
        7, "Grades missing", GradeMissingRow, rows,
        summary={"bundles": graded + len(rows) + purged, "graded": graded,
                 "missing": len(rows), "purged_not_counted": purged},
        notes=["Bundles sealed in the period with no source-reliability / content-validity "
               "grade (a `graded` custody event of kind `grade`) as of the report time."],
    )  # fmt: skip


def _retention(f: _Facts) -> Section[RetentionRow]:
    as_of = f.at.date()
    notes = [f"Due or overdue as of {as_of} (the report date), for every bundle whatever the "
             "period. Legal holds are shown: they suspend disposal."]  # fmt: skip
    try:
        rows = [
            RetentionRow(
                bundle_id=s.bundle_id, case_number=s.case_number,
                retention_class=s.retention_class, due=s.due,
                days_overdue=s.days_overdue(as_of), action=s.action, held=s.held,
                pending_request=s.pending_request, note=s.note,
            )
            for s in retention.due(f.store, as_of)
        ]  # fmt: skip
        source = "collector.policy.retention"
    except (ImportError, AttributeError, CollectorError) as exc:
        rows = _retention_fallback(f, as_of)
        source = "ledger (fallback)"
        notes.append(f"The retention module could not be used ({type(exc).__name__}: {exc}); "
                     "due dates were computed from the ledger: class period from the capture "
                     "or an immediate purge review, without later retention reviews.")  # fmt: skip
    return _section(
        8, "Retention reviews and purges due", RetentionRow, rows,
        summary={"as_of": as_of.isoformat(), "source": source, "due": len(rows),
                 "overdue": sum((r.days_overdue or 0) > 0 for r in rows),
                 "held": sum(r.held for r in rows)},
        breakdown={"by action": dict(Counter(r.action for r in rows))},
        notes=notes,
    )  # fmt: skip


def _retention_fallback(f: _Facts, as_of: date) -> list[RetentionRow]:
    """What can be computed without the retention module: class periods and purge reviews."""
    flagged = {e.subject: e.at.date() for e in f.events if e.action == LedgerAction.retention_purge_review}
    rows = []
    for b in f.bundles:
        if f.purged(b.id):
            continue
        auth = f.auths.get(b.authorization_id)
        name = _str(_dig(f.metadata.get(b.id), "retention_class")) or (
            auth.retention_class if auth else "?"
        )
        cls = f.store.config.policy.retention_classes.get(name)
        held = False
        for e in f.custody.get(b.id, []):
            if e.type in (EventType.held, EventType.released):
                held = e.type is EventType.held
        due: date | None = None
        action = "purge-review"
        if b.id in flagged:
            due = flagged[b.id]
        elif cls is not None and cls.max_years is not None:
            start = b.created_at.date()
            try:
                due = start.replace(year=start.year + cls.max_years)
            except ValueError:
                due = start.replace(year=start.year + cls.max_years, day=28)
            action = cls.on_expiry
        if due is None or due > as_of:
            continue
        rows.append(RetentionRow(bundle_id=b.id, case_number=b.case_number,
                                 retention_class=name, due=due, days_overdue=(as_of - due).days,
                                 action=action, held=held))  # fmt: skip
    return rows


def _holds_purges(f: _Facts) -> Section[HoldPurgeRow]:
    rows: list[HoldPurgeRow] = []
    held_now = 0
    for b in f.bundles:
        held = False
        for e in f.custody.get(b.id, []):
            if e.type is EventType.held:
                held = True
            elif e.type is EventType.released:
                held = False
            if e.type not in (EventType.held, EventType.released, EventType.purged):
                continue
            if not f.period.contains(e.time):
                continue
            approved = e.details.get("approved_by")
            rows.append(HoldPurgeRow(
                kind=e.type.value, at=e.time, actor=e.actor.user, bundle_id=b.id,
                reference=_str(e.details.get("request_id")), reason=_str(e.details.get("reason")),
                status="carried out" if e.type is EventType.purged else None,
                approvals=[str(a) for a in approved] if isinstance(approved, list) else [],
            ))  # fmt: skip
        held_now += held
    notes = [
        "Legal holds placed and released, purges carried out, purge requests (the policy "
        f"requires {f.store.config.policy.purge_approvals} people, the requester and "
        "supervisors, before anything is destroyed) and bundles sent to purge review by a "
        "rejected exigent or protected-content review."
    ]
    try:
        for r in retention.purge_requests(f.store):
            if f.period.contains(r.requested_at):
                rows.append(HoldPurgeRow(
                    kind="purge-request", at=r.requested_at, actor=r.requested_by,
                    bundle_id=r.bundle_id, reference=r.id, reason=r.reason,
                    status=f"{r.status} ({1 + len(r.approvals)} of {r.people_needed} people)"
                    if r.status == "pending" else r.status,
                    approvals=[a.approver for a in r.approvals],
                ))  # fmt: skip
    except (ImportError, AttributeError, CollectorError) as exc:
        notes.append(f"Purge requests from the ledger (retention module unavailable: {exc}).")
        for ev in f.in_period():
            if ev.action == LedgerAction.purge_request and ev.outcome == "ok":
                rows.append(HoldPurgeRow(kind="purge-request", at=ev.at, actor=ev.actor,
                                         bundle_id=ev.subject,
                                         reference=_str(ev.details.get("request_id")),
                                         reason=_reason(ev.details)))  # fmt: skip
    for ev in f.in_period():
        if ev.action == LedgerAction.retention_purge_review and ev.outcome == "ok":
            rows.append(HoldPurgeRow(kind="purge-review", at=ev.at, actor=ev.actor,
                                     bundle_id=ev.subject, reason=_reason(ev.details)))  # fmt: skip
    rows.sort(key=lambda r: r.at)
    return _section(
        9, "Legal holds and purges", HoldPurgeRow, rows,
        summary={"held": sum(r.kind == "held" for r in rows),
                 "released": sum(r.kind == "released" for r in rows),
                 "purged": sum(r.kind == "purged" for r in rows),
                 "purge_requests": sum(r.kind == "purge-request" for r in rows),
                 "purge_reviews": sum(r.kind == "purge-review" for r in rows),
                 "on_hold_now": held_now},
        notes=notes,
    )  # fmt: skip


def _disseminations(f: _Facts) -> Section[DisseminationRow]:
    rows: list[DisseminationRow] = []
    for b in f.bundles:
        for e in f.custody.get(b.id, []):
            if e.type not in (EventType.exported, EventType.disseminated):
                continue
            if not f.period.contains(e.time):
                continue
            d = e.details
            rows.append(DisseminationRow(
                at=e.time, bundle_id=b.id, recipient=_str(d.get("recipient")),
                recipient_agency=_str(d.get("recipient_agency")), reason=_str(d.get("reason")),
                by=e.actor.user, by_name=e.actor.full_name, by_badge=e.actor.badge,
                export_id=_str(d.get("export_id")), file=_str(d.get("file")),
            ))  # fmt: skip
    rows.sort(key=lambda r: r.at)
    return _section(
        10, "Disseminations (28 CFR 23.20(g) record)", DisseminationRow, rows,
        summary={"disseminations": len(rows),
                 "exports": len({r.export_id for r in rows if r.export_id}),
                 "bundles": len({r.bundle_id for r in rows}),
                 "recipients": len({r.recipient for r in rows})},
        breakdown={"by recipient": dict(Counter(r.recipient or "-" for r in rows))},
        notes=["Who received what, why, when and from whom: each bundle's signed `exported` "
               "custody event (need to know / right to know)."],
    )  # fmt: skip


def _denied(f: _Facts) -> Section[DeniedRow]:
    rows = [
        DeniedRow(
            seq=e.seq, at=e.at, actor=e.actor, action=e.action,
            what=e.action.removeprefix(DENIED_PREFIX) if e.action.startswith(DENIED_PREFIX) else "log in",
            subject=e.subject, reason=_reason(e.details),
        )
        for e in f.in_period()
        if e.action.startswith(DENIED_PREFIX) or (e.action == LedgerAction.auth_login and e.outcome == "refused")
    ]  # fmt: skip
    return _section(
        11, "Denied permission attempts", DeniedRow, rows,
        summary={"denied": len(rows), "failed_logins": sum(r.what == "log in" for r in rows),
                 "users": len({r.actor for r in rows})},
        breakdown={"by user": dict(Counter(r.actor or "-" for r in rows)),
                   "by action": dict(Counter(r.what for r in rows))},
        notes=["Attempts the permission matrix or a policy rule refused (denied.*), and log-ins "
               "refused (unknown or retired user, wrong passphrase)."],
    )  # fmt: skip


def _policy(f: _Facts) -> Section[PolicyReviewRow]:
    policy = f.store.config.policy
    stamp = f.store.policy_stamp()
    age = (f.at.date() - policy.last_reviewed).days
    overdue = age > policy.review_interval_days
    rows = []
    for e in f.in_period():
        if e.action != LedgerAction.policy_reviewed or e.outcome != "ok":
            continue
        rows.append(PolicyReviewRow(
            seq=e.seq, at=e.at, by=e.actor, reason=_reason(e.details),
            version_before=_str(_dig(e.details, "before", "version")),
            version_after=_str(_dig(e.details, "after", "version")),
            sha256_before=_str(_dig(e.details, "before", "sha256")),
            sha256_after=_str(_dig(e.details, "after", "sha256")),
        ))  # fmt: skip
    audits = [e for e in f.events if e.action == LedgerAction.audit_report and e.outcome == "ok"]
    versions = Counter(
        f"{_dig(f.metadata.get(b.id), 'policy', 'version')} "
        f"({str(_dig(f.metadata.get(b.id), 'policy', 'sha256'))[:12]})"
        for b in f.bundles_in_period() if f.metadata.get(b.id) is not None
    )  # fmt: skip
    notes = [f"The policy is reviewed every {policy.review_interval_days} days "
             "(`collector policy reviewed`)."]  # fmt: skip
    if overdue:
        notes.insert(0, f"OVERDUE: the policy review is {age - policy.review_interval_days} "
                        "days late.")  # fmt: skip
    return _section(
        12, "Policy review status", PolicyReviewRow, rows,
        summary={"version": stamp.version, "sha256": stamp.sha256,
                 "last_reviewed": policy.last_reviewed.isoformat(),
                 "days_since_review": age, "review_interval_days": policy.review_interval_days,
                 "OVERDUE": overdue, "reviews_in_period": len(rows),
                 "audit_reports_in_period": sum(f.period.contains(e.at) for e in audits),
                 "last_audit_report": iso(audits[-1].at) if audits else None},
        breakdown={"captures by policy version": dict(versions)},
        notes=notes,
    )  # fmt: skip


def _integrity(f: _Facts) -> Section[IntegrityRow]:
    ok, detail = f.store.ledger.verify_chain()
    rows = [IntegrityRow(check="ledger hash chain", subject=None, ok=ok, detail=detail)]
    failed = 0
    for b in f.bundles:
        try:
            report = verify_custody(f.store, b.id)
            good, why = report.ok, report.reason
        except (CollectorError, OSError, ValueError) as exc:
            good, why = False, f"cannot check: {exc}"
        if not good:
            failed += 1
            rows.append(IntegrityRow(check="custody log", subject=b.id, ok=False, detail=why))
    checked = len(f.bundles)
    rows.append(IntegrityRow(
        check="custody logs", subject=None, ok=failed == 0,
        detail=f"{checked - failed} of {checked} bundles' custody logs intact "
               "(links, hashes, signatures, times, head recorded in the ledger)",
    ))  # fmt: skip
    return _section(
        13, "Integrity", IntegrityRow, rows,
        summary={"ledger_chain_ok": ok, "ledger_chain": detail, "custody_logs_checked": checked,
                 "custody_logs_failed": failed},
        notes=["The whole ledger and every custody log, whatever the period, checked when the "
               "report was made."],
    )  # fmt: skip


def build_report(
    store: Store,
    start: date | None,
    end: date | None,
    *,
    at: datetime | None = None,
    by: str | None = None,
) -> AuditReport:
    """Read the store and build the report over [start, end] (UTC dates, inclusive).

    `at` is the moment overdue reviews and retention are judged by (default: now).
    """
    if start is not None and end is not None and start > end:
        raise UsageError(f"--from {start} is after --to {end}")
    moment = at or now()
    facts = _Facts.read(store, Period(start=start, end=end), moment)
    return AuditReport(
        agency=store.config.agency,
        store_id=store.config.store_id,
        generated_at=moment,
        generated_by=by,
        period=facts.period,
        captures=_captures(facts),
        refusals=_refusals(facts),
        exigent=_exigent(facts),
        alias=_alias(facts),
        protected=_protected(facts),
        equipment=_equipment(facts),
        grades_missing=_grades_missing(facts),
        retention=_retention(facts),
        holds_purges=_holds_purges(facts),
        disseminations=_disseminations(facts),
        denied=_denied(facts),
        policy=_policy(facts),
        integrity=_integrity(facts),
    )


# --------------------------------------------------------------------- rendering


def cell(value: object) -> str:
    """One value as text: lists joined with `; `, mappings as `key: a, b`, times in UTC."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        moment = value.astimezone(UTC) if value.tzinfo else value
        return moment.strftime("%Y-%m-%d %H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return "; ".join(f"{k}: {cell(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return (", " if all(not isinstance(v, list | dict) for v in value) else "; ").join(
            cell(v) for v in value
        )
    return str(value)


def _table(section: Section[Any]) -> list[list[str]]:
    return [[cell(getattr(row, c)) for c in section.columns] for row in section.rows]


def _header(report: AuditReport) -> list[tuple[str, str]]:
    return [
        ("Agency", report.agency),
        ("Store", report.store_id),
        ("Period", report.period.label),
        ("Generated", cell(report.generated_at)),
        ("Generated by", report.generated_by or "-"),
        ("Report format", report.format),
    ]


_MD_SPECIAL = str.maketrans({c: f"\\{c}" for c in "\\`*_[]|#~"} | {
    "<": "&lt;", ">": "&gt;", "&": "&amp;", "\n": " ", "\r": " ", "\t": " "})  # fmt: skip


def md_escape(text: str) -> str:
    """Text safe in a Markdown table cell: no markup, no raw HTML, no broken row."""
    return text.translate(_MD_SPECIAL)


def render_md(report: AuditReport) -> str:
    out = ["# Social-media audit report", ""]
    out += [f"- **{k}:** {md_escape(v)}" for k, v in _header(report)]
    for _name, s in report.sections():
        out += ["", f"## {s.number}. {md_escape(s.title)}", ""]
        out += [f"- {md_escape(n)}" for n in s.notes]
        if s.summary:
            out += ["", " · ".join(f"{md_escape(k)}: **{md_escape(cell(v))}**"
                                   for k, v in s.summary.items())]  # fmt: skip
        for title, counts in s.breakdown.items():
            out += ["", f"| {md_escape(title)} | count |", "|---|---:|"]
            out += [f"| {md_escape(k)} | {n} |" for k, n in counts.items()]
        out.append("")
        if not s.rows:
            out.append("*none*")
            continue
        out.append("| " + " | ".join(md_escape(c) for c in s.columns) + " |")
        out.append("|" + "---|" * len(s.columns))
        out += ["| " + " | ".join(md_escape(v) for v in row) + " |" for row in _table(s)]
    return "\n".join(out) + "\n"


def render_json(report: AuditReport) -> str:
    return report.model_dump_json(indent=2) + "\n"


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(text: str) -> str:
    """A cell a spreadsheet will show, not run (OWASP CSV injection)."""
    return f"'{text}" if text.startswith(_FORMULA_START) else text


def render_csv(report: AuditReport) -> str:
    """One row per item: `section`, `item` (1-based; `none` for an empty section), then fields."""
    columns: list[str] = []
    for _name, s in report.sections():
        columns += [c for c in s.columns if c not in columns]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["section", "item", *columns])
    for name, s in report.sections():
        if not s.rows:
            writer.writerow([name, "none", *[""] * len(columns)])
            continue
        for n, row in enumerate(s.rows, 1):
            values = {c: cell(getattr(row, c)) for c in s.columns}
            writer.writerow([name, n, *[csv_safe(values.get(c, "")) for c in columns]])
    return buffer.getvalue()


def render_html(report: AuditReport) -> str:
    """A single self-contained page: inline CSS, no script, no external resource, all escaped."""
    from jinja2 import Environment, PackageLoader, StrictUndefined

    env = Environment(
        loader=PackageLoader("collector", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    sections = [
        {
            "id": name,
            "number": s.number,
            "title": s.title,
            "count": s.count,
            "notes": s.notes,
            "summary": [(k, cell(v), k.isupper() and v not in (0, False, None))
                        for k, v in s.summary.items()],
            "breakdown": list(s.breakdown.items()),
            "columns": s.columns,
            "rows": _table(s),
        }
        for name, s in report.sections()
    ]  # fmt: skip
    return env.get_template("audit.html.j2").render(
        header=_header(report), sections=sections, counts=report.counts()
    )


RENDERERS: dict[str, Callable[[AuditReport], str]] = {
    "md": render_md,
    "json": render_json,
    "csv": render_csv,
    "html": render_html,
}


def render(report: AuditReport, fmt: str) -> str:
    """The report in one of FORMATS."""
    renderer = RENDERERS.get(fmt)
    if renderer is None:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    return renderer(report)


# --------------------------------------------------------------------- the command


def parse_date(value: str | None, option: str) -> date | None:
    """A YYYY-MM-DD option (UTC date), or a one-line UsageError."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError as exc:
        raise UsageError(f"{option} must be a date YYYY-MM-DD, not {value!r}") from exc


def require_auditor(store: Store, actor: Actor) -> None:
    """Refuse (recorded as `denied.audit`) anyone but an auditor, supervisor or admin."""
    if actor.user.role not in AUDITORS:
        allowed = ", ".join(sorted(r.value for r in AUDITORS))
        reason = f"role {actor.user.role.value!r} may not run audit reports (only {allowed})"
        store.ledger.record(LedgerAction.denied_audit, "refused", actor=actor.user.name,
                            details={"reason": reason})  # fmt: skip
        raise Refused(f"{actor.user.name}: {reason}")


class ReportRun(Model):
    """What `run_report` produced and recorded."""

    text: str
    sha256: str
    out: str | None
    counts: dict[str, int]
    event_seq: int


def run_report(
    store: Store,
    actor: Actor,
    *,
    start: date | None,
    end: date | None,
    fmt: str,
    out: Path | None = None,
) -> ReportRun:
    """Check the role, build and render the report, write it, record `audit.report`."""
    import hashlib

    if fmt not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if out is not None and out.exists():
        raise UsageError(f"{out} exists: an audit report is never overwritten")
    require_auditor(store, actor)
    report = build_report(store, start, end, by=actor.user.name)
    text = render(report, fmt)
    data = text.encode("utf-8")
    digest = hashlib.sha256(data).hexdigest()
    if out is not None:
        _write_new(out, data)
    event = store.ledger.record(
        LedgerAction.audit_report, actor=actor.user.name,
        details={"from": None if start is None else start.isoformat(),
                 "to": None if end is None else end.isoformat(),
                 "format": fmt, "out": None if out is None else str(out), "sha256": digest,
                 "counts": report.counts()},
    )  # fmt: skip
    return ReportRun(text=text, sha256=digest, out=None if out is None else str(out),
                     counts=report.counts(), event_seq=event.seq)  # fmt: skip


def _write_new(path: Path, data: bytes) -> None:
    """Create the file (never overwrite), readable by owner and group only."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    except FileExistsError as exc:
        raise UsageError(f"{path} exists: an audit report is never overwritten") from exc
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc}") from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
    except OSError as exc:
        path.unlink(missing_ok=True)
        raise CollectorError(f"cannot write {path}: {exc}") from exc
