"""Media made ready for the screenshot: lazy images loaded, videos stopped on frame 0.

- `load_lazy_images`: `loading="lazy"` images and iframes are switched to eager (the browser
  then loads them even where the screenshot reaches beyond the viewport), and images with no
  real source get it from `data-src`/`data-lazy-src`/`data-original` (`srcset` from
  `data-srcset`) — what lazy-loading scripts do when an image scrolls into view. One
  `lazy-images-loaded` PageChange with the counts.
- `pause_videos`: each playing (or advanced) video is paused and sought to 0 s, so the
  screenshot shows a defined frame rather than whatever played last; one `video-paused`
  PageChange per video, with its source, poster and state before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from playwright.async_api import Page

from collector.browser.behaviours import wait_for_images
from collector.browser.journal import Journal, StepHandle

MAX_VIDEOS = 100
SEEK_WAIT_MS = 1000

_LAZY_JS = """() => {
  const empty = (v) => v === null || v.trim() === '' || v.trim().startsWith('data:')
    || v.trim() === 'about:blank';
  const out = {eagerImages: 0, eagerFrames: 0, fromDataSrc: 0, fromDataSrcset: 0, examples: []};
  for (const el of document.querySelectorAll('img[loading="lazy" i], iframe[loading="lazy" i]')) {
    el.setAttribute('loading', 'eager');
    if (el.tagName === 'IMG') { out.eagerImages += 1; } else { out.eagerFrames += 1; }
  }
  for (const img of document.querySelectorAll('img[data-src], img[data-lazy-src], img[data-original]')) {
    if (!empty(img.getAttribute('src'))) { continue; }
    const value = img.getAttribute('data-src') || img.getAttribute('data-lazy-src')
      || img.getAttribute('data-original');
    if (empty(value)) { continue; }
    img.setAttribute('src', value);
    out.fromDataSrc += 1;
    if (out.examples.length < 3) { out.examples.push(value.slice(0, 200)); }
  }
  for (const el of document.querySelectorAll('img[data-srcset], source[data-srcset]')) {
    if (el.getAttribute('srcset')) { continue; }
    el.setAttribute('srcset', el.getAttribute('data-srcset'));
    out.fromDataSrcset += 1;
  }
  return out;
}"""

_VIDEOS_JS = """async ([limit, waitMs]) => {
  const all = Array.from(document.querySelectorAll('video'));
  const waits = [];
  const rows = all.slice(0, limit).map((v, i) => {
    const source = v.querySelector('source[src]');
    const row = {index: i + 1, id: v.id || '', src: v.currentSrc || v.getAttribute('src') || (source ? source.src : ''),
                 poster: v.poster || '', paused: v.paused, time: v.currentTime, autoplay: v.autoplay,
                 loop: v.loop, muted: v.muted, changed: false, error: ''};
    if (!v.paused || v.currentTime > 0) {
      row.changed = true;
      try {
        v.pause();
        if (v.currentTime > 0) {
          waits.push(new Promise((done) => {
            v.addEventListener('seeked', done, {once: true});
            setTimeout(done, waitMs);
          }));
          v.currentTime = 0;
        }
      } catch (e) { row.error = String(e).slice(0, 200); }
    }
    row.el = v;
    return row;
  });
  await Promise.all(waits);
  return {total: all.length, videos: rows.map((r) => {
    const {el, ...rest} = r;
    return {...rest, after: el.currentTime, pausedAfter: el.paused};
  })};
}"""


@dataclass
class LazyResult:
    eager_images: int
    eager_frames: int
    from_data_src: int
    from_data_srcset: int

    @property
    def changed(self) -> int:
        return self.eager_images + self.eager_frames + self.from_data_src + self.from_data_srcset


async def load_lazy_images(page: Page, journal: Journal) -> LazyResult:
    """Switch lazy images to eager and fill empty sources; one change with the counts."""
    raw: dict[str, Any] = await page.evaluate(_LAZY_JS)
    result = LazyResult(
        eager_images=int(raw["eagerImages"]),
        eager_frames=int(raw["eagerFrames"]),
        from_data_src=int(raw["fromDataSrc"]),
        from_data_srcset=int(raw["fromDataSrcset"]),
    )
    if result.changed:
        examples = ", ".join(str(e) for e in raw["examples"])
        journal.change(
            "lazy-images-loaded",
            f'loading="lazy" set to eager on {result.eager_images} image(s) and '
            f"{result.eager_frames} iframe(s); src set from data-src on "
            f"{result.from_data_src} image(s) that had no real source"
            + (f" (e.g. {examples})" if examples else "")
            + f"; srcset set from data-srcset on {result.from_data_srcset} element(s)",
        )
    return result


@dataclass
class VideoResult:
    total: int
    paused: int
    untouched: int


async def pause_videos(page: Page, journal: Journal) -> VideoResult:
    """Pause every playing or advanced video at 0 s; one change per video changed."""
    raw: dict[str, Any] = await page.evaluate(_VIDEOS_JS, [MAX_VIDEOS, SEEK_WAIT_MS])
    changed = 0
    for video in raw["videos"]:
        if not video["changed"]:
            continue
        changed += 1
        journal.change("video-paused", _describe(video))
    listed = len(raw["videos"])
    return VideoResult(total=int(raw["total"]), paused=changed, untouched=listed - changed)


def _describe(video: dict[str, Any]) -> str:
    name = f"video {video['index']}" + (f" #{video['id']}" if video["id"] else "")
    flags = ", ".join(f for f in ("autoplay", "loop", "muted") if video[f])
    state = "playing" if not video["paused"] else "paused"
    detail = (
        f"{name} (src {video['src'] or 'none'}, poster {video['poster'] or 'none'}"
        + (f", {flags}" if flags else "")
        + f"): was {state} at {float(video['time']):.2f}s; "
    )
    if video["error"]:
        return detail + f"could not be stopped: {video['error']}"
    now = "paused" if video["pausedAfter"] else "still playing"
    return detail + f"now {now} at {float(video['after']):.2f}s"


async def prepare_media(
    page: Page,
    journal: Journal,
    handle: StepHandle,
    *,
    lazy_images: bool,
    videos: bool,
    image_wait_s: float,
) -> None:
    """The media-state step: lazy images (then a bounded wait for them), then videos."""
    if lazy_images:
        lazy = await load_lazy_images(page, journal)
        handle.note(f"{lazy.changed} lazy image attribute(s) changed")
        if lazy.changed:
            await wait_for_images(page, image_wait_s, handle)
    if videos:
        result = await pause_videos(page, journal)
        handle.note(
            f"{result.total} video(s): {result.paused} paused at 0 s, "
            f"{result.untouched} already paused at the start"
        )
