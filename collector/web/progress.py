"""A batch's progress as the Capture pages show it, read from the ledger (`batch.started`,
`batch.item`, `job.ended`) and, on an agency store, from the capture queue (`collector jobs`):
each URL queued, running, captured (its bundle, page state and post summary), refused or
failed (with why)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from collector.errors import CollectorError, UsageError
from collector.jobs import listing
from collector.policy.viewing import open_metadata
from collector.store import schema
from collector.store.actions import LedgerAction
from collector.store.model import Authorization, AuthStatus
from collector.store.store import Identity, Store
from collector.web import views

FINAL = ("captured", "refused", "failed")
FIRST_WORDS = 200
"""Characters of a post's text shown on the progress page (the bundle page shows it all)."""


@dataclass
class ItemView:
    number: int
    url: str
    note: str | None
    state: str = "queued"  # queued, running, captured, refused, failed
    detail: str = ""
    job_id: str | None = None
    bundle_id: str | None = None
    page_state: str | None = None
    post: views.PostCard | None = None
    first_words: str | None = None
    hidden: str | None = None
    """Why the capture's summary is not shown to this user (the bundle page says the same)."""


@dataclass
class BatchView:
    id: str
    authorization_id: str
    started_by: str
    started_at: datetime
    items: list[ItemView]
    queued_for_workers: bool
    queue_problem: str | None = None
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return all(i.state in FINAL for i in self.items)


def batch_view(store: Store, who: Identity, batch_id: str, summaries: bool = True) -> BatchView:
    """The batch `batch_id` as it stands (with each capture's summary unless `summaries` is
    False); UsageError when there is no such batch."""
    ev = schema.events
    events = store.ledger.events_where(
        (ev.c.subject == batch_id)
        & ev.c.action.in_([LedgerAction.batch_started.value, LedgerAction.batch_item.value])
    )
    started = next((e for e in events if e.action == LedgerAction.batch_started.value), None)
    if started is None:
        raise UsageError(f"no batch {batch_id!r} in this store")
    raw = started.details.get("items")
    items = [ItemView(n, str(i.get("url")), _text(i.get("note")))
             for n, i in enumerate(raw if isinstance(raw, list) else [], 1) if isinstance(i, dict)]  # fmt: skip
    by_number = {i.number: i for i in items}
    for e in events:
        item = by_number.get(_int(e.details.get("item")))
        if item is None or e.action != LedgerAction.batch_item.value:
            continue
        state, job_id = str(e.details.get("state")), _text(e.details.get("job_id"))
        item.job_id = job_id or item.job_id
        if state == "started":
            item.state = "running"
        elif state in ("captured", "refused", "failed", "queued"):
            item.state, item.detail = state, str(e.details.get("detail") or "")
            item.bundle_id = _text(e.details.get("bundle_id"))
    view = BatchView(batch_id, str(started.details.get("authorization")), str(started.actor), started.at, items,
                     queued_for_workers=store.config.ledger.url is not None)  # fmt: skip
    if view.queued_for_workers:
        _from_the_queue(store, who, view)
    for item in items if summaries else []:
        if item.state == "captured" and item.bundle_id:
            _summary(store, who, item)
    view.counts = {s: sum(1 for i in items if i.state == s) for s in ("queued", "running", *FINAL)}
    return view


def _from_the_queue(store: Store, who: Identity, view: BatchView) -> None:
    """Queued items' states from the capture queue and the workers' `job.ended` events."""
    waiting = {i.job_id: i for i in view.items if i.state == "queued" and i.job_id}
    if not waiting:
        return
    try:
        status = {row.job_id: row.status for row in listing.jobs(store, who) if row.job_id in waiting}
    except CollectorError as exc:
        view.queue_problem = str(exc)
        status = {}
    ev = schema.events
    ends = {e.subject: e for e in store.ledger.events_where(
        (ev.c.action == LedgerAction.job_ended.value) & ev.c.subject.in_(list(waiting)))}  # later ends win
    for job_id, item in waiting.items():
        end = ends.get(job_id)
        if end is not None:
            item.detail = str(end.details.get("detail") or "")
            if end.outcome == "ok" and end.details.get("bundle_id"):
                item.state, item.bundle_id = "captured", str(end.details["bundle_id"])
            else:
                item.state = end.outcome  # refused or failed
        elif status.get(job_id) == "doing":
            item.state = "running"


def _summary(store: Store, who: Identity, item: ItemView) -> None:
    """The capture's page state and post, from its sealed metadata (as the bundle page reads it)."""
    assert item.bundle_id is not None
    try:
        _row, meta = open_metadata(store, who, item.bundle_id)
    except CollectorError as exc:
        item.hidden = str(exc)
        return
    item.page_state = views.page_state(meta)
    item.post = views.post_card(meta)
    text = " ".join((item.post.text or "").split()) if item.post else ""
    if text:
        item.first_words = text if len(text) <= FIRST_WORDS else text[:FIRST_WORDS] + "…"


def usable(store: Store, who: Identity) -> list[Authorization]:
    """The authorizations `who` may capture under now: approved, unexpired, naming them."""
    at = datetime.now(UTC)
    return [a for a in store.ledger.authorizations()
            if a.status is AuthStatus.approved and who.user.name in a.investigators
            and (a.valid_until is None or a.valid_until > at)]  # fmt: skip


def unfinished(store: Store, who: Identity, newest: int = 20) -> list[BatchView]:
    """Of the `newest` batches `who` started, those with URLs not captured, refused or failed yet."""
    views = [batch_view(store, who, b, summaries=False) for b in batches_of(store, who.user.name)[:newest]]
    return [v for v in views if not v.finished]


def batches_of(store: Store, user: str) -> list[str]:
    """The ids of the batches `user` started, newest first."""
    ev = schema.events
    found = store.ledger.events_where(
        (ev.c.action == LedgerAction.batch_started.value) & (ev.c.actor == user))
    return [str(e.subject) for e in reversed(found)]


def _text(value: object) -> str | None:
    return str(value) if value not in (None, "") else None


def _int(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0
