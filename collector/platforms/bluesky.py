"""Bluesky: bsky.app (and bsky.social).

Reads, in order: the server-rendered summary inside `<noscript>` (`#bsky_display_name`,
`#bsky_handle`, `#bsky_did`, `#bsky_post_text`, `#bsky_post_indexedat`,
`#bsky_profile_description`); the post's AT-URI in `<link rel="alternate"
href="at://<did>/app.bsky.feed.post/<rkey>">`; the labelled `twitter:label*`/`twitter:value*`
meta pairs (Posted At, Likes, Replies, Reposts, Account DID); the rendered thread's main item
(`postThreadItem-by-<handle>`: images, video, reply/like aria-labels, repost/quote counters);
and the URL path `/profile/<handle>/post/<rkey>`. JSON-LD is read by the generic extractor.

`post_id` is the record key (rkey); with `author_id` (the DID) it makes the post's AT-URI.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin

from collector.evidence.post import PageState, PageStateName
from collector.platforms.draft import EMBEDDED, MARKUP, META, TIME_ELEMENT, Draft
from collector.platforms.page import PageDoc, clean
from collector.platforms.registry import Platform, host_of
from collector.platforms.values import url_path

HOSTS = ("bsky.app", "bsky.social")
_POST_PATH = re.compile(r"^/profile/([^/]{1,253})/post/([a-z0-9]{1,64})/?$", re.IGNORECASE)
_PROFILE_PATH = re.compile(r"^/profile/([^/]{1,253})/?$")
_FEED_PATH = re.compile(r"^/(?:profile/[^/]+/(?:feed|lists)/|search|hashtag/)")
_AT_POST = re.compile(r"^at://(did:[a-z0-9]+:[A-Za-z0-9._:%-]{1,200})/app\.bsky\.feed\.post/([a-z0-9]{1,64})$", re.IGNORECASE)
_AT_ANY = re.compile(r"^at://(did:[a-z0-9]+:[A-Za-z0-9._:%-]{1,200})/", re.IGNORECASE)
_LABEL_COUNTS = {"likes": "likes", "replies": "replies", "reposts": "reposts", "quotes": "quotes"}
_COUNTER = re.compile(r"([\d][\d,.]*\s*[KMB]?)\s+(repl(?:y|ies)|reposts?|quotes?|likes?)\b", re.IGNORECASE)
_STATES: tuple[tuple[str, PageStateName], ...] = (
    ("only be shown to signed-in users", "login-wall"),
    ("sign in to view", "login-wall"),
    ("post not found", "not-found"),
    ("post has been deleted", "not-found"),
    ("profile not found", "not-found"),
    ("unable to resolve handle", "not-found"),
    ("account has been suspended", "not-found"),
    ("account is deactivated", "not-found"),
)


def extract(doc: PageDoc, draft: Draft) -> None:
    base = _base(doc)
    path = url_path(draft.best("url") or doc.url)
    post = _POST_PATH.match(path)
    _noscript(doc, draft)
    _at_uri(doc, draft)
    _labels(doc, draft)
    if post:
        draft.set_kind("post", 50)
        draft.offer("post_id", post.group(2), "post URL path /profile/<handle>/post/<rkey>", MARKUP - 10)
        draft.offer("author_handle", post.group(1), "post URL path", MARKUP - 20)
        _thread_item(doc, draft, base, post.group(2))
    elif _PROFILE_PATH.match(path) or doc.xpath("//*[@id='bsky_profile_summary']"):
        draft.set_kind("profile", 50)
        draft.missing["post_id"] = "a profile page: no single post"
        draft.missing["published_at"] = "a profile page: no single post"
    elif _FEED_PATH.match(path):
        draft.set_kind("feed", 50)
    _repost_count(draft)
    _drop_avatars(draft)


def _noscript(doc: PageDoc, draft: Draft) -> None:
    """Bluesky's server puts a plain summary of the post or profile in <noscript>."""
    summary = doc.xpath("//*[@id='bsky_post_summary' or @id='bsky_profile_summary']")
    if not summary:
        draft.notes.append("Bluesky: no server-rendered summary (#bsky_post_summary) on the page")
        return
    for key, name in (("bsky_display_name", "author_name"), ("bsky_handle", "author_handle"),
                      ("bsky_did", "author_id"), ("bsky_post_text", "text"),
                      ("bsky_profile_description", "text")):
        for node in doc.xpath(f"//*[@id='{key}']")[:1]:
            draft.offer(name, node.text_content(), f"<noscript> #{key}", EMBEDDED)
    for node in doc.xpath("//*[@id='bsky_post_indexedat']")[:1]:
        draft.offer("published_at", node.text_content(),
                    "<noscript> #bsky_post_indexedat (when Bluesky indexed the post)", TIME_ELEMENT)


def _at_uri(doc: PageDoc, draft: Draft) -> None:
    for href in doc.xpath("//link[@rel='alternate'][starts-with(@href,'at://')]/@href")[:3]:
        uri = str(href).strip()
        post = _AT_POST.match(uri)
        if post:
            draft.offer("author_id", post.group(1), '<link rel="alternate"> AT-URI', EMBEDDED)
            draft.offer("post_id", post.group(2), '<link rel="alternate"> AT-URI', EMBEDDED)
        elif match := _AT_ANY.match(uri):
            draft.offer("author_id", match.group(1), '<link rel="alternate"> AT-URI', EMBEDDED)


def _labels(doc: PageDoc, draft: Draft) -> None:
    """The exact numbers Bluesky labels for link cards: twitter:labelN / twitter:valueN."""
    for n in range(1, 9):
        label = (doc.meta(f"twitter:label{n}") or "").strip().lower()
        value = doc.meta(f"twitter:value{n}")
        if not label or not value:
            continue
        where = f'meta[name="twitter:value{n}"] ("{label}")'
        if label == "posted at":
            draft.offer("published_at", value, where, META)
        elif label == "account did" and value.startswith("did:"):
            draft.offer("author_id", value, where, EMBEDDED)
        elif label in _LABEL_COUNTS:
            draft.count(_LABEL_COUNTS[label], value, where, MARKUP)


def _thread_item(doc: PageDoc, draft: Draft, base: str, rkey: str) -> None:
    """The rendered main post of a thread: the item linking to this post's counters."""
    items = doc.xpath("//*[starts-with(@data-testid,'postThreadItem-by-')]")
    if not items:
        return
    main = next((i for i in items[:200] if i.xpath(f".//a[contains(@href,'/post/{rkey}/')]")), None)
    if main is None:
        draft.notes.append("Bluesky: the rendered thread has no item linking to this post's counters")
        return
    where = "rendered thread item"
    for image in main.xpath(".//img[@src]"):
        src = urljoin(base, image.get("src") or "")
        if "/feed_thumbnail/" in src or "/feed_fullsize/" in src:
            draft.add_media("image", src, f"{where} <img>")
    for video in main.xpath(".//video"):
        for src in [video.get("src"), *video.xpath("./source/@src")]:
            draft.add_media("video", src, f"{where} <video>")
        draft.add_media("image", video.get("poster"), f"{where} <video poster>")
    for label in main.xpath(".//@aria-label"):
        _counter(draft, str(label), f"{where} aria-label", MARKUP - 5)
    for testid in ("repostCount-expanded", "quoteCount-expanded", "likeCount-expanded"):
        for node in main.xpath(f".//*[@data-testid='{testid}']")[:1]:
            _counter(draft, clean(node.text_content()), f"{where} {testid}", MARKUP - 10)


def _counter(draft: Draft, text: str | None, source: str, rank: int) -> None:
    for number, word in _COUNTER.findall(text or ""):
        word = word.lower()
        name = ("replies" if word.startswith("repl") else "reposts" if word.startswith("repo")
                else "quotes" if word.startswith("quo") else "likes")
        abbreviated = number.strip()[-1:].upper() in ("K", "M", "B")
        draft.count(name, number, source, rank - (10 if abbreviated else 0))


def _repost_count(draft: Draft) -> None:
    """JSON-LD's ShareAction counts reposts and quotes together; it is not the repost count."""
    current = draft.counts.get("reposts")
    if current and "shareaction" in current[1]:
        del draft.counts["reposts"]
        draft.notes.append("Bluesky: the JSON-LD ShareAction count is reposts plus quotes; "
                           "not used as the repost count")
    elif current:
        draft.notes.append("Bluesky: reposts read from Bluesky's own counter; the JSON-LD "
                           "ShareAction count (reposts plus quotes) is not used")


def _drop_avatars(draft: Draft) -> None:
    draft.drop_media(
        lambda m: "/img/avatar" in m.url or "/img/banner" in m.url,
        "Bluesky: og:image is the author's avatar, not the post's media",
    )


def page_state(doc: PageDoc) -> PageState | None:
    """Bluesky's own error texts, on pages without a post or profile summary."""
    if doc.xpath("//*[@id='bsky_post_summary' or @id='bsky_profile_summary']"):
        return None
    text = f"{doc.title() or ''} {doc.text()[:3000]}".lower()
    for phrase, state in _STATES:
        if phrase in text:
            return PageState(state=state, reason=f"the page says {phrase!r}")
    return None


def _base(doc: PageDoc) -> str:
    for url in (doc.url, doc.link("canonical"), doc.meta("og:url")):
        if url and PLATFORM.owns(host_of(url)):
            return url
    return "https://bsky.app/"


PLATFORM = Platform(
    id="bluesky",
    name="Bluesky",
    hosts=HOSTS,
    site_names=("Bluesky Social", "Bluesky"),
    extract=extract,
    page_state=page_state,
    account_path=re.compile(r"^/profile/([^/]+)/"),
)
