"""Authorizations: list, detail, the request form, and a supervisor's approval or denial, each
through the same policy functions as `collector auth`; signing asks for the passphrase again."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from collector.errors import Refused, UsageError
from collector.evidence.model import Conditions
from collector.policy import authorizations
from collector.store.config import REASONABLE_SUSPICION
from collector.store.model import Authorization
from collector.store.roles import Action
from collector.store.store import Identity, Store
from collector.web.context import opened, proven, signed_in
from collector.web.forms import checked, text
from collector.web.render import page

FIELDS = ("case", "predicate", "standard", "purpose", "facts", "scopes", "retention",
          "valid_days", "investigators", "nexus")  # fmt: skip


def _known(store: Store, auth_id: str) -> Authorization:
    auth = store.ledger.authorization(auth_id)
    if auth is None:
        raise UsageError(f"unknown authorization {auth_id!r}")
    return auth


def listing(request: Request) -> Response:
    with opened(request) as store:
        who = signed_in(store, request)
        store.require(who, Action.read)
        return page(request, "authorizations.html", who, auths=store.ledger.authorizations())


def detail(request: Request) -> Response:
    auth_id = request.path_params["auth_id"]
    with opened(request) as store:
        who = signed_in(store, request)
        store.require(who, Action.read, subject=auth_id)
        return page(request, "authorization.html", who, auth=_known(store, auth_id))


def _request_form(request: Request, store: Store, who: Identity, status: int = 200,
                  values: dict[str, str] | None = None, error: str | None = None) -> Response:  # fmt: skip
    policy = store.config.policy
    return page(request, "authorization_new.html", who, status=status, policy=policy,
                reminder=REASONABLE_SUSPICION, values=values or {}, error=error)  # fmt: skip


def new(request: Request) -> Response:
    with opened(request) as store:
        who = signed_in(store, request)
        store.require(who, Action.auth_request)
        return _request_form(request, store, who)


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]


def _auth_request(form: FormData) -> authorizations.AuthRequest:
    days = text(form, "valid_days").strip()
    nexus = " ".join(text(form, "nexus").split())
    fields: dict[str, Any] = {
        "case_number": text(form, "case").strip(),
        "predicate": text(form, "predicate"),
        "standard": text(form, "standard"),
        "purpose": text(form, "purpose"),
        "facts": text(form, "facts"),
        "scopes": _lines(text(form, "scopes")),
        "retention_class": text(form, "retention"),
        "valid_days": days or None,
        "investigators": _lines(text(form, "investigators")),
        "conditions": Conditions(nexus=nexus or None),
    }
    try:
        return authorizations.AuthRequest.model_validate(fields)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise UsageError(problems) from None


def submit(request: Request, form: FormData) -> Response:
    values = {name: text(form, name) for name in FIELDS}
    with opened(request) as store:
        who = signed_in(store, request)
        store.require(who, Action.auth_request)
        try:
            req = _auth_request(form)
            actor = proven(store, request, text(form, "passphrase"))
            auth = authorizations.request(store, actor, req)
        except (UsageError, Refused) as exc:
            status = 403 if isinstance(exc, Refused) else 400
            return _request_form(request, store, who, status, values, str(exc))
    return RedirectResponse(f"/authorizations/{auth.id}", status_code=303)


def decision(request: Request) -> Response:
    """The approval page: supervisors only (a denial is recorded for anyone else)."""
    auth_id = request.path_params["auth_id"]
    with opened(request) as store:
        who = signed_in(store, request)
        store.require(who, Action.auth_decide, subject=auth_id)
        return _decision_page(request, store, who, auth_id)


def _decision_page(request: Request, store: Store, who: Identity, auth_id: str,
                   error: str | None = None, status: int = 200) -> Response:  # fmt: skip
    return page(request, "decision.html", who, status=status, auth=_known(store, auth_id),
                error=error)  # fmt: skip


def _decide(request: Request, form: FormData, verb: str) -> Response:
    auth_id = request.path_params["auth_id"]
    with opened(request) as store:
        who = signed_in(store, request)
        store.require(who, Action.auth_decide, subject=auth_id)  # refused before any passphrase
        try:
            actor = proven(store, request, text(form, "passphrase"))
            if verb == "approve":
                authorizations.approve(store, actor, auth_id)
            elif verb == "revoke":
                authorizations.revoke(store, actor, auth_id, text(form, "reason"))
            else:
                authorizations.deny(store, actor, auth_id, text(form, "reason"))
        except (UsageError, Refused) as exc:
            status = 403 if isinstance(exc, Refused) else 400
            return _decision_page(request, store, who, auth_id, str(exc), status)
    return RedirectResponse(f"/authorizations/{auth_id}", status_code=303)


def approve(request: Request, form: FormData) -> Response:
    return _decide(request, form, "approve")


def deny(request: Request, form: FormData) -> Response:
    return _decide(request, form, "deny")


def revoke(request: Request, form: FormData) -> Response:
    """An approved authorization ended early (`collector auth revoke`): no capture under it."""
    return _decide(request, form, "revoke")


ROUTES: list[BaseRoute] = [
    Route("/authorizations", listing, methods=["GET"]),
    Route("/authorizations", checked(submit), methods=["POST"]),
    Route("/authorizations/new", new, methods=["GET"]),
    Route("/authorizations/{auth_id}", detail, methods=["GET"]),
    Route("/authorizations/{auth_id}/decision", decision, methods=["GET"]),
    Route("/authorizations/{auth_id}/approve", checked(approve), methods=["POST"]),
    Route("/authorizations/{auth_id}/deny", checked(deny), methods=["POST"]),
    Route("/authorizations/{auth_id}/revoke", checked(revoke), methods=["POST"]),
]
