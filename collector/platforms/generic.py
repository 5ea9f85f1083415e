"""The extractor every page gets: JSON-LD, microdata, OpenGraph, meta tags, `<time>`.

Platform extractors run after it and offer the same fields from more direct sources
(embedded platform data), which outrank what is offered here.
"""

from __future__ import annotations

import html as htmllib
import re
from datetime import date
from typing import Any

from collector.evidence.post import MediaKind
from collector.platforms.draft import (
    JSON_LD,
    META,
    MICRODATA,
    OPEN_GRAPH,
    TIME_ELEMENT,
    TITLE,
    VISIBLE_TEXT,
    Draft,
)
from collector.platforms.page import JsonLd, PageDoc, clean

POST_TYPES = (
    "SocialMediaPosting",
    "DiscussionForumPosting",
    "BlogPosting",
    "LiveBlogPosting",
    "NewsArticle",
    "Article",
    "ReportageNewsArticle",
    "VideoObject",
    "ImageObject",
    "Comment",
    "Question",
    "QAPage",
)
PROFILE_TYPES = ("ProfilePage", "Person", "Organization")
HAS_MICRODATA = "(descendant-or-self::*[@itemscope])[1]"
"""The first element that starts a microdata item (what the microdata parser looks for)."""
ARTICLE_TYPES = ("NewsArticle", "Article", "BlogPosting", "ReportageNewsArticle")
MAX_VISIBLE_SCAN = 200_000
"""Characters of visible text searched for a "Published" date."""

_COUNTER_NAMES = {
    "likeaction": "likes",
    "commentaction": "replies",
    "replyaction": "replies",
    "shareaction": "shares",
    "watchaction": "views",
}


def extract(doc: PageDoc, draft: Draft) -> None:
    """Offer every field the page's standard metadata gives."""
    _open_graph(doc, draft)
    _json_ld(doc, draft)
    _microdata(doc, draft)
    _times(doc, draft)
    title = doc.title()
    if title:
        draft.offer("title", title, "<title>", TITLE)


def _open_graph(doc: PageDoc, draft: Draft) -> None:
    canonicals = doc.links("canonical")
    for n, canonical in enumerate(canonicals, start=1):
        label = '<link rel="canonical">' if n == 1 else f'<link rel="canonical"> #{n}'
        draft.offer("url", canonical, label, OPEN_GRAPH + 1)
    if len(canonicals) > 1:
        draft.notes.append(f"the page has {len(canonicals)} different canonical links")
    og_url = doc.meta("og:url")
    if og_url:
        draft.offer("url", doc.absolute(og_url), 'meta[property="og:url"]', OPEN_GRAPH)
    for key, name in (("og:title", "title"), ("twitter:title", "title")):
        draft.offer(name, doc.meta(key), f'meta[property="{key}"]', OPEN_GRAPH)
    for key in ("og:description", "twitter:description", "description"):
        draft.offer("text", doc.meta(key), f'meta[name="{key}"]', META - 5)
    for key in ("article:published_time", "og:published_time", "datePublished",
                "date", "pubdate", "publish-date", "sailthru.date", "parsely-pub-date",
                "dc.date.issued", "dcterms.issued", "citation_publication_date"):
        draft.offer("published_at", doc.meta(key), f'meta[name="{key}"]', META)
    for key in ("author", "article:author", "parsely-author", "sailthru.author", "dc.creator",
                "dcterms.creator", "citation_author"):
        value = doc.meta(key)
        if value and not value.lower().startswith("http"):
            draft.offer("author_name", value, f'meta[name="{key}"]', META - 5)
    creator = doc.meta("twitter:creator")
    if creator and creator.startswith("@") and creator != doc.meta("twitter:site"):
        draft.offer("author_handle", creator, 'meta[name="twitter:creator"]', META - 10)
    profile = (doc.meta("og:type") or "").lower() == "profile"
    for key in ("og:image", "og:image:url", "og:image:secure_url", "twitter:image"):
        image = doc.meta(key)
        if image and not profile:  # a profile's og:image is its avatar, not a post's media
            draft.add_media("image", doc.absolute(image), f'meta[property="{key}"]')
            break
    for key in ("og:video", "og:video:url", "og:video:secure_url"):
        video = doc.meta(key)
        if video and (doc.meta("og:video:type") or "").lower() != "text/html":
            draft.add_media("video", doc.absolute(video), f'meta[property="{key}"]')
            break
    og_type = (doc.meta("og:type") or "").lower()
    if og_type == "profile":
        draft.set_kind("profile", 5)
    elif og_type == "article":
        draft.set_kind("article", 5)


def _json_ld(doc: PageDoc, draft: Draft) -> None:
    items = doc.json_ld()
    posts = sorted(
        (i for i in items if any(t in POST_TYPES for t in i.types)),
        key=lambda i: _preference(doc, i),
    )
    profiles = [i for i in items if "ProfilePage" in i.types]
    for item in posts[:1]:
        _offer_post_item(doc, draft, item)
    if profiles and not posts:
        draft.set_kind("profile", 20)
        _offer_profile(doc, draft, profiles[0])


def _preference(doc: PageDoc, item: JsonLd) -> int:
    """Lower is better: the item describing this page's URL, then postings over media."""
    canonical = doc.link("canonical") or doc.url
    own = _first_str(item.data.get("url")) or _entity_url(item.data.get("mainEntityOfPage"))
    media_only = all(t in ("ImageObject", "VideoObject") for t in item.types)
    return (0 if own and own.rstrip("/") == canonical.rstrip("/") else 2) + (1 if media_only else 0)


def _offer_post_item(doc: PageDoc, draft: Draft, item: JsonLd) -> None:
    data = item.data
    where = f"{item.where} {'/'.join(item.types)}"
    if any(t in ARTICLE_TYPES for t in item.types):
        draft.set_kind("article", 20)
    elif "VideoObject" in item.types or "ImageObject" in item.types:
        draft.set_kind("post", 15)
    else:
        draft.set_kind("post", 20)
    url = _first_str(data.get("url")) or _entity_url(data.get("mainEntityOfPage")) or _first_str(
        data.get("@id")
    )
    if url and url.lower().startswith(("http://", "https://")):
        draft.offer("url", url, f"{where}.url", JSON_LD)
    ident = data.get("identifier")
    if isinstance(ident, (str, int)) and not isinstance(ident, bool):
        draft.offer("post_id", str(ident), f"{where}.identifier", JSON_LD)
    draft.offer("published_at", _first_str(data.get("datePublished")), f"{where}.datePublished", JSON_LD)
    draft.offer("published_at", _first_str(data.get("uploadDate")), f"{where}.uploadDate", JSON_LD - 1)
    draft.offer("title", _unescape(data.get("headline") or data.get("name")), f"{where}.headline", JSON_LD)
    for key in ("articleBody", "text", "description"):
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            draft.offer("text", _unescape(value), f"{where}.{key}", JSON_LD - (0 if key != "description" else 15))
            break
    _offer_author(draft, data.get("author") or data.get("creator"), f"{where}.author")
    _counters(draft, data.get("interactionStatistic"), f"{where}.interactionStatistic")
    draft.count("replies", data.get("commentCount"), f"{where}.commentCount", JSON_LD - 1)
    video = "VideoObject" in item.types
    for key in ("image", "thumbnailUrl", "contentUrl"):
        for link in _urls(data.get(key))[:10]:
            kind: MediaKind = "video" if key == "contentUrl" and video else "image"
            draft.add_media(kind, doc.absolute(link), f"{where}.{key}")


def _offer_profile(doc: PageDoc, draft: Draft, item: JsonLd) -> None:
    entity = item.data.get("mainEntity") or item.data.get("about") or {}
    if isinstance(entity, dict):
        _offer_author(draft, entity, f"{item.where} ProfilePage.mainEntity")
    url = _first_str(item.data.get("url"))
    if url:
        draft.offer("url", doc.absolute(url), f"{item.where} ProfilePage.url", JSON_LD)


def _offer_author(draft: Draft, author: Any, where: str) -> None:
    if isinstance(author, list):
        author = author[0] if author else None
    if isinstance(author, str):
        draft.offer("author_name", author, where, JSON_LD - 5)
        return
    if not isinstance(author, dict):
        return
    draft.offer("author_name", _unescape(author.get("name")), f"{where}.name", JSON_LD)
    alternate = _first_str(author.get("alternateName"))
    if alternate and " " not in alternate:
        draft.offer("author_handle", alternate, f"{where}.alternateName", JSON_LD)
    ident = author.get("identifier")
    if isinstance(ident, dict):
        ident = ident.get("value")
    handle = (alternate or "").lstrip("@").lower()
    if isinstance(ident, (str, int)) and str(ident).strip() and str(ident).lstrip("@").lower() != handle:
        draft.offer("author_id", str(ident), f"{where}.identifier", JSON_LD - 10)


def _counters(draft: Draft, stats: Any, where: str) -> None:
    if isinstance(stats, dict):
        stats = [stats]
    if not isinstance(stats, list):
        return
    for stat in stats:
        if not isinstance(stat, dict):
            continue
        kind = stat.get("interactionType")
        if isinstance(kind, dict):
            kind = kind.get("@type")
        name = str(kind or "").rsplit("/", 1)[-1].lower()
        field = _COUNTER_NAMES.get(name)
        if field:
            draft.count(field, stat.get("userInteractionCount"), f"{where}[{name}]", JSON_LD)


def _microdata(doc: PageDoc, draft: Draft) -> None:
    # No element with itemscope holds no microdata item (the parser would find none): its
    # import is then not needed.
    if doc.tree is None or not doc.xpath(HAS_MICRODATA):
        return
    try:
        from extruct.w3cmicrodata import MicrodataExtractor

        items = MicrodataExtractor().extract_items(doc.tree, doc.url)
    except Exception as exc:  # extruct on hostile markup: note it and go on
        draft.notes.append(f"microdata could not be read ({type(exc).__name__})")
        return
    for item in items[:50]:
        kinds = [str(t).rsplit("/", 1)[-1] for t in _as_list(item.get("type"))]
        if not any(k in POST_TYPES for k in kinds):
            continue
        props = item.get("properties") or {}
        where = f"microdata {'/'.join(kinds)}"
        draft.offer("published_at", _first_str(props.get("datePublished")), f"{where}.datePublished", MICRODATA)
        draft.offer("title", _first_str(props.get("headline") or props.get("name")), f"{where}.headline", MICRODATA)
        author = props.get("author")
        if isinstance(author, dict):
            author = (author.get("properties") or {}).get("name")
        name = _first_str(author)
        if name and not name.lower().startswith(("http://", "https://")):
            draft.offer("author_name", name, f"{where}.author", MICRODATA)
        url = _first_str(props.get("url"))
        if url and "ImageObject" not in kinds:
            draft.offer("url", url, f"{where}.url", MICRODATA)
        break


def _times(doc: PageDoc, draft: Draft) -> None:
    """A `<time>` marked as the publication date, else the first inside the main article,
    else the first on the page (the weakest source: it may date something else)."""
    for expr, label in (
        ("//time[@itemprop='datePublished'][@datetime]", "<time itemprop=datePublished>"),
        ("(//article)[1]//time[@datetime]", "<time datetime> in the first <article>"),
        ("//time[@datetime]", "<time datetime> (first on the page)"),
    ):
        nodes = doc.xpath(expr)
        if nodes:
            draft.offer("published_at", nodes[0].get("datetime"), label, TIME_ELEMENT)
            return


_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
           "october", "november", "december")
_MONTH = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_PUBLISHED_DATE = re.compile(
    r"\b(?:published|posted)(?:\s+on)?\s*:?\s*(?:"
    rf"{_MONTH}\s+(\d{{1,2}}),?\s+(\d{{4}})"  # Dec 19, 2016
    rf"|(\d{{1,2}})\s+{_MONTH}\s+(\d{{4}})"  # 19 December 2016
    r"|(\d{4})-(\d{2})-(\d{2}))\b",  # 2016-12-19
    re.IGNORECASE,
)


def last_resort(doc: PageDoc, draft: Draft) -> None:
    """After every reader: when no reader found a publication date, the date the page shows
    after "Published" or "Posted" (month by name, or ISO), labelled as read from visible text.
    Two different such dates on one page: none is taken."""
    if draft.has("published_at"):
        return
    found: dict[str, str] = {}
    for match in _PUBLISHED_DATE.finditer(doc.visible_text()[:MAX_VISIBLE_SCAN]):
        day = _shown_date(match)
        if day is not None:
            found.setdefault(day, clean(match.group(0)) or day)
    if len(found) == 1:
        (day, shown), = found.items()
        draft.offer("published_at", day, f'visible text "{shown}" (the page gives no machine-readable '
                    "date; read from its words as a last resort)", VISIBLE_TEXT)  # fmt: skip
    elif len(found) > 1:
        draft.notes.append(
            f"published_at: the page shows {len(found)} different \"Published\" dates "
            f"({', '.join(sorted(found))}) and no machine-readable one; none taken"
        )


def _shown_date(match: re.Match[str]) -> str | None:
    g = match.groups()
    try:
        if g[0]:
            moment = date(int(g[2]), _month(g[0]), int(g[1]))
        elif g[3]:
            moment = date(int(g[5]), _month(g[4]), int(g[3]))
        else:
            moment = date(int(g[6]), int(g[7]), int(g[8]))
    except ValueError:
        return None
    return moment.isoformat()


def _month(name: str) -> int:
    prefix = name.lower().rstrip(".")[:3]
    return next(n for n, month in enumerate(_MONTHS, 1) if month.startswith(prefix))


# ----------------------------------------------------------------------- small readers


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _first_str(value: Any) -> str | None:
    for item in _as_list(value):
        if isinstance(item, (str, int, float)) and not isinstance(item, bool):
            text = clean(item)
            if text:
                return text
    return None


def _entity_url(value: Any) -> str | None:
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, dict):
        return _first_str(value.get("@id") or value.get("url"))
    return None


def _urls(value: Any) -> list[str]:
    out = []
    for item in _as_list(value):
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict):
            link = _first_str(item.get("contentUrl") or item.get("url"))
            if link:
                out.append(link)
    return out


def _unescape(value: Any) -> str | None:
    """JSON-LD strings sometimes carry HTML entities (`&#39;`); decode them."""
    if not isinstance(value, str):
        return None
    return htmllib.unescape(value) if "&" in value else value
