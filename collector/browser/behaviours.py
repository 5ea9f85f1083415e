"""What the capture does to and around the page, each action written to the journal.

- scrolling until the page stops growing (lazy content), bounded by time, height and the
  number of feed items, collecting feed items and clicking expanders on the way
  (`collector.browser.feed`, `collector.browser.expand`), then back to the top;
- closing consent overlays (`collector.browser.consent`) and preparing media for the
  screenshot (`collector.browser.media_state`);
- dismissing dialogs (alert, confirm, prompt, beforeunload);
- closing popups;
- noting downloads, which the context refuses (`accept_downloads=False`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from playwright.async_api import BrowserContext, Dialog, Download, Page

from collector.browser.expand import Expander
from collector.browser.feed import FeedCollector
from collector.browser.journal import Journal, StepHandle, one_line
from collector.browser.quiet import FRAMES_JS_BODY, NetworkActivity, PageChanges
from collector.evidence.model import FeedStop

POPUP_LOAD_WAIT_S = 2.0
POPUP_FLUSH_WAIT_S = 2.0
SCROLL_PAUSE_S = 0.1
"""Pause at each position of a virtualised feed's scan, so the items render for the viewport
screenshots (other positions wait for two rendered frames)."""
IMAGE_WAIT_S = 2.0
FEED_STEP_RATIO = 0.8
"""Step of a virtualised feed's scan, as a share of the viewport height (screenshots overlap)."""

QUIET_SHARE = 0.5
"""At the bottom, a page that is quiet (no request, no element changed) for this share of
`scroll_idle_ms` has stopped growing: scrolling ends then."""

_METRICS_JS = """(state) => {
  const el = document.scrollingElement || document.documentElement;
  return {y: Math.round(window.scrollY), height: el.scrollHeight, width: el.scrollWidth,
          viewport: window.innerHeight, changes: state ? state.count : null,
          sinceChange: state ? performance.now() - state.changed : null};
}"""

_SCROLL_STEP_JS = """async ([step, state]) => {
  const el = document.scrollingElement || document.documentElement;
  const bottom = Math.max(0, el.scrollHeight - window.innerHeight);
  const target = Math.min(bottom, Math.round(window.scrollY) + step);
  window.scrollTo(0, target);
  const result = {y: Math.round(window.scrollY), height: el.scrollHeight,
                  atBottom: Math.round(window.scrollY) >= bottom - 1};
  await TWO_FRAMES;
  result.changes = state ? state.count : null;
  return result;
}""".replace("TWO_FRAMES", FRAMES_JS_BODY)

_IMAGES_JS = """async (timeoutMs) => {
  const end = Date.now() + timeoutMs;
  const pending = () => Array.from(document.images).filter((i) => !i.complete);
  while (pending().length > 0 && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 100));
  }
  return {total: document.images.length, pending: pending().map((i) => i.currentSrc || i.src)};
}"""


def _short(text: str, limit: int = 500) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


@dataclass
class PageWatch:
    """Handlers for dialogs, popups and downloads; every event becomes a PageChange."""

    journal: Journal
    before_popup_close: Callable[[float], Awaitable[None]] | None = None
    main_page: Page | None = None
    on_dialog: Callable[[], None] | None = None
    """Told of every dialog (the script watchdog counts them)."""
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def attach(self, context: BrowserContext, page: Page) -> None:
        self.main_page = page
        context.on("dialog", self._on_dialog)
        context.on("page", self._on_page)
        page.on("download", self._on_download)

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_dialog(self, dialog: Dialog) -> None:
        if self.on_dialog is not None:
            self.on_dialog()
        self._spawn(self._dismiss(dialog))

    async def _dismiss(self, dialog: Dialog) -> None:
        detail = f"{dialog.type}: {_short(dialog.message)!r}"
        try:
            await dialog.dismiss()
        except Exception as exc:
            detail += f" (dismiss failed: {one_line(exc)})"
        self.journal.change("dialog-dismissed", detail)

    def _on_page(self, page: Page) -> None:
        if page is self.main_page:
            return
        page.on("download", self._on_download)
        self._spawn(self._close_popup(page))

    async def _close_popup(self, page: Page) -> None:
        """Let the popup load (bounded) so its traffic is recorded, then close it."""
        with contextlib.suppress(Exception):
            await page.wait_for_load_state("load", timeout=POPUP_LOAD_WAIT_S * 1000)
        if self.before_popup_close is not None:
            with contextlib.suppress(Exception):
                await self.before_popup_close(POPUP_FLUSH_WAIT_S)
        url = page.url
        detail = f"popup {url}"
        try:
            await page.close()
            detail += " closed"
        except Exception as exc:
            detail += f" (close failed: {one_line(exc)})"
        self.journal.change("popup-closed", detail)

    def _on_download(self, download: Download) -> None:
        self.journal.change(
            "download-blocked",
            f"{download.url} suggested filename {download.suggested_filename!r}: not saved",
        )
        self._spawn(self._cancel(download))

    async def _cancel(self, download: Download) -> None:
        with contextlib.suppress(Exception):
            await download.cancel()

    async def settle(self, timeout_s: float) -> None:
        """Wait (bounded) for handlers still running."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=max(0.01, timeout_s))


@dataclass
class ScrollResult:
    reason: str
    height: int
    batches: int
    stop: FeedStop = "idle"
    items: int = 0


async def scroll_until_stable(
    page: Page,
    journal: Journal,
    *,
    max_time_s: float,
    idle_ms: int,
    max_height_px: int,
    max_items: int = 0,
    feed: FeedCollector | None = None,
    expander: Expander | None = None,
    activity: NetworkActivity | None = None,
    changes: PageChanges | None = None,
) -> ScrollResult:
    """Scroll down a viewport-ish step at a time until the page stops growing.

    Stops when the height has not grown for `idle_ms` while at the bottom — or, with
    `activity`, once the page has been quiet at the bottom for QUIET_SHARE of `idle_ms` (no
    growth, no request in flight or started, no element changed: `changes`) — when the height reaches
    `max_height_px`, after `max_time_s`, or once `feed` has seen `max_items` items (0: no item
    cap). Each batch of scrolling between two growths of the page is one `scroll` PageChange
    (positions and heights). At each position, once the page has rendered two frames, the
    `expander` clicks new expanders and the `feed` collects items (both only when the page
    changed since they last looked, or, for viewport screenshots, the position did); when
    items seen earlier have left the DOM (a virtualised feed) the scan starts again from the
    top in steps of FEED_STEP_RATIO of the viewport, pausing SCROLL_PAUSE_S at each position,
    so every item passes through the viewport (and its screenshots).
    """
    start = time.monotonic()
    changes = changes or PageChanges(page)
    state_handle = await changes.state()
    metrics: dict[str, Any] = await page.evaluate(_METRICS_JS, state_handle)
    coarse = max(200, int(metrics["viewport"] * 2))
    fine = max(100, int(metrics["viewport"] * FEED_STEP_RATIO))
    quiet_s = idle_ms * QUIET_SHARE / 1000
    height = int(metrics["height"])
    start_height = height
    positions: list[int] = []
    batches = 0
    idle_since = time.monotonic()
    reason = "max-time"
    stop: FeedStop = "max-time"
    looked: tuple[int | None, int | None] = (None, None)  # page changes, y at the last look
    if feed is not None:
        await feed.observe()
        looked = (metrics["changes"], metrics["y"])

    def flush(new_height: int) -> None:
        nonlocal batches, start_height
        if not positions:
            return
        batches += 1
        journal.change(
            "scroll",
            f"scrolled to y={_ranges(positions)}; page height {start_height}px -> {new_height}px",
        )
        positions.clear()
        start_height = new_height

    while True:
        now = time.monotonic()
        if height >= max_height_px:
            reason, stop = f"max-height ({height}px >= {max_height_px}px)", "max-height"
            break
        if now - start >= max_time_s:
            reason, stop = f"max-time ({max_time_s:g}s)", "max-time"
            break
        if feed is not None and max_items and feed.count >= max_items:
            reason = f"max-items ({feed.count} feed items >= {max_items})"
            stop = "max-items"
            break
        fine_steps = feed is not None and feed.fine_steps
        stepped = time.monotonic()
        state: dict[str, Any] = await page.evaluate(
            _SCROLL_STEP_JS, [fine if fine_steps else coarse, state_handle]
        )
        y = int(state["y"])
        positions.append(y)
        if fine_steps:
            await asyncio.sleep(max(0.0, SCROLL_PAUSE_S - (time.monotonic() - stepped)))
        changed = state["changes"] is None or state["changes"] != looked[0]
        if changed or (feed is not None and feed.screenshots_on and y != looked[1]):
            looked = (state["changes"], y)
            if expander is not None and changed:
                await expander.run(page, await feed.expanded_marks() if feed is not None else None)
            if feed is not None:
                await feed.observe()
                if feed.wants_rescan():
                    flush(height)
                    await page.evaluate("() => window.scrollTo(0, 0)")
                    feed.start_rescan()
                    journal.change(
                        "scroll",
                        f"{feed.missing_now} feed item(s) seen earlier left the page (a "
                        f"virtualised feed): back to the top (y=0) to scan again in {fine}px steps"
                        + (" with viewport screenshots" if feed.screenshots_on else ""),
                    )
                    await asyncio.sleep(SCROLL_PAUSE_S)
                    await feed.observe()
                    looked = (None, None)
                    idle_since = time.monotonic()
                    continue
        after: dict[str, Any] = await page.evaluate(_METRICS_JS, state_handle)
        new_height = int(after["height"])
        waited = time.monotonic() - idle_since
        if new_height > height:
            flush(new_height)
            height = new_height
            idle_since = time.monotonic()
        elif not state["atBottom"]:
            idle_since = time.monotonic()
        elif waited * 1000 >= idle_ms:
            reason, stop = f"idle (no growth for {idle_ms}ms at the bottom)", "idle"
            break
        elif activity is not None and _quiet(waited, after, activity, quiet_s):
            reason = (
                f"quiet (at the bottom for {waited * 1000:.0f}ms: no growth, no request in flight "
                f"or started and no element changed for {quiet_s * 1000:.0f}ms)"
            )
            stop = "idle"
            break
        elif activity is not None:
            await activity.wait_change(_until_quiet(waited, after, activity, quiet_s, idle_ms))
        height = max(height, new_height)
    flush(height)
    items = feed.count if feed is not None else 0
    return ScrollResult(reason=reason, height=height, batches=batches, stop=stop, items=items)


def _until_quiet(
    waited: float, after: dict[str, Any], activity: NetworkActivity, quiet_s: float, idle_ms: int
) -> float:
    """At the bottom without growth: how long to wait before looking again. Until the quiet
    rule could first hold, at most SCROLL_PAUSE_S; a request starting or ending wakes the wait
    early (`NetworkActivity.wait_change`)."""
    since_change = after["sinceChange"]
    left = SCROLL_PAUSE_S
    if since_change is not None and not activity.in_flight:
        left = max(quiet_s - waited, quiet_s - since_change / 1000, quiet_s - activity.quiet_for())
    return max(0.0, min(left, SCROLL_PAUSE_S, idle_ms / 1000 - waited))


def _quiet(waited: float, after: dict[str, Any], activity: NetworkActivity, quiet_s: float) -> bool:
    """At the bottom without growth for `quiet_s`, and the network and the page quiet as long."""
    since_change = after["sinceChange"]
    return (
        waited >= quiet_s
        and since_change is not None
        and since_change / 1000 >= quiet_s
        and activity.quiet_for() >= quiet_s
    )


async def wait_for_images(page: Page, timeout_s: float, handle: StepHandle) -> None:
    """Bounded wait for images still loading (lazy images reached while scrolling)."""
    if timeout_s <= 0:
        handle.note("no time left to wait for images")
        return
    result: dict[str, Any] = await asyncio.wait_for(
        page.evaluate(_IMAGES_JS, int(timeout_s * 1000)), timeout=timeout_s + 2.0
    )
    pending: list[str] = list(result["pending"])
    if pending:
        shown = ", ".join(_short(p, 120) for p in pending[:5])
        handle.note(f"{len(pending)} of {result['total']} images still incomplete: {shown}")
    else:
        handle.note(f"all {result['total']} images complete")


async def scroll_to_top(page: Page, journal: Journal) -> None:
    y = await page.evaluate("() => { window.scrollTo(0, 0); return Math.round(window.scrollY); }")
    journal.change("scroll", f"scrolled back to the top (y={y}) before the screenshot")


def _ranges(values: list[int]) -> str:
    if len(values) <= 6:
        return ",".join(str(v) for v in values)
    return f"{values[0]},{values[1]},…,{values[-1]} ({len(values)} positions)"
