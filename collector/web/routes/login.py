"""Log-in and log-out. The passphrase unlocks the user's key once, to prove who they are; the
key is dropped with the request and the session remembers only the name."""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from collector.errors import Refused, UsageError
from collector.store.actions import LedgerAction
from collector.store.store import USER_NAME
from collector.web import sessions
from collector.web.context import opened, session_of
from collector.web.errors import login_page
from collector.web.forms import checked, text
from collector.web.throttle import AddressThrottle

REFUSED = ("Log-in refused: the user name or passphrase was not accepted, or there were too many "
           "wrong passphrases in a row (wait a little and try again).")  # fmt: skip


def show(request: Request) -> Response:
    if session_of(request).user is not None:
        return RedirectResponse("/", status_code=303)
    return login_page(request, next_path="/")


def log_in(request: Request, form: FormData) -> Response:
    name, passphrase = text(form, "user").strip(), text(form, "passphrase")
    next_path = text(form, "next") or "/"
    throttle: AddressThrottle = request.app.state.login_throttle
    address, at = request.client.host if request.client else "?", sessions.now()
    if throttle.blocked(address, at):
        with opened(request) as store:
            store.ledger.record(LedgerAction.auth_login, "refused", actor=name[:64] or None,
                                details={"reason": "too many failed log-ins from this address",
                                         "address": address})  # fmt: skip
        return login_page(request, status=429, error=REFUSED, next_path=next_path)
    if not USER_NAME.match(name) or not passphrase:
        throttle.failed(address, at)
        return login_page(request, status=401, error=REFUSED, next_path=next_path)
    with opened(request) as store:
        try:
            store.authenticate(name, passphrase)  # recorded when refused; throttled by the store
        except (Refused, UsageError):
            throttle.failed(address, at)
            return login_page(request, status=401, error=REFUSED, next_path=next_path)
    request.state.session = sessions.fresh(user=name)  # a new id: no session fixation
    return RedirectResponse(sessions.local_path(next_path), status_code=303)


def log_out(request: Request, form: FormData) -> Response:
    ended: set[str] = request.app.state.ended_sessions
    ended.add(session_of(request).sid)  # a copy of the old cookie is refused from now on
    request.state.session = sessions.fresh(ended="you have logged out")
    return login_page(request, next_path="/")


ROUTES: list[BaseRoute] = [
    Route("/login", show, methods=["GET"]),
    Route("/login", checked(log_in), methods=["POST"]),
    Route("/logout", checked(log_out), methods=["POST"]),
]
