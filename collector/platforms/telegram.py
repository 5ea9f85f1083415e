"""Telegram public pages on t.me: single-post pages, channel/user landing pages, previews.

t.me serves no embedded JSON. A single-post page (`t.me/<channel>/<id>`) shows the message
only inside an embed iframe (`t.me/<channel>/<id>?embed=1`), a separate document; the page
itself carries the message text in `og:description`, the channel name in `og:title`, the
post in `data-telegram-post` and the app deep link (`tg://resolve?domain=…&post=…`) in meta
tags and in an inline script that sends the browser there. Landing pages (`t.me/<channel>`)
carry `.tgme_page_title` / `.tgme_page_description`. Embed and `t.me/s/<channel>` documents
carry `.tgme_widget_message[data-post]` with text, `<time>`, views and photos.
"""

from __future__ import annotations

import copy
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from collector.evidence.post import PageState
from collector.platforms.draft import MARKUP, META, OPEN_GRAPH, TITLE, Draft
from collector.platforms.page import PageDoc
from collector.platforms.registry import Platform
from collector.platforms.values import node_text, url_path

_NAME = r"[A-Za-z][A-Za-z0-9_]{3,31}"
_POST_PATH = re.compile(rf"^/(?:s/)?({_NAME})/(\d{{1,12}})/?$")
_CHANNEL_PATH = re.compile(rf"^/(?:s/)?({_NAME})/?$")
_DATA_POST = re.compile(rf"^({_NAME})/(\d{{1,12}})$")
_TITLE_HANDLE = re.compile(rf"^Telegram: Contact @({_NAME})$")
_PROTO_URL = re.compile(r"""protoUrl\s*=\s*["'](tg:[^"']{1,300})["']""")
_SPACE = re.compile(r"\s+")
_BG_URL = re.compile(r"""background-image:\s*url\(['"]?([^'")]+)""")
_MESSAGE = (
    "//*[@data-post][contains(concat(' ', normalize-space(@class), ' '), ' tgme_widget_message ')]"
)
_RESERVED = frozenset({"s", "c", "joinchat", "addstickers", "share", "proxy", "socks", "iv"})


def extract(doc: PageDoc, draft: Draft) -> None:
    """Offer the post's or channel's values from t.me markup, meta tags and the deep link."""
    path = url_path(doc.url)
    post_match = _POST_PATH.match(path)
    channel_match = _CHANNEL_PATH.match(path)
    if post_match and post_match.group(1).lower() not in _RESERVED:
        draft.offer("post_id", f"{post_match.group(1)}/{post_match.group(2)}", "post URL path", 20)
        draft.offer("author_handle", post_match.group(1), "post URL path", 20)
    elif channel_match and channel_match.group(1).lower() not in _RESERVED:
        draft.offer("author_handle", channel_match.group(1), "channel URL path", 20)
    _deep_link(doc, draft)
    title_handle = _TITLE_HANDLE.match(doc.title() or "")
    if title_handle:
        draft.offer(
            "author_handle", title_handle.group(1), "<title> (Telegram: Contact @…)", TITLE + 20
        )
    og_title = doc.meta("og:title")
    if og_title and not og_title.startswith("Telegram: Contact"):
        draft.offer(
            "author_name",
            og_title,
            'meta[property="og:title"] (the channel name on t.me)',
            OPEN_GRAPH,
        )
    draft.missing["author_id"] = "t.me pages do not show the channel's numeric id"
    if not _widget_post(doc, draft) and not _landing_page(doc, draft):
        _widget_messages(doc, draft)


def _widget_post(doc: PageDoc, draft: Draft) -> bool:
    """A single-post page: the post named by the widget script, its text in og:description."""
    names = doc.xpath("//script[@data-telegram-post]/@data-telegram-post")
    match = _DATA_POST.match(str(names[0]).strip()) if names else None
    if not match:
        return False
    where = "script[data-telegram-post]"
    draft.offer("post_id", f"{match.group(1)}/{match.group(2)}", where, MARKUP)
    draft.offer("author_handle", match.group(1), where, MARKUP)
    draft.offer(
        "url",
        f"https://t.me/{match.group(1)}/{match.group(2)}",
        f"{where} (t.me/<channel>/<id>)",
        MARKUP,
    )
    draft.offer(
        "text",
        _raw_meta(doc, "og:description"),
        'meta[property="og:description"] (line breaks kept)',
        META,
    )
    draft.set_kind("post", 50)
    if not doc.xpath(_MESSAGE):
        draft.notes.append(
            "telegram: the message itself (date, views, full text) is shown in the embed "
            f"iframe t.me/{match.group(1)}/{match.group(2)}?embed=1, a separate document; "
            "this page gives the text only as og:description"
        )
        draft.missing["published_at"] = "the t.me post page has no date; it is in the embed iframe"
    return True


def _landing_page(doc: PageDoc, draft: Draft) -> bool:
    """A channel, group or user page (`t.me/<name>`): name, description, photo."""
    title = doc.first_text(
        "//*[contains(concat(' ', normalize-space(@class), ' '), ' tgme_page_title ')]"
    )
    if not title:
        return False
    draft.offer("author_name", title, ".tgme_page_title", MARKUP)
    for node in doc.xpath(
        "//*[contains(concat(' ', normalize-space(@class), ' '), ' tgme_page_description ')]"
    )[:1]:
        draft.offer("text", _text(node), ".tgme_page_description", MARKUP)
    draft.set_kind("profile", 50)
    draft.missing["post_id"] = "a channel/user page, not a single post"
    draft.missing["published_at"] = "a channel/user page has no publication time"
    return True


def _widget_messages(doc: PageDoc, draft: Draft) -> bool:
    """An embed or t.me/s/ preview document: `.tgme_widget_message[data-post]` elements."""
    messages = [
        m for m in doc.xpath(_MESSAGE) if _DATA_POST.match((m.get("data-post") or "").strip())
    ]
    if not messages:
        return False
    wanted = _POST_PATH.match(url_path(doc.url))
    chosen = None
    if wanted:
        key = f"{wanted.group(1)}/{wanted.group(2)}".lower()
        chosen = next(
            (m for m in messages if (m.get("data-post") or "").strip().lower() == key), None
        )
    if chosen is None and len(messages) == 1 and not url_path(doc.url).startswith("/s/"):
        chosen = messages[0]
    if chosen is None:
        first, last = messages[0].get("data-post"), messages[-1].get("data-post")
        draft.set_kind("feed", 50)
        draft.notes.append(
            f"telegram: a channel preview with {len(messages)} messages ({first} … {last})"
        )
        draft.missing["post_id"] = (
            "a channel preview lists several messages; none is the page's post"
        )
        return True
    _offer_message(doc, draft, chosen)
    return True


def _offer_message(doc: PageDoc, draft: Draft, node: Any) -> None:
    post = (node.get("data-post") or "").strip()
    where = ".tgme_widget_message[data-post]"
    handle = post.split("/", 1)[0]
    draft.offer("post_id", post, f"{where} data-post", MARKUP)
    draft.offer("author_handle", handle, f"{where} data-post", MARKUP)
    draft.offer("url", f"https://t.me/{post}", f"{where} data-post (t.me/<channel>/<id>)", MARKUP)
    draft.offer(
        "author_name",
        node_text(node, ".//*[contains(@class,'tgme_widget_message_owner_name')]"),
        f"{where} .tgme_widget_message_owner_name",
        MARKUP,
    )
    texts = node.xpath(
        ".//*[contains(concat(' ', normalize-space(@class), ' '), ' tgme_widget_message_text ')]"
        "[not(ancestor::*[contains(@class,'tgme_widget_message_reply')])]"
    )
    if texts:
        draft.offer("text", _text(texts[0]), f"{where} .tgme_widget_message_text", MARKUP)
    for time in node.xpath(".//*[contains(@class,'tgme_widget_message_date')]//time[@datetime]")[
        :1
    ]:
        draft.offer(
            "published_at", time.get("datetime"), f"{where} .tgme_widget_message_date time", MARKUP
        )
    draft.count(
        "views",
        node_text(node, ".//*[contains(@class,'tgme_widget_message_views')]"),
        f"{where} .tgme_widget_message_views",
        MARKUP,
    )
    for wrap in node.xpath(".//*[contains(@class,'tgme_widget_message_photo_wrap')][@style]"):
        found = _BG_URL.search(wrap.get("style") or "")
        if found:
            draft.add_media(
                "image", doc.absolute(found.group(1)), f"{where} .tgme_widget_message_photo_wrap"
            )
    for video in node.xpath(".//video[@src]"):
        draft.add_media("video", doc.absolute(video.get("src") or ""), f"{where} video")
    draft.set_kind("post", 60)


def _deep_link(doc: PageDoc, draft: Draft) -> None:
    """The tg:// link in meta tags and in the inline script that redirects the browser to it."""
    script = next((m.group(1) for s in doc.script_texts() if (m := _PROTO_URL.search(s))), None)
    link = script.replace("\\/", "/") if script else None
    if link:
        draft.notes.append(
            f"telegram: an inline script sends the browser to the app deep link {link} "
            "(window.location = protoUrl); the page may never settle in a browser"
        )
    where = "inline script protoUrl" if link else 'meta[property="al:android:url"]'
    link = link or doc.meta("al:android:url")
    if not link or not link.startswith("tg:"):
        return
    query = parse_qs(urlsplit(link).query)
    domain = (query.get("domain") or [""])[0]
    post = (query.get("post") or [""])[0]
    if re.fullmatch(_NAME, domain):
        draft.offer("author_handle", domain, f"{where} (tg://resolve?domain=)", META)
        if post.isdigit():
            draft.offer("post_id", f"{domain}/{post}", f"{where} (tg://resolve?…&post=)", META)
    app_url = doc.meta("twitter:app:url:googleplay")
    if app_url and app_url.startswith(("https://t.me/", "http://t.me/")):
        draft.offer("url", app_url, 'meta[name="twitter:app:url:googleplay"]', META)


def page_state(doc: PageDoc) -> PageState | None:
    error = doc.first_text("//*[contains(@class,'tgme_widget_message_error')]")
    if error:
        return PageState(state="not-found", reason=f"Telegram says {error!r}")
    og_title = doc.meta("og:title") or ""
    if og_title.startswith("Telegram: Contact @"):
        return PageState(
            state="not-found", reason="t.me shows no channel, group or user by this name"
        )
    if og_title == "Join group chat on Telegram":
        return PageState(state="not-found", reason="the invite link is expired or invalid")
    return None


def _raw_meta(doc: PageDoc, key: str) -> str | None:
    """A meta tag's content with its line breaks (doc.meta collapses them)."""
    for node in doc.xpath("//meta[@content]"):
        if (node.get("property") or node.get("name") or "").strip().lower() == key:
            value = node.get("content") or ""
            if value.strip():
                return value
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


PLATFORM = Platform(
    id="telegram",
    name="Telegram",
    hosts=("t.me", "telegram.me", "telegram.org"),
    site_names=("Telegram",),
    extract=extract,
    page_state=page_state,
    account_path=re.compile(r"^/(?:s/)?([A-Za-z0-9_]{4,})/"),
)
