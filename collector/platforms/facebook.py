"""Facebook posts, videos and Pages, and Facebook's own interstitials.

Reads, in order: the server's page bootstrap in inline scripts (`["CurrentPage","init",[],
[{"pageID","pageName"}]]`, `"pageURIToken"`), the app-link meta tag (`fb://page/?id=`), the
server-rendered timeline stories (`.fbUserStory`: permalink `a._5pcq`, `abbr[data-utime]`,
`.userContent`), then the URL (`/<page>/posts/<id>`, `/permalink.php?story_fbid=`,
`/watch/?v=`, `/<page>/videos/<id>`, `/reel/<id>`, `/photo?fbid=`). The unsupported-browser
page ("Actualiza tu navegador", `/unsupportedbrowser`) is an interstitial: nothing is read
from it.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from collector.evidence.post import PageState
from collector.platforms.draft import EMBEDDED, MARKUP, META, Draft, normalise_time
from collector.platforms.page import PageDoc, clean
from collector.platforms.registry import Platform
from collector.platforms.values import json_at, own_url, url_path

_POST_PATHS = (
    re.compile(r"^/[^/]+/(?:posts|videos|photos(?:/[^/]+)?)/(?:[^/]*[^/\d][^/]*/)?(\d{5,25})/?$"),
    re.compile(r"^/groups/[^/]+/(?:posts|permalink)/(\d{5,25})/?$"),
    re.compile(r"^/(?:reel|videos)/(\d{5,25})/?$"),
)
_POST_QUERY = {
    "/permalink.php": "story_fbid",
    "/story.php": "story_fbid",
    "/photo.php": "fbid",
    "/photo": "fbid",
    "/watch": "v",
    "/video.php": "v",
}
_PAGE_PATH = re.compile(r"^/([A-Za-z0-9.]{3,80})/?$")
_NOT_PAGES = frozenset({"watch", "groups", "events", "marketplace", "login", "help", "policies"})
_CURRENT_PAGE = re.compile(r"\[\"CurrentPage\",\s*\"init\",\s*\[\],\s*")
_URI_TOKEN = re.compile(r"\"pageURIToken\":\"([A-Za-z0-9.]{1,80})\"")
_POST_FIELDS = ("post_id", "author_name", "author_handle", "author_id", "published_at", "text")
_APP_LINK_ID = re.compile(r"^fb://(?:page|profile)/\??(?:id=)?(\d{3,25})")


def extract(doc: PageDoc, draft: Draft) -> None:
    if _unsupported_browser(doc):
        draft.notes.append("Facebook: the unsupported-browser interstitial; no post data read")
        for name in _POST_FIELDS:
            draft.missing[name] = "Facebook served its unsupported-browser interstitial"
        return
    _page_bootstrap(doc, draft)
    url, which = own_url(doc, draft, PLATFORM)
    post_id = _post_id_from_url(url)
    for label, value in (
        ('meta[property="al:ios:url"]', doc.meta("al:ios:url")),
        ('meta[property="al:android:url"]', doc.meta("al:android:url")),
    ):
        found = _APP_LINK_ID.match(value or "")
        if found:
            draft.offer("author_id", found.group(1), label, META)
    stories = doc.xpath("//div[contains(concat(' ', @class, ' '), ' fbUserStory ')]")
    if post_id:
        draft.offer("post_id", post_id, f"post {which}", MARKUP - 10)
        draft.set_kind("post", 50)
        for story in stories:
            if any(
                post_id in (href or "")
                for href in story.xpath(".//a[contains(@class,'_5pcq')]/@href")
            ):
                _story(doc, draft, story)
                break
        else:
            draft.notes.append("Facebook: no server-rendered story for this post on the page")
    elif (page := _PAGE_PATH.match(url_path(url) or "/")) and page.group(1).lower() not in _NOT_PAGES:
        draft.set_kind("profile", 50)
        times = [t for s in stories for t in s.xpath(".//abbr[@data-utime]/@data-utime")[:1]]
        if times:
            shown = ", ".join(filter(None, (normalise_time(t) for t in times)))
            draft.missing["published_at"] = (
                f"a Page's home has no publication time; its timeline shows {len(times)} posts ({shown})"
            )
            draft.notes.append(f"Facebook: the Page's timeline shows posts dated {shown}")


def page_state(doc: PageDoc) -> PageState | None:
    if _unsupported_browser(doc):
        return PageState(
            state="interstitial",
            reason=f"Facebook's unsupported-browser page ({doc.title() or '/unsupportedbrowser'})",
        )
    return None


def claims(doc: PageDoc) -> str | None:
    if doc.xpath("/html[@id='facebook']"):
        return "the page's root element is Facebook's html#facebook"
    return None


def _unsupported_browser(doc: PageDoc) -> bool:
    if doc.xpath("//link[contains(@href, '/unsupportedbrowser')]"):
        return True
    if doc.xpath("//meta[@http-equiv='refresh'][contains(@content, '/unsupportedbrowser')]"):
        return True
    return any("WebUnsupportedBrowserController" in body for body in doc.script_texts())


def _page_bootstrap(doc: PageDoc, draft: Draft) -> None:
    """The Page the server rendered: `CurrentPage.init` and `pageURIToken` in inline scripts."""
    found_page = False
    for body in doc.script_texts():
        if not found_page and (marker := _CURRENT_PAGE.search(body)):
            args = json_at(body, marker.end())
            page = args[0] if isinstance(args, list) and args else None
            if isinstance(page, dict):
                where = "inline script CurrentPage.init"
                draft.offer("author_id", clean(page.get("pageID")), f"{where}.pageID", EMBEDDED)
                draft.offer("author_name", page.get("pageName"), f"{where}.pageName", EMBEDDED)
                found_page = True
        if token := _URI_TOKEN.search(body):
            draft.offer("author_handle", token.group(1), "inline script pageURIToken", EMBEDDED)
    if not found_page:
        draft.notes.append("Facebook: no CurrentPage bootstrap in the page's scripts")


def _story(doc: PageDoc, draft: Draft, story: Any) -> None:
    where = ".fbUserStory"
    times = story.xpath(".//abbr[@data-utime]/@data-utime")
    draft.offer("published_at", times[0] if times else None, f"{where} abbr[data-utime]", MARKUP)
    content = story.xpath(".//*[contains(concat(' ', @class, ' '), ' userContent ')]")
    if content:
        paragraphs = [clean(p.text_content()) for p in content[0].xpath(".//p")] or [
            clean(content[0].text_content())
        ]
        draft.offer("text", "\n".join(p for p in paragraphs if p), f"{where} .userContent", MARKUP)
    for href in story.xpath(".//a[contains(@class,'_5pcq')]/@href")[:1]:
        draft.offer("url", doc.absolute(str(href)), f"{where} a._5pcq (permalink)", MARKUP)
    for image in story.xpath(".//*[contains(@class,'mtm')]//img/@src")[:20]:
        draft.add_media("image", doc.absolute(str(image)), f"{where} attachment img")


def _post_id_from_url(url: str) -> str | None:
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    for pattern in _POST_PATHS:
        if found := pattern.match(parts.path):
            return found.group(1)
    key = _POST_QUERY.get(parts.path.rstrip("/") or "/")
    value = (parse_qs(parts.query).get(key) or [""])[0] if key else ""
    return value if value.isdigit() else None


PLATFORM = Platform(
    id="facebook",
    name="Facebook",
    hosts=("facebook.com", "m.facebook.com", "fb.com", "fb.watch", "web.facebook.com"),
    site_names=("Facebook",),
    extract=extract,
    page_state=page_state,
    claims=claims,
)
