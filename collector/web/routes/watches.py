"""Watches: the list, one watch's timeline of runs and changes (`collector watch show`), starting
a watch (`collector watch URL --auth ID --every … [--until …]`) and stopping one, each signed
with the passphrase given in the form. The runs are captured as on the command line: by
`collector watch run` on a workstation, by the capture workers on an agency store."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from collector.errors import Refused, UsageError
from collector.store.model import Role
from collector.store.roles import Action
from collector.store.store import Identity, Store
from collector.watch import timeline, watches
from collector.web import progress
from collector.web.context import opened, proven, signed_in
from collector.web.forms import checked, text
from collector.web.render import page

FIELDS = ("url", "auth", "every", "until", "note")
UNTIL_FORMATS = ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d")
"""Those of `watch --until`, and the value of a date-and-time field."""


def _listing(request: Request, store: Store, who: Identity, status: int = 200,
             values: dict[str, str] | None = None, error: str | None = None) -> Response:  # fmt: skip
    return page(request, "watches.html", who, status=status, rows=timeline.summaries(store, who),
                auths=progress.usable(store, who), values=values or {"every": "6h"}, error=error,
                queued=store.config.ledger.url is not None)  # fmt: skip


def listing(request: Request) -> Response:
    with opened(request) as store:
        who = signed_in(store, request)
        return _listing(request, store, who)


def _until(value: str) -> datetime | None:
    value = value.strip()
    if not value:
        return None
    for fmt in UNTIL_FORMATS:
        try:
            found = datetime.strptime(value, fmt)
        except ValueError:
            continue
        return found.replace(tzinfo=UTC) if found.tzinfo is None else found
    raise UsageError(f"until {value!r}: a date (2026-12-31) or a date and time (2026-12-31T18:00), UTC")


def start(request: Request, form: FormData) -> Response:
    values = {name: text(form, name) for name in FIELDS}
    with opened(request) as store:
        who = signed_in(store, request)
        store.require(who, Action.capture)  # refused before any passphrase
        try:
            every_s = watches.parse_every(values["every"])
            until = _until(values["until"])
            url, auth_id = values["url"].strip(), values["auth"].strip() or None
            if not url:
                raise UsageError("name the page to watch")
            actor = proven(store, request, text(form, "passphrase"))
            note = " ".join(values["note"].split()) or None
            watch = watches.start(store, actor, url, auth_id, every_s, until, note)
        except (UsageError, Refused) as exc:
            status = 403 if isinstance(exc, Refused) else 400
            return _listing(request, store, who, status, values, str(exc))
    return RedirectResponse(f"/watches/{watch.id}", status_code=303)


def _detail(request: Request, store: Store, who: Identity, watch_id: str, status: int = 200,
            error: str | None = None) -> Response:  # fmt: skip
    shown = timeline.timeline(store, who, watch_id)
    runs = {r.number: r.bundle_id for r in watches.recorded(store, watch_id).runs}
    may_stop = who.user.name == shown.requested_by or who.user.role is Role.supervisor
    return page(request, "watch.html", who, status=status, watch=shown, runs=runs, may_stop=may_stop,
                error=error)  # fmt: skip


def detail(request: Request) -> Response:
    with opened(request) as store:
        who = signed_in(store, request)
        return _detail(request, store, who, request.path_params["watch_id"])


def stop(request: Request, form: FormData) -> Response:
    watch_id = request.path_params["watch_id"]
    with opened(request) as store:
        who = signed_in(store, request)
        store.require(who, Action.read, subject=watch_id)
        try:
            reason = " ".join(text(form, "reason").split())
            if not reason:
                raise UsageError("say why the watch stops")
            actor = proven(store, request, text(form, "passphrase"))
            timeline.stop(store, actor, watch_id, reason)
        except (UsageError, Refused) as exc:
            status = 403 if isinstance(exc, Refused) else 400
            return _detail(request, store, who, watch_id, status, str(exc))
    return RedirectResponse(f"/watches/{watch_id}", status_code=303)


ROUTES: list[BaseRoute] = [
    Route("/watches", listing, methods=["GET"]),
    Route("/watches", checked(start), methods=["POST"]),
    Route("/watches/{watch_id}", detail, methods=["GET"]),
    Route("/watches/{watch_id}/stop", checked(stop), methods=["POST"]),
]
