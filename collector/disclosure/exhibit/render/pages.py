"""The small rules of a packet's pages: Bates numbers, screenshot slices, values shown, and the checks made first."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined

from collector.disclosure.exhibit import certification
from collector.disclosure.exhibit.model import Packet
from collector.disclosure.exhibit.render.geometry import (
    CONTENT_WIDTH_PX,
    INVISIBLE,
    SLICE_MAX_DISPLAY_PX,
)
from collector.disclosure.exhibit.render.redacted import RedactedView
from collector.errors import IntegrityError, UsageError
from collector.evidence.bundle import layout
from collector.evidence.model import Model

# --------------------------------------------------------------------- results


class TocEntry(Model):
    title: str
    bundle_id: str | None = None
    first_page: int
    last_page: int
    bates_first: str
    bates_last: str


class RenderResult(Model):
    path: Path
    pages: int
    sha256: str
    size: int
    bates_first: str
    bates_last: str
    contents: list[TocEntry]
    browser_version: str
    redacted: bool


# --------------------------------------------------------------------- small pure helpers


def bates_number(packet: Packet, index: int) -> str:
    """The Bates number of the page at 0-based `index` of the packet."""
    return f"{packet.bates_prefix}{packet.bates_start + index:0{packet.bates_digits}d}"


def check_bates(packet: Packet, pages: int) -> None:
    last = packet.bates_start + pages - 1
    if packet.bates_start < 0 or len(str(last)) > packet.bates_digits:
        raise UsageError(
            f"Bates numbers {packet.bates_start}..{last} do not fit {packet.bates_digits} digits"
        )


def slice_rows(width: int, height: int) -> list[tuple[int, int]]:
    """Row ranges [top, bottom) of a `width` x `height` screenshot, one per PDF page.

    The screenshot is shown at `display_scale(width)`; each slice fills at most
    SLICE_MAX_DISPLAY_PX of the page's height.
    """
    if width <= 0 or height <= 0:
        return []
    rows = max(1, math.floor(SLICE_MAX_DISPLAY_PX / display_scale(width)))
    return [(top, min(top + rows, height)) for top in range(0, height, rows)]


def display_scale(width: int) -> float:
    """Shown at the full content width, never enlarged."""
    return min(1.0, CONTENT_WIDTH_PX / width)


def visible(value: str) -> str:
    """Control and bidirectional-override characters shown as ⟨U+XXXX⟩, never obeyed."""
    return INVISIBLE.sub(lambda m: f"⟨U+{ord(m.group()):04X}⟩", value)


def utc(value: datetime | str | None) -> str:
    """A time as `YYYY-MM-DD HH:MM:SS UTC` (naive times are taken as UTC)."""
    if value is None:
        return "—"
    when: datetime
    if isinstance(value, str):
        try:
            when = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    else:
        when = value
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def human_size(size: int) -> str:
    units = ("bytes", "KiB", "MiB", "GiB", "TiB")
    amount = float(size)
    for unit in units:
        if amount < 1024 or unit == units[-1]:
            return f"{size:,} bytes" if unit == "bytes" else f"{amount:.1f} {unit} ({size:,} bytes)"
        amount /= 1024
    return f"{size:,} bytes"  # pragma: no cover


def _finalize(value: object) -> object:
    if value is None:
        return "—"
    if isinstance(value, str):
        return visible(value)
    return value


@cache
def environment() -> Environment:
    """Jinja2 with autoescaping on for every template, strict about undefined names."""
    env = Environment(
        loader=PackageLoader("collector", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["utc"] = utc
    env.filters["size"] = human_size
    return env


# --------------------------------------------------------------------- checks


def check_packet(packet: Packet, redacted: RedactedView | None = None) -> None:
    """Refuse a packet that must not be rendered: no items, or a hash that does not match."""
    if not packet.items:
        raise UsageError("an exhibit packet needs at least one bundle")
    seen: set[str] = set()
    for item in packet.items:
        if item.bundle_id in seen:
            raise UsageError(f"bundle {item.bundle_id} is twice in the packet")
        seen.add(item.bundle_id)
        if not item.hashes:
            raise IntegrityError(f"{item.bundle_id}: no recomputed hashes; no exhibit produced")
        for check in item.hashes:
            if not check.match or check.acquired_sha256.lower() != check.recomputed_sha256.lower():
                raise IntegrityError(
                    f"{item.bundle_id}: {check.path} no longer matches its acquisition hash "
                    f"(acquired {check.acquired_sha256}, now {check.recomputed_sha256}); "
                    "no exhibit produced"
                )
        if layout.SCREENSHOT not in {check.path for check in item.hashes}:
            raise IntegrityError(
                f"{item.bundle_id}: the screenshot's hash was not checked; no exhibit produced"
            )
    certification.check_declarant(packet)
    certification.declaration_template(packet.jurisdiction)
    if redacted is not None:
        redacted.validate(packet)


