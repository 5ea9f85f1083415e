"""What `watch show` and `watch list` print, and stopping a watch by hand."""

from __future__ import annotations

from datetime import datetime

from collector.errors import Refused, UsageError
from collector.evidence.model import Model
from collector.store.actions import LedgerAction
from collector.store.model import LedgerEvent, Role
from collector.store.roles import Action
from collector.store.store import Actor, Identity, Store
from collector.watch import run, watches


class Entry(Model):
    at: datetime
    run: int
    kind: str  # run, change
    line: str


class Timeline(Model):
    id: str
    url: str
    authorization_id: str
    requested_by: str
    every_s: int
    until: datetime
    entries: list[Entry]
    stopped: str | None = None


class Summary(Model):
    id: str
    url: str
    requested_by: str
    runs: int
    changes: int
    deleted: bool
    stopped: bool


def timeline(store: Store, actor: Identity, watch_id: str) -> Timeline:
    """The watch's runs and changes in order."""
    store.require(actor, Action.read, subject=watch_id)
    watch = watches.recorded(store, watch_id)
    entries = [Entry(at=r.at, run=r.number, kind="run",
                     line=f"run {r.number}: {r.outcome}" + (f" {r.bundle_id}" if r.bundle_id else f" ({r.detail})"))
               for r in watch.runs]  # fmt: skip
    for event in watch.changes:
        d = event.details
        for change in _changes(event):
            entries.append(Entry(at=event.at, run=int(str(d["run"])), kind="change",
                                 line=f"run {d['run']} vs run {d['previous_run']}: {change['kind']}: {change['field']} "
                                      f"{change.get('before')!s} -> {change.get('after')!s}"))  # fmt: skip
    entries.sort(key=lambda e: (e.run, e.kind != "run", e.at))
    repeat = watch.repeat
    stopped = None
    if watch.stopped is not None:
        stopped = f"{watch.stopped.at:%Y-%m-%d %H:%M:%SZ}: {watch.stopped.details.get('reason')}"
    return Timeline(id=watch.id, url=watch.request.url, authorization_id=watch.request.authorization_id,
                    requested_by=watch.request.requested_by, every_s=repeat.every_s, until=repeat.until,
                    entries=entries, stopped=stopped)  # fmt: skip


def summaries(store: Store, actor: Identity) -> list[Summary]:
    store.require(actor, Action.read, subject="watches")
    out = []
    for w in watches.all_watches(store):
        kinds = [c.get("kind") for e in w.changes for c in _changes(e)]
        out.append(Summary(id=w.id, url=w.request.url, requested_by=w.request.requested_by, runs=len(w.runs),
                           changes=len(kinds), deleted="deleted-or-hidden" in kinds, stopped=w.stopped is not None))  # fmt: skip
    return out


def _changes(event: LedgerEvent) -> list[dict[str, object]]:
    found = event.details.get("changes")
    return [c for c in found if isinstance(c, dict)] if isinstance(found, list) else []


def stop(store: Store, actor: Actor, watch_id: str, reason: str) -> None:
    watch = watches.recorded(store, watch_id)
    if watch.stopped is not None:
        raise UsageError(f"watch {watch_id} was stopped already")
    if actor.user.name != watch.request.requested_by and actor.user.role is not Role.supervisor:
        reason = f"only {watch.request.requested_by}, who started it, or a supervisor stops {watch_id}"
        store.ledger.record(LedgerAction.denied_watch_stopped, "refused", actor=actor.user.name,
                            subject=watch_id, details={"reason": reason})  # fmt: skip
        raise Refused(reason)
    run.stop(store, actor, watch, f"stopped by {actor.user.name}: {reason}")
