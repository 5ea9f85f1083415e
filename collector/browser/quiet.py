"""Whether a page is quiet: nothing in flight on the network and nothing changing in the page.

Waits that stand for "let the page finish what it is doing" (settling after the load, the end
of scrolling, the re-render after the return to the top) end as soon as the page is quiet
instead of after a fixed time:

- `NetworkActivity` counts the page's requests in flight (Playwright's `request`,
  `requestfinished` and `requestfailed` events of the page, its frames and workers) and
  remembers when one last started or ended;
- the page keeps a `MutationObserver` that only notes the time of the last change: it
  changes nothing the page shows or its scripts can see (`PageChanges`). A page whose main
  thread is busy answers late, so a busy page is never taken as quiet.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import JSHandle, Page, Request

SETTLE_QUIET_S = 0.25
"""The settle step ends once no request has been in flight for this long."""
POLL_S = 0.025
"""How often a wait for quiet looks again."""
FRAME_FALLBACK_MS = 100
"""Longest wait for an animation frame (a page that renders no frames still answers)."""

_WATCH_JS = """() => {
  const state = {changed: performance.now(), count: 0};
  new MutationObserver((records) => {
    state.changed = performance.now();
    state.count += records.length;
  }).observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
  return state;
}"""

FRAMES_JS_BODY = """new Promise((done) => {
    let finished = false;
    const report = () => { if (!finished) { finished = true; done(); } };
    requestAnimationFrame(() => requestAnimationFrame(report));
    setTimeout(report, FALLBACK_MS);
  })""".replace("FALLBACK_MS", str(FRAME_FALLBACK_MS))
"""A promise (JavaScript) that settles after two animation frames or FRAME_FALLBACK_MS."""

_FRAMES_JS = f"async () => {{ await {FRAMES_JS_BODY}; }}"


@dataclass
class _InFlight:
    requests: set[Request] = field(default_factory=set)
    last_change: float = field(default_factory=time.monotonic)

    def quiet_for(self) -> float:
        return 0.0 if self.requests else time.monotonic() - self.last_change


@dataclass
class NetworkActivity:
    """The page's requests in flight and the time of the last start or end of one; apart, the
    same without requests of type "other" (the browser's own fetch of the page's icon,
    prefetches: nothing the page shows waits for them)."""

    all: _InFlight = field(default_factory=_InFlight)
    shown: _InFlight = field(default_factory=_InFlight)
    started: int = 0
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def attach(self, page: Page) -> None:
        page.on("request", self._started)
        page.on("requestfinished", self._ended)
        page.on("requestfailed", self._ended)

    def _kinds(self, request: Request) -> tuple[_InFlight, ...]:
        return (self.all,) if request.resource_type == "other" else (self.all, self.shown)

    def _started(self, request: Request) -> None:
        self.started += 1
        for kind in self._kinds(request):
            kind.requests.add(request)
            kind.last_change = time.monotonic()
        self._changed.set()

    def _ended(self, request: Request) -> None:
        for kind in self._kinds(request):
            kind.requests.discard(request)
            kind.last_change = time.monotonic()
        self._changed.set()

    @property
    def in_flight(self) -> set[Request]:
        return self.all.requests

    async def wait_change(self, timeout_s: float) -> None:
        """Return when a request starts or ends, or after `timeout_s`."""
        self._changed.clear()
        if timeout_s > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout_s)

    def quiet_for(self, *, shown_only: bool = False) -> float:
        """Seconds since the last request started or ended; 0 while one is in flight. With
        `shown_only`, requests of type "other" do not count."""
        return (self.shown if shown_only else self.all).quiet_for()


class PageChanges:
    """A page-side record of when an element of the page last changed, and how many times."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self._state: JSHandle | None = None
        self.unavailable = False
        """Set when the page could not be watched: every check then counts as a change."""

    async def state(self) -> JSHandle | None:
        """The page-side record (`{changed, count}`), made on first use; None if unavailable."""
        if self._state is None and not self.unavailable:
            try:
                self._state = await self.page.evaluate_handle(_WATCH_JS)
            except PlaywrightError:
                self.unavailable = True
        return self._state


async def two_frames(page: Page) -> None:
    """Wait until the page has rendered two animation frames (or FRAME_FALLBACK_MS)."""
    try:
        await page.evaluate(_FRAMES_JS, None)
    except PlaywrightError:  # a document being replaced answers nothing: wait a little
        await asyncio.sleep(POLL_S)


async def wait_network_quiet(page: Page, activity: NetworkActivity, quiet_s: float) -> None:
    """Return once no request (of a type other than "other") has been in flight for `quiet_s`
    and the page has rendered two frames since (unbounded: the caller sets the limit)."""
    while True:
        left = quiet_s - activity.quiet_for(shown_only=True)
        if left <= 0:
            await two_frames(page)
            if activity.quiet_for(shown_only=True) >= quiet_s:
                return
            continue
        await asyncio.sleep(POLL_S if activity.shown.requests else max(POLL_S, left))
