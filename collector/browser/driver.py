"""The Playwright driver started with the command, while the rest of the program loads.

Starting the driver (a Node.js process that speaks to Chromium) takes about a quarter of a
second; so does loading the program, opening the store and deciding the gate. `start_early`
starts the driver on an event loop of its own thread as the command begins; a single capture
later runs on that loop with it (`EarlyDriver.run`), and a batch's shared browser adopts the
loop and the driver (`adopt_early`). The driver opens no network
connection and no page: nothing is captured, and no browser is launched, before the gate has
passed. Each capture's journal says when the driver it used was started.

A command that does not capture (refused, or a typo) leaves the driver unused; `stop_early`
ends it with the command, and the driver also ends by itself when its pipe to this process
closes.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any, TypeVar

from playwright.async_api import Playwright, async_playwright

from collector.browser.journal import utcnow

T = TypeVar("T")

START_WAIT_S = 30.0
"""How long a capture waits for the early driver before starting one of its own."""
STOP_TIMEOUT_S = 5.0


class EarlyDriver:
    """One Playwright driver on its own event-loop thread, started at once."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="collector-driver",
                                        daemon=True)  # fmt: skip
        self._manager: Any = None
        self.driver: Playwright | None = None
        self.started_at: datetime | None = None
        self._started: concurrent.futures.Future[Playwright] | None = None
        self.used = False

    def start(self) -> None:
        self._thread.start()
        self._started = asyncio.run_coroutine_threadsafe(self._start(), self._loop)

    async def _start(self) -> Playwright:
        self._manager = async_playwright()
        self.driver = await self._manager.__aenter__()
        self.started_at = utcnow()
        return self.driver

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    @property
    def thread(self) -> threading.Thread:
        return self._thread

    async def started(self) -> Playwright | None:
        """On the driver's loop: the driver once it has started; None if it failed."""
        if self._started is None:
            return None
        try:
            return await asyncio.wrap_future(self._started)
        except Exception:
            return None

    async def close(self) -> None:
        """On the driver's loop: stop the driver (for whoever adopted it)."""
        if await self.started() is not None and self._manager is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._manager.__aexit__(None, None, None), STOP_TIMEOUT_S)
        self._manager = self.driver = None

    def ready(self, timeout_s: float = START_WAIT_S) -> bool:
        """True once the driver has started; False if it failed or is not up within `timeout_s`."""
        if self._started is None:
            return False
        try:
            self._started.result(timeout_s)
        except Exception:
            return False
        return self.driver is not None

    def run(self, make: Callable[[Playwright], Coroutine[Any, Any, T]]) -> T:
        """Run `make(driver)` on the driver's loop and return its result (blocking).

        An interrupt (Ctrl-C, SIGTERM) while waiting cancels the coroutine, waits for it to
        clean up (a failed capture leaves no files), then is raised again here."""
        assert self.driver is not None
        self.used = True
        driver = self.driver
        done = threading.Event()

        async def guarded() -> T:
            try:
                return await make(driver)
            finally:
                done.set()

        future = asyncio.run_coroutine_threadsafe(guarded(), self._loop)
        try:
            return future.result()
        except KeyboardInterrupt:
            future.cancel()
            done.wait(STOP_TIMEOUT_S * 6)
            raise
        except concurrent.futures.CancelledError:
            raise KeyboardInterrupt("the capture was cancelled") from None

    def set_exception_handler(
        self, handler: Callable[[asyncio.AbstractEventLoop, dict[str, Any]], object]
    ) -> None:
        self._loop.set_exception_handler(handler)

    def stop(self) -> None:
        """Stop the driver and the loop's thread (waits at most a few seconds)."""
        if not self._thread.is_alive():
            return
        if self._started is not None:
            with contextlib.suppress(Exception):
                self._started.result(STOP_TIMEOUT_S)
        if self._manager is not None:
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(
                    self._manager.__aexit__(None, None, None), self._loop
                ).result(STOP_TIMEOUT_S)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(STOP_TIMEOUT_S)


_EARLY: EarlyDriver | None = None


def start_early() -> None:
    """Start the driver now, for a capture this command will make (at most one per process)."""
    global _EARLY
    if _EARLY is None:
        _EARLY = EarlyDriver()
        _EARLY.start()


def take_early() -> EarlyDriver | None:
    """The early driver for the one capture that uses it (None if none is up, or it is taken)."""
    early = _EARLY
    if early is None or early.used or not early.ready():
        return None
    return early


def adopt_early() -> EarlyDriver | None:
    """The early driver, still starting perhaps, for a shared browser to run on its loop and
    launch through it (`collector.browser.shared`), which then stops it; None if there is none."""
    early = _EARLY
    if early is None or early.used or not early.thread.is_alive():
        return None
    early.used = True
    return early


def stop_early() -> None:
    global _EARLY
    early, _EARLY = _EARLY, None
    if early is not None:
        early.stop()
