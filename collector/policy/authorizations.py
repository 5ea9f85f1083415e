"""Authorization requests and decisions: validation, separation of duties, signed approval."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

from pydantic import Field

from collector.errors import Refused, UsageError
from collector.evidence import keys
from collector.evidence.model import Conditions, Model, approval_payload
from collector.evidence.urls import parse_scope
from collector.policy import aliases
from collector.store.actions import LedgerAction
from collector.store.config import Policy
from collector.store.ledger import now
from collector.store.model import Authorization, AuthStatus, Role
from collector.store.roles import Action
from collector.store.store import Actor, Store


class AuthRequest(Model):
    """What an investigator asks for."""

    case_number: str
    predicate: str
    standard: str
    purpose: str
    facts: str
    scopes: list[str] = Field(min_length=1)
    retention_class: str
    valid_days: int | None = None
    investigators: list[str] = Field(default_factory=list)
    conditions: Conditions = Field(default_factory=Conditions)


def validate_request(req: AuthRequest, policy: Policy) -> list[str]:
    """Return every problem with the request (empty when it is acceptable)."""
    problems: list[str] = []
    if not re.fullmatch(policy.case_number_pattern, req.case_number):
        problems.append(
            f"case number {req.case_number!r} does not match the policy format"
            f" (e.g. {policy.case_number_example})"
        )
    for field, value, options in (
        ("predicate", req.predicate, policy.predicates),
        ("standard", req.standard, policy.standards),
        ("purpose", req.purpose, policy.purposes),
    ):
        if value not in options:
            problems.append(f"{field} {value!r} is not one of: {', '.join(options)}")
    if req.retention_class not in policy.retention_classes:
        problems.append(
            f"retention class {req.retention_class!r} is not one of:"
            f" {', '.join(policy.retention_classes)}"
        )
    problems.extend(_facts_problems(req.facts, req.case_number, policy))
    for scope in req.scopes:
        try:
            parse_scope(scope)
        except UsageError as exc:
            problems.append(str(exc))
    nexus = req.conditions.nexus
    if nexus is not None and len(" ".join(nexus.split())) < 20:
        problems.append(
            "a nexus statement must say how the protected content relates to the conduct"
        )
    if req.conditions.exigent:
        problems.append("exigent authorizations are made by `capture --exigent`, not requested")
    if (req.conditions.engagement == "alias") != (req.conditions.alias is not None):
        problems.append("--engagement alias and --alias NAME go together")
    days = req.valid_days if req.valid_days is not None else policy.authorization_default_days
    if not 1 <= days <= policy.authorization_max_days:
        problems.append(f"validity must be 1 to {policy.authorization_max_days} days, not {days}")
    return problems


def _facts_problems(facts: str, case_number: str, policy: Policy) -> list[str]:
    text = " ".join(facts.split())
    bare = re.sub(r"[^a-z0-9 ]", "", text.lower()).strip()
    if not text:
        return ["articulable facts must not be empty"]
    if (
        bare in {p.lower() for p in policy.facts_placeholders}
        or text.lower() == case_number.lower()
    ):
        return ["articulable facts are a placeholder, not facts"]
    without_case = text.replace(case_number, "").strip()
    if (
        len(without_case) < policy.facts_min_length
        or len(without_case.split()) < policy.facts_min_words
    ):
        return [
            f"articulable facts are too short: at least {policy.facts_min_length} characters"
            f" and {policy.facts_min_words} words beyond the case number"
        ]
    if len(set(bare.split())) < max(3, policy.facts_min_words // 2):
        return ["articulable facts repeat the same words: state what was observed"]
    return []


def request(store: Store, actor: Actor, req: AuthRequest) -> Authorization:
    store.require(actor, Action.auth_request)
    problems = validate_request(req, store.config.policy)
    if problems:
        store.ledger.record(
            LedgerAction.auth_request,
            "refused",
            actor=actor.user.name,
            details={"case_number": req.case_number, "problems": problems},
        )
        raise UsageError("; ".join(problems))
    if req.conditions.alias:
        try:
            aliases.require_active(store, req.conditions.alias)
        except Refused as exc:
            store.ledger.record(LedgerAction.auth_request, "refused", actor=actor.user.name,
                                details={"case_number": req.case_number, "problems": [str(exc)]})  # fmt: skip
            raise
    own = [actor.user.name] if actor.user.role is Role.investigator else []
    investigators = list(dict.fromkeys([*own, *req.investigators]))
    for name in investigators:
        user = store.ledger.user(name)
        if (user is None or user.retired_at is not None
                or store.certified_role(name) is not Role.investigator):  # fmt: skip
            raise UsageError(f"{name!r} is not an active investigator")
    if not investigators:
        raise UsageError("an authorization needs at least one investigator (--investigator)")
    auth = Authorization(
        id=f"AUTH-{secrets.token_hex(4).upper()}",
        case_number=req.case_number,
        predicate=req.predicate,
        standard=req.standard,
        purpose=req.purpose,
        facts=" ".join(req.facts.split()),
        scopes=req.scopes,
        retention_class=req.retention_class,
        valid_days=req.valid_days or store.config.policy.authorization_default_days,
        investigators=investigators,
        conditions=req.conditions,
        requested_by=actor.user.name,
        requested_at=now(),
    )
    store.ledger.put_authorization(
        auth,
        actor=actor.user.name,
        action=LedgerAction.auth_request,
        details={"case_number": auth.case_number, "scopes": auth.scopes},
    )
    return auth


DECISIONS = {"approve": LedgerAction.auth_approve, "deny": LedgerAction.auth_deny}


def _pending(store: Store, actor: Actor, auth_id: str, verb: str) -> Authorization:
    store.require(actor, Action.auth_decide, subject=auth_id)
    auth = store.ledger.authorization(auth_id)
    if auth is None:
        raise UsageError(f"unknown authorization {auth_id!r}")
    if auth.requested_by == actor.user.name:
        reason = (
            f"separation of duties: {actor.user.name} requested {auth_id} and may not {verb} it"
        )
        store.ledger.record(
            DECISIONS[verb],
            "refused",
            actor=actor.user.name,
            subject=auth_id,
            details={"reason": reason},
        )
        raise Refused(reason)
    return auth


def approve(store: Store, actor: Actor, auth_id: str) -> Authorization:
    auth = _pending(store, actor, auth_id, "approve")
    if auth.status is not AuthStatus.pending:
        raise UsageError(
            f"{auth_id} is {auth.status.value}; only a pending request can be approved"
        )
    at = now()
    auth.status = AuthStatus.approved
    auth.approved_by = actor.user.name
    auth.approved_at = at
    auth.valid_from = at
    auth.valid_until = at + timedelta(days=auth.valid_days)
    auth.decided_by = actor.user.name
    auth.decided_at = at
    auth.approval_signature = keys.b64(keys.sign(actor.key, approval_payload(auth)))
    auth.approver_key_fingerprint = actor.user.key_fingerprint
    store.ledger.put_authorization(
        auth,
        actor=actor.user.name,
        action=LedgerAction.auth_approve,
        details={
            "valid_until": auth.valid_until.isoformat(),
            "key_fingerprint": actor.user.key_fingerprint,
            "signature": auth.approval_signature,
        },
    )
    return auth


def deny(store: Store, actor: Actor, auth_id: str, reason: str) -> Authorization:
    if not reason.strip():
        raise UsageError("--reason must not be empty")
    auth = _pending(store, actor, auth_id, "deny")
    if auth.status is not AuthStatus.pending:
        raise UsageError(f"{auth_id} is {auth.status.value}; only a pending request can be denied")
    return _close(store, actor, auth, AuthStatus.denied, reason, LedgerAction.auth_deny)


def for_decision(store: Store, actor: Actor, auth_id: str, reason: str) -> Authorization:
    """A supervisor's decision needs the permission, a reason and a known authorization."""
    store.require(actor, Action.auth_decide, subject=auth_id)
    if not reason.strip():
        raise UsageError("--reason must not be empty")
    auth = store.ledger.authorization(auth_id)
    if auth is None:
        raise UsageError(f"unknown authorization {auth_id!r}")
    return auth


def revoke(store: Store, actor: Actor, auth_id: str, reason: str) -> Authorization:
    auth = for_decision(store, actor, auth_id, reason)
    if auth.status is not AuthStatus.approved:
        raise UsageError(f"{auth_id} is {auth.status.value}; only an approved one can be revoked")
    return _close(store, actor, auth, AuthStatus.revoked, reason, LedgerAction.auth_revoke)


def _close(
    store: Store, actor: Actor, auth: Authorization, status: AuthStatus, reason: str,
    action: LedgerAction,
) -> Authorization:
    auth.status = status
    auth.decided_by = actor.user.name
    auth.decided_at = now()
    auth.decision_reason = reason.strip()
    store.ledger.put_authorization(
        auth, actor=actor.user.name, action=action, details={"reason": auth.decision_reason}
    )
    return auth
