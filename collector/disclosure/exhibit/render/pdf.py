"""The packet as PDF: Chromium prints the HTML with JavaScript off; footers and Bates numbers are stamped with pypdf."""

from __future__ import annotations

import asyncio
import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pypdf
from playwright.async_api import Dialog, Page, Route, async_playwright
from pypdf import PdfReader, PdfWriter

from collector.browser.launch import browser_home, launch_args, launch_browser
from collector.disclosure.exhibit.files import write_new
from collector.disclosure.exhibit.model import Packet
from collector.disclosure.exhibit.render.geometry import (
    CHROMIUM,
    FOOTER_MAX_BUNDLES,
    FOOTER_URL_MAX,
    RENDER_RESOLVER_RULES,
    STEP_TIMEOUT_S,
    TOC_MAX_PASSES,
    RenderFailed,
)
from collector.disclosure.exhibit.render.pages import (
    RenderResult,
    TocEntry,
    bates_number,
    check_bates,
    environment,
    utc,
    visible,
)
from collector.disclosure.exhibit.render.redacted import RedactedView
from collector.disclosure.exhibit.render.view import (
    Capped,
    Part,
    capper,
    packet_document,
    packet_parts,
    shorten,
    template_context,
    toc_part,
)
from collector.errors import CaptureFailed
from collector.evidence.model import BrowserSettings

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
            source = shorten(cap(single.metadata.capture.requested_url) or "", FOOTER_URL_MAX)
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
                + ", ".join(shorten(visible(u), 80) for u in self.attempts[:3])
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
                bodies = [await renderer.pdf(packet_document(packet, redacted, [p])) for p in parts]
                pages = [_page_count(b) for b in bodies]
                toc_pages = 1
                for _ in range(TOC_MAX_PASSES):
                    toc = toc_part(packet, parts, pages, toc_pages)
                    toc_pdf = await renderer.pdf(packet_document(packet, redacted, [toc]))
                    if _page_count(toc_pdf) == toc_pages:
                        break
                    toc_pages = _page_count(toc_pdf)
                else:
                    raise RenderFailed("the table of contents did not settle on a page count")
                all_parts = [toc, *parts]
                all_pages = [toc_pages, *pages]
                check_bates(packet, sum(all_pages))
                footers = _footers(packet, all_parts, all_pages, capper(redacted))
                html = (
                    environment()
                    .get_template("exhibit/footer.html.j2")
                    .render(**template_context(packet, redacted), footers=footers)
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
    parts = packet_parts(packet, redacted)
    rendered = asyncio.run(_render(packet, redacted, parts, chromium))
    pages, version = rendered.pages, rendered.version
    all_parts = [toc_part(packet, parts, None), *parts]
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
