"""Every POST goes through `checked`: the form is read, its CSRF token checked (a missing or
wrong token is a 403 and a `denied.request` row in the ledger), then the handler runs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from collector.store.actions import LedgerAction
from collector.web import csrf
from collector.web.context import config_of, opened, session_of
from collector.web.render import page

FormHandler = Callable[[Request, FormData], Response]
MAX_FIELDS = 60


def text(form: FormData, name: str) -> str:
    """A text field's value ('' when absent; a file where text was expected is refused)."""
    value = form.get(name, "")
    return value if isinstance(value, str) else ""


def _record_refusal(request: Request, reason: str) -> None:
    with opened(request) as store:
        store.ledger.record(
            LedgerAction.denied_request,
            "refused",
            actor=session_of(request).user,
            subject=request.url.path,
            details={"reason": reason, "method": request.method},
        )


def checked(handler: FormHandler) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        form = await request.form(max_files=0, max_fields=MAX_FIELDS)
        given = form.get(csrf.FIELD)
        if not csrf.valid(config_of(request).secret, session_of(request).sid, given):
            reason = "form posted without its CSRF token" if given is None else "wrong CSRF token"
            await run_in_threadpool(_record_refusal, request, reason)
            return page(request, "problem.html", status=403, title="Refused",
                        message=f"Refused: {reason}. Reload the page and try again.")  # fmt: skip
        return await run_in_threadpool(handler, request, form)

    return endpoint
