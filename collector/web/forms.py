"""Every POST goes through `checked`: the form is read, its CSRF token checked (a missing or
wrong token is a 403 and a `denied.request` row in the ledger), then the handler runs.

Forms take no files unless their route says how many and how large (`checked(h, max_files=1,
max_bytes=…)`): such a request must state its length, and one longer than allowed is a 413
before its body is read."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import Response

from collector.errors import UsageError
from collector.evidence import files
from collector.store.actions import LedgerAction
from collector.web import csrf
from collector.web.context import config_of, opened, session_of
from collector.web.render import page

FormHandler = Callable[[Request, FormData], Response]
MAX_FIELDS = 60
FORM_OVERHEAD = 256 * 1024
"""What a form with a file may carry besides the file: its text fields and multipart framing."""


class Upload:
    """A file posted with a form: the name the browser gave it and its bytes."""

    def __init__(self, name: str, data: bytes) -> None:
        self.name, self.data = name, data


def text(form: FormData, name: str) -> str:
    """A text field's value ('' when absent; a file where text was expected is refused)."""
    value = form.get(name, "")
    return value if isinstance(value, str) else ""


def uploaded(form: FormData, name: str, max_bytes: int) -> Upload | None:
    """The file posted as `name` (None when no file was chosen); one larger than `max_bytes`
    is refused with a one-line UsageError. The name is the browser's, for messages only."""
    value = form.get(name)
    if not isinstance(value, UploadFile):
        return None
    value.file.seek(0)
    data = value.file.read(max_bytes + 1)
    filename = (value.filename or "").replace("\\", "/").rsplit("/", 1)[-1][:120]
    if not data and not filename:
        return None
    if len(data) > max_bytes:
        raise UsageError(f"{filename or name} is larger than {files.size_text(max_bytes)}")
    return Upload(filename or name, data)


def _record_refusal(request: Request, reason: str) -> None:
    with opened(request) as store:
        store.ledger.record(
            LedgerAction.denied_request,
            "refused",
            actor=session_of(request).user,
            subject=request.url.path,
            details={"reason": reason, "method": request.method},
        )


def _too_long(request: Request, max_bytes: int) -> str | None:
    stated = request.headers.get("content-length", "")
    if not stated.isdigit():
        return "a form with a file must state its length"
    if int(stated) > max_bytes + FORM_OVERHEAD:
        return f"the form is larger than {files.size_text(max_bytes)}"
    return None


def checked(handler: FormHandler, *, max_files: int = 0,
            max_bytes: int = 0) -> Callable[[Request], Awaitable[Response]]:  # fmt: skip
    async def endpoint(request: Request) -> Response:
        if max_files:
            problem = _too_long(request, max_bytes)
            if problem is not None:
                return page(request, "problem.html", status=413, title="Too large", message=f"Refused: {problem}.")
        form = await request.form(max_files=max_files, max_fields=MAX_FIELDS)
        given = form.get(csrf.FIELD)
        if not csrf.valid(config_of(request).secret, session_of(request).sid, given):
            reason = "form posted without its CSRF token" if given is None else "wrong CSRF token"
            await run_in_threadpool(_record_refusal, request, reason)
            return page(request, "problem.html", status=403, title="Refused",
                        message=f"Refused: {reason}. Reload the page and try again.")  # fmt: skip
        return await run_in_threadpool(handler, request, form)

    return endpoint
