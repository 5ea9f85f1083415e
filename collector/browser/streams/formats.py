"""Which responses are stream manifests, the stream limits, and the errors of reading them."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import BinaryIO, Literal, Protocol
from urllib.parse import urlsplit

from collector.browser.traffic_index import BodyLocation, media_type

StreamFormat = Literal["hls", "dash"]

HLS_TYPES = frozenset(
    {"application/vnd.apple.mpegurl", "application/x-mpegurl", "audio/mpegurl", "audio/x-mpegurl"}
)
DASH_TYPES = frozenset({"application/dash+xml"})
MANIFEST_MAX_BYTES = 5 * 1024 * 1024
SEGMENTS_MAX = 100_000
MISSING_SHOWN = 20
FFMPEG_VERSION_TIMEOUT_S = 10.0
SCRATCH_MARK = "<scratch>"
COPY_CHUNK = 1024 * 1024



class StreamError(Exception):
    """The stream cannot be assembled; the message says why, in one line."""


class BodySource(Protocol):
    """Where recorded bodies are read back from (the `TrafficRecorder`)."""

    def location(self, url: str) -> BodyLocation | None: ...

    def payload(self, location: BodyLocation) -> AbstractContextManager[BinaryIO]: ...


def stream_format(url: str, content_type: str | None, head: bytes = b"") -> StreamFormat | None:
    """HLS or DASH, judged by the recorded Content-Type, the URL's suffix, or the body."""
    kind = media_type(content_type)
    if kind in HLS_TYPES:
        return "hls"
    if kind in DASH_TYPES:
        return "dash"
    path = urlsplit(url).path.lower()
    if path.endswith((".m3u8", ".m3u")):
        return "hls"
    if path.endswith(".mpd"):
        return "dash"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"#EXTM3U"):
        return "hls"
    if b"<MPD" in text[:2048]:
        return "dash"
    return None


