"""What the bundle page offers beyond reading: its retention state and grade, and which of the
custody, retention, grading and disclosure forms the user's role may use (each action checks
again on the server, through the same functions as the command line)."""

from __future__ import annotations

from typing import Any

from collector.errors import CollectorError
from collector.evidence.custody import EventType
from collector.policy import grading, retention
from collector.policy.retention.model import HOLDERS, PURGE_REQUESTERS
from collector.store.jobs import job_of
from collector.store.model import Role
from collector.store.roles import Action, allowed
from collector.store.store import Identity, Store

PEOPLE = frozenset(r for r in Role if r not in (Role.system, Role.capture_system))


def context(store: Store, who: Identity, bundle_id: str) -> dict[str, Any]:
    role = who.user.role
    try:
        state: retention.RetentionState | None = retention.state(store, bundle_id)
    except CollectorError:
        state = None
    try:
        graded = grading.grades(store, bundle_id)
        grade, links = graded.latest, graded.corroborations
    except CollectorError:
        grade, links = None, []
    policy = store.config.policy
    job = job_of(store, bundle_id)
    reviewed = any(e.type is EventType.requester_reviewed for e in store.ledger.custody(bundle_id))
    return {
        "retention_state": state,
        "grade": grade,
        "corroborations": links,
        "people": [u for u in store.ledger.users() if u.retired_at is None and u.role in PEOPLE],
        "scales": policy.grading_scales,
        "default_scale": policy.default_grading_scale,
        "may": {
            "transfer": allowed(role, Action.custody),
            "hold": role in HOLDERS,
            "purge": role in PURGE_REQUESTERS,
            "grade": allowed(role, Action.grade),
            "disclose": allowed(role, Action.export),
            "review": job is not None and job[1] == who.user.name and not reviewed,
        },
    }
