"""What every retention decision checks first: the role (a refusal is recorded), the text, a live bundle."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from collector.errors import Refused, UsageError
from collector.evidence.custody import CustodyEvent, EventType
from collector.policy.retention.model import RETAIN_MIN_WORDS, RETAIN_PLACEHOLDERS
from collector.policy.retention.state import known_bundle, tombstone_of
from collector.store import custody_log as services
from collector.store.actions import LedgerAction, denial_of
from collector.store.config import Policy, RetentionClass
from collector.store.model import BundleRow, Role
from collector.store.store import Actor, Store

# --------------------------------------------------------------------- writing helpers


def deny(store: Store, what: LedgerAction, actor: Actor, subject: str, reason: str) -> Refused:
    """Record a refusal of `what` in the ledger (outside any transaction); return the error."""
    store.ledger.record(denial_of(what), "refused", actor=actor.user.name, subject=subject,
                        details={"reason": reason})  # fmt: skip
    return Refused(f"{actor.user.name}: {reason}")


def require_role(
    store: Store,
    actor: Actor,
    roles: frozenset[Role],
    what: LedgerAction,
    subject: str,
    doing: str,
) -> None:
    if actor.user.role not in roles:
        allowed = " or ".join(sorted(r.value for r in roles))
        raise deny(store, what, actor, subject,
                    f"role {actor.user.role.value!r} may not {doing} (only {allowed})")  # fmt: skip


def clean_text(value: str, option: str) -> str:
    text = value.strip()
    if not text:
        raise UsageError(f"{option} must not be empty")
    return text


def live_bundle(store: Store, bundle_id: str) -> BundleRow:
    row = known_bundle(store, bundle_id)
    grave = tombstone_of(store, bundle_id)
    if grave is not None:
        raise UsageError(f"{bundle_id} was purged on {grave.purged_at:%Y-%m-%d}: nothing to do")
    return row


def event_builder(
    store: Store, actor: Actor, bundle_id: str, type: EventType, details: dict[str, Any]
) -> Callable[[int, str], CustodyEvent]:
    return services.custody_builder(store, actor, bundle_id, type, details)


def validate_justification(policy: Policy, cls: RetentionClass | None, reason: str) -> str:
    """A retain reason must state the class's justification: not empty, not a placeholder."""
    requirement = cls.retain_requires if cls else "a justification"
    hint = f"--retain needs --reason stating {requirement}"
    norm = " ".join(reason.lower().split()).strip(" .!-:;,")
    if not norm:
        raise UsageError(f"{hint} (the reason is empty)")
    placeholders = RETAIN_PLACEHOLDERS | {p.lower() for p in policy.facts_placeholders}
    if norm in placeholders or norm == " ".join(requirement.lower().split()):
        raise UsageError(f"{hint}: {reason.strip()!r} is a placeholder, not the facts")
    if len(norm.split()) < RETAIN_MIN_WORDS:
        raise UsageError(f"{hint}: at least {RETAIN_MIN_WORDS} words of facts")
    return reason


