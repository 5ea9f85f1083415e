"""One Chromium for many captures (a batch, a worker): each capture gets a fresh, isolated
browser context of its own, with its own egress point, on one browser process.

A `BrowserContext` is Chromium's incognito profile: cookies, cache, local and session storage,
IndexedDB, HTTP authentication and open connections live in it and end with it, and service
workers are blocked in every context. Nothing one capture's page leaves behind is seen by the
next. The browser is launched once, on the first capture, with the settings of the store; a
capture whose settings would need another launch is refused, and a browser that died is
launched again (each capture's journal says which browser it ran in).

`SharedBrowser.capture` has the signature of `collector.browser.capture` and may be called from
several threads at once: the browser runs on an event loop of its own, in its own thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from playwright.async_api import Browser, Playwright, async_playwright

from collector.browser.capture_base import CLOSE_RESERVE_S
from collector.browser.driver import adopt_early
from collector.browser.egress.socks import EgressPoint
from collector.browser.journal import one_line, utcnow
from collector.browser.launch import (
    TrustedCa,
    actual_command_line,
    browser_home,
    egress_for,
    launch_args,
    launch_browser,
)
from collector.browser.redaction import AliasSession
from collector.errors import CaptureFailed
from collector.evidence.model import BrowserSettings, CaptureRecord

STOP_TIMEOUT_S = 20.0
LAUNCH_FIELDS = ("executable_path", "extra_ca_certs", "host_resolver_rules", "proxy",
                 "block_private_network", "allowed_hosts")  # fmt: skip
"""The settings fixed when the browser starts: every capture in it must share them."""


@dataclass
class Launched:
    """The running browser and what its launch recorded (copied into each capture's journal)."""

    browser: Browser
    version: str
    args: list[str]
    args_read: bool
    trusted: list[TrustedCa]
    egress: EgressPoint
    at: datetime
    number: int
    contexts: int = 0
    driver_early_at: datetime | None = None
    """When its driver was started, if with the command (`collector.browser.driver`)."""


class SharedBrowser:
    """A context manager: one browser, started on the first capture, closed at the end."""

    def __init__(self, settings: BrowserSettings) -> None:
        self.settings = settings
        self._early = adopt_early()
        """The driver started with the command, if any: its loop and thread are this browser's."""
        if self._early is not None:
            self._loop, self._thread = self._early.loop, self._early.thread
        else:
            self._loop = asyncio.new_event_loop()
            self._thread = threading.Thread(target=self._loop.run_forever, name="collector-browser",
                                            daemon=True)  # fmt: skip
        self._lock: asyncio.Lock | None = None
        self._stack = ExitStack()
        self._playwright: Any = None
        self._driver: Playwright | None = None
        self._driver_early_at: datetime | None = None
        """When the driver was started, if it is the one started with the command."""
        self._launched: Launched | None = None
        self._launches = 0
        self._home: Path | None = None
        self._trusted: list[TrustedCa] = []
        self._tasks: set[asyncio.Task[CaptureRecord]] = set()
        self._stopping = False

    def __enter__(self) -> SharedBrowser:
        from collector.browser import _interrupts_reported_once

        self._loop.set_exception_handler(_interrupts_reported_once)
        if self._early is None:
            self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:  # fmt: skip
        self.close()

    # ------------------------------------------------------------------ from any thread

    def capture(
        self,
        url: str,
        settings: BrowserSettings,
        workdir: Path,
        session: AliasSession | None = None,
        scopes: Sequence[str] = (),
    ) -> CaptureRecord:
        """Capture `url` into `workdir` in a fresh context of this browser (blocking)."""
        differs = [name for name in LAUNCH_FIELDS
                   if getattr(settings, name) != getattr(self.settings, name)]  # fmt: skip
        if differs:
            raise CaptureFailed(
                f"this capture's browser settings ({', '.join(differs)}) differ from the shared "
                "browser's; it needs a browser of its own"
            )
        if self._stopping:
            raise CaptureFailed("stopped before this capture began")
        future = asyncio.run_coroutine_threadsafe(
            self._capture(url, settings, workdir, session, scopes), self._loop
        )
        try:
            return future.result()
        except concurrent.futures.CancelledError:
            raise CaptureFailed("interrupted: the capture was stopped before it finished") from None

    def start_early(self) -> None:
        """Start the driver, then launch the browser, in the background now (from any thread),
        so the first capture finds it running; a launch that fails is tried again, and
        reported, by the first capture. Call it only once a capture is sure to follow (the
        gate has passed for one): no browser is launched before that."""
        if self._thread.is_alive() and not self._stopping:
            asyncio.run_coroutine_threadsafe(self._launch_early(), self._loop)

    def interrupt(self) -> None:
        """Stop every capture now running (each fails, leaving nothing) and refuse new ones."""
        self._stopping = True
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._cancel_all)

    def close(self) -> None:
        """Close the browser, its driver and its egress point, then the loop's thread."""
        if not self._thread.is_alive():
            return
        self._stopping = True
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(STOP_TIMEOUT_S)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(STOP_TIMEOUT_S)
        if not self._thread.is_alive():
            self._loop.close()
        self._stack.close()

    # ------------------------------------------------------------------ on the loop

    def _cancel_all(self) -> None:
        for task in list(self._tasks):
            task.cancel()

    async def _capture(
        self,
        url: str,
        settings: BrowserSettings,
        workdir: Path,
        session: AliasSession | None,
        scopes: Sequence[str],
    ) -> CaptureRecord:
        from collector.browser import capture_async

        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            return await capture_async(url, settings, workdir, session, scopes, shared=self)
        finally:
            self._tasks.discard(task)

    async def browser_for_capture(self) -> Launched:
        """The running browser (launched now if there is none, or if the last one died), with
        this capture counted as its next context."""
        async with self._launch_lock():
            launched = await self._running()
            launched.contexts += 1
            return launched

    async def _launch_early(self) -> None:
        with contextlib.suppress(Exception):
            async with self._launch_lock():
                if not self._stopping:
                    await self._running()

    def _launch_lock(self) -> asyncio.Lock:
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    async def _running(self) -> Launched:
        """The running browser, launched now if there is none or the last one died (under the
        launch lock)."""
        launched = self._launched
        if launched is None or not launched.browser.is_connected():
            if launched is not None:
                await self._drop(launched)
            launched = self._launched = await self._launch()
        return launched

    async def _launch(self) -> Launched:
        settings = self.settings
        if self._driver is None and self._early is not None:
            self._driver = await self._early.started()
            if self._driver is not None:
                self._driver_early_at = self._early.started_at
            else:
                self._early = None  # it failed to start: a driver of our own, below
        if self._driver is None:
            try:
                self._playwright = async_playwright()
                self._driver = await self._playwright.__aenter__()
            except Exception as exc:
                self._playwright = None
                raise CaptureFailed(f"browser driver failed to start: {one_line(exc)}") from exc
        if self._home is None:
            home, trusted = self._stack.enter_context(browser_home(settings.extra_ca_certs))
            self._home, self._trusted = home, trusted
        egress = egress_for(settings)
        await egress.start()
        args = launch_args(settings)
        assert self._home is not None
        try:
            browser = await launch_browser(self._driver, settings, args, self._home,
                                           proxy_server=egress.proxy_url)  # fmt: skip
        except BaseException:
            await egress.close()
            raise
        actual = await actual_command_line(browser)
        self._launches += 1
        return Launched(browser=browser, version=browser.version,
                        args=actual[1:] if actual is not None else args, args_read=actual is not None,
                        trusted=self._trusted, egress=egress, at=utcnow(), number=self._launches,
                        driver_early_at=self._driver_early_at)  # fmt: skip

    async def _drop(self, launched: Launched) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(launched.browser.close(), CLOSE_RESERVE_S)
        await launched.egress.close()

    async def _shutdown(self) -> None:
        self._cancel_all()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=STOP_TIMEOUT_S / 2)
        if self._launched is not None:
            await self._drop(self._launched)
            self._launched = None
        if self._playwright is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._playwright.__aexit__(None, None, None), CLOSE_RESERVE_S)
            self._playwright = self._driver = None
        if self._early is not None:
            await self._early.close()
            self._early = self._driver = None
