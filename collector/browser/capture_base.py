"""What every step of a capture shares: its limits, what the steps learn, and the session's
settings, journal and deadline."""


from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import (
    Request,
    Response,
)

from collector.browser.egress.socks import EgressPoint
from collector.browser.expand import Expander
from collector.browser.journal import Deadline, Journal, utcnow
from collector.browser.navigation import NavigationGuard
from collector.browser.quiet import NetworkActivity, PageChanges
from collector.browser.redaction import AliasSession, Redactor
from collector.browser.warc import WarcSink
from collector.errors import CaptureFailed
from collector.evidence.model import (
    BrowserSettings,
    Egress,
    FeedRecord,
    Header,
    JsonResponse,
    NetworkSummary,
    RedirectHop,
    ServerAddress,
    StreamAssembly,
    TlsInfo,
    WarcRewrite,
)
from collector.evidence.post import PageState, Post
from collector.platforms import warm_up, warm_up_microdata

WARC_SCRATCH = ".traffic.warc.partial"

CLOSE_RESERVE_S = 3.0
"""Kept back at the end of the time budget for closing the browser."""
BODY_TIMEOUT_S = 15.0
SMALL_CALL_S = 5.0
CONSENT_TIMEOUT_S = 10.0
EXPAND_TIMEOUT_S = 10.0
MEDIA_TIMEOUT_S = 8.0
"""Longest times of the consent, expand and media-state steps (within the total limit)."""
MAX_SCREENSHOT_SIDE_PX = 16_384
"""Widest screenshot taken whole (device px); Chromium cannot capture very wide documents."""
MAX_SCREENSHOT_PIXELS = 120_000_000
"""Largest screenshot taken whole (device px²); a 1280 px wide page up to ~93 000 px tall."""
READ_TIMEOUT_S = 20.0
"""Longest time for reading the post out of the page (parsing runs in a thread)."""


def finish_reserve(total_s: float) -> float:
    """Time kept back from navigation, settling and scrolling for screenshot, DOM, MHTML, WARC."""
    return min(30.0, max(1.0, total_s * 0.25))


@dataclass
class CaptureState:
    """What the steps learn, gathered into the CaptureRecord at the end."""

    started_at: datetime = field(default_factory=utcnow)
    version: str = ""
    args: list[str] = field(default_factory=list)
    main: Response | None = None
    title: str = ""
    page_width: int = 0
    page_height: int = 0
    tls: TlsInfo | None = None
    redirects: list[RedirectHop] = field(default_factory=list)
    request_headers: list[Header] = field(default_factory=list)
    response_headers: list[Header] = field(default_factory=list)
    server: ServerAddress | None = None
    user_agent: str = ""
    webdriver: bool | None = None
    client_hints: list[Header] = field(default_factory=list)
    egress: Egress = field(default_factory=Egress)
    warc_records: int = 0
    blocked: int = 0
    rewrites: list[WarcRewrite] = field(default_factory=list)
    summary: NetworkSummary | None = None
    post: Post | None = None
    page_state: PageState | None = None
    media_artifacts: list[str] = field(default_factory=list)
    streams: list[StreamAssembly] = field(default_factory=list)
    tool_fetches: list[str] = field(default_factory=list)
    platform_json: list[JsonResponse] = field(default_factory=list)
    platform_json_omitted: int = 0
    feed: FeedRecord | None = None
    feed_artifacts: list[str] = field(default_factory=list)


class SessionBase:
    """The settings, journal, deadline and state every step of one capture works with."""

    def __init__(
        self,
        url: str,
        settings: BrowserSettings,
        workdir: Path,
        alias: AliasSession | None = None,
        scopes: Sequence[str] = (),
    ) -> None:
        self.url = url
        self.scopes = list(scopes)
        self.settings = settings
        self.workdir = workdir
        self.alias = alias
        self.redactor: Redactor | None = alias.redactor() if alias is not None else None
        self.journal = Journal()
        self.deadline = Deadline(settings.total_timeout_s)
        total = settings.total_timeout_s
        self.reserve = finish_reserve(total) + min(CLOSE_RESERVE_S, 0.1 * total)
        self.state = CaptureState()
        self.egress: EgressPoint | None = None
        self.shared = False
        """Whether the capture runs in a context of a shared browser (`collector.browser.shared`)."""
        self._early_at: datetime | None = None
        """When the driver this capture launched its browser through was started, if early."""
        self.navigation = NavigationGuard(self.scopes, self.journal)
        self._sink: WarcSink | None = None
        self.expander = Expander(self.journal, settings.expand_max_clicks)
        self.activity = NetworkActivity()
        """The page's requests in flight (attached when the page is made)."""
        self.changes: PageChanges | None = None
        """The page's record of element changes (made by the scroll step)."""
        self._warming: dict[str, asyncio.Future[None]] = {}

    def warm_up(self, *, microdata: bool = False) -> None:
        """Import the post reader and the platform modules on a thread (once), and with
        `microdata` the microdata parser. Started before the browser, the reader's imports
        overlap the browser's start rather than the page's load, whose traffic passes through
        this process; the parser, which only pages with microdata need, once the page's HTML
        mentions it."""
        for name, work in (("reader", warm_up), ("microdata", warm_up_microdata)):
            if name in self._warming or (name == "microdata" and not microdata):
                continue
            task = asyncio.ensure_future(asyncio.to_thread(work))
            # A failed warm-up only costs time later, when the reader imports for itself.
            task.add_done_callback(lambda done: done.cancelled() or done.exception())
            self._warming[name] = task

    async def warmed(self, timeout_s: float) -> None:
        """Wait (bounded) for the warm-ups started."""
        if self._warming:
            await asyncio.wait(list(self._warming.values()), timeout=timeout_s)

    def _main(self) -> Response:
        if self.state.main is None:
            raise CaptureFailed("no main document response was recorded")
        return self.state.main


async def read_headers(source: Any, fallback: dict[str, str]) -> list[Header]:
    try:
        raw = await asyncio.wait_for(source, SMALL_CALL_S)
        return [Header(name=h["name"], value=h["value"]) for h in raw]
    except (TimeoutError, PlaywrightError):
        return [Header(name=k, value=v) for k, v in fallback.items()]


async def redirect_chain(request: Request) -> list[RedirectHop]:
    """Hops before the final request, oldest first, each with status and Location."""
    hops: list[RedirectHop] = []
    current = request.redirected_from
    while current is not None:
        try:
            response = await asyncio.wait_for(current.response(), SMALL_CALL_S)
        except (TimeoutError, PlaywrightError):
            response = None
        status = response.status if response else 0
        location = None
        if response is not None:
            try:
                location = await asyncio.wait_for(response.header_value("location"), SMALL_CALL_S)
            except (TimeoutError, PlaywrightError):
                location = response.headers.get("location")
        hops.append(RedirectHop(url=current.url, status=status, location=location))
        current = current.redirected_from
    hops.reverse()
    return hops
