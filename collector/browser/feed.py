"""Feed items seen while scrolling, for feeds that remove what scrolls out of view.

X, Reddit and Facebook keep only the items near the viewport in the DOM, so the final DOM and
one full-page screenshot miss most of a long feed. While the page is scrolled, the
`FeedCollector` finds the feed items (a maintained selector list), keeps each item's outerHTML
the first time it appears (deduplicated by a stable key: an id attribute, the permalink, else
a hash of its text), and — once the feed turns out to be virtualised — takes a viewport
screenshot at every scroll position (viewport/0001.png, ...). At the end it checks which items
are still in the DOM; the summary is a `FeedRecord`, the items go to feed-items.jsonl.

Keys (`item_key`) are a pure function of what the page shows, so they are unit-tested.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import JSHandle, Page

from collector.browser.journal import one_line, utcnow
from collector.browser.quiet import FRAMES_JS_BODY, PageChanges
from collector.browser.redaction import Redactor
from collector.evidence.bundle.layout import FEED_ITEMS, VIEWPORT_DIR, viewport_name
from collector.evidence.model import FeedRecord, FeedStop, ViewportShot

FeedMode = Literal["auto", "always", "never"]

ITEM_SELECTORS: tuple[str, ...] = (
    "article",  # generic: Mastodon, X, Instagram, Bluesky, blogs
    '[role="article"]',  # Facebook, X, LinkedIn
    '[data-testid="tweet"]',  # X
    '[data-testid^="feedItem-"]',  # Bluesky feeds
    '[data-testid^="postThreadItem-"]',  # Bluesky threads
    "shreddit-post",  # Reddit
    "shreddit-comment",  # Reddit comments
    ".thing[data-fullname]",  # old Reddit posts and comments
    '[data-testid="post-container"]',  # Reddit 2018-2023 redesign: posts
    'div[id^="t1_"]',  # Reddit 2018-2023 redesign: comments (id = the comment's fullname)
    ".status",  # Mastodon (classic web UI)
    ".timeline-item",  # Nitter
    ".tgme_widget_message",  # Telegram web previews
    ".wall_item",  # VK
    ".feed-shared-update-v2",  # LinkedIn
    '[data-e2e="recommend-list-item-container"]',  # TikTok For You feed
    '[data-e2e="user-post-item"]',  # TikTok profile grid
    "ytd-rich-item-renderer",  # YouTube grids
    "ytd-comment-thread-renderer",  # YouTube comments
)
"""Elements that are one feed item; nested matches count once (the outermost)."""

ID_ATTRIBUTES: tuple[str, ...] = (
    "data-item-id",
    "data-post-id",
    "data-status-id",
    "data-tweet-id",
    "data-reply-id",
    "data-fullname",  # old Reddit: t3_..., t1_...
    "data-urn",  # LinkedIn
    "data-post",  # Telegram: channel/123
    "data-id",
    "post-id",  # shreddit-post
    "thingid",  # shreddit-comment
    "comment-id",
)
"""Attributes that name an item, most specific first; the element id comes after permalinks."""

PERMALINK_PATTERNS: tuple[str, ...] = (
    r"/status(?:es)?/\d+",  # X, Mastodon API-style
    r"/@[^/?#]+/\d+",  # Mastodon
    r"/comments/[a-z0-9]+",  # Reddit
    r"/profile/[^/?#]+/post/[a-z0-9]+",  # Bluesky
    r"/(?:p|reel|reels|tv)/[\w-]+",  # Instagram
    r"/video/\d+",  # TikTok
    r"/posts?/[\w.-]+",  # Facebook, LinkedIn, Tumblr
    r"[?&]story_fbid=\d+|/permalink/\d+",  # Facebook
    r"/watch\?v=[\w-]+|/shorts/[\w-]+",  # YouTube
    r"/wall-?\d+_\d+",  # VK
    r"/item/[\w-]+",  # generic (the fixture feed)
)
"""Links that point at one post; the first one around a <time> element wins."""

_GENERATED_ID = re.compile(r":|^(?:mount_|jsc_|u_\d|ember\d|react-|radix-|headlessui-)")
TEXT_LIMIT = 2000
"""Characters of an item's normalised text used for its content key."""
HTML_LIMIT = 1_000_000
"""Characters of one item's outerHTML kept (longer items are marked truncated)."""
SCREENSHOT_TIMEOUT_MS = 5000
FINAL_SETTLE_MS = 150
"""After the return to the top: two frames, then at most this long for the page to re-render."""
FINAL_QUIET_MS = 50
"""... which ends once no element has changed for this long (pages that cannot be watched
wait the whole FINAL_SETTLE_MS)."""
_SETTLE_JS = """async ([ms, quietMs, state]) => {
  await TWO_FRAMES;
  const end = performance.now() + ms;
  while (performance.now() < end && (!state || performance.now() - state.changed < quietMs)) {
    await new Promise((done) => setTimeout(done, 10));
  }
}""".replace("TWO_FRAMES", FRAMES_JS_BODY)

_OBSERVE_JS = """([seen, expanded, opts]) => {
  const sel = opts.selectors.join(',');
  const links = opts.permalinks.map((p) => new RegExp(p, 'i'));
  const isLink = (a) => links.some((r) => r.test(a.href));
  const outer = Array.from(document.querySelectorAll(sel))
    .filter((el) => !(el.parentElement && el.parentElement.closest(sel)));
  const counts = new Map();
  const vh = window.innerHeight;
  const y = Math.round(window.scrollY);
  const items = outer.map((el) => {
    const attrs = {};
    for (const name of opts.idAttributes.concat(['id'])) {
      const value = el.getAttribute(name);
      if (value) { attrs[name] = value; }
    }
    let permalink = null;
    const own = el.getAttribute('permalink');
    if (own) {
      try { permalink = new URL(own, location.href).href; } catch (e) { permalink = null; }
    }
    if (!permalink) {
      const anchors = Array.from(el.querySelectorAll('a[href]'));
      const hit = anchors.find((a) => a.querySelector('time') && isLink(a)) || anchors.find(isLink);
      if (hit) { permalink = hit.href; }
    }
    const text = (el.textContent || '').replace(/\\s+/g, ' ').trim().slice(0, opts.textLimit);
    const ordinal = (counts.get(text) || 0) + 1;
    counts.set(text, ordinal);
    const rect = el.getBoundingClientRect();
    const fresh = !seen.has(el);
    const refreshed = expanded.has(el);
    expanded.delete(el);
    const out = {attrs, permalink, text, ordinal, fresh, refreshed,
                 inView: rect.bottom > 0 && rect.top < vh && rect.height > 0};
    if (fresh || refreshed || !text) {
      const html = el.outerHTML;
      out.html = html.slice(0, opts.htmlLimit);
      out.htmlChars = html.length;
    }
    if (fresh) {
      seen.add(el);
      out.top = Math.round(rect.top + window.scrollY);
      out.selector = opts.selectors.find((s) => el.matches(s)) || '';
    }
    return out;
  });
  return {y, items};
}"""


def normalise_text(text: str) -> str:
    """Whitespace collapsed and trimmed, as the page-side script does."""
    return " ".join(text.split())


def is_permalink(url: str) -> bool:
    """True when `url` looks like a link to one post (PERMALINK_PATTERNS)."""
    return any(re.search(p, url, re.IGNORECASE) for p in PERMALINK_PATTERNS)


def item_key(
    attrs: Mapping[str, str],
    permalink: str | None,
    text: str,
    ordinal: int = 1,
    html: str | None = None,
) -> tuple[str, str]:
    """A stable key for one feed item and what it was made from.

    In order: an id attribute from ID_ATTRIBUTES (`attribute`), the permalink without its
    fragment (`permalink`), the element id unless it looks generated by a framework (`id`),
    a SHA-256 of the normalised text (`text`, with `#n` for the n-th identical text present
    at the same time), else a SHA-256 of the outerHTML (`html`).
    """
    for name in ID_ATTRIBUTES:
        value = attrs.get(name, "").strip()
        if value:
            return f"{name}:{value}", "attribute"
    if permalink:
        return f"permalink:{permalink.split('#', 1)[0]}", "permalink"
    element_id = attrs.get("id", "").strip()
    if element_id and not _GENERATED_ID.search(element_id):
        return f"id:{element_id}", "id"
    flat = normalise_text(text)[:TEXT_LIMIT]
    if flat:
        digest = hashlib.sha256(flat.encode("utf-8")).hexdigest()[:32]
        return (f"text:{digest}" + (f"#{ordinal}" if ordinal > 1 else "")), "text"
    digest = hashlib.sha256((html or "").encode("utf-8")).hexdigest()[:32]
    return f"html:{digest}", "html"


@dataclass
class FeedItem:
    """One feed item as first seen."""

    order: int
    key: str
    key_source: str
    selector: str
    seen_at: datetime
    scroll_y: int
    top: int
    html: str
    html_chars: int
    permalink: str | None
    screenshot: str | None = None
    expanded: bool = False


@dataclass
class FeedCollector:
    """Collects feed items at each scroll position; see the module docstring.

    `mode` and `max_screenshots` are BrowserSettings.feed_artifacts and feed_max_screenshots.
    """

    page: Page
    workdir: Path
    mode: FeedMode = "auto"
    max_screenshots: int = 100
    changes: PageChanges | None = None
    """The page's change record (`collector.browser.quiet`), for the re-render wait."""
    items: dict[str, FeedItem] = field(default_factory=dict)
    shots: list[ViewportShot] = field(default_factory=list)
    screenshots_on: bool = False
    screenshots_capped: bool = False
    rescanned: bool = False
    missing_now: int = 0
    rerendered: int = 0
    observations: int = 0
    errors: list[str] = field(default_factory=list)
    artifacts: list[str] = field(default_factory=list)
    _selectors: set[str] = field(default_factory=set)
    _seen: JSHandle | None = None
    _expanded: JSHandle | None = None
    _last_shot_y: int | None = None
    _current: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.screenshots_on = self.mode == "always" and self.max_screenshots > 0

    @property
    def count(self) -> int:
        """Distinct items seen so far."""
        return len(self.items)

    @property
    def fine_steps(self) -> bool:
        """Scroll in viewport-sized steps (every item passes through the viewport)."""
        return self.mode == "always" or self.rescanned

    def wants_rescan(self) -> bool:
        """Items seen earlier are gone from the DOM and the feed was not rescanned yet."""
        return self.missing_now > 0 and not self.rescanned and self.mode != "always"

    def start_rescan(self) -> None:
        """From now on: viewport steps and (unless mode is never) viewport screenshots."""
        self.rescanned = True
        self.screenshots_on = self.mode != "never" and self.max_screenshots > 0

    async def expanded_marks(self) -> JSHandle:
        """A page-side set where the expander puts the items it expanded (re-read once)."""
        if self._expanded is None:
            self._expanded = await self.page.evaluate_handle("() => new WeakSet()")
        return self._expanded

    async def observe(self, *, screenshot: bool = True) -> int:
        """Collect the items in the DOM now (and a viewport screenshot); return new items."""
        if self._seen is None:
            self._seen = await self.page.evaluate_handle("() => new WeakSet()")
        expanded = await self.expanded_marks()
        options = {
            "selectors": list(ITEM_SELECTORS),
            "idAttributes": list(ID_ATTRIBUTES),
            "permalinks": list(PERMALINK_PATTERNS),
            "textLimit": TEXT_LIMIT,
            "htmlLimit": HTML_LIMIT,
        }
        raw: dict[str, Any] = await self.page.evaluate(_OBSERVE_JS, [self._seen, expanded, options])
        self.observations += 1
        y = int(raw["y"])
        entries: list[dict[str, Any]] = list(raw["items"])
        current: dict[str, dict[str, Any]] = {}
        fresh: list[tuple[str, str, dict[str, Any]]] = []
        for entry in entries:
            key, source = item_key(
                entry["attrs"],
                entry.get("permalink"),
                entry["text"],
                int(entry["ordinal"]),
                entry.get("html"),
            )
            current.setdefault(key, entry)
            if not entry["fresh"]:
                if entry["refreshed"] and key in self.items:
                    self._refresh(self.items[key], entry)
                continue
            if key in self.items or any(key == k for k, _, _ in fresh):
                self.rerendered += 1
            else:
                fresh.append((key, source, entry))
        shot: str | None = None
        if screenshot and entries and (fresh or y != self._last_shot_y):
            shot = await self._screenshot(y, len(fresh))
        now = utcnow()
        for key, source, entry in fresh:
            self._selectors.add(str(entry.get("selector", "")))
            self.items[key] = FeedItem(
                order=len(self.items) + 1,
                key=key,
                key_source=source,
                selector=str(entry.get("selector", "")),
                seen_at=now,
                scroll_y=y,
                top=int(entry.get("top", 0)),
                html=str(entry.get("html", "")),
                html_chars=int(entry.get("htmlChars", 0)),
                permalink=entry.get("permalink"),
            )
        if shot is not None:
            for key, entry in current.items():
                item = self.items.get(key)
                if item is not None and item.screenshot is None and entry["inView"]:
                    item.screenshot = shot
        self.missing_now = sum(1 for key in self.items if key not in current)
        self._current = set(current)
        return len(fresh)

    @staticmethod
    def _refresh(item: FeedItem, entry: dict[str, Any]) -> None:
        """An item expanded after it was first seen: keep its expanded DOM."""
        item.html = str(entry.get("html", item.html))
        item.html_chars = int(entry.get("htmlChars", item.html_chars))
        item.expanded = True

    async def _screenshot(self, y: int, new_items: int) -> str | None:
        if not self.screenshots_on:
            return None
        if len(self.shots) >= self.max_screenshots:
            self.screenshots_capped = True
            return None
        name = viewport_name(len(self.shots) + 1)
        target = self.workdir / name
        target.parent.mkdir(exist_ok=True)
        try:
            await self.page.screenshot(path=str(target), type="png", caret="initial",
                                       timeout=SCREENSHOT_TIMEOUT_MS)  # fmt: skip
        except PlaywrightError as exc:
            self.errors.append(f"viewport screenshot at y={y} failed: {one_line(exc.message)}")
            self.screenshots_on = False
            target.unlink(missing_ok=True)
            return None
        self.shots.append(
            ViewportShot(path=name, scroll_y=y, taken_at=utcnow(), new_items=new_items)
        )
        self._last_shot_y = y
        return name

    async def finish(self, stop: FeedStop, redactor: Redactor | None = None) -> FeedRecord | None:
        """Check the final DOM, write the kept artifacts; None when the page had no items."""
        final_ok = True
        try:
            state = await self.changes.state() if self.changes is not None else None
            await self.page.evaluate(_SETTLE_JS, [FINAL_SETTLE_MS, FINAL_QUIET_MS, state])
            await self.observe(screenshot=False)
        except PlaywrightError as exc:
            final_ok = False
            self._current = set()
            self.errors.append(f"final DOM not readable: {one_line(exc.message)}")
        self._drop_stray_screenshots()
        if not self.items:
            shutil.rmtree(self.workdir / VIEWPORT_DIR, ignore_errors=True)
            self.shots.clear()
            return None
        missing = self.missing_now if final_ok else len(self.items)
        virtualised = final_ok and missing > 0
        keep = self.mode == "always" or (self.mode == "auto" and (virtualised or self.rescanned))
        if keep:
            self._write_items(redactor)
            self.artifacts = [FEED_ITEMS, *(s.path for s in self.shots)]
            note = (
                "kept: feed_artifacts is 'always'"
                if self.mode == "always"
                else "kept: the feed is virtualised, so page.html and the full-page screenshot "
                "do not hold every item"
            )
        else:
            shutil.rmtree(self.workdir / VIEWPORT_DIR, ignore_errors=True)
            self.shots.clear()
            note = (
                "not written: feed_artifacts is 'never'"
                if self.mode == "never"
                else "not written: every item seen is still in page.html"
            )
        if self.rerendered:
            note += f"; {self.rerendered} re-rendered or repeated item(s) (same key) counted once"
        if self.errors:
            note += "; " + "; ".join(self.errors)
        return FeedRecord(
            selectors=[s for s in ITEM_SELECTORS if s in self._selectors],
            items_seen=len(self.items),
            items_in_final_dom=len(self.items) - missing,
            items_missing_from_final_dom=missing,
            virtualised=virtualised,
            rescanned=self.rescanned,
            complete=stop == "idle" and final_ok,
            stop_reason=stop,
            items_artifact=FEED_ITEMS if keep else None,
            screenshots_taken=len(self.shots) if keep else 0,
            screenshots_capped=self.screenshots_capped,
            screenshots=list(self.shots) if keep else [],
            note=note,
        )

    def discard(self) -> None:
        """Remove every file the collector wrote (after a failure or a time limit)."""
        shutil.rmtree(self.workdir / VIEWPORT_DIR, ignore_errors=True)
        (self.workdir / FEED_ITEMS).unlink(missing_ok=True)
        self.shots.clear()
        self.artifacts = []

    def _drop_stray_screenshots(self) -> None:
        """A screenshot cut off by a time limit is not recorded: remove its file."""
        directory = self.workdir / VIEWPORT_DIR
        if not directory.is_dir():
            return
        recorded = {s.path for s in self.shots}
        for path in directory.iterdir():
            if f"{VIEWPORT_DIR}/{path.name}" not in recorded:
                path.unlink(missing_ok=True)

    def _write_items(self, redactor: Redactor | None) -> None:
        lines = []
        for item in self.items.values():
            html, key, permalink = item.html, item.key, item.permalink
            if redactor is not None:
                where = f"feed item {item.order}"
                html = redactor.body(
                    html.encode("utf-8"), artifact=FEED_ITEMS, url=None, where=where
                ).decode("utf-8")
                key = redactor.scrub(key)
                permalink = redactor.scrub(permalink) if permalink else None
            entry = {
                "order": item.order,
                "key": key,
                "key_source": item.key_source,
                "selector": item.selector,
                "permalink": permalink,
                "first_seen_at": item.seen_at.isoformat().replace("+00:00", "Z"),
                "scroll_y": item.scroll_y,
                "top": item.top,
                "screenshot": item.screenshot,
                "in_final_dom": item.key in self._current,
                "expanded_after_first_seen": item.expanded,
                "html_chars": item.html_chars,
                "truncated": item.html_chars > len(item.html),
                "sha256": hashlib.sha256(html.encode("utf-8")).hexdigest(),
                "html": html,
            }
            lines.append(json.dumps(entry, ensure_ascii=False, sort_keys=False))
        (self.workdir / FEED_ITEMS).write_text("\n".join(lines) + "\n", encoding="utf-8")
