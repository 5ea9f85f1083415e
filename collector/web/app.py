"""The application: routes, static files, the session and header middleware, error pages."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from collector.web.api.app import create_api
from collector.web.errors import HANDLERS
from collector.web.middleware import SessionAndHeaders
from collector.web.routes import (
    admin,
    aliases,
    audit,
    authorizations,
    bundles,
    custody,
    dashboard,
    disclosures,
    ledger,
    login,
    policy,
    reviews,
    screenshots,
    timestamps,
    tokens,
)
from collector.web.routes import capture as capturing
from collector.web.settings import WebConfig
from collector.web.throttle import AddressThrottle

STATIC = Path(__file__).resolve().parent / "static"


def create_app(config: WebConfig) -> Starlette:
    tiles = Path(tempfile.mkdtemp(prefix="collector-tiles-"))  # private (0700), this process only

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            shutil.rmtree(tiles, ignore_errors=True)

    routes = [
        *login.ROUTES,
        *dashboard.ROUTES,
        *authorizations.ROUTES,
        *bundles.ROUTES,
        *screenshots.ROUTES,
        *custody.ROUTES, *disclosures.ROUTES, *reviews.ROUTES,
        *capturing.ROUTES,
        *aliases.ROUTES,
        *timestamps.ROUTES, *ledger.ROUTES,
        *tokens.ROUTES, *policy.ROUTES, *audit.ROUTES, *admin.ROUTES,
        Mount("/api", app=create_api(config), name="api"),
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
    ]
    handlers: Any = HANDLERS
    app = Starlette(routes=routes, exception_handlers=handlers, lifespan=lifespan,
                    middleware=[Middleware(SessionAndHeaders, config=config)])  # fmt: skip
    app.state.config = config
    app.state.tiles = tiles
    app.state.ended_sessions = set()  # sessions logged out while this server runs
    app.state.login_throttle = AddressThrottle()
    return app
