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


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def _filtered_png(image: Image.Image, filters: list[int]) -> bytes:
    """`image` as a PNG whose row y is stored with PNG filter `filters[y]` (0-4), written here
    independently of the code under test, so a slice's first row can carry every filter."""
    bpp, (width, height) = len(image.mode), image.size
    raw = image.tobytes()
    stride = width * bpp
    out = bytearray()
    for y in range(height):
        row, above = raw[y * stride:(y + 1) * stride], raw[(y - 1) * stride:y * stride] if y else bytes(stride)
        kind = filters[y]
        out.append(kind)
        for i in range(stride):
            a = row[i - bpp] if i >= bpp else 0
            b = above[i]
            c = above[i - bpp] if i >= bpp else 0
            predictor = (0, a, b, (a + b) // 2, _paeth(a, b, c))[kind]
            out.append((row[i] - predictor) % 256)
    colour = {"RGB": 2, "RGBA": 6}[image.mode]

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(bytes(out))) + chunk(b"IEND", b"")


@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
def test_every_png_filter_on_a_slices_first_row_is_joined_exactly(tmp_path: Path, mode: str) -> None:
    """The browser chooses each row's filter; whatever it chose for a slice's first row (which
    a decoder reads against a zero row), the joined file holds the same pixels."""
    whole = _pattern(23, 50, mode)
    target = tmp_path / "shot.png"
    writer = PngRows(target, 23, 50)
    for first, top in zip(range(5), range(0, 50, 10), strict=True):
        rows = [first] + [(first + k) % 5 for k in range(1, 10)]
        writer.add(_filtered_png(whole.crop((0, top, 23, top + 10)), rows), 10)
    writer.close()
    with Image.open(target) as joined:
        assert joined.mode == mode and joined.size == (23, 50)
        assert ImageChops.difference(joined, whole).getbbox() is None


def test_a_slice_whose_data_is_not_its_rows_is_refused(tmp_path: Path) -> None:
    good = _filtered_png(_pattern(10, 10, "RGB"), [0] * 10)
    too_many = _filtered_png(_pattern(10, 11, "RGB"), [0] * 11)
    # The header of a 10-row slice over the data of 11 rows (a bomb would be the same, larger).
    forged = good[:33] + too_many[33:]
    with pytest.raises(SliceError):
        PngRows(tmp_path / "a.png", 10, 10).add(forged, 10)
    bad_filter = bytearray(zlib.decompress(good[41:41 + struct.unpack(">I", good[33:37])[0]]))
    bad_filter[0] = 5
    body = zlib.compress(bytes(bad_filter))
    idat = struct.pack(">I", len(body)) + b"IDAT" + body + struct.pack(">I", zlib.crc32(b"IDAT" + body))
    with pytest.raises(SliceError):
        PngRows(tmp_path / "b.png", 10, 10).add(good[:33] + idat + good[-12:], 10)
    with pytest.raises(SliceError):
        PngRows(tmp_path / "c.png", 10, 10).add(good[:60], 10)  # cut short
