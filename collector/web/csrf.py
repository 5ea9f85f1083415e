"""CSRF tokens: one per session, derived from its id with the application's key (so nothing
more is stored), put in every form and checked on every POST."""

from __future__ import annotations

import hashlib
import hmac

FIELD = "csrf_token"


def token(secret: bytes, sid: str) -> str:
    return hmac.new(secret, b"csrf:" + sid.encode(), hashlib.sha256).hexdigest()


def valid(secret: bytes, sid: str, given: object) -> bool:
    return isinstance(given, str) and hmac.compare_digest(given, token(secret, sid))
