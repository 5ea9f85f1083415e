"""Consistency checks of the agency policy, and recording its periodic review."""

from __future__ import annotations

import re

from collector.errors import Refused, UsageError
from collector.evidence.model import PolicyStamp
from collector.store.actions import LedgerAction
from collector.store.config import StoreConfig, write_config
from collector.store.ledger import now
from collector.store.model import Role
from collector.store.store import Actor, Store


def problems(config: StoreConfig) -> list[str]:
    """Every inconsistency in the policy, as one line each (empty when it is sound)."""
    policy = config.policy
    found = []
    for name, values in (("predicates", policy.predicates), ("standards", policy.standards),
                         ("purposes", policy.purposes)):  # fmt: skip
        if not values:
            found.append(f"{name} is empty: no authorization could be requested")
    if not policy.retention_classes:
        found.append("retention_classes is empty")
    if policy.default_grading_scale not in policy.grading_scales:
        found.append(
            f"default_grading_scale {policy.default_grading_scale!r} is not a defined scale"
        )
    for name, scale in policy.grading_scales.items():
        if not scale.source or not scale.content:
            found.append(f"grading scale {name!r} needs source and content codes")
    for category, terms in policy.screening.categories.items():
        for term in terms:
            if not term.strip() or term != term.strip():
                found.append(f"screening term {term!r} in {category!r} is empty or padded")
            elif re.search(r"[\\^$|()\[\]{}]", term):
                found.append(
                    f"screening term {term!r} in {category!r} has regex characters (terms are plain words)"
                )
    if policy.authorization_default_days > policy.authorization_max_days:
        found.append("authorization_default_days exceeds authorization_max_days")
    if config.timestamp.urls and not config.timestamp.roots:
        found.append("time-stamp authorities are configured without a root to check them")
    return found


REVIEWERS: frozenset[Role] = frozenset({Role.supervisor, Role.admin})
"""Who may record the policy's periodic review."""


def record_review(store: Store, actor: Actor, reason: str, version: str | None) -> PolicyStamp:
    """A supervisor or admin records the annual review; the config file is rewritten."""
    if actor.user.role not in REVIEWERS:
        why = f"role {actor.user.role.value!r} may not record a policy review"
        store.ledger.record(
            LedgerAction.denied_policy_review, "refused", actor=actor.user.name, details={"reason": why}
        )
        raise Refused(f"{actor.user.name}: {why}")
    if len(reason.strip()) < 10:
        raise UsageError("--reason must say what the review covered (at least 10 characters)")
    before = store.policy_stamp()
    store.config.policy.last_reviewed = now().date()
    if version:
        store.config.policy.version = version
    write_config(store.config_path, store.config)
    after = store.policy_stamp()
    store.ledger.record(
        LedgerAction.policy_reviewed, actor=actor.user.name,
        details={"reason": reason.strip(), "before": before.model_dump(mode="json"),
                 "after": after.model_dump(mode="json")},
    )  # fmt: skip
    return after
