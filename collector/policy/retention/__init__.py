"""Documentation and retention: review and purge dates, reviews, legal holds and purges.

Nothing here is a mutable status field. A bundle's retention state is derived, each time,
from three things: its policy class (`Policy.retention_classes`), its capture time
(`data/metadata.json`, or the ledger once the files are gone) and its custody log:

* `reviewed` events with `details["kind"] == "retention"`: a supervisor's review. A
  `retain` decision starts a new period from the review date (28 CFR 23.20(h)); on a
  `purge-unless-promoted` class it is the promotion. A `purge` decision opens a purge
  request. (`kind == "exigent"` events with `purge_review` are the gate's rejected
  exigent captures: they make a purge review due at once.)
* `held` / `released`: the legal hold, which overlays everything. A held bundle is never
  due for purge and cannot be purged.
* `purged`: the last word. The files are gone; the ledger rows and the custody log remain.

Purge requests, their approvals and the tombstones of purged bundles are rows in three
append-only tables (triggers refuse UPDATE and DELETE); a request's state (pending,
superseded, purged) is derived from them and the custody log. A purge takes
`Policy.purge_approvals` distinct people: the requester plus supervisors who are not the
requester (separation of duties).

Who may do what (checked here, refusals recorded as `denied.<what>`):
reviews and purge approvals: supervisors (the reviewer with authority over continuing
reasonable suspicion); holds and releases: custodians and supervisors; purge requests:
custodians (`collector purge`) or a supervisor's `review --purge`.

Nothing here prints or exits: bad input is a `UsageError` (exit 2), a refusal a recorded
`Refused` (exit 3), and verifying a purged bundle raises `BundlePurged` (exit 5).

Modules: `model`, `state` (reading), `decide` (reviews and holds), `purge`.
"""

from __future__ import annotations

from collector.policy.retention.decide import hold, release, review
from collector.policy.retention.model import PurgeOutcome, PurgeRequest, RetentionState
from collector.policy.retention.purge import approve_purge, request_purge
from collector.policy.retention.state import due, purge_requests, state, states, today

__all__ = [
    "PurgeOutcome",
    "PurgeRequest",
    "RetentionState",
    "approve_purge",
    "due",
    "hold",
    "purge_requests",
    "release",
    "request_purge",
    "review",
    "state",
    "states",
    "today",
]
