"""Typed errors become plain pages: refused 403, bad input 400, purged 410, others 500; a
request without a logged-in user gets the log-in page."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from collector.errors import CollectorError, Refused, UsageError
from collector.store.tombstones import BundlePurged
from collector.web import sessions
from collector.web.context import NotSignedIn, session_of
from collector.web.render import page

STATUS = ((Refused, 403), (UsageError, 400), (BundlePurged, 410))


def status_of(exc: CollectorError) -> int:
    return next((code for kind, code in STATUS if isinstance(exc, kind)), 500)


async def collector_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, CollectorError)
    code = status_of(exc)
    title = {403: "Refused", 400: "Not accepted", 410: "Purged"}.get(code, "Failed")
    return page(request, "problem.html", status=code, title=title, message=str(exc))


async def not_signed_in(request: Request, exc: Exception) -> Response:
    return login_page(request, status=401)


def login_page(request: Request, *, status: int = 200, error: str | None = None,
               next_path: str | None = None) -> Response:  # fmt: skip
    """The log-in form; it returns to the page asked for (a path of this site only)."""
    safe = sessions.local_path(next_path if next_path is not None else request.url.path)
    return page(request, "login.html", status=status, error=error, next_path=safe,
                ended=session_of(request).ended)  # fmt: skip


HANDLERS: dict[type[Exception] | int, object] = {
    CollectorError: collector_error,
    NotSignedIn: not_signed_in,
}
