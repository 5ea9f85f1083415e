"""Reviews owed by supervisors: exigent captures awaiting review and quarantined
(protected-content) bundles awaiting a decision, each with its deadline. Read by
`collector review pending`, the web application's review page and its dashboard."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from collector.evidence.model import Model
from collector.policy import exigent, protected
from collector.store.model import AuthStatus
from collector.store.store import Store


class OwedReview(Model):
    kind: Literal["exigent", "protected"]
    id: str
    """An authorization id (exigent) or a bundle id (protected)."""
    due: datetime | None


def owed(store: Store) -> list[OwedReview]:
    """Exigent authorizations not yet reviewed, then quarantined bundles not yet decided."""
    found = [
        OwedReview(kind="exigent", id=a.id, due=exigent.review_due(store, a))
        for a in store.ledger.authorizations()
        if a.status is AuthStatus.exigent
    ]
    found += [OwedReview(kind="protected", id=b, due=due) for b, due in protected.pending(store)]
    return found
