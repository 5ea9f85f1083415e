"""The capture queue of an agency store: `worker` and `jobs` (wiring only; see `collector.jobs`)."""

from __future__ import annotations

from typing import Annotated

import typer

from collector.cli.common import JsonOpt, app, echo, emit, open_store, require_actor
from collector.errors import UsageError

STATUSES = ("todo", "doing", "succeeded", "failed", "cancelled", "aborted")


@app.command()
def worker(
    concurrency: Annotated[
        int, typer.Option("--concurrency", metavar="N", help="Captures at once (1 to 8).")
    ] = 1,
    once: Annotated[
        bool, typer.Option("--once", help="Stop when the queue has nothing left to start.")
    ] = False,
) -> None:
    """Run capture jobs from the agency's queue as a capture system (a user of role
    capture-system; its passphrase from $COLLECTOR_PASSPHRASE). Stop with Ctrl-C or SIGTERM:
    the captures under way finish first."""
    from collector import worker as running
    from collector.batch import MAX_CONCURRENCY

    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise UsageError(f"--concurrency must be between 1 and {MAX_CONCURRENCY}")
    from collector.jobs import queue
    from collector.store.roles import Action

    store = open_store()
    queue.conninfo(store)  # an agency store's, or a one-line refusal
    system = require_actor(store)
    store.require(system, Action.capture_job, subject="worker")
    echo(f"worker {system.user.name}: {concurrency} at once; stalled jobs looked for every "
         f"{store.config.queue.stalled_check_s:g}s", err=True)  # fmt: skip
    running.work(store, system, concurrency, once=once, report=lambda line: echo(line, err=True))


@app.command()
def jobs(
    status: Annotated[
        str | None, typer.Option("--status", help=f"Only jobs in this state ({', '.join(STATUSES)}).")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """The agency's capture jobs: queued (todo), running (doing), done (succeeded) and failed,
    each with its request and what came of it."""
    from collector.jobs import listing

    if status is not None and status not in STATUSES:
        raise UsageError(f"--status is one of {', '.join(STATUSES)}")
    store = open_store()
    rows = listing.jobs(store, require_actor(store), status)
    if json_out:
        emit([row.model_dump(mode="json") for row in rows])
        return
    if not rows:
        echo("no jobs")
    for row in rows:
        echo(f"{row.job_id}  {row.status:<9} {row.requested_by:<10} {row.url}"
             + (f"  -> {row.bundle_id}" if row.bundle_id else "")
             + (f"  ({row.detail})" if row.detail and not row.bundle_id else ""))  # fmt: skip
