"""The application: routes, static files, the session and header middleware, error pages."""

from __future__ import annotations

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
    audit,
    authorizations,
    bundles,
    dashboard,
    login,
    policy,
    tokens,
)
from collector.web.settings import WebConfig

STATIC = Path(__file__).resolve().parent / "static"


def create_app(config: WebConfig) -> Starlette:
    routes = [
        *login.ROUTES,
        *dashboard.ROUTES,
        *authorizations.ROUTES,
        *bundles.ROUTES,
        *tokens.ROUTES, *policy.ROUTES, *audit.ROUTES, *admin.ROUTES,
        Mount("/api", app=create_api(config), name="api"),
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
    ]
    handlers: Any = HANDLERS
    app = Starlette(routes=routes, exception_handlers=handlers,
                    middleware=[Middleware(SessionAndHeaders, config=config)])  # fmt: skip
    app.state.config = config
    return app
