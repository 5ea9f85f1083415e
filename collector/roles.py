"""Roles and what each may do: the one permission matrix."""

from __future__ import annotations

from enum import StrEnum

from collector.models import Role


class Action(StrEnum):
    user_admin = "user.admin"
    auth_request = "auth.request"
    auth_decide = "auth.decide"
    capture = "capture"
    verify = "verify"
    read = "read"
    custody = "custody"
    export = "export"
    timestamp = "timestamp"


PERMISSIONS: dict[Role, frozenset[Action]] = {
    Role.investigator: frozenset(
        {
            Action.auth_request,
            Action.capture,
            Action.verify,
            Action.read,
            Action.custody,
            Action.timestamp,
        }
    ),
    Role.supervisor: frozenset(
        {Action.auth_request, Action.auth_decide, Action.verify, Action.read, Action.custody}
    ),
    Role.custodian: frozenset(
        {Action.verify, Action.read, Action.custody, Action.export, Action.timestamp}
    ),
    Role.auditor: frozenset({Action.verify, Action.read}),
    Role.admin: frozenset({Action.user_admin, Action.read}),
}


def allowed(role: Role, action: Action) -> bool:
    return action in PERMISSIONS[role]
