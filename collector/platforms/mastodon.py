"""Mastodon and compatible fediverse servers.

Mastodon is federated: no host list can cover it. A few large servers are known hosts;
on any other host the page claims Mastodon through its ActivityPub alternate link
(`<link rel="alternate" type="application/activity+json">`) or `#mastodon` root.

Reads, in order: the web app's embedded state (`<script id="initial-state">`: statuses and
accounts by id), the status markup (`data-status-id`; the name in `.display-name__html`, or
`.display-name` without the handle nested in it; the handle in `.display-name__account` or
`.handle`; `.content`, `.media img`, `<time>`), and the status URL path (`/@user/<id>`).
"""

from __future__ import annotations

import copy
import re
from typing import Any

from collector.evidence.post import MediaKind
from collector.platforms.draft import EMBEDDED, MARKUP, META, Draft
from collector.platforms.page import PageDoc, clean
from collector.platforms.registry import Platform
from collector.platforms.values import url_path

KNOWN_HOSTS = (
    "mastodon.social",
    "mastodon.online",
    "mstdn.social",
    "mas.to",
    "fosstodon.org",
    "hachyderm.io",
    "infosec.exchange",
    "mastodon.world",
    "techhub.social",
    "universeodon.com",
)
_STATUS_PATH = re.compile(r"/(?:@[^/]+|users/[^/]+/statuses)/(\d{1,24})(?:/|$)")
_STATUS_ARTICLE = "(//*[@data-status-id])[1]"


def claims(doc: PageDoc) -> str | None:
    for node in doc.xpath("//link[@rel='alternate'][@type='application/activity+json']"):
        if node.get("href"):
            return "the page links an ActivityPub (Mastodon) representation of itself"
    if doc.xpath("//*[@id='mastodon']"):
        return "the page's root element is Mastodon's #mastodon"
    return None


def extract(doc: PageDoc, draft: Draft) -> None:
    _initial_state(doc, draft)
    _markup(doc, draft)
    match = _STATUS_PATH.search(url_path(draft.best("url") or doc.url))
    if match:
        draft.offer("post_id", match.group(1), "status URL path", MARKUP - 10)
        draft.set_kind("post", 50)
    username = doc.meta("profile:username")
    if username:
        draft.offer("author_handle", username, 'meta[property="profile:username"]', META)


def _initial_state(doc: PageDoc, draft: Draft) -> None:
    states = doc.script_json(id_="initial-state")
    if not states or not isinstance(states[0], dict):
        return
    state: dict[str, Any] = states[0]
    statuses = state.get("statuses")
    accounts = state.get("accounts") or {}
    if not isinstance(statuses, dict) or not statuses:
        return
    wanted = _STATUS_PATH.search(url_path(doc.url))
    status = statuses.get(wanted.group(1)) if wanted else None
    if not isinstance(status, dict):
        status = next((s for s in statuses.values() if isinstance(s, dict)), None)
    if status is None:
        return
    where = "script#initial-state statuses"
    draft.offer("post_id", status.get("id"), f"{where}.id", EMBEDDED)
    draft.offer("url", status.get("url") or status.get("uri"), f"{where}.url", EMBEDDED)
    draft.offer("published_at", status.get("created_at"), f"{where}.created_at", EMBEDDED)
    content = status.get("content")
    if isinstance(content, str):
        draft.offer("text", _html_text(content), f"{where}.content", EMBEDDED)
    account = status.get("account")
    if isinstance(account, str):
        account = accounts.get(account)
    if isinstance(account, dict):
        draft.offer("author_id", account.get("id"), f"{where}.account.id", EMBEDDED)
        draft.offer("author_name", account.get("display_name"), f"{where}.account.display_name", EMBEDDED)
        draft.offer("author_handle", account.get("acct"), f"{where}.account.acct", EMBEDDED)
    for name, key in (("replies", "replies_count"), ("reposts", "reblogs_count"), ("likes", "favourites_count")):
        draft.count(name, status.get(key), f"{where}.{key}", EMBEDDED)
    for item in status.get("media_attachments") or []:
        if isinstance(item, dict):
            kind: MediaKind = "video" if item.get("type") in ("video", "gifv") else "image"
            draft.add_media(kind, item.get("url"), f"{where}.media_attachments")
    draft.set_kind("post", 60)


def _markup(doc: PageDoc, draft: Draft) -> None:
    article = doc.xpath(_STATUS_ARTICLE)
    if not article:
        return
    node = article[0]
    where = f"<{node.tag} data-status-id>"
    draft.offer("post_id", node.get("data-status-id"), f"{where} attribute", MARKUP)
    name, name_from = _display_name(node)
    draft.offer("author_name", name, f"{where} {name_from}", MARKUP)
    handle, handle_from = _handle(node)
    draft.offer("author_handle", handle, f"{where} {handle_from}", MARKUP)
    content = node.xpath(".//*[contains(concat(' ', @class, ' '), ' content ')]")
    if content:
        draft.offer("text", "\n".join(_paragraphs(content[0])), f"{where} .content", MARKUP)
    times = node.xpath(".//time[@datetime]")
    if times:
        draft.offer("published_at", times[0].get("datetime"), f"{where} time[datetime]", MARKUP)
    for image in node.xpath(".//*[contains(@class,'media')]//img[@src]"):
        draft.add_media("image", doc.absolute(image.get("src")), f"{where} .media img")
    for video in node.xpath(".//*[contains(@class,'media')]//video[@src]"):
        draft.add_media("video", doc.absolute(video.get("src")), f"{where} .media video")
    draft.set_kind("post", 55)


def _classed(name: str) -> str:
    """XPath: descendants whose class list holds `name` (not merely a class containing it)."""
    return f".//*[contains(concat(' ', normalize-space(@class), ' '), ' {name} ')]"


HANDLE_CLASSES = ("display-name__account", "handle")
"""Where the web UI puts `@user@server`: nested inside `.display-name` since Mastodon 2."""
_HANDLE = re.compile(r"@[^\s@·]+(?:@[^\s@·]+)?")


def _display_name(node: Any) -> tuple[str | None, str]:
    """The author's display name: `.display-name__html` (Mastodon 2 and later, server-rendered
    or web UI), else `.display-name` without the handle nested in it (older markup)."""
    found = node.xpath(_classed("display-name__html"))
    if found:
        return clean(found[0].text_content()), ".display-name__html"
    found = node.xpath(_classed("display-name"))
    if not found:
        return None, ".display-name"
    shown = copy.deepcopy(found[0])
    for nested in [n for name in HANDLE_CLASSES for n in shown.xpath(_classed(name))]:
        nested.drop_tree()
    return clean(shown.text_content()), ".display-name (without the handle in it)"


def _handle(node: Any) -> tuple[str | None, str]:
    """The author's `@user@server` (or `@user`), without a role the web UI may add after it."""
    for name in HANDLE_CLASSES:
        found = node.xpath(_classed(name))
        if found:
            text = clean(found[0].text_content()) or ""
            match = _HANDLE.search(text)
            return (match.group(0) if match else text or None), f".{name}"
    return None, ".handle"


def _paragraphs(node: Any) -> list[str]:
    paragraphs = node.xpath("./p")
    if not paragraphs:
        return [clean(node.text_content()) or ""]
    return [text for p in paragraphs if (text := clean(p.text_content()))]


def _html_text(fragment: str) -> str:
    import lxml.html

    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except Exception:
        return fragment
    return "\n".join(_paragraphs(root))


PLATFORM = Platform(
    id="mastodon",
    name="Mastodon",
    hosts=KNOWN_HOSTS,
    site_names=("Mastodon",),
    extract=extract,
    claims=claims,
    account_path=re.compile(r"^/@([^/@]+)/"),
)
