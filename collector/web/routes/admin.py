"""Administration: users (roles, certificates, retirement, new users) for administrators, and
the equipment registry. Each change goes through the same store functions as `collector user`
and `collector equipment`: the administrator's own passphrase (the change is signed) and, for
users, the administrator's passphrase of the agency PKI, which unlocks the issuing CA."""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from collector.errors import Refused, UsageError
from collector.policy import equipment
from collector.store.model import Role
from collector.store.roles import Action
from collector.store.store import LOCAL_CAPTURE, SYSTEM_USER, Identity, Store
from collector.web.context import opened, proven, signed_in
from collector.web.forms import checked, text
from collector.web.render import page

ROLES = [r.value for r in Role if r is not Role.system]
USER_FIELDS = ("name", "role", "full_name", "badge")
EQUIPMENT_FIELDS = ("id", "kind", "description", "machine_id", "assigned_to")


def _users_page(request: Request, store: Store, who: Identity, *, status: int = 200,
                error: str | None = None, values: dict[str, str] | None = None) -> Response:  # fmt: skip
    pki = store.pki
    users = [(u, pki.certificates(u.name) if pki.exists() else []) for u in store.ledger.users()]
    return page(request, "admin_users.html", who, status=status, error=error, users=users,
                roles=ROLES, values=values or {}, own=(SYSTEM_USER, LOCAL_CAPTURE))  # fmt: skip


def users(request: Request) -> Response:
    with opened(request) as store:
        who = signed_in(store, request)
        store.require(who, Action.user_admin)
        return _users_page(request, store, who)


def _administer(request: Request, form: FormData, change: str) -> Response:
    values = {name: text(form, name) for name in USER_FIELDS}
    with opened(request) as store:
        who = signed_in(store, request)
        subject = request.path_params.get("name", values["name"].strip())
        store.require(who, Action.user_admin, subject=subject)  # refused before any passphrase
        try:
            actor = proven(store, request, text(form, "passphrase"))
            admin = text(form, "admin_passphrase")
            if change == "add":
                new = text(form, "new_passphrase")
                if new != text(form, "new_passphrase_again"):
                    raise UsageError("the new user's passphrases do not match")
                store.add_user(values["name"].strip(), role=_role(values["role"]),
                               full_name=values["full_name"], badge=values["badge"], passphrase=new,
                               actor=actor, admin_passphrase=admin)  # fmt: skip
            elif change == "retire":
                store.retire_user(subject, actor=actor, admin_passphrase=admin)
            else:
                store.change_role(subject, _role(values["role"]), actor=actor, admin_passphrase=admin)
        except (UsageError, Refused) as exc:
            status = 403 if isinstance(exc, Refused) else 400
            return _users_page(request, store, who, status=status, error=str(exc), values=values)
    return RedirectResponse("/admin/users", status_code=303)


def _role(value: str) -> Role:
    if value not in ROLES:
        raise UsageError(f"the role is one of {', '.join(ROLES)}")
    return Role(value)


def add_user(request: Request, form: FormData) -> Response:
    return _administer(request, form, "add")


def retire_user(request: Request, form: FormData) -> Response:
    return _administer(request, form, "retire")


def change_role(request: Request, form: FormData) -> Response:
    return _administer(request, form, "role")


def _equipment_page(request: Request, store: Store, who: Identity, *, status: int = 200,
                    error: str | None = None, values: dict[str, str] | None = None) -> Response:  # fmt: skip
    return page(request, "admin_equipment.html", who, status=status, error=error,
                entries=equipment.registry(store), values=values or {},
                may_register=who.user.role in equipment.REGISTRARS,
                users=[u.name for u in store.ledger.users() if u.retired_at is None])  # fmt: skip


def equipment_list(request: Request) -> Response:
    with opened(request) as store:
        who = signed_in(store, request)
        store.require(who, Action.read)
        return _equipment_page(request, store, who)


def equipment_add(request: Request, form: FormData) -> Response:
    values = {name: text(form, name) for name in EQUIPMENT_FIELDS}
    with opened(request) as store:
        who = signed_in(store, request)
        store.require(who, Action.read)
        try:
            actor = proven(store, request, text(form, "passphrase"))
            equipment.register(store, actor, values["id"].strip(), kind=values["kind"],
                               description=values["description"],
                               machine_id=values["machine_id"].strip().lower() or "-",
                               assigned_to=values["assigned_to"].strip() or None)  # fmt: skip
        except (UsageError, Refused) as exc:
            status = 403 if isinstance(exc, Refused) else 400
            return _equipment_page(request, store, who, status=status, error=str(exc), values=values)
    return RedirectResponse("/admin/equipment", status_code=303)


ROUTES: list[BaseRoute] = [
    Route("/admin/users", users, methods=["GET"]),
    Route("/admin/users", checked(add_user), methods=["POST"]),
    Route("/admin/users/{name}/retire", checked(retire_user), methods=["POST"]),
    Route("/admin/users/{name}/role", checked(change_role), methods=["POST"]),
    Route("/admin/equipment", equipment_list, methods=["GET"]),
    Route("/admin/equipment", checked(equipment_add), methods=["POST"]),
]
