"""Rendering an exhibit packet: HTML from Jinja2 templates, a PDF from the same Chromium.

`render_html(packet)` is the whole packet as one self-contained HTML document (the
screenshot slices are `data:` images; no script, no external resource). `render_pdf(packet,
out)` renders the same section templates in headless Chromium, launched by path, with
JavaScript disabled and every request aborted, and writes one PDF in this order: table of
contents; per bundle the cover, the screenshot (one slice per page), the post metadata, the
technical report, the artifact table, the chain of custody and the verification
instructions; then the redaction log (redacted copies), the certification under FRE
902(13)/(14) and the notice under FRE 902(11).

Footers and Bates numbers. Chromium's `page.pdf` header/footer templates cannot add an
offset to a page number or pad it, and its CSS `@page` margin boxes (Chromium 131+) number
pages correctly but miscount custom counters on named pages (tested on Chromium 156: a
Bates counter reset on the first bundle's pages repeats its value). So the numbers are
computed in Python: every section is rendered to its own PDF (each starts on a new page),
the pages are counted, the table of contents is rendered with the page numbers until its
own length is stable, and one more Chromium render produces a page of footer text for
every page (exhibit number, source URL, capture time in UTC, bundle id, "Page i of n",
Bates number); pypdf lays each footer page over its page. The page count of every render is
checked, so a footer can never land on the wrong page.

Everything from a captured page (titles, names, post text, URLs, header values) is
untrusted: it reaches the HTML only through Jinja2 autoescaping (no `|safe`, no `Markup`
around captured data), and the environment's `finalize` makes bidirectional-override and
control characters visible as `⟨U+202E⟩` so they cannot reorder the text around them.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pypdf
from jinja2 import Environment, PackageLoader, StrictUndefined
from PIL import Image
from playwright.async_api import Dialog, Page, Route, async_playwright
from pydantic import Field
from pypdf import PdfReader, PdfWriter

from collector.browser.launch import browser_home, launch_args, launch_browser
from collector.disclosure.exhibit import certification
from collector.disclosure.exhibit.files import write_new
from collector.disclosure.exhibit.model import ExhibitItem, Packet
from collector.errors import CaptureFailed, CollectorError, IntegrityError, UsageError
from collector.evidence.bundle import layout
from collector.evidence.model import BrowserSettings, Model
from collector.evidence.post import FIELDS
from collector.platforms.summary import state_line

# --------------------------------------------------------------------- page geometry

PAGE_WIDTH_IN = 8.5
PAGE_HEIGHT_IN = 11.0
MARGIN_TOP_IN = 0.5
MARGIN_BOTTOM_IN = 1.05  # the footer is laid over this band
MARGIN_SIDE_IN = 0.6
CSS_PX_PER_IN = 96
CONTENT_WIDTH_PX = int((PAGE_WIDTH_IN - 2 * MARGIN_SIDE_IN) * CSS_PX_PER_IN)  # 700
CONTENT_HEIGHT_PX = int((PAGE_HEIGHT_IN - MARGIN_TOP_IN - MARGIN_BOTTOM_IN) * CSS_PX_PER_IN)
SLICE_CAPTION_PX = 130
"""Height reserved above each screenshot slice for its caption (fixed, so pages are exact)."""
SLICE_SLACK_PX = 22
SLICE_MAX_DISPLAY_PX = CONTENT_HEIGHT_PX - SLICE_CAPTION_PX - SLICE_SLACK_PX
MAX_SCREENSHOT_PIXELS = 130_000_000
"""Above the capture's own limit (120 M): a larger PNG is not a screenshot this tool made."""

CHROMIUM = "/usr/bin/chromium"
RENDER_RESOLVER_RULES = "MAP * ~NOTFOUND"
"""The exhibit browser resolves no host name at all."""
STEP_TIMEOUT_S = 120.0
FOOTER_URL_MAX = 110
FOOTER_MAX_BUNDLES = 3
"""Pages shared by the bundles (contents, certification, notice) name at most this many."""
TOC_MAX_PASSES = 5

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'none'; "
    "object-src 'none'; frame-src 'none'; form-action 'none'; base-uri 'none'"
)

VERIFY_COMMANDS: tuple[tuple[str, str], ...] = (
    ("bagit.py --validate .", 'PyPI "bagit": structure, Payload-Oxum, every hash'),
    (
        "sha256sum -c manifest-sha256.txt",
        "every payload file (sha512sum -c manifest-sha512.txt too)",
    ),
    ("sha256sum -c tagmanifest-sha256.txt", "bagit.txt, bag-info.txt, manifests, signer.pub.pem"),
    (
        "openssl pkeyutl -verify -pubin -inkey signer.pub.pem -rawin \\\n"
        "    -in tagmanifest-sha256.txt -sigfile seal.sig",
        "→ Signature Verified Successfully",
    ),
    (
        "openssl pkey -pubin -in signer.pub.pem -outform DER | sha256sum",
        "→ must equal Signer-Key-Fingerprint in bag-info.txt and the investigator's key in "
        "`collector keys list`",
    ),
    (
        "openssl ts -verify -data seal.sig -in seal.tsr -CAfile TSA-ROOT.pem",
        "→ Verification: OK (the time covers the signature, which covers the tag manifest, "
        "which covers every file)",
    ),
    ("openssl ts -reply -in seal.tsr -text | grep 'Time stamp'", "when"),
    ("warcio check data/traffic.warc.gz", 'PyPI "warcio": WARC digests'),
)
"""The README's "Verifying without this tool" commands, verbatim (a test keeps them equal)."""

REDACTABLE_FIELDS: tuple[str, ...] = (
    "title",
    "text",
    "author_name",
    "author_handle",
    "author_id",
    "page_title",
)
"""Fields a `RedactedView` may replace: the post's own fields, and the page's <title>."""

_INVISIBLE = re.compile(
    "[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)


class RenderFailed(CollectorError):
    """The exhibit could not be rendered; nothing was written."""

    exit_code = 4


# --------------------------------------------------------------------- redaction input


class RedactionEntry(Model):
    """One line of the redaction log printed in a redacted copy (the fields of
    `collector.exhibit.redact.RedactionLog`, plus the bundle); never the removed string."""

    bundle_id: str
    field: str = Field(description="Which text, e.g. 'post.text' or 'title'.")
    kind: str
    replacement: str
    rule: str
    original_sha256: str | None = None
    digest: str = "sha256"


@dataclass(frozen=True)
class RedactedView:
    """What a redacted copy shows instead of the original values (filled by redact.py).

    `replacements`: bundle id -> field (one of REDACTABLE_FIELDS, or 'post.<field>') -> the
    text shown instead.
    `strings`: literal text -> its replacement, applied to every value from the captured
    page (post fields, conflicts, media URLs, URLs, headers, step and change details).
    `withhold_screenshots`: show a statement instead of the screenshots (identifiers in an
    image cannot be found by pattern); the unredacted exhibit stays available under seal.
    `log`: the redaction log, printed as its own section.
    """

    replacements: dict[str, dict[str, str]] = field(default_factory=dict)
    strings: dict[str, str] = field(default_factory=dict)
    withhold_screenshots: bool = True
    log: list[RedactionEntry] = field(default_factory=list)

    def fields_of(self, bundle_id: str) -> dict[str, str]:
        """The bundle's replacements by plain field name ('post.text' is 'text')."""
        return {_field_name(k): v for k, v in self.replacements.get(bundle_id, {}).items()}

    def validate(self, packet: Packet) -> None:
        ids = {item.bundle_id for item in packet.items}
        for bundle_id in self.replacements:
            if bundle_id not in ids:
                raise UsageError(
                    f"redaction names bundle {bundle_id!r}, which is not in the packet"
                )
            unknown = sorted(set(self.fields_of(bundle_id)) - set(REDACTABLE_FIELDS))
            if unknown:
                raise UsageError(
                    f"redaction names field(s) {', '.join(unknown)} that cannot be replaced; "
                    f"replaceable: {', '.join(REDACTABLE_FIELDS)}"
                )
        if any(not key for key in self.strings):
            raise UsageError("redaction replaces an empty string")


def _field_name(key: str) -> str:
    if key in ("capture.title", "page.title"):
        return "page_title"
    return key.removeprefix("post.")


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
    return _INVISIBLE.sub(lambda m: f"⟨U+{ord(m.group()):04X}⟩", value)


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


# --------------------------------------------------------------------- screenshot slices


@dataclass(frozen=True)
class Slice:
    number: int
    top: int
    bottom: int
    width_px: int
    height_px: int
    data_uri: str


def screenshot_slices(item: ExhibitItem) -> tuple[int, int, list[Slice]]:
    """The bundle's screenshot cut into page-sized PNG slices, as data: URIs.

    The bytes read are hashed again and must equal the hash checked for the exhibit, so
    what is shown is the file whose hash the certification states.
    """
    path = item.screenshot
    expected = next(c.recomputed_sha256 for c in item.hashes if c.path == layout.SCREENSHOT)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IntegrityError(f"{item.bundle_id}: cannot read the screenshot: {exc}") from exc
    if hashlib.sha256(data).hexdigest() != expected.lower():
        raise IntegrityError(
            f"{item.bundle_id}: screenshot.png changed after its hash was checked; "
            "no exhibit produced"
        )
    if data[:8] != b"\x89PNG\r\n\x1a\n" or len(data) < 24:
        raise IntegrityError(f"{item.bundle_id}: screenshot.png is not a PNG file")
    width = int.from_bytes(data[16:20], "big")
    height = int.from_bytes(data[20:24], "big")
    if width * height > MAX_SCREENSHOT_PIXELS:
        raise RenderFailed(f"{item.bundle_id}: screenshot of {width}x{height} px is too large")
    previous = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
            image.load()
            scale = display_scale(width)
            slices: list[Slice] = []
            for number, (top, bottom) in enumerate(slice_rows(width, height), 1):
                buffer = io.BytesIO()
                image.crop((0, top, width, bottom)).save(buffer, format="PNG", compress_level=3)
                slices.append(
                    Slice(
                        number=number,
                        top=top,
                        bottom=bottom,
                        width_px=round(width * scale),
                        height_px=max(1, round((bottom - top) * scale)),
                        data_uri="data:image/png;base64,"
                        + base64.b64encode(buffer.getvalue()).decode("ascii"),
                    )
                )
    finally:
        Image.MAX_IMAGE_PIXELS = previous
    return width, height, slices


# --------------------------------------------------------------------- the view


Capped = Callable[[str | None], str | None]


def _capper(redacted: RedactedView | None) -> Capped:
    """The function every value from the captured page passes through (redaction)."""
    pairs = sorted((redacted.strings if redacted else {}).items(), key=lambda kv: -len(kv[0]))

    def cap(value: str | None) -> str | None:
        if value is None:
            return None
        for old, new in pairs:
            value = value.replace(old, new)
        return value

    return cap


def _person(person: Any) -> str:
    if person is None:
        return "—"
    return f"{person.full_name}, badge {person.badge} (user {person.user})"


def _platform_text(item: ExhibitItem) -> tuple[str, str]:
    post = item.metadata.capture.post
    if post is None:
        return "none recognised", "no post was read from the page"
    p = post.platform
    name = p.name or p.id or "unknown"
    if p.basis == "established":
        return f"{name} (established)", f"established: {p.evidence}"
    if p.basis == "claimed":
        return (
            f"{name} — claimed by the page, not established",
            f"claimed by the page, not established: {p.evidence}",
        )
    return "none recognised", p.evidence


def _details_summary(details: dict[str, Any], limit: int = 160) -> str:
    parts: list[str] = []
    for key, value in details.items():
        if key == "token" and isinstance(value, str):
            text = f"(base64, {len(value)} characters)"
        elif isinstance(value, list | tuple):
            text = "; ".join(str(v) for v in value) or "none"
        elif isinstance(value, dict):
            text = ", ".join(f"{k}={v}" for k, v in value.items())
        else:
            text = str(value)
        if len(text) > limit:
            text = text[: limit - 1] + "…"
        parts.append(f"{key}: {text}")
    return "; ".join(parts) or "—"


def _shorten(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def bundle_view(
    packet: Packet, index: int, item: ExhibitItem, redacted: RedactedView | None
) -> dict[str, Any]:
    """Everything a bundle's sections show, as plain values (escaped by the templates)."""
    cap = _capper(redacted)
    meta = item.metadata
    capture = meta.capture
    post = capture.post
    replace = redacted.fields_of(item.bundle_id) if redacted else {}
    total = len(packet.items)
    label = f"Exhibit {packet.number}" + (f", item {index + 1} of {total}" if total > 1 else "")
    platform_short, platform_long = _platform_text(item)
    clipped = [c.detail for c in capture.changes if c.kind == "screenshot-clipped"]
    shot = next((a for a in meta.artifacts if a.path == layout.SCREENSHOT), None)

    post_rows: list[dict[str, Any]] = []
    conflicts: list[dict[str, Any]] = []
    media: list[dict[str, Any]] = []
    counts: list[tuple[str, int]] = []
    notes: list[str] = []
    if post is not None:
        for name in FIELDS:
            value = getattr(post, name)
            source = post.sources.get(name)
            if name in replace:
                value, source = (
                    replace[name],
                    "replaced in this redacted copy (see the redaction log)",
                )
            post_rows.append(
                {
                    "field": name.replace("_", " "),
                    "value": cap(value),
                    "source": cap(source),
                    "missing": cap(post.missing.get(name)) if value is None else None,
                }
            )
        for conflict in post.conflicts:
            hidden = conflict.field in replace
            conflicts.append(
                {
                    "field": conflict.field,
                    "chosen": "[withheld in the redacted copy]" if hidden else cap(conflict.chosen),
                    "candidates": [
                        (
                            "[withheld in the redacted copy]" if hidden else cap(c.value),
                            cap(c.source),
                        )
                        for c in conflict.values
                    ],
                    "note": cap(conflict.note),
                }
            )
        for number, m in enumerate(post.media, 1):
            media.append(
                {
                    "number": number,
                    "kind": m.kind,
                    "url": cap(m.url),
                    "source": cap(m.source),
                    "artifact": m.artifact,
                    "sha256": m.sha256,
                    "size": m.size,
                    "content_type": m.content_type,
                    "obtained": m.obtained,
                    "skipped": cap(m.skipped),
                }
            )
        counts = [(k, v) for k, v in post.counts.model_dump().items() if v is not None]
        notes = [cap(n) or "" for n in post.notes]
    page_title = replace.get("page_title", capture.title)

    roles = {a.path: a for a in meta.artifacts}
    artifacts = [
        {
            "path": h.path,
            "role": roles[h.path].role if h.path in roles else "bundle file",
            "mime": roles[h.path].mime_type if h.path in roles else "—",
            "size": h.size,
            "acquired": h.acquired_sha256,
            "recomputed": h.recomputed_sha256,
            "match": h.match,
        }
        for h in item.hashes
    ]
    tls = capture.tls
    settings = meta.tool.configuration.model_dump(mode="json")
    feed = capture.feed
    return {
        "index": index,
        "anchor": f"bundle-{index + 1}",
        "label": label,
        "bundle_id": item.bundle_id,
        "bundle_dir": item.bundle_path.name,
        "case_number": meta.case_number,
        "requested_url": cap(capture.requested_url),
        "final_url": cap(capture.final_url),
        "post_url": cap(post.url) if post is not None else None,
        "status": capture.status,
        "captured_at": capture.started_at,
        "ended_at": capture.ended_at,
        "investigator": _person(item.captured_by),
        "authorizing_officer": (
            _person(item.authorized_by)
            if item.authorized_by is not None
            else "none: exigent capture without prior approval"
        ),
        "approved_at": meta.authorization.approved_at,
        "authorization": meta.authorization,
        "exigent": meta.exigent,
        "engagement": meta.engagement,
        "virtual_identity": meta.virtual_identity,
        "retention_class": meta.retention_class,
        "seal_sha256": item.seal_sha256,
        "platform_short": cap(platform_short),
        "platform_long": cap(platform_long),
        "platform_claimed": post is not None and post.platform.basis == "claimed",
        "page_state": cap(state_line(capture.page_state)) if capture.page_state else None,
        "page_title": cap(page_title),
        "post": post is not None,
        "post_kind": post.kind if post else None,
        "extractor": post.extractor if post else None,
        "post_rows": post_rows,
        "conflicts": conflicts,
        "media": media,
        "counts": counts,
        "notes": notes,
        "clipped": [cap(c) for c in clipped],
        "screenshot_size": (shot.width, shot.height) if shot else None,
        "timestamping": meta.timestamping,
        "clock": meta.clock,
        "tool": meta.tool,
        "settings": sorted(settings.items()),
        "browser": capture.browser,
        "viewport": capture.viewport,
        "locale": capture.locale,
        "timezone_id": capture.timezone_id,
        "egress": capture.egress,
        "machine": meta.machine,
        "host_name": meta.host_name,
        "page_size": (capture.page_width, capture.page_height),
        "redirects": [(cap(r.url), r.status, cap(r.location)) for r in capture.redirects],
        "server": f"{capture.server.ip} port {capture.server.port}" if capture.server else None,
        "tls": tls,
        "tls_chain": [
            {
                "subject": cap(c.subject),
                "issuer": cap(c.issuer),
                "serial": c.serial_number,
                "not_before": c.not_before,
                "not_after": c.not_after,
                "sha256": c.sha256_fingerprint,
            }
            for c in (tls.chain if tls else [])
        ],
        "tls_subject": cap(tls.subject) if tls else None,
        "tls_issuer": cap(tls.issuer) if tls else None,
        "network": capture.network,
        "steps": [
            {
                "name": s.name,
                "started": s.started_at,
                "seconds": f"{(s.ended_at - s.started_at).total_seconds():.2f}",
                "status": s.status.value,
                "detail": cap(s.detail),
            }
            for s in capture.steps
        ],
        "changes": [{"kind": c.kind, "at": c.at, "detail": cap(c.detail)} for c in capture.changes],
        "warc_rewrites": [
            (cap(w.url), w.header, cap(w.original), cap(w.replacement), w.reason)
            for w in capture.warc_rewrites
        ],
        "credential_redactions": capture.redactions,
        "request_headers": [(h.name, cap(h.value)) for h in capture.request_headers],
        "response_headers": [(h.name, cap(h.value)) for h in capture.response_headers],
        "feed": feed,
        "streams": capture.streams,
        "platform_json": len(capture.platform_json),
        "platform_json_omitted": capture.platform_json_omitted,
        "artifacts": artifacts,
        "hashes_checked_at": item.hashes_checked_at,
        "custody": [
            {
                "seq": e.seq,
                "type": e.type.value,
                "actor": _person(e.actor),
                "at": e.at,
                "details": cap(_details_summary(e.details)),
                "hash": e.hash,
                "prev": e.prev_hash,
                "key": e.key_fingerprint,
            }
            for e in item.custody
        ],
        "verify_checks": [cap(line) for line in item.verify_checks],
        "footer_url": _shorten(cap(capture.requested_url) or "", FOOTER_URL_MAX),
        "redacted": redacted is not None,
    }


# --------------------------------------------------------------------- parts


@dataclass
class Part:
    """One section of the packet: rendered on its own pages, listed in the contents."""

    key: str
    title: str
    template: str
    bundle: dict[str, Any] | None = None
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def anchor(self) -> str:
        prefix = self.bundle["anchor"] + "-" if self.bundle else ""
        return prefix + self.key


def _parts(packet: Packet, redacted: RedactedView | None) -> list[Part]:
    check_packet(packet, redacted)
    parts: list[Part] = []
    bundles = [bundle_view(packet, i, item, redacted) for i, item in enumerate(packet.items)]
    withhold = redacted is not None and redacted.withhold_screenshots
    for item, b in zip(packet.items, bundles, strict=True):
        bid = b["bundle_id"]
        if withhold:
            shot: dict[str, Any] = {"withheld": True, "slices": [], "width": 0, "height": 0}
        else:
            width, height, slices = screenshot_slices(item)
            shot = {"withheld": False, "slices": slices, "width": width, "height": height}
        shot["scale"] = display_scale(shot["width"]) if shot["width"] else 1.0
        b["screenshot_pages"] = len(shot["slices"]) or 1
        b["screenshot_withheld"] = withhold
        sections: tuple[tuple[str, str, str, dict[str, Any]], ...] = (
            ("cover", f"Cover: {bid}", "cover", {}),
            ("screenshot", "Screenshot", "screenshot", shot),
            ("post", "Post metadata", "post", {}),
            ("technical", "Technical report", "technical", {}),
            ("artifacts", "Artifacts and hashes", "artifacts", {}),
            ("custody", "Chain of custody", "custody", {}),
            ("verification", "Verification instructions", "verification", {}),
        )
        for key, title, template, data in sections:
            parts.append(Part(key, title, f"exhibit/sections/{template}.html.j2", b, data))
    if redacted is not None:
        parts.append(
            Part(
                key="redaction-log",
                title="Redaction log",
                template="exhibit/sections/redaction-log.html.j2",
                data={"log": redacted.log, "withheld": withhold},
            )
        )
    cert = certification.view(packet, bundles, _capper(redacted))
    parts.append(
        Part(
            key="certification",
            title="Certification under FRE 902(13) and 902(14)",
            template=certification.declaration_template(packet.jurisdiction),
            data=cert,
        )
    )
    parts.append(
        Part(
            key="notice",
            title="Notice of intent to offer records under FRE 902(11)",
            template="exhibit/sections/notice.html.j2",
            data=cert,
        )
    )
    return parts


def _toc_part(
    packet: Packet, parts: Sequence[Part], pages: Sequence[int] | None, offset: int = 0
) -> Part:
    """The contents; with `pages` (each part's page count, the contents' own `offset` pages
    first) it gives page and Bates ranges."""
    entries: list[dict[str, Any]] = []
    start = offset
    for number, part in enumerate(parts):
        entry: dict[str, Any] = {
            "title": part.title,
            "key": part.key,
            "anchor": part.anchor,
            "bundle": part.bundle,
            "first": None,
        }
        if pages is not None:
            first, last = start + 1, start + pages[number]
            entry.update(
                first=first,
                last=last,
                bates_first=bates_number(packet, first - 1),
                bates_last=bates_number(packet, last - 1),
            )
            start = last
        entries.append(entry)
    return Part(
        key="contents",
        title="Table of contents",
        template="exhibit/sections/toc.html.j2",
        data={"entries": entries, "numbered": pages is not None},
    )


def _context(packet: Packet, redacted: RedactedView | None) -> dict[str, Any]:
    return {
        "packet": packet,
        "redacted": redacted is not None,
        "csp": CONTENT_SECURITY_POLICY,
        "geometry": {
            "width_in": PAGE_WIDTH_IN,
            "height_in": PAGE_HEIGHT_IN,
            "top_in": MARGIN_TOP_IN,
            "bottom_in": MARGIN_BOTTOM_IN,
            "side_in": MARGIN_SIDE_IN,
            "caption_px": SLICE_CAPTION_PX,
        },
        "verify_commands": VERIFY_COMMANDS,
        "items": packet.items,
    }


def _document(packet: Packet, redacted: RedactedView | None, parts: Sequence[Part]) -> str:
    template = environment().get_template("exhibit/packet.html.j2")
    return template.render(**_context(packet, redacted), parts=parts)


def render_html(packet: Packet, *, redacted: RedactedView | None = None) -> str:
    """The whole packet as one self-contained HTML document (no page numbers: see the PDF)."""
    parts = _parts(packet, redacted)
    return _document(packet, redacted, [_toc_part(packet, parts, None), *parts])


# --------------------------------------------------------------------- PDF


@dataclass
class _Footer:
    exhibit: str
    case_number: str
    bundle: str
    source: str
    captured: str
    page: int
    pages: int
    bates: str


def _footers(
    packet: Packet, parts: Sequence[Part], pages: Sequence[int], cap: Capped
) -> list[_Footer]:
    total = sum(pages)
    out: list[_Footer] = []
    single = packet.items[0] if len(packet.items) == 1 else None
    for part, count in zip(parts, pages, strict=True):
        b = part.bundle
        if b is not None:
            bundle, source, captured = b["bundle_id"], b["footer_url"], utc(b["captured_at"])
        elif single is not None:
            bundle = single.bundle_id
            source = _shorten(cap(single.metadata.capture.requested_url) or "", FOOTER_URL_MAX)
            captured = utc(single.metadata.capture.started_at)
        else:
            ids = [item.bundle_id for item in packet.items]
            bundle = (
                ", ".join(ids)
                if len(ids) <= FOOTER_MAX_BUNDLES
                else f"{ids[0]}, …, {ids[-1]} ({len(ids)} bundles, listed in the contents)"
            )
            source = "the source URL of each bundle is on its cover and in the table of contents"
            captured = "see each bundle's cover"
        for _ in range(count):
            index = len(out)
            out.append(
                _Footer(
                    exhibit=packet.number,
                    case_number=packet.case_number,
                    bundle=bundle,
                    source=source,
                    captured=captured,
                    page=index + 1,
                    pages=total,
                    bates=bates_number(packet, index),
                )
            )
    return out


class _Chromium:
    """One headless Chromium page with JavaScript off and every request aborted."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.attempts: list[str] = []
        self.dialogs: list[str] = []

    async def route(self, route: Route) -> None:
        self.attempts.append(route.request.url)
        await route.abort()

    async def dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(dialog.message)
        await dialog.dismiss()

    async def pdf(self, html: str) -> bytes:
        await asyncio.wait_for(
            self.page.set_content(html, wait_until="load", timeout=STEP_TIMEOUT_S * 1000),
            STEP_TIMEOUT_S,
        )
        data = await asyncio.wait_for(
            self.page.pdf(print_background=True, prefer_css_page_size=True), STEP_TIMEOUT_S
        )
        if self.attempts:
            raise RenderFailed(
                "the exhibit page tried to load "
                + ", ".join(_shorten(visible(u), 80) for u in self.attempts[:3])
                + ": no exhibit produced"
            )
        if self.dialogs:
            raise RenderFailed("a dialog opened while the exhibit rendered: no exhibit produced")
        return data


def _page_count(data: bytes) -> int:
    return len(PdfReader(io.BytesIO(data)).pages)


@dataclass
class _Rendered:
    bodies: list[bytes]  # the contents first, then each part
    overlay: bytes  # one footer page per page
    pages: list[int]  # page count of each body
    version: str  # Chromium's


async def _render(
    packet: Packet, redacted: RedactedView | None, parts: list[Part], chromium: str
) -> _Rendered:
    settings = BrowserSettings(executable_path=chromium, host_resolver_rules=RENDER_RESOLVER_RULES)
    with browser_home([]) as (home, _trusted):
        async with async_playwright() as playwright:
            try:
                browser = await launch_browser(playwright, settings, launch_args(settings), home)
            except CaptureFailed as exc:
                raise RenderFailed(str(exc)) from exc
            try:
                context = await browser.new_context(
                    java_script_enabled=False,
                    accept_downloads=False,
                    service_workers="block",
                    locale="en-US",
                    timezone_id="UTC",
                )
                page = await context.new_page()
                renderer = _Chromium(page)
                await context.route("**/*", renderer.route)
                page.on("dialog", renderer.dialog)
                bodies = [await renderer.pdf(_document(packet, redacted, [p])) for p in parts]
                pages = [_page_count(b) for b in bodies]
                toc_pages = 1
                for _ in range(TOC_MAX_PASSES):
                    toc = _toc_part(packet, parts, pages, toc_pages)
                    toc_pdf = await renderer.pdf(_document(packet, redacted, [toc]))
                    if _page_count(toc_pdf) == toc_pages:
                        break
                    toc_pages = _page_count(toc_pdf)
                else:
                    raise RenderFailed("the table of contents did not settle on a page count")
                all_parts = [toc, *parts]
                all_pages = [toc_pages, *pages]
                check_bates(packet, sum(all_pages))
                footers = _footers(packet, all_parts, all_pages, _capper(redacted))
                html = (
                    environment()
                    .get_template("exhibit/footer.html.j2")
                    .render(**_context(packet, redacted), footers=footers)
                )
                overlay = await renderer.pdf(html)
                if _page_count(overlay) != len(footers):
                    raise RenderFailed(
                        f"footer pages ({_page_count(overlay)}) differ from the packet's "
                        f"pages ({len(footers)})"
                    )
                version = browser.version
            finally:
                await browser.close()
    return _Rendered([toc_pdf, *bodies], overlay, all_pages, version)


def _contents(packet: Packet, parts: Sequence[Part], pages: Sequence[int]) -> list[TocEntry]:
    entries: list[TocEntry] = []
    start = 0
    for part, count in zip(parts, pages, strict=True):
        entries.append(
            TocEntry(
                title=part.title,
                bundle_id=part.bundle["bundle_id"] if part.bundle else None,
                first_page=start + 1,
                last_page=start + count,
                bates_first=bates_number(packet, start),
                bates_last=bates_number(packet, start + count - 1),
            )
        )
        start += count
    return entries


def render_pdf(
    packet: Packet,
    out: Path,
    *,
    chromium: str = CHROMIUM,
    redacted: RedactedView | None = None,
) -> RenderResult:
    """Render the packet to `out`: written whole, then linked into place; never over an existing file."""
    parts = _parts(packet, redacted)
    rendered = asyncio.run(_render(packet, redacted, parts, chromium))
    pages, version = rendered.pages, rendered.version
    all_parts = [_toc_part(packet, parts, None), *parts]
    writer = PdfWriter()
    for body in rendered.bodies:
        for page in PdfReader(io.BytesIO(body)).pages:
            writer.add_page(page)
    stamps = PdfReader(io.BytesIO(rendered.overlay)).pages
    if len(writer.pages) != len(stamps):
        raise RenderFailed(f"{len(writer.pages)} pages but {len(stamps)} footers")
    for page, stamp in zip(writer.pages, stamps, strict=True):
        page.merge_page(stamp)
    contents = _contents(packet, all_parts, pages)
    for entry, part in zip(contents, all_parts, strict=True):
        title = entry.title if part.bundle is None else f"{part.bundle['label']}: {entry.title}"
        writer.add_outline_item(title=title, page_number=entry.first_page - 1)
    writer.add_metadata(
        {
            "/Title": f"Exhibit {packet.number}, case {packet.case_number}"
            + (" (REDACTED COPY)" if redacted else ""),
            "/Author": packet.agency,
            "/Creator": f"{packet.tool_name} {packet.tool_version}",
            "/Producer": f"{packet.tool_name} {packet.tool_version}, Chromium {version}, "
            f"pypdf {pypdf.__version__}",
        }
    )
    buffer = io.BytesIO()
    writer.write(buffer)
    data = buffer.getvalue()
    total = sum(pages)
    if _page_count(data) != total:
        raise RenderFailed("the assembled PDF does not have the pages counted")
    out = Path(out)
    write_new(out, data)
    return RenderResult(
        path=out,
        pages=total,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        bates_first=bates_number(packet, 0),
        bates_last=bates_number(packet, total - 1),
        contents=contents,
        browser_version=version,
        redacted=redacted is not None,
    )
