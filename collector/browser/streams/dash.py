"""DASH (ISO/IEC 23009-1): the MPD's representations and their segment URLs."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urljoin

from lxml import etree

from collector.browser.streams.formats import SEGMENTS_MAX, StreamError

_TEMPLATE = re.compile(r"\$(RepresentationID|Number|Bandwidth|Time)(?:%0(\d{1,2})d)?\$|\$\$")
_DURATION = re.compile(
    r"^P(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)

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


