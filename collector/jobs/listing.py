"""`collector jobs`: each job of the capture queue with its recorded request and its end."""

from __future__ import annotations

from collector.evidence.model import Model
from collector.jobs import queue
from collector.store import schema
from collector.store.actions import LedgerAction
from collector.store.roles import Action
from collector.store.store import Identity, Store


class JobRow(Model):
    queue_id: int
    job_id: str
    status: str
    attempts: int
    url: str
    authorization_id: str
    requested_by: str
    requested_at: str
    bundle_id: str | None = None
    sealed_by: str | None = None
    detail: str | None = None


def jobs(store: Store, actor: Identity, status: str | None = None) -> list[JobRow]:
    """The queue's jobs, oldest first; readable by whoever may read the store."""
    store.require(actor, Action.read, subject="jobs")
    with queue.opened(store) as app:
        queued = queue.listed(app, status)
    ev = schema.events
    ids = [j.job_id for j in queued]
    asked_for = (LedgerAction.capture_requested.value, LedgerAction.watch_started.value)
    requests = {e.subject: e for e in store.ledger.events_where(
        ev.c.action.in_(asked_for) & ev.c.subject.in_(ids))}  # fmt: skip
    ends = {e.subject: e for e in store.ledger.events_where(
        (ev.c.action == LedgerAction.job_ended.value) & ev.c.subject.in_(ids))}  # later ends win
    rows = []
    for job in queued:
        asked = requests.get(job.job_id)
        signed = asked.details.get("signed") if asked is not None else None
        request: dict[str, object] = signed.get("request", {}) if isinstance(signed, dict) else {}
        end = ends.get(job.job_id)
        rows.append(JobRow(
            queue_id=job.queue_id, job_id=job.job_id, status=job.status, attempts=job.attempts,
            url=str(request.get("url", "(no recorded request)")),
            authorization_id=str(request.get("authorization_id", "")),
            requested_by=str(request.get("requested_by", "")), requested_at=str(request.get("requested_at", "")),
            bundle_id=str(end.details["bundle_id"]) if end is not None and end.details.get("bundle_id") else None,
            sealed_by=end.actor if end is not None and end.outcome == "ok" else None,
            detail=str(end.details.get("detail")) if end is not None else None,
        ))  # fmt: skip
    return rows
