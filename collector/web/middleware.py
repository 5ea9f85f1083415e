"""Every response: the session cookie renewed (or ended) and the security headers."""

from __future__ import annotations

from datetime import datetime

from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp

from collector.web import sessions
from collector.web.settings import API_PREFIX, CSP, HSTS, IDLE_TIMEOUT, MAX_SESSION, WebConfig


class SessionAndHeaders(BaseHTTPMiddleware):
    """Reads the session before the route, writes it back after; adds the headers. The JSON
    API (under `API_PREFIX`) never reads the session and gets no cookie."""

    def __init__(self, app: ASGIApp, config: WebConfig) -> None:
        super().__init__(app)
        self.config = config

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        at = sessions.now()
        api = request.url.path.startswith(API_PREFIX)
        cookie = None if api else request.cookies.get(self.config.cookie_name)
        given = sessions.unseal(cookie, self.config.secret, at)
        if given.sid in request.app.state.ended_sessions:
            given = sessions.fresh(ended="this session was logged out")
        request.state.session = given
        response = await call_next(request)
        if not api:
            self._set_cookie(response, request.state.session, at)
        headers = response.headers
        headers["Content-Security-Policy"] = headers.get("Content-Security-Policy", CSP)
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "no-referrer"
        headers["X-Frame-Options"] = "DENY"
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
        if not request.url.path.startswith("/static/"):
            headers["Cache-Control"] = "no-store"
        if self.config.tls:
            headers["Strict-Transport-Security"] = HSTS
        return response

    def _set_cookie(self, response: Response, session: sessions.Session, at: datetime) -> None:
        response.set_cookie(
            self.config.cookie_name,
            sessions.seal(session.touched(at), self.config.secret),
            max_age=int((IDLE_TIMEOUT if session.user else MAX_SESSION).total_seconds()),
            path="/",
            secure=self.config.tls,
            httponly=True,
            samesite="strict",
        )
