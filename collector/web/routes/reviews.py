"""Reviews owed by supervisors (exigent captures, quarantined protected-content bundles) and
retention (reviews due, legal holds, purge requests and their approvals), through the functions
of `collector review`, `auth review`, `retention` and `purge`; every decision is signed with the
key the form's passphrase unlocks, and the two-person purge rule is the policy's own."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from collector.errors import Refused, UsageError
from collector.policy import exigent, protected, retention, reviews
from collector.policy.retention.model import HOLDERS, PURGE_APPROVERS, REVIEWERS
from collector.store.model import Authorization, BundleRow
from collector.store.roles import Action
from collector.store.store import Actor, Identity, Store
from collector.web.context import opened, proven, signed_in
from collector.web.forms import checked, text
from collector.web.render import page

Decide = Callable[[Store, Actor, FormData], object]
Again = Callable[[Store, Identity, str, int], Response]


def _signed(request: Request, form: FormData, decide: Decide, again: Again, back: str,
            needs: Action | None = None, subject: str | None = None) -> Response:  # fmt: skip
    with opened(request) as store:
        who = signed_in(store, request)
        if needs is not None:
            store.require(who, needs, subject=subject)  # refused before any passphrase
        try:
            actor = proven(store, request, text(form, "passphrase"))
            decide(store, actor, form)
        except (UsageError, Refused) as exc:
            status = 403 if isinstance(exc, Refused) else 400
            return again(store, who, str(exc), status)
    return RedirectResponse(back, status_code=303)


def _approve(form: FormData) -> bool:
    decision = text(form, "decision")
    if decision not in ("approve", "reject"):
        raise UsageError("choose approve or reject")
    return decision == "approve"


# --------------------------------------------------------------------- reviews owed


def _reviews_page(request: Request, store: Store, who: Identity, error: str | None = None,
                  status: int = 200) -> Response:  # fmt: skip
    owed = reviews.owed(store)
    rows = store.ledger.bundles()
    exigents: list[tuple[Authorization, Any, list[BundleRow]]] = []
    for item in owed:
        auth = store.ledger.authorization(item.id) if item.kind == "exigent" else None
        if auth is not None:
            exigents.append((auth, item.due, [r for r in rows if r.authorization_id == auth.id]))
    quarantined = [item for item in owed if item.kind == "protected"]
    return page(request, "reviews.html", who, status=status, exigents=exigents,
                quarantined=quarantined, error=error)  # fmt: skip


def reviews_page(request: Request) -> Response:
    with opened(request) as store:
        who = signed_in(store, request)
        store.require(who, Action.auth_decide)
        return _reviews_page(request, store, who)


def _again_reviews(request: Request) -> Again:
    return lambda store, who, error, status: _reviews_page(request, store, who, error, status)


def review_exigent(request: Request, form: FormData) -> Response:
    auth_id = request.path_params["auth_id"]

    def decide(store: Store, actor: Actor, form: FormData) -> object:
        return exigent.review(store, actor, auth_id, approve=_approve(form), reason=text(form, "reason"))

    return _signed(request, form, decide, _again_reviews(request), "/reviews", Action.auth_decide, auth_id)


def review_protected(request: Request, form: FormData) -> Response:
    bundle_id = request.path_params["bundle_id"]

    def decide(store: Store, actor: Actor, form: FormData) -> object:
        return protected.review(store, actor, bundle_id, approve=_approve(form),
                                nexus=text(form, "nexus"), reason=text(form, "reason"))  # fmt: skip

    return _signed(request, form, decide, _again_reviews(request), "/reviews", Action.auth_decide, bundle_id)


# --------------------------------------------------------------------- retention


def _as_of(request: Request) -> date:
    value = request.query_params.get("as_of", "").strip()
    if not value:
        return retention.today()
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise UsageError(f"as of must be a date YYYY-MM-DD, not {value!r}") from exc


def _retention_page(request: Request, store: Store, who: Identity, error: str | None = None,
                    status: int = 200) -> Response:  # fmt: skip
    when = _as_of(request)
    states = retention.states(store)
    role = who.user.role
    return page(request, "retention.html", who, status=status, when=when,
                due=[s for s in states if s.is_due(when)],
                held=[s for s in states if s.held and s.purged is None],
                requests=[r for r in retention.purge_requests(store) if r.status == "pending"],
                may={"review": role in REVIEWERS, "approve": role in PURGE_APPROVERS, "hold": role in HOLDERS},
                error=error)  # fmt: skip


def retention_page(request: Request) -> Response:
    with opened(request) as store:
        who = signed_in(store, request)
        store.require(who, Action.read)
        return _retention_page(request, store, who)


def _again_retention(request: Request) -> Again:
    return lambda store, who, error, status: _retention_page(request, store, who, error, status)


def retention_review(request: Request, form: FormData) -> Response:
    bundle_id = request.path_params["bundle_id"]

    def decide(store: Store, actor: Actor, form: FormData) -> object:
        decision = text(form, "decision")
        if decision not in ("retain", "purge"):
            raise UsageError("choose retain or purge")
        years = text(form, "years").strip()
        if years and not years.isdigit():
            raise UsageError("the new period must be a whole number of years")
        return retention.review(store, actor, bundle_id, retain=decision == "retain",
                                reason=text(form, "reason"), years=int(years) if years else None)  # fmt: skip

    return _signed(request, form, decide, _again_retention(request), "/retention")


def purge_approve(request: Request, form: FormData) -> Response:
    request_id = request.path_params["request_id"]

    def decide(store: Store, actor: Actor, form: FormData) -> object:
        return retention.approve_purge(store, actor, request_id)

    return _signed(request, form, decide, _again_retention(request), "/retention")


ROUTES: list[BaseRoute] = [
    Route("/reviews", reviews_page, methods=["GET"]),
    Route("/reviews/exigent/{auth_id}", checked(review_exigent), methods=["POST"]),
    Route("/reviews/protected/{bundle_id}", checked(review_protected), methods=["POST"]),
    Route("/retention", retention_page, methods=["GET"]),
    Route("/retention/{bundle_id}/review", checked(retention_review), methods=["POST"]),
    Route("/retention/purges/{request_id}/approve", checked(purge_approve), methods=["POST"]),
]
