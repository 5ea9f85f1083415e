"""Reddit: www/new/old.reddit.com and redd.it; the 2018 redesign, old Reddit and shreddit.

Reads, in order: the redesign's Redux state `<script id="data">window.___r = {...}`
(`posts.models[t3_<id>]`: title, author, authorId, created, score, numComments, permalink,
rich-text body, media); shreddit's `<shreddit-post>` attributes; old Reddit's
`div.thing[data-fullname=t3_<id>]` (data-author, data-author-fullname, data-timestamp,
data-score, data-comments-count, `.usertext-body`); the redesign's post markup
(`div#t3_<id>`: h1, `post_author_link`, `data-click-id="text"`, vote count, comment link);
og:description "N votes and N comments"; and the URL path `/r/<sub>/comments/<id>/`.

`post_id` is the base36 id as in the URL and redd.it links (`1bbbwk`, not the `t3_1bbbwk`
fullname); `author_id` is the account's fullname as the page gives it (`t2_…`). Reddit
shows a net vote score, not likes: it is counted as `likes`, with its source saying so.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urljoin

from collector.evidence.post import MediaKind, PageState, PageStateName
from collector.platforms.draft import EMBEDDED, MARKUP, META, OPEN_GRAPH, Draft
from collector.platforms.page import PageDoc, clean
from collector.platforms.registry import Platform, host_of
from collector.platforms.values import url_path

HOSTS = ("reddit.com", "redd.it")
_POST_PATH = re.compile(r"^/(?:r/(\w{1,21})/)?comments/([a-z0-9]{1,12})(?:/|$)", re.IGNORECASE)
_SHORT_PATH = re.compile(r"^/([a-z0-9]{4,12})/?$", re.IGNORECASE)
_USER_PATH = re.compile(r"^/(?:user|u)/([\w-]{1,40})/?$", re.IGNORECASE)
_SUB_PATH = re.compile(r"^/r/\w{1,21}/?(?:hot|new|top|rising)?/?$", re.IGNORECASE)
_VOTES = re.compile(r"([\d,]+) votes? and ([\d,]+) comments?", re.IGNORECASE)
_SUMMARY = re.compile(r"^(?:[\d.,]+[km]? votes?,? (?:and )?[\d.,]+[km]? comments?|explore this post and more)", re.IGNORECASE)
_OG_TITLE_PREFIX = re.compile(r"^(?:r/\w+ - |from the \w+ community on reddit: )", re.IGNORECASE)
_REDUX = re.compile(r"window\.___r\s*=\s*")
_INLINE = frozenset({"text", "link", "u/", "r/", "raw", "spoilertext", "br"})
_MAX_DEPTH = 40
_STATES: tuple[tuple[str, PageStateName], ...] = (
    ("whoa there, pardner", "rate-limited"),
    ("blocked by network security", "rate-limited"),
    ("is a private community", "login-wall"),
    ("this community is private", "login-wall"),
    ("over 18?", "interstitial"),
    ("mature content", "interstitial"),
    ("this post was deleted by the person who originally posted it", "not-found"),
    ("has been removed by the moderators", "not-found"),
    ("removed by reddit", "not-found"),
    ("there doesn't seem to be anything here", "not-found"),
    ("this community has been banned", "not-found"),
    ("page not found", "not-found"),
)


def extract(doc: PageDoc, draft: Draft) -> None:
    post_id = _from_path(doc, draft)
    read = [_redux(doc, draft, post_id), _shreddit(doc, draft), _old_reddit(doc, draft),
            _redesign_markup(doc, draft, post_id)]
    _votes_summary(doc, draft)
    if read[3] and not any(read[:3]):
        draft.notes.append("Reddit: no embedded post data (script#data window.___r) on the page; "
                           "read from the rendered markup")
    _og_title(doc, draft)
    if post_id and not any(read):
        draft.notes.append("Reddit: head-only page (no post markup and no embedded post data); "
                           "values from the meta tags and the URL only")
        draft.offer("text", doc.meta("description"),
                    'meta[name="description"] (the post body as Reddit cuts it)', META)
    _withdraw_summaries(draft)
    draft.drop_media(lambda m: "share.redd.it/preview" in m.url, "Reddit's share-card preview image")
    if not draft.has("author_name"):
        draft.missing["author_name"] = "Reddit posts show a username (author_handle), no display name"


def _from_path(doc: PageDoc, draft: Draft) -> str | None:
    for url, source in ((doc.url, "final URL"), (doc.link("canonical"), '<link rel="canonical">'),
                        (doc.meta("og:url"), 'meta[property="og:url"]')):
        if not url or not PLATFORM.owns(host_of(url)):
            continue
        path = url_path(url)
        match = _POST_PATH.match(path)
        short = _SHORT_PATH.match(path) if host_of(url).endswith("redd.it") else None
        if match or short:
            ident = (match.group(2) if match else short.group(1) if short else "").lower()
            draft.offer("post_id", ident, f"{source} path /comments/<id>/", MARKUP - 10)
            draft.set_kind("post", 50)
            return ident
        if _USER_PATH.match(path):
            draft.set_kind("profile", 50)
            return None
        if _SUB_PATH.match(path):
            draft.set_kind("feed", 50)
            return None
    return None


def _redux(doc: PageDoc, draft: Draft, post_id: str | None) -> bool:
    """The 2018-2023 redesign's server state: `window.___r = {...}` in `script#data`."""
    for body in doc.script_texts(id_="data"):
        start = _REDUX.search(body)
        if start is None:
            continue
        try:
            state, _ = json.JSONDecoder().raw_decode(body, start.end())
        except ValueError:
            draft.notes.append("Reddit: script#data (window.___r) is not valid JSON; ignored")
            return False
        models = _dig(state, "posts", "models")
        post = models.get(f"t3_{post_id}") if post_id else None
        if not isinstance(post, dict):
            post = next((p for p in models.values() if isinstance(p, dict)), None) if not post_id else None
        if not isinstance(post, dict):
            draft.notes.append("Reddit: window.___r holds no model for this post")
            return False
        where = "script#data window.___r posts.models"
        draft.offer("post_id", _base36(post.get("id")), f"{where}.id", EMBEDDED)
        draft.offer("url", _absolute(post.get("permalink")), f"{where}.permalink", EMBEDDED)
        draft.offer("title", post.get("title"), f"{where}.title", EMBEDDED)
        draft.offer("author_handle", post.get("author"), f"{where}.author", EMBEDDED)
        draft.offer("author_id", post.get("authorId"), f"{where}.authorId", EMBEDDED)
        draft.offer("published_at", post.get("created"), f"{where}.created", EMBEDDED)
        draft.count("likes", post.get("score"), f"{where}.score (net votes)", EMBEDDED)
        draft.count("replies", post.get("numComments"), f"{where}.numComments", EMBEDDED)
        media = post.get("media")
        if isinstance(media, dict):
            document = _dig(media, "richtextContent").get("document")
            if isinstance(document, list):
                draft.offer("text", "\n".join(_rtjson_lines(document)), f"{where}.media.richtextContent", EMBEDDED)
            elif isinstance(media.get("content"), str) and media.get("type") == "text":
                draft.offer("text", media["content"], f"{where}.media.content", EMBEDDED)
            _redux_media(draft, media, where)
        return True
    return False


def _redux_media(draft: Draft, media: dict[str, Any], where: str) -> None:
    kind = media.get("type")
    if kind == "image":
        draft.add_media("image", media.get("content"), f"{where}.media.content")
    elif kind == "video":
        draft.add_media("video", media.get("hlsUrl") or media.get("dashUrl"), f"{where}.media.hlsUrl")
    for item in _dig(media, "mediaMetadata").values():
        draft.add_media("image", _dig(item, "s").get("u"), f"{where}.media.mediaMetadata")


def _shreddit(doc: PageDoc, draft: Draft) -> bool:
    """Today's web components: `<shreddit-post>` carries the post's data as attributes."""
    found = doc.xpath("//shreddit-post[@id or @permalink]")
    if not found:
        return False
    post, where = found[0], "<shreddit-post>"
    draft.offer("post_id", _base36(post.get("id")), f"{where}[id]", MARKUP + 5)
    if post.get("permalink"):
        draft.offer("url", _absolute(post.get("permalink")), f"{where}[permalink]", MARKUP + 5)
    draft.offer("title", post.get("post-title"), f"{where}[post-title]", MARKUP + 5)
    draft.offer("author_handle", post.get("author"), f"{where}[author]", MARKUP + 5)
    draft.offer("author_id", post.get("author-id"), f"{where}[author-id]", MARKUP + 5)
    draft.offer("published_at", post.get("created-timestamp"), f"{where}[created-timestamp]", MARKUP + 5)
    draft.count("likes", post.get("score"), f"{where}[score] (net votes)", MARKUP + 5)
    draft.count("replies", post.get("comment-count"), f"{where}[comment-count]", MARKUP + 5)
    for body in post.xpath(".//*[@slot='text-body']")[:1]:
        draft.offer("text", _block_text(body), f"{where} [slot=text-body]", MARKUP)
    kind: MediaKind = "video" if post.get("post-type") == "video" else "image"
    if post.get("post-type") in ("image", "video", "gallery"):
        draft.add_media(kind, post.get("content-href"), f"{where}[content-href]")
    return True


def _old_reddit(doc: PageDoc, draft: Draft) -> bool:
    """old.reddit.com: `div.thing.link[data-fullname]` with data-* attributes."""
    found = doc.xpath("//div[contains(concat(' ', @class, ' '), ' thing ')]"
                      "[contains(concat(' ', @class, ' '), ' link ')][@data-fullname]")
    if not found:
        return False
    thing, where = found[0], "old Reddit div.thing"
    draft.offer("post_id", _base36(thing.get("data-fullname")), f"{where}[data-fullname]", MARKUP)
    draft.offer("author_handle", thing.get("data-author"), f"{where}[data-author]", MARKUP)
    draft.offer("author_id", thing.get("data-author-fullname"), f"{where}[data-author-fullname]", MARKUP)
    draft.offer("published_at", thing.get("data-timestamp"), f"{where}[data-timestamp]", MARKUP)
    if thing.get("data-permalink"):
        draft.offer("url", _absolute(thing.get("data-permalink")), f"{where}[data-permalink]", MARKUP)
    draft.count("likes", thing.get("data-score"), f"{where}[data-score] (net votes)", MARKUP)
    draft.count("replies", thing.get("data-comments-count"), f"{where}[data-comments-count]", MARKUP)
    title = thing.xpath(".//a[contains(concat(' ', @class, ' '), ' title ')]")
    if title:
        draft.offer("title", clean(title[0].text_content()), f"{where} a.title", MARKUP)
    for body in thing.xpath(".//*[contains(@class,'usertext-body')]//*[contains(@class,'md')]")[:1]:
        draft.offer("text", _block_text(body), f"{where} .usertext-body", MARKUP)
    if thing.get("data-url") and "/comments/" not in (thing.get("data-url") or ""):
        draft.add_media("image", _absolute(thing.get("data-url")), f"{where}[data-url]")
    return True


def _redesign_markup(doc: PageDoc, draft: Draft, post_id: str | None) -> bool:
    """The redesign's rendered post: `div#t3_<id>` (class Post)."""
    found = doc.xpath(f"//div[@id='t3_{post_id}']") if post_id else doc.xpath(
        "//div[@data-testid='post-container'][starts-with(@id,'t3_')]")
    if not found:
        return False
    post, where = found[0], "div#t3_ post"
    draft.offer("post_id", _base36(post.get("id")), f"{where}[id]", MARKUP)
    for h1 in post.xpath(".//h1")[:1]:
        draft.offer("title", h1.text_content(), f"{where} h1", MARKUP)
    for link in post.xpath(".//a[@data-testid='post_author_link']")[:1]:
        draft.offer("author_handle", (clean(link.text_content()) or "").removeprefix("u/"),
                    f"{where} a[data-testid=post_author_link]", MARKUP)
    for body in post.xpath(".//*[@data-click-id='text']")[:1]:
        draft.offer("text", _block_text(body), f"{where} [data-click-id=text]", MARKUP)
        if not clean(body.text_content()):
            draft.missing["text"] = "a title-only post: its text block is empty"
    for votes in post.xpath(".//*[starts-with(@id,'vote-arrows-')]/div | .//button[@data-click-id='upvote']/following-sibling::div[1]")[:1]:
        _count(draft, "likes", clean(votes.text_content()), f"{where} vote count (net votes)")
    for link in post.xpath(".//a[@data-test-id='comments-page-link-num-comments']")[:1]:
        _count(draft, "replies", clean(link.text_content()), f"{where} comments link")
    for image in post.xpath(".//img[@src][contains(@src,'i.redd.it') or contains(@src,'preview.redd.it')]"):
        src = image.get("src") or ""
        if "award_images" not in src:
            draft.add_media("image", src, f"{where} <img>")
    for video in post.xpath(".//video"):
        draft.add_media("video", video.get("src") or next(iter(video.xpath("./source/@src")), None), f"{where} <video>")
    stamp = post.xpath(".//*[@data-click-id='timestamp']")
    if stamp and not draft.has("published_at"):
        draft.missing["published_at"] = (
            f"the page shows only a relative time ({clean(stamp[0].text_content())!r})")
    if not post.xpath(".//a[@data-testid='post_author_link']") and not draft.has("author_handle"):
        draft.missing["author_handle"] = "the post header names no author (deleted or not rendered)"
    return True


def _votes_summary(doc: PageDoc, draft: Draft) -> None:
    """og:description "83,067 votes and 2,820 comments so far on Reddit": the exact numbers."""
    summary = doc.meta("og:description")
    where = 'meta[property="og:description"]'
    if not summary:  # some saved copies write value= instead of content=
        values = doc.xpath("//meta[@name='og:description' or @property='og:description']/@value")
        summary = clean(values[0]) if values else None
        where = 'meta[name="og:description"][value] (value=, not content=)'
    match = _VOTES.search(summary or "")
    if match:
        draft.count("likes", match.group(1), f"{where} votes (net)", MARKUP)
        draft.count("replies", match.group(2), f"{where} comments", MARKUP)


def _og_title(doc: PageDoc, draft: Draft) -> None:
    title = doc.meta("og:title")
    if title and _OG_TITLE_PREFIX.match(title):
        draft.offer("title", _OG_TITLE_PREFIX.sub("", title), 'meta[property="og:title"] without its prefix',
                    OPEN_GRAPH + 1)


def _withdraw_summaries(draft: Draft) -> None:
    """Reddit's og:description is a vote summary, not the post's text."""
    draft.withdraw(
        "text",
        "no post body on the page (Reddit's og:description is only a vote summary)",
        when=lambda value, _source: bool(_SUMMARY.match(value)),
    )


def page_state(doc: PageDoc) -> PageState | None:
    """Reddit's own walls and removals, from the title, headings and short pages."""
    heads = " | ".join(clean(h.text_content()) or "" for h in doc.xpath("//h1 | //h2 | //h3")[:6])
    body = doc.text()
    text = f"{doc.title() or ''} | {heads} | {body if len(body) < 3000 else ''}".lower()
    for phrase, state in _STATES:
        if phrase in text:
            return PageState(state=state, reason=f"the page says {phrase!r}")
    return None


# ---------------------------------------------------------------------------- small helpers


def _count(draft: Draft, name: str, text: str | None, source: str) -> None:
    """Rendered counters are rounded ("83.1k"): ranked below exact ones."""
    if text:
        rounded = bool(re.search(r"\d\s*[kmb]\b", text, re.IGNORECASE))
        draft.count(name, text, source, MARKUP - (10 if rounded else 0))


def _rtjson_lines(nodes: list[Any], depth: int = 0) -> list[str]:
    """Reddit's rich-text JSON: paragraphs, lists, headings as lines of text."""
    lines: list[str] = []
    for node in nodes[:2000]:
        if not isinstance(node, dict) or depth > _MAX_DEPTH:
            continue
        children = node.get("c")
        if isinstance(children, list) and children and all(
            isinstance(c, dict) and c.get("e") in _INLINE for c in children
        ):
            lines.append("".join(str(c.get("t") or "") for c in children))
        elif isinstance(children, list):
            lines += _rtjson_lines(children, depth + 1)
        elif isinstance(node.get("t"), str):
            lines.append(node["t"])
    return lines


def _block_text(node: Any) -> str:
    blocks = node.xpath(".//p | .//li[not(p)] | .//h1 | .//h2 | .//h3 | .//pre | .//blockquote[not(p)]")
    if not blocks:
        return node.text_content() or ""
    return "\n".join(clean(b.text_content()) or "" for b in blocks)


def _absolute(href: Any) -> str | None:
    """Reddit's relative links point at reddit.com, wherever the copy was served from."""
    return urljoin("https://www.reddit.com/", href) if isinstance(href, str) and href.strip() else None


def _base36(value: Any) -> str | None:
    text = clean(value)
    return text.removeprefix("t3_").lower() if text else None


def _dig(value: Any, *keys: str) -> dict[str, Any]:
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, dict) else {}


PLATFORM = Platform(
    id="reddit",
    name="Reddit",
    hosts=HOSTS,
    site_names=("reddit", "Reddit"),
    extract=extract,
    page_state=page_state,
    account_path=re.compile(r"^/(?:user|u)/([^/]+)/"),
)
