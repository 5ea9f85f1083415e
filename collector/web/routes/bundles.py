"""Bundles: the list, the bundle page (metadata, page state, post card, artifacts, custody and
the verification checklist of `collector verify`), and artifact downloads (never rendered)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from collector.errors import CollectorError, UsageError
from collector.evidence.bundle.verify import VerifyReport
from collector.policy.viewing import open_metadata
from collector.store import custody_log, storage
from collector.store import verify as verification
from collector.store.roles import Action, allowed
from collector.store.store import Identity, Store
from collector.web import bundle_actions, views
from collector.web.context import opened, signed_in
from collector.web.render import page
from collector.web.settings import DOWNLOAD_CSP


def listing(request: Request) -> Response:
    with opened(request) as store:
        who = signed_in(store, request)
        store.require(who, Action.read)
        rows = []
        for row in store.ledger.bundles():
            try:
                holder = custody_log.holder(store, row.id)
            except CollectorError:
                holder = "?"
            rows.append((row, holder))
        return page(request, "bundles.html", who, rows=rows)


def bundle(request: Request) -> Response:
    bundle_id = request.path_params["bundle_id"]
    with opened(request) as store:
        who = signed_in(store, request)
        return bundle_page(request, store, who, bundle_id)


def bundle_page(request: Request, store: Store, who: Identity, bundle_id: str, *,
                error: str | None = None, status: int = 200) -> Response:  # fmt: skip
    """The bundle page; `error` is a refused or rejected action of one of its forms."""
    row, meta = open_metadata(store, who, bundle_id)
    report: VerifyReport | None = None
    if allowed(who.user.role, Action.verify):  # recorded in the ledger, as `collector verify`
        report = verification.verify_in_store(store, bundle_id, None, observer=who.user.name)
    return page(request, "bundle.html", who, status=status, row=row, meta=meta, report=report,
                post=views.post_card(meta), state=views.page_state(meta),
                custody=store.ledger.custody(bundle_id),
                holder=custody_log.holder(store, bundle_id), error=error,
                **bundle_actions.context(store, who, bundle_id))  # fmt: skip


def download(request: Request) -> Response:
    bundle_id, path = request.path_params["bundle_id"], request.path_params["path"]
    with opened(request) as store:
        who = signed_in(store, request)
        row, meta = open_metadata(store, who, bundle_id)
        art = views.artifact(meta, path)
        if art is None:
            raise UsageError(f"{bundle_id} has no artifact {path!r}")
        data = storage.bundle_file(store, row, f"data/{art.path}")
    name = views.download_name(bundle_id, art.path)
    return Response(data, media_type=art.mime_type or "application/octet-stream", headers={
        "Content-Disposition": f'attachment; filename="{name}"',
        "Content-Security-Policy": DOWNLOAD_CSP,
        "X-Content-Type-Options": "nosniff",
        "X-Artifact-SHA256": art.sha256,
    })  # fmt: skip


ROUTES: list[BaseRoute] = [
    Route("/bundles", listing, methods=["GET"]),
    Route("/bundles/{bundle_id}", bundle, methods=["GET"]),
    Route("/bundles/{bundle_id}/files/{path:path}", download, methods=["GET"]),
]
