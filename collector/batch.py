"""A batch of captures (`collector capture --from FILE`): a list of URLs, each through the gate
on its own and sealed as its own bundle; a failing or refused URL never stops the others.
One Chromium serves the batch, each capture in a fresh, isolated context of it, up to
`--concurrency` at once (each in a thread of its own: the gate, sealing and the ledger run
as they do for one capture; the ledger serialises its writers).

A batch has an id (`BATCH-…`) recorded in the ledger with its URLs (`batch.started`), and each
URL's outcome (`batch.item`: captured with its bundle id, refused or failed, with why).
`--resume BATCH` captures what the batch has not captured yet: a URL counts as captured once
its `batch.item` says so, or once a bundle of that URL was sealed by the same investigator after
the URL's attempt began (a batch killed between sealing and recording its item).
"""

from __future__ import annotations

import csv
import hashlib
import io
import secrets
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed, wait
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import select

from collector import capture as capturing
from collector.errors import CollectorError, Refused, UsageError
from collector.evidence import files
from collector.evidence.text import MAX_LINE
from collector.evidence.urls import parse_url
from collector.jobs import requests
from collector.jobs import run as jobs
from collector.store import schema
from collector.store.actions import LedgerAction
from collector.store.ledger import now
from collector.store.store import Actor, Store

if TYPE_CHECKING:
    from collector.browser import SharedBrowser

MAX_LIST = 5 * files.MIB
MAX_URLS = 1000
"""URLs in one batch: its list is recorded whole in the ledger's `batch.started` event."""

Outcome = Literal["captured", "queued", "refused", "failed"]


@dataclass(frozen=True)
class Item:
    """One line of the list: a URL and the investigator's note for it."""

    url: str
    note: str | None = None


@dataclass
class ItemResult:
    number: int
    url: str
    outcome: Outcome
    bundle_id: str | None = None
    detail: str = ""
    resumed: bool = False

    def as_json(self) -> dict[str, object]:
        return {"item": self.number, "url": self.url, "outcome": self.outcome, "bundle_id": self.bundle_id,
                "detail": self.detail, "already_captured": self.resumed}  # fmt: skip


def read_list(path: Path) -> list[Item]:
    """The URLs of a list file: one a line (blank lines and `#` comments skipped), or CSV whose
    header is `url,note`. Bad input is one line naming the line number."""
    return parse_list(files.read_text(path, "--from", MAX_LIST), f"--from {path}")


def parse_list(text: str, where: str) -> list[Item]:
    """The URLs of a list's text (as `read_list`); errors name `where` and the line number."""
    lines = text.splitlines()
    first = next((line.strip() for line in lines if line.strip()), "")
    items: list[Item] = []
    if first.replace(" ", "").lower() == "url,note":
        rows = csv.reader(io.StringIO(text))
        for number, row in enumerate(rows, 1):
            if not row or not "".join(row).strip() or row[0].strip().startswith("#"):
                continue
            if [c.strip().lower() for c in row] == ["url", "note"]:
                continue
            if len(row) > 2:
                raise UsageError(f"{where} line {number}: expected url,note (quote a note with commas)")
            items.append(_item(where, number, row[0], row[1] if len(row) > 1 else None))
    else:
        for number, line in enumerate(lines, 1):
            if line.strip() and not line.strip().startswith("#"):
                items.append(_item(where, number, line, None))
    return _counted(items, where)


def items_of(rows: list[tuple[str, str | None]], where: str) -> list[Item]:
    """(url, note) pairs given otherwise than as a list's text (the JSON API), checked as a
    list's lines are; errors name `where` and the item's number."""
    return _counted([_item(where, n, url, note) for n, (url, note) in enumerate(rows, 1)], where)


def _counted(items: list[Item], where: str) -> list[Item]:
    if not items:
        raise UsageError(f"{where}: no URLs in it")
    if len(items) > MAX_URLS:
        raise UsageError(f"{where}: {len(items)} URLs; a batch holds at most {MAX_URLS}")
    return items


def _item(where: str, number: int, url: str, note: str | None) -> Item:
    url, note = url.strip(), (note.strip() or None) if note is not None else None
    for value in (url, note or ""):
        if len(value) > MAX_LINE or any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise UsageError(f"{where} line {number}: too long, or holds control characters")
    if " " in url:
        raise UsageError(f"{where} line {number}: a URL holds no spaces")
    return Item(url, note)


def new_batch_id(at: datetime) -> str:
    return f"BATCH-{at.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(4).upper()}"


def start(store: Store, actor: Actor, items: list[Item], auth_id: str, source: str) -> str:
    """Record a new batch (its list from `source`: a file's name, or the web form); its id."""
    batch_id = new_batch_id(now())
    listing = "".join(f"{i.url}\t{i.note or ''}\n" for i in items)
    store.ledger.record(LedgerAction.batch_started, actor=actor.user.name, subject=batch_id,
                        details={"authorization": auth_id, "file": source, "count": len(items),
                                 "items": [{"url": i.url, "note": i.note} for i in items],
                                 "items_sha256": hashlib.sha256(listing.encode()).hexdigest()})  # fmt: skip
    return batch_id


def recorded(store: Store, batch_id: str) -> tuple[str, list[Item], str]:
    """A recorded batch: its authorization, its items and who started it."""
    ev = schema.events
    found = store.ledger.events_where((ev.c.action == LedgerAction.batch_started.value) & (ev.c.subject == batch_id))
    if not found:
        raise UsageError(f"no batch {batch_id!r} in this store")
    details = found[0].details
    raw = details.get("items")
    if not isinstance(raw, list):
        raise UsageError(f"batch {batch_id} records no items")
    items = [Item(str(i["url"]), i.get("note")) for i in raw if isinstance(i, dict)]
    return str(details.get("authorization")), items, str(found[0].actor)


MAX_CONCURRENCY = 8
"""Captures of one batch running at once (each a browser context of the batch's Chromium)."""


def run(store: Store, actor: Actor, batch_id: str, auth_id: str, items: list[Item],
        on_start: Callable[[int, str], None] | None = None, concurrency: int = 1) -> Iterator[ItemResult]:  # fmt: skip
    """Capture every item the batch has not captured yet, `concurrency` at a time in one shared
    browser, yielding each outcome as it is known (`on_start` hears of each capture as it
    begins). Interrupted, the captures under way fail and leave nothing; Interrupted is raised
    once they have stopped.

    On a workstation store with a local capture system, the investigator first signs a capture
    request for every item (each judged by the gate now); their key is then let go, and the
    local capture system captures and seals each request. Otherwise the investigator's key
    seals each capture, as for one capture."""
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise UsageError(f"--concurrency must be between 1 and {MAX_CONCURRENCY}")
    user = actor.user.name
    done = _captured(store, batch_id, user)
    todo: list[tuple[int, Item]] = []
    for number, item in enumerate(items, 1):
        if number in done:
            yield _resumed(number, item, done[number])
        else:
            todo.append((number, item))
    if not todo:
        return
    system = local_system(store)
    jobs_of: dict[int, str] = {}
    with capturing.shared_browser(store) as host:
        if system is not None:
            yield from request_items(store, actor, batch_id, auth_id, todo, jobs_of, host.start_early)
            store.ledger.signers.people.pop(user, None)
            del actor  # the investigator's key is not needed again: the local capture system seals
        sealer = system or actor
        if todo:
            yield from _run_captures(store, sealer, batch_id, auth_id, todo, jobs_of, host, on_start, concurrency)


def local_system(store: Store) -> Actor | None:
    """Who seals a batch's requests on this store: a workstation's local capture system, or None
    (an agency store, whose capture workers seal queued requests; an old workstation store)."""
    return store.local_capture_actor() if store.config.ledger.url is None else None


def request_items(store: Store, actor: Actor, batch_id: str, auth_id: str, todo: list[tuple[int, Item]],
                  jobs_of: dict[int, str], on_first: Callable[[], None] | None = None) -> Iterator[ItemResult]:  # fmt: skip
    """The investigator signs a capture request for every item of `todo`, each judged by the gate
    now (its job id into `jobs_of`); an item refused is recorded, yielded and taken out of `todo`.
    `on_first` hears of the first request signed (a gate has passed)."""
    user = actor.user.name
    for number, item in list(todo):
        try:
            jobs_of[number] = requests.make(store, actor, item.url, auth_id, item.note, batch_id).request.job_id
        except CollectorError as exc:
            refused = isinstance(exc, Refused | UsageError)
            result = ItemResult(number, item.url, "refused" if refused else "failed", detail=str(exc))
            _record(store, user, batch_id, number, item, result)
            todo.remove((number, item))
            yield result
        else:
            if len(jobs_of) == 1 and on_first is not None:
                on_first()


def capture_requested(store: Store, system: Actor, batch_id: str, auth_id: str, todo: list[tuple[int, Item]],
                      jobs_of: dict[int, str], concurrency: int = 1,
                      on_start: Callable[[int, str], None] | None = None) -> Iterator[ItemResult]:  # fmt: skip
    """The local capture system `system` captures and seals the signed requests `jobs_of` of
    `todo` (`request_items`), `concurrency` at a time in a browser of its own; each outcome as
    it is known. The investigator's key is not needed: the web application runs this after the
    request that signed them has ended."""
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise UsageError(f"--concurrency must be between 1 and {MAX_CONCURRENCY}")
    if not todo:
        return
    with capturing.shared_browser(store) as host:
        yield from _run_captures(store, system, batch_id, auth_id, todo, jobs_of, host, on_start, concurrency)


def _run_captures(store: Store, sealer: Actor, batch_id: str, auth_id: str, todo: list[tuple[int, Item]],
                  jobs_of: dict[int, str], host: SharedBrowser, on_start: Callable[[int, str], None] | None,
                  concurrency: int) -> Iterator[ItemResult]:  # fmt: skip
    """The captures of `todo`, `concurrency` at a time in `host`, each outcome as it is known."""
    with ThreadPoolExecutor(concurrency, "capture") as pool:
        def attempt(number: int, item: Item) -> ItemResult:
            return _attempt(store, sealer, batch_id, auth_id, number, item, host.capture, on_start,
                            jobs_of.get(number))  # fmt: skip

        futures = [pool.submit(attempt, number, item) for number, item in todo]
        try:
            for future in as_completed(futures):
                yield future.result()
        except BaseException:  # an interrupt here, or the caller stopped reading
            for future in futures:
                future.cancel()
            host.interrupt()
            wait(futures)
            raise


def _record(store: Store, by: str, batch_id: str, number: int, item: Item, result: ItemResult,
            job_id: str | None = None) -> None:  # fmt: skip
    """An item's outcome (`batch.item`): its bundle when captured, its job id when queued."""
    details: dict[str, object] = {"item": number, "url": item.url, "state": result.outcome, "detail": result.detail}
    details.update({"job_id": job_id} if result.outcome == "queued" else {"bundle_id": result.bundle_id})
    store.ledger.record(LedgerAction.batch_item, _outcome(result), actor=by, subject=batch_id, details=details)


def queue(store: Store, actor: Actor, batch_id: str, auth_id: str, items: list[Item],
          app: Any) -> Iterator[ItemResult]:  # fmt: skip
    """Sign and queue every item the batch has not captured or queued yet (`--queue`): each is a
    capture request a capture worker seals later."""
    from collector.jobs.enqueue import enqueue

    done = _captured(store, batch_id, actor.user.name)
    for number, item in enumerate(items, 1):
        if number in done:
            yield _resumed(number, item, done[number])
            continue
        try:
            queued = enqueue(store, actor, app, item.url, auth_id, item.note, batch_id)
            result = ItemResult(number, item.url, "queued", detail=queued.job_id)
        except (Refused, UsageError) as exc:
            result = ItemResult(number, item.url, "refused", detail=str(exc))
        except CollectorError as exc:
            result = ItemResult(number, item.url, "failed", detail=str(exc))
        _record(store, actor.user.name, batch_id, number, item, result,
                job_id=queued.job_id if result.outcome == "queued" else None)
        yield result


def _resumed(number: int, item: Item, done: str) -> ItemResult:
    """An item the batch captured (a bundle id) or queued (a job id) before."""
    if done.startswith("J-"):
        return ItemResult(number, item.url, "queued", None, done, resumed=True)
    return ItemResult(number, item.url, "captured", done, "captured before", resumed=True)


def _outcome(result: ItemResult) -> Literal["ok", "refused", "failed"]:
    """The ledger outcome of an item's end."""
    if result.outcome in ("captured", "queued"):
        return "ok"
    return "refused" if result.outcome == "refused" else "failed"


def _attempt(store: Store, actor: Actor, batch_id: str, auth_id: str, number: int, item: Item,
             browser: capturing.BrowserCapture, on_start: Callable[[int, str], None] | None,
             job_id: str | None = None) -> ItemResult:  # fmt: skip
    """One item: its start and its outcome recorded around the capture (by `actor`: the
    investigator, or the capture system sealing the item's signed request `job_id`)."""
    if on_start is not None:
        on_start(number, item.url)
    store.ledger.record(LedgerAction.batch_item, "ok", actor=actor.user.name, subject=batch_id,
                        details={"item": number, "url": item.url, "state": "started", "job_id": job_id})  # fmt: skip
    if job_id is None:
        result = _one(item, lambda: capturing.run(store, actor, item.url, auth_id, item.note, browser=browser))
    else:
        result = _one(item, lambda: jobs.run(store, actor, job_id, browser=browser))
    result.number = number
    _record(store, actor.user.name, batch_id, number, item, result)
    return result


def _one(item: Item, capture: Callable[[], capturing.CaptureResult]) -> ItemResult:
    try:
        done = capture()
    except (Refused, UsageError) as exc:  # the gate, or a URL it cannot judge
        return ItemResult(0, item.url, "refused", detail=str(exc))
    except CollectorError as exc:
        return ItemResult(0, item.url, "failed", detail=str(exc))
    return ItemResult(0, item.url, "captured", done.bundle_id, detail=done.final_url)


def _captured(store: Store, batch_id: str, user: str) -> dict[int, str]:
    """Items of the batch already captured: item number → bundle id."""
    ev = schema.events
    events = store.ledger.events_where((ev.c.action == LedgerAction.batch_item.value) & (ev.c.subject == batch_id))
    done: dict[int, str] = {}
    started: dict[int, tuple[str, datetime]] = {}
    for e in events:
        number = int(str(e.details.get("item", 0)))
        if e.details.get("state") == "captured" and e.details.get("bundle_id"):
            done[number] = str(e.details["bundle_id"])
        elif e.details.get("state") == "queued" and e.details.get("job_id"):
            done[number] = str(e.details["job_id"])  # a capture worker seals it
        elif e.details.get("state") == "started":
            started[number] = (str(e.details.get("url")), e.at)
    b = schema.bundles
    for number, (url, at) in started.items():
        if number in done:
            continue
        rows = store.ledger.rows(select(b.c.id, b.c.created_at).where(
            (b.c.source_url == _normalised(url)) & (b.c.captured_by == user)).order_by(b.c.created_at))  # fmt: skip
        later = [r["id"] for r in rows if datetime.fromisoformat(str(r["created_at"])) >= at]
        if later:  # sealed, then killed before its item was recorded
            done[number] = str(later[0])
    return done


def _normalised(url: str) -> str:
    """The URL as a capture records it (WHATWG), or as typed when it does not parse."""
    try:
        return parse_url(url).href
    except CollectorError:
        return url
