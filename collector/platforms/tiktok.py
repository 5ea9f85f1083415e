"""TikTok videos, photo posts and profiles.

Reads, in order: the hydration JSON the server embeds (`<script
id="__UNIVERSAL_DATA_FOR_REHYDRATION__">` → `__DEFAULT_SCOPE__["webapp.video-detail"].itemInfo
.itemStruct` or `["webapp.user-detail"].userInfo`; the older `<script id="SIGI_STATE">`
`ItemModule`/`UserModule`; and `__NEXT_DATA__` `props.pageProps.itemInfo.itemStruct`): video id,
`createTime`, `desc`, `stats`/`statsV2`, `author.uniqueId`/`nickname`/`id`, play and cover URLs;
then the URL path (`/@user/video/<id>`). The hydration `statusCode` gives the page state.
"""

from __future__ import annotations

import re
from typing import Any

from collector.evidence.post import PageState, PageStateName
from collector.platforms.draft import EMBEDDED, MARKUP, Draft
from collector.platforms.page import PageDoc
from collector.platforms.registry import Platform
from collector.platforms.values import dig, own_url, url_path

_VIDEO_PATH = re.compile(r"^/@([^/]+)/(?:video|photo)/(\d{6,25})")
_SHORT_PATH = re.compile(r"^/(?:v|embed(?:/v2)?|share/video)/(\d{6,25})")
_PROFILE_PATH = re.compile(r"^/@([^/?#]+)/?$")
_HYDRATION = "__UNIVERSAL_DATA_FOR_REHYDRATION__"
# statusCode values of the web app's detail responses (observed on tiktok.com).
_UNAVAILABLE: dict[int, PageStateName] = {
    10201: "not-found",
    10202: "not-found",
    10204: "not-found",
    10221: "not-found",
    10216: "login-wall",
    10222: "login-wall",
}


def extract(doc: PageDoc, draft: Draft) -> None:
    item, user, where = _hydration(doc)
    if item is not None:
        _offer_item(draft, item, user, where)
    elif user is not None:
        _offer_user(draft, user, where)
        draft.offer("text", user.get("signature"), f"{where}.signature", EMBEDDED)
        draft.set_kind("profile", 60)
    elif _scopes(doc):
        draft.notes.append(f"TikTok: the {_HYDRATION} data holds no video or user")
    else:
        draft.notes.append(
            f"TikTok: no hydration data ({_HYDRATION}, SIGI_STATE, __NEXT_DATA__) on the page; "
            "read from meta tags"
        )
    url, which = own_url(doc, draft, PLATFORM)
    path = (url_path(url) or "/")
    if found := _VIDEO_PATH.match(path):
        draft.offer("post_id", found.group(2), f"video {which} path", MARKUP - 10)
        draft.offer("author_handle", found.group(1), f"video {which} path", MARKUP - 20)
        draft.set_kind("post", 50)
    elif found := _SHORT_PATH.match(path):
        draft.offer("post_id", found.group(1), f"video {which} path", MARKUP - 10)
        draft.set_kind("post", 50)
    elif found := _PROFILE_PATH.match(path):
        draft.offer("author_handle", found.group(1), f"profile {which} path", MARKUP - 10)
        draft.set_kind("profile", 50)


def page_state(doc: PageDoc) -> PageState | None:
    for detail in _details(doc):
        code = detail.get("statusCode")
        if isinstance(code, int) and code != 0:
            message = str(detail.get("statusMsg") or "").strip()
            state = _UNAVAILABLE.get(code, "error")
            return PageState(
                state=state,
                reason=f"TikTok hydration statusCode {code}{': ' + message if message else ''}",
            )
    return None


def _hydration(doc: PageDoc) -> tuple[dict[str, Any] | None, dict[str, Any] | None, str]:
    """The video item and its author (or the profile's user), with where they came from."""
    for scope in _scopes(doc):
        detail = scope.get("webapp.video-detail")
        struct = dig(detail, "itemInfo", "itemStruct")
        if isinstance(struct, dict):
            return struct, None, f"{_HYDRATION} video-detail itemStruct"
        user = dig(scope.get("webapp.user-detail"), "userInfo", "user")
        if isinstance(user, dict):
            return None, user, f"{_HYDRATION} user-detail userInfo.user"
    for sigi in doc.script_json(id_="SIGI_STATE"):
        items = dig(sigi, "ItemModule")
        users = dig(sigi, "UserModule", "users")
        users = users if isinstance(users, dict) else {}
        if isinstance(items, dict) and items:
            wanted = _VIDEO_PATH.match(url_path(doc.url) or "/")
            item = items.get(wanted.group(2)) if wanted else None
            item = item if isinstance(item, dict) else next(iter(items.values()), None)
            if isinstance(item, dict):
                author = users.get(str(item.get("author")))
                return item, author if isinstance(author, dict) else None, "SIGI_STATE ItemModule"
        if users:
            first = next(iter(users.values()), None)
            if isinstance(first, dict):
                return None, first, "SIGI_STATE UserModule.users"
    for data in doc.script_json(id_="__NEXT_DATA__"):
        struct = dig(data, "props", "pageProps", "itemInfo", "itemStruct")
        if isinstance(struct, dict):
            return struct, None, "__NEXT_DATA__ itemStruct"
    return None, None, ""


def _offer_item(
    draft: Draft, item: dict[str, Any], user: dict[str, Any] | None, where: str
) -> None:
    draft.offer("post_id", _text(item.get("id")), f"{where}.id", EMBEDDED)
    draft.offer("published_at", _text(item.get("createTime")), f"{where}.createTime", EMBEDDED)
    draft.offer("text", item.get("desc"), f"{where}.desc", EMBEDDED)
    author = item.get("author")
    if isinstance(author, dict):
        _offer_user(draft, author, f"{where}.author")
    else:
        draft.offer("author_handle", _text(author), f"{where}.author", EMBEDDED)
        draft.offer("author_name", item.get("nickname"), f"{where}.nickname", EMBEDDED)
        draft.offer("author_id", _text(item.get("authorId")), f"{where}.authorId", EMBEDDED)
        if user is not None:
            _offer_user(draft, user, "SIGI_STATE UserModule.users")
    for stats_key in ("statsV2", "stats"):  # statsV2 gives exact figures as strings
        stats = item.get(stats_key)
        if not isinstance(stats, dict):
            continue
        for key, name in (
            ("commentCount", "replies"),
            ("repostCount", "reposts"),
            ("diggCount", "likes"),
            ("playCount", "views"),
        ):
            draft.count(
                name,
                stats.get(key),
                f"{where}.{stats_key}.{key}",
                EMBEDDED if stats_key == "statsV2" else EMBEDDED - 1,
            )
    video = item.get("video")
    if isinstance(video, dict):
        draft.add_media(
            "video", video.get("playAddr") or video.get("downloadAddr"), f"{where}.video.playAddr"
        )
        draft.add_media(
            "image", video.get("originCover") or video.get("cover"), f"{where}.video.cover"
        )
    images = dig(item, "imagePost", "images")
    for image in images if isinstance(images, list) else []:
        urls = dig(image, "imageURL", "urlList")
        if isinstance(urls, list) and urls:
            draft.add_media("image", urls[0], f"{where}.imagePost.images")
    draft.set_kind("post", 60)


def _offer_user(draft: Draft, user: dict[str, Any], where: str) -> None:
    draft.offer("author_handle", user.get("uniqueId"), f"{where}.uniqueId", EMBEDDED)
    draft.offer("author_name", user.get("nickname"), f"{where}.nickname", EMBEDDED)
    draft.offer("author_id", _text(user.get("id")), f"{where}.id", EMBEDDED)


def _scopes(doc: PageDoc) -> list[dict[str, Any]]:
    scopes = []
    for data in doc.script_json(id_=_HYDRATION):
        scope = dig(data, "__DEFAULT_SCOPE__")
        if isinstance(scope, dict):
            scopes.append(scope)
    return scopes


def _details(doc: PageDoc) -> list[dict[str, Any]]:
    out = []
    for scope in _scopes(doc):
        for key in ("webapp.video-detail", "webapp.user-detail"):
            detail = scope.get(key)
            if isinstance(detail, dict):
                out.append(detail)
    return out


def _text(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    return str(value)


PLATFORM = Platform(
    id="tiktok",
    name="TikTok",
    hosts=("tiktok.com", "vm.tiktok.com"),
    site_names=("TikTok",),
    extract=extract,
    page_state=page_state,
    account_path=re.compile(r"^/@([^/]+)/"),
)
