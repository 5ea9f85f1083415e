"""Pages whose scripts never let go: stop them, capture what they showed, and say so.

A page can keep its main thread busy (`while (true) {}`) or open dialogs in a loop after it
has rendered; every call into it (`page.evaluate`, a screenshot) then waits forever. From the
time the page has loaded, a watchdog asks the page a trivial question over CDP every half
second. When no answer comes within `script_busy_s`, or more than `MAX_DIALOGS` dialogs open,
it stops the page's script (`Runtime.terminateExecution`, which interrupts a running script
from outside) and then forbids script in the page (`Emulation.setScriptExecutionDisabled`),
and records that as a `scripts-stopped` change. The capture goes on with what the page had
rendered.
"""

from __future__ import annotations

import asyncio
import contextlib

from playwright.async_api import CDPSession

from collector.browser.journal import Journal, one_line

PING_EVERY_S = 0.5
MAX_DIALOGS = 20
STOP_TIMEOUT_S = 5.0


class ScriptWatchdog:
    """Watches one page from load to the end of the DOM step."""

    def __init__(self, cdp: CDPSession, journal: Journal, busy_s: float) -> None:
        self.cdp = cdp
        self.journal = journal
        self.busy_s = busy_s
        self.stopped: str | None = None
        self.dialogs = 0
        self._task: asyncio.Task[None] | None = None
        self._stopping: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._watch())

    async def close(self) -> None:
        if self._stopping:
            await asyncio.wait(list(self._stopping), timeout=STOP_TIMEOUT_S)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    def dialog_opened(self) -> None:
        """Called for every dialog the page opens; a storm of them stops the scripts."""
        self.dialogs += 1
        if self.dialogs > MAX_DIALOGS and self.stopped is None:
            task = asyncio.ensure_future(self.stop(f"the page opened more than {MAX_DIALOGS} dialogs"))
            self._stopping.add(task)
            task.add_done_callback(self._stopping.discard)

    async def _watch(self) -> None:
        while self.stopped is None:
            try:
                await asyncio.wait_for(
                    self.cdp.send("Runtime.evaluate", {"expression": "1", "returnByValue": True}),
                    self.busy_s,
                )
            except TimeoutError:
                await self.stop(f"the page's script kept it busy for more than {self.busy_s:g}s")
                return
            except Exception:
                return  # the page is gone or closing: nothing left to watch
            await asyncio.sleep(PING_EVERY_S)

    async def stop(self, why: str) -> None:
        """Interrupt the running script and forbid script in the page from now on."""
        if self.stopped is not None:
            return
        self.stopped = why
        done: list[str] = []
        for method, params in (
            ("Runtime.terminateExecution", {}),
            ("Emulation.setScriptExecutionDisabled", {"value": True}),
        ):
            try:
                await asyncio.wait_for(self.cdp.send(method, params), STOP_TIMEOUT_S)
                done.append(method)
            except Exception as exc:
                done.append(f"{method} failed ({one_line(exc)})")
        self.journal.change(
            "scripts-stopped",
            f"{why}: its script was stopped ({'; '.join(done)}) and the page is captured as it "
            "was rendered",
        )
