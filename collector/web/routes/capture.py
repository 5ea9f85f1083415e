"""Capture: the form that signs a batch of capture requests under an approved authorization
(`collector.web.capturing`, as `collector capture --from`), the exigent capture form, and each
batch's progress."""

from __future__ import annotations

from collections.abc import Callable

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from collector import batch
from collector.errors import Refused, UsageError
from collector.policy import exigent
from collector.store.roles import Action
from collector.store.store import Identity, Store
from collector.web import capturing, progress, runner
from collector.web.context import config_of, opened, proven, signed_in
from collector.web.forms import checked, text
from collector.web.render import page
from collector.web.routes import watches

FIELDS = ("auth", "urls", "note", "concurrency")
EXIGENT_FIELDS = ("exigent_url", "case", "facts")
SOURCE = "web form"
"""What a batch started here records as its list's source (a file name for the command line)."""


def _form(request: Request, store: Store, who: Identity, status: int = 200,
          values: dict[str, str] | None = None, error: str | None = None) -> Response:  # fmt: skip
    return page(request, "capture.html", who, status=status, auths=progress.usable(store, who), values=values or {},
                error=error, queued=store.config.ledger.url is not None, max_concurrency=batch.MAX_CONCURRENCY,
                batches=progress.batches_of(store, who.user.name))  # fmt: skip


def form(request: Request) -> Response:
    with opened(request) as store:
        who = signed_in(store, request)
        store.require(who, Action.capture)
        return _form(request, store, who)


def _items(form: FormData) -> tuple[list[batch.Item], int]:
    """The list as `collector capture --from` reads a file; the form's note for lines without one."""
    items = batch.parse_list(text(form, "urls"), "the list of URLs")
    note = " ".join(text(form, "note").split()) or None
    given = text(form, "concurrency").strip() or "1"
    if not given.isdigit() or not 1 <= int(given) <= batch.MAX_CONCURRENCY:
        raise UsageError(f"concurrency must be between 1 and {batch.MAX_CONCURRENCY}")
    return [batch.Item(i.url, i.note or note) for i in items], int(given)


def _signing(sign: Callable[[Request, Store, FormData], str],
             fields: tuple[str, ...]) -> Callable[[Request, FormData], Response]:  # fmt: skip
    """A capture form's handler: the role first (refused before any passphrase), then `sign`,
    which returns the batch's id; a refusal or bad input shows the form again with the reason."""

    def handler(request: Request, form: FormData) -> Response:
        values = {name: text(form, name) for name in fields}
        with opened(request) as store:
            who = signed_in(store, request)
            store.require(who, Action.capture)
            try:
                batch_id = sign(request, store, form)
            except (UsageError, Refused) as exc:
                status = 403 if isinstance(exc, Refused) else 400
                return _form(request, store, who, status, values, str(exc))
        return RedirectResponse(f"/capture/{batch_id}", status_code=303)

    return handler


def _sign(request: Request, store: Store, form: FormData) -> str:
    """Record the batch and sign each URL's capture request (each judged by the gate now); queue
    them (agency) or hand them to the local capture system (workstation). The batch's id."""
    items, concurrency = _items(form)
    auth_id = text(form, "auth").strip()
    if not auth_id:
        raise UsageError("choose the authorization every URL is judged against")
    capturing.check_runnable(store)
    actor = proven(store, request, text(form, "passphrase"))
    return capturing.start(store, config_of(request).store_path, actor, items, auth_id, concurrency, SOURCE)


def _sign_exigent(request: Request, store: Store, form: FormData) -> str:
    """An exigent capture (`collector capture URL --exigent --case C --facts …`): the
    investigator's signed exigent authorization for this one URL, made now, then its capture
    request signed and captured as any other; a supervisor's review is owed."""
    url, case, facts = (text(form, n).strip() for n in EXIGENT_FIELDS)
    if not (url and case and facts):
        raise UsageError("an exigent capture needs its URL, the case number and the facts of the threat")
    capturing.check_runnable(store)
    actor = proven(store, request, text(form, "passphrase"))
    auth_id = exigent.create(store, actor, url, case, facts).id
    return capturing.start(store, config_of(request).store_path, actor, [batch.Item(url, "exigent capture")],
                           auth_id, 1, SOURCE)  # fmt: skip


def batch_page(request: Request) -> Response:
    batch_id = request.path_params["batch_id"]
    with opened(request) as store:
        who = signed_in(store, request)
        store.require(who, Action.read, subject=batch_id)
        view = progress.batch_view(store, who, batch_id)
        stalled = not view.finished and not view.queued_for_workers and not runner.running(batch_id)
        return page(request, "batch.html", who, batch=view, stalled=stalled)


ROUTES: list[BaseRoute] = [
    Route("/capture", form, methods=["GET"]),
    Route("/capture", checked(_signing(_sign, FIELDS)), methods=["POST"]),
    Route("/capture/exigent", checked(_signing(_sign_exigent, EXIGENT_FIELDS)), methods=["POST"]),
    Route("/capture/{batch_id}", batch_page, methods=["GET"]),
    *watches.ROUTES,
]
