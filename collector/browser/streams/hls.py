"""HLS (RFC 8216): master and media playlists, and a local playlist over the recorded segments."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urljoin

from collector.browser.streams.formats import SEGMENTS_MAX, StreamError

_ATTRIBUTE = re.compile(r'([A-Z0-9-]+)=("[^"\r\n]*"|[^,\r\n]*)')
_HEX_IV = re.compile(r"^0[xX][0-9A-Fa-f]{1,64}$")

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


