"""Watches as the ledger records them: starting one, reading one back, and which runs are due."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from collector import capture as capturing
from collector.errors import UsageError
from collector.evidence import request as requests
from collector.evidence.model import CaptureRequest, Repeat
from collector.store import schema
from collector.store.actions import LedgerAction
from collector.store.ledger import now
from collector.store.model import AuthStatus, LedgerEvent
from collector.store.roles import Action
from collector.store.store import Actor, Store

_EVERY = re.compile(r"^(\d+)([smhd])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MIN_EVERY_S = 1
"""The shortest interval accepted (a policy may want more; every run is a capture)."""


def parse_every(text: str) -> int:
    """`30s`, `15m`, `6h`, `2d` in seconds; UsageError otherwise."""
    match = _EVERY.match(text.strip())
    if match is None or int(match.group(1)) * _UNIT_S[match.group(2)] < MIN_EVERY_S:
        raise UsageError(f"--every {text!r}: a number and a unit, s, m, h or d (for example 6h)")
    return int(match.group(1)) * _UNIT_S[match.group(2)]


@dataclass
class Run:
    number: int
    at: datetime
    outcome: str  # captured, refused, failed
    bundle_id: str | None
    detail: str


@dataclass
class Watch:
    """A watch read back from the ledger."""

    id: str
    signed: requests.SignedRequest
    started: LedgerEvent
    runs: list[Run] = field(default_factory=list)
    changes: list[LedgerEvent] = field(default_factory=list)
    stopped: LedgerEvent | None = None

    @property
    def request(self) -> CaptureRequest:
        return self.signed.request

    @property
    def repeat(self) -> Repeat:
        assert self.request.repeat is not None
        return self.request.repeat

    def next_at(self) -> datetime:
        """When the next run is due."""
        if not self.runs:
            return self.request.requested_at
        return self.runs[-1].at + timedelta(seconds=self.repeat.every_s)

    def last_captured(self) -> Run | None:
        return next((r for r in reversed(self.runs) if r.bundle_id), None)


def start(store: Store, actor: Actor, url: str, auth_id: str | None, every_s: int,
          until: datetime | None, note: str | None = None) -> Watch:  # fmt: skip
    """Sign and record a watch; the gate judges the URL now. It ends at `until`, at the latest
    when the authorization does (a later `until` is cut to it, and the watch says so)."""
    store.require(actor, Action.capture, subject=auth_id)
    auth, allowed = capturing.judge(store, actor, url, auth_id)
    at = now()
    assert auth.valid_until is not None
    end = min(until, auth.valid_until) if until is not None else auth.valid_until
    if end <= at:
        raise UsageError("--until is in the past")
    asked = CaptureRequest(job_id=requests.new_job_id(at, watch=True), url=url, authorization_id=auth.id, note=note,
                           requested_by=actor.user.name, key_fingerprint=actor.user.key_fingerprint,
                           requested_at=at, repeat=Repeat(every_s=every_s, until=end))  # fmt: skip
    signed = requests.sign(asked, actor.key)
    store.ledger.record(LedgerAction.watch_started, actor=actor.user.name, subject=asked.job_id,
                        details={"signed": signed.model_dump(mode="json"), "url": allowed.url.normalized,
                                 "authorization_id": auth.id, "every_s": every_s, "until": end.isoformat(),
                                 "until_cut_to_authorization": until is not None and until > end})  # fmt: skip
    return recorded(store, asked.job_id)


def recorded(store: Store, watch_id: str) -> Watch:
    """A watch and its history; UsageError when there is none of that id."""
    ev = schema.events
    events = store.ledger.events_where((ev.c.subject == watch_id) & ev.c.action.like("watch.%"))
    started = next((e for e in events if e.action == LedgerAction.watch_started.value), None)
    if started is None:
        raise UsageError(f"no watch {watch_id!r} in this store")
    watch = Watch(watch_id, requests.SignedRequest.model_validate(started.details["signed"]), started)
    for e in events:
        if e.action == LedgerAction.watch_run.value:
            d = e.details
            watch.runs.append(Run(int(str(d["run"])), e.at, str(d["state"]),
                                  str(d["bundle_id"]) if d.get("bundle_id") else None, str(d.get("detail", ""))))  # fmt: skip
        elif e.action == LedgerAction.watch_changed.value:
            watch.changes.append(e)
        elif e.action == LedgerAction.watch_stopped.value:
            watch.stopped = e
    return watch


def all_watches(store: Store, requested_by: str | None = None) -> list[Watch]:
    ev = schema.events
    started = store.ledger.events_where(ev.c.action == LedgerAction.watch_started.value)
    found = [recorded(store, str(e.subject)) for e in started]
    return [w for w in found if requested_by is None or w.request.requested_by == requested_by]


def why_it_ends(store: Store, watch: Watch, at: datetime) -> str | None:
    """Why the watch ends now (its end passed, its authorization revoked, expired or gone), or
    None while it runs."""
    if at > watch.repeat.until:
        return f"its end {watch.repeat.until:%Y-%m-%d %H:%M:%SZ} passed"
    auth = store.ledger.authorization(watch.request.authorization_id)
    if auth is None:
        return f"authorization {watch.request.authorization_id} is not in this store"
    if auth.status is not AuthStatus.approved:
        return f"authorization {auth.id} is {auth.status.value}"
    if auth.valid_until is not None and at > auth.valid_until:
        return f"authorization {auth.id} expired {auth.valid_until:%Y-%m-%d %H:%M:%SZ}"
    return None
