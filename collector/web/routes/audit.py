"""The audit report (auditors, supervisors, admins) as `collector audit report` makes it,
recorded as `audit.report` with the passphrase. The HTML report is shown as it is, under a
`sandbox` policy (an opaque origin, no script, nothing fetched; its values are escaped by
the report itself), or downloaded; JSON, Markdown and CSV are downloads."""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from collector.disclosure import audit
from collector.disclosure.audit.run import require_auditor
from collector.errors import Refused, UsageError
from collector.store.store import Identity, Store
from collector.web.context import opened, proven, signed_in
from collector.web.forms import checked, text
from collector.web.render import page
from collector.web.settings import DOWNLOAD_CSP, REPORT_CSP

MEDIA = {"html": "text/html", "json": "application/json", "md": "text/markdown",
         "csv": "text/csv"}  # fmt: skip


def _page(request: Request, who: Identity, *, status: int = 200, error: str | None = None,
          values: dict[str, str] | None = None) -> Response:  # fmt: skip
    return page(request, "audit.html", who, status=status, error=error, values=values or {},
                formats=audit.FORMATS)  # fmt: skip


def show(request: Request) -> Response:
    with opened(request) as store:
        who = signed_in(store, request)
        require_auditor(store, who)  # anyone else: refused, recorded as denied.audit
        return _page(request, who)


def _report(request: Request, store: Store, who: Identity, form: FormData,
            values: dict[str, str]) -> Response:  # fmt: skip
    inline = values["disposition"] == "inline"
    fmt = "html" if inline else values["format"]
    start = audit.parse_date(values["from"].strip() or None, "from")
    end = audit.parse_date(values["to"].strip() or None, "to")
    actor = proven(store, request, text(form, "passphrase"))
    run = audit.run_report(store, actor, start=start, end=end, fmt=fmt)
    period = f"{start or 'start'}_{end or 'now'}"
    name = f"audit-report-{period}.{fmt}"
    disposition = "inline" if inline else f'attachment; filename="{name}"'
    return Response(run.text.encode("utf-8"), media_type=f"{MEDIA[fmt]}; charset=utf-8", headers={
        "Content-Disposition": disposition,
        "Content-Security-Policy": REPORT_CSP if inline else DOWNLOAD_CSP,
        "X-Report-SHA256": run.sha256,
    })  # fmt: skip


def report(request: Request, form: FormData) -> Response:
    values = {name: text(form, name) for name in ("from", "to", "format", "disposition")}
    with opened(request) as store:
        who = signed_in(store, request)
        require_auditor(store, who)  # refused before any passphrase
        try:
            return _report(request, store, who, form, values)
        except (UsageError, Refused) as exc:
            status = 403 if isinstance(exc, Refused) else 400
            return _page(request, who, status=status, error=str(exc), values=values)


ROUTES: list[BaseRoute] = [
    Route("/audit", show, methods=["GET"]),
    Route("/audit", checked(report), methods=["POST"]),
]
