"""The session cookie: who is logged in, a random session id and times, signed with the
application's key. It holds nothing secret: no passphrase, no key."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import UTC, datetime

from pydantic import BaseModel, ValidationError

from collector.web.settings import IDLE_TIMEOUT, MAX_SESSION


class Session(BaseModel):
    """One browser's session; `user` is None before the log-in."""

    user: str | None = None
    sid: str
    issued_at: datetime
    seen_at: datetime
    ended: str | None = None
    """Why the previous session ended, shown once on the log-in page (not stored)."""

    def touched(self, at: datetime) -> Session:
        return self.model_copy(update={"seen_at": at, "ended": None})


def now() -> datetime:
    return datetime.now(UTC)


def fresh(user: str | None = None, ended: str | None = None) -> Session:
    """A new session with a new id: at the log-in, the log-out, and for a new visitor."""
    at = now()
    return Session(user=user, sid=secrets.token_urlsafe(24), issued_at=at, seen_at=at, ended=ended)


def local_path(wanted: str | None) -> str:
    """A path of this site to return to after the log-in; anything else (another host, `//x`,
    `/\\x` that browsers read as `//x`, control characters) is the dashboard."""
    if (
        not wanted
        or not wanted.startswith("/")
        or wanted[1:2] in ("/", "\\")
        or any(ord(c) < 0x20 or c == "\\" for c in wanted)
        or wanted in ("/login", "/logout")
    ):
        return "/"
    return wanted


def _mac(secret: bytes, payload: bytes) -> str:
    return base64.urlsafe_b64encode(hmac.new(secret, payload, hashlib.sha256).digest()).decode()


def seal(session: Session, secret: bytes) -> str:
    payload = session.model_dump_json(exclude={"ended"}).encode()
    return base64.urlsafe_b64encode(payload).decode() + "." + _mac(secret, payload)


def unseal(cookie: str | None, secret: bytes, at: datetime) -> Session:
    """The session the cookie holds; a fresh one when it is missing, forged or expired."""
    if not cookie or "." not in cookie:
        return fresh()
    encoded, mac = cookie.rsplit(".", 1)
    try:
        payload = base64.urlsafe_b64decode(encoded.encode())
    except ValueError:
        return fresh()
    if not hmac.compare_digest(mac, _mac(secret, payload)):
        return fresh()
    try:
        session = Session.model_validate_json(payload)
    except ValidationError:
        return fresh()
    if session.user is not None and at - session.seen_at > IDLE_TIMEOUT:
        return fresh(ended=f"your session ended after {IDLE_TIMEOUT.seconds // 60} minutes idle")
    if session.user is not None and at - session.issued_at > MAX_SESSION:
        return fresh(ended="your session reached its longest allowed time")
    return session
