"""The steps that save the capture: the main response's bytes, screenshot, DOM, the post and its
media, MHTML, TLS chain, environment, redaction and the WARC."""


from __future__ import annotations

import asyncio
import re
import shutil
import struct
from pathlib import Path
from urllib.parse import urlsplit

from playwright.async_api import (
    BrowserContext,
    CDPSession,
    FloatRect,
    Page,
    Response,
)
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from collector import TOOL_NAME, __version__
from collector.browser.behaviours import (
    PageWatch,
)
from collector.browser.capture_base import (
    BODY_TIMEOUT_S,
    CLOSE_RESERVE_S,
    MAX_SCREENSHOT_PIXELS,
    MAX_SCREENSHOT_SIDE_PX,
    READ_TIMEOUT_S,
    SMALL_CALL_S,
    SessionBase,
    read_headers,
    redirect_chain,
)
from collector.browser.egress.probe import egress_for
from collector.browser.egress.socks import EgressPoint
from collector.browser.journal import StepHandle, one_line
from collector.browser.media import MEDIA_SCRATCH, MediaOutcome, orphans, save_media
from collector.browser.recorder import TrafficRecorder
from collector.browser.redaction import Redactor, redaction_lines
from collector.browser.slices import plan, shot_rect, take_slices
from collector.browser.tls import collect_tls
from collector.browser.warc import rewrite_lines
from collector.errors import CaptureFailed
from collector.evidence.bundle.layout import DOM as PAGE_HTML
from collector.evidence.bundle.layout import (
    MHTML,
    SCREENSHOT,
    WARC,
)
from collector.evidence.bundle.layout import RAW_HTML as RESPONSE_HTML
from collector.evidence.model import (
    ServerAddress,
)
from collector.evidence.post import PageState
from collector.evidence.text import MAX_PAGE_FIELD, cut
from collector.platforms import PageInput, read_page

_MICRODATA = re.compile(rb"itemscope", re.IGNORECASE)
"""In the response's HTML, a sign of microdata: its parser is then imported ahead."""


class ArtifactSteps(SessionBase):
    """Steps that write the capture's files (mixed into `CaptureSession`)."""

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
        if _MICRODATA.search(body):
            self.warm_up(microdata=True)
        step.note(f"{len(body)} bytes of {main.url} as the browser received them (decoded)")

    async def _screenshot(self, page: Page, cdp: CDPSession) -> None:
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
            sliced = await self._sliced_screenshot(page, cdp, target, clip, dsf, budget, step)
            if not sliced:
                budget = self.deadline.budget(120.0, CLOSE_RESERVE_S + 2.0)
                try:
                    await page.screenshot(
                        path=str(target),
                        full_page=True,
                        type="png",
                        clip=clip,
                        caret="initial",  # the page as it is: no style set on its fields
                        timeout=max(0.1, budget) * 1000,
                    )
                except PlaywrightTimeoutError as exc:
                    raise CaptureFailed(
                        f"full-page screenshot not done within {budget:.1f}s"
                    ) from exc
            width, height = png_size(target)
            step.note(
                f"{width}x{height} px PNG of a {self.state.page_width}x{self.state.page_height} "
                f"CSS px document at scale {dsf:g}; the page was not altered for it (no caret "
                "hidden, no style added)"
            )
            if clip is None and height != round(self.state.page_height * dsf):
                step.note("WARNING: screenshot height differs from document height x scale")

    async def _sliced_screenshot(
        self,
        page: Page,
        cdp: CDPSession,
        target: Path,
        clip: FloatRect | None,
        scale: float,
        budget: float,
        step: StepHandle,
    ) -> bool:
        """A very tall page's full-page screenshot taken in slices (`collector.browser.slices`);
        False when it is taken in one piece (small enough, or the slices could not be used)."""
        rect = await asyncio.wait_for(shot_rect(page, clip), SMALL_CALL_S)
        parts = plan(rect, scale) if rect is not None else None
        state = await self.changes.state() if self.changes is not None else None
        if rect is None or not parts or state is None:
            return False
        if await take_slices(page, cdp, target, rect, parts, scale, state, budget):
            step.note(
                f"taken in {len(parts)} slices of at most {parts[0].rows} rows, one after "
                "another, written as one PNG: the page's size and elements did not change from "
                "the first slice to the last"
            )
            return True
        step.note(
            "taking the page in slices did not succeed (the page changed meanwhile, or a "
            "slice was not as planned): taken in one piece"
        )
        return False

    async def _dom(self, page: Page, recorder: TrafficRecorder) -> None:
        with self.journal.step("dom") as step:
            html = await asyncio.wait_for(page.content(), SMALL_CALL_S * 6)
            (self.workdir / PAGE_HTML).write_text(html, encoding="utf-8")
            title = await asyncio.wait_for(page.title(), SMALL_CALL_S)
            self.state.title, cut_note = cut(title, MAX_PAGE_FIELD)
            if cut_note:
                step.note(f"page title {cut_note}")
            step.note(f"{len(html)} characters of rendered DOM")
            latest = recorder.main_responses[-1] if recorder.main_responses else None
            if latest is not None and latest is not self.state.main:
                step.note(f"the page navigated itself to {latest.url}: raw response refreshed")
                self.state.main = latest
                self.state.redirects = await redirect_chain(latest.request)
                await self._write_main_body(latest, step)

    async def _post(self) -> None:
        """Read the post and the page state from the stored response and rendered DOM."""
        main = self._main()
        with self.journal.step("post") as step:
            fragment = urlsplit(self.url).fragment if "#" not in main.url else ""
            page = PageInput(
                url=main.url,
                raw=(self.workdir / RESPONSE_HTML).read_bytes(),
                rendered=(self.workdir / PAGE_HTML).read_text(encoding="utf-8", errors="replace"),
                status=main.status,
                content_type=main.headers.get("content-type"),
                fragment=fragment or None,
            )
            if fragment:
                step.note(f"read with the requested URL's fragment #{fragment[:200]} (HTTP does not "
                          "send it): it says which post of the page was asked for")  # fmt: skip
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
        egress: EgressPoint | None,
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
                    egress=egress,
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
            request_headers = await read_headers(main.request.headers_array(), main.request.headers)
            state.request_headers = request_headers
            state.response_headers = await read_headers(main.headers_array(), main.headers)
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
            connected = self.egress.address_for_url(main.url) if self.egress else None
            addr = f"{connected[0]}:{connected[1]}" if connected else None
            if connected:
                state.server = ServerAddress(ip=connected[0], port=connected[1])
            state.egress = egress_for(
                state.server.ip if state.server else None,
                state.server.port if state.server else None,
                self.settings.proxy,
            )
            step.note(f"user agent {state.user_agent!r}; navigator.webdriver={state.webdriver}")
            step.note(
                f"server {addr or 'unknown'} (as the egress point connected to it); "
                f"local address {state.egress.local_address}"
            )

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
        info.extend(self._egress_lines())
        if self.redactor is not None:
            info.extend(redaction_lines(self.redactor.redactions))
        return info

    def _egress_lines(self) -> list[tuple[str, str]]:
        """What the egress point refused, and every blocked request and navigation."""
        scrub = self.redactor.scrub if self.redactor is not None else (lambda text: text)
        egress = self.egress
        if egress is None:
            return []
        allowed = ", ".join(sorted(egress.rules.allowed)) or "none"
        lines = [
            (
                "egress",
                "every connection went through the capture's SOCKS5 egress point, which resolved "
                "each name, pinned the answer and connected only to the address it judged; "
                f"private networks {'refused' if egress.rules.block_private else 'allowed'}; "
                f"allowed origins: {allowed}",
            )
        ]
        lines.extend(
            (
                "egress-refused",
                scrub(
                    f"{c.origin} ({', '.join(c.addresses) or 'unresolved'}): {c.reason}"
                    + (f" | tool fetch {c.tool_url}" if c.tool_url else "")
                ),
            )
            for c in egress.blocked
        )
        lines.extend(
            (change.kind, scrub(change.detail))
            for change in self.journal.changes
            if change.kind in ("request-blocked", "navigation-blocked")
        )
        return lines


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
