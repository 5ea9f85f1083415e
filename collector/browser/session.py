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
from pathlib import Path
from typing import Any

from playwright.async_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    Response,
    ViewportSize,
    async_playwright,
)
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from collector.browser.artifact_steps import ArtifactSteps
from collector.browser.behaviours import (
    PageWatch,
)
from collector.browser.capture_base import (
    CLOSE_RESERVE_S,
    SMALL_CALL_S,
    WARC_SCRATCH,
    redirect_chain,
)
from collector.browser.driver import EarlyDriver
from collector.browser.egress.socks import EgressPoint
from collector.browser.journal import StepHandle, one_line, utcnow
from collector.browser.launch import (
    TrustedCa,
    actual_command_line,
    browser_home,
    chromium_version_warning,
    egress_for,
    features_warning,
    launch_args,
    launch_browser,
)
from collector.browser.media import MEDIA_SCRATCH
from collector.browser.page_steps import PageSteps
from collector.browser.recorder import TrafficRecorder
from collector.browser.runaway import ScriptWatchdog
from collector.browser.shared import Launched, SharedBrowser
from collector.browser.warc import WarcSink
from collector.errors import CaptureFailed, NavigationRefused
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
    CaptureRecord,
)

ARTIFACTS: tuple[str, ...] = (SCREENSHOT, PAGE_HTML, RESPONSE_HTML, MHTML, WARC)


class CaptureSession(PageSteps, ArtifactSteps):
    """Runs one capture into `workdir`. Use `run()` once."""

    # ------------------------------------------------------------------ entry

    async def run(
        self, shared: SharedBrowser | None = None, early: EarlyDriver | None = None
    ) -> CaptureRecord:
        """The capture: in a context of `shared`'s browser, or in a browser of its own, launched
        through the `early` driver (started with the command) or a driver started now."""
        if shared is not None:
            return await self._run_shared(shared)
        try:
            self.egress = await self._open_egress()
            with browser_home(self.settings.extra_ca_certs) as (home, trusted):
                playwright_cm: Any = None
                if early is not None and early.driver is not None:
                    playwright = early.driver
                    self._early_at = early.started_at
                else:
                    try:
                        playwright_cm = async_playwright()
                        playwright = await playwright_cm.__aenter__()
                    except Exception as exc:
                        raise CaptureFailed(
                            f"browser driver failed to start: {one_line(exc)}"
                        ) from exc
                try:
                    browser = await self._launch(playwright, home, trusted)
                    try:
                        await self._capture(browser)
                    finally:
                        await self._close(browser)
                finally:
                    if playwright_cm is not None:
                        with contextlib.suppress(Exception):
                            await asyncio.wait_for(
                                playwright_cm.__aexit__(None, None, None), CLOSE_RESERVE_S
                            )
        finally:
            if self._sink is not None:
                self._sink.discard()
            if self.egress is not None:
                await self.egress.close()
        return self._record()

    async def _run_shared(self, shared: SharedBrowser) -> CaptureRecord:
        """The capture in a fresh context of `shared`'s browser, which stays open after it."""
        try:
            self.egress = await self._open_egress()
            launched = await self._join(shared)
            self.shared = True
            try:
                await self._capture(launched.browser)
            finally:
                self._leave(launched)
        finally:
            if self._sink is not None:
                self._sink.discard()
            if self.egress is not None:
                await self.egress.close()
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

    async def _open_egress(self) -> EgressPoint:
        """The capture's one way out (see `collector.browser.egress`), started before the browser."""
        settings = self.settings
        with self.journal.step("egress") as step:
            egress = egress_for(settings)
            await egress.start()
            step.note(
                f"all traffic through {egress.proxy_url} (SOCKS5): names resolved there and pinned, "
                + ("private, loopback, link-local and reserved addresses refused"
                   if settings.block_private_network else "private networks allowed by this store")
                + (f"; allowed origins {', '.join(sorted(egress.rules.allowed))}"
                   if egress.rules.allowed else "")
                + (f"; through upstream proxy {settings.proxy}" if settings.proxy else "")
            )  # fmt: skip
            return egress

    async def _launch(
        self, playwright: Playwright, home: Path, trusted: list[TrustedCa]
    ) -> Browser:
        settings = self.settings
        with self.journal.step("launch") as step:
            args = launch_args(settings)
            assert self.egress is not None
            browser = await launch_browser(
                playwright, settings, args, home, proxy_server=self.egress.proxy_url
            )
            actual = await actual_command_line(browser)
            if self._early_at is not None:
                step.note(
                    "browser driver (Playwright) started with the command at "
                    f"{self._early_at.isoformat(timespec='milliseconds')}, while the gate was "
                    "decided; it opens no connection and no page, and this browser was launched "
                    "through it after the gate had passed"
                )
            self._launched_as(step, browser.version, actual[1:] if actual is not None else args,
                              actual is not None, trusted)  # fmt: skip
            return browser

    def _launched_as(self, step: StepHandle, version: str, args: list[str], args_read: bool,
                     trusted: list[TrustedCa]) -> None:  # fmt: skip
        """What the launch step says of the browser a capture runs in (its own or a shared one)."""
        self.state.version, self.state.args = version, args
        step.note("launch args read from the browser process command line" if args_read
                  else "launch args as passed (Playwright adds its own defaults)")  # fmt: skip
        warning = chromium_version_warning(version)
        step.note(f"Chromium {version}, headless")
        if warning:
            step.note(f"WARNING: {warning}")
        features = features_warning(args)
        if features:
            step.note(f"WARNING: {features}")
        step.note(f"ignore_https_errors={self.settings.ignore_https_errors}")
        for ca in trusted:
            step.note(f"trusted extra CA {ca.describe()}")
        if self.settings.proxy:
            step.note(f"proxy {self.settings.proxy}")

    async def _join(self, shared: SharedBrowser) -> Launched:
        """The launch step of a capture in a shared browser: which browser, and how it started."""
        with self.journal.step("launch") as step:
            launched = await shared.browser_for_capture()
            step.note(
                f"shared browser {launched.number} (one Chromium for the batch), launched "
                f"{launched.at.isoformat(timespec='seconds')}; this capture's context is number "
                f"{launched.contexts} in it, made fresh: no cookies, cache, storage, service "
                "workers or connections of another capture"
            )
            if launched.driver_early_at is not None:
                step.note(
                    "its driver (Playwright) was started with the command at "
                    f"{launched.driver_early_at.isoformat(timespec='milliseconds')}, while the gate "
                    "was decided; it opens no connection and no page"
                )
            self._launched_as(step, launched.version, launched.args, launched.args_read, launched.trusted)
            step.note("this context's traffic goes through this capture's own egress point; the "
                      "browser's own traffic through the shared browser's")  # fmt: skip
            return launched

    def _leave(self, launched: Launched) -> None:
        """The close step of a capture in a shared browser: its context is closed, not the browser."""
        with self.journal.step("close") as step:
            services = launched.egress.browser_service
            if services:
                names = sorted({c.host for c in services})
                step.note(
                    f"the shared browser's own services have tried {len(services)} connection(s) "
                    f"since it started ({', '.join(names)}); refused by its egress point, none "
                    "left the machine"
                )
            step.note("context closed; the shared browser stays open for the batch's next capture")

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
        if self.shared:
            assert self.egress is not None
            options["proxy"] = {"server": self.egress.proxy_url}
        return await browser.new_context(**options)

    async def _capture(self, browser: Browser) -> None:
        journal, settings = self.journal, self.settings
        context: BrowserContext | None = None
        recorder: TrafficRecorder | None = None
        watchdog: ScriptWatchdog | None = None
        try:
            with journal.step("context") as step:
                context = await self._new_context(browser)
                egress = self.egress
                assert egress is not None
                self._sink = WarcSink(self.workdir / WARC_SCRATCH)
                recorder = TrafficRecorder(
                    self._sink, journal, egress, self.redactor, settings.platform_json_max
                )
                recorder.attach(context)
                page = await context.new_page()
                self.activity.attach(page)
                recorder.main_page = page
                watch = PageWatch(journal, before_popup_close=recorder.flush)
                watch.attach(context, page)
                cdp = await context.new_cdp_session(page)
                await cdp.send("Network.enable")
                await self.navigation.install(cdp)
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
            self.warm_up()
            await self._navigate(page, recorder)
            watchdog = ScriptWatchdog(cdp, journal, settings.script_busy_s)
            watchdog.start()
            watch.on_dialog = watchdog.dialog_opened
            await self._response_body()
            await self._settle(page)
            await self._consent(page)
            await self._expand(page)
            await self._scroll(page)
            await self._media_state(page)
            await self._address(page)
            await watch.settle(1.0)
            await self._screenshot(page, cdp)
            await self._dom(page, recorder)
            await self.warmed(SMALL_CALL_S)
            await self._post()
            await self._media(context, recorder, egress)
            await self._mhtml(cdp)
            await self._tls(cdp)
            await self._environment(page)
            if self.redactor is not None:
                await self._redact_files(self.redactor)
            await self._warc(context, recorder, watch)
            self._report_unmatched_blocks()
            self.state.blocked = len(egress.blocked)
        finally:
            if watchdog is not None:
                await watchdog.close()
            if recorder is not None:
                await recorder.abort()
            if context is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(context.close(), CLOSE_RESERVE_S)

    async def _navigate(self, page: Page, recorder: TrafficRecorder) -> None:
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
                    refused = self.navigation.refused or self._refused_navigation(recorder)
                    if refused is not None:
                        raise NavigationRefused(refused) from exc
                    failed = self.egress.failure_for_url(self.url) if self.egress else None
                    if failed is not None:
                        message += f" (egress point: {failed})"
                    raise CaptureFailed(f"could not load {self.url}: {message}") from exc
            await self.navigation.settle()
            if self.navigation.refused is not None:
                raise NavigationRefused(self.navigation.refused)
            self.navigation.loaded = True
            if self.scopes:
                step.note(
                    f"{self.navigation.judged} main-frame document request(s) judged against the "
                    f"scope: {' -> '.join(self.navigation.chain)}"
                )
            main = recorder.main_responses[-1] if recorder.main_responses else response
            if main is None:
                raise CaptureFailed(f"no response from {self.url} within {budget:.1f}s")
            self.state.main = main
            self.state.redirects = await redirect_chain(main.request)
            step.note(f"{main.status} {main.url}; {len(self.state.redirects)} redirect(s)")

    def _refused_navigation(self, recorder: TrafficRecorder) -> str | None:
        """Why the main document could not load, when the egress point refused a document
        request of the main frame (the URL itself, or a redirect target)."""
        egress = self.egress
        if egress is None:
            return None
        for url in reversed(recorder.main_failures):
            hit = egress.blocked_for_url(url)
            if hit is not None:
                where = "" if url == self.url else f" led to {url}, which"
                return f"loading {self.url}{where}: the egress point refused {hit.origin}: {hit.reason}"
        return None

    def _report_unmatched_blocks(self) -> None:
        """Refused connections no failed request was matched to (a WebSocket, a preconnect)."""
        if self.egress is None:
            return
        for c in self.egress.blocked:
            if c.reported:
                continue
            c.reported = True
            if c.tool_url is not None:
                self.journal.change("request-blocked", f"GET {c.tool_url} (tool): {c.reason}")
            else:
                self.journal.change(
                    "connection-blocked",
                    f"{c.origin} ({', '.join(c.addresses) or 'unresolved'}): {c.reason}",
                )

    async def _close(self, browser: Browser) -> None:
        with self.journal.step("close") as step:
            services = self.egress.browser_service if self.egress else []
            if services:
                names = sorted({c.host for c in services})
                step.note(
                    f"the browser's own services tried {len(services)} connection(s) "
                    f"({', '.join(names)}); refused by the egress point, none left the machine"
                )
            try:
                await asyncio.wait_for(browser.close(), CLOSE_RESERVE_S)
            except Exception as exc:  # the record is complete; a slow close is only noted
                step.note(f"close did not finish cleanly: {one_line(exc)}")

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
