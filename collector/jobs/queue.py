"""The capture queue of an agency store: Procrastinate on the ledger's PostgreSQL database.

A queued job carries only its job id (`J-…`); the investigator's signed request is in the
ledger (`capture.requested`), so a job put into the queue table by hand has nothing a capture
system will seal. Each job id may wait in the queue once (Procrastinate's queueing lock) and is
sealed at most once (`job_seals`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from collector.errors import CollectorError, UsageError
from collector.store.store import Store

QUEUE = "captures"
TASK = "collector.capture"


def conninfo(store: Store) -> str:
    """The libpq connection string of the store's ledger; UsageError on a workstation store."""
    url = store.config.ledger.url
    if url is None:
        raise UsageError("the capture queue is an agency store's (its ledger in PostgreSQL); a "
                         "workstation store captures in its own command")  # fmt: skip
    return url


@contextlib.contextmanager
def opened(store: Store) -> Iterator[Any]:
    """A Procrastinate app on the store's database, open for deferring and listing (blocking)."""
    import procrastinate

    app = procrastinate.App(connector=procrastinate.SyncPsycopgConnector(conninfo=conninfo(store)))
    try:
        with app.open():
            yield app
    except procrastinate.exceptions.ConnectorException as exc:
        raise CollectorError(f"the capture queue is unreachable: {exc}") from exc


def defer(app: Any, job_id: str) -> int:
    """Queue `job_id`; Procrastinate's id of the queued job."""
    import procrastinate

    try:
        return int(app.configure_task(name=TASK, queue=QUEUE, lock=job_id, queueing_lock=job_id)
                   .defer(job_id=job_id))  # fmt: skip
    except procrastinate.exceptions.AlreadyEnqueued as exc:
        raise UsageError(f"job {job_id} is already waiting in the queue") from exc


def defer_run(app: Any, watch_id: str, run: int) -> int:
    """Queue run `run` of a watch (once: a second attempt, by any worker, is UsageError)."""
    import procrastinate

    claim = f"{watch_id}/{run:05d}"
    try:
        return int(app.configure_task(name=TASK, queue=QUEUE, lock=watch_id, queueing_lock=claim)
                   .defer(job_id=watch_id, run=run))  # fmt: skip
    except procrastinate.exceptions.AlreadyEnqueued as exc:
        raise UsageError(f"run {run} of {watch_id} is already waiting in the queue") from exc


@dataclass(frozen=True)
class QueuedJob:
    """A job as the queue knows it."""

    queue_id: int
    job_id: str
    status: str  # todo, doing, succeeded, failed, cancelled, aborting, aborted
    attempts: int
    scheduled_at: datetime | None


def listed(app: Any, status: str | None = None) -> list[QueuedJob]:
    """The capture queue's jobs, oldest first."""
    found = app.job_manager.list_jobs(queue=QUEUE, task=TASK, status=status)
    return sorted((QueuedJob(int(j.id), str(j.task_kwargs.get("job_id", "")), str(j.status), int(j.attempts),
                             j.scheduled_at) for j in found), key=lambda j: j.queue_id)  # fmt: skip
