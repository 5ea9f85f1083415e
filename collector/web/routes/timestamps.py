"""Time-stamps still owed: the bundles whose seal no authority stamped yet (`collector timestamp
pending`) and the retry (`collector timestamp retry`), which signs each stamp obtained as a
`timestamped` custody event with the key the form's passphrase unlocks."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from collector.errors import CollectorError, Refused, UsageError
from collector.store import stamping
from collector.store.roles import Action
from collector.store.store import Identity, Store
from collector.web.context import opened, proven, signed_in
from collector.web.forms import checked, text
from collector.web.render import page

ALL = "all"


@dataclass(frozen=True)
class Outcome:
    """What a retry did for one bundle."""

    bundle_id: str
    state: str  # "stamped", "failed" or "not tried"
    detail: str


def _page(request: Request, store: Store, who: Identity, *, status: int = 200, error: str | None = None,
          outcomes: list[Outcome] | None = None) -> Response:  # fmt: skip
    return page(request, "timestamps.html", who, status=status, error=error, outcomes=outcomes or [],
                pending=stamping.pending(store), configured=store.config.timestamp.configured,
                authorities=store.config.timestamp.urls, all_value=ALL)  # fmt: skip


def timestamps(request: Request) -> Response:
    with opened(request) as store:
        who = signed_in(store, request)
        store.require(who, Action.read)
        return _page(request, store, who)


def retry(request: Request, form: FormData) -> Response:
    """As `collector timestamp retry [ID]`: the bundle chosen, or every pending one, in order;
    the first failure stops the rest, as on the command line (each failed attempt is recorded
    by `stamping.retry` as a failed `timestamp.retry` row)."""
    chosen = text(form, "bundle").strip()
    with opened(request) as store:
        who = signed_in(store, request)
        store.require(who, Action.timestamp, subject=None if chosen in ("", ALL) else chosen)
        try:
            actor = proven(store, request, text(form, "passphrase"))
        except (UsageError, Refused) as exc:
            return _page(request, store, who, status=403 if isinstance(exc, Refused) else 400, error=str(exc))
        targets = stamping.targets(store, None if chosen in ("", ALL) else [chosen])
        outcomes: list[Outcome] = []
        for bundle_id in targets:
            if any(o.state == "failed" for o in outcomes):
                outcomes.append(Outcome(bundle_id, "not tried", "stopped at the first failure"))
                continue
            try:
                event = stamping.retry(store, actor, bundle_id)
            except CollectorError as exc:  # no authority answered, already stamped, seal.tsr lost…
                outcomes.append(Outcome(bundle_id, "failed", str(exc)))
            else:
                outcomes.append(Outcome(bundle_id, "stamped", f"time-stamped {event.details['gen_time']} "
                                                              f"(custody event {event.seq})"))  # fmt: skip
        return _page(request, store, who, error=None if targets else "no time-stamps pending", outcomes=outcomes)


ROUTES: list[BaseRoute] = [
    Route("/timestamps", timestamps, methods=["GET"]),
    Route("/timestamps/retry", checked(retry), methods=["POST"]),
]
