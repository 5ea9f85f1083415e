"""Running a watch: one capture per due run, sealed as the watch's run (its signed standing
request in the bundle), compared with the run before; a watch whose end or authorization has
passed is stopped instead."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from collector import capture as capturing
from collector.errors import CollectorError, Refused, UsageError
from collector.store.actions import LedgerAction
from collector.store.ledger import now
from collector.store.store import Actor, Store
from collector.watch import compare, watches

Report = Callable[[str], None]


@dataclass(frozen=True)
class RunResult:
    watch_id: str
    run: int
    outcome: str  # captured, refused, failed, stopped
    bundle_id: str | None
    detail: str
    changes: list[compare.Change]


def run_due(store: Store, actor: Actor, browser: capturing.BrowserCapture | None = None,
            requested_by: str | None = None) -> list[RunResult]:  # fmt: skip
    """One run of every watch that is due now (of `requested_by`'s watches when given); watches
    that have ended are stopped."""
    results = []
    for watch in watches.all_watches(store, requested_by):
        if watch.stopped is not None:
            continue
        at = now()
        why = watches.why_it_ends(store, watch, at)
        if why is not None:
            stop(store, actor, watch, why)
            results.append(RunResult(watch.id, len(watch.runs), "stopped", None, why, []))
        elif watch.next_at() <= at:
            results.append(run_one(store, actor, watch, browser))
    return results


def sealer(store: Store, actor: Actor) -> Actor:
    """Who seals the runs `actor` starts here: the workstation's local capture system when it has
    one (the investigator's key is then let go), else the investigator."""
    system = store.local_capture_actor() if store.config.ledger.url is None else None
    if system is None:
        return actor
    store.ledger.signers.people.pop(actor.user.name, None)
    return system


def next_due(store: Store, requested_by: str | None = None) -> datetime | None:
    """When the next run of a running watch is due."""
    times = [w.next_at() for w in watches.all_watches(store, requested_by) if w.stopped is None]
    return min(times) if times else None


def stop(store: Store, actor: Actor, watch: watches.Watch, why: str) -> None:
    store.ledger.record(LedgerAction.watch_stopped, actor=actor.user.name, subject=watch.id,
                        details={"reason": why, "runs": len(watch.runs)})  # fmt: skip


def run_one(store: Store, actor: Actor, watch: watches.Watch,
            browser: capturing.BrowserCapture | None = None) -> RunResult:  # fmt: skip
    """Capture the watch's next run as `actor` (its requester on a workstation, a capture
    system on an agency store), record it, and compare it with the run before."""
    number = len(watch.runs) + 1
    asked = watch.request
    try:
        requested = _requested(store, watch, number)
        done = capturing.run(store, actor, asked.url, asked.authorization_id, asked.note,
                             browser=browser, requested=requested)  # fmt: skip
    except (Refused, UsageError) as exc:
        result = RunResult(watch.id, number, "refused", None, str(exc), [])
    except CollectorError as exc:
        result = RunResult(watch.id, number, "failed", None, str(exc), [])
    else:
        result = RunResult(watch.id, number, "captured", done.bundle_id, done.final_url, [])
    store.ledger.record(LedgerAction.watch_run, "ok" if result.outcome == "captured" else
                        ("refused" if result.outcome == "refused" else "failed"),
                        actor=actor.user.name, subject=watch.id,
                        details={"run": number, "state": result.outcome, "bundle_id": result.bundle_id,
                                 "detail": result.detail[:2000]})  # fmt: skip
    if result.bundle_id is not None:
        result = _compared(store, actor, watch, result)
    elif (why := watches.why_it_ends(store, watch, now())) is not None:
        stop(store, actor, watch, why)
    return result


def _requested(store: Store, watch: watches.Watch, number: int) -> capturing.Requested:
    """The run as a requested capture: the requester's signature and certificate must still hold."""
    try:
        return capturing.requested_for(store, watch.signed, run=number)
    except Refused as exc:
        raise Refused(f"watch {watch.id}: {exc}") from None


def _compared(store: Store, actor: Actor, watch: watches.Watch, result: RunResult) -> RunResult:
    previous = watch.last_captured()
    if previous is None or previous.bundle_id is None:
        return result
    before, after = store.ledger.bundle(previous.bundle_id), store.ledger.bundle(str(result.bundle_id))
    if before is None or after is None:
        return result
    found = compare.compare(store, before, after)
    if found.changes:
        store.ledger.record(LedgerAction.watch_changed, actor=actor.user.name, subject=watch.id,
                            details={"run": result.run, "bundle_id": result.bundle_id,
                                     "previous_run": previous.number, "previous_bundle_id": previous.bundle_id,
                                     "changes": [c.model_dump(mode="json") for c in found.changes],
                                     "screenshot_distance": found.screenshot_distance,
                                     "first_screen_distance": found.first_screen_distance})  # fmt: skip
    return RunResult(result.watch_id, result.run, result.outcome, result.bundle_id, result.detail, found.changes)
