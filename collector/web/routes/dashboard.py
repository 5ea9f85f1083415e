"""The dashboard: what is owed by the logged-in user."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from collector.errors import CollectorError
from collector.policy import aliases, reviews, standing
from collector.store import custody_log, stamping
from collector.store.model import AuthStatus
from collector.store.roles import Action, allowed
from collector.web import progress
from collector.web.context import opened, signed_in
from collector.web.render import page


def dashboard(request: Request) -> Response:
    with opened(request) as store:
        who = signed_in(store, request)
        store.require(who, Action.read)
        me = who.user.name
        auths = store.ledger.authorizations()
        to_decide = (
            [a for a in auths if a.status is AuthStatus.pending and a.requested_by != me]
            if allowed(who.user.role, Action.auth_decide) else []
        )  # fmt: skip
        mine = [a for a in auths if a.requested_by == me or me in a.investigators]
        held = []
        for row in store.ledger.bundles():
            try:
                if custody_log.holder(store, row.id) == me:
                    held.append(row)
            except CollectorError:
                continue  # no custody log: `verify` says why
        owed = reviews.owed(store) if allowed(who.user.role, Action.auth_decide) else []
        alias_owed = (
            [a for a in aliases.aliases(store) if "approve" in aliases.offered(who, a)]
            if who.user.role in aliases.DECIDERS else None
        )  # fmt: skip
        return page(request, "dashboard.html", who, to_decide=to_decide, mine=mine, held=held, reviews_owed=owed,
                    aliases_owed=alias_owed,
                    pending_stamps=stamping.pending(store), warnings=standing.warnings(store),
                    batches=progress.unfinished(store, who) if allowed(who.user.role, Action.capture) else [])  # fmt: skip


ROUTES: list[BaseRoute] = [Route("/", dashboard, methods=["GET"])]
