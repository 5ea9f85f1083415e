"""API tokens: the user's own, made and revoked on this page with the passphrase (each a
signed ledger event). A new token is shown once, on the page that made it; only its SHA-256
is kept."""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from collector.errors import Refused, UsageError
from collector.store import tokens
from collector.store.roles import Action, allowed
from collector.store.store import Identity, Store
from collector.web.context import opened, proven, signed_in
from collector.web.forms import checked, text
from collector.web.render import page


def _page(request: Request, store: Store, who: Identity, *, status: int = 200,
          error: str | None = None, made: tuple[tokens.ApiToken, str] | None = None) -> Response:  # fmt: skip
    scopes = [s for s, action in tokens.SCOPES.items() if allowed(who.user.role, action)]
    return page(request, "tokens.html", who, status=status, error=error, made=made,
                tokens=tokens.tokens_of(store, who.user.name), scopes=scopes,
                default_days=tokens.DEFAULT_DAYS, max_days=tokens.MAX_DAYS)  # fmt: skip


def listing(request: Request) -> Response:
    with opened(request) as store:
        who = signed_in(store, request)
        store.require(who, Action.read)
        return _page(request, store, who)


def create(request: Request, form: FormData) -> Response:
    with opened(request) as store:
        who = signed_in(store, request)
        store.require(who, Action.read)
        try:
            days_text = text(form, "days").strip() or str(tokens.DEFAULT_DAYS)
            if not days_text.isdigit():
                raise UsageError(f"a token lasts 1 to {tokens.MAX_DAYS} days")
            scopes = [s for s in form.getlist("scope") if isinstance(s, str)]
            actor = proven(store, request, text(form, "passphrase"))
            made = tokens.create(store, actor, label=text(form, "label"), scopes=scopes,
                                 days=int(days_text))  # fmt: skip
        except (UsageError, Refused) as exc:
            status = 403 if isinstance(exc, Refused) else 400
            return _page(request, store, who, status=status, error=str(exc))
        return _page(request, store, who, status=201, made=made)


def revoke(request: Request, form: FormData) -> Response:
    token_id = request.path_params["token_id"]
    with opened(request) as store:
        who = signed_in(store, request)
        store.require(who, Action.read)
        try:
            actor = proven(store, request, text(form, "passphrase"))
            tokens.revoke(store, actor, token_id)
        except (UsageError, Refused) as exc:
            status = 403 if isinstance(exc, Refused) else 400
            return _page(request, store, who, status=status, error=str(exc))
    return RedirectResponse("/tokens", status_code=303)


ROUTES: list[BaseRoute] = [
    Route("/tokens", listing, methods=["GET"]),
    Route("/tokens", checked(create), methods=["POST"]),
    Route("/tokens/{token_id}/revoke", checked(revoke), methods=["POST"]),
]
