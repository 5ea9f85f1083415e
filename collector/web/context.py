"""Per request: the store, opened for this request only and closed after it (a key unlocked
during the request goes with it), and who the session says is acting."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from starlette.requests import Request

from collector.errors import Refused
from collector.store.store import Actor, Identity, Store
from collector.web import sessions
from collector.web.settings import WebConfig


class NotSignedIn(Exception):
    """The request needs a logged-in user and its session has none."""


def config_of(request: Request) -> WebConfig:
    config: WebConfig = request.app.state.config
    return config


def session_of(request: Request) -> sessions.Session:
    session: sessions.Session = request.state.session
    return session


@contextmanager
def opened(request: Request) -> Iterator[Store]:
    store = Store.open(config_of(request).store_path)
    try:
        yield store
    finally:
        store.close()


def signed_in(store: Store, request: Request) -> Identity:
    """The session's user as the store knows them now; the session ends if they may no longer
    log in (the refusal is recorded by `Store.identify`)."""
    name = session_of(request).user
    if name is None:
        raise NotSignedIn
    try:
        return store.identify(name)
    except Refused as exc:
        request.state.session = sessions.fresh(ended=str(exc))
        raise NotSignedIn from exc


def proven(store: Store, request: Request, passphrase: str) -> Actor:
    """The session's user, proved again by the passphrase given in the form (a signing action):
    the same unlock, refusals and throttling as the command line's."""
    who = signed_in(store, request)
    return store.authenticate(who.user.name, passphrase)
