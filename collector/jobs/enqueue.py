"""`collector capture … --queue`: the investigator signs a capture request and puts it in the
agency's capture queue; a capture system captures it later (`collector worker`)."""

from __future__ import annotations

from typing import Any

from collector.evidence.model import Model
from collector.jobs import queue, requests
from collector.store.actions import LedgerAction
from collector.store.store import Actor, Store


class Queued(Model):
    job_id: str
    queue_id: int
    url: str
    authorization_id: str
    requested_by: str


def enqueue(store: Store, actor: Actor, app: Any, url: str, auth_id: str | None, note: str | None = None,
            batch_id: str | None = None) -> Queued:  # fmt: skip
    """Sign, record and queue one capture; Refused (recorded) when the gate refuses it now."""
    signed = requests.make(store, actor, url, auth_id, note, batch_id)
    asked = signed.request
    queue_id = queue.defer(app, asked.job_id)
    store.ledger.record(LedgerAction.job_queued, actor=actor.user.name, subject=asked.job_id,
                        details={"queue_id": queue_id, "queue": queue.QUEUE, "batch_id": batch_id})  # fmt: skip
    return Queued(job_id=asked.job_id, queue_id=queue_id, url=asked.url,
                  authorization_id=asked.authorization_id, requested_by=actor.user.name)  # fmt: skip
