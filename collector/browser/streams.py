"""Streamed video (HLS, DASH) put together from the segments the page loaded.

The segments stay in the WARC as the browser received them. This module reads the
manifest and the segments back from the WARC, writes them to a scratch directory under
names of its own, and has ffmpeg copy them (no re-encoding) into one playable file:

- HLS: a new media playlist is written from the parsed one, keeping only the tags ffmpeg
  needs, with every URI replaced by a local file name and `#EXT-X-ENDLIST` added (so
  ffmpeg never waits for a live playlist to grow);
- DASH: for each adaptation set the representation the page loaded most of is chosen, and
  its initialization segment and media segments are concatenated into one track file.

Nothing from the web reaches a path or a command line: file names are ours, the playlist
is rebuilt from parsed values with strict character sets, and ffmpeg runs with
`-protocol_whitelist file` (plus `crypto` for AES-128 HLS), so it can open local files only.
Only segments the page itself loaded are used, never fetched: the first unbroken run of
recorded segments in playlist order. What was left out is recorded (`StreamAssembly`).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
import shutil
import time
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Literal, Protocol
from urllib.parse import urljoin, urlsplit

from lxml import etree

from collector.browser.traffic_index import BodyLocation, media_type
from collector.evidence.model import StreamAssembly

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

_ATTRIBUTE = re.compile(r'([A-Z0-9-]+)=("[^"\r\n]*"|[^,\r\n]*)')
_HEX_IV = re.compile(r"^0[xX][0-9A-Fa-f]{1,64}$")
_TEMPLATE = re.compile(r"\$(RepresentationID|Number|Bandwidth|Time)(?:%0(\d{1,2})d)?\$|\$\$")
_DURATION = re.compile(
    r"^P(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)


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


# --------------------------------------------------------------------------- HLS parsing


def parse_attributes(text: str) -> dict[str, str]:
    """An HLS attribute list (`A=1,B="x,y"`) as a dict, quotes removed."""
    return {name: value.strip('"') for name, value in _ATTRIBUTE.findall(text)}


@dataclass(frozen=True)
class Variant:
    uri: str
    bandwidth: int
    audio_group: str | None


@dataclass(frozen=True)
class Rendition:
    uri: str
    group: str
    default: bool


@dataclass(frozen=True)
class KeyTag:
    method: str
    uri: str | None
    iv: str | None
    keyformat: str | None


@dataclass(frozen=True)
class HlsSegment:
    uri: str
    duration: float
    sequence: int
    discontinuity: bool
    byterange: bool
    key: KeyTag | None
    map_uri: str | None


@dataclass
class MediaPlaylist:
    target_duration: int
    version: int | None
    segments: list[HlsSegment] = field(default_factory=list)


@dataclass
class MasterPlaylist:
    variants: list[Variant] = field(default_factory=list)
    renditions: list[Rendition] = field(default_factory=list)


def _lines(text: str) -> list[str]:
    lines = [line.strip() for line in text.lstrip("\ufeff").splitlines()]
    lines = [line for line in lines if line]
    if not lines or not lines[0].startswith("#EXTM3U"):
        raise StreamError("not an HLS playlist (no #EXTM3U)")
    return lines


def parse_hls(text: str, base_url: str) -> MasterPlaylist | MediaPlaylist:
    """Parse a playlist; URIs are resolved against `base_url`."""
    lines = _lines(text)
    if any(line.startswith("#EXT-X-STREAM-INF") for line in lines):
        return _parse_master(lines, base_url)
    return _parse_media(lines, base_url)


def _parse_master(lines: list[str], base_url: str) -> MasterPlaylist:
    master = MasterPlaylist()
    pending: dict[str, str] | None = None
    for line in lines[1:]:
        if line.startswith("#EXT-X-STREAM-INF:"):
            pending = parse_attributes(line.split(":", 1)[1])
        elif line.startswith("#EXT-X-MEDIA:"):
            attrs = parse_attributes(line.split(":", 1)[1])
            if attrs.get("TYPE") == "AUDIO" and attrs.get("URI"):
                master.renditions.append(
                    Rendition(
                        uri=urljoin(base_url, attrs["URI"]),
                        group=attrs.get("GROUP-ID", ""),
                        default=attrs.get("DEFAULT") == "YES",
                    )
                )
        elif not line.startswith("#") and pending is not None:
            bandwidth = pending.get("BANDWIDTH", "0")
            master.variants.append(
                Variant(
                    uri=urljoin(base_url, line),
                    bandwidth=int(bandwidth) if bandwidth.isdigit() else 0,
                    audio_group=pending.get("AUDIO"),
                )
            )
            pending = None
    return master


def _parse_media(lines: list[str], base_url: str) -> MediaPlaylist:
    playlist = MediaPlaylist(target_duration=0, version=None)
    sequence = 0
    duration: float | None = None
    discontinuity = byterange = False
    key: KeyTag | None = None
    map_uri: str | None = None
    for line in lines[1:]:
        tag, _, value = line.partition(":")
        if tag == "#EXT-X-TARGETDURATION" and value.strip().isdigit():
            playlist.target_duration = int(value)
        elif tag == "#EXT-X-VERSION" and value.strip().isdigit():
            playlist.version = int(value)
        elif tag == "#EXT-X-MEDIA-SEQUENCE" and value.strip().isdigit():
            sequence = int(value)
        elif tag == "#EXTINF":
            try:
                duration = float(value.split(",", 1)[0])
            except ValueError as exc:
                raise StreamError(f"malformed #EXTINF {value[:40]!r}") from exc
            if not math.isfinite(duration) or duration < 0:
                raise StreamError(f"malformed #EXTINF {value[:40]!r}")
        elif tag == "#EXT-X-DISCONTINUITY":
            discontinuity = True
        elif tag == "#EXT-X-BYTERANGE":
            byterange = True
        elif tag == "#EXT-X-KEY":
            attrs = parse_attributes(value)
            method = attrs.get("METHOD", "NONE")
            key = (
                None
                if method == "NONE"
                else KeyTag(
                    method=method,
                    uri=urljoin(base_url, attrs["URI"]) if attrs.get("URI") else None,
                    iv=attrs.get("IV"),
                    keyformat=attrs.get("KEYFORMAT"),
                )
            )
        elif tag == "#EXT-X-MAP":
            attrs = parse_attributes(value)
            map_uri = urljoin(base_url, attrs["URI"]) if attrs.get("URI") else None
            byterange = byterange or "BYTERANGE" in attrs
        elif not line.startswith("#"):
            playlist.segments.append(
                HlsSegment(
                    uri=urljoin(base_url, line),
                    duration=duration if duration is not None else float(playlist.target_duration),
                    sequence=sequence,
                    discontinuity=discontinuity,
                    byterange=byterange,
                    key=key,
                    map_uri=map_uri,
                )
            )
            if len(playlist.segments) > SEGMENTS_MAX:
                raise StreamError(f"more than {SEGMENTS_MAX} segments listed")
            sequence += 1
            duration, discontinuity, byterange = None, False, False
    return playlist


def leading_run(uris: Iterable[str], recorded: set[str]) -> tuple[int, int]:
    """(start, end) of the first unbroken run of recorded URIs, in order; (0, 0) if none."""
    items = list(uris)
    start = next((i for i, uri in enumerate(items) if uri in recorded), None)
    if start is None:
        return 0, 0
    end = start
    while end < len(items) and items[end] in recorded:
        end += 1
    return start, end


def local_playlist(
    playlist: MediaPlaylist, segments: list[HlsSegment], names: dict[str, str]
) -> str:
    """A VOD media playlist of `segments`, every URI replaced by its local name in `names`.

    Built from parsed values only; a key or map whose file is not in `names`, or an
    attribute outside its strict character set, raises StreamError.
    """
    if not segments:
        raise StreamError("no segments to write")
    target = max(playlist.target_duration, math.ceil(max(s.duration for s in segments)))
    out = ["#EXTM3U"]
    if playlist.version is not None:
        out.append(f"#EXT-X-VERSION:{playlist.version}")
    out += [
        f"#EXT-X-TARGETDURATION:{target}",
        f"#EXT-X-MEDIA-SEQUENCE:{segments[0].sequence}",
        "#EXT-X-PLAYLIST-TYPE:VOD",
    ]
    last_key: KeyTag | None = None
    last_map: str | None = None
    for index, segment in enumerate(segments):
        if segment.map_uri is not None and segment.map_uri != last_map:
            out.append(f'#EXT-X-MAP:URI="{_local(names, segment.map_uri)}"')
            last_map = segment.map_uri
        if segment.key != last_key:
            out.append(_key_line(segment.key, names))
            last_key = segment.key
        if segment.discontinuity and index > 0:
            out.append("#EXT-X-DISCONTINUITY")
        out.append(f"#EXTINF:{segment.duration:.6f},")
        out.append(_local(names, segment.uri))
    out.append("#EXT-X-ENDLIST")
    return "\n".join(out) + "\n"


def _local(names: dict[str, str], uri: str) -> str:
    name = names.get(uri)
    if name is None or not re.fullmatch(r"[a-z0-9][a-z0-9.-]{0,63}", name):
        raise StreamError("a playlist entry has no local file")
    return name


def _key_line(key: KeyTag | None, names: dict[str, str]) -> str:
    if key is None:
        return "#EXT-X-KEY:METHOD=NONE"
    if key.method != "AES-128" or key.keyformat not in (None, "identity"):
        raise StreamError(
            f"encrypted with {key.method[:40]!r} ({key.keyformat or 'identity'}): "
            "only AES-128 with a key the page loaded can be assembled"
        )
    if key.uri is None:
        raise StreamError("AES-128 key without a URI")
    line = f'#EXT-X-KEY:METHOD=AES-128,URI="{_local(names, key.uri)}"'
    if key.iv is not None:
        if not _HEX_IV.match(key.iv):
            raise StreamError("malformed key IV")
        line += f",IV={key.iv}"
    return line


# --------------------------------------------------------------------------- DASH parsing


@dataclass(frozen=True)
class Representation:
    id: str
    bandwidth: int
    content: str  # video, audio, text, ...
    container: str  # mp4 or webm
    init: str | None
    segments: list[str]


def parse_duration(text: str | None) -> float | None:
    """An xs:duration such as PT1M3.5S, in seconds."""
    if not text:
        return None
    match = _DURATION.match(text.strip())
    if match is None:
        return None
    parts = {k: float(v) if v else 0.0 for k, v in match.groupdict().items()}
    return parts["d"] * 86400 + parts["h"] * 3600 + parts["m"] * 60 + parts["s"]


def expand_template(template: str, rep_id: str, bandwidth: int, number: int, time: int) -> str:
    """Substitute $RepresentationID$, $Number$, $Bandwidth$, $Time$ (with %0Nd) and $$."""

    def value(match: re.Match[str]) -> str:
        name, width = match.group(1), match.group(2)
        if name is None:
            return "$"
        if name == "RepresentationID":
            return rep_id
        number_value = {"Number": number, "Bandwidth": bandwidth, "Time": time}[name]
        return f"{number_value:0{int(width)}d}" if width else str(number_value)

    return _TEMPLATE.sub(value, template)


def _local_name(element: etree._Element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def _children(element: etree._Element, name: str) -> list[etree._Element]:
    return [child for child in element if _local_name(child) == name]


def _child(element: etree._Element | None, name: str) -> etree._Element | None:
    if element is None:
        return None
    found = _children(element, name)
    return found[0] if found else None


def _base(element: etree._Element, base: str) -> str:
    node = _child(element, "BaseURL")
    return urljoin(base, (node.text or "").strip()) if node is not None else base


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def parse_mpd(data: bytes, url: str) -> list[list[Representation]]:
    """The first period's representations, grouped by adaptation set, segment URLs listed."""
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise StreamError("DASH manifest with a DTD or entities: refused")
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise StreamError(f"malformed DASH manifest: {str(exc)[:120]}") from exc
    if _local_name(root) != "MPD":
        raise StreamError("not a DASH manifest (no MPD element)")
    if root.get("type") == "dynamic":
        raise StreamError("live DASH (type=dynamic) is not assembled")
    periods = _children(root, "Period")
    if not periods:
        raise StreamError("DASH manifest without a Period")
    period = periods[0]
    total = parse_duration(period.get("duration")) or parse_duration(
        root.get("mediaPresentationDuration")
    )
    base = _base(period, _base(root, url))
    groups: list[list[Representation]] = []
    for adaptation in _children(period, "AdaptationSet"):
        as_base = _base(adaptation, base)
        reps = [
            _representation(adaptation, rep, _base(rep, as_base), total)
            for rep in _children(adaptation, "Representation")
        ]
        groups.append(reps)
    return groups


def _representation(
    adaptation: etree._Element, rep: etree._Element, base: str, total: float | None
) -> Representation:
    rep_id = rep.get("id", "")
    bandwidth = _int(rep.get("bandwidth"), 0)
    mime = rep.get("mimeType") or adaptation.get("mimeType") or ""
    content = adaptation.get("contentType") or mime.split("/", 1)[0] or "unknown"
    container = "webm" if "webm" in mime else "mp4"
    template = _merged(_child(adaptation, "SegmentTemplate"), _child(rep, "SegmentTemplate"))
    seg_list = _child(rep, "SegmentList")
    if seg_list is None:
        seg_list = _child(adaptation, "SegmentList")
    init: str | None = None
    segments: list[str]
    if template is not None:
        attrs, timeline = template
        if attrs.get("initialization"):
            init = urljoin(base, expand_template(attrs["initialization"], rep_id, bandwidth, 0, 0))
        media = attrs.get("media")
        if not media:
            raise StreamError("SegmentTemplate without a media template")
        segments = [
            urljoin(base, expand_template(media, rep_id, bandwidth, number, time))
            for number, time in _numbers(attrs, timeline, total)
        ]
    elif seg_list is not None:
        initialization = _child(seg_list, "Initialization")
        if initialization is not None and initialization.get("sourceURL"):
            init = urljoin(base, initialization.get("sourceURL", ""))
        segments = []
        for seg in _children(seg_list, "SegmentURL"):
            if seg.get("mediaRange") or not seg.get("media"):
                raise StreamError("byte-range DASH segments are not assembled")
            segments.append(urljoin(base, seg.get("media", "")))
    else:
        segments = [base]  # SegmentBase or nothing: one file holds the whole representation
    return Representation(rep_id, bandwidth, content, container, init, segments[:SEGMENTS_MAX])


def _merged(
    outer: etree._Element | None, inner: etree._Element | None
) -> tuple[dict[str, str], etree._Element | None] | None:
    if outer is None and inner is None:
        return None
    attrs: dict[str, str] = {}
    timeline = None
    for element in (outer, inner):
        if element is not None:
            attrs.update({str(k): str(v) for k, v in element.attrib.items()})
            found = _child(element, "SegmentTimeline")
            timeline = found if found is not None else timeline
    return attrs, timeline


def _numbers(
    attrs: dict[str, str], timeline: etree._Element | None, total: float | None
) -> Iterator[tuple[int, int]]:
    """(number, time) of each segment a SegmentTemplate lists."""
    number = _int(attrs.get("startNumber"), 1)
    timescale = max(1, _int(attrs.get("timescale"), 1))
    count = 0
    if timeline is not None:
        time = 0
        end = None if total is None else int(total * timescale)
        for s in _children(timeline, "S"):
            time = _int(s.get("t"), time)
            duration = _int(s.get("d"), 0)
            repeat = _int(s.get("r"), 0)
            if duration <= 0:
                raise StreamError("SegmentTimeline entry without a duration")
            if repeat < 0:
                if end is None:
                    raise StreamError("open-ended SegmentTimeline without a period duration")
                repeat = max(0, math.ceil((end - time) / duration) - 1)
            for _ in range(repeat + 1):
                yield number, time
                number, time, count = number + 1, time + duration, count + 1
                if count >= SEGMENTS_MAX:
                    return
        return
    duration = _int(attrs.get("duration"), 0)
    if duration <= 0 or total is None:
        raise StreamError("SegmentTemplate without a timeline, a duration or a total length")
    for index in range(min(SEGMENTS_MAX, math.ceil(total * timescale / duration))):
        yield number + index, index * duration


# --------------------------------------------------------------------------- assembling


@dataclass
class Assembled:
    record: StreamAssembly
    output: Path | None  # the assembled file in the scratch directory
    used_bytes: int


class Assembler:
    """Assembles one stream into `scratch` with ffmpeg; see the module docstring."""

    def __init__(
        self, source: BodySource, ffmpeg: str, scratch: Path, max_bytes: int, timeout_s: float
    ) -> None:
        self.source = source
        self.ffmpeg = ffmpeg
        self.scratch = scratch
        self.max_bytes = max_bytes
        self.ends_at = time.monotonic() + timeout_s
        self.encrypted = False
        self.used = 0  # bytes copied into the scratch directory, bounded by max_bytes
        self.base = ""

    async def assemble(
        self, url: str, fmt: StreamFormat, manifest: BodyLocation, shown: str | None = None
    ) -> Assembled:
        """Assemble the stream whose manifest `url` is at `manifest`; `shown` is the URL as
        recorded (redacted under an alias), `url` the one relative references resolve against."""
        self.base = manifest.source_url or url  # after redirects, as a player resolves
        record = StreamAssembly(url=shown or url, format=fmt)
        try:
            version = await ffmpeg_version(self.ffmpeg)
            record.ffmpeg_version = version
            self.scratch.mkdir(parents=True, exist_ok=False)
            data = await asyncio.to_thread(self._read, manifest, MANIFEST_MAX_BYTES)
            if fmt == "hls":
                inputs, used = await self._hls(record, data.decode("utf-8", "replace"), manifest)
            else:
                inputs, used = await self._dash(record, data, manifest)
            output = await self._ffmpeg(record, inputs)
        except StreamError as exc:
            record.note = str(exc)
            return Assembled(record, None, 0)
        return Assembled(record, output, used)

    # ------------------------------------------------------------------ HLS

    async def _hls(
        self, record: StreamAssembly, text: str, manifest: BodyLocation
    ) -> tuple[list[Path], int]:
        parsed = parse_hls(text, self.base)
        playlists: list[tuple[str, MediaPlaylist]] = []
        if isinstance(parsed, MasterPlaylist):
            for uri in self._pick_variant(parsed):
                location = self._complete(uri)
                assert location is not None
                body = await asyncio.to_thread(self._read, location, MANIFEST_MAX_BYTES)
                media = parse_hls(body.decode("utf-8", "replace"), location.source_url)
                if isinstance(media, MasterPlaylist):
                    raise StreamError("a variant playlist is itself a master playlist")
                playlists.append((uri, media))
        else:
            playlists.append((self.base, parsed))
        inputs: list[Path] = []
        used = 0
        notes: list[str] = []
        for number, (uri, media) in enumerate(playlists):
            path, size, note = await self._hls_input(record, number, uri, media)
            inputs.append(path)
            used += size
            notes.append(note)
        record.note = "; ".join(notes)
        return inputs, used

    def _pick_variant(self, master: MasterPlaylist) -> list[str]:
        """The loaded variant with the highest bandwidth, and its loaded audio rendition."""
        loaded = [v for v in master.variants if self._complete(v.uri) is not None]
        if not loaded:
            raise StreamError(
                f"the page loaded none of the {len(master.variants)} variant playlist(s)"
            )
        variant = max(loaded, key=lambda v: v.bandwidth)
        chosen = [variant.uri]
        audio = [
            r
            for r in master.renditions
            if r.group == variant.audio_group and self._complete(r.uri) is not None
        ]
        if audio:
            chosen.append(max(audio, key=lambda r: r.default).uri)
        return chosen

    async def _hls_input(
        self, record: StreamAssembly, number: int, uri: str, media: MediaPlaylist
    ) -> tuple[Path, int, str]:
        record.playlists.append(uri)
        segments = media.segments
        if any(s.byterange for s in segments):
            raise StreamError("byte-range HLS segments are not assembled")
        recorded = {s.uri for s in segments if self._complete(s.uri) is not None}
        start, end = leading_run((s.uri for s in segments), recorded)
        record.segments_listed += len(segments)
        if start == end:
            raise StreamError(f"the page loaded none of the {len(segments)} segment(s)")
        used = segments[start:end]
        record.segments_used += len(used)
        record.missing += [s.uri for s in segments if s.uri not in recorded][
            : max(0, MISSING_SHOWN - len(record.missing))
        ]
        directory = self.scratch / f"input-{number}"
        directory.mkdir()
        names: dict[str, str] = {}
        size = 0
        extras = [u for u in dict.fromkeys(s.map_uri for s in used) if u]
        keys = [k.uri for k in dict.fromkeys(s.key for s in used) if k is not None and k.uri]
        for index, extra in enumerate(extras, 1):
            size += await self._copy_to(extra, directory, f"init-{index}.mp4", names)
        for index, key_uri in enumerate(keys, 1):
            size += await self._copy_to(key_uri, directory, f"key-{index}.key", names)
        for index, segment in enumerate(used, 1):
            size += await self._copy_to(segment.uri, directory, f"seg-{index:05d}", names)
        playlist = directory / "local.m3u8"
        playlist.write_text(local_playlist(media, used, names), encoding="utf-8")
        self.encrypted = self.encrypted or bool(keys)
        listed = len(segments)
        if end - start == listed:
            note = f"complete: all {listed} segment(s) of {uri}"
        else:
            note = (
                f"partial: segments {start + 1}-{end} of {listed} of {uri} "
                "(only these were loaded by the page, in an unbroken run)"
            )
        if keys:
            note += "; AES-128, decrypted with the key the page loaded"
        return playlist, size, note

    # ------------------------------------------------------------------ DASH

    async def _dash(
        self, record: StreamAssembly, data: bytes, manifest: BodyLocation
    ) -> tuple[list[Path], int]:
        groups = parse_mpd(data, self.base)
        inputs: list[Path] = []
        used = 0
        notes = []
        for group in groups:
            choice = self._pick_representation(group)
            if choice is None:
                continue
            rep, start, end = choice
            record.playlists.append(f"{record.url}#{rep.content}/{rep.id}")
            record.segments_listed += len(rep.segments)
            record.segments_used += end - start
            recorded = {u for u in rep.segments if self._complete(u) is not None}
            record.missing += [u for u in rep.segments if u not in recorded][
                : max(0, MISSING_SHOWN - len(record.missing))
            ]
            track = self.scratch / f"track-{len(inputs)}.{rep.container}"
            parts = ([rep.init] if rep.init else []) + rep.segments[start:end]
            used += await asyncio.to_thread(self._concatenate, parts, track)
            inputs.append(track)
            listed = len(rep.segments)
            notes.append(
                f"{rep.content} {rep.id!r}: "
                + (
                    f"complete, {listed} segment(s)"
                    if end - start == listed
                    else f"partial, segments {start + 1}-{end} of {listed}"
                )
            )
        if not inputs:
            raise StreamError("the page loaded no segments of any representation")
        record.note = "; ".join(notes)
        return inputs, used

    def _pick_representation(
        self, group: list[Representation]
    ) -> tuple[Representation, int, int] | None:
        best: tuple[int, int, Representation, int, int] | None = None
        for rep in group:
            if rep.content not in ("video", "audio"):
                continue
            if rep.init is not None and self._complete(rep.init) is None:
                continue
            recorded = {u for u in rep.segments if self._complete(u) is not None}
            start, end = leading_run(rep.segments, recorded)
            if end > start and (best is None or (end - start, rep.bandwidth) > best[:2]):
                best = (end - start, rep.bandwidth, rep, start, end)
        return None if best is None else (best[2], best[3], best[4])

    # ------------------------------------------------------------------ files

    def _complete(self, url: str) -> BodyLocation | None:
        location = self.source.location(url)
        return location if location is not None and location.complete else None

    def _read(self, location: BodyLocation, limit: int) -> bytes:
        if location.size > limit:
            raise StreamError(f"manifest larger than {limit} bytes")
        with self.source.payload(location) as stream:
            return stream.read(limit + 1)[:limit]

    async def _copy_to(self, url: str, directory: Path, stem: str, names: dict[str, str]) -> int:
        location = self._complete(url)
        if location is None:
            raise StreamError("a key or initialization segment was not loaded by the page")
        if url in names:
            return 0
        name = (
            stem
            if "." in stem
            else f"{stem}.{await asyncio.to_thread(self._segment_ext, location)}"
        )
        size = await asyncio.to_thread(self._concatenate, [url], directory / name)
        names[url] = name
        return size

    def _segment_ext(self, location: BodyLocation) -> str:
        with self.source.payload(location) as stream:
            head = stream.read(512)
        if head[:1] == b"\x47" and (len(head) < 189 or head[188:189] == b"\x47"):
            return "ts"
        if head[4:8] in (b"ftyp", b"styp", b"moof", b"sidx", b"moov"):
            return "m4s"
        if head[:2] in (b"\xff\xf1", b"\xff\xf9"):
            return "aac"
        if head[:3] == b"ID3" or head[:2] in (b"\xff\xfb", b"\xff\xf3"):
            return "mp3"
        return "ts"

    def _concatenate(self, urls: list[str], target: Path) -> int:
        """Copy the recorded bodies of `urls`, in order, into `target`; bytes written."""
        written = 0
        with target.open("xb") as out:
            for url in urls:
                location = self._complete(url)
                if location is None:
                    raise StreamError("a segment was not loaded by the page")
                written += location.size
                self.used += location.size
                if self.used > self.max_bytes:
                    raise StreamError(
                        f"the segments pass the {self.max_bytes} bytes the media limits leave"
                    )
                with self.source.payload(location) as stream:
                    shutil.copyfileobj(stream, out, COPY_CHUNK)
        return written

    # ------------------------------------------------------------------ ffmpeg

    async def _ffmpeg(self, record: StreamAssembly, inputs: list[Path]) -> Path:
        protocols = "file,crypto" if self.encrypted else "file"
        command = [self.ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error"]
        for path in inputs:
            command += ["-protocol_whitelist", protocols, "-i", str(path)]
        for index in range(len(inputs)):
            command += ["-map", f"{index}:v?", "-map", f"{index}:a?"]
        webm = any(p.suffix == ".webm" for p in inputs)
        output = self.scratch / ("stream.mkv" if webm else "stream.mp4")
        command += ["-c", "copy", "-map_metadata", "-1", "-fflags", "+bitexact"]
        command += ["-f", "matroska" if webm else "mp4", str(output)]
        record.ffmpeg_command = [part.replace(str(self.scratch), SCRATCH_MARK) for part in command]
        left = self.ends_at - time.monotonic()
        if left <= 0:
            raise StreamError("no time left to run ffmpeg")
        code, errors = await run(command, self.scratch, left)
        if code != 0 or not output.is_file() or output.stat().st_size == 0:
            errors = errors.replace(str(self.scratch), SCRATCH_MARK)
            raise StreamError(f"ffmpeg failed (exit {code}): {errors[:300]}")
        return output


async def run(command: list[str], cwd: Path, timeout_s: float) -> tuple[int, str]:
    """Run a command without a shell or stdin, killed after `timeout_s`; (exit code, stderr)."""
    try:
        process = await asyncio.create_subprocess_exec(
            *command,
            cwd=cwd,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except OSError as exc:
        raise StreamError(f"ffmpeg not available ({command[0]}: {exc.strerror or exc})") from exc
    try:
        out, err = await asyncio.wait_for(process.communicate(), max(0.1, timeout_s))
    except TimeoutError as exc:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        raise StreamError(f"ffmpeg did not finish within {timeout_s:.1f}s") from exc
    text = (err or out).decode("utf-8", "replace")
    return process.returncode or 0, " ".join(text.split())


async def ffmpeg_version(ffmpeg: str) -> str:
    """The first line of `ffmpeg -version`; StreamError when ffmpeg is missing or broken."""
    if not Path(ffmpeg).is_file() and shutil.which(ffmpeg) is None:
        raise StreamError(f"ffmpeg not installed ({ffmpeg} not found)")
    try:
        process = await asyncio.create_subprocess_exec(
            ffmpeg,
            "-version",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        out, _ = await asyncio.wait_for(process.communicate(), FFMPEG_VERSION_TIMEOUT_S)
    except (OSError, TimeoutError) as exc:
        raise StreamError(f"ffmpeg not usable ({ffmpeg}: {exc})") from exc
    first = out.decode("utf-8", "replace").strip().splitlines()
    if process.returncode != 0 or not first:
        raise StreamError(f"ffmpeg not usable ({ffmpeg} -version failed)")
    return first[0][:200]
