"""What the forum and blog readers share: which post the URL names, and offering its values.

A thread page shows many posts. The post read is the one the URL names (`#p123`, `#post123`,
`#pid123`, `?p=123`, `/post-123`, …), else the first on the page. Each software describes its
markup as a `Shape`; `read` offers the chosen post's id, author, time, permalink, title and text,
each with the element and attribute it came from.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

from collector.platforms.draft import MARKUP, Draft
from collector.platforms.page import PageDoc, clean

_FRAGMENT = re.compile(
    r"(?:p|post|post-|post_|pid|js-post-|comment-|reply-|entry-|findComment-|elComment_|msg)(\d+)",
    re.IGNORECASE,
)
_QUERY_KEYS = ("p", "pid", "postid", "post", "comment")
_PATH = re.compile(r"/(?:post-|posts/|post/)(\d+)/?$|^/t/[^/]+/\d+/(\d+)/?$")


@dataclass(frozen=True)
class Post:
    """One post on the page: its element, id and how the id was read."""

    node: Any
    post_id: str
    where: str


@dataclass(frozen=True)
class Shape:
    """How one forum software marks up a post (XPaths relative to the post element)."""

    name: str
    posts: Callable[[PageDoc], list[Post]]
    author: tuple[tuple[str, str], ...]
    """(XPath of the author's element, its description), first found wins."""
    author_id: re.Pattern[str] | None
    """Group 1 is the author's id in the author link's href."""
    times: tuple[tuple[str, str], ...]
    """(XPath of an attribute or element, its description); attributes are machine-readable."""
    text: tuple[tuple[str, str], ...]
    permalink: tuple[tuple[str, str], ...] = ()
    """(XPath of the post's own link href, description)."""
    title: tuple[tuple[str, str], ...] = ()
    """(page-level XPath of the thread title, description)."""
    by_url: bool = True
    """Whether the URL may name a post (a blog's `#comment-…` names a comment, not the post)."""


def posts_by_id(
    doc: PageDoc, expr: str, pattern: re.Pattern[str], label: str, attr: str = "id"
) -> list[Post]:
    """Post elements matching `expr` whose `attr` matches `pattern` (group 1 = the post id)."""
    found = []
    for node in doc.xpath(expr):
        match = pattern.fullmatch(node.get(attr) or "")
        if match:
            where = f"{label}#{match.group(0)}" if attr == "id" else f"{label}[{attr}={match.group(0)}]"
            found.append(Post(node, match.group(1), where))
    return found


def url_targets(url: str) -> list[tuple[str, str]]:
    """Post ids the URL names, with how it names them (fragment, query, path)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    out: list[tuple[str, str]] = []
    match = _FRAGMENT.fullmatch(parts.fragment)
    if match:
        out.append((match.group(1), f"the URL's fragment #{parts.fragment}"))
    query = parse_qs(parts.query)
    for key in _QUERY_KEYS:
        value = (query.get(key) or [""])[0]
        if value.isdigit():
            out.append((value, f"the URL's ?{key}={value}"))
    match = _PATH.search(parts.path)
    if match and match.group(1):
        out.append((match.group(1), f"the URL's path {match.group(0)}"))
    elif match:
        out.append((match.group(2), f"the URL's Discourse post number /{match.group(2)}"))
    return out


def choose(
    doc: PageDoc, draft: Draft, posts: list[Post], name: str, by_url: bool = True
) -> Post | None:
    """The post the URL names, else the first; a named post missing from the page: none."""
    targets = url_targets(doc.addressed_url) if by_url else []
    for post_id, how in targets:
        for post in posts:
            if post.post_id == post_id:
                draft.notes.append(f"{name}: {how} names post {post_id}; that post is read")
                return post
    if targets:
        post_id, how = targets[0]
        draft.notes.append(
            f"{name}: {how} names post {post_id}, which is not on this page; no post read"
        )
        draft.missing["post_id"] = f"the URL names post {post_id}, which this page does not show"
        return None
    if posts:
        if by_url:
            draft.notes.append(f"{name}: the URL names no post; the first post on the page is read")
        return posts[0]
    return None


def read(doc: PageDoc, draft: Draft, shape: Shape) -> Post | None:
    """Offer the values of the post the URL names (or the first); returns that post."""
    posts = shape.posts(doc)
    for expr, label in shape.title:
        if _offer_text(draft, "title", doc.xpath(expr), label):
            break
    post = choose(doc, draft, posts, shape.name, shape.by_url)
    if post is None:
        return None
    draft.set_kind("post", 50)
    draft.offer("post_id", post.post_id, f"{post.where} (the post's id)", MARKUP)
    for expr, label in shape.permalink:
        hrefs = [h for h in post.node.xpath(expr) if isinstance(h, str) and h.strip()]
        if hrefs:
            draft.offer("url", absolute(doc, hrefs[0]), f"{post.where} {label}", MARKUP)
            break
    _author(doc, draft, shape, post)
    for expr, label in shape.times:
        if offer_time(draft, post.node.xpath(expr), f"{post.where} {label}", shape.name):
            break
    for expr, label in shape.text:
        if _offer_text(draft, "text", post.node.xpath(expr), f"{post.where} {label}"):
            break
    return post


def read_article(doc: PageDoc, draft: Draft, shape: Shape) -> None:
    """A blog's post page: the post read as an article (its URL's `#comment-…` names a
    comment, not another post)."""
    read(doc, draft, shape)
    if draft.has("post_id"):
        draft.set_kind("article", 60)


def _author(doc: PageDoc, draft: Draft, shape: Shape, post: Post) -> None:
    for expr, label in shape.author:
        nodes = [n for n in post.node.xpath(expr) if clean(_text(n))]
        if not nodes:
            continue
        node = nodes[0]
        draft.offer("author_name", _text(node), f"{post.where} {label}", MARKUP)
        href = node.get("href") if hasattr(node, "get") else None
        if href is None and hasattr(node, "xpath"):
            inner = node.xpath("ancestor-or-self::a[@href][1]/@href | .//a[@href][1]/@href")
            href = str(inner[0]) if inner else None
        if href:
            draft.notes.append(f"{shape.name}: the author's profile link is {absolute(doc, href)}")
            match = shape.author_id.search(href) if shape.author_id else None
            if match:
                draft.offer("author_id", match.group(1), f"{post.where} {label} @href", MARKUP)
        return


def absolute(doc: PageDoc, href: str) -> str:
    """`href` resolved as the browser resolves it: against the page's `<base href>` where it
    has one (vBulletin 4 writes relative links under one), else against the page's URL."""
    bases = [str(b).strip() for b in doc.xpath("//head/base/@href") if str(b).strip()]
    try:
        return urljoin(urljoin(doc.url, bases[0]) if bases else doc.url, href.strip())
    except ValueError:
        return href.strip()


def offer_time(draft: Draft, found: list[Any], label: str, name: str) -> bool:
    """Offer a time from an attribute value, or from an element's visible text when it is
    unambiguous. Returns True when the source was there (even if its text was not taken)."""
    if not found:
        return False
    value = found[0]
    if isinstance(value, str) and (getattr(value, "is_text", False) or getattr(value, "is_tail", False)):
        value = _Shown(value)
    if isinstance(value, str):
        draft.offer("published_at", value.strip(), label, MARKUP)
        return True
    shown = clean(_text(value)) or ""
    moment, why = visible_time(shown)
    if moment:
        draft.offer("published_at", moment, f"{label} (visible text {shown!r})", MARKUP)
    elif why:
        reason = f"the page shows the time only as {shown!r} ({label}), which {why}: not read"
        readings = numeric_readings(shown)
        if readings is not None:
            day_first, month_first = readings
            draft.undecide("published_at", [(day_first, f"{label} {shown!r} read day first"),
                                            (month_first, f"{label} {shown!r} read month first")],
                           reason)  # fmt: skip
        else:
            draft.notes.append(f"{name}: {reason}")
            draft.missing["published_at"] = reason
    return True


def numeric_readings(text: str) -> tuple[str, str] | None:
    """Both calendar days a numbers-only date with a four-digit year can mean (day first,
    month first), when both exist and differ."""
    match = _NUMERIC_FULL.search(text)
    if match is None:
        return None
    first, _, second, year = match.groups()[:4]
    a, b, y = int(first), int(second), int(year)
    try:
        day_first, month_first = datetime(y, b, a).date(), datetime(y, a, b).date()
    except ValueError:
        return None
    return (day_first.isoformat(), month_first.isoformat()) if day_first != month_first else None


_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTH = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_CLOCK = r"(?:,?\s*(?:at\s+)?(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([ap]\.?m\.?)?)?"
_MONTH_FIRST = re.compile(rf"{_MONTH}\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}}){_CLOCK}", re.I)
_DAY_FIRST = re.compile(rf"(\d{{1,2}})(?:st|nd|rd|th)?\.?\s+{_MONTH},?\s+(\d{{4}}){_CLOCK}", re.I)
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:(?:T|,?\s+)(\d{2}):(\d{2})(?::(\d{2}))?\s*([ap]\.?m\.?)?)?", re.I)
_NUMERIC = re.compile(r"\b(\d{1,2})[./-](\d{1,2})[./-](\d{2,4})\b")
_NUMERIC_FULL = re.compile(rf"\b(\d{{1,2}})([./-])(\d{{1,2}})\2(\d{{4}})\b{_CLOCK}", re.I)
_RELATIVE = re.compile(r"\b(today|yesterday|ago|just now)\b", re.I)


def visible_time(text: str) -> tuple[str | None, str | None]:
    """A date (and time) written with the month's name or in ISO order -> ISO 8601 without a
    zone; a numbers-only date with a four-digit year only when one of its first two numbers is
    over 12 (`06-15-2016` can only be June 15); (None, reason) for a relative date or any other
    numbers-only date, which is not guessed."""
    for pattern, order in ((_MONTH_FIRST, "mdy"), (_DAY_FIRST, "dmy")):
        match = pattern.search(text)
        if match:
            g = match.groups()
            month, day, year = (g[0], g[1], g[2]) if order == "mdy" else (g[1], g[0], g[2])
            return _moment(int(year), _MONTHS.index(month[:3].lower()) + 1, int(day), g[3:]), None
    match = _ISO.search(text)
    if match:
        g = match.groups()
        return _moment(int(g[0]), int(g[1]), int(g[2]), (g[3], g[4], g[5], g[6])), None
    if _RELATIVE.search(text):
        return None, "is relative to the day the page was served"
    match = _NUMERIC_FULL.search(text)
    if match:
        first, _, second, year = match.groups()[:4]
        a, b = int(first), int(second)
        if (a > 12) != (b > 12):
            month, day = (b, a) if a > 12 else (a, b)
            return _moment(int(year), month, day, match.groups()[4:]), None
    if _NUMERIC.search(text):
        return None, "is numbers only: day and month could be either way round"
    return None, "is in no form the reader knows" if text else None


def _moment(year: int, month: int, day: int, clock: tuple[Any, ...]) -> str | None:
    hour, minute, second, half = clock
    try:
        if hour is None:
            return datetime(year, month, day).date().isoformat()
        h = int(hour)
        if half:
            h = h % 12 + (12 if half.lower().startswith("p") else 0)
        return datetime(year, month, day, h, int(minute), int(second or 0)).isoformat()
    except ValueError:
        return None


def _offer_text(draft: Draft, name: str, found: list[Any], label: str) -> bool:
    for node in found:
        value = node if isinstance(node, str) else block_text(node)
        if clean(value):
            draft.offer(name, value, label, MARKUP)
            return True
    return False


def block_text(node: Any) -> str:
    """Text of a post body: `<br>` and block elements start new lines, scripts and styles left
    out, whitespace inside a line collapsed."""
    parts: list[str] = []
    stack: list[tuple[Any, bool]] = [(node, False)]
    while stack:
        item, done = stack.pop()
        if done:
            if item is not node and item.tail:
                parts.append(_SPACES.sub(" ", item.tail))
            continue
        tag = item.tag.lower() if isinstance(item.tag, str) else ""
        stack.append((item, True))
        if tag in ("script", "style") or not tag:
            continue
        if item is not node and tag in _BLOCKS:
            parts.append("\n")
        if item.text:
            parts.append(_SPACES.sub(" ", item.text))
        stack.extend((child, False) for child in reversed(item))
    text = "".join(parts)
    return "\n".join(" ".join(line.split()) for line in text.split("\n"))


_SPACES = re.compile(r"\s+")
_BLOCKS = frozenset({"br", "p", "div", "li", "blockquote", "pre", "h1", "h2", "h3", "h4", "tr"})


class _Shown:
    """A text node's words, read as visible text (not as a machine-readable attribute)."""

    def __init__(self, text: str) -> None:
        self.text = str(text)

    def text_content(self) -> str:
        return self.text


def _text(node: Any) -> str:
    return node if isinstance(node, str) else str(node.text_content())


def has_class(name: str) -> str:
    """XPath predicate: the element's class list holds `name`."""
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"
