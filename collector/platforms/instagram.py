"""Instagram posts (`/p/`, `/reel/`, `/tv/`) and profiles.

Reads, in order: the legacy page state (`window._sharedData` / `__additionalDataLoaded`:
`graphql.shortcode_media` with id, shortcode, owner, taken_at, caption, counts, media; or the
API `items[0]`), the current web app's route props in `<script type="application/json"
data-sjs>` (`media_id`, `media_owner_id`, route `params.shortcode`, profile `id`), the
`instapp:owner_user_id` meta tag, the texts Instagram writes into its meta description and
titles ("298K likes, 553 comments - willyrex on May 29, 2021: "…"", "Name (@handle) • …"),
and the URL path (`/p/<shortcode>/`, `/<username>/`).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from collector.platforms.draft import EMBEDDED, MARKUP, META, OPEN_GRAPH, Draft
from collector.platforms.page import PageDoc, clean
from collector.platforms.registry import Platform
from collector.platforms.values import first_key, json_at, own_url, url_path

_POST_PATH = re.compile(r"^/(?:[A-Za-z0-9._]+/)?(p|reel|reels|tv)/([A-Za-z0-9_-]{5,64})/?$")
_PROFILE_PATH = re.compile(r"^/([A-Za-z0-9._]{1,30})/?$")
_NOT_PROFILES = frozenset({"explore", "accounts", "direct", "stories", "reels", "about", "legal"})
_STATE_MARKERS = (
    re.compile(r"window\._sharedData\s*=\s*"),
    re.compile(r"window\.__additionalDataLoaded\(\s*'[^']*'\s*,\s*"),
)
_NAME_HANDLE = re.compile(r"^(?P<name>[^\"“()]{1,100}?)\s*\(@(?P<handle>[A-Za-z0-9._]{1,30})\)")
_NAME_ON = re.compile(r"^(?P<name>.+?) on Instagram\b")
_DESCRIPTION = re.compile(
    r"^(?P<likes>[\d.,]+[KMB]?) likes?, (?P<comments>[\d.,]+[KMB]?) comments? - "
    r"(?P<handle>[A-Za-z0-9._]{1,30}) on (?P<date>[A-Z][a-z]+ \d{1,2}, \d{4})"
)
_BIO = re.compile(r"\bon Instagram: [\"“](?P<bio>.*)[\"”]\.?$", re.DOTALL)


def extract(doc: PageDoc, draft: Draft) -> None:
    if not _legacy_state(doc, draft) and not _route(doc, draft):
        draft.notes.append(
            "Instagram: no embedded post or profile data (_sharedData, route props) on the page; "
            "read from meta tags"
        )
    url, which = own_url(doc, draft, PLATFORM)
    path = (url_path(url) or "/")
    if post_match := _POST_PATH.match(path):
        draft.offer("post_id", post_match.group(2), f"post {which} path", MARKUP - 10)
        draft.set_kind("post", 50)
    elif (profile := _PROFILE_PATH.match(path)) and profile.group(1) not in _NOT_PROFILES:
        draft.offer("author_handle", profile.group(1), f"profile {which} path", MARKUP - 10)
        draft.set_kind("profile", 50)
    owner = doc.meta("instapp:owner_user_id")
    if owner and owner.isdigit():
        draft.offer("author_id", owner, 'meta[property="instapp:owner_user_id"]', META)
    _titles(doc, draft)
    _description(doc, draft)


# ----------------------------------------------------------------------- legacy page state


def _legacy_state(doc: PageDoc, draft: Draft) -> bool:
    for body in doc.script_texts():
        for marker in _STATE_MARKERS:
            found = marker.search(body)
            if not found:
                continue
            state = json_at(body, found.end(), doc.notes, "Instagram page state")
            media = first_key(state, "shortcode_media")
            if isinstance(media, dict):
                _graphql_media(doc, draft, media)
                return True
            items = first_key(state, "items")
            if isinstance(items, list) and items and isinstance(items[0], dict):
                _api_item(doc, draft, items[0], "page state items[0]")
                return True
    return False


def _graphql_media(doc: PageDoc, draft: Draft, media: dict[str, Any]) -> None:
    where = "window._sharedData shortcode_media"
    draft.offer("post_id", media.get("shortcode"), f"{where}.shortcode", EMBEDDED)
    draft.offer(
        "published_at", media.get("taken_at_timestamp"), f"{where}.taken_at_timestamp", EMBEDDED
    )
    owner = media.get("owner")
    if isinstance(owner, dict):
        draft.offer("author_id", owner.get("id"), f"{where}.owner.id", EMBEDDED)
        draft.offer("author_handle", owner.get("username"), f"{where}.owner.username", EMBEDDED)
        draft.offer("author_name", owner.get("full_name"), f"{where}.owner.full_name", EMBEDDED)
    caption = first_key(media.get("edge_media_to_caption"), "text")
    draft.offer("text", caption, f"{where}.edge_media_to_caption", EMBEDDED)
    for key, name in (
        ("edge_media_preview_like", "likes"),
        ("edge_liked_by", "likes"),
        ("edge_media_to_parent_comment", "replies"),
        ("edge_media_to_comment", "replies"),
    ):
        edge = media.get(key)
        if isinstance(edge, dict):
            draft.count(name, edge.get("count"), f"{where}.{key}.count", EMBEDDED)
    draft.count("views", media.get("video_view_count"), f"{where}.video_view_count", EMBEDDED)
    nodes: list[Any] = [media]
    children = media.get("edge_sidecar_to_children")
    if isinstance(children, dict) and isinstance(children.get("edges"), list):
        nodes = [e.get("node") for e in children["edges"] if isinstance(e, dict)] or nodes
    for node in nodes:
        if isinstance(node, dict):
            if node.get("is_video"):
                draft.add_media("video", node.get("video_url"), f"{where}.video_url")
            draft.add_media("image", node.get("display_url"), f"{where}.display_url")
    draft.set_kind("post", 60)


def _api_item(doc: PageDoc, draft: Draft, item: dict[str, Any], where: str) -> None:
    draft.offer("post_id", item.get("code"), f"{where}.code", EMBEDDED)
    draft.offer("published_at", item.get("taken_at"), f"{where}.taken_at", EMBEDDED)
    user = item.get("user") or item.get("owner")
    if isinstance(user, dict):
        draft.offer(
            "author_id", _id(user.get("pk") or user.get("id")), f"{where}.user.pk", EMBEDDED
        )
        draft.offer("author_handle", user.get("username"), f"{where}.user.username", EMBEDDED)
        draft.offer("author_name", user.get("full_name"), f"{where}.user.full_name", EMBEDDED)
    caption = item.get("caption")
    if isinstance(caption, dict):
        draft.offer("text", caption.get("text"), f"{where}.caption.text", EMBEDDED)
    draft.count("likes", item.get("like_count"), f"{where}.like_count", EMBEDDED)
    draft.count("replies", item.get("comment_count"), f"{where}.comment_count", EMBEDDED)
    draft.count(
        "views", item.get("play_count") or item.get("view_count"), f"{where}.play_count", EMBEDDED
    )
    carousel = item.get("carousel_media")
    for node in carousel if isinstance(carousel, list) else [item]:
        if not isinstance(node, dict):
            continue
        videos = node.get("video_versions")
        if isinstance(videos, list) and videos and isinstance(videos[0], dict):
            draft.add_media("video", videos[0].get("url"), f"{where}.video_versions")
        candidates = first_key(node.get("image_versions2"), "candidates")
        if isinstance(candidates, list) and candidates and isinstance(candidates[0], dict):
            draft.add_media("image", candidates[0].get("url"), f"{where}.image_versions2")
    draft.set_kind("post", 60)


# ----------------------------------------------------------------------- current web app


def _route(doc: PageDoc, draft: Draft) -> bool:
    """The route the server rendered: post or profile ids in `initialRouteInfo`."""
    for blob in doc.script_json(type_="application/json"):
        if not isinstance(blob, (dict, list)):
            continue
        info = first_key(blob, "xdt_api__v1__media__shortcode__web_info")
        items = info.get("items") if isinstance(info, dict) else None
        if isinstance(items, list) and items and isinstance(items[0], dict):
            _api_item(
                doc, draft, items[0], "data-sjs xdt_api__v1__media__shortcode__web_info.items[0]"
            )
            return True
        route = first_key(blob, "initialRouteInfo")
        route = route.get("route") if isinstance(route, dict) else None
        if not isinstance(route, dict):
            continue
        root = route.get("rootView")
        props = root.get("props") if isinstance(root, dict) else None
        params = route.get("params")
        if not isinstance(props, dict):
            continue
        where = "data-sjs initialRouteInfo.route"
        page = first_key(props.get("page_logging"), "name")
        if isinstance(params, dict):
            draft.offer("post_id", params.get("shortcode"), f"{where}.params.shortcode", EMBEDDED)
        if props.get("media_id"):
            draft.offer(
                "author_id",
                _id(props.get("media_owner_id")),
                f"{where}.rootView.props.media_owner_id",
                EMBEDDED,
            )
            draft.set_kind("post", 60)
            draft.notes.append(
                "Instagram: the page embeds only the post's route ids (shortcode, media and owner "
                "id); caption, date and counts are read from the meta description"
            )
            return True
        if page == "profilePage":
            draft.offer("author_id", _id(props.get("id")), f"{where}.rootView.props.id", EMBEDDED)
            draft.set_kind("profile", 60)
            return True
    return False


# ----------------------------------------------------------------------- meta texts


def _titles(doc: PageDoc, draft: Draft) -> None:
    for label, value in (
        ('meta[name="twitter:title"]', doc.meta("twitter:title")),
        ('meta[property="og:title"]', doc.meta("og:title")),
        ("<title>", doc.title()),
    ):
        if not value:
            continue
        if found := _NAME_HANDLE.match(value):
            draft.offer("author_name", found.group("name"), label, OPEN_GRAPH)
            draft.offer("author_handle", found.group("handle"), label, OPEN_GRAPH)
        elif found := _NAME_ON.match(value):
            draft.offer("author_name", found.group("name"), label, OPEN_GRAPH - 1)


def _description(doc: PageDoc, draft: Draft) -> None:
    """The meta description: counts, handle, date and caption (posts), bio (profiles)."""
    text = doc.meta("description") or doc.meta("og:description")
    if not text:
        return
    where = 'meta[name="description"]'
    quoted = _BIO.search(text)
    found = _DESCRIPTION.match(text)
    if found is None:
        if quoted and draft.kind == "profile":
            draft.offer("text", quoted.group("bio"), f"{where} (quoted bio)", META)
        return
    draft.count("likes", found.group("likes"), f"{where} (as shown, may be rounded)", META)
    draft.count("replies", found.group("comments"), f"{where} (as shown, may be rounded)", META)
    draft.offer("author_handle", found.group("handle"), where, META)
    if not draft.has("published_at"):
        try:
            day = datetime.strptime(found.group("date"), "%B %d, %Y").date().isoformat()
        except ValueError:
            day = None
        draft.offer("published_at", day, f"{where} (date as shown, no time of day)", META)
    caption = re.search(r": [\"“](?P<caption>.*)[\"”]\.?$", text[found.end() :], re.DOTALL)
    if caption:
        draft.offer("text", caption.group("caption"), f"{where} (quoted caption)", META)


# ----------------------------------------------------------------------- small readers


def _id(value: Any) -> str | None:
    text = clean(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else None
    return text if text and text.isdigit() else None


PLATFORM = Platform(
    id="instagram",
    name="Instagram",
    hosts=("instagram.com", "instagr.am"),
    site_names=("Instagram",),
    extract=extract,
    account_path=re.compile(r"^/(?!(?:p|reel|reels|tv|explore|accounts|stories)/)([A-Za-z0-9_.]+)/"),
)
