"""Capture behaviours on the fixture site, with real Chromium: a virtualised feed, "Show more"
expanders, a consent banner, lazy images and a playing video. Each behaviour must change the
page as described and leave a PageChange saying so."""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup
from PIL import Image
from playwright.sync_api import sync_playwright

from collector.browser import capture
from collector.browser.consent import load_rules
from collector.evidence.bundle.layout import FEED_ITEMS, VIEWPORT_ROLE
from collector.evidence.model import BrowserSettings, CaptureRecord, StepStatus
from fixtures.server import FixtureServer
from tests.helpers import REPO, Cli

pytestmark = pytest.mark.e2e

CHROMIUM = (
    "/usr/lib/chromium/chromium"
    if Path("/usr/lib/chromium/chromium").exists()
    else "/usr/bin/chromium"
)
HERMETIC = "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"
FEED_TOTAL = 40  # fixtures/site/virtual-feed.html data-total
VIEWPORT = (1280, 900)
RULES = REPO / "collector" / "data" / "consent-rules.toml"


def settings(**overrides: Any) -> BrowserSettings:
    values: dict[str, Any] = {
        "executable_path": CHROMIUM,
        "navigation_timeout_s": 10.0,
        "settle_timeout_s": 1.5,
        "scroll_max_time_s": 10.0,
        "scroll_idle_ms": 400,
        "total_timeout_s": 40.0,
        "block_private_network": False,
        "host_resolver_rules": HERMETIC,
    }
    values.update(overrides)
    return BrowserSettings(**values)


def run(site: FixtureServer, path: str, workdir: Path, **overrides: Any) -> CaptureRecord:
    return capture(site.http_url(path), settings(**overrides), workdir)


def changes(record: CaptureRecord, kind: str) -> list[str]:
    return [c.detail for c in record.changes if c.kind == kind]


def step(record: CaptureRecord, name: str) -> Any:
    return next(s for s in record.steps if s.name == name)


def feed_items(workdir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (workdir / FEED_ITEMS).read_text().splitlines()]


def dom(workdir: Path) -> BeautifulSoup:
    return BeautifulSoup((workdir / "page.html").read_text(encoding="utf-8"), "html.parser")


def marker(n: int) -> str:
    return f"feed-item-{n} of {FEED_TOTAL}"


# ------------------------------------------------------------------ virtualised feed


@pytest.fixture(scope="module")
def virtual_feed(site: FixtureServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    workdir = tmp_path_factory.mktemp("virtual-feed")
    return {"record": run(site, "/virtual-feed.html", workdir), "dir": workdir}


def test_virtualised_feed_collected_complete_though_the_final_dom_is_not(
    virtual_feed: dict[str, Any],
) -> None:
    record: CaptureRecord = virtual_feed["record"]
    workdir: Path = virtual_feed["dir"]
    feed = record.feed
    assert feed is not None
    assert (feed.virtualised, feed.rescanned, feed.complete) == (True, True, True)
    assert feed.stop_reason == "idle" and feed.selectors == ["article"]
    # The page removed what scrolled away: page.html holds only a few items...
    html = (workdir / "page.html").read_text(encoding="utf-8")
    in_dom = [n for n in range(1, FEED_TOTAL + 1) if marker(n) in html]
    assert 0 < len(in_dom) < 10
    assert feed.items_in_final_dom == len(in_dom)
    assert feed.items_missing_from_final_dom == FEED_TOTAL - len(in_dom)
    # ...and the collected items hold every one, once, in the order they appeared.
    items = feed_items(workdir)
    assert [i["key"] for i in items] == [f"data-item-id:vf-{n}" for n in range(1, FEED_TOTAL + 1)]
    assert feed.items_seen == FEED_TOTAL
    for n, item in enumerate(items, start=1):
        assert item["order"] == n and item["key_source"] == "attribute"
        assert marker(n) in item["html"] and item["html"].startswith("<article")
        assert item["sha256"] == hashlib.sha256(item["html"].encode()).hexdigest()
        assert item["in_final_dom"] == (n in in_dom)
        assert item["permalink"].endswith(f"/virtual-feed/item/{n}")
    # Item 23 was expanded ("Show more") before its DOM was kept.
    assert "FULL TEXT OF ITEM 23" in items[22]["html"]
    assert any("article.item" in c and "→" in c for c in changes(record, "expanded"))
    assert any(
        "virtualised feed" in c and "back to the top" in c for c in changes(record, "scroll")
    )


def test_virtualised_feed_viewport_screenshots_cover_the_feed_in_order(
    virtual_feed: dict[str, Any],
) -> None:
    record: CaptureRecord = virtual_feed["record"]
    workdir: Path = virtual_feed["dir"]
    feed = record.feed
    assert feed is not None and not feed.screenshots_capped
    shots = feed.screenshots
    assert len(shots) == feed.screenshots_taken >= 10
    paths = [s.path for s in shots]
    assert paths == [f"viewport/{n:04d}.png" for n in range(1, len(shots) + 1)]
    ours = [a for a in record.artifacts if a == FEED_ITEMS or a.startswith("viewport/")]
    assert ours == [FEED_ITEMS, *paths]
    ys = [s.scroll_y for s in shots]
    assert ys[0] == 0 and ys == sorted(ys)
    # A second shot at the same position only when items arrived there in between.
    assert all(b.new_items > 0 for a, b in itertools.pairwise(shots) if a.scroll_y == b.scroll_y)
    assert all(b - a <= VIEWPORT[1] for a, b in itertools.pairwise(ys))  # no gaps
    assert ys[-1] + VIEWPORT[1] >= record.page_height  # down to the bottom
    digests = set()
    for shot in shots:
        with Image.open(workdir / shot.path) as image:
            assert image.size == VIEWPORT
        digests.add(hashlib.sha256((workdir / shot.path).read_bytes()).hexdigest())
    assert len(digests) == len(shots)
    # Every item names a screenshot in which it was on screen.
    assert {i["screenshot"] for i in feed_items(workdir)} <= set(paths)
    assert all(i["screenshot"] for i in feed_items(workdir))


def test_item_cap_stops_scrolling_and_marks_the_feed_incomplete(
    site: FixtureServer, tmp_path: Path
) -> None:
    record = run(site, "/virtual-feed.html", tmp_path, feed_max_items=15)
    feed = record.feed
    assert feed is not None
    assert feed.stop_reason == "max-items" and not feed.complete and feed.virtualised
    assert 15 <= feed.items_seen < FEED_TOTAL
    keys = [i["key"] for i in feed_items(tmp_path)]
    assert len(keys) == feed.items_seen
    assert f"data-item-id:vf-{FEED_TOTAL}" not in keys
    assert "max-items" in step(record, "scroll").detail


def test_non_virtualised_feed_keeps_no_extra_artifacts(site: FixtureServer, tmp_path: Path) -> None:
    record = run(site, "/expand.html", tmp_path, expand_max_clicks=0)
    feed = record.feed
    assert feed is not None and feed.items_seen == 5 and feed.items_in_final_dom == 5
    assert not feed.virtualised and feed.items_artifact is None and feed.screenshots == []
    assert not (tmp_path / FEED_ITEMS).exists() and not (tmp_path / "viewport").exists()
    assert step(record, "expand").status == StepStatus.skipped
    assert changes(record, "expanded") == []


# ------------------------------------------------------------------ expanders


def test_show_more_expanders_clicked_and_recorded(site: FixtureServer, tmp_path: Path) -> None:
    before = len(site.requests)
    record = run(site, "/expand.html", tmp_path)
    expanded = changes(record, "expanded")
    assert len(expanded) == 4
    for n in (1, 2, 3, 4):
        (detail,) = [c for c in expanded if f"article#post-{n}" in c]
        sizes = re.search(r"text (\d+) → (\d+) characters", detail)
        assert sizes is not None and int(sizes[2]) > int(sizes[1]), detail
    assert any("tweet-text-show-more-link" in c for c in expanded)  # by the platform selector
    assert any("'… more' (label)" in c for c in expanded)  # by its label
    page = dom(tmp_path)
    text = page.get_text()
    assert all(f"FULL-TEXT-{n}" in text for n in (1, 2, 3, 4))
    # The "Read more" link would leave the page: not clicked, and said so.
    assert page.find(id="leave-link") is not None and "FULL-TEXT-5" not in text
    assert not any("expand-target" in path for _, path in site.requests[before:])
    assert record.final_url == site.http_url("/expand.html")
    assert "leave-link" in step(record, "expand").detail


def test_expanders_are_bounded(site: FixtureServer, tmp_path: Path) -> None:
    record = run(site, "/expand.html", tmp_path, expand_max_clicks=2, scroll_max_time_s=0)
    assert len(changes(record, "expanded")) == 2
    assert "limit reached" in step(record, "expand").detail
    text = dom(tmp_path).get_text()
    assert sum(f"FULL-TEXT-{n}" in text for n in (1, 2, 3, 4)) == 2


# ------------------------------------------------------------------ consent overlays


def _pixels(path: Path, rgb: tuple[int, int, int]) -> int:
    with Image.open(path) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20) or []
    return sum(count for count, colour in colours if colour == rgb)


def test_onetrust_banner_rejected_by_its_rule_unknown_notice_left(
    site: FixtureServer, tmp_path: Path
) -> None:
    record = run(site, "/consent.html", tmp_path, scroll_max_time_s=0)
    (dismissed,) = changes(record, "consent-dismissed")
    assert dismissed.startswith("rule onetrust (")
    assert "clicked selector #onetrust-reject-all-handler 'Reject All'" in dismissed
    assert "the overlay closed" in dismissed
    body = dom(tmp_path).body
    assert body is not None and body["data-consent"] == "rejected"  # not accepted
    sdk = dom(tmp_path).find(id="onetrust-consent-sdk")
    assert sdk is not None and "display: none" in str(sdk.get("style"))
    shot = tmp_path / "screenshot.png"
    assert _pixels(shot, (255, 0, 255)) == 0  # the banner is gone from the screenshot
    assert _pixels(shot, (0xE8, 0xF0, 0xFE)) > 10_000  # the story it covered is visible
    # The site's own notice matches no rule: left in place, and said so.
    (left,) = changes(record, "consent-left-in-place")
    assert "div#acme-cookie-notice" in left and "left in place" in left
    assert _pixels(shot, (0, 0xAA, 0)) > 10_000
    detail = step(record, "consent").detail
    assert hashlib.sha256(RULES.read_bytes()).hexdigest() in detail
    assert "1 overlay(s) closed, 1 left in place" in detail


def test_every_consent_rule_selector_is_valid_in_chromium() -> None:
    """A selector Chromium cannot parse would make its rule fail on the very site it is for."""
    rules = load_rules().rules.rules
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            page = browser.new_page()
            page.set_content("<div id='banner'>We use cookies <button>Reject all</button></div>")
            for rule in rules:
                for selector in (rule.overlay, *rule.reject):
                    assert page.locator(selector).count() == 0, (rule.name, selector)
        finally:
            browser.close()


# ------------------------------------------------------------------ lazy images and video


def test_lazy_images_loaded_and_video_paused_before_the_screenshot(
    site: FixtureServer, tmp_path: Path
) -> None:
    before = len(site.requests)
    # No scrolling: only the media-state step can bring the images far below the fold in.
    record = run(site, "/media-state.html", tmp_path, scroll_max_time_s=0)
    (lazy,) = changes(record, "lazy-images-loaded")
    assert 'loading="lazy" set to eager on 1 image(s)' in lazy
    assert "src set from data-src on 1 image(s)" in lazy and "/media/avatar-5.png" in lazy
    fetched = [path for _, path in site.requests[before:]]
    assert "/media/avatar-4.png" in fetched and "/media/avatar-5.png" in fetched
    page = dom(tmp_path)
    for image_id in ("lazy-native", "lazy-data"):
        image = page.find(id=image_id)
        assert image is not None and image.get("data-loaded") == "yes", image_id
    assert "all 2 images complete" in step(record, "media-state").detail
    (paused,) = changes(record, "video-paused")
    assert "#clip" in paused and "/media/clip.webm" in paused and "poster" in paused
    assert "was playing" in paused and paused.endswith("now paused at 0.00s")
    log = page.find(id="video-log")
    assert log is not None and log.get("data-played") == "yes"
    assert "paused at" in log.get_text() and "seeked to 0.00" in log.get_text()


# ------------------------------------------------------------------ the end of scrolling

DEBOUNCED_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>Debounced</title>
<style>body { margin: 0; } .block { height: 2000px; border-bottom: 4px solid #333; }</style>
</head><body><div class="block">block 0</div><script>
let timer = null, loaded = 0;
window.addEventListener('scroll', () => {
  clearTimeout(timer);
  timer = setTimeout(() => {
    const el = document.scrollingElement;
    if (loaded >= 3 || window.scrollY + innerHeight < el.scrollHeight - 10) { return; }
    fetch('/tick?n=' + (loaded + 1)).then((r) => r.json()).then((tick) => {
      loaded += 1;
      const block = document.createElement('div');
      block.className = 'block';
      block.textContent = 'debounced block ' + tick.n;
      document.body.appendChild(block);
    });
  }, 250);
});
</script></body></html>"""


def test_scrolling_waits_for_a_loader_that_fires_after_scrolling_stops(
    site: FixtureServer, tmp_path: Path
) -> None:
    """A loader that waits 250 ms after the last scroll event before it asks for more is not cut
    short: scrolling ends only after half of scroll_idle_ms (350 ms) without any request or change."""
    page_dir = tmp_path / "site"
    page_dir.mkdir()
    (page_dir / "debounced.html").write_text(DEBOUNCED_PAGE, encoding="utf-8")
    path = site.mount("debounced", page_dir) + "debounced.html"
    record = run(site, path, tmp_path / "capture", scroll_idle_ms=700)
    text = (tmp_path / "capture" / "page.html").read_text(encoding="utf-8")
    assert all(f"debounced block {n}" in text for n in (1, 2, 3))
    assert record.page_height == 4 * 2004
    detail = step(record, "scroll").detail
    assert "stopped: quiet" in detail or "stopped: idle" in detail, detail


# ------------------------------------------------------------------ sealed with subdirectories


def test_feed_artifacts_in_subdirectories_seal_and_verify(store: Cli, site: FixtureServer) -> None:
    auth_id = store.approved([site.http_url("/*")])
    result = store.json(
        "capture", site.http_url("/virtual-feed.html"), "--auth", auth_id, as_user="alice"
    )
    bundle = Path(result["path"])
    meta = json.loads((bundle / "data" / "metadata.json").read_text())
    by_path = {a["path"]: a for a in meta["artifacts"]}
    shots = [p for p in by_path if p.startswith("viewport/")]
    assert meta["capture"]["feed"]["virtualised"] is True
    assert len(shots) == len(meta["capture"]["feed"]["screenshots"]) >= 10
    assert by_path["viewport/0001.png"]["role"] == VIEWPORT_ROLE
    assert by_path["viewport/0001.png"]["mime_type"] == "image/png"
    assert (
        by_path["viewport/0001.png"]["width"],
        by_path["viewport/0001.png"]["height"],
    ) == VIEWPORT
    assert by_path[FEED_ITEMS]["role"].startswith("feed items")
    manifest = (bundle / "manifest-sha256.txt").read_text()
    assert f"  data/{shots[-1]}\n" in manifest and f"  data/{FEED_ITEMS}\n" in manifest
    verify = store.run("verify", result["bundle_id"])
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert f"✓ metadata: {len(by_path)} artifacts agree" in verify.stdout
    bagit = subprocess.run(
        [REPO / ".venv-tools" / "bin" / "bagit.py", "--validate", bundle],
        capture_output=True,
        text=True,
    )
    assert bagit.returncode == 0, bagit.stderr
