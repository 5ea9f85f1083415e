"""Captures requested of capture systems, as the ledger knows them: the signed request of each
job (`capture.requested`) and the one bundle each job was sealed as (`job_seals`)."""

from __future__ import annotations

from sqlalchemy import Connection, insert, select

from collector.errors import Refused
from collector.evidence.request import SignedRequest
from collector.store import schema
from collector.store.actions import LedgerAction
from collector.store.ledger import iso, now
from collector.store.store import Store


def claim_job(db: Connection, job_id: str, bundle_id: str, requested_by: str, sealed_by: str) -> None:
    """Record, inside the sealing transaction, that `job_id` is sealed as `bundle_id`; Refused
    when the job was sealed before (the table's primary key refuses it too)."""
    j = schema.job_seals
    found = db.execute(select(j.c.bundle_id).where(j.c.job_id == job_id)).first()
    if found is not None:
        raise Refused(f"job {job_id} was already sealed as {found[0]}: a job is sealed once")
    db.execute(insert(j).values(job_id=job_id, bundle_id=bundle_id, requested_by=requested_by,
                                sealed_by=sealed_by, sealed_at=iso(now())))  # fmt: skip


def sealed_as(store: Store, job_id: str) -> str | None:
    """The bundle a job was sealed as, if it was."""
    j = schema.job_seals
    rows = store.ledger.rows(select(j.c.bundle_id).where(j.c.job_id == job_id))
    return str(rows[0]["bundle_id"]) if rows else None


def recorded_request(store: Store, job_id: str) -> SignedRequest | None:
    """The signed request the ledger recorded for `job_id` (its `capture.requested` event)."""
    ev = schema.events
    found = store.ledger.events_where((ev.c.action == LedgerAction.capture_requested.value)
                                      & (ev.c.subject == job_id) & (ev.c.outcome == "ok"))  # fmt: skip
    if len(found) != 1:
        return None
    return SignedRequest.model_validate(found[0].details["signed"])


def seal_record(store: Store, job_id: str, key: str) -> tuple[bool, str | None]:
    """For verification (`request_check.JobSeals`): whether `job_id` was requested in this store,
    and the bundle its claim `key` was sealed as."""
    return recorded_request(store, job_id) is not None, sealed_as(store, key)


def job_of(store: Store, bundle_id: str) -> tuple[str, str] | None:
    """The job a bundle was sealed for and who requested it, when a capture system sealed it."""
    j = schema.job_seals
    rows = store.ledger.rows(select(j.c.job_id, j.c.requested_by).where(j.c.bundle_id == bundle_id))
    return (str(rows[0]["job_id"]), str(rows[0]["requested_by"])) if rows else None
