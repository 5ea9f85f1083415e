"""LinkedIn Pulse articles (`linkedin.com/pulse/<slug>`) as served to guests and members.

Reads, most direct first: the guest article page's embedded JSON (`<code id="article">
<!--{…}-->`: author username/authorId/name, publishedDate, content, title, social counts,
`linkedInArticleUrn`); on the older Pulse reader, the article element's data
(`article[data-stream-article-id]`: `data-stream-megaphone-article-id` = the linkedInArticle
id, author id, published time, URL) and its microdata (`itemprop=author/articleBody`),
activity counts and cover image; the author card (`/in/<vanity>` link) on both. The post id
is the numeric `urn:li:linkedInArticle:` id, the author handle the `/in/` vanity name.
"""

from __future__ import annotations

import copy
import re
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import lxml.html
from lxml import etree

from collector.evidence.post import PageState
from collector.platforms.draft import EMBEDDED, MARKUP, Draft
from collector.platforms.page import PageDoc, clean, loads_lenient
from collector.platforms.registry import Platform
from collector.platforms.values import url_path

_ARTICLE_URN = re.compile(r"urn:li:linkedInArticle:(\d{6,25})")
_VANITY = re.compile(r"/in/([A-Za-z0-9%_.-]{2,100})/?(?:[?#]|$)")
_PULSE = re.compile(r"^/pulse/([^/?#]{1,300})/?$")
_SPACE = re.compile(r"\s+")
_BLOCKS = ("p", "blockquote", "li", "h1", "h2", "h3", "h4", "pre")
LOGIN_WALL = ("join linkedin", "sign up | linkedin", "linkedin login, sign in", "sign in to view")


def extract(doc: PageDoc, draft: Draft) -> None:
    """Offer the article's values from the embedded JSON, the article element and the author card."""
    found = _embedded(doc, draft)
    found = _stream_article(doc, draft) or found
    if not found:
        draft.notes.append(
            "linkedin: neither the embedded article JSON (code#article) nor the Pulse article "
            "element (article[data-stream-article-id]) is on the page"
        )
    _author_card(doc, draft)
    _viewer(doc, draft)
    if found:
        draft.set_kind("article", 50)
    match = _PULSE.match(url_path(draft.best("url") or doc.url))
    if match:
        draft.set_kind("article", 45)
        if not draft.has("post_id"):
            draft.offer("post_id", unquote(match.group(1)), "article URL path (/pulse/<slug>)", 20)


def _embedded(doc: PageDoc, draft: Draft) -> bool:
    """`<code id="article"><!--{json}--></code>` on the 2019-2020 guest article page."""
    bodies = [str(c.text or "") for c in doc.xpath("//code[@id='article']/comment()")]
    bodies += [str(t) for t in doc.xpath("//code[@id='article']/text()") if str(t).strip()]
    data = loads_lenient(bodies[0], "code#article JSON", draft.notes) if bodies else None
    if not isinstance(data, dict):
        return False
    where = "code#article JSON"
    urn = _ARTICLE_URN.search(str(data.get("linkedInArticleUrn") or ""))
    if urn:
        draft.offer("post_id", urn.group(1), f"{where}.linkedInArticleUrn", EMBEDDED)
    article_url = _str(data.get("articleUrl"))
    if article_url:
        draft.offer("url", urljoin(_base(doc), article_url), f"{where}.articleUrl", EMBEDDED)
    draft.offer("title", _str(data.get("title")), f"{where}.title", EMBEDDED)
    draft.offer(
        "published_at", _epoch_ms(data.get("publishedDate")), f"{where}.publishedDate", EMBEDDED
    )
    content = _str(data.get("content"))
    if content:
        draft.offer("text", _html_text(content), f"{where}.content", EMBEDDED)
    author = data.get("author")
    if isinstance(author, dict):
        draft.offer(
            "author_handle", _str(author.get("username")), f"{where}.author.username", EMBEDDED
        )
        draft.offer("author_id", _str(author.get("authorId")), f"{where}.author.authorId", EMBEDDED)
        mini = author.get("miniProfile")
        if isinstance(mini, dict):
            name = " ".join(
                p for p in (_str(mini.get("firstName")), _str(mini.get("lastName"))) if p
            )
            draft.offer(
                "author_name", name, f"{where}.author.miniProfile.firstName+lastName", EMBEDDED
            )
    counts = data.get("socialActivityCounts")
    if isinstance(counts, dict):
        for name, key in (
            ("likes", "numLikes"),
            ("replies", "numComments"),
            ("reposts", "numShares"),
        ):
            draft.count(name, counts.get(key), f"{where}.socialActivityCounts.{key}", EMBEDDED)
    image = data.get("articleImage")
    if isinstance(image, dict):
        draft.add_media("image", _str(image.get("imageUrl")), f"{where}.articleImage.imageUrl")
    return True


def _stream_article(doc: PageDoc, draft: Draft) -> bool:
    """The older Pulse reader: `<article data-stream-…>` with microdata inside."""
    articles = doc.xpath("//article[@data-stream-article-id]")
    if not articles:
        return False
    canonical = (doc.link("canonical") or "").rstrip("/")
    node = next(
        (a for a in articles if (a.get("data-stream-url") or "").rstrip("/") == canonical),
        articles[0],
    )
    where = "article[data-stream-article-id]"
    mega = (node.get("data-stream-megaphone-article-id") or "").strip()
    if mega.isdigit():
        draft.offer(
            "post_id",
            mega,
            f"{where} data-stream-megaphone-article-id (linkedInArticle id)",
            MARKUP,
        )
    for href in node.xpath(".//a[contains(@href,'urn%3Ali%3AlinkedInArticle%3A')]/@href")[:1]:
        urn = _ARTICLE_URN.search(unquote(str(href)))
        if urn:
            draft.offer("post_id", urn.group(1), f"{where} report link contentUrn", MARKUP)
    url = _str(node.get("data-stream-url"))
    if url and url.startswith("https://"):
        draft.offer("url", url, f"{where} data-stream-url", MARKUP)
    author_id = (node.get("data-stream-author-id") or "").strip()
    if author_id.isdigit():
        draft.offer("author_id", author_id, f"{where} data-stream-author-id", MARKUP)
    draft.offer(
        "published_at",
        _epoch_ms(node.get("data-stream-published-time")),
        f"{where} data-stream-published-time",
        MARKUP,
    )
    draft.offer("title", node.get("data-stream-title"), f"{where} data-stream-title", MARKUP)
    for name in node.xpath(".//*[@itemprop='author']")[:1]:
        draft.offer("author_name", clean(name.text_content()), f"{where} [itemprop=author]", MARKUP)
    for body in node.xpath(".//*[@itemprop='articleBody']")[:1]:
        draft.offer("text", _node_text(body), f"{where} [itemprop=articleBody]", MARKUP)
    for key, expr in (
        ("views", ".//li[contains(@class,'views')]//*[contains(@class,'count')]"),
        ("likes", ".//li[contains(@class,'likes')]//*[contains(@class,'count')]"),
        ("replies", ".//li[contains(@class,'comments')]//*[contains(@class,'count')]"),
    ):
        found = node.xpath(expr)
        if found:
            draft.count(
                key, clean(found[0].text_content()), f"{where} .activity-counts .{key}", MARKUP
            )
    for src in node.xpath(".//img[contains(@class,'cover-image')]/@src")[:1]:
        draft.add_media("image", doc.absolute(str(src)), f"{where} img.cover-image")
    return True


def _author_card(doc: PageDoc, draft: Draft) -> None:
    """The author's `/in/<vanity>` link in the article header."""
    expr = (
        "(//*[contains(@class,'author-info')]//a[contains(@href,'/in/')]"
        " | //article//a[@rel='author'][contains(@href,'/in/')])[1]"
    )
    for link in doc.xpath(expr):
        match = _VANITY.search(link.get("href") or "")
        if match:
            draft.offer(
                "author_handle", unquote(match.group(1)), "author card link (/in/<vanity>)", MARKUP
            )
        name = clean(link.text_content())
        if name and name.lower() != "follow":
            draft.offer("author_name", name, "author card link text", MARKUP)


def _viewer(doc: PageDoc, draft: Draft) -> None:
    """A member's session shows the viewer in the header: say so, so it is not taken for the author."""
    names = doc.xpath(
        "//*[contains(@class,'act-set-name-split-link')] | //img[contains(@class,'nav-profile-photo')]/@alt"
    )
    viewer = next(
        (v for v in (clean(n if isinstance(n, str) else n.text_content()) for n in names) if v),
        None,
    )
    if viewer:
        draft.notes.append(
            f"linkedin: the page was served to a logged-in member (the header shows {viewer!r}); "
            "that is the viewer, not the author"
        )


def page_state(doc: PageDoc) -> PageState | None:
    if "/authwall" in url_path(doc.url):
        return PageState(state="login-wall", reason="LinkedIn's authwall")
    shown = " | ".join(
        (clean(n.text_content()) or "").lower() for n in doc.xpath("//title | //h1")[:4]
    )
    for phrase in LOGIN_WALL:
        if phrase in shown:
            return PageState(state="login-wall", reason=f"LinkedIn says {phrase!r}")
    return None


def _html_text(fragment: str) -> str | None:
    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except (etree.ParserError, ValueError):  # hostile markup: keep the raw string
        return fragment
    return _node_text(root)


def _node_text(node: Any) -> str:
    """Text with one blank line between blocks and <br> as line breaks."""
    node = copy.deepcopy(node)
    for element in node.iter():
        element.text = (
            _SPACE.sub(" ", element.text) if isinstance(element.text, str) else element.text
        )
        element.tail = _SPACE.sub(" ", element.tail) if element.tail else element.tail
    for br in node.iter("br"):
        br.tail = "\n" + (br.tail or "")
    for block in node.iter(*_BLOCKS):
        block.tail = "\n\n" + (block.tail or "")
    return str(node.text_content())


def _base(doc: PageDoc) -> str:
    """A LinkedIn URL to resolve the article's relative URL against, not a mirror's."""
    for candidate in (doc.link("canonical"), doc.meta("og:url"), doc.url):
        if candidate and _host(candidate).endswith("linkedin.com"):
            return candidate
    return "https://www.linkedin.com/"


def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def _epoch_ms(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value or "").strip()
    return int(text) if text.isdigit() and len(text) <= 16 else None


def _str(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    return str(value) if isinstance(value, (str, int)) else None


PLATFORM = Platform(
    id="linkedin",
    name="LinkedIn",
    hosts=("linkedin.com", "lnkd.in"),
    site_names=("LinkedIn", "LinkedIn Pulse"),
    extract=extract,
    page_state=page_state,
    account_path=re.compile(r"^/in/([^/]+)/"),
)
