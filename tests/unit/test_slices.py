"""Very tall screenshots taken in slices: the plan covers the page exactly, and the joined PNG
holds exactly the slices' pixels, row for row."""

from __future__ import annotations

import io
import itertools
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageChops

from collector.browser.slices import SLICE_PIXELS, PngRows, SliceError, plan


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _pattern(width: int, height: int, mode: str) -> Image.Image:
    """Pixels that differ in every row and column (so a lost or doubled row shows)."""
    channels = len(mode)
    data = bytes(
        (x * 7 + y * 13 + c * 101) % 256
        for y in range(height)
        for x in range(width)
        for c in range(channels)
    )
    return Image.frombytes(mode, (width, height), data)


def test_no_slices_for_pages_that_fit_one_screenshot() -> None:
    assert plan({"x": 0, "y": 0, "width": 1280, "height": 16_384}, 1.0) is None
    assert plan({"x": 0, "y": 0, "width": 1280, "height": 4_000}, 2.0) is None


def test_slices_cover_the_rectangle_exactly() -> None:
    parts = plan({"x": 0, "y": 0, "width": 1280, "height": 100_000}, 1.0)
    assert parts is not None
    assert parts[0].y == 0 and parts[-1].y + parts[-1].height == 100_000
    assert all(a.y + a.height == b.y for a, b in itertools.pairwise(parts))
    assert all(p.height * 1280 <= SLICE_PIXELS and p.rows == p.height for p in parts)


def test_slice_edges_fall_on_whole_device_pixels() -> None:
    parts = plan({"x": 0, "y": 0, "width": 1280, "height": 40_000}, 1.5)
    assert parts is not None
    assert all(p.y * 1.5 == int(p.y * 1.5) and p.rows == p.height * 1.5 for p in parts)
    assert sum(p.rows for p in parts) == 60_000
    # An edge between device pixels: no slices (the page is taken in one piece).
    assert plan({"x": 0, "y": 0, "width": 1280, "height": 40_001}, 1.5) is None


@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
def test_joined_png_holds_the_slices_row_for_row(tmp_path: Path, mode: str) -> None:
    whole = _pattern(61, 300, mode)
    target = tmp_path / "shot.png"
    writer = PngRows(target, 61, 300)
    for top, rows in ((0, 128), (128, 128), (256, 44)):
        writer.add(_png(whole.crop((0, top, 61, top + rows))), rows)
    writer.close()
    with Image.open(target) as joined:
        assert joined.mode == mode and joined.size == (61, 300)
        assert ImageChops.difference(joined, whole).getbbox() is None


def test_a_slice_of_the_wrong_size_or_kind_is_refused(tmp_path: Path) -> None:
    writer = PngRows(tmp_path / "shot.png", 10, 20)
    with pytest.raises(SliceError):
        writer.add(_png(_pattern(11, 10, "RGB")), 10)
    with pytest.raises(SliceError):
        writer.add(_png(_pattern(10, 10, "L")), 10)
    writer.add(_png(_pattern(10, 10, "RGB")), 10)
    with pytest.raises(SliceError):
        writer.add(_png(_pattern(10, 10, "RGBA")), 10)
    with pytest.raises(SliceError):  # 10 of 20 rows
        writer.close()
    writer.discard()
    assert not (tmp_path / "shot.png").exists()


def test_a_slice_with_a_colour_space_chunk_is_refused(tmp_path: Path) -> None:
    data = _png(_pattern(10, 10, "RGB"))
    gama = struct.pack(">I", 45455)
    chunk = struct.pack(">I", 4) + b"gAMA" + gama + struct.pack(">I", zlib.crc32(b"gAMA" + gama))
    tagged = data[:33] + chunk + data[33:]  # after the signature and IHDR
    with pytest.raises(SliceError):
        PngRows(tmp_path / "shot.png", 10, 10).add(tagged, 10)
