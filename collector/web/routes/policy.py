"""The agency policy as `collector policy show` gives it (version, SHA-256, last review, the
policy itself) and, for those who may, the form of `collector policy reviewed`."""

from __future__ import annotations

import json

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from collector.errors import Refused, UsageError
from collector.policy import standing
from collector.policy.check import REVIEWERS, problems, record_review
from collector.store.roles import Action
from collector.store.store import Identity, Store
from collector.web.context import opened, proven, signed_in
from collector.web.forms import checked, text
from collector.web.render import page


def _page(request: Request, store: Store, who: Identity, *, status: int = 200,
          error: str | None = None, values: dict[str, str] | None = None) -> Response:  # fmt: skip
    data = store.config.policy.model_dump(mode="json")
    return page(request, "policy.html", who, status=status, error=error, values=values or {},
                stamp=store.policy_stamp(), policy=json.dumps(data, indent=2, ensure_ascii=False),
                interval=store.config.policy.review_interval_days, problems=problems(store.config),
                warnings=standing.warnings(store), may_review=who.user.role in REVIEWERS)  # fmt: skip


def show(request: Request) -> Response:
    with opened(request) as store:
        who = signed_in(store, request)
        store.require(who, Action.read)
        return _page(request, store, who)


def reviewed(request: Request, form: FormData) -> Response:
    values = {"reason": text(form, "reason"), "version": text(form, "version")}
    with opened(request) as store:
        who = signed_in(store, request)
        store.require(who, Action.read)
        try:
            actor = proven(store, request, text(form, "passphrase"))
            record_review(store, actor, values["reason"], values["version"].strip() or None)
        except (UsageError, Refused) as exc:
            status = 403 if isinstance(exc, Refused) else 400
            return _page(request, store, who, status=status, error=str(exc), values=values)
    return RedirectResponse("/policy", status_code=303)


ROUTES: list[BaseRoute] = [
    Route("/policy", show, methods=["GET"]),
    Route("/policy/review", checked(reviewed), methods=["POST"]),
]
