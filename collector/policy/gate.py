"""The predicate gate: may this user capture this URL under this authorization, now?

Pure: everything it needs is passed in (the resolver is the only I/O, and it is a
parameter). It returns the first reason to refuse, or an Allowed decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from collector.errors import CollectorError
from collector.evidence import keys
from collector.evidence.keys import SignerKey
from collector.evidence.model import approval_payload
from collector.evidence.urls import Url, parse_scope, parse_url
from collector.policy.addresses import Resolver, non_public
from collector.store.config import Policy, allowed_host
from collector.store.model import Authorization, AuthStatus, Role, User


@dataclass(frozen=True)
class Allowed:
    url: Url
    addresses: list[str]


@dataclass(frozen=True)
class Refusal:
    reason: str
    code: str


Decision = Allowed | Refusal


def check(
    *,
    url_text: str,
    auth: Authorization | None,
    auth_id: str | None,
    user: User,
    approver_key: SignerKey | None,
    policy: Policy,
    now: datetime,
    resolver: Resolver,
) -> Decision:
    """Decide a capture request. Order: URL, authorization, approval, person, scope, network."""
    try:
        url = parse_url(url_text)
    except CollectorError as exc:
        return Refusal(str(exc), "url")
    if not auth_id:
        return Refusal("no authorization given: pass --auth ID", "no-authorization")
    if auth is None:
        return Refusal(f"unknown authorization {auth_id!r}", "unknown-authorization")
    exigent = auth.status is AuthStatus.exigent and auth.conditions.exigent
    if auth.status is not AuthStatus.approved and not exigent:
        return Refusal(f"authorization {auth.id} is {auth.status.value}, not approved", "status")
    if exigent and auth.requested_by != user.name:
        return Refusal(
            f"exigent authorization {auth.id} is {auth.requested_by}'s alone", "not-investigator"
        )
    if auth.valid_from is None or auth.valid_until is None:
        return Refusal(f"authorization {auth.id} has no validity window", "validity")
    if now < auth.valid_from:
        return Refusal(f"authorization {auth.id} is not valid before {auth.valid_from}", "validity")
    if now >= auth.valid_until:
        return Refusal(f"authorization {auth.id} expired at {auth.valid_until}", "expired")
    problem = None if exigent else _approval_problem(auth, approver_key)
    if problem:
        return Refusal(f"authorization {auth.id}: {problem}", "approval-signature")
    if user.role is not Role.investigator or user.name not in auth.investigators:
        return Refusal(
            f"{user.name} is not an investigator on authorization {auth.id}", "not-investigator"
        )
    outside = [parse_scope(s).refusal(url) for s in auth.scopes]
    if all(outside):
        why = next((r for r in outside if r and "encoded separator" in r), None)
        detail = f" ({why})" if why else ""
        return Refusal(f"{url.normalized} is outside every scope of {auth.id}{detail}", "scope")
    try:
        addresses = resolver(url.host)
    except CollectorError as exc:
        return Refusal(str(exc), "resolve")
    private = [
        a for a in non_public(addresses)
        if allowed_host(f"{url.host}:{url.port}") not in policy.allowed_hosts
        and allowed_host(f"{a}:{url.port}") not in policy.allowed_hosts
    ]  # fmt: skip
    if private and not policy.allow_private_network:
        return Refusal(
            f"{url.host} resolves to a non-public address ({', '.join(private)});"
            " this store does not allow private networks",
            "private-network",
        )
    return Allowed(url=url, addresses=addresses)


def _approval_problem(auth: Authorization, key: SignerKey | None) -> str | None:
    if auth.approved_by is None or auth.approval_signature is None or auth.approved_at is None:
        return "approval is not signed"
    if auth.approved_by == auth.requested_by:
        return "approved by its own requester"
    if key is None:
        return "approver's key is not in the key registry"
    if key.owner != auth.approved_by:
        return "approval was signed with a key that is not the approver's"
    if key.retired_at is not None and key.retired_at <= auth.approved_at:
        return "approval was signed with a retired key"
    signature = keys.unb64(auth.approval_signature)
    if not keys.verify(key.public_key_pem.encode(), approval_payload(auth), signature):
        return "approval signature does not match its content (altered after approval)"
    return None
