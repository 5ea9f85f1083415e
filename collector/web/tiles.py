"""A sealed screenshot cut into tiles for the browser: a 100 000 px page is never sent as one
image. Tiles are made once per screenshot (keyed by its sealed SHA-256, from bytes checked
against it) in the server's own private directory, made at start and removed at stop, so
nothing outside this process can put other pictures in their place."""

from __future__ import annotations

import hashlib
import io
import os
import secrets
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from collector.disclosure.exhibit.render.geometry import MAX_SCREENSHOT_PIXELS
from collector.errors import IntegrityError

TILE_ROWS = 2048
"""Rows of the screenshot per tile (a tile of a 1280 px wide page is about 10 MB of pixels)."""
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_making = threading.Lock()
"""One screenshot decoded at a time: the decoded pixels of a tall page are the server's largest
use of memory (a 1280 x 100 000 px page is about 500 MB while its tiles are cut)."""


@dataclass(frozen=True)
class Tile:
    number: int
    top: int
    bottom: int


@dataclass(frozen=True)
class TileSet:
    width: int
    height: int
    tiles: list[Tile]
    directory: Path

    def path(self, number: int) -> Path | None:
        found = self.directory / f"{number:05d}.png"
        return found if 1 <= number <= len(self.tiles) and found.is_file() else None


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the PNG header; anything else is not a screenshot."""
    if data[:8] != PNG_SIGNATURE or len(data) < 24 or data[12:16] != b"IHDR":
        raise IntegrityError("the screenshot is not a PNG file")
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def rows(height: int) -> list[Tile]:
    """Row ranges [top, bottom) of TILE_ROWS each, the last one shorter."""
    return [Tile(n, top, min(top + TILE_ROWS, height))
            for n, top in enumerate(range(0, height, TILE_ROWS), 1)]  # fmt: skip


def tile_set(sha256: str, cache: Path, load: Callable[[], bytes]) -> TileSet:
    """The tiles of the screenshot whose sealed SHA-256 is `sha256`, made from `load()` (its
    bytes, checked against that digest) if this process has not made them yet."""
    directory = cache / sha256
    made = _made(directory)
    if made is None:
        with _making:
            made = _made(directory)
            if made is None:
                data = load()
                if hashlib.sha256(data).hexdigest() != sha256:
                    raise IntegrityError("the screenshot differs from its sealed SHA-256")
                width, height = png_size(data)
                if width <= 0 or height <= 0 or width * height > MAX_SCREENSHOT_PIXELS:
                    raise IntegrityError(f"a screenshot of {width}x{height} px is not one this tool made")
                _cut(data, rows(height), width, height, directory)
                made = (width, height)
    width, height = made
    return TileSet(width, height, rows(height), directory)


def _made(directory: Path) -> tuple[int, int] | None:
    try:
        width, height = (directory / "done").read_text().split()
        return int(width), int(height)
    except (OSError, ValueError):
        return None


def _cut(data: bytes, tiles: list[Tile], width: int, height: int, directory: Path) -> None:
    partial = directory.with_name(f".{directory.name}.{secrets.token_hex(4)}")
    partial.mkdir(mode=0o700, parents=True)
    try:
        previous = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None  # the size was checked against the tool's own limit above
        try:
            with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
                image.load()
                for tile in tiles:
                    image.crop((0, tile.top, width, tile.bottom)).save(
                        partial / f"{tile.number:05d}.png", format="PNG", compress_level=1
                    )
        finally:
            Image.MAX_IMAGE_PIXELS = previous
        (partial / "done").write_text(f"{width} {height}\n")
        if directory.exists():  # made meanwhile by another process serving the same store
            shutil.rmtree(partial)
        else:
            os.replace(partial, directory)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
