"""Every document the main frame is about to load is judged against the authorization's scope
before it is requested: the first URL, each HTTP redirect hop, and any later navigation by
script or meta refresh.

Playwright's routing does not see redirect hops and the egress point sees only host and port,
so the judging is done with CDP `Fetch` at the request stage for documents, where each hop
arrives on its own (a hop caused by a redirect carries `redirectedRequestId`). A hop outside
the scope is never sent:

- an HTTP redirect out of the scope fails the request and refuses the capture (nothing is
  sealed; the chain and the hop that left the scope are in the refusal);
- any other navigation of the main frame out of the scope (a script's `location = …`, a meta
  refresh, a link the page follows) is aborted, so the page stays as it was, and recorded as a
  `navigation-blocked` change.

Documents of iframes are part of the page and are not held to the scope (the egress point
still holds them to the private-network rule).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

from playwright.async_api import CDPSession

from collector.browser.journal import Journal, one_line
from collector.errors import CollectorError
from collector.evidence.urls import Scope, from_browser, parse_scope


class NavigationGuard:
    """Judges the main frame's document requests; install before the first navigation."""

    def __init__(self, scopes: Sequence[str], journal: Journal) -> None:
        self.scopes: list[Scope] = [parse_scope(text) for text in scopes]
        self.journal = journal
        self.loaded = False
        """Set once the first document has loaded: later navigations are the page's own."""
        self.refused: str | None = None
        self.chain: list[str] = []
        """The main frame's document URLs of the current navigation, redirect hops in order."""
        self.judged = 0
        self._main_frame: str | None = None
        self._cdp: CDPSession | None = None
        self._pending: set[asyncio.Task[None]] = set()

    async def install(self, cdp: CDPSession) -> None:
        tree = await cdp.send("Page.getFrameTree")
        self._main_frame = str(tree["frameTree"]["frame"]["id"])
        self._cdp = cdp
        cdp.on("Fetch.requestPaused", self._paused)
        await cdp.send(
            "Fetch.enable",
            {"patterns": [{"urlPattern": "*", "resourceType": "Document", "requestStage": "Request"}]},
        )

    def outside(self, url: str) -> str | None:
        """Why `url` is outside every scope, or None when one scope holds it."""
        try:
            parsed = from_browser(url)
        except CollectorError as exc:
            return str(exc)
        reasons = [scope.refusal(parsed) for scope in self.scopes]
        if any(reason is None for reason in reasons):
            return None
        separator = next((r for r in reasons if r and "encoded separator" in r), None)
        return separator or "outside every scope of the authorization"

    def _paused(self, event: dict[str, Any]) -> None:
        task = asyncio.ensure_future(self._decide(event))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _decide(self, event: dict[str, Any]) -> None:
        cdp = self._cdp
        assert cdp is not None
        request_id = event["requestId"]
        try:
            if event.get("frameId") != self._main_frame:
                await cdp.send("Fetch.continueRequest", {"requestId": request_id})
                return
            request = event["request"]
            url = str(request["url"]) + str(request.get("urlFragment") or "")
            redirect = "redirectedRequestId" in event
            if redirect:
                self.chain.append(url)
            else:
                self.chain = [url]
            self.judged += 1
            why = self.outside(url) if self.scopes else None
            if why is None:
                await cdp.send("Fetch.continueRequest", {"requestId": request_id})
                return
            if redirect or (not self.loaded and len(self.chain) == 1 and self.judged == 1):
                self.refused = (
                    f"the main document led outside the authorization's scope: {url} ({why}); "
                    f"chain: {' -> '.join(self.chain)}"
                )
                await cdp.send(
                    "Fetch.failRequest", {"requestId": request_id, "errorReason": "BlockedByClient"}
                )
                return
            self.journal.change(
                "navigation-blocked", f"{request.get('method', 'GET')} {url}: {why}; the page stays"
            )
            await cdp.send("Fetch.failRequest", {"requestId": request_id, "errorReason": "Aborted"})
        except Exception as exc:  # a paused request must never be left hanging or let through
            self.refused = self.refused or f"judging a navigation failed: {one_line(exc)}"
            with contextlib.suppress(Exception):
                await cdp.send(
                    "Fetch.failRequest", {"requestId": request_id, "errorReason": "BlockedByClient"}
                )

    async def settle(self) -> None:
        """Wait for the decisions already under way."""
        if self._pending:
            await asyncio.wait(list(self._pending), timeout=5.0)
