"""The steps that work on the live page before anything is saved: settle, consent, expand,
scroll (with a virtualised feed's items), and media made ready for the screenshot."""


from __future__ import annotations

import asyncio

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import (
    Page,
)

from collector.browser.behaviours import (
    IMAGE_WAIT_S,
    scroll_to_top,
    scroll_until_stable,
    wait_for_images,
)
from collector.browser.capture_base import (
    CONSENT_TIMEOUT_S,
    EXPAND_TIMEOUT_S,
    MEDIA_TIMEOUT_S,
    SMALL_CALL_S,
    SessionBase,
)
from collector.browser.consent import ConsentRulesError, dismiss_consent, load_rules
from collector.browser.feed import FeedCollector
from collector.browser.journal import StepHandle, one_line
from collector.browser.media_state import prepare_media
from collector.browser.quiet import SETTLE_QUIET_S, PageChanges, wait_network_quiet
from collector.errors import NavigationRefused
from collector.evidence.model import (
    FeedStop,
)


class PageSteps(SessionBase):
    """Steps on the live page (mixed into `CaptureSession`)."""

    async def _settle(self, page: Page) -> None:
        with self.journal.step("settle") as step:
            budget = self.deadline.budget(self.settings.settle_timeout_s, self.reserve)
            if budget <= 0:
                step.skip("no settle time configured or left")
                return
            try:
                await asyncio.wait_for(
                    wait_network_quiet(page, self.activity, SETTLE_QUIET_S), budget
                )
                step.note(
                    f"network idle: no request in flight for {SETTLE_QUIET_S:g}s (requests of "
                    'type "other", such as the browser\'s fetch of the page\'s icon, aside), '
                    "then two frames rendered"
                )
            except TimeoutError:
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
            changes = self.changes = PageChanges(page)
            feed = FeedCollector(
                page,
                self.workdir,
                mode=settings.feed_artifacts,
                max_screenshots=settings.feed_max_screenshots,
                changes=changes,
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
                            activity=self.activity,
                            changes=changes,
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

    async def _address(self, page: Page) -> None:
        """The page's own address at the end must still be inside the scope: a page can move
        it without navigating (`history.replaceState`), showing another account's post."""
        if not self.scopes:
            return
        with self.journal.step("address") as step:
            address = page.url
            why = self.navigation.outside(address)
            if why is not None:
                raise NavigationRefused(
                    f"the page changed its address to {address} ({why}); nothing was sealed"
                )
            step.note(f"the page's address {address} is inside the scope")
