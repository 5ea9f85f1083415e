"""Aliases: the registry (`collector alias list`), one alias (`alias show`), the request form
(`alias request`) and a supervisor's approval or denial, or a retirement, each through the same
`collector.policy.aliases` functions as the command line. Who may take a decision is asked of
`aliases.check` before any passphrase (a refusal is a recorded `denied.alias`, as on the
command line); the decision itself, signed with the key the passphrase unlocks, asks again."""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from collector.errors import Refused, UsageError
from collector.policy import aliases
from collector.store.roles import Action
from collector.store.store import Identity, Store
from collector.web.context import opened, proven, signed_in
from collector.web.forms import checked, text
from collector.web.render import page

FIELDS = ("name", "platform", "handle", "reason", "days")


def listing(request: Request) -> Response:
    with opened(request) as store:
        who = signed_in(store, request)
        store.require(who, Action.read)
        return page(request, "aliases.html", who, rows=aliases.aliases(store),
                    may_request=aliases.refusal(who, "request") is None)  # fmt: skip


def _request_form(request: Request, store: Store, who: Identity, status: int = 200,
                  values: dict[str, str] | None = None, error: str | None = None) -> Response:  # fmt: skip
    return page(request, "alias_new.html", who, status=status, policy=store.config.policy,
                values=values or {}, error=error)  # fmt: skip


def new(request: Request) -> Response:
    with opened(request) as store:
        who = signed_in(store, request)
        store.require(who, Action.read)
        aliases.check(store, who, "request")
        return _request_form(request, store, who)


def _days(value: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise UsageError(f"days {value!r}: a whole number of days") from None


def submit(request: Request, form: FormData) -> Response:
    values = {name: text(form, name) for name in FIELDS}
    name = values["name"].strip()
    with opened(request) as store:
        who = signed_in(store, request)
        store.require(who, Action.read)
        aliases.check(store, who, "request", name or None)  # refused before any passphrase
        try:
            days = _days(values["days"])
            actor = proven(store, request, text(form, "passphrase"))
            alias = aliases.request(store, actor, name, platform=values["platform"].strip(),
                                    handle=values["handle"], reason=values["reason"], days=days)  # fmt: skip
        except (UsageError, Refused) as exc:
            status = 403 if isinstance(exc, Refused) else 400
            return _request_form(request, store, who, status, values, str(exc))
    return RedirectResponse(f"/aliases/{alias.name}", status_code=303)


def _detail(request: Request, store: Store, who: Identity, name: str, status: int = 200,
            error: str | None = None) -> Response:  # fmt: skip
    alias = aliases.get(store, name)
    if alias is None:
        raise UsageError(f"unknown alias {name!r}")
    return page(request, "alias.html", who, status=status, alias=alias,
                offered=aliases.offered(who, alias), error=error)  # fmt: skip


def detail(request: Request) -> Response:
    with opened(request) as store:
        who = signed_in(store, request)
        store.require(who, Action.read, subject=request.path_params["alias"])
        return _detail(request, store, who, request.path_params["alias"])


def _decide(request: Request, form: FormData, decision: str) -> Response:
    name = request.path_params["alias"]
    with opened(request) as store:
        who = signed_in(store, request)
        store.require(who, Action.read, subject=name)
        try:
            aliases.check(store, who, decision, name)  # refused before any passphrase
            reason = text(form, "reason")
            if decision != "approve" and not " ".join(reason.split()):
                raise UsageError(f"say why the alias is {decision}d")
            actor = proven(store, request, text(form, "passphrase"))
            if decision == "approve":
                aliases.approve(store, actor, name)
            elif decision == "deny":
                aliases.deny(store, actor, name, reason)
            else:
                aliases.retire(store, actor, name, reason)
        except (UsageError, Refused) as exc:
            status = 403 if isinstance(exc, Refused) else 400
            return _detail(request, store, who, name, status, str(exc))
    return RedirectResponse(f"/aliases/{name}", status_code=303)


def approve(request: Request, form: FormData) -> Response:
    return _decide(request, form, "approve")


def deny(request: Request, form: FormData) -> Response:
    return _decide(request, form, "deny")


def retire(request: Request, form: FormData) -> Response:
    return _decide(request, form, "retire")


ROUTES: list[BaseRoute] = [
    Route("/aliases", listing, methods=["GET"]),
    Route("/aliases", checked(submit), methods=["POST"]),
    Route("/aliases/new", new, methods=["GET"]),
    Route("/aliases/{alias}", detail, methods=["GET"]),
    Route("/aliases/{alias}/approve", checked(approve), methods=["POST"]),
    Route("/aliases/{alias}/deny", checked(deny), methods=["POST"]),
    Route("/aliases/{alias}/retire", checked(retire), methods=["POST"]),
]
