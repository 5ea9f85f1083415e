"""The fourteen sections of the audit report, each built from the facts of a store."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from typing import Literal

from collector.disclosure.audit.facts import (
    Facts,
    as_bool,
    as_str,
    as_time,
    dig,
    is_grade,
    reason_of,
)
from collector.disclosure.audit.model import (
    WITHHELD,
    AliasRow,
    AuditReport,
    CaptureRow,
    DeniedRow,
    DisseminationRow,
    EquipmentRow,
    ExigentRow,
    GradeMissingRow,
    HoldPurgeRow,
    IntegrityRow,
    Period,
    PolicyReviewRow,
    ProtectedRow,
    RefusalRow,
    RetentionRow,
    Section,
    WatchRow,
    make_section,
)
from collector.errors import CollectorError, UsageError
from collector.evidence.custody import EventType
from collector.policy import exigent, retention
from collector.store.actions import DENIED_PREFIX, LedgerAction, family
from collector.store.ledger import add_years, iso, now
from collector.store.ledger_verify import verify_ledger
from collector.store.model import LedgerEvent
from collector.store.store import Store
from collector.store.verify import verify_custody

# --------------------------------------------------------------------- the sections


def _captures(f: Facts) -> Section[CaptureRow]:
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
            title=WITHHELD if hide else as_str(dig(meta, "capture", "title")),
            note=WITHHELD if hide and dig(meta, "note") else as_str(dig(meta, "note")),
            exigent=is_exigent, engagement=engagement, alias=alias,
            machine=as_str(dig(meta, "machine", "kind")),
            equipment_id=as_str(dig(meta, "machine", "equipment_id")),
            screening=as_str(dig(meta, "screening", "disposition")),
            retention_class=retention_class,
            policy_version=as_str(dig(meta, "policy", "version")),
            metadata_readable=meta is not None, purged=f.purged(b.id),
        ))  # fmt: skip
    return make_section(
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


def _refusals(f: Facts) -> Section[RefusalRow]:
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
            code=as_str(e.details.get("code")), reason=reason_of(e.details),
            url=as_str(e.details.get("url")),
        ))  # fmt: skip
    return make_section(
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


def _exigent(f: Facts) -> Section[ExigentRow]:
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
            decision=as_str(review.details.get("decision")) if review else None,
            reviewer=review.actor if review else auth.decided_by,
            reviewed_at=review.at if review else auth.decided_at,
            review_reason=as_str(review.details.get("reason")) if review else auth.decision_reason,
            late=as_bool(review.details.get("late")) if review else (True if overdue else None),
            overdue=overdue,
            bundles=[b.id for b in f.bundles if b.authorization_id == auth.id],
            in_period=in_period,
        ))  # fmt: skip
    return make_section(
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


def _alias(f: Facts) -> Section[AliasRow]:
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
            alias=as_str(e.details.get("alias")) or as_str(e.details.get("name")) or e.subject,
            reference=e.subject, outcome=e.outcome, detail=_alias_detail(e),
        ))  # fmt: skip
    rows.sort(key=lambda r: r.at)
    return make_section(
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
    reason = reason_of(d)
    before = d.get("status_before")
    return f"{reason} (was {before})" if reason and before else reason


def _protected(f: Facts) -> Section[ProtectedRow]:
    rows: list[ProtectedRow] = []
    for e in f.events:
        if e.action not in (LedgerAction.screening_quarantine, LedgerAction.screening_nexus) or e.outcome != "ok":
            continue
        bundle_id = e.subject or ""
        state = f.protected_state(bundle_id)
        due = as_time(e.details.get("review_due")) or as_time(
            dig(f.metadata.get(bundle_id), "screening", "review_due")
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
            categories=sorted(terms), terms=terms, nexus=as_str(e.details.get("nexus")),
            review_due=due, state=state, overdue=overdue,
            decision=as_str(decision.details.get("decision")) if decision else None,
            decided_by=decision.actor.user if decision else None,
            decided_at=decision.time if decision else None,
            decision_text=(as_str(decision.details.get("nexus")) or as_str(decision.details.get("reason")))
            if decision else None,
            in_period=in_period,
        ))  # fmt: skip
    categories: Counter[str] = Counter(c for r in rows for c in r.categories)
    return make_section(
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


def _equipment(f: Facts) -> Section[EquipmentRow]:
    rows: list[EquipmentRow] = []
    kinds: Counter[str] = Counter()
    for b in f.bundles_in_period():
        meta = f.metadata.get(b.id)
        kind = as_str(dig(meta, "machine", "kind")) or "unknown"
        kinds[kind] += 1
        if kind not in ("personal", "unregistered"):
            continue
        rows.append(EquipmentRow(
            kind="capture", at=b.created_at, actor=b.captured_by, reference=b.id, machine=kind,
            equipment_id=as_str(dig(meta, "machine", "equipment_id")),
            host_name=as_str(dig(meta, "machine", "host_name")),
            allowed_by_authorization=as_bool(dig(meta, "authorization", "conditions",
                                               "allow_personal_equipment")),
            detail=as_str(dig(meta, "machine", "description")),
        ))  # fmt: skip
    for e in f.in_period():
        if e.action == LedgerAction.capture_refused and e.details.get("code") == "equipment":
            rows.append(EquipmentRow(kind="refused", at=e.at, actor=e.actor, reference=e.subject,
                                     machine=None, detail=reason_of(e.details)))  # fmt: skip
        elif e.action == LedgerAction.equipment_add and e.outcome == "ok":
            rows.append(EquipmentRow(
                kind="registered", at=e.at, actor=e.actor, reference=e.subject,
                machine=as_str(e.details.get("kind")), equipment_id=e.subject,
                detail=as_str(e.details.get("description")),
            ))  # fmt: skip
    rows.sort(key=lambda r: r.at)
    rules = f.store.config.policy.equipment
    return make_section(
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


def _grades_missing(f: Facts) -> Section[GradeMissingRow]:
    rows: list[GradeMissingRow] = []
    graded = purged = 0
    for b in f.bundles_in_period():
        if f.purged(b.id):
            purged += 1
            continue
        if any(is_grade(e) for e in f.custody.get(b.id, [])):
            graded += 1
            continue
        rows.append(GradeMissingRow(
            bundle_id=b.id, captured_at=b.created_at, captured_by=b.captured_by,
            case_number=b.case_number, days_since_capture=(f.at - b.created_at).days,
        ))  # fmt: skip
    return make_section(
        7, "Grades missing", GradeMissingRow, rows,
        summary={"bundles": graded + len(rows) + purged, "graded": graded,
                 "missing": len(rows), "purged_not_counted": purged},
        notes=["Bundles sealed in the period with no source-reliability / content-validity "
               "grade (a `graded` custody event of kind `grade`) as of the report time."],
    )  # fmt: skip


def _retention(f: Facts) -> Section[RetentionRow]:
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
    return make_section(
        8, "Retention reviews and purges due", RetentionRow, rows,
        summary={"as_of": as_of.isoformat(), "source": source, "due": len(rows),
                 "overdue": sum((r.days_overdue or 0) > 0 for r in rows),
                 "held": sum(r.held for r in rows)},
        breakdown={"by action": dict(Counter(r.action for r in rows))},
        notes=notes,
    )  # fmt: skip


def _retention_fallback(f: Facts, as_of: date) -> list[RetentionRow]:
    """What can be computed without the retention module: class periods and purge reviews."""
    flagged = {e.subject: e.at.date() for e in f.events if e.action == LedgerAction.retention_purge_review}
    rows = []
    for b in f.bundles:
        if f.purged(b.id):
            continue
        auth = f.auths.get(b.authorization_id)
        name = as_str(dig(f.metadata.get(b.id), "retention_class")) or (
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
            due = add_years(b.created_at.date(), cls.max_years)
            action = cls.on_expiry
        if due is None or due > as_of:
            continue
        rows.append(RetentionRow(bundle_id=b.id, case_number=b.case_number,
                                 retention_class=name, due=due, days_overdue=(as_of - due).days,
                                 action=action, held=held))  # fmt: skip
    return rows


def _holds_purges(f: Facts) -> Section[HoldPurgeRow]:
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
                reference=as_str(e.details.get("request_id")), reason=as_str(e.details.get("reason")),
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
                                         reference=as_str(ev.details.get("request_id")),
                                         reason=reason_of(ev.details)))  # fmt: skip
    for ev in f.in_period():
        if ev.action == LedgerAction.retention_purge_review and ev.outcome == "ok":
            rows.append(HoldPurgeRow(kind="purge-review", at=ev.at, actor=ev.actor,
                                     bundle_id=ev.subject, reason=reason_of(ev.details)))  # fmt: skip
    rows.sort(key=lambda r: r.at)
    return make_section(
        9, "Legal holds and purges", HoldPurgeRow, rows,
        summary={"held": sum(r.kind == "held" for r in rows),
                 "released": sum(r.kind == "released" for r in rows),
                 "purged": sum(r.kind == "purged" for r in rows),
                 "purge_requests": sum(r.kind == "purge-request" for r in rows),
                 "purge_reviews": sum(r.kind == "purge-review" for r in rows),
                 "on_hold_now": held_now},
        notes=notes,
    )  # fmt: skip


def _disseminations(f: Facts) -> Section[DisseminationRow]:
    rows: list[DisseminationRow] = []
    for b in f.bundles:
        for e in f.custody.get(b.id, []):
            if e.type not in (EventType.exported, EventType.disseminated):
                continue
            if not f.period.contains(e.time):
                continue
            d = e.details
            rows.append(DisseminationRow(
                at=e.time, bundle_id=b.id, recipient=as_str(d.get("recipient")),
                recipient_agency=as_str(d.get("recipient_agency")), reason=as_str(d.get("reason")),
                by=e.actor.user, by_name=e.actor.full_name, by_badge=e.actor.badge,
                export_id=as_str(d.get("export_id")), file=as_str(d.get("file")),
            ))  # fmt: skip
    rows.sort(key=lambda r: r.at)
    return make_section(
        10, "Disseminations (28 CFR 23.20(g) record)", DisseminationRow, rows,
        summary={"disseminations": len(rows),
                 "exports": len({r.export_id for r in rows if r.export_id}),
                 "bundles": len({r.bundle_id for r in rows}),
                 "recipients": len({r.recipient for r in rows})},
        breakdown={"by recipient": dict(Counter(r.recipient or "-" for r in rows))},
        notes=["Who received what, why, when and from whom: each bundle's signed `exported` "
               "custody event (need to know / right to know)."],
    )  # fmt: skip


def _denied(f: Facts) -> Section[DeniedRow]:
    rows = [
        DeniedRow(
            seq=e.seq, at=e.at, actor=e.actor, action=e.action,
            what=e.action.removeprefix(DENIED_PREFIX) if e.action.startswith(DENIED_PREFIX) else "log in",
            subject=e.subject, reason=reason_of(e.details),
        )
        for e in f.in_period()
        if e.action.startswith(DENIED_PREFIX) or (e.action == LedgerAction.auth_login and e.outcome == "refused")
    ]  # fmt: skip
    return make_section(
        11, "Denied permission attempts", DeniedRow, rows,
        summary={"denied": len(rows), "failed_logins": sum(r.what == "log in" for r in rows),
                 "users": len({r.actor for r in rows})},
        breakdown={"by user": dict(Counter(r.actor or "-" for r in rows)),
                   "by action": dict(Counter(r.what for r in rows))},
        notes=["Attempts the permission matrix or a policy rule refused (denied.*), and log-ins "
               "refused (unknown or retired user, wrong passphrase)."],
    )  # fmt: skip


def _policy(f: Facts) -> Section[PolicyReviewRow]:
    policy = f.store.config.policy
    stamp = f.store.policy_stamp()
    age = (f.at.date() - policy.last_reviewed).days
    overdue = age > policy.review_interval_days
    rows = []
    for e in f.in_period():
        if e.action != LedgerAction.policy_reviewed or e.outcome != "ok":
            continue
        rows.append(PolicyReviewRow(
            seq=e.seq, at=e.at, by=e.actor, reason=reason_of(e.details),
            version_before=as_str(dig(e.details, "before", "version")),
            version_after=as_str(dig(e.details, "after", "version")),
            sha256_before=as_str(dig(e.details, "before", "sha256")),
            sha256_after=as_str(dig(e.details, "after", "sha256")),
        ))  # fmt: skip
    audits = [e for e in f.events if e.action == LedgerAction.audit_report and e.outcome == "ok"]
    versions = Counter(
        f"{dig(f.metadata.get(b.id), 'policy', 'version')} "
        f"({str(dig(f.metadata.get(b.id), 'policy', 'sha256'))[:12]})"
        for b in f.bundles_in_period() if f.metadata.get(b.id) is not None
    )  # fmt: skip
    notes = [f"The policy is reviewed every {policy.review_interval_days} days "
             "(`collector policy reviewed`)."]  # fmt: skip
    if overdue:
        notes.insert(0, f"OVERDUE: the policy review is {age - policy.review_interval_days} "
                        "days late.")  # fmt: skip
    return make_section(
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


def _watches(f: Facts) -> Section[WatchRow]:
    """Watches started in the period (or running in it) and what their runs found."""
    by_watch: dict[str, list[LedgerEvent]] = {}
    for e in f.events:
        if e.action.startswith("watch.") and e.subject:
            by_watch.setdefault(e.subject, []).append(e)
    rows: list[WatchRow] = []
    kinds: Counter[str] = Counter()
    for watch_id, events in by_watch.items():
        started = next((e for e in events if e.action == LedgerAction.watch_started), None)
        if started is None or not any(f.period.contains(e.at) for e in events):
            continue
        runs = [e for e in events if e.action == LedgerAction.watch_run]
        changed = [c for e in events if e.action == LedgerAction.watch_changed
                   for c in _listed(dig(e.details, "changes")) if isinstance(c, dict)]  # fmt: skip
        kinds.update(str(c.get("kind")) for c in changed)
        stopped = next((e for e in events if e.action == LedgerAction.watch_stopped), None)
        every = dig(started.details, "every_s")
        rows.append(WatchRow(
            watch_id=watch_id, started_at=started.at, requested_by=started.actor,
            url=as_str(started.details.get("url")), authorization_id=as_str(started.details.get("authorization_id")),
            every_s=every if isinstance(every, int) else None, runs=len(runs),
            captured=sum(dig(e.details, "state") == "captured" for e in runs), changes=len(changed),
            deleted_or_hidden=any(c.get("kind") == "deleted-or-hidden" for c in changed),
            stopped=reason_of(stopped.details) if stopped is not None else None,
        ))  # fmt: skip
    rows.sort(key=lambda r: r.started_at)
    return make_section(
        13, "Watches and what they found", WatchRow, rows,
        summary={"watches": len(rows), "runs": sum(r.runs for r in rows),
                 "captured": sum(r.captured for r in rows), "changes": sum(r.changes for r in rows),
                 "deleted_or_hidden": sum(r.deleted_or_hidden for r in rows),
                 "stopped": sum(r.stopped is not None for r in rows)},
        breakdown={"changes by kind": dict(kinds)},
        notes=["Pages captured again on a schedule (`watch.started`), each run a sealed bundle "
               "(`watch.run`), each compared with the run before (`watch.changed`): an edit or a "
               "deletion is proven by the two sealed captures either side of it."],
    )  # fmt: skip


def _listed(value: object) -> list[object]:
    return list(value) if isinstance(value, list) else []


def _integrity(f: Facts) -> Section[IntegrityRow]:
    ledger = verify_ledger(f.store)
    rows = [IntegrityRow(check=f"ledger {c.name}", subject=None, ok=c.ok, detail=c.detail)
            for c in ledger.checks]  # fmt: skip
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
    return make_section(
        14, "Integrity", IntegrityRow, rows,
        summary={"ledger_chain_ok": ledger.checks[0].ok, "ledger_chain": ledger.checks[0].detail,
                 "ledger_ok": ledger.ok, "custody_logs_checked": checked,
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
    facts = Facts.read(store, Period(start=start, end=end), moment)
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
        watches=_watches(facts),
        integrity=_integrity(facts),
    )


