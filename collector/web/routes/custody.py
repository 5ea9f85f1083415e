"""The bundle page's forms: custody transfer, legal hold and release, grade, purge request.
Each calls the function the command line calls (`custody transfer`, `hold`, `release`,
`grade`, `purge`) with the user's key, unlocked by the passphrase given in the form."""

from __future__ import annotations

from collections.abc import Callable

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from collector.errors import Refused, UsageError
from collector.policy import grading, retention
from collector.store import custody_log
from collector.store.roles import Action
from collector.store.store import Actor, Store
from collector.web.context import opened, proven, signed_in
from collector.web.forms import checked, text
from collector.web.routes.bundles import bundle_page

Act = Callable[[Store, Actor, str, FormData], object]


def _optional(form: FormData, name: str) -> str | None:
    value = text(form, name).strip()
    return value or None


def _acting(request: Request, form: FormData, act: Act, needs: Action | None = None) -> Response:
    """Check the role (when the permission matrix decides it, before any passphrase), prove the
    user with the passphrase, act; a refusal or bad input is shown on the bundle page."""
    bundle_id = request.path_params["bundle_id"]
    with opened(request) as store:
        who = signed_in(store, request)
        if needs is not None:
            store.require(who, needs, subject=bundle_id)
        try:
            actor = proven(store, request, text(form, "passphrase"))
            act(store, actor, bundle_id, form)
        except (UsageError, Refused) as exc:
            status = 403 if isinstance(exc, Refused) else 400
            return bundle_page(request, store, who, bundle_id, error=str(exc), status=status)
    return RedirectResponse(f"/bundles/{bundle_id}#custody", status_code=303)


def transfer(request: Request, form: FormData) -> Response:
    def act(store: Store, actor: Actor, bundle_id: str, form: FormData) -> object:
        return custody_log.transfer(store, actor, bundle_id, text(form, "to").strip(), text(form, "reason"))

    return _acting(request, form, act, Action.custody)


def hold(request: Request, form: FormData) -> Response:
    def act(store: Store, actor: Actor, bundle_id: str, form: FormData) -> object:
        return retention.hold(store, actor, bundle_id, text(form, "reason"))

    return _acting(request, form, act)


def release(request: Request, form: FormData) -> Response:
    def act(store: Store, actor: Actor, bundle_id: str, form: FormData) -> object:
        return retention.release(store, actor, bundle_id, text(form, "reason"))

    return _acting(request, form, act)


def grade(request: Request, form: FormData) -> Response:
    def act(store: Store, actor: Actor, bundle_id: str, form: FormData) -> object:
        return grading.grade(store, actor, bundle_id, scale_id=_optional(form, "scale"),
                             source=text(form, "source").strip(), content=text(form, "content").strip(),
                             handling=_optional(form, "handling"), note=_optional(form, "note"))  # fmt: skip

    return _acting(request, form, act, Action.grade)


def corroborate(request: Request, form: FormData) -> Response:
    def act(store: Store, actor: Actor, bundle_id: str, form: FormData) -> object:
        return grading.corroborate(store, actor, bundle_id, text(form, "other").strip(), text(form, "note"))

    return _acting(request, form, act, Action.grade)


def purge(request: Request, form: FormData) -> Response:
    def act(store: Store, actor: Actor, bundle_id: str, form: FormData) -> object:
        return retention.request_purge(store, actor, bundle_id, text(form, "reason"))

    return _acting(request, form, act)


def viewed(request: Request, form: FormData) -> Response:
    """A signed `viewed` custody event, as `collector show` records: the viewer's statement
    that they looked at the capture (the page itself records views as the store's rows)."""

    def act(store: Store, actor: Actor, bundle_id: str, form: FormData) -> object:
        from collector.evidence.custody import EventType
        from collector.policy.viewing import open_metadata

        open_metadata(store, actor, bundle_id)
        return custody_log.append(store, actor, bundle_id, EventType.viewed, {"what": "bundle page"})

    return _acting(request, form, act, Action.read)


def review(request: Request, form: FormData) -> Response:
    """The requester of a capture system's capture says they reviewed it (`custody review`)."""

    def act(store: Store, actor: Actor, bundle_id: str, form: FormData) -> object:
        return custody_log.review_as_requester(store, actor, bundle_id, _optional(form, "note"))

    return _acting(request, form, act, Action.custody)


ROUTES: list[BaseRoute] = [
    Route("/bundles/{bundle_id}/viewed", checked(viewed), methods=["POST"]),
    Route("/bundles/{bundle_id}/review", checked(review), methods=["POST"]),
    Route("/bundles/{bundle_id}/transfer", checked(transfer), methods=["POST"]),
    Route("/bundles/{bundle_id}/hold", checked(hold), methods=["POST"]),
    Route("/bundles/{bundle_id}/release", checked(release), methods=["POST"]),
    Route("/bundles/{bundle_id}/grade", checked(grade), methods=["POST"]),
    Route("/bundles/{bundle_id}/corroborate", checked(corroborate), methods=["POST"]),
    Route("/bundles/{bundle_id}/purge", checked(purge), methods=["POST"]),
]
