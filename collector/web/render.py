"""Pages from Jinja2 templates, autoescaped: text from captured pages is shown, never run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.requests import Request
from starlette.responses import HTMLResponse

from collector.disclosure.audit.model import AUDITORS
from collector.store.roles import Action, allowed
from collector.store.store import Identity
from collector.web import csrf
from collector.web.context import config_of, session_of

TEMPLATES = Path(__file__).resolve().parent / "templates"
_env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined)


def mark(ok: bool, warning: bool) -> str:
    """A verification line's mark, as `collector verify` prints it."""
    return "✗" if not ok else ("!" if warning else "✓")


_env.globals["mark"] = mark
_env.globals["auditors"] = AUDITORS  # who the navigation offers the audit report (checked again)


def page(request: Request, name: str, who: Identity | None = None, status: int = 200,
         **values: Any) -> HTMLResponse:  # fmt: skip
    """A page; `who` decides which links the navigation offers (each page checks again)."""
    session = session_of(request)
    role = who.user.role if who is not None else None
    context = {
        "who": who,
        "can": {a.name: role is not None and allowed(role, a) for a in Action},
        "csrf_field": csrf.FIELD,
        "csrf_token": csrf.token(config_of(request).secret, session.sid),
        "path": request.url.path,
        **values,
    }
    return HTMLResponse(_env.get_template(name).render(context), status_code=status)
