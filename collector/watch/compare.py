"""What changed between two captures of a watched page: its state (content → gone is "deleted or
hidden"), the post's text, counts and media, and the screenshot (a perceptual distance).

Each finding names what it compares and both values, read from the two sealed bundles (their
`metadata.json` and `screenshot.png`, checked against the recorded digests as they are read).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image

from collector.evidence.model import Metadata, Model
from collector.store import storage
from collector.store.model import BundleRow
from collector.store.store import Store

HASH_BITS = 64
SCREEN_CHANGED = 0.10
"""A perceptual distance (share of the 64 bits of a DCT hash that differ) above which the
screenshot is reported as changed; below it, rendering noise (a clock, an ad) is not a change."""
TEXT_SHOWN = 300
MAX_COMPARED_PIXELS = 40_000_000
"""Screenshots larger than this (a 1280 px wide page ~15 000 px tall at 2x) are not decoded for
the comparison; the finding then says the screenshot was not compared."""


class Change(Model):
    kind: str  # deleted-or-hidden, restored, state, text, count, media-added, media-removed, screenshot
    field: str
    before: str | None = None
    after: str | None = None


@dataclass(frozen=True)
class Comparison:
    changes: list[Change]
    screenshot_distance: float | None  # 0 (same) to 1; None when a screenshot could not be read
    first_screen_distance: float | None


def compare(store: Store, before: BundleRow, after: BundleRow) -> Comparison:
    """Compare two sealed captures of one page, `before` the earlier."""
    old, new = _metadata(store, before), _metadata(store, after)
    changes = _state(old, new) + _post(old, new) + _media(old, new)
    whole, first = _screens(store, before, after, new.capture.viewport.get("height", 800))
    if whole is None:
        changes.append(Change(kind="screenshot-not-compared", field="screenshot.png",
                              after=f"unreadable or larger than {MAX_COMPARED_PIXELS} pixels"))  # fmt: skip
    elif max(whole, first or 0.0) > SCREEN_CHANGED:
        changes.append(Change(kind="screenshot", field="screenshot.png",
                              before=f"distance {whole:.2f} whole page", after=f"{first or 0.0:.2f} first screen"))  # fmt: skip
    return Comparison(changes, whole, first)


def _metadata(store: Store, row: BundleRow) -> Metadata:
    return Metadata.model_validate_json(storage.bundle_file(store, row, "data/metadata.json"))


def _state_of(meta: Metadata) -> str:
    return meta.capture.page_state.state if meta.capture.page_state is not None else "unknown"


def _state(old: Metadata, new: Metadata) -> list[Change]:
    before, after = _state_of(old), _state_of(new)
    if before == after:
        return []
    kind = "deleted-or-hidden" if before == "content" else "restored" if after == "content" else "state"
    reason = new.capture.page_state.reason if new.capture.page_state is not None else ""
    return [Change(kind=kind, field="page_state", before=before, after=f"{after}: {reason}"[:TEXT_SHOWN])]


def _post(old: Metadata, new: Metadata) -> list[Change]:
    a, b = old.capture.post, new.capture.post
    if a is None or b is None or _state_of(new) != "content":
        return []
    changes = []
    for name in ("text", "title", "author_name", "author_handle", "published_at"):
        x, y = getattr(a, name), getattr(b, name)
        if x != y:
            changes.append(Change(kind="text" if name in ("text", "title") else "post", field=f"post.{name}",
                                  before=_short(x), after=_short(y)))  # fmt: skip
    for name, x in a.counts.model_dump().items():
        y = getattr(b.counts, name)
        if x != y and (x is not None or y is not None):
            changes.append(Change(kind="count", field=f"post.counts.{name}", before=_num(x), after=_num(y)))
    return changes


def _media(old: Metadata, new: Metadata) -> list[Change]:
    def hashes(meta: Metadata) -> dict[str, str]:
        return {a.sha256: a.path for a in meta.artifacts if a.path.startswith("media/")}

    if _state_of(new) != "content":
        return []
    a, b = hashes(old), hashes(new)
    return ([Change(kind="media-removed", field="media", before=f"{a[h]} sha256 {h}") for h in sorted(a.keys() - b.keys())]
            + [Change(kind="media-added", field="media", after=f"{b[h]} sha256 {h}") for h in sorted(b.keys() - a.keys())])  # fmt: skip


def _screens(store: Store, before: BundleRow, after: BundleRow, first_px: int) -> tuple[float | None, float | None]:
    import imagehash

    try:
        images = [Image.open(io.BytesIO(storage.bundle_file(store, row, "data/screenshot.png")))
                  for row in (before, after)]  # fmt: skip
        if any(image.width * image.height > MAX_COMPARED_PIXELS for image in images):
            return None, None
        whole = [imagehash.phash(image) for image in images]
        tops = [imagehash.phash(image.crop((0, 0, image.width, min(image.height, first_px * 2))))
                for image in images]  # fmt: skip (device pixels: the first screen at up to 2x)
    except (OSError, ValueError, Image.DecompressionBombError):
        return None, None
    return (whole[0] - whole[1]) / HASH_BITS, (tops[0] - tops[1]) / HASH_BITS


def _short(value: str | None) -> str | None:
    if value is None:
        return None
    return value if len(value) <= TEXT_SHOWN else value[:TEXT_SHOWN] + "…"


def _num(value: int | None) -> str | None:
    return None if value is None else str(value)
