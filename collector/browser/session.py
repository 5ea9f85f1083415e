"""One capture, start to finish: launch → navigate → settle → scroll → screenshot → dom →
mhtml → tls → (redact) → warc → close, each a timed `Step`, all inside one hard time limit.

With an `AliasSession` the browser context starts with the alias's storage state, and the
alias's credentials are replaced by keyed digests everywhere the capture stores them (see
`collector.browser.redaction`): WARC records as they are written, the text files in the
`redact` step, and the capture record at the end. Without one nothing of that runs."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import struct
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from playwright.async_api import (
    Browser,
    BrowserContext,
    CDPSession,
    FloatRect,
    Page,
    Playwright,
    Request,
    Response,
    ViewportSize,
    async_playwright,
)
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from collector import TOOL_NAME, __version__
from collector.browser.behaviours import (
    IMAGE_WAIT_S,
    PageWatch,
    scroll_to_top,
    scroll_until_stable,
    wait_for_images,
)
from collector.browser.consent import ConsentRulesError, dismiss_consent, load_rules
from collector.browser.egress import egress_for
from collector.browser.expand import Expander
from collector.browser.feed import FeedCollector
from collector.browser.journal import Deadline, Journal, StepHandle, one_line, utcnow
from collector.browser.launch import (
    TrustedCa,
    actual_command_line,
    browser_home,
    chromium_version_warning,
    launch_args,
    launch_browser,
)
from collector.browser.media import MEDIA_SCRATCH, MediaOutcome, orphans, save_media
from collector.browser.media_state import prepare_media
from collector.browser.network import PrivateNetworkGuard, PrivateNetworkPolicy
from collector.browser.recorder import TrafficRecorder
from collector.browser.redaction import AliasSession, Redactor, redaction_lines
from collector.browser.tls import collect_tls
from collector.browser.warc import WarcSink, rewrite_lines
from collector.errors import CaptureFailed
from collector.evidence.bundle.layout import DOM as PAGE_HTML
from collector.evidence.bundle.layout import (
    FEED_ITEMS,
    MEDIA_DIR,
    MHTML,
    SCREENSHOT,
    VIEWPORT_DIR,
    WARC,
)
from collector.evidence.bundle.layout import RAW_HTML as RESPONSE_HTML
from collector.evidence.model import (
    BrowserInfo,
    BrowserSettings,
    CaptureRecord,
    Egress,
    FeedRecord,
    FeedStop,
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
from collector.platforms import PageInput, read_page, warm_up

ARTIFACTS: tuple[str, ...] = (SCREENSHOT, PAGE_HTML, RESPONSE_HTML, MHTML, WARC)
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
class _State:
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


class CaptureSession:
    """Runs one capture into `workdir`. Use `run()` once."""

    def __init__(
        self,
        url: str,
        settings: BrowserSettings,
        workdir: Path,
        alias: AliasSession | None = None,
    ) -> None:
        self.url = url
        self.settings = settings
        self.workdir = workdir
        self.alias = alias
        self.redactor: Redactor | None = alias.redactor() if alias is not None else None
        self.journal = Journal()
        self.deadline = Deadline(settings.total_timeout_s)
        total = settings.total_timeout_s
        self.reserve = finish_reserve(total) + min(CLOSE_RESERVE_S, 0.1 * total)
        self.state = _State()
        self._sink: WarcSink | None = None
        self.expander = Expander(self.journal, settings.expand_max_clicks)

    # ------------------------------------------------------------------ entry

    async def run(self) -> CaptureRecord:
        try:
            with browser_home(self.settings.extra_ca_certs) as (home, trusted):
                try:
                    playwright_cm = async_playwright()
                    playwright = await playwright_cm.__aenter__()
                except Exception as exc:
                    raise CaptureFailed(f"browser driver failed to start: {one_line(exc)}") from exc
                try:
                    browser = await self._launch(playwright, home, trusted)
                    try:
                        await self._capture(browser)
                    finally:
                        await self._close(browser)
                finally:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(
                            playwright_cm.__aexit__(None, None, None), CLOSE_RESERVE_S
                        )
        finally:
            if self._sink is not None:
                self._sink.discard()
        return self._record()

    def remove_artifacts(self) -> None:
        """After a failure: nothing half-written may look like a capture."""
        for name in (*ARTIFACTS, WARC_SCRATCH, FEED_ITEMS):
            with contextlib.suppress(OSError):
                (self.workdir / name).unlink(missing_ok=True)
        shutil.rmtree(self.workdir / VIEWPORT_DIR, ignore_errors=True)
        for directory in (MEDIA_DIR, MEDIA_SCRATCH):
            shutil.rmtree(self.workdir / directory, ignore_errors=True)

    # ------------------------------------------------------------------ steps

    async def _launch(
        self, playwright: Playwright, home: Path, trusted: list[TrustedCa]
    ) -> Browser:
        settings = self.settings
        with self.journal.step("launch") as step:
            args = launch_args(settings)
            browser = await launch_browser(playwright, settings, args, home)
            self.state.version = browser.version
            actual = await actual_command_line(browser)
            if actual is not None:
                self.state.args = actual[1:]
                step.note("launch args read from the browser process command line")
            else:
                self.state.args = args
                step.note("launch args as passed (Playwright adds its own defaults)")
            warning = chromium_version_warning(browser.version)
            step.note(f"Chromium {browser.version}, headless")
            if warning:
                step.note(f"WARNING: {warning}")
            step.note(f"ignore_https_errors={settings.ignore_https_errors}")
            for ca in trusted:
                step.note(f"trusted extra CA {ca.describe()}")
            if settings.proxy:
                step.note(f"proxy {settings.proxy}")
            return browser

    async def _new_context(self, browser: Browser) -> BrowserContext:
        settings = self.settings
        viewport: ViewportSize = {
            "width": settings.viewport_width,
            "height": settings.viewport_height,
        }
        options: dict[str, Any] = {
            "viewport": viewport,
            "locale": settings.locale,
            "timezone_id": settings.timezone_id,
            "device_scale_factor": settings.device_scale_factor,
            "accept_downloads": False,
            "service_workers": "block",
            "ignore_https_errors": settings.ignore_https_errors,
        }
        if settings.user_agent:
            options["user_agent"] = settings.user_agent
        if self.alias is not None:
            options["storage_state"] = self.alias.storage_state
        return await browser.new_context(**options)

    async def _capture(self, browser: Browser) -> None:
        journal, settings = self.journal, self.settings
        context: BrowserContext | None = None
        recorder: TrafficRecorder | None = None
        try:
            with journal.step("context") as step:
                context = await self._new_context(browser)
                guard: PrivateNetworkGuard | None = None
                if settings.block_private_network:
                    guard = PrivateNetworkGuard(PrivateNetworkPolicy(), journal)
                    await guard.install(context)
                    step.note(
                        "requests to private, loopback, link-local and reserved addresses blocked"
                    )
                else:
                    step.note("private-network blocking off: no request routing installed")
                self._sink = WarcSink(self.workdir / WARC_SCRATCH)
                recorder = TrafficRecorder(
                    self._sink, journal, guard, self.redactor, settings.platform_json_max
                )
                recorder.attach(context)
                page = await context.new_page()
                recorder.main_page = page
                watch = PageWatch(journal, before_popup_close=recorder.flush)
                watch.attach(context, page)
                cdp = await context.new_cdp_session(page)
                await cdp.send("Network.enable")
                stored = "no stored state" if self.alias is None else self.alias.describe()
                step.note(
                    f"fresh context: viewport {settings.viewport_width}x"
                    f"{settings.viewport_height} @{settings.device_scale_factor:g}x, "
                    f"locale {settings.locale}, timezone {settings.timezone_id}, "
                    f"{stored}, downloads refused, service workers blocked"
                )
                if self.redactor is not None:
                    step.note(
                        "alias credentials are replaced by redacted:hmac-sha256 digests in "
                        "every stored file and record"
                    )
            warming = asyncio.ensure_future(asyncio.to_thread(warm_up))
            await self._navigate(page, recorder, guard)
            await self._response_body()
            await self._settle(page)
            await self._consent(page)
            await self._expand(page)
            await self._scroll(page)
            await self._media_state(page)
            await watch.settle(1.0)
            await self._screenshot(page)
            await self._dom(page, recorder)
            with contextlib.suppress(Exception):  # a failed warm-up only costs time later
                await asyncio.wait_for(warming, SMALL_CALL_S)
            await self._post()
            await self._media(context, recorder, guard)
            await self._mhtml(cdp)
            await self._tls(cdp)
            await self._environment(page)
            if self.redactor is not None:
                await self._redact_files(self.redactor)
            await self._warc(context, recorder, watch)
            self.state.blocked = (
                len(guard.blocked) + len(guard.blocked_tool_requests) if guard else 0
            )
        finally:
            if recorder is not None:
                await recorder.abort()
            if context is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(context.close(), CLOSE_RESERVE_S)

    async def _navigate(
        self, page: Page, recorder: TrafficRecorder, guard: PrivateNetworkGuard | None
    ) -> None:
        with self.journal.step("navigate") as step:
            budget = self.deadline.budget(self.settings.navigation_timeout_s, self.reserve)
            if budget <= 0:
                raise CaptureFailed("no time left to navigate within the total time limit")
            response: Response | None = None
            try:
                response = await page.goto(self.url, wait_until="load", timeout=budget * 1000)
                step.note(f"load event reached in time (limit {budget:.1f}s)")
            except PlaywrightTimeoutError:
                step.timeout(
                    f"load event not reached within {budget:.1f}s; continuing with what loaded"
                )
                self.journal.change(
                    "navigation-timeout",
                    f"the page did not finish loading within {budget:.1f}s; captured as it was",
                )
            except PlaywrightError as exc:
                message = one_line(exc.message)
                if recorder.main_responses and "interrupted by another navigation" in message:
                    step.note(f"navigation replaced by the page itself: {message}")
                else:
                    if guard is not None and "ERR_BLOCKED_BY_CLIENT" in message:
                        message += " (the address is on a private network and blocking is on)"
                    raise CaptureFailed(f"could not load {self.url}: {message}") from exc
            main = recorder.main_responses[-1] if recorder.main_responses else response
            if main is None:
                raise CaptureFailed(f"no response from {self.url} within {budget:.1f}s")
            self.state.main = main
            self.state.redirects = await _redirect_chain(main.request)
            step.note(f"{main.status} {main.url}; {len(self.state.redirects)} redirect(s)")

    async def _response_body(self) -> None:
        main = self._main()
        with self.journal.step("response-body") as step:
            await self._write_main_body(main, step)

    async def _write_main_body(self, main: Response, step: StepHandle) -> None:
        target = self.workdir / RESPONSE_HTML
        budget = self.deadline.budget(BODY_TIMEOUT_S, self.reserve)
        try:
            body = await asyncio.wait_for(main.body(), timeout=max(1.0, budget))
        except (TimeoutError, PlaywrightError) as exc:
            reason = "timed out" if isinstance(exc, TimeoutError) else one_line(exc.message)
            target.write_bytes(b"")
            step.fail(f"main document body unavailable ({reason}); response.html left empty")
            self.journal.change("body-unavailable", f"main document {main.url}: {reason}")
            return
        target.write_bytes(body)
        step.note(f"{len(body)} bytes of {main.url} as the browser received them (decoded)")

    async def _settle(self, page: Page) -> None:
        with self.journal.step("settle") as step:
            budget = self.deadline.budget(self.settings.settle_timeout_s, self.reserve)
            if budget <= 0:
                step.skip("no settle time configured or left")
                return
            try:
                await page.wait_for_load_state("networkidle", timeout=budget * 1000)
                step.note("network idle")
            except PlaywrightTimeoutError:
                step.timeout(f"network still busy after {budget:.1f}s; continuing")

    async def _consent(self, page: Page) -> None:
        """Close consent overlays that a rule in consent-rules.toml matches."""
        with self.journal.step("consent") as step:
            if not self.settings.dismiss_consent:
                step.skip("dismiss_consent is off: overlays left as the page showed them")
                return
            budget = self.deadline.budget(CONSENT_TIMEOUT_S, self.reserve)
            if budget <= 0:
                step.skip("no time left for consent overlays")
                return
            try:
                rules = load_rules()
            except (ConsentRulesError, OSError) as exc:
                step.fail(f"consent rules unusable, overlays left in place: {one_line(exc)}")
                return
            step.note(rules.describe())
            try:
                outcome = await asyncio.wait_for(
                    dismiss_consent(page, self.journal, step, rules), budget
                )
            except TimeoutError:
                step.timeout(f"consent overlays not handled within {budget:.1f}s")
                return
            except PlaywrightError as exc:
                step.fail(f"consent check interrupted: {one_line(exc.message)}")
                return
            step.note(
                f"{outcome.rules_checked} rule(s) apply to this host; {outcome.dismissed} "
                f"overlay(s) closed, {outcome.left} left in place"
            )

    async def _expand(self, page: Page) -> None:
        """Click "Show more" expanders in the DOM (more are clicked while scrolling)."""
        with self.journal.step("expand") as step:
            if self.settings.expand_max_clicks <= 0:
                step.skip("expand_max_clicks is 0: truncated text left as it was")
                return
            budget = self.deadline.budget(EXPAND_TIMEOUT_S, self.reserve)
            if budget <= 0:
                step.skip("no time left for expanding")
                return
            try:
                await asyncio.wait_for(self.expander.run(page), budget)
            except TimeoutError:
                step.timeout(f"expanding not done within {budget:.1f}s")
            step.note(self.expander.summary())

    async def _scroll(self, page: Page) -> None:
        settings = self.settings
        with self.journal.step("scroll") as step:
            feed = FeedCollector(
                page,
                self.workdir,
                mode=settings.feed_artifacts,
                max_screenshots=settings.feed_max_screenshots,
            )
            stop: FeedStop = "not-scrolled"
            clicked_before = self.expander.clicked
            budget = self.deadline.budget(settings.scroll_max_time_s, self.reserve)
            if budget <= 0:
                step.skip("scrolling disabled or no time left")
            else:
                try:
                    result = await asyncio.wait_for(
                        scroll_until_stable(
                            page,
                            self.journal,
                            max_time_s=budget,
                            idle_ms=settings.scroll_idle_ms,
                            max_height_px=settings.scroll_max_height_px,
                            max_items=settings.feed_max_items,
                            feed=feed,
                            expander=self.expander,
                        ),
                        timeout=budget + SMALL_CALL_S,
                    )
                    stop = result.stop
                    step.note(
                        f"stopped: {result.reason}; height {result.height}px; "
                        f"{result.batches} batch(es); {result.items} feed item(s) seen"
                    )
                except TimeoutError:
                    stop = "interrupted"
                    step.timeout("the page stopped answering while scrolling")
                except PlaywrightError as exc:  # e.g. the page navigated away mid-scroll
                    stop = "interrupted"
                    step.fail(f"scrolling interrupted: {one_line(exc.message)}")
            if self.expander.clicked > clicked_before:
                step.note(
                    f"{self.expander.clicked - clicked_before} expander(s) clicked while "
                    f"scrolling; {self.expander.summary()}"
                )
            images = self.deadline.budget(IMAGE_WAIT_S, self.reserve)
            try:
                await wait_for_images(page, images, step)
            except TimeoutError:
                step.note("image check timed out")
            except PlaywrightError as exc:
                step.note(f"image check failed: {one_line(exc.message)}")
            try:
                await asyncio.wait_for(scroll_to_top(page, self.journal), SMALL_CALL_S)
            except (TimeoutError, PlaywrightError) as exc:
                step.fail(f"could not scroll back to the top: {one_line(exc)}")
            await self._finish_feed(feed, stop, step)

    async def _finish_feed(self, feed: FeedCollector, stop: FeedStop, step: StepHandle) -> None:
        """Compare the items seen with the final DOM; keep the feed artifacts (feed.py)."""
        try:
            budget = max(1.0, self.deadline.budget(SMALL_CALL_S * 2, self.reserve))
            record = await asyncio.wait_for(feed.finish(stop, self.redactor), budget)
        except TimeoutError:
            feed.discard()
            step.note("feed items not finished within the time limit; none kept")
            return
        if record is None:
            step.note("no feed items found")
            return
        self.state.feed = record
        self.state.feed_artifacts = list(feed.artifacts)
        step.note(
            f"feed: {record.items_seen} item(s) seen, {record.items_in_final_dom} still in the "
            f"final DOM ({'virtualised' if record.virtualised else 'not virtualised'}), "
            f"{'complete' if record.complete else 'incomplete: ' + record.stop_reason}; "
            f"{len(record.screenshots)} viewport screenshot(s); {record.note}"
        )

    async def _media_state(self, page: Page) -> None:
        """Lazy images loaded and videos stopped at 0 s for the screenshot (media_state.py)."""
        settings = self.settings
        with self.journal.step("media-state") as step:
            if not settings.load_lazy_images and not settings.pause_videos:
                step.skip("load_lazy_images and pause_videos are off")
                return
            budget = self.deadline.budget(MEDIA_TIMEOUT_S, self.reserve)
            if budget <= 0:
                step.skip("no time left to prepare media")
                return
            try:
                await asyncio.wait_for(
                    prepare_media(
                        page,
                        self.journal,
                        step,
                        lazy_images=settings.load_lazy_images,
                        videos=settings.pause_videos,
                        image_wait_s=min(IMAGE_WAIT_S, budget / 2),
                    ),
                    budget,
                )
            except TimeoutError:
                step.timeout(f"media not made ready within {budget:.1f}s")
            except PlaywrightError as exc:
                step.fail(f"media state not changed: {one_line(exc.message)}")

    async def _screenshot(self, page: Page) -> None:
        dsf = self.settings.device_scale_factor
        with self.journal.step("screenshot") as step:
            metrics: dict[str, int] = await asyncio.wait_for(
                page.evaluate(
                    "() => { const e = document.scrollingElement || document.documentElement;"
                    " return {width: e.scrollWidth, height: e.scrollHeight}; }"
                ),
                SMALL_CALL_S,
            )
            self.state.page_width = int(metrics["width"])
            self.state.page_height = int(metrics["height"])
            budget = self.deadline.budget(120.0, CLOSE_RESERVE_S + 2.0)
            target = self.workdir / SCREENSHOT
            clip = screenshot_clip(
                self.state.page_width, self.state.page_height, self.settings.viewport_width, dsf
            )
            if clip is not None:
                self.journal.change(
                    "screenshot-clipped",
                    f"the document is {self.state.page_width}x{self.state.page_height} CSS px, "
                    f"beyond what one PNG can hold; the screenshot covers x 0-{clip['width']}, "
                    f"y 0-{clip['height']} (the DOM, MHTML and WARC hold the whole page)",
                )
            try:
                await page.screenshot(
                    path=str(target),
                    full_page=True,
                    type="png",
                    clip=clip,
                    timeout=max(0.1, budget) * 1000,
                )
            except PlaywrightTimeoutError as exc:
                raise CaptureFailed(f"full-page screenshot not done within {budget:.1f}s") from exc
            width, height = png_size(target)
            step.note(
                f"{width}x{height} px PNG of a {self.state.page_width}x{self.state.page_height} "
                f"CSS px document at scale {dsf:g}"
            )
            if clip is None and height != round(self.state.page_height * dsf):
                step.note("WARNING: screenshot height differs from document height x scale")

    async def _dom(self, page: Page, recorder: TrafficRecorder) -> None:
        with self.journal.step("dom") as step:
            html = await asyncio.wait_for(page.content(), SMALL_CALL_S * 6)
            (self.workdir / PAGE_HTML).write_text(html, encoding="utf-8")
            self.state.title = await asyncio.wait_for(page.title(), SMALL_CALL_S)
            step.note(f"{len(html)} characters of rendered DOM")
            latest = recorder.main_responses[-1] if recorder.main_responses else None
            if latest is not None and latest is not self.state.main:
                step.note(f"the page navigated itself to {latest.url}: raw response refreshed")
                self.state.main = latest
                self.state.redirects = await _redirect_chain(latest.request)
                await self._write_main_body(latest, step)

    async def _post(self) -> None:
        """Read the post and the page state from the stored response and rendered DOM."""
        main = self._main()
        with self.journal.step("post") as step:
            page = PageInput(
                url=main.url,
                raw=(self.workdir / RESPONSE_HTML).read_bytes(),
                rendered=(self.workdir / PAGE_HTML).read_text(encoding="utf-8", errors="replace"),
                status=main.status,
                content_type=main.headers.get("content-type"),
            )
            budget = max(1.0, self.deadline.budget(READ_TIMEOUT_S, self.reserve))
            try:
                reading = await asyncio.wait_for(asyncio.to_thread(read_page, page), budget)
            except TimeoutError:
                step.timeout(f"the page could not be read within {budget:.1f}s; no post recorded")
                self.state.page_state = PageState(
                    state="error", reason="the page could not be read within the time limit"
                )
                return
            self.state.post, self.state.page_state = reading.post, reading.page_state
            post = reading.post
            step.note(
                f"page state {reading.page_state.state} ({reading.page_state.reason}); platform "
                f"{post.platform.name or 'none'} ({post.platform.basis}); extractor {post.extractor}; "
                f"{len(post.sources)} value(s), {len(post.conflicts)} conflict(s)"
            )

    async def _media(
        self,
        context: BrowserContext,
        recorder: TrafficRecorder,
        guard: PrivateNetworkGuard | None,
    ) -> None:
        """Save the post's media as files of their own (see `collector.browser.media`)."""
        post = self.state.post
        if post is None:
            return  # the post step says why there is no post
        with self.journal.step("media") as step:
            if not post.media:
                step.skip("the post has no media")
                return
            budget = self.deadline.budget(self.settings.media_max_time_s, self.reserve)
            main = self._main()
            try:
                outcome = await save_media(
                    post.media,
                    context=context,
                    recorder=recorder,
                    guard=guard,
                    settings=self.settings,
                    workdir=self.workdir,
                    page_url=main.url,
                    budget_s=budget,
                    step=step,
                    user_agent=main.request.headers.get("user-agent"),
                    scrub=self.redactor.scrub if self.redactor is not None else None,
                )
            except Exception as exc:  # media never fail the capture: recorded, not raised
                step.fail(f"media step failed: {one_line(exc)}")
                for item in post.media:
                    if item.artifact is None and item.skipped is None:
                        item.skipped = f"media step failed: {one_line(exc)}"
                outcome = MediaOutcome(artifacts=[i.artifact for i in post.media if i.artifact])
            finally:
                shutil.rmtree(self.workdir / MEDIA_SCRATCH, ignore_errors=True)
            kept = [name for name in outcome.artifacts if (self.workdir / name).is_file()]
            for stray in orphans(self.workdir, kept):
                stray.unlink(missing_ok=True)
                step.note(f"removed {stray.name}: written but not recorded")
            for item in post.media:
                if item.artifact is not None and item.artifact not in kept:
                    item.artifact = item.sha256 = item.size = None
                    item.skipped = "the saved file was missing at the end of the media step"
            self.state.media_artifacts = kept
            self.state.streams = outcome.streams
            self.state.tool_fetches = outcome.fetched
            skipped = sum(1 for item in post.media if item.artifact is None)
            step.note(
                f"{len(kept)} of {len(post.media)} item(s) saved, {skipped} skipped; "
                f"{len(outcome.fetched)} request(s) made by the tool (in the WARC)"
            )

    async def _mhtml(self, cdp: CDPSession) -> None:
        with self.journal.step("mhtml") as step:
            budget = self.deadline.budget(60.0, CLOSE_RESERVE_S + 2.0)
            try:
                result = await asyncio.wait_for(
                    cdp.send("Page.captureSnapshot", {"format": "mhtml"}), max(0.1, budget)
                )
            except TimeoutError as exc:
                raise CaptureFailed(f"MHTML snapshot not done within {budget:.1f}s") from exc
            data = str(result["data"]).encode("utf-8")
            (self.workdir / MHTML).write_bytes(data)
            step.note(f"{len(data)} bytes (Page.captureSnapshot, format mhtml)")

    async def _tls(self, cdp: CDPSession) -> None:
        main = self._main()
        with self.journal.step("tls") as step:
            self.state.tls = await collect_tls(main, cdp, SMALL_CALL_S)
            tls = self.state.tls
            if tls is None:
                step.skip("plain http: no TLS")
            else:
                step.note(f"{tls.protocol}; {len(tls.chain)} certificate(s) in the chain")
                if tls.chain_error:
                    step.note(tls.chain_error)
                step.note(f"ignore_https_errors={self.settings.ignore_https_errors}")

    async def _environment(self, page: Page) -> None:
        main, state = self._main(), self.state
        with self.journal.step("environment") as step:
            request_headers = await _headers(main.request.headers_array(), main.request.headers)
            state.request_headers = request_headers
            state.response_headers = await _headers(main.headers_array(), main.headers)
            state.user_agent = next(
                (h.value for h in request_headers if h.name.lower() == "user-agent"), ""
            )
            state.client_hints = [
                h for h in request_headers if h.name.lower().startswith("sec-ch-ua")
            ]
            try:
                webdriver = await asyncio.wait_for(
                    page.evaluate("() => navigator.webdriver"), SMALL_CALL_S
                )
                state.webdriver = webdriver if isinstance(webdriver, bool) else None
            except (TimeoutError, PlaywrightError) as exc:
                step.note(f"navigator.webdriver not readable: {one_line(exc)}")
            try:
                addr = await asyncio.wait_for(main.server_addr(), SMALL_CALL_S)
            except (TimeoutError, PlaywrightError):
                addr = None
            if addr:
                state.server = ServerAddress(ip=addr["ipAddress"], port=int(addr["port"]))
            state.egress = egress_for(
                state.server.ip if state.server else None,
                state.server.port if state.server else None,
                self.settings.proxy,
            )
            step.note(f"user agent {state.user_agent!r}; navigator.webdriver={state.webdriver}")
            step.note(f"server {addr}; local address {state.egress.local_address}")

    async def _redact_files(self, redactor: Redactor) -> None:
        """Replace the alias's stored values in the text files (byte for byte, recorded)."""
        with self.journal.step("redact") as step:
            for name in (RESPONSE_HTML, PAGE_HTML, MHTML):
                path = self.workdir / name
                if not path.is_file():
                    continue
                data = await asyncio.to_thread(path.read_bytes)
                if name == MHTML:
                    redacted = await asyncio.to_thread(redactor.mhtml, data, artifact=name)
                else:
                    redacted = await asyncio.to_thread(
                        redactor.body, data, artifact=name, url=None, where="file"
                    )
                if redacted != data:
                    await asyncio.to_thread(path.write_bytes, redacted)
                step.note(f"{name}: {redactor.total(name)} replacement(s)")

    async def _warc(
        self, context: BrowserContext, recorder: TrafficRecorder, watch: PageWatch
    ) -> None:
        with self.journal.step("warc") as step:
            if self._sink is None:
                raise CaptureFailed("the WARC was not started")
            await context.set_offline(True)
            step.note("network set offline so traffic stops before the WARC is closed")
            await watch.settle(self.deadline.budget(5.0, CLOSE_RESERVE_S + 2.0))
            budget = self.deadline.budget(60.0, CLOSE_RESERVE_S + 1.0)
            complete = await recorder.drain(budget)
            if recorder.write_error:
                raise CaptureFailed(f"WARC write failed: {recorder.write_error}")
            if not complete:
                step.timeout(f"{recorder.unwritten} response(s) not written before the time limit")
            if recorder.ignored_after_close:
                step.note(
                    f"{recorder.ignored_after_close} response(s) arrived after recording stopped"
                )
            info = self._warcinfo(recorder)
            sink = self._sink
            records = await asyncio.to_thread(sink.finish, self.workdir / WARC, info)
            self._sink = None
            self.state.warc_records = records
            self.state.rewrites = list(recorder.rewrites)
            self.state.platform_json = list(recorder.index.json)
            self.state.platform_json_omitted = recorder.index.json_omitted
            if recorder.index.json_omitted:
                step.note(
                    f"{recorder.index.json_omitted} JSON response(s) left out of the index "
                    f"(platform_json_max={self.settings.platform_json_max}); all are in the WARC"
                )
            self.state.summary = recorder.summary(0, records)
            step.note(
                f"{records} records ({recorder.responses} responses), "
                f"{len(recorder.rewrites)} header rewrite(s), "
                f"{recorder.bodies_unavailable} body(ies) unavailable"
            )

    def _warcinfo(self, recorder: TrafficRecorder) -> list[tuple[str, str]]:
        info = [
            ("software", f"{TOOL_NAME} {__version__}"),
            ("format", "WARC File Format 1.1"),
            (
                "conformsTo",
                "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
            ),
            (
                "browser",
                f"Chromium {self.state.version} ({self.settings.executable_path}, headless)",
            ),
            (
                "requested-url",
                self.url if self.redactor is None else self.redactor.scrub(self.url),
            ),
            (
                "description",
                "Traffic recorded by the capture browser. Bodies are stored as the browser hands "
                "them over (content coding removed, de-chunked); HTTP headers are rewritten to "
                "match and each rewrite is listed below. Status lines are written as HTTP/1.1 "
                "whatever the wire protocol. Redirect bodies are not exposed by the browser.",
            ),
            ("header-rewrites", str(len(recorder.rewrites))),
        ]
        info.extend(rewrite_lines(recorder.rewrites))
        info.extend(
            (
                "tool-fetch",
                f"{url if self.redactor is None else self.redactor.scrub(url)} | post media the "
                "page did not load, fetched by the collector in the capture's browser context; "
                "request headers as the collector set them (Host and Connection added by the "
                "HTTP client)",
            )
            for url in self.state.tool_fetches
        )
        if self.redactor is not None:
            info.extend(redaction_lines(self.redactor.redactions))
        return info

    async def _close(self, browser: Browser) -> None:
        with self.journal.step("close") as step:
            try:
                await asyncio.wait_for(browser.close(), CLOSE_RESERVE_S)
            except Exception as exc:  # the record is complete; a slow close is only noted
                step.note(f"close did not finish cleanly: {one_line(exc)}")

    def _main(self) -> Response:
        if self.state.main is None:
            raise CaptureFailed("no main document response was recorded")
        return self.state.main

    # ------------------------------------------------------------------ record

    def _record(self) -> CaptureRecord:
        state, settings = self.state, self.settings
        main = state.main
        if main is None or state.summary is None:
            raise CaptureFailed("the capture ended without a main response or a WARC")
        network = state.summary.model_copy(update={"blocked": state.blocked})
        record = CaptureRecord(
            requested_url=self.url,
            final_url=main.url,
            status=main.status,
            redirects=state.redirects,
            request_headers=state.request_headers,
            response_headers=state.response_headers,
            server=state.server,
            tls=state.tls,
            title=state.title,
            started_at=state.started_at,
            ended_at=utcnow(),
            browser=BrowserInfo(
                name="chromium",
                version=state.version,
                executable_path=settings.executable_path,
                headless=True,
                user_agent=state.user_agent,
                user_agent_overridden=settings.user_agent is not None,
                navigator_webdriver=state.webdriver,
                client_hints=state.client_hints,
                launch_args=state.args,
            ),
            viewport={"width": settings.viewport_width, "height": settings.viewport_height},
            locale=settings.locale,
            timezone_id=settings.timezone_id,
            egress=state.egress,
            page_width=state.page_width,
            page_height=state.page_height,
            steps=self.journal.steps,
            changes=self.journal.changes,
            warc_rewrites=state.rewrites,
            network=network,
            artifacts=[
                name
                for name in (*ARTIFACTS, *state.feed_artifacts, *state.media_artifacts)
                if (self.workdir / name).is_file()
            ],
            page_state=state.page_state,
            post=state.post,
            feed=state.feed,
            platform_json=state.platform_json,
            platform_json_omitted=state.platform_json_omitted,
            streams=state.streams,
        )
        if self.redactor is not None:
            record = self.redactor.record(record)
        return record


async def _headers(source: Any, fallback: dict[str, str]) -> list[Header]:
    try:
        raw = await asyncio.wait_for(source, SMALL_CALL_S)
        return [Header(name=h["name"], value=h["value"]) for h in raw]
    except (TimeoutError, PlaywrightError):
        return [Header(name=k, value=v) for k, v in fallback.items()]


async def _redirect_chain(request: Request) -> list[RedirectHop]:
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


def screenshot_clip(
    width: int, height: int, viewport_width: int, scale: float
) -> FloatRect | None:
    """None when the whole document fits one PNG; else the largest top-left region that does:
    first the width cut to the viewport (sideways overflow), then the height cut to fit."""
    if width * scale <= MAX_SCREENSHOT_SIDE_PX and width * height * scale * scale <= MAX_SCREENSHOT_PIXELS:
        return None
    clip_width = min(width, viewport_width)
    max_height = int(MAX_SCREENSHOT_PIXELS / (clip_width * scale * scale))
    return {"x": 0, "y": 0, "width": clip_width, "height": max(1, min(height, max_height))}


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    with path.open("rb") as handle:
        head = handle.read(24)
    if len(head) < 24 or head[:8] != b"\x89PNG\r\n\x1a\n":
        raise CaptureFailed("the screenshot is not a PNG file")
    width, height = struct.unpack(">II", head[16:24])
    return int(width), int(height)
