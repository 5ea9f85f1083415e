"""The web viewer's tiles of a tall screenshot: the same pixels, made once, from checked bytes."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from PIL import Image, ImageChops

from collector.errors import IntegrityError
from collector.web import tiles


def tall_png(width: int = 64, height: int = 5000) -> bytes:
    image = Image.new("RGB", (width, height))
    image.putdata([((y * 7) % 256, (x * 3) % 256, (x + y) % 256) for y in range(height) for x in range(width)])
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_the_tiles_hold_exactly_the_screenshots_rows(tmp_path: Path) -> None:
    data = tall_png()
    made = tiles.tile_set(hashlib.sha256(data).hexdigest(), tmp_path, lambda: data)
    assert (made.width, made.height) == (64, 5000)
    assert [(t.top, t.bottom) for t in made.tiles] == [(0, 2048), (2048, 4096), (4096, 5000)]
    with Image.open(io.BytesIO(data)) as whole:
        for t in made.tiles:
            path = made.path(t.number)
            assert path is not None
            with Image.open(path) as part:
                expected = whole.crop((0, t.top, 64, t.bottom))
                assert part.size == expected.size
                assert ImageChops.difference(part.convert("RGB"), expected).getbbox() is None
    assert made.path(0) is None and made.path(4) is None


def test_tiles_are_made_once_and_never_from_bytes_that_differ_from_the_seal(tmp_path: Path) -> None:
    data = tall_png(height=100)
    digest = hashlib.sha256(data).hexdigest()
    with pytest.raises(IntegrityError, match="differs from its sealed SHA-256"):
        tiles.tile_set(digest, tmp_path, lambda: data + b"\0")
    assert not (tmp_path / digest).exists()
    tiles.tile_set(digest, tmp_path, lambda: data)

    def never() -> bytes:
        raise AssertionError("the tiles were made already")

    assert tiles.tile_set(digest, tmp_path, never).height == 100


def test_what_is_not_a_png_is_refused(tmp_path: Path) -> None:
    bogus = b"GIF89a" + b"\0" * 40
    with pytest.raises(IntegrityError, match="not a PNG"):
        tiles.tile_set(hashlib.sha256(bogus).hexdigest(), tmp_path, lambda: bogus)
