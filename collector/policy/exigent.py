"""Exigent captures: an imminent threat to public safety, captured before approval.

The capture is allowed without a supervisor's prior approval but is recorded as exigent in
the bundle and owes a supervisor's review within the policy's deadline. The review is a
signed custody event on every bundle made under it; a rejection sends them to purge review.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta

from collector.errors import Refused, UsageError
from collector.evidence import keys
from collector.evidence.custody import EventType
from collector.evidence.model import Conditions, approval_payload
from collector.evidence.urls import parse_url
from collector.policy.authorizations import AuthRequest, for_decision, validate_request
from collector.store import custody_log as services
from collector.store.actions import LedgerAction
from collector.store.ledger import now
from collector.store.model import Authorization, AuthStatus, Role
from collector.store.roles import Action
from collector.store.store import Actor, Store

PREDICATE = "public-safety-threat"
STANDARD = "reasonable-suspicion"
PURPOSE = "situational-awareness"
RETENTION = "preliminary"


def _literal_glob(url: str) -> str:
    """A scope glob matching exactly this URL (glob metacharacters escaped)."""
    return re.sub(r"([*?\[])", r"[\1]", url)


def create(store: Store, actor: Actor, url: str, case_number: str, facts: str) -> Authorization:
    """An exigent authorization for this one URL, recorded before the capture runs."""
    store.require(actor, Action.capture)
    policy = store.config.policy
    target = parse_url(url).normalized
    request = AuthRequest(
        case_number=case_number,
        predicate=PREDICATE if PREDICATE in policy.predicates else policy.predicates[0],
        standard=STANDARD if STANDARD in policy.standards else policy.standards[0],
        purpose=PURPOSE if PURPOSE in policy.purposes else policy.purposes[0],
        facts=facts,
        scopes=[_literal_glob(target)],
        retention_class=RETENTION
        if RETENTION in policy.retention_classes
        else next(iter(policy.retention_classes)),
        valid_days=1,
    )
    problems = validate_request(request, policy)
    if problems:
        store.ledger.record(LedgerAction.auth_exigent, "refused", actor=actor.user.name,
                            details={"case_number": case_number, "problems": problems})  # fmt: skip
        raise UsageError("; ".join(problems))
    at = now()
    auth = Authorization(
        id=f"AUTH-{secrets.token_hex(4).upper()}",
        case_number=request.case_number, predicate=request.predicate, standard=request.standard,
        purpose=request.purpose, facts=" ".join(facts.split()), scopes=request.scopes,
        retention_class=request.retention_class, valid_days=1, investigators=[actor.user.name],
        requested_by=actor.user.name, requested_at=at, conditions=Conditions(exigent=True),
        status=AuthStatus.exigent, valid_from=at,
        valid_until=at + timedelta(hours=policy.exigent_review_hours),
    )  # fmt: skip
    store.ledger.put_authorization(
        auth, actor=actor.user.name, action=LedgerAction.auth_exigent,
        details={"case_number": auth.case_number, "url": target, "review_due": review_due(store, auth).isoformat()},
    )  # fmt: skip
    return auth


def review_due(store: Store, auth: Authorization) -> datetime:
    return auth.requested_at + timedelta(hours=store.config.policy.exigent_review_hours)


def overdue(store: Store, at: datetime | None = None) -> list[Authorization]:
    """Exigent authorizations whose review deadline has passed without a review."""
    moment = at or now()
    return [
        a for a in store.ledger.authorizations()
        if a.status is AuthStatus.exigent and review_due(store, a) < moment
    ]  # fmt: skip


def review(
    store: Store, actor: Actor, auth_id: str, *, approve: bool, reason: str
) -> Authorization:
    """A supervisor (not the requester) approves or rejects an exigent capture."""
    auth = for_decision(store, actor, auth_id, reason)
    if auth.status is not AuthStatus.exigent:
        raise UsageError(f"{auth_id} is {auth.status.value}: only an exigent capture is reviewed")
    if auth.requested_by == actor.user.name or actor.user.role is not Role.supervisor:
        why = f"{actor.user.name} may not review {auth_id}: a supervisor other than the requester must"
        store.ledger.record(LedgerAction.auth_review, "refused", actor=actor.user.name, subject=auth_id,
                            details={"reason": why})  # fmt: skip
        raise Refused(why)
    at = now()
    late = at > review_due(store, auth)
    auth.decided_by = actor.user.name
    auth.decided_at = at
    auth.decision_reason = reason.strip()
    if approve:
        auth.status = AuthStatus.approved
        auth.approved_by = actor.user.name
        auth.approved_at = at
        auth.approval_signature = keys.b64(keys.sign(actor.key, approval_payload(auth)))
        auth.approver_key_fingerprint = actor.user.key_fingerprint
    else:
        auth.status = AuthStatus.rejected
    decision = "approved" if approve else "rejected"
    store.ledger.put_authorization(
        auth, actor=actor.user.name, action=LedgerAction.auth_review,
        details={"decision": decision, "reason": auth.decision_reason, "late": late},
    )  # fmt: skip
    for row in store.ledger.bundles():
        if row.authorization_id != auth.id:
            continue
        services.append(
            store, actor, row.id, EventType.reviewed,
            {"kind": "exigent", "decision": decision, "reason": auth.decision_reason,
             "late": late, "purge_review": not approve},
        )  # fmt: skip
        if not approve:
            store.ledger.record(LedgerAction.retention_purge_review, actor=actor.user.name, subject=row.id,
                                details={"reason": f"exigent capture rejected: {auth.decision_reason}"})  # fmt: skip
    return auth
