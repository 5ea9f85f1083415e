"""Author and publication date from well-kept extractors, for what no reader found.

After the generic and platform readers, `fill` asks `trafilatura` (the author) and `htmldate`
(the date, with `extensive_search=False`: no guessing from the URL or free text) for the fields
still empty. Neither library says where on the page a value came from, so a value is offered
only where it is then found on the page: the source names the library, its version and that
element. A value not found on the page is not taken (the notes say so), and a date written
with numbers alone where day and month could be swapped (`03/04/2016`) is not taken either:
both readings are recorded (`missing` and `notes`), and the field stays empty rather than wrong.

The libraries are imported on first use: pages a platform reader claims never need them.
"""

from __future__ import annotations

import re
from datetime import date
from importlib.metadata import version
from typing import Any

from collector.platforms.draft import LIBRARY, Draft, normalise_time
from collector.platforms.page import PageDoc, clean

DATE_ATTRIBUTES = ("datetime", "content", "title", "value", "data-time", "data-date")
"""Attributes whose value may hold the date htmldate read."""
_AMBIGUOUS = re.compile(r"\b(\d{1,2})[/.-](\d{1,2})[/.-](\d{2}|\d{4})\b")
MAX_AUTHOR_CHARS = 200


def fill(doc: PageDoc, draft: Draft) -> None:
    """Offer the author and the date the libraries find, where no reader found them."""
    if doc.tree is None or not doc.html.strip():
        return
    if not draft.has("author_name"):
        _author(doc, draft)
    if not draft.has("published_at"):
        _date(doc, draft)


def _label(library: str) -> str:
    return f"{library} {version(library)}"


def _author(doc: PageDoc, draft: Draft) -> None:
    from trafilatura import extract_metadata

    try:
        found = extract_metadata(doc.tree, default_url=doc.url)
    except Exception as exc:  # a page the library did not foresee: nothing taken from it
        draft.notes.append(f"author_name: trafilatura failed on this page ({type(exc).__name__})")
        return
    author = clean(getattr(found, "author", None)) if found is not None else None
    if not author or len(author) > MAX_AUTHOR_CHARS:
        return
    where = _element_saying(doc, author)
    if where is None:
        draft.notes.append(
            f"author_name: {_label('trafilatura')} names {author!r}, which is not found as such "
            "on the page; not taken"
        )
        return
    draft.offer("author_name", author, f"{_label('trafilatura')}: {where}", LIBRARY)


def _date(doc: PageDoc, draft: Draft) -> None:
    from htmldate import find_date

    try:
        day = find_date(doc.tree, url=doc.url, extensive_search=False, original_date=True,
                        outputformat="%Y-%m-%d")  # fmt: skip
    except Exception as exc:
        draft.notes.append(f"published_at: htmldate failed on this page ({type(exc).__name__})")
        return
    if not day:
        return
    label = _label("htmldate")
    located = _date_element(doc, day)
    if located is not None:
        value, where = located
        draft.offer("published_at", value, f"{label}: {where}", LIBRARY)
        return
    ambiguous = _ambiguous_readings(doc, day)
    if ambiguous:
        shown = ambiguous[0][1]
        reason = (f"the page writes the date {shown!r}, which reads {ambiguous[0][0]} day first and "
                  f"{ambiguous[1][0]} month first; {label} took one, but nothing on the page says "
                  "which: not taken")  # fmt: skip
        draft.undecide("published_at", [(ambiguous[0][0], f"{label}: {shown!r} read day first"),
                                        (ambiguous[1][0], f"{label}: {shown!r} read month first")],
                       reason)  # fmt: skip
        return
    draft.notes.append(
        f"published_at: {label} reads {day}, which is not found in a date attribute of the page; "
        "not taken"
    )


def _element_saying(doc: PageDoc, text: str) -> str | None:
    """The smallest element whose text is or holds `text`, or a meta tag whose content is it."""
    metas = doc.tree.xpath("//meta[normalize-space(@content) = $v]", v=text)
    if metas:
        meta = metas[0]
        key = meta.get("name") or meta.get("property") or meta.get("itemprop") or ""
        return f'meta[{"name" if meta.get("name") else "property"}="{key}"]'
    holding = doc.tree.xpath("//body//*[contains(normalize-space(.), $v)]", v=text)
    if not holding:
        return None
    smallest = min(holding, key=lambda node: len(node.text_content()))
    return _describe(smallest)


def _date_element(doc: PageDoc, day: str) -> tuple[str, str] | None:
    """The first attribute holding a time on `day` (ISO or RFC 2822), with the element: the
    attribute's value is taken, with its time of day and offset when it has them."""
    for attribute in DATE_ATTRIBUTES:
        for node in doc.tree.xpath(f"//*[@{attribute}]"):
            value = node.get(attribute) or ""
            moment = normalise_time(value)
            if moment is not None and _day_of(value) == day:
                return value.strip(), f"{_describe(node)} @{attribute}"
    return None


def _day_of(value: str) -> str | None:
    """The calendar day a time is written on (before any conversion to UTC)."""
    match = re.match(r"\s*(\d{4}-\d{2}-\d{2})", value)
    if match:
        return match.group(1)
    from email.utils import parsedate_to_datetime

    try:
        return parsedate_to_datetime(value).date().isoformat()
    except (TypeError, ValueError, IndexError):
        return None


def _ambiguous_readings(doc: PageDoc, day: str) -> list[tuple[str, str]]:
    """Both readings of a numbers-only date on the page that could be `day` either way round."""
    for match in _AMBIGUOUS.finditer(doc.visible_text()):
        first, second, year = int(match.group(1)), int(match.group(2)), int(match.group(3))
        year += 2000 if year < 100 else 0
        if first > 12 or second > 12 or first == second:
            continue
        try:
            readings = [date(year, second, first).isoformat(), date(year, first, second).isoformat()]
        except ValueError:
            continue
        if day in readings:
            return [(reading, match.group(0)) for reading in readings]
    return []


def _describe(node: Any) -> str:
    """`<tag class="…" itemprop="…">` for a source label."""
    parts = [str(node.tag)]
    for attribute in ("class", "itemprop", "rel"):
        value = clean(node.get(attribute))
        if value:
            parts.append(f'{attribute}="{value[:60]}"')
    return "<" + " ".join(parts) + ">"
