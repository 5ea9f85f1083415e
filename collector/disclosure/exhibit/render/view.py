"""The packet as HTML: screenshot slices, one view per bundle, and the parts in order."""

from __future__ import annotations

import base64
import hashlib
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from collector.disclosure.exhibit import certification
from collector.disclosure.exhibit.model import ExhibitItem, Packet
from collector.disclosure.exhibit.render.geometry import (
    CONTENT_SECURITY_POLICY,
    FOOTER_URL_MAX,
    MARGIN_BOTTOM_IN,
    MARGIN_SIDE_IN,
    MARGIN_TOP_IN,
    MAX_SCREENSHOT_PIXELS,
    PAGE_HEIGHT_IN,
    PAGE_WIDTH_IN,
    SLICE_CAPTION_PX,
    VERIFY_COMMANDS,
    RenderFailed,
)
from collector.disclosure.exhibit.render.pages import (
    bates_number,
    check_packet,
    display_scale,
    environment,
    slice_rows,
)
from collector.disclosure.exhibit.render.redacted import RedactedView
from collector.errors import IntegrityError
from collector.evidence.bundle import layout
from collector.evidence.post import FIELDS
from collector.platforms.summary import state_line

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


def capper(redacted: RedactedView | None) -> Capped:
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


def shorten(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def bundle_view(
    packet: Packet, index: int, item: ExhibitItem, redacted: RedactedView | None
) -> dict[str, Any]:
    """Everything a bundle's sections show, as plain values (escaped by the templates)."""
    cap = capper(redacted)
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
        "footer_url": shorten(cap(capture.requested_url) or "", FOOTER_URL_MAX),
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


def packet_parts(packet: Packet, redacted: RedactedView | None) -> list[Part]:
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
    cert = certification.view(packet, bundles, capper(redacted))
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


def toc_part(
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


def template_context(packet: Packet, redacted: RedactedView | None) -> dict[str, Any]:
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


def packet_document(packet: Packet, redacted: RedactedView | None, parts: Sequence[Part]) -> str:
    template = environment().get_template("exhibit/packet.html.j2")
    return template.render(**template_context(packet, redacted), parts=parts)


def render_html(packet: Packet, *, redacted: RedactedView | None = None) -> str:
    """The whole packet as one self-contained HTML document (no page numbers: see the PDF)."""
    parts = packet_parts(packet, redacted)
    return packet_document(packet, redacted, [toc_part(packet, parts, None), *parts])


