"""Full-page screenshots of very tall pages, taken in slices and written as one PNG.

One full-page screenshot makes Chromium hold the page's pixels several times over at once
(about 1.6 GB for a 1280 x 93 750 px page). Above SLICE_ABOVE_PIXELS device pixels the page
is taken in horizontal slices of at most SLICE_PIXELS: each slice is the same full-page
screenshot (the page laid out beyond the viewport, as Playwright's `full_page`), clipped to
its rows, so its pixels are those rows of the full-page screenshot. Neither alters the page
(no caret hidden, no style added). `PngRows` writes the
slices' rows one slice at a time into one PNG (8-bit RGB or RGBA), without decoding them to
pixels, so memory stays at a slice or two whatever the page's height.

The slices show one state of the page only if nothing changed while they were taken: the
page's size and its count of element changes (`collector.browser.quiet.PageChanges`) are read
before the first and after the last. If either moved, or a slice is not what the plan says,
`take_slices` returns None and the caller takes the page in one piece as before.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.async_api import CDPSession, FloatRect, JSHandle, Page
from playwright.async_api import Error as PlaywrightError

SLICE_ABOVE_PIXELS = 1280 * 16_384
"""Screenshots larger than this (device px²) are taken in slices."""
SLICE_PIXELS = 1280 * 4096
"""Largest slice (device px²)."""
PNG_LEVEL = 1
"""zlib level of the written PNG: fast (a slice is written while the next is taken); the file is
about a sixth larger than at the default level."""

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
FONTS_WAIT_S = 5.0
"""Longest wait for the page's fonts before the first slice."""

_BYTES_PER_PIXEL = {2: 3, 6: 4}
"""PNG colour types a slice may have (8-bit RGB, RGBA) and their bytes per pixel."""
_SUB, _AVERAGE, _PAETH = 1, 3, 4
"""PNG filter types (0 None and 2 Up need nothing on a first row)."""

_SIZE_JS = """(state) => {
  const b = document.body, d = document.documentElement;
  if (!b || !d) { return null; }
  return {
    width: Math.max(b.scrollWidth, d.scrollWidth, b.offsetWidth, d.offsetWidth, b.clientWidth,
                    d.clientWidth),
    height: Math.max(b.scrollHeight, d.scrollHeight, b.offsetHeight, d.offsetHeight,
                     b.clientHeight, d.clientHeight),
    changes: state ? state.count : null,
  };
}"""
"""The page size Playwright's full-page screenshot covers, and the page's change count."""


class SliceError(Exception):
    """A slice is not what the plan says: the sliced screenshot is abandoned."""


@dataclass(frozen=True)
class Slice:
    y: int
    height: int
    """CSS px."""
    rows: int
    """Device px rows it must decode to."""


def plan(rect: FloatRect, scale: float) -> list[Slice] | None:
    """Slices covering `rect` (CSS px), or None when it fits one screenshot or its edges do
    not fall on whole device pixels at `scale` (then slices could not join exactly)."""
    width, height = rect["width"], rect["height"]
    if width * height * scale * scale <= SLICE_ABOVE_PIXELS:
        return None
    if not all(_whole(v * scale) for v in (rect["x"], rect["y"], width, height)):
        return None
    most = int(SLICE_PIXELS / (width * scale * scale))
    step = next((h for h in range(most, 0, -1) if _whole(h * scale)), 0)
    if step < 1:
        return None
    top, bottom = int(rect["y"]), int(rect["y"] + height)
    return [
        Slice(y, min(step, bottom - y), round(min(step, bottom - y) * scale))
        for y in range(top, bottom, step)
    ]


def _whole(value: float) -> bool:
    return abs(value - round(value)) < 1e-9


async def page_size(page: Page, state: JSHandle | None) -> dict[str, Any] | None:
    """Width and height of the full-page screenshot, and the page's change count."""
    size: dict[str, Any] | None = await page.evaluate(_SIZE_JS, state)
    return size


async def shot_rect(page: Page, clip: FloatRect | None) -> FloatRect | None:
    """The rectangle a full-page screenshot with `clip` covers (CSS px), as Playwright trims
    the clip to the page; None when the page has no size to read."""
    size = await page_size(page, None)
    if size is None:
        return None
    area = clip or {"x": 0, "y": 0, "width": size["width"], "height": size["height"]}
    x0, y0 = max(0, min(area["x"], size["width"])), max(0, min(area["y"], size["height"]))
    x1 = max(0, min(area["x"] + area["width"], size["width"]))
    y1 = max(0, min(area["y"] + area["height"], size["height"]))
    if x1 <= x0 or y1 <= y0:
        return None
    return {"x": x0, "y": y0, "width": x1 - x0, "height": y1 - y0}


async def fonts_ready(page: Page, timeout_s: float) -> None:
    """Wait (at most `timeout_s`) for the page's fonts, as a full-page screenshot does first."""
    with contextlib.suppress(PlaywrightError, TimeoutError):
        await asyncio.wait_for(page.evaluate("() => document.fonts.ready.then(() => true)"),
                               timeout_s)  # fmt: skip


async def slice_png(cdp: CDPSession, clip: FloatRect, timeout_s: float) -> bytes:
    """One slice: the full-page screenshot (the page laid out beyond the viewport) clipped to
    `clip` (CSS px, at the page's device scale), as Playwright's `full_page` takes it, but
    encoded for speed: it is decoded and written again at once, so its size does not matter."""
    shot = await asyncio.wait_for(
        cdp.send("Page.captureScreenshot", {
            "format": "png", "clip": {**clip, "scale": 1}, "captureBeyondViewport": True,
            "optimizeForSpeed": True,
        }),
        max(0.1, timeout_s),
    )  # fmt: skip
    try:
        return base64.b64decode(shot["data"], validate=True)
    except (KeyError, TypeError, binascii.Error) as exc:
        raise SliceError("the browser's slice is not a PNG") from exc


async def take_slices(
    page: Page,
    cdp: CDPSession,
    target: Path,
    rect: FloatRect,
    slices: list[Slice],
    scale: float,
    state: JSHandle,
    timeout_s: float,
) -> bool:
    """Write `rect` of the full-page screenshot to `target` from `slices`; False (and no
    file) when the page changed while they were taken or a slice was not as planned."""
    writer = PngRows(target, round(rect["width"] * scale), sum(s.rows for s in slices))
    pending: asyncio.Future[None] | None = None
    try:
        await fonts_ready(page, FONTS_WAIT_S)
        before = await page_size(page, state)
        for part in slices:
            clip: FloatRect = {
                "x": rect["x"], "y": part.y, "width": rect["width"], "height": part.height
            }
            data = await slice_png(cdp, clip, timeout_s)
            if pending is not None:
                await pending
            pending = asyncio.ensure_future(asyncio.to_thread(writer.add, data, part.rows))
        if pending is not None:
            await pending
        after = await page_size(page, state)
        if before is None or before != after or before["changes"] is None:
            raise SliceError("the page changed while the slices were taken")
        writer.close()
    except (SliceError, PlaywrightError, OSError, TimeoutError):
        if pending is not None and not pending.done():
            await asyncio.wait([pending])
        writer.discard()
        return False
    except BaseException:
        if pending is not None and not pending.done():
            await asyncio.wait([pending])
        writer.discard()
        raise
    return True


class PngRows:
    """A PNG written a slice at a time (`add`), of a size known in advance.

    A slice is not decoded to pixels: its scanlines, still filtered as the browser wrote them,
    are inflated and appended. Only a slice's first scanline is rewritten (unfiltered against
    the zero row a PNG decoder assumes above a first row, and stored unfiltered), since in the
    joined file the row above it is the previous slice's last. The joined rows are compressed
    again at PNG_LEVEL."""

    def __init__(self, path: Path, width: int, height: int) -> None:
        self.path = path
        self.width = width
        self.height = height
        self.rows = 0
        self.colour: int | None = None
        self._zip = zlib.compressobj(PNG_LEVEL)
        self._file = path.open("wb")

    def add(self, png: bytes, rows: int) -> None:
        """Append the rows of one PNG slice, which must be `rows` x `width` px."""
        header, data = _plain_png(png)
        width, height, depth, colour = struct.unpack(">IIBB", header[:10])
        if (width, height) != (self.width, rows):
            raise SliceError(f"a slice is {(width, height)}, not {(self.width, rows)}")
        if depth != 8 or colour not in _BYTES_PER_PIXEL or self.colour not in (None, colour):
            raise SliceError(f"a slice's pixels are of PNG colour type {colour}, depth {depth}")
        if self.colour is None:
            self.colour = colour
            self._write_header()
        stride = 1 + width * _BYTES_PER_PIXEL[colour]
        inflate = zlib.decompressobj()
        lines = inflate.decompress(data, stride * rows + 1)
        if len(lines) != stride * rows or inflate.unconsumed_tail or not inflate.eof:
            raise SliceError("a slice's image data is not its rows")
        if max(lines[::stride]) > _PAETH:
            raise SliceError("a slice's rows carry an unknown PNG filter")
        first = _unfiltered_first(lines[:stride], _BYTES_PER_PIXEL[colour])
        self._idat(self._zip.compress(b"\x00" + first))
        self._idat(self._zip.compress(lines[stride:]))
        self.rows += rows

    def _write_header(self) -> None:
        assert self.colour is not None
        header = struct.pack(">IIBBBBB", self.width, self.height, 8, self.colour, 0, 0, 0)
        self._file.write(_SIGNATURE + _chunk(b"IHDR", header))

    def _idat(self, data: bytes) -> None:
        if data:
            self._file.write(_chunk(b"IDAT", data))

    def close(self) -> None:
        """Finish the file; SliceError unless every row was written."""
        if self.rows != self.height or self.colour is None:
            raise SliceError(f"{self.rows} of {self.height} rows written")
        self._idat(self._zip.flush())
        self._file.write(_chunk(b"IEND", b""))
        self._file.close()

    def discard(self) -> None:
        self._file.close()
        self.path.unlink(missing_ok=True)


def _unfiltered_first(line: bytes, bpp: int) -> bytes:
    """A first scanline's bytes (filter type, then filtered bytes) as pixels: the row above a
    first row is zero, so Up leaves the bytes as they are, and Paeth becomes Sub."""
    kind, data = line[0], bytearray(line[1:])
    if kind in (_SUB, _PAETH):
        for i in range(bpp, len(data)):
            data[i] = (data[i] + data[i - bpp]) & 0xFF
    elif kind == _AVERAGE:
        for i in range(bpp, len(data)):
            data[i] = (data[i] + (data[i - bpp] >> 1)) & 0xFF
    return bytes(data)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _plain_png(data: bytes) -> tuple[bytes, bytes]:
    """The IHDR fields and the joined IDAT data of `data`; SliceError unless it is a PNG of only
    IHDR, IDAT and IEND chunks (no colour-space or other chunk that the joined file would have
    to carry), 8 bits, not interlaced."""
    if data[:8] != _SIGNATURE:
        raise SliceError("a slice is not a PNG")
    header: bytes | None = None
    idat: list[bytes] = []
    pos = 8
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if len(body) != length:
            raise SliceError("a slice's PNG is cut short")
        if kind == b"IHDR":
            if len(body) != 13 or body[8] != 8 or body[10:13] != b"\x00\x00\x00":
                raise SliceError("a slice is not an 8-bit, non-interlaced PNG")
            header = body
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        else:
            raise SliceError(f"a slice carries a {kind!r} chunk")
        pos += 12 + length
    if header is None or not idat:
        raise SliceError("a slice's PNG has no header or no image data")
    return header, b"".join(idat)
