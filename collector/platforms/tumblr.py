"""Tumblr blog pages (`<blog>.tumblr.com/post/<id>/…`, `www.tumblr.com/<blog>/<id>`).

Reads, most direct first: the blog frame's bootstrap JSON (`<noscript id="bootloader"
data-bootstrap>`: blog name, blog title, post id, post URL, page type), Tumblr's tracking
pixel payload (`px.srvcs.tumblr.com/impixu?J=<base64 JSON>`: post id and the numeric blog
id), Tumblr's own JSON-LD (`SocialMediaPosting.author` is the blog name), the app links
(`tumblr://x-callback-url/blog?blogName=…&postID=…`), OpenGraph tags — which some themes
write with `value=` instead of `content=` — and, as the theme allows, the permalink date
text and the post's images. The author is the blog: its title is the name, its blog name
the handle.
"""

from __future__ import annotations

import base64
import binascii
import copy
import html
import json
import re
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from collector.evidence.post import PageState
from collector.platforms.draft import (
    EMBEDDED,
    JSON_LD,
    MARKUP,
    META,
    OPEN_GRAPH,
    TIME_ELEMENT,
    Draft,
)
from collector.platforms.page import PageDoc, clean, loads_lenient
from collector.platforms.registry import Platform
from collector.platforms.values import dig

_BLOG = r"[A-Za-z0-9][A-Za-z0-9-]{0,31}"
_SUBDOMAIN_POST = re.compile(r"^/post/(\d{1,20})(?:/|$)")
_WWW_POST = re.compile(rf"^/(?:blog/view/)?({_BLOG})/(\d{{1,20}})(?:/|$)")
_PIXEL = re.compile(r"px\.srvcs\.tumblr\.com/impixu\?[^\"'<>\s]*")
_NOT_BLOGS = frozenset({"www", "assets", "static", "media", "api", "embed", "safe", "platform"})
_SHARE_IMAGE = re.compile(r"assets\.tumblr\.com/images/(?:og|default)", re.IGNORECASE)
_SMALL_IMAGE = re.compile(r"/s(\d{1,4})x(\d{1,4})")
_DATE_FORMATS = (
    "%b. %d %Y",
    "%b %d %Y",
    "%b %d, %Y",
    "%B %d, %Y",
    "%B %d %Y",
    "%d %B %Y",
    "%Y-%m-%d",
)
_SPACE = re.compile(r"\s+")
_NOTES = re.compile(r"^([\d.,]+\s*[KkMm]?)\s+notes?$")
NOT_FOUND = (
    "there's nothing here",
    "there’s nothing here",
    "doesn't currently exist at this address",
)
INTERSTITIAL = (
    "this tumblr may contain sensitive media",
    "this tumblr may contain sensitive content",
)


def extract(doc: PageDoc, draft: Draft) -> None:
    """Offer the post's values from Tumblr's embedded data, app links, meta tags and URL."""
    _from_url(doc, draft)
    found = _bootloader(doc, draft)
    found = _pixel(doc, draft) or found
    if not found:
        draft.notes.append(
            "tumblr: no embedded blog data on the page (noscript#bootloader, impixu pixel); "
            "read from JSON-LD, app links and meta tags"
        )
    _json_ld(doc, draft)
    _app_links(doc, draft)
    _value_meta(doc, draft)
    _theme_markup(doc, draft)
    _full_text(doc, draft)
    if draft.has("post_id"):
        draft.set_kind("post", 50)
    else:
        draft.set_kind("feed", 40)
    if not draft.has("author_id"):
        draft.missing["author_id"] = (
            "the page carries no numeric blog id (Tumblr's tracking pixel is absent)"
        )


def _from_url(doc: PageDoc, draft: Draft) -> None:
    try:
        parts = urlsplit(doc.url)
    except ValueError:
        return
    host = (parts.hostname or "").lower()
    if host.endswith(".tumblr.com") and host.count(".") == 2:
        blog = host.split(".", 1)[0]
        if blog not in _NOT_BLOGS:
            draft.offer("author_handle", blog, "blog host name (<blog>.tumblr.com)", 20)
            match = _SUBDOMAIN_POST.match(parts.path)
            if match:
                draft.offer("post_id", match.group(1), "post URL path (/post/<id>)", 20)
            return
    if host in ("www.tumblr.com", "tumblr.com"):
        www = _WWW_POST.match(parts.path)
        if www:
            draft.offer("author_handle", www.group(1), "post URL path (/<blog>/<id>)", 20)
            draft.offer("post_id", www.group(2), "post URL path (/<blog>/<id>)", 20)


def _bootloader(doc: PageDoc, draft: Draft) -> bool:
    """The blog frame's bootstrap JSON (an HTML-escaped attribute of noscript#bootloader)."""
    for value in doc.xpath("//noscript[@id='bootloader']/@data-bootstrap")[:1]:
        data = loads_lenient(str(value), "noscript#bootloader data-bootstrap", draft.notes)
        frame = dig(data, "Components", "TumblelogIframe")
        if not isinstance(frame, dict):
            return False
        where = "noscript#bootloader TumblelogIframe"
        draft.offer(
            "author_handle", _str(frame.get("tumblelogName")), f"{where}.tumblelogName", EMBEDDED
        )
        draft.offer(
            "author_name",
            _str(frame.get("tumblelogTitle")),
            f"{where}.tumblelogTitle (blog title)",
            EMBEDDED,
        )
        draft.offer("post_id", _str(frame.get("postId")), f"{where}.postId", EMBEDDED)
        src = _str(frame.get("src"))
        if src and src.startswith(("http://", "https://")) and frame.get("postId"):
            draft.offer("url", src, f"{where}.src", EMBEDDED)
        page_type = _str(frame.get("currentPageType"))
        if page_type and page_type != "single_post":
            draft.set_kind("feed", 60)
        return True
    return False


def _pixel(doc: PageDoc, draft: Draft) -> bool:
    """Tumblr's no-script tracking pixel: base64 JSON naming the post and the blog's id."""
    for match in _PIXEL.finditer(doc.html[:5_000_000]):
        query = parse_qs(urlsplit("https://" + html.unescape(match.group(0))).query)
        for payload in query.get("J", [])[:1]:
            try:
                decoded = base64.b64decode(payload + "=" * (-len(payload) % 4), validate=False)
                data = json.loads(decoded.decode("utf-8"))
            except (binascii.Error, ValueError):
                continue
            posts = data.get("posts") if isinstance(data, dict) else None
            post = posts[0] if isinstance(posts, list) and posts else None
            if not isinstance(post, dict):
                continue
            where = "Tumblr tracking pixel (impixu J payload) posts[0]"
            draft.offer("post_id", _str(post.get("postid")), f"{where}.postid", EMBEDDED)
            draft.offer(
                "author_id", _str(post.get("blogid")), f"{where}.blogid (numeric blog id)", EMBEDDED
            )
            return True
    return False


def _json_ld(doc: PageDoc, draft: Draft) -> None:
    for item in doc.json_ld():
        if "SocialMediaPosting" in item.types and isinstance(item.data.get("author"), str):
            draft.offer(
                "author_handle",
                item.data["author"],
                f"{item.where} SocialMediaPosting.author (the blog name)",
                JSON_LD,
            )
            site = doc.meta("og:site_name")
            if site:
                draft.offer(
                    "author_name", site, 'meta[property="og:site_name"] (the blog title)', JSON_LD
                )
            return


def _app_links(doc: PageDoc, draft: Draft) -> None:
    for where, link in (
        ('meta[property="al:android:url"]', _meta_any(doc, "al:android:url")),
        (
            'link[rel="alternate"] ios-app://',
            _first(doc, "//link[starts-with(@href,'ios-app://')]/@href"),
        ),
    ):
        if not link:
            continue
        query = parse_qs(urlsplit(link.replace("%26", "&")).query)
        blog, post = (query.get("blogName") or [""])[0], (query.get("postID") or [""])[0]
        if re.fullmatch(_BLOG, blog):
            draft.offer("author_handle", blog, f"{where} (blogName)", META)
        if post.isdigit():
            draft.offer("post_id", post, f"{where} (postID)", META)
        return


def _value_meta(doc: PageDoc, draft: Draft) -> None:
    """Themes that write `<meta name="og:…" value="…">`: the generic reader cannot see them."""
    if not doc.xpath("//meta[@value][starts-with(@name,'og:') or starts-with(@name,'twitter:')]"):
        return
    draft.notes.append(
        "tumblr: the theme writes its og:/twitter: meta tags with value= instead of content=; read anyway"
    )
    draft.offer("url", _meta_any(doc, "og:url"), 'meta[name="og:url"][value]', OPEN_GRAPH)
    draft.offer("title", _meta_any(doc, "og:title"), 'meta[name="og:title"][value]', OPEN_GRAPH)
    draft.offer(
        "text", _meta_any(doc, "og:description"), 'meta[name="og:description"][value]', META - 5
    )
    draft.offer(
        "author_name",
        _meta_any(doc, "og:site_name"),
        'meta[name="og:site_name"][value] (the blog title)',
        OPEN_GRAPH,
    )
    image = _meta_any(doc, "og:image")
    if image:
        draft.add_media("image", doc.absolute(image), 'meta[name="og:image"][value]')


def _theme_markup(doc: PageDoc, draft: Draft) -> None:
    """What themes commonly show: the date on the permalink link, the notes count, images."""
    post_url = draft.best("url")
    if post_url:
        for anchor in doc.xpath("//a[@href]")[:2000]:
            if (anchor.get("href") or "").rstrip("/") != post_url.rstrip("/"):
                continue
            text = clean(anchor.text_content()) or ""
            date = _parse_date(text)
            if date and not draft.has("published_at"):
                draft.offer(
                    "published_at", date, f"theme permalink link text ({text!r})", TIME_ELEMENT
                )
            notes = _NOTES.match(text)
            if notes:
                draft.notes.append(
                    f"tumblr: the page shows {notes.group(1)} notes (likes and reblogs together); not split into counts"
                )
    if draft.media and all(_SHARE_IMAGE.search(m.url) for m in draft.media):
        draft.drop_media(lambda _m: True, "tumblr: og:image is Tumblr's default share image")
    for img in doc.xpath("//img[contains(@src,'media.tumblr.com')][not(ancestor::ol)]")[:50]:
        src = img.get("src") or ""
        size = _SMALL_IMAGE.search(src)
        if (
            "avatar" in src
            or "avatar" in (img.get("class") or "")
            or (size and int(size.group(1)) <= 128)
        ):
            continue
        draft.add_media("image", doc.absolute(src), "img[src*='media.tumblr.com'] (post image)")


def _full_text(doc: PageDoc, draft: Draft) -> None:
    """Tumblr cuts JSON-LD articleBody and og:description (`…`); find the theme element with the whole text."""
    summary = clean(draft.best("text")) or ""
    if not summary.endswith(("...", "…")):
        return
    start = _SPACE.sub("", summary.rstrip(".… "))[:80]
    if len(start) < 10:
        return
    best: tuple[int, Any] | None = None
    for node in doc.xpath("//body//*[self::p or self::div or self::article or self::section]")[
        :3000
    ]:
        text = _SPACE.sub("", str(node.text_content()))
        if (
            text.startswith(start)
            and len(text) > len(start) + 3
            and (best is None or len(text) < best[0])
        ):
            best = (len(text), node)
    if best is None:
        return
    draft.offer(
        "text",
        _text(best[1]),
        f"theme markup <{best[1].tag}> that continues the cut summary",
        MARKUP,
    )
    draft.notes.append(
        "tumblr: the page's JSON-LD/og:description text is cut ('...'); the full text is read from the theme markup"
    )


def page_state(doc: PageDoc) -> PageState | None:
    shown = " | ".join(
        (clean(n.text_content()) or "").lower() for n in doc.xpath("//title | //h1 | //h2")[:8]
    )
    for phrase in NOT_FOUND:
        if phrase in shown:
            return PageState(state="not-found", reason=f"Tumblr says {phrase!r}")
    for phrase in INTERSTITIAL:
        if phrase in shown:
            return PageState(state="interstitial", reason=f"Tumblr says {phrase!r}")
    return None


def claims(doc: PageDoc) -> str | None:
    if _meta_any(doc, "al:android:package") == "com.tumblr" or doc.xpath(
        "//link[starts-with(@href,'android-app://com.tumblr/')]"
    ):
        return "the page's app links name the Tumblr app (com.tumblr)"
    return None


def _meta_any(doc: PageDoc, key: str) -> str | None:
    """`<meta property|name=key content|value=…>`: Tumblr themes use both attributes."""
    value = doc.meta(key)
    if value:
        return value
    for node in doc.xpath("//meta[@value]"):
        if (node.get("name") or node.get("property") or "").strip().lower() == key:
            found = clean(node.get("value"))
            if found:
                return found
    return None


def _text(node: Any) -> str:
    """Text of an element with <br> as line breaks (source line breaks are only spaces)."""
    node = copy.deepcopy(node)
    for element in node.iter():
        element.text = (
            _SPACE.sub(" ", element.text) if isinstance(element.text, str) else element.text
        )
        element.tail = _SPACE.sub(" ", element.tail) if element.tail else element.tail
    for br in node.iter("br"):
        br.tail = "\n" + (br.tail or "")
    return str(node.text_content())


def _parse_date(text: str) -> str | None:
    if not 6 <= len(text) <= 30:
        return None
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date().isoformat()
        except ValueError:
            continue
    return None


def _str(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    return str(value) if isinstance(value, (str, int)) else None


def _first(doc: PageDoc, expr: str) -> str | None:
    found = doc.xpath(expr)
    return str(found[0]) if found else None


PLATFORM = Platform(
    id="tumblr",
    name="Tumblr",
    hosts=("tumblr.com",),
    site_names=("Tumblr",),
    extract=extract,
    page_state=page_state,
    claims=claims,
)
