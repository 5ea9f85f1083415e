"""A capture worker (`collector worker`): takes jobs from the agency's capture queue and captures
each as its capture system, several at once in one shared browser. It also runs the agency's
watches: every `queue.poll_s` it queues the run each due watch owes (one queued run per watch
and run number, whichever worker queues it) and stops the watches that have ended.

Procrastinate leaves a job whose worker was killed in `doing`; every worker therefore looks for
stalled jobs every `queue.stalled_check_s` seconds (60 by default) — jobs whose worker has not
said it is alive for `queue.stalled_after_s` — and puts them back in the queue. Whatever the
timing, a job is sealed at most once (`job_seals`): a second capture of it is refused at sealing
and counts as done, not as a failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable
from typing import Any, Literal

from collector import capture as capturing
from collector.errors import CollectorError, Refused, UsageError
from collector.jobs import queue
from collector.jobs import run as jobs
from collector.store import jobs as seals
from collector.store.actions import LedgerAction
from collector.store.ledger import now
from collector.store.store import Actor, Store
from collector.watch import run as watching
from collector.watch import watches

logger = logging.getLogger("collector.worker")

Report = Callable[[str], None]


def work(store: Store, system: Actor, concurrency: int, *, once: bool = False,
         report: Report | None = None) -> None:  # fmt: skip
    """Run capture jobs until stopped (SIGINT or SIGTERM: the captures under way finish first);
    with `once`, until the queue has nothing left to start."""
    import procrastinate

    tell = report or (lambda _line: None)
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(
        conninfo=queue.conninfo(store), min_size=1, max_size=concurrency + 3))  # fmt: skip
    with capturing.shared_browser(store) as host:

        @app.task(name=queue.TASK, queue=queue.QUEUE)
        def capture(job_id: str, run: int | None = None) -> dict[str, str]:
            if run is not None:
                return _watch_run(store, system, job_id, run, host.capture, tell)
            return _one(store, system, job_id, host.capture, tell)

        asyncio.run(_serve(app, store, system, concurrency, once, tell))


def _one(store: Store, system: Actor, job_id: str, browser: capturing.BrowserCapture,
         tell: Report) -> dict[str, str]:  # fmt: skip
    """One job, its end recorded in the ledger; raises (the queue marks it failed) unless sealed."""
    tell(f"{job_id}: capturing")
    try:
        done = jobs.run(store, system, job_id, browser=browser)
    except jobs.AlreadySealed as exc:
        return _ended(store, system, job_id, "ok", {"bundle_id": exc.bundle_id, "detail": "sealed before"}, tell)
    except Refused as exc:
        sealed = seals.sealed_as(store, job_id)
        if sealed is not None:  # another worker sealed it while this one captured
            return _ended(store, system, job_id, "ok", {"bundle_id": sealed, "detail": str(exc)}, tell)
        _ended(store, system, job_id, "refused", {"detail": str(exc)}, tell)
        raise
    except CollectorError as exc:
        _ended(store, system, job_id, "failed", {"detail": str(exc)}, tell)
        raise
    return _ended(store, system, job_id, "ok", {"bundle_id": done.bundle_id, "detail": done.final_url}, tell)


def _ended(store: Store, system: Actor, job_id: str, outcome: Literal["ok", "refused", "failed"],
           details: dict[str, str], tell: Report) -> dict[str, str]:  # fmt: skip
    store.ledger.record(LedgerAction.job_ended, outcome, actor=system.user.name, subject=job_id,
                        details={**details, "machine": socket.gethostname()})  # fmt: skip
    tell(f"{job_id}: {'sealed ' + details['bundle_id'] if outcome == 'ok' else outcome}"
         f"{'' if outcome == 'ok' else ': ' + details['detail']}")  # fmt: skip
    return details


def _watch_run(store: Store, system: Actor, watch_id: str, number: int, browser: capturing.BrowserCapture,
               tell: Report) -> dict[str, str]:  # fmt: skip
    """Run `number` of a watch, unless it was run or the watch stopped since it was queued."""
    watch = watches.recorded(store, watch_id)
    if watch.stopped is not None or len(watch.runs) >= number:
        return {"detail": "run already made, or the watch stopped"}
    result = watching.run_one(store, system, watch, browser)
    tell(f"{watch_id} run {result.run}: {result.outcome}"
         + (f" {result.bundle_id}" if result.bundle_id else f": {result.detail}")
         + "".join(f"; {c.kind} {c.field}" for c in result.changes))  # fmt: skip
    return {"bundle_id": result.bundle_id or "", "detail": result.outcome}


def _queue_due_watches(app: Any, store: Store, system: Actor, tell: Report) -> None:
    """Queue each due watch's next run; stop the watches that have ended (blocking)."""
    for watch in watches.all_watches(store):
        if watch.stopped is not None:
            continue
        at = now()
        why = watches.why_it_ends(store, watch, at)
        if why is not None:
            watching.stop(store, system, watch, why)
            tell(f"{watch.id}: stopped ({why})")
        elif watch.next_at() <= at:
            number = len(watch.runs) + 1
            with contextlib.suppress(UsageError):  # queued already, by this worker or another
                queue.defer_run(app, watch.id, number)


async def _schedule(app: Any, store: Store, system: Actor, tell: Report) -> None:
    """Every `poll_s`: the watches' due runs into the queue."""
    from procrastinate import App, SyncPsycopgConnector

    deferrer = App(connector=SyncPsycopgConnector(conninfo=queue.conninfo(store)))
    with deferrer.open():
        while True:
            try:
                await asyncio.to_thread(_queue_due_watches, deferrer, store, system, tell)
            except Exception as exc:  # a lost connection: try again at the next poll
                logger.warning("scheduling watches failed: %s", exc)
            await asyncio.sleep(store.config.queue.poll_s)


async def _serve(app: Any, store: Store, system: Actor, concurrency: int, once: bool,
                 tell: Report) -> None:  # fmt: skip
    settings = store.config.queue
    async with app.open_async():
        watcher = asyncio.create_task(_retry_stalled(app, store, system, tell))
        scheduler = None if once else asyncio.create_task(_schedule(app, store, system, tell))
        try:
            await app.run_worker_async(
                queues=[queue.QUEUE], concurrency=concurrency, wait=not once,
                name=f"{system.user.name}@{socket.gethostname()}",
                update_heartbeat_interval=settings.heartbeat_s,
                stalled_worker_timeout=settings.stalled_after_s,
                fetch_job_polling_interval=settings.poll_s,
                abort_job_polling_interval=settings.poll_s,
                install_signal_handlers=True,
            )  # fmt: skip
        finally:
            watcher.cancel()
            if scheduler is not None:
                scheduler.cancel()


async def _retry_stalled(app: Any, store: Store, system: Actor, tell: Report) -> None:
    """Every `stalled_check_s`: put back in the queue the running jobs of workers that stopped
    saying they are alive, each recorded as `job.retried`."""
    settings = store.config.queue
    while True:
        await asyncio.sleep(settings.stalled_check_s)
        try:
            stalled = await app.job_manager.get_stalled_jobs(
                queue=queue.QUEUE, seconds_since_heartbeat=settings.stalled_after_s)  # fmt: skip
            for job in stalled:
                await app.job_manager.retry_job(job)
                job_id = str(job.task_kwargs.get("job_id", ""))
                await asyncio.to_thread(
                    store.ledger.record, LedgerAction.job_retried, actor=system.user.name, subject=job_id,
                    details={"queue_id": job.id, "stalled_worker": job.worker_id, "attempts": job.attempts,
                             "stalled_after_s": settings.stalled_after_s})  # fmt: skip
                tell(f"{job_id}: its worker stopped answering; back in the queue")
        except Exception as exc:  # a lost race or a lost connection: try again at the next check
            logger.warning("looking for stalled jobs failed: %s", exc)


__all__ = ["work"]
