"""The screenshot viewer: the full-page screenshot as tiles the browser loads as they come into
view (a 100 000 px page is never one image), and a feed's viewport screenshots in order."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Route

from collector.errors import UsageError
from collector.evidence.bundle import layout
from collector.evidence.model import Artifact, Metadata
from collector.policy.viewing import open_metadata
from collector.store import storage
from collector.store.model import BundleRow
from collector.store.store import Store
from collector.web import tiles as cutting
from collector.web.context import opened, signed_in
from collector.web.render import page

ZOOMS = (25, 50, 100)
IMAGE_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=3600"}


def _screenshot(meta: Metadata) -> Artifact:
    found = next((a for a in meta.artifacts if a.path == layout.SCREENSHOT), None)
    if found is None:
        raise UsageError(f"{meta.bundle_id} has no full-page screenshot")
    return found


def _tiles(store: Store, request: Request, row: BundleRow, shot: Artifact) -> cutting.TileSet:
    cache: Path = request.app.state.tiles
    return cutting.tile_set(shot.sha256, cache,
                            lambda: storage.bundle_file(store, row, f"data/{layout.SCREENSHOT}"))  # fmt: skip


def viewer(request: Request) -> Response:
    bundle_id = request.path_params["bundle_id"]
    asked = request.query_params.get("zoom", "100")
    zoom = int(asked) if asked.isdigit() and int(asked) in ZOOMS else 100
    with opened(request) as store:
        who = signed_in(store, request)
        row, meta = open_metadata(store, who, bundle_id)
        shot = _screenshot(meta)
        made = _tiles(store, request, row, shot)
    viewports = [a for a in meta.artifacts if a.path.startswith(f"{layout.VIEWPORT_DIR}/")]
    return page(request, "screenshot.html", who, meta=meta, shot=shot, made=made,
                zoom=zoom, zooms=ZOOMS, viewports=viewports)  # fmt: skip


def tile(request: Request) -> Response:
    bundle_id, number = request.path_params["bundle_id"], int(request.path_params["number"])
    with opened(request) as store:
        who = signed_in(store, request)
        row, meta = open_metadata(store, who, bundle_id)
        found = _tiles(store, request, row, _screenshot(meta)).path(number)
    if found is None:
        raise UsageError(f"{bundle_id}: no screenshot tile {number}")
    return FileResponse(found, media_type="image/png", headers=IMAGE_HEADERS)


def image(request: Request) -> Response:
    """A viewport screenshot (a PNG the capture took), shown in the page."""
    bundle_id, path = request.path_params["bundle_id"], request.path_params["path"]
    with opened(request) as store:
        who = signed_in(store, request)
        row, meta = open_metadata(store, who, bundle_id)
        art = next((a for a in meta.artifacts if a.path == path), None)
        if art is None or not path.startswith(f"{layout.VIEWPORT_DIR}/") or art.mime_type != "image/png":
            raise UsageError(f"{bundle_id} has no viewport screenshot {path!r}")
        data = storage.bundle_file(store, row, f"data/{art.path}")
    return Response(data, media_type="image/png", headers=IMAGE_HEADERS)


ROUTES: list[BaseRoute] = [
    Route("/bundles/{bundle_id}/screenshot", viewer, methods=["GET"]),
    Route("/bundles/{bundle_id}/screenshot/tiles/{number:int}", tile, methods=["GET"]),
    Route("/bundles/{bundle_id}/images/{path:path}", image, methods=["GET"]),
]
