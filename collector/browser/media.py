"""The post's media saved as files of their own: `data/media/NNN-<name>.<ext>`.

For each `MediaItem` of the post, in order:

1. the body the browser received is read back from the WARC (`obtained="network-record"`),
   when the recorder holds a whole one (a 200, or a 206 covering the whole file);
2. otherwise it is fetched in the capture's browser context (`context.request`, which shares
   the context's cookies, user agent and proxy) with `obtained="fetched"`: every hop is
   judged by the private-network guard first (redirects are followed one at a time), and
   every exchange is written to the WARC like the page's own, so the WARC stays a complete
   record of the traffic and the saved file is always a copy of a WARC body;
3. an HLS or DASH stream is assembled with ffmpeg from the segments the page loaded
   (`collector.browser.streams`), never fetched.

File names from the web are hostile: the name is `NNN-` (the item's position) plus an ASCII
slug of the URL's last path segment, and the extension comes from the type libmagic sniffs
in the bytes. Caps (`BrowserSettings.media_*`) bound the count, each file and the total;
a skipped item says why in `MediaItem.skipped` and in the step's journal. Nothing here
raises for a bad item: failures are recorded and the capture goes on.
"""

from __future__ import annotations

import asyncio
import hashlib
import mimetypes
import re
import shutil
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import magic
from playwright.async_api import BrowserContext
from playwright.async_api import Error as PlaywrightError

from collector.browser.egress.socks import EgressPoint
from collector.browser.journal import StepHandle, one_line, utcnow
from collector.browser.recorder import TrafficRecorder
from collector.browser.streams import MANIFEST_MAX_BYTES, Assembler, stream_format
from collector.browser.traffic_index import BodyLocation, url_key
from collector.browser.warc import REDIRECT_STATUSES
from collector.evidence.bundle.layout import MEDIA_DIR
from collector.evidence.model import BrowserSettings, StreamAssembly
from collector.evidence.post import MediaItem

MEDIA_SCRATCH = ".media.partial"
"""Scratch directory in the work directory (stream segments); removed before sealing."""
SNIFF_BYTES = 64 * 1024
NAME_MAX = 60
MAX_REDIRECTS = 5
ARCHIVE_TIMEOUT_S = 10.0
COPY_CHUNK = 1024 * 1024

EXTENSIONS: dict[str, str] = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
    "image/avif": "avif",
    "image/heic": "heic",
    "image/heif": "heif",
    "image/bmp": "bmp",
    "image/x-ms-bmp": "bmp",
    "image/tiff": "tif",
    "image/svg+xml": "svg",
    "image/x-icon": "ico",
    "image/vnd.microsoft.icon": "ico",
    "video/mp4": "mp4",
    "video/webm": "webm",
    "video/quicktime": "mov",
    "video/x-matroska": "mkv",
    "video/mp2t": "ts",
    "video/x-msvideo": "avi",
    "video/3gpp": "3gp",
    "video/ogg": "ogv",
    "audio/mpeg": "mp3",
    "audio/ogg": "ogg",
    "audio/x-wav": "wav",
    "audio/wav": "wav",
    "audio/flac": "flac",
    "audio/x-flac": "flac",
    "audio/mp4": "m4a",
    "audio/x-m4a": "m4a",
    "audio/aac": "aac",
    "audio/x-hx-aac-adts": "aac",
    "audio/webm": "weba",
    "audio/opus": "opus",
    "application/octet-stream": "bin",
}


# --------------------------------------------------------------------------- pure helpers


def safe_stem(url: str, fallback: str) -> str:
    """An ASCII slug of the URL's last path segment (without its extension), or `fallback`.

    Only `A-Z a-z 0-9 _ -` survive, runs of anything else become one `-`, no leading or
    trailing `-`/`_`, at most NAME_MAX characters: never a path, a dot file or an option.
    """
    segment = unquote(urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1])
    stem = segment.rsplit(".", 1)[0] if "." in segment.lstrip(".") else segment
    ascii_text = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", ascii_text).strip("-_")
    slug = re.sub(r"-{2,}", "-", slug)[:NAME_MAX].strip("-_")
    return slug or fallback


def extension_for(mime: str) -> str:
    """A file extension for a sniffed MIME type: from the table, else mimetypes, else bin."""
    mime = mime.split(";", 1)[0].strip().lower()
    known = EXTENSIONS.get(mime)
    if known:
        return known
    guessed = (mimetypes.guess_extension(mime) or "").lstrip(".").lower()
    return guessed if re.fullmatch(r"[a-z0-9]{1,8}", guessed) else "bin"


def sniff(head: bytes) -> str:
    """The MIME type libmagic finds in the first bytes (MPEG-TS recognised by its sync bytes)."""
    if not head:
        return "application/x-empty"
    mime = str(magic.from_buffer(head, mime=True))
    if mime == "application/octet-stream" and is_mpeg_ts(head):
        return "video/mp2t"
    return mime


def is_mpeg_ts(head: bytes) -> bool:
    """188-byte packets, each starting with the sync byte 0x47 (checked over 5 packets)."""
    packets = min(5, len(head) // 188)
    return packets >= 2 and all(head[i * 188] == 0x47 for i in range(packets))


def media_name(position: int, url: str, kind: str, mime: str) -> str:
    """`media/NNN-<slug>.<ext>`: NNN is the item's 1-based position in the post."""
    return f"{MEDIA_DIR}/{position:03d}-{safe_stem(url, kind)}.{extension_for(mime)}"


def referer_for(page_url: str, target: str) -> str:
    """What a browser sends by default (strict-origin-when-cross-origin)."""
    page, other = urlsplit(page_url), urlsplit(target)
    if (page.scheme, page.netloc) == (other.scheme, other.netloc):
        return page_url.split("#", 1)[0]
    if page.scheme == "https" and other.scheme == "http":
        return ""
    return f"{page.scheme}://{page.netloc}/"


def entity_size(headers: Sequence[tuple[str, str]]) -> int | None:
    """The whole file's size from a Content-Range header (`bytes a-b/size`), if stated."""
    value = next((v for k, v in headers if k.lower() == "content-range"), "")
    match = re.fullmatch(r"\s*bytes\s+\d+-\d+/(\d+)\s*", value, re.IGNORECASE)
    return int(match.group(1)) if match else None


@dataclass
class Budget:
    """The caps of one capture's media, and what is used of them."""

    max_items: int
    max_item_bytes: int
    max_total_bytes: int
    ends_at: float  # time.monotonic()
    items: int = 0
    bytes: int = 0

    def left_s(self) -> float:
        return max(0.0, self.ends_at - time.monotonic())

    def refusal(self, size: int | None) -> str | None:
        """Why one more item (of `size` bytes when known) may not be saved, or None."""
        if self.items >= self.max_items:
            return f"item limit reached (media_max_items={self.max_items})"
        if self.left_s() <= 0:
            return "no time left for media (media_max_time_s or the capture's total limit)"
        if size is not None and size > self.max_item_bytes:
            return f"{size} bytes, over the per-item limit (media_max_item_bytes={self.max_item_bytes})"
        if size is not None and self.bytes + size > self.max_total_bytes:
            return (
                f"{size} bytes would pass the total limit "
                f"(media_max_total_bytes={self.max_total_bytes}, {self.bytes} used)"
            )
        return None

    def take(self, size: int) -> None:
        self.items += 1
        self.bytes += size

    @classmethod
    def of(cls, settings: BrowserSettings, seconds: float) -> Budget:
        return cls(
            max_items=settings.media_max_items,
            max_item_bytes=settings.media_max_item_bytes,
            max_total_bytes=settings.media_max_total_bytes,
            ends_at=time.monotonic() + max(0.0, seconds),
        )


# --------------------------------------------------------------------------- the step


@dataclass
class MediaOutcome:
    """What `save_media` did: files written (relative to the work directory), streams
    assembled, and URLs the tool fetched itself."""

    artifacts: list[str] = field(default_factory=list)
    streams: list[StreamAssembly] = field(default_factory=list)
    fetched: list[str] = field(default_factory=list)


@dataclass
class _Saver:
    context: BrowserContext
    recorder: TrafficRecorder
    egress: EgressPoint | None
    settings: BrowserSettings
    workdir: Path
    page_url: str
    step: StepHandle
    budget: Budget
    user_agent: str | None
    scrub: Callable[[str], str]
    outcome: MediaOutcome = field(default_factory=MediaOutcome)

    async def item(self, position: int, item: MediaItem) -> None:
        url = urljoin(self.page_url, item.url.strip())
        scheme = urlsplit(url).scheme
        if scheme not in ("http", "https"):
            self._skip(item, position, f"{scheme or 'relative'}: URL, not an http(s) resource")
            return
        location = self.recorder.location(url)
        head = b""
        if location is not None and location.complete:
            head = await asyncio.to_thread(self._head, location, 2048)
        fmt = stream_format(url, location.content_type if location else None, head)
        loaded = location is not None and location.complete
        if fmt is not None or (item.kind == "stream" and not loaded):
            await self._stream(position, item, url, location, fmt)
            return  # a "stream" that is a plain file the page loaded is saved like any other
        why = self.budget.refusal(location.size if location and location.complete else None)
        if why:
            self._skip(item, position, why)
            return
        obtained = "network-record"
        if location is None or not location.complete:
            location = await self._fetch(item, position, url)
            if location is None:
                return
            obtained = "fetched"
        why = self.budget.refusal(location.size) or (
            "empty body: nothing to save" if location.size == 0 else None
        )
        if why:
            self._skip(item, position, why)
            return
        await self._save(position, item, url, location, obtained)

    # ------------------------------------------------------------------ saving

    def _head(self, location: BodyLocation, size: int) -> bytes:
        with self.recorder.payload(location) as stream:
            return stream.read(size)

    async def _save(
        self, position: int, item: MediaItem, url: str, location: BodyLocation, obtained: str
    ) -> None:
        try:
            name, digest, size, mime = await asyncio.to_thread(
                self._copy, position, item, url, location
            )
        except (OSError, ValueError) as exc:
            self._skip(item, position, f"could not be written: {one_line(exc)}")
            return
        self.budget.take(size)
        item.artifact, item.sha256, item.size, item.content_type = name, digest, size, mime
        item.obtained, item.skipped = obtained, None
        self.outcome.artifacts.append(name)
        self.step.note(f"#{position} {item.kind} -> {name} ({size} bytes, {mime}, {obtained})")

    def _copy(
        self, position: int, item: MediaItem, url: str, location: BodyLocation
    ) -> tuple[str, str, int, str]:
        digest = hashlib.sha256()
        size = 0
        with self.recorder.payload(location) as stream:
            head = stream.read(SNIFF_BYTES)
            mime = sniff(head)
            name = media_name(position, self.scrub(url), item.kind, mime)
            target = self.workdir / name
            target.parent.mkdir(exist_ok=True)
            with target.open("xb") as out:
                chunk = head
                while chunk:
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
                    chunk = stream.read(COPY_CHUNK)
        if size != location.size:
            target.unlink(missing_ok=True)
            raise ValueError(f"read {size} bytes back from the WARC, expected {location.size}")
        return name, digest.hexdigest(), size, mime

    def _skip(self, item: MediaItem, position: int, reason: str) -> None:
        item.skipped = reason
        self.step.note(f"#{position} {item.kind} {self.scrub(item.url)[:200]} skipped: {reason}")

    # ------------------------------------------------------------------ fetching

    async def _fetch(self, item: MediaItem, position: int, url: str) -> BodyLocation | None:
        """GET `url` in the browser context, one hop at a time, each hop archived."""
        current = url
        keys = [url]
        for _hop in range(MAX_REDIRECTS + 1):
            if self.egress is not None:
                reason = await self.egress.refusal_for_url(current)
                if reason is not None:
                    self._skip(item, position, f"refused by the egress point: {reason}")
                    return None
            timeout = self.budget.left_s()
            if timeout <= 0:
                self._skip(item, position, "no time left to fetch it")
                return None
            headers = self._request_headers(current)
            try:
                response = await self.context.request.get(
                    current,
                    headers=dict(headers),
                    max_redirects=0,
                    timeout=timeout * 1000,
                    fail_on_status_code=False,
                )
                try:
                    body = await response.body()
                    response_headers = [(h["name"], h["value"]) for h in response.headers_array]
                finally:
                    await response.dispose()  # the driver keeps bodies until told otherwise
            except PlaywrightError as exc:
                self._skip(item, position, f"fetch failed: {one_line(exc.message)}")
                return None
            cookies = await self._cookie_header(current)
            request_headers = [("Host", urlsplit(current).netloc), *headers, *cookies]
            self.outcome.fetched.append(current)
            written = await self.recorder.archive(
                url=current,
                method="GET",
                request_headers=request_headers,
                status=response.status,
                reason=response.status_text,
                response_headers=response_headers,
                body=body,
                received_at=utcnow(),
                keys=[current, *keys[:-1]],  # this hop first, then the URLs before it
                timeout_s=ARCHIVE_TIMEOUT_S,
            )
            if written is None:
                self._skip(
                    item, position, "fetched, but the exchange could not be written to the WARC"
                )
                return None
            location_header = next(
                (v for k, v in response_headers if k.lower() == "location"), None
            )
            if response.status in REDIRECT_STATUSES and location_header:
                current = urljoin(current, location_header)
                keys.append(current)
                continue
            location = self.recorder.location(url)
            if location is None or not location.complete:
                total = entity_size(response_headers)
                why = f"fetch answered {response.status}, not the whole file"
                if response.status == 206 and total is not None:
                    why = f"{total} bytes, over what the media limits leave ({self._allowance()})"
                self._skip(item, position, why)
                return None
            return location
        self._skip(item, position, f"more than {MAX_REDIRECTS} redirects")
        return None

    def _allowance(self) -> int:
        """Most bytes one more file may have under the per-item and total limits."""
        return max(
            0, min(self.budget.max_item_bytes, self.budget.max_total_bytes - self.budget.bytes)
        )

    def _request_headers(self, url: str) -> list[tuple[str, str]]:
        # The Range bounds the download: a larger file answers 206 with its size, not all of it.
        headers = [
            ("Accept", "*/*"),
            ("Accept-Encoding", "identity"),
            ("Range", f"bytes=0-{self._allowance()}"),
        ]
        if self.user_agent:
            headers.insert(0, ("User-Agent", self.user_agent))
        referer = referer_for(self.page_url, url)
        if referer:
            headers.append(("Referer", referer))
        return headers

    async def _cookie_header(self, url: str) -> list[tuple[str, str]]:
        """The Cookie header the context sends with `url` (the same jar, the same rule)."""
        try:
            cookies = await self.context.cookies([url])
        except PlaywrightError:
            return []
        value = "; ".join(f"{c.get('name', '')}={c.get('value', '')}" for c in cookies)
        return [("Cookie", value)] if value else []

    # ------------------------------------------------------------------ streams

    async def _stream(
        self,
        position: int,
        item: MediaItem,
        url: str,
        location: BodyLocation | None,
        fmt: str | None,
    ) -> None:
        why = self.budget.refusal(None)
        if why:
            self._skip(item, position, why)
            return
        if location is None or not location.complete:
            self._skip(
                item, position, "stream manifest not loaded by the page (streams are never fetched)"
            )
            return
        if fmt is None:
            self._skip(item, position, "not an HLS or DASH manifest")
            return
        if location.size > MANIFEST_MAX_BYTES:
            self._skip(item, position, f"manifest larger than {MANIFEST_MAX_BYTES} bytes")
            return
        scratch = self.workdir / MEDIA_SCRATCH / f"stream-{position:03d}"
        assembler = Assembler(
            self.recorder,
            self.settings.ffmpeg_path,
            scratch,
            self._allowance(),
            self.budget.left_s(),
        )
        result = await assembler.assemble(
            url, "hls" if fmt == "hls" else "dash", location, shown=self.scrub(url)
        )
        record = result.record
        self.outcome.streams.append(record)
        if result.output is None:
            self._skip(item, position, f"stream not assembled: {record.note}")
            return
        try:
            name, digest, size, mime = await asyncio.to_thread(
                self._place_stream, position, url, result.output
            )
        except (OSError, ValueError) as exc:
            self._skip(item, position, f"assembled file could not be kept: {one_line(exc)}")
            return
        finally:
            await asyncio.to_thread(shutil.rmtree, scratch, True)
        if (
            size > self.budget.max_item_bytes
            or self.budget.bytes + size > self.budget.max_total_bytes
        ):
            (self.workdir / name).unlink(missing_ok=True)
            self._skip(item, position, f"assembled file of {size} bytes is over the media limits")
            return
        self.budget.take(size)
        record.artifact, record.sha256 = name, digest
        item.artifact, item.sha256, item.size, item.content_type = name, digest, size, mime
        item.obtained = "network-record"
        item.skipped = None
        self.outcome.artifacts.append(name)
        self.step.note(
            f"#{position} stream -> {name} ({size} bytes, {mime}; {record.segments_used} of "
            f"{record.segments_listed} segment(s); {record.ffmpeg_version})"
        )

    def _place_stream(self, position: int, url: str, output: Path) -> tuple[str, str, int, str]:
        with output.open("rb") as handle:
            mime = sniff(handle.read(SNIFF_BYTES))
        name = media_name(position, self.scrub(url), "stream", mime)
        target = self.workdir / name
        target.parent.mkdir(exist_ok=True)
        if target.exists():
            raise ValueError(f"{name} exists already")
        shutil.move(output, target)
        digest = hashlib.sha256()
        size = 0
        with target.open("rb") as handle:
            while chunk := handle.read(COPY_CHUNK):
                digest.update(chunk)
                size += len(chunk)
        return name, digest.hexdigest(), size, mime


async def save_media(
    items: Sequence[MediaItem],
    *,
    context: BrowserContext,
    recorder: TrafficRecorder,
    egress: EgressPoint | None,
    settings: BrowserSettings,
    workdir: Path,
    page_url: str,
    budget_s: float,
    step: StepHandle,
    user_agent: str | None = None,
    scrub: Callable[[str], str] | None = None,
) -> MediaOutcome:
    """Save each item's file under `workdir/media/` and fill in the item (see module doc).

    `items` are updated in place (artifact, sha256, size, content_type, obtained, or
    skipped). Never raises for an item; the scratch directory is removed before returning.
    """
    saver = _Saver(
        context=context,
        recorder=recorder,
        egress=egress,
        settings=settings,
        workdir=workdir,
        page_url=page_url,
        step=step,
        budget=Budget.of(settings, budget_s),
        user_agent=user_agent,
        scrub=scrub or (lambda text: text),
    )
    try:
        if not await recorder.settled(min(saver.budget.left_s(), 10.0)):
            step.note("not every response was written before media were looked up")
        seen: set[str] = set()
        for position, item in enumerate(items, 1):
            key = url_key(urljoin(page_url, item.url.strip()))
            if key in seen:
                saver._skip(item, position, "same URL as an earlier item")
                continue
            seen.add(key)
            try:
                await saver.item(position, item)
            except Exception as exc:  # one item's failure is recorded; the others go on
                if item.artifact is None:
                    saver._skip(item, position, f"failed: {one_line(exc)}")
    finally:
        await asyncio.to_thread(shutil.rmtree, workdir / MEDIA_SCRATCH, True)
    return saver.outcome


def orphans(workdir: Path, artifacts: Sequence[str]) -> list[Path]:
    """Files under `workdir/media/` that no artifact names (left by an interrupted step)."""
    directory = workdir / MEDIA_DIR
    if not directory.is_dir():
        return []
    listed = {workdir / name for name in artifacts}
    return sorted(p for p in directory.rglob("*") if p.is_file() and p not in listed)
