"""Per-user API tokens for the web application's JSON API: scoped, expiring, revocable.

A token is shown once, when it is made; the ledger keeps only its SHA-256. Making one and
revoking one are the user's own signed acts (`token.created`, `token.revoked`, with the
passphrase), and both tables are append-only: a revocation is a row of its own. A token
never gives more than its user's role: each scope is a row of the permission matrix, checked
with `Store.require` when the token is made and again on every call.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, insert, select

from collector.errors import UsageError
from collector.evidence.model import Model
from collector.store import schema
from collector.store.actions import LedgerAction
from collector.store.ledger import iso, now
from collector.store.roles import Action
from collector.store.store import Actor, Store

SCOPES: dict[str, Action] = {"read": Action.read, "verify": Action.verify, "capture": Action.capture}
"""What a token may be used for, each the permission-matrix row it needs."""
DEFAULT_DAYS = 30
MAX_DAYS = 90
PREFIX = "ctk_"
"""Every token starts with this, so a leaked one is easy to recognise in logs and code."""

TokenState = Literal["active", "expired", "revoked"]


class ApiToken(Model):
    id: str
    user: str
    label: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None
    revoked_by: str | None = None

    def state(self, at: datetime | None = None) -> TokenState:
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if (at or now()) >= self.expires_at else "active"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _query() -> Select[Any]:
    t, r = schema.api_tokens, schema.api_token_revocations
    return select(t, r.c.revoked_at, r.c.revoked_by).join_from(
        t, r, t.c.id == r.c.token_id, isouter=True
    )


def _tokens(store: Store, condition: ColumnElement[bool]) -> list[ApiToken]:
    t = schema.api_tokens
    rows = store.ledger.rows(_query().where(condition).order_by(t.c.created_at, t.c.id))
    return [
        ApiToken(
            id=r["id"], user=r["user"], label=r["label"], scopes=str(r["scopes"]).split(),
            created_at=datetime.fromisoformat(r["created_at"]),
            expires_at=datetime.fromisoformat(r["expires_at"]),
            revoked_at=datetime.fromisoformat(r["revoked_at"]) if r["revoked_at"] else None,
            revoked_by=r["revoked_by"],
        )
        for r in rows
    ]


def tokens_of(store: Store, user: str) -> list[ApiToken]:
    """A user's tokens, oldest first, whatever their state."""
    return _tokens(store, schema.api_tokens.c.user == user)


def find(store: Store, token_id: str) -> ApiToken | None:
    found = _tokens(store, schema.api_tokens.c.id == token_id)
    return found[0] if found else None


def presented(store: Store, token: str) -> ApiToken | None:
    """The token a caller presented, by its SHA-256 (None: no such token)."""
    if not token.startswith(PREFIX) or len(token) > 200:
        return None
    found = _tokens(store, schema.api_tokens.c.token_sha256 == digest(token))
    return found[0] if found else None


def create(store: Store, actor: Actor, *, label: str, scopes: list[str],
           days: int = DEFAULT_DAYS) -> tuple[ApiToken, str]:  # fmt: skip
    """Make a token for the actor; returns it and the token itself (shown once, never kept).
    A scope the actor's role does not allow is refused and recorded like any other attempt."""
    label = " ".join(label.split())
    if not 1 <= len(label) <= 80:
        raise UsageError("a token's label is 1 to 80 characters: what it is for")
    wanted = sorted(set(scopes))
    unknown = [s for s in wanted if s not in SCOPES]
    if not wanted or unknown:
        raise UsageError(f"scopes are one or more of {', '.join(SCOPES)}"
                         + (f", not {', '.join(map(repr, unknown))}" if unknown else ""))  # fmt: skip
    if not 1 <= days <= MAX_DAYS:
        raise UsageError(f"a token lasts 1 to {MAX_DAYS} days")
    for scope in wanted:
        store.require(actor, SCOPES[scope], subject=f"token scope {scope}")
    token = PREFIX + secrets.token_urlsafe(32)
    made = now().replace(microsecond=0)
    entry = ApiToken(id="T-" + secrets.token_hex(5).upper(), user=actor.user.name, label=label,
                     scopes=wanted, created_at=made, expires_at=made + timedelta(days=days))  # fmt: skip
    with store.ledger.transaction() as db:
        event = store.ledger.record_in(
            db, LedgerAction.token_created, actor=actor.user.name, subject=entry.id,
            details={"label": label, "scopes": wanted, "expires_at": iso(entry.expires_at)},
        )  # fmt: skip
        db.execute(insert(schema.api_tokens).values(
            id=entry.id, user=entry.user, label=label, scopes=" ".join(wanted),
            token_sha256=digest(token), created_at=iso(made), expires_at=iso(entry.expires_at),
            ledger_seq=event.seq,
        ))  # fmt: skip
    return entry, token


def revoke(store: Store, actor: Actor, token_id: str) -> ApiToken:
    """Revoke one of the actor's own tokens (from now on; it stays listed as revoked)."""
    found = find(store, token_id)
    if found is None or found.user != actor.user.name:
        raise UsageError(f"you have no API token {token_id!r}")
    if found.revoked_at is not None:
        raise UsageError(f"{token_id} was already revoked on {found.revoked_at:%Y-%m-%d %H:%M}Z")
    at = now()
    with store.ledger.transaction() as db:
        event = store.ledger.record_in(db, LedgerAction.token_revoked, actor=actor.user.name,
                                       subject=token_id, details={"label": found.label})  # fmt: skip
        db.execute(insert(schema.api_token_revocations).values(
            token_id=token_id, revoked_at=iso(at), revoked_by=actor.user.name, ledger_seq=event.seq,
        ))  # fmt: skip
    return found.model_copy(update={"revoked_at": at, "revoked_by": actor.user.name})
