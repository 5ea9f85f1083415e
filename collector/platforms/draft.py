"""Collecting candidate values from several page elements and resolving them openly.

Each extractor `offer`s values with the element they came from and a rank (how direct the
source is). The highest rank wins; for identifying fields, differing values from other
sources are kept as a `Conflict`. Nothing is merged silently.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from collector.evidence.post import (
    FIELDS,
    Candidate,
    Conflict,
    Counts,
    MediaItem,
    MediaKind,
    PlatformId,
    Post,
    PostKind,
)
from collector.evidence.text import MAX_PAGE_FIELD, MAX_POST_TEXT, cut
from collector.platforms.page import clean

# How direct a source is. Embedded platform data outranks markup, markup outranks meta tags.
EMBEDDED = 100
MARKUP = 70
JSON_LD = 60
MICRODATA = 50
OPEN_GRAPH = 40
META = 35
TIME_ELEMENT = 30
TITLE = 10
LIBRARY = 20
"""A value a general extractor library found where no reader did (`collector.platforms.library`)."""
VISIBLE_TEXT = 5
"""A value read from the page's visible words, as a last resort (a date after "Published")."""

CONFLICT_FIELDS = frozenset({"url", "post_id", "author_handle", "author_id", "published_at"})
MAX_TEXT_CHARS = 100_000
MAX_MEDIA = 200

_COUNT_RE = re.compile(r"^([\d.,]+)\s*([KkMmBb]?)")


@dataclass
class _Offer:
    value: str
    source: str
    rank: int


@dataclass
class Draft:
    """Candidate values for one page; `finish` turns them into a `Post`."""

    kind: PostKind = "page"
    _offers: dict[str, list[_Offer]] = field(default_factory=dict)
    _kind_rank: int = -1
    media: list[MediaItem] = field(default_factory=list)
    counts: dict[str, tuple[int, str, int]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    missing: dict[str, str] = field(default_factory=dict)
    undecided: list[Conflict] = field(default_factory=list)

    def offer(self, name: str, value: Any, source: str, rank: int) -> None:
        """Propose `value` for field `name`; empty values are ignored."""
        if name not in FIELDS:
            raise ValueError(f"unknown post field {name!r}")
        if name == "published_at":
            text = normalise_time(value)
        elif name == "text":
            text = _clean_text(value)
        else:
            text = clean(value)
        if not text:
            return
        text, note = cut(text, MAX_POST_TEXT if name == "text" else MAX_PAGE_FIELD)
        if note:
            self.notes.append(f"{name} from {source}: {note}")
        if name == "author_handle" and not text.startswith("@") and "/" not in text:
            text = "@" + text
        self._offers.setdefault(name, []).append(_Offer(text, source, rank))

    def undecide(self, name: str, readings: list[tuple[str, str]], reason: str) -> None:
        """The page gives `name` in a form that reads more than one way (03/04/2016): each
        reading (value, how it was read) is kept as a conflict with nothing chosen, and the field
        stays empty unless another source gives it."""
        if name not in FIELDS:
            raise ValueError(f"unknown post field {name!r}")
        values = [Candidate(value=v, source=how) for v, how in readings]
        self.undecided.append(Conflict(field=name, chosen="", values=values, note=reason))
        self.missing.setdefault(name, reason)
        self.notes.append(f"{name}: {reason}")

    def set_kind(self, kind: PostKind, rank: int) -> None:
        if rank > self._kind_rank:
            self.kind, self._kind_rank = kind, rank

    def count(self, name: str, value: Any, source: str, rank: int) -> None:
        number = parse_count(value)
        if number is None:
            return
        current = self.counts.get(name)
        if current is None or rank > current[2]:
            self.counts[name] = (number, source, rank)

    def add_media(self, kind: MediaKind, url: Any, source: str) -> None:
        link = clean(url)
        if not link or not link.lower().startswith(("http://", "https://")):
            return
        if any(m.url == link for m in self.media) or len(self.media) >= MAX_MEDIA:
            return
        self.media.append(MediaItem(kind=kind, url=link, source=source))

    def withdraw(
        self, name: str, reason: str, when: Callable[[str, str], bool] | None = None
    ) -> int:
        """Take back offers for `name` (all, or those where `when(value, source)`); the
        reason is noted, and becomes the field's `missing` reason if nothing is left."""
        offers = self._offers.get(name, [])
        kept = [o for o in offers if when is not None and not when(o.value, o.source)]
        removed = len(offers) - len(kept)
        if removed:
            self._offers[name] = kept
            self.notes.append(f"{name}: {removed} value(s) set aside: {reason}")
            if not kept:
                self.missing[name] = reason
        return removed

    def drop_media(self, when: Callable[[MediaItem], bool], reason: str) -> int:
        """Remove media items that are not the post's (avatars, site cards); noted."""
        kept = [m for m in self.media if not when(m)]
        removed = len(self.media) - len(kept)
        if removed:
            self.media[:] = kept
            self.notes.append(f"media: {removed} item(s) left out: {reason}")
        return removed

    def has(self, name: str) -> bool:
        return bool(self._offers.get(name))

    def best(self, name: str) -> str | None:
        offers = self._offers.get(name)
        if not offers:
            return None
        return max(offers, key=lambda o: o.rank).value

    def finish(self, platform: PlatformId, extractor: str) -> Post:
        values: dict[str, str | None] = {}
        sources: dict[str, str] = {}
        conflicts: list[Conflict] = []
        for name in FIELDS:
            offers = self._offers.get(name, [])
            if not offers:
                continue
            ordered = sorted(offers, key=lambda o: -o.rank)  # stable: first offered wins ties
            chosen = ordered[0]
            values[name], sources[name] = chosen.value, chosen.source
            if name in CONFLICT_FIELDS:
                conflict = _conflict(name, chosen, ordered)
                if conflict is not None:
                    conflicts.append(conflict)
        conflicts += [c for c in self.undecided if c.field not in values]
        counts = Counts(**{k: v[0] for k, v in self.counts.items()})
        sources.update({f"counts.{k}": v[1] for k, v in self.counts.items()})
        missing = {
            name: self.missing.get(name, "not found on the page")
            for name in FIELDS
            if name not in values and name != "title"
        }
        return Post(
            platform=platform,
            extractor=extractor,
            kind=self.kind,
            media=self.media,
            counts=counts,
            sources=sources,
            conflicts=conflicts,
            missing=missing,
            notes=list(dict.fromkeys(self.notes)),
            **values,
        )


def _conflict(name: str, chosen: _Offer, offers: list[_Offer]) -> Conflict | None:
    distinct: dict[str, _Offer] = {}
    for offer in offers:
        distinct.setdefault(offer.value, offer)
    if len(distinct) < 2:
        return None
    keys = {_compare_key(name, v) for v in distinct}
    dates = {k for k in keys if name == "published_at" and "T" not in k}
    if len(keys) == 1:
        note = "the sources differ only in form (letter case, trailing slash or notation)"
    elif dates and all(any(k.startswith(d) for k in keys - dates) for d in dates) and len(keys - dates) == 1:
        note = "the sources differ in precision only: a date without a time, and a time on that day"
    else:
        note = f"the page gives {len(keys)} different values; the most direct source is shown"
    return Conflict(
        field=name,
        chosen=chosen.value,
        values=[Candidate(value=o.value, source=o.source) for o in distinct.values()],
        note=note,
    )


def _compare_key(name: str, value: str) -> str:
    if name == "url":
        try:
            parts = urlsplit(value)
            path = parts.path.rstrip("/") or "/"
            return urlunsplit(("", parts.netloc.lower().removeprefix("www."), path, parts.query, "")).lower()
        except ValueError:
            return value.lower()
    if name == "published_at":
        if "T" not in value:
            return value
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        if moment.tzinfo is None:
            return moment.isoformat()
        return moment.astimezone(UTC).isoformat()
    return value.lower().lstrip("@")


def normalise_time(value: Any) -> str | None:
    """ISO 8601 in UTC when the value carries a zone (or is epoch seconds); else as given."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        seconds = float(value) / 1000 if value > 10**11 else float(value)
        try:
            return _iso(datetime.fromtimestamp(seconds, tz=UTC))
        except (OverflowError, OSError, ValueError):
            return None
    text = clean(value)
    if not text:
        return None
    if text.isdigit() and 9 <= len(text) <= 13:
        return normalise_time(int(text))
    slashed = _YEAR_FIRST_SLASHES.fullmatch(text)
    if slashed:  # 2019/07/26: year, month, day (citation and Dublin Core tags write it so)
        text = f"{slashed.group(1)}-{int(slashed.group(2)):02d}-{int(slashed.group(3)):02d}"
    moment = _iso_moment(text) or _rfc2822_moment(text)
    if moment is None:
        return None
    if moment.tzinfo is None:
        return text if _DATE_ONLY.fullmatch(text) else moment.isoformat()
    return _iso(moment.astimezone(UTC))


_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")
_YEAR_FIRST_SLASHES = re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})")
_SPACED_OFFSET = re.compile(r"(\d)\s+([+-]\d{2}:?\d{2})$")
_RFC2822 = re.compile(r"^(?:[A-Za-z]{3},\s*)?\d{1,2}\s+[A-Za-z]{3}\s+\d{4}\s+\d{2}:\d{2}")


def _iso_moment(text: str) -> datetime | None:
    """ISO 8601 and its common variants: a space for the "T", a space before the offset
    ("2022-07-26 10:51:36 -0400"), an offset without its colon, no seconds."""
    if not re.match(r"\d{4}-\d{2}-\d{2}", text):
        return None
    candidate = text.replace("Z", "+00:00").replace("z", "+00:00")
    candidate = _SPACED_OFFSET.sub(r"\1\2", candidate)
    if re.fullmatch(r".*\d[+-]\d{4}", candidate) and ("T" in candidate or " " in candidate):
        candidate = candidate[:-2] + ":" + candidate[-2:]
    try:
        return datetime.fromisoformat(candidate)
    except ValueError:
        return None


def _rfc2822_moment(text: str) -> datetime | None:
    """An RFC 2822 date ("Tue, 26 Jul 2022 14:51:36 +0000", as feeds and mail write them)."""
    if not _RFC2822.match(text):
        return None
    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None


def _iso(moment: datetime) -> str:
    text = moment.isoformat(timespec="milliseconds" if moment.microsecond else "seconds")
    return text.replace("+00:00", "Z")


def parse_count(value: Any) -> int | None:
    """`1234`, "1,234", "12.5K", "3M" -> an int; anything else -> None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float):
        return int(value) if value >= 0 else None
    text = clean(value)
    if not text:
        return None
    match = _COUNT_RE.match(text)
    if not match:
        return None
    number, suffix = match.group(1), match.group(2).lower()
    scale = {"": 1, "k": 1_000, "m": 1_000_000, "b": 1_000_000_000}[suffix]
    if suffix:
        try:
            return int(float(number.replace(",", ".")) * scale)
        except ValueError:
            return None
    digits = number.replace(",", "").replace(".", "")
    return int(digits) if digits.isdigit() else None


def _clean_text(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list, bool)):
        return None
    lines = [" ".join(line.split()) for line in str(value).replace("\r\n", "\n").split("\n")]
    text = "\n".join(lines).strip()
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text[:MAX_TEXT_CHARS] or None
