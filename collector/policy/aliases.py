"""Aliases: online undercover identities, approved before use by two supervisors.

Global Justice Information Sharing Initiative guidance (and the NYPD order it reproduces):
an alias, its user name and photo are approved before use by two levels of supervisory
sign-off. Here an investigator requests an alias (name, platform, handle, reason, days); it
becomes ACTIVE only once `policy.alias_approvals` different supervisors, none of them the
requester, have approved it, each with an Ed25519 signature over the alias's terms. It stays
active for its days, counted from the approval that activated it, until it expires or a
supervisor (or its requester) retires it. A pending alias can be denied.

The tables are append-only (requests and decisions are rows; SQLite triggers refuse UPDATE
and DELETE) and the state is derived from them each time it is read. Every decision is also
a ledger event (`alias.request`, `alias.approve`, `alias.deny`, `alias.retire`); every refusal
is a `denied.alias` event with its reason. An approval counts only while its signature
verifies against the approver's registered key, so a row written into the database by other
means does not activate anything, and backdating an approval needs the approver's key.

`load_profile` reads the Playwright storage state (cookies, origins with localStorage) an
investigator gives with `--profile` for a logged-in capture under an alias.
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

import rfc8785
from pydantic import Field
from sqlalchemy import insert, select

from collector.errors import Refused, UsageError
from collector.evidence import files, keys
from collector.evidence.model import Model
from collector.store.actions import LedgerAction
from collector.store.ledger import iso, now
from collector.store.model import Role
from collector.store.schema import alias_decisions as decided
from collector.store.schema import alias_requests as requests
from collector.store.store import Actor, Identity, Store

ALIAS_NAME = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
RESERVED_NAMES = frozenset({"new"})
"""Names the web application's alias pages use (`/aliases/new`)."""
MAX_NAME = 48
PLATFORM = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
MAX_HANDLE = 200
MIN_REASON = 20
MAX_REASON = 2000

PROFILE_MAX_BYTES = 5 * 1024 * 1024
PROFILE_MAX_COOKIES = 5000
PROFILE_MAX_ORIGINS = 1000
PROFILE_MAX_ENTRIES = 10000
SAME_SITE = ("Strict", "Lax", "None")

REQUESTERS: frozenset[Role] = frozenset({Role.investigator})
"""Who requests an alias."""
DECIDERS: frozenset[Role] = frozenset({Role.supervisor})
"""Who approves or denies an alias (never its requester); they, or its requester, retire one."""


class AliasStatus(StrEnum):
    pending = "pending"
    active = "active"
    expired = "expired"
    denied = "denied"
    retired = "retired"


class AliasApproval(Model):
    """One supervisor's signed approval."""

    approver: str
    approved_at: datetime
    key_fingerprint: str
    signature: str = Field(description="Base64 Ed25519 signature over `approval_payload`.")
    valid: bool = Field(
        description="The signature verifies with the approver's registered key (not retired "
        "at the time), the approver is a supervisor and not the requester."
    )


class Alias(Model):
    """An alias as its rows say it is at a given moment."""

    name: str
    platform: str
    handle: str
    reason: str
    days: int
    requested_by: str
    requested_at: datetime
    status: AliasStatus
    approvals_required: int
    approvals: list[AliasApproval] = Field(default_factory=list)
    activated_at: datetime | None = None
    expires_at: datetime | None = None
    closed_by: str | None = Field(None, description="Who denied or retired it.")
    closed_at: datetime | None = None
    close_reason: str | None = None

    def terms(self) -> dict[str, Any]:
        """What each approver signs (with their name and the time): the alias's terms."""
        return alias_terms(
            self.name, self.platform, self.handle, self.reason, self.days,
            self.requested_by, self.requested_at,
        )  # fmt: skip

    def counted(self) -> list[AliasApproval]:
        """Valid approvals by different supervisors, oldest first."""
        seen: set[str] = set()
        out = []
        for approval in sorted(self.approvals, key=lambda a: a.approved_at):
            if approval.valid and approval.approver not in seen:
                seen.add(approval.approver)
                out.append(approval)
        return out

    @property
    def virtual_identity(self) -> str:
        """How a bundle names the identity used: for `Metadata.virtual_identity`."""
        return f"alias {self.name}: {self.handle} on {self.platform}"

    def describe(self) -> str:
        """The status in words, e.g. 'pending (1 of 2 approvals)'."""
        if self.status is AliasStatus.pending:
            return f"pending ({len(self.counted())} of {self.approvals_required} approvals)"
        if self.status is AliasStatus.active and self.expires_at is not None:
            return f"active until {self.expires_at:%Y-%m-%d %H:%M}Z"
        if self.status is AliasStatus.expired and self.expires_at is not None:
            return f"expired {self.expires_at:%Y-%m-%d %H:%M}Z"
        if self.closed_at is not None:
            return f"{self.status.value} {self.closed_at:%Y-%m-%d %H:%M}Z by {self.closed_by}"
        return self.status.value


def alias_terms(
    name: str,
    platform: str,
    handle: str,
    reason: str,
    days: int,
    requested_by: str,
    requested_at: datetime,
) -> dict[str, Any]:
    return {
        "name": name,
        "platform": platform,
        "handle": handle,
        "reason": reason,
        "days": days,
        "requested_by": requested_by,
        "requested_at": iso(requested_at),
    }


def approval_payload(terms: dict[str, Any], approver: str, approved_at: datetime) -> bytes:
    """The bytes an approver signs: RFC 8785 canonical JSON of the alias terms, the decision,
    the approver and the time. An auditor rebuilds it from `Alias.terms()` and the approval."""
    return bytes(
        rfc8785.dumps(
            {
                "action": "alias.approve",  # part of the signed format: never renamed
                "alias": terms,
                "approver": approver,
                "approved_at": iso(approved_at),
            }
        )
    )


# --------------------------------------------------------------------- reading


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _approval_valid(store: Store, terms: dict[str, Any], requested_by: str, row: Any) -> bool:
    approver, fingerprint = row["actor"], row["key_fingerprint"]
    if approver == requested_by or not fingerprint or not row["signature"]:
        return False
    user = store.ledger.user(approver)
    key = store.key_lookup()(fingerprint)
    at = _time(row["at"])
    if user is None or key is None or key.owner != approver:
        return False
    if store.certified_role(approver, at) is not Role.supervisor:
        return False
    if key.retired_at is not None and key.retired_at <= at:
        return False
    payload = approval_payload(terms, approver, at)
    return keys.verify(key.public_key_pem.encode(), payload, keys.unb64(row["signature"]))


def _build(store: Store, request: Any, decisions: list[Any], at: datetime) -> Alias:
    required = store.config.policy.alias_approvals
    alias = Alias(
        name=request["name"], platform=request["platform"], handle=request["handle"],
        reason=request["reason"], days=int(request["days"]),
        requested_by=request["requested_by"], requested_at=_time(request["requested_at"]),
        status=AliasStatus.pending, approvals_required=required,
    )  # fmt: skip
    terms = alias.terms()
    for row in decisions:
        if row["decision"] == "approve":
            alias.approvals.append(
                AliasApproval(
                    approver=row["actor"],
                    approved_at=_time(row["at"]),
                    key_fingerprint=row["key_fingerprint"] or "",
                    signature=row["signature"] or "",
                    valid=_approval_valid(store, terms, alias.requested_by, row),
                )
            )
        elif alias.closed_at is None:  # the first deny or retire closes it for good
            alias.status = AliasStatus.denied if row["decision"] == "deny" else AliasStatus.retired
            alias.closed_by = row["actor"]
            alias.closed_at = _time(row["at"])
            alias.close_reason = row["reason"]
    counted = alias.counted()
    if len(counted) >= required:
        alias.activated_at = counted[required - 1].approved_at
        alias.expires_at = alias.activated_at + timedelta(days=alias.days)
    if alias.closed_at is None and alias.activated_at is not None and alias.expires_at:
        if at >= alias.expires_at:
            alias.status = AliasStatus.expired
        elif at >= alias.activated_at:
            alias.status = AliasStatus.active
    return alias


def get(store: Store, name: str, at: datetime | None = None) -> Alias | None:
    """The alias called `name` as of `at` (default now), or None if there is none."""
    rows = store.ledger.rows(select(requests).where(requests.c.name == name))
    if not rows:
        return None
    decisions = store.ledger.rows(
        select(decided).where(decided.c.alias == name).order_by(decided.c.id)
    )
    return _build(store, rows[0], decisions, at or now())


def aliases(store: Store, at: datetime | None = None) -> list[Alias]:
    """Every alias ever requested, by name, as of `at` (default now)."""
    moment = at or now()
    decisions: dict[str, list[Any]] = {}
    for row in store.ledger.rows(select(decided).order_by(decided.c.id)):
        decisions.setdefault(row["alias"], []).append(row)
    return [
        _build(store, row, decisions.get(row["name"], []), moment)
        for row in store.ledger.rows(select(requests).order_by(requests.c.name))
    ]


def active_alias(store: Store, name: str, at: datetime | None = None) -> Alias | None:
    """The alias if it is active at `at` (default now): approved, not expired, not retired."""
    alias = get(store, name, at)
    return alias if alias is not None and alias.status is AliasStatus.active else None


def require_active(store: Store, name: str, at: datetime | None = None) -> Alias:
    """The active alias `name`, or Refused saying why not. Records nothing: the caller's
    refusal (a capture, say) is what the ledger records."""
    alias = get(store, name, at)
    if alias is None:
        raise Refused(f"alias {name} is not registered")
    if alias.status is AliasStatus.active:
        return alias
    if alias.status is AliasStatus.pending:
        raise Refused(
            f"alias {name} is not approved ({len(alias.counted())} of "
            f"{alias.approvals_required} approvals)"
        )
    if alias.status is AliasStatus.expired:
        raise Refused(f"alias {name} expired on {alias.expires_at:%Y-%m-%d %H:%M}Z")
    raise Refused(f"alias {name} was {alias.status.value} on {alias.closed_at:%Y-%m-%d}")


# --------------------------------------------------------------------- decisions


class _Refusal(Exception):
    """Raised inside a transaction so it rolls back; recorded and re-raised as Refused."""


def _refuse(store: Store, actor: Identity, name: str | None, reason: str) -> Refused:
    store.ledger.record(
        LedgerAction.denied_alias, "refused", actor=actor.user.name, subject=name, details={"reason": reason}
    )
    return Refused(reason)


def validate(
    name: str, platform: str, handle: str, reason: str, days: int, max_days: int
) -> list[str]:
    """Every problem with an alias request (empty when it is acceptable)."""
    problems = []
    if len(name) > MAX_NAME or not ALIAS_NAME.match(name):
        problems.append(
            f"alias names are lower-case slugs of at most {MAX_NAME} characters"
            " (letters, digits, single hyphens), e.g. river-watcher"
        )
    elif name in RESERVED_NAMES:
        problems.append(f"{name!r} is not an alias name: it names a page of the web application")
    if not PLATFORM.match(platform):
        problems.append("--platform is one short lower-case word, e.g. mastodon")
    if not handle or len(handle) > MAX_HANDLE or not handle.isprintable():
        problems.append(
            f"--handle is the alias's user name: 1 to {MAX_HANDLE} printable characters"
        )
    if len(reason) < MIN_REASON or len(reason) > MAX_REASON:
        problems.append(
            f"--reason must say why the alias is needed: {MIN_REASON} to {MAX_REASON} characters"
        )
    if not 1 <= days <= max_days:
        problems.append(f"--days must be 1 to {max_days}, not {days}")
    return problems


def request(
    store: Store,
    actor: Actor,
    name: str,
    *,
    platform: str,
    handle: str,
    reason: str,
    days: int | None = None,
) -> Alias:
    """An investigator asks for an alias; it is pending until enough supervisors approve."""
    why = refusal(actor, "request")
    if why is not None:
        raise _refuse(store, actor, name, why)
    policy = store.config.policy
    handle, reason = handle.strip(), " ".join(reason.split())
    days = policy.alias_max_days if days is None else days
    problems = validate(name, platform, handle, reason, days, policy.alias_max_days)
    if problems:
        raise UsageError("; ".join(problems))
    at = now()
    with store.ledger.transaction() as db:
        if db.execute(select(requests.c.name).where(requests.c.name == name)).first():
            raise UsageError(f"alias {name} already exists: alias names are never reused")
        db.execute(
            insert(requests).values(
                name=name, platform=platform, handle=handle, reason=reason, days=days,
                requested_by=actor.user.name, requested_at=iso(at),
            )
        )  # fmt: skip
        terms = alias_terms(name, platform, handle, reason, days, actor.user.name, at)
        store.ledger.record_in(
            db, LedgerAction.alias_request, actor=actor.user.name, subject=name,
            details={**terms, "approvals_required": policy.alias_approvals},
        )  # fmt: skip
    alias = get(store, name)
    assert alias is not None
    return alias


def _for_decision(store: Store, name: str) -> Alias:
    alias = get(store, name)
    if alias is None:
        raise UsageError(f"unknown alias {name!r}")
    return alias


DECISIONS = ("approve", "deny", "retire")
OPEN_TO: dict[str, tuple[AliasStatus, ...]] = {
    "approve": (AliasStatus.pending,),
    "deny": (AliasStatus.pending,),
    "retire": (AliasStatus.pending, AliasStatus.active, AliasStatus.expired),
}
"""The states in which an alias can take each decision."""


def refusal(who: Identity, decision: str, alias: Alias | None = None) -> str | None:
    """Why `who` may not take `decision` ("request", or "approve", "deny", "retire" on `alias`),
    judged from their role and the alias's rows alone (no key needed); None when they may."""
    me, role = who.user.name, who.user.role
    if decision == "request":
        if role not in REQUESTERS:
            return f"role {role.value!r} may not request an alias: an investigator requests it"
        return None
    assert alias is not None, "a decision is taken on an alias"
    name, supervisor = alias.name, role in DECIDERS
    if decision == "retire":
        if not supervisor and alias.requested_by != me:
            return (
                f"role {role.value!r} may not retire alias {name}:"
                " a supervisor or its requester may"
            )
        return None
    if alias.requested_by == me:
        return f"separation of duties: {me} requested alias {name} and may not {decision} it"
    if decision == "deny":
        return None if supervisor else f"role {role.value!r} may not deny an alias"
    if not supervisor:
        return (
            f"role {role.value!r} may not approve an alias:"
            f" {alias.approvals_required} different supervisors must"
        )
    if any(a.approver == me for a in alias.approvals):
        return f"{me} has already approved alias {name}: another supervisor must approve it"
    return None


def check(store: Store, who: Identity, decision: str, name: str | None = None) -> Alias | None:
    """Refuse, and record as `denied.alias`, what `refusal` refuses, before any key is unlocked
    (the web application asks this before the passphrase; the decision itself asks again).
    Returns the alias decided on (None for a request)."""
    alias = None if decision == "request" else _for_decision(store, name or "")
    why = refusal(who, decision, alias)
    if why is not None:
        raise _refuse(store, who, name, why)
    return alias


def offered(who: Identity, alias: Alias) -> list[str]:
    """The decisions `who` may take on `alias` now (for a page's forms; each is checked again)."""
    return [d for d in DECISIONS if alias.status in OPEN_TO[d] and refusal(who, d, alias) is None]


def approve(store: Store, actor: Actor, name: str) -> Alias:
    """A supervisor other than the requester, who has not approved it yet, signs an approval."""
    me = actor.user.name
    try:
        with store.ledger.transaction() as db:
            alias = _for_decision(store, name)
            why = refusal(actor, "approve", alias)
            if why is not None:
                raise _Refusal(why)
            if alias.status not in OPEN_TO["approve"]:
                raise UsageError(
                    f"alias {name} is {alias.status.value}; only a pending alias can be approved"
                )
            at = now()
            signature = keys.b64(keys.sign(actor.key, approval_payload(alias.terms(), me, at)))
            db.execute(
                insert(decided).values(
                    alias=name, decision="approve", actor=me, at=iso(at),
                    key_fingerprint=actor.user.key_fingerprint, signature=signature,
                )
            )  # fmt: skip
            after = _for_decision(store, name)
            store.ledger.record_in(
                db, LedgerAction.alias_approve, actor=me, subject=name,
                details={
                    "approvals": len(after.counted()), "required": after.approvals_required,
                    "active": after.status is AliasStatus.active,
                    "expires_at": iso(after.expires_at) if after.expires_at else None,
                    "key_fingerprint": actor.user.key_fingerprint, "signature": signature,
                },
            )  # fmt: skip
    except _Refusal as exc:
        raise _refuse(store, actor, name, str(exc)) from None
    return after


def deny(store: Store, actor: Actor, name: str, reason: str) -> Alias:
    """A supervisor other than the requester denies a pending alias."""
    return _close(store, actor, name, reason, "deny")


def retire(store: Store, actor: Actor, name: str, reason: str) -> Alias:
    """A supervisor, or the alias's requester, retires it: it is never active again."""
    return _close(store, actor, name, reason, "retire")


CLOSING = {"deny": LedgerAction.alias_deny, "retire": LedgerAction.alias_retire}


def _close(store: Store, actor: Actor, name: str, reason: str, decision: str) -> Alias:
    reason = " ".join(reason.split())
    if not reason:
        raise UsageError("--reason must not be empty")
    me = actor.user.name
    try:
        with store.ledger.transaction() as db:
            alias = _for_decision(store, name)
            why = refusal(actor, decision, alias)
            if why is not None:
                raise _Refusal(why)
            if alias.status not in OPEN_TO[decision]:
                raise UsageError(f"alias {name} is {alias.status.value}: it cannot be {decision}d")
            db.execute(
                insert(decided).values(
                    alias=name, decision=decision, actor=me, at=iso(now()), reason=reason
                )
            )
            store.ledger.record_in(
                db, CLOSING[decision], actor=me, subject=name,
                details={"reason": reason, "status_before": alias.status.value},
            )  # fmt: skip
    except _Refusal as exc:
        raise _refuse(store, actor, name, str(exc)) from None
    return _for_decision(store, name)


# --------------------------------------------------------------------- the login profile


def load_profile(path: Path) -> dict[str, Any]:
    """Read and check a Playwright storage-state JSON file (`--profile`).

    Returns `{"cookies": [...], "origins": [...]}` with only the fields Playwright reads.
    Anything else is a one-line UsageError naming the problem (never a value from the file:
    they are credentials). Files over 5 MB are refused before they are read.
    """
    where = f"--profile {path}"
    raw = files.read_regular(path, "--profile", PROFILE_MAX_BYTES)
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise UsageError(f"{where}: not JSON; a Playwright storage state is expected") from None
    try:
        return _storage_state(data)
    except _ProfileError as exc:
        raise UsageError(f"{where}: {exc}") from None


class _ProfileError(Exception):
    pass


def _storage_state(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise _ProfileError("not a storage state (a JSON object with cookies and origins)")
    unknown = sorted(set(data) - {"cookies", "origins"})
    if unknown:
        raise _ProfileError(f"unexpected field {str(unknown[0])[:40]!r}: only cookies and origins")
    cookies, origins = data.get("cookies", []), data.get("origins", [])
    if not isinstance(cookies, list) or not isinstance(origins, list):
        raise _ProfileError("cookies and origins must be lists")
    if len(cookies) > PROFILE_MAX_COOKIES or len(origins) > PROFILE_MAX_ORIGINS:
        raise _ProfileError(
            f"too many entries (at most {PROFILE_MAX_COOKIES} cookies, {PROFILE_MAX_ORIGINS} origins)"
        )
    state = {
        "cookies": [_cookie(i, c) for i, c in enumerate(cookies, start=1)],
        "origins": [_origin(i, o) for i, o in enumerate(origins, start=1)],
    }
    if not state["cookies"] and not any(o["localStorage"] for o in state["origins"]):
        raise _ProfileError("no cookies and no localStorage: nothing to log in with")
    return state


def _label(index: int, name: object) -> str:
    return f"#{index} ({str(name)[:40]!r})" if isinstance(name, str) else f"#{index}"


def _cookie(index: int, cookie: Any) -> dict[str, Any]:
    if not isinstance(cookie, dict):
        raise _ProfileError(f"cookie #{index} is not an object")
    label = f"cookie {_label(index, cookie.get('name'))}"
    name, value, domain = cookie.get("name"), cookie.get("value"), cookie.get("domain")
    if not isinstance(name, str) or not name or not name.isprintable():
        raise _ProfileError(f"{label}: name must be a non-empty string")
    if not isinstance(value, str):
        raise _ProfileError(f"{label}: value must be a string")
    if not isinstance(domain, str) or not domain or not domain.isprintable():
        raise _ProfileError(f"{label}: domain must be a non-empty string")
    path = cookie.get("path", "/")
    expires = cookie.get("expires", -1)
    http_only, secure = cookie.get("httpOnly", False), cookie.get("secure", False)
    same_site = cookie.get("sameSite", "Lax")
    if not isinstance(path, str) or not path.startswith("/"):
        raise _ProfileError(f"{label}: path must start with /")
    if (
        isinstance(expires, bool)
        or not isinstance(expires, int | float)
        or not math.isfinite(expires)
    ):
        raise _ProfileError(f"{label}: expires must be a number (-1 for a session cookie)")
    if not isinstance(http_only, bool) or not isinstance(secure, bool):
        raise _ProfileError(f"{label}: httpOnly and secure must be true or false")
    if same_site not in SAME_SITE:
        raise _ProfileError(f"{label}: sameSite must be one of {', '.join(SAME_SITE)}")
    return {
        "name": name, "value": value, "domain": domain, "path": path, "expires": expires,
        "httpOnly": http_only, "secure": secure, "sameSite": same_site,
    }  # fmt: skip


def _origin(index: int, origin: Any) -> dict[str, Any]:
    if not isinstance(origin, dict):
        raise _ProfileError(f"origin #{index} is not an object")
    url = origin.get("origin")
    if not isinstance(url, str) or not re.match(r"^https?://[^/\s]+$", url):
        raise _ProfileError(f"origin #{index}: origin must be an http(s) scheme://host[:port]")
    entries = origin.get("localStorage", [])
    if not isinstance(entries, list) or len(entries) > PROFILE_MAX_ENTRIES:
        raise _ProfileError(
            f"origin #{index}: localStorage must be a list of at most {PROFILE_MAX_ENTRIES}"
        )
    storage = []
    for n, entry in enumerate(entries, start=1):
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("name"), str)
            or not isinstance(entry.get("value"), str)
        ):
            raise _ProfileError(
                f"origin #{index}: localStorage entry #{n} needs a string name and value"
            )
        storage.append({"name": entry["name"], "value": entry["value"]})
    return {"origin": url, "localStorage": storage}
