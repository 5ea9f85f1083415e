"""Who calls the API: a per-user token in `Authorization: Bearer …`, never the session cookie.

A missing, unknown, expired or revoked token is a 401; a token without the scope a call
needs is a 403; both are recorded as `denied.request` ledger rows. The token's user is then
identified as a page's is (`Store.identify`: a retired user or a role no longer certified is
refused), and every call checks their role with `Store.require` as the command line does.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import Depends, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import Request

from collector.errors import Refused
from collector.store import tokens
from collector.store.actions import LedgerAction
from collector.store.store import Identity, Store
from collector.web.context import opened

bearer = HTTPBearer(auto_error=False, scheme_name="token",
                    description="A per-user API token made on the page /tokens (`ctk_…`).")  # fmt: skip
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def _refuse(store: Store, request: Request, status: int, reason: str,
            token: tokens.ApiToken | None = None) -> HTTPException:  # fmt: skip
    store.ledger.record(
        LedgerAction.denied_request, "refused",
        actor=token.user if token is not None else None,
        subject=request.url.path,
        details={"reason": reason, "method": request.method, "api": True,
                 **({"token": token.id} if token is not None else {})},
    )  # fmt: skip
    headers = {"WWW-Authenticate": 'Bearer realm="collector"'} if status == 401 else None
    return HTTPException(status, f"Refused: {reason}", headers=headers)


def _caller(store: Store, request: Request, credentials: HTTPAuthorizationCredentials | None,
            scope: str) -> Identity:  # fmt: skip
    if credentials is None:
        raise _refuse(store, request, 401, "no API token (send `Authorization: Bearer <token>`)")
    token = tokens.presented(store, credentials.credentials)
    if token is None:
        raise _refuse(store, request, 401, "unknown API token")
    state = token.state()
    if state != "active":
        raise _refuse(store, request, 401, f"API token {token.id} is {state}", token)
    try:
        who = store.identify(token.user)  # a refusal is recorded as a log-in's
    except Refused as exc:
        raise HTTPException(401, f"Refused: {exc}",
                            headers={"WWW-Authenticate": 'Bearer realm="collector"'}) from exc  # fmt: skip
    if scope not in token.scopes:
        raise _refuse(store, request, 403, f"API token {token.id} does not have the scope {scope!r}", token)
    return who


@contextmanager
def called(request: Request, credentials: HTTPAuthorizationCredentials | None,
           scope: str) -> Iterator[tuple[Store, Identity]]:  # fmt: skip
    """The store, opened for this call only, and the token's user, allowed `scope`."""
    with opened(request) as store:
        yield store, _caller(store, request, credentials, scope)
