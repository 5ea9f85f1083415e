"""Standing warnings every command shows: what the policy says is overdue."""

from __future__ import annotations

from datetime import timedelta

from collector.policy import exigent, protected, retention
from collector.store.ledger import now
from collector.store.store import Store


def warnings(store: Store) -> list[str]:
    """Overdue annual policy review, overdue exigent-capture reviews (and other owed reviews)."""
    found = []
    policy = store.config.policy
    age = now().date() - policy.last_reviewed
    if age > timedelta(days=policy.review_interval_days):
        found.append(
            f"the annual policy review is overdue: last reviewed {policy.last_reviewed} "
            f"({age.days} days ago; `collector policy reviewed` records a review)"
        )
    for auth in exigent.overdue(store):
        found.append(
            f"exigent capture {auth.id} by {auth.requested_by} awaits a supervisor's review, "
            f"due {exigent.review_due(store, auth):%Y-%m-%d %H:%M}Z (`collector auth review`)"
        )
    for bundle_id, due in protected.overdue(store):
        found.append(
            f"bundle {bundle_id} awaits a protected-content review, due {due:%Y-%m-%d %H:%M}Z "
            "(`collector review protected`)"
        )
    today = now().date()
    overdue_retention = [s for s in retention.due(store) if (s.days_overdue(today) or 0) > 0]
    if overdue_retention:
        found.append(
            f"{len(overdue_retention)} bundle(s) overdue for retention review or purge "
            "(`collector retention due`)"
        )
    return found
