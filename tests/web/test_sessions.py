"""The session cookie without a browser: forged, idle and too old sessions are new sessions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from collector.web import csrf, sessions
from collector.web.settings import IDLE_TIMEOUT, MAX_SESSION

SECRET = b"k" * 32


def test_a_sealed_session_comes_back_unchanged() -> None:
    made = sessions.fresh("alice")
    assert sessions.unseal(sessions.seal(made, SECRET), SECRET, made.seen_at) == made


def test_a_forged_or_foreign_cookie_is_a_new_anonymous_session() -> None:
    made = sessions.fresh("alice")
    cookie = sessions.seal(made, SECRET)
    for bad in (cookie[:-2] + "AA", sessions.seal(made, b"other" * 8), "garbage", ""):
        found = sessions.unseal(bad, SECRET, made.seen_at)
        assert found.user is None and found.sid != made.sid


def test_an_idle_or_too_old_session_ends() -> None:
    made = sessions.fresh("alice")
    cookie = sessions.seal(made, SECRET)
    idle = sessions.unseal(cookie, SECRET, made.seen_at + IDLE_TIMEOUT + timedelta(seconds=1))
    assert idle.user is None and idle.ended and "idle" in idle.ended
    busy = made.model_copy(update={"seen_at": made.issued_at + MAX_SESSION})
    old = sessions.unseal(sessions.seal(busy, SECRET), SECRET, busy.seen_at + timedelta(seconds=5))
    assert old.user is None


def test_the_csrf_token_belongs_to_its_session() -> None:
    assert csrf.valid(SECRET, "sid-1", csrf.token(SECRET, "sid-1"))
    assert not csrf.valid(SECRET, "sid-2", csrf.token(SECRET, "sid-1"))
    assert not csrf.valid(SECRET, "sid-1", None)


def test_an_address_with_too_many_failed_log_ins_is_refused_for_the_window() -> None:
    from collector.web.throttle import FAILURES, WINDOW, AddressThrottle

    throttle, start = AddressThrottle(), datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    for n in range(FAILURES):
        assert not throttle.blocked("10.0.0.7", start + timedelta(seconds=n))
        throttle.failed("10.0.0.7", start + timedelta(seconds=n))
    assert throttle.blocked("10.0.0.7", start + timedelta(seconds=FAILURES))
    assert not throttle.blocked("10.0.0.8", start + timedelta(seconds=FAILURES))  # per address
    assert not throttle.blocked("10.0.0.7", start + WINDOW + timedelta(seconds=FAILURES))
