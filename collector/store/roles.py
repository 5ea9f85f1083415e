"""Roles and what each may do: the one permission matrix."""

from __future__ import annotations

from enum import StrEnum

from collector.store.model import Role


class Action(StrEnum):
    user_admin = "user.admin"
    store_admin = "store.admin"
    auth_request = "auth.request"
    auth_decide = "auth.decide"
    capture = "capture"
    capture_job = "capture.job"  # seal a capture an investigator requested (a worker)
    verify = "verify"
    read = "read"
    custody = "custody"
    export = "export"
    import_store = "store.import"
    timestamp = "timestamp"
    grade = "grade"


_I, _S, _C, _A, _ADM = (
    Role.investigator,
    Role.supervisor,
    Role.custodian,
    Role.auditor,
    Role.admin,
)

# Who may do what. Rows are actions; every command checks its row through Store.require.
MATRIX: dict[Action, frozenset[Role]] = {
    Action.user_admin: frozenset({_ADM}),
    Action.store_admin: frozenset({_ADM}),
    Action.auth_request: frozenset({_I, _S}),
    Action.auth_decide: frozenset({_S}),
    Action.capture: frozenset({_I}),
    Action.capture_job: frozenset({Role.capture_system}),
    Action.verify: frozenset({_I, _S, _C, _A}),
    Action.read: frozenset({_I, _S, _C, _A, _ADM}),
    Action.custody: frozenset({_I, _S, _C}),
    Action.export: frozenset({_C}),
    Action.import_store: frozenset({_C}),
    Action.timestamp: frozenset({_I, _C}),
    Action.grade: frozenset({_I, _S}),
}
PERMISSIONS: dict[Role, frozenset[Action]] = {
    role: frozenset(action for action, roles in MATRIX.items() if role in roles) for role in Role
}


def allowed(role: Role, action: Action) -> bool:
    return action in PERMISSIONS[role]
