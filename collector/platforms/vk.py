"""VK (VKontakte) public pages: community and user walls, single wall posts (mobile and desktop).

VK embeds no page data: `window.vk` holds only site settings (viewer id, page time). Reads
the server-rendered markup: the wall owner's name (`.basisGroup__groupTitle` / `.op_header`
/ `.page_name`), the owner id (negative for communities) from the owner's links
(`owner_id=`, `/photo<owner>_…?from=profile`), the screen name from the canonical URL, the
profile's description; on a single post (`/wall<owner>_<id>`, `?w=wall…`) the post's
`.wall_item` (`data-post-id`, `.pi_author`, `.pi_text` including the part behind "See more",
photos, reactions, shares, views). A wall lists many posts: none of them is taken as the
page's post. VK dates are relative and zone-less ("today at 3:40 pm"); they are not read.
"""

from __future__ import annotations

import copy
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from collector.evidence.post import PageState
from collector.platforms.draft import MARKUP, OPEN_GRAPH, Draft
from collector.platforms.page import PageDoc, clean
from collector.platforms.registry import Platform

_WALL = re.compile(r"wall(-?\d{1,12})_(\d{1,12})")
_SCREEN = re.compile(r"^/([A-Za-z0-9_.]{2,64})/?$")
_OWNER_PHOTO = re.compile(r"^/photo(-?\d{1,12})_\d+")
_SPACE = re.compile(r"\s+")
_BG_URL = re.compile(r"""background-image:\s*url\(['"]?([^'")]+)""")
_NUMBER = re.compile(r"(\d[\d\s,.]*)")
_ITEM = "//*[contains(concat(' ', normalize-space(@class), ' '), ' wall_item ')]"
_RESERVED = frozenset(
    {"feed", "im", "login", "search", "groups", "friends", "video", "music", "away.php"}
)
NOT_FOUND = (
    "this page has either been deleted or not been created yet",
    "страница удалена либо ещё не создана",
    "post not found",
    "запись не найдена",
    "запись удалена",
)
LOGIN_WALL = (
    "this is a private community",
    "это закрытое сообщество",
    "this profile is private",
    "это закрытый профиль",
)


def extract(doc: PageDoc, draft: Draft) -> None:
    """Offer the wall owner's values; on a single-post page, the post's own values."""
    draft.notes.append(
        "vk: no embedded post data (window.vk holds only site settings); read from the markup"
    )
    wanted = _wanted_post(doc)
    items = doc.xpath(_ITEM)
    post = _find_item(items, wanted) if wanted else None
    _owner(doc, draft, describe=post is None)
    if post is not None:
        _offer_post(doc, draft, post)
        return
    ids = [i for item in items if (i := _item_id(item))]
    if ids:
        draft.set_kind("profile", 50)
        pinned = " (pinned)" if doc.xpath(f"({_ITEM})[1]//*[contains(@class,'wi_explain')]") else ""
        draft.notes.append(
            f"vk: a wall listing {len(ids)} posts (first: wall{ids[0]}{pinned}); "
            "none of them is taken as the page's post"
        )
        draft.missing["post_id"] = f"a wall page, not a single post (it lists {len(ids)} posts)"
        draft.missing["published_at"] = "a wall page has no publication time of its own"
    elif doc.xpath("//*[contains(@class,'basisGroup') or contains(@class,'owner_panel')]"):
        draft.set_kind("profile", 50)


def _owner(doc: PageDoc, draft: Draft, *, describe: bool) -> None:
    name_expr = (
        "//*[contains(@class,'basisGroup__groupTitle') or contains(@class,'op_header') "
        "or contains(@class,'page_name') or contains(@class,'OwnerPageName')]"
    )
    for node in doc.xpath(name_expr)[:1]:
        draft.offer(
            "author_name",
            clean(node.text_content()),
            ".basisGroup__groupTitle / .op_header (wall owner)",
            MARKUP,
        )
    owner, where = None, ""
    for link in doc.xpath("//a[contains(@href,'owner_id=')]/@href")[:5]:
        values = parse_qs(urlsplit(str(link)).query).get("owner_id") or []
        if values and re.fullmatch(r"-?\d{1,12}", values[0]):
            owner, where = values[0], "owner action link (owner_id=)"
            break
    if owner is None:
        for link in doc.xpath("//a[contains(@href,'from=profile')]/@href")[:5]:
            match = _OWNER_PHOTO.match(str(link))
            if match:
                owner, where = match.group(1), "owner photo link (/photo<owner>_…?from=profile)"
                break
    if owner is not None:
        draft.offer("author_id", owner, f"{where}; negative = community", MARKUP)
    canonical = doc.link("canonical") or _attr(doc, "//*[@data-canonical]/@data-canonical")
    path = urlsplit(canonical).path if canonical else ""
    screen = _SCREEN.match(path)
    if screen and not _WALL.fullmatch(screen.group(1)) and screen.group(1) not in _RESERVED:
        draft.offer(
            "author_handle", screen.group(1), "canonical URL path (the screen name)", OPEN_GRAPH + 1
        )
    summary = clean(doc.meta("og:description") or doc.meta("description"))
    if summary and describe:
        for dd in doc.xpath("//*[contains(@class,'profile_info')]//dd")[:20]:
            if (clean(dd.text_content()) or "").startswith(summary[:60]):
                draft.offer("text", _text(dd), ".profile_info dd (the owner's description)", MARKUP)
                break


def _wanted_post(doc: PageDoc) -> str | None:
    try:
        parts = urlsplit(doc.url)
    except ValueError:
        return None
    for candidate in (parts.path.strip("/"), *(parse_qs(parts.query).get("w") or [])):
        match = _WALL.fullmatch(candidate)
        if match:
            return f"{match.group(1)}_{match.group(2)}"
    return None


def _find_item(items: list[Any], wanted: str) -> Any:
    return next((item for item in items if _item_id(item) == wanted), None)


def _item_id(item: Any) -> str | None:
    for value in item.xpath(".//@data-post-id")[:1]:
        if re.fullmatch(r"-?\d{1,12}_\d{1,12}", str(value)):
            return str(value)
    for value in item.xpath(".//a[contains(@class,'post__anchor')]/@name")[:1]:
        match = re.fullmatch(r"post(-?\d{1,12}_\d{1,12})", str(value))
        if match:
            return match.group(1)
    return None


def _offer_post(doc: PageDoc, draft: Draft, item: Any) -> None:
    post = _item_id(item) or ""
    where = f".wall_item[data-post-id={post}]"
    draft.offer("post_id", f"wall{post}", f"{where} data-post-id", MARKUP)
    draft.offer(
        "url",
        f"https://vk.com/wall{post}",
        f"{where} data-post-id (vk.com/wall<owner>_<id>)",
        MARKUP,
    )
    draft.offer("author_id", post.split("_", 1)[0], f"{where} data-post-id owner part", MARKUP)
    for node in item.xpath(".//*[contains(@class,'pi_author')]")[:1]:
        draft.offer("author_name", clean(node.text_content()), f"{where} .pi_author", MARKUP)
    for node in item.xpath(".//*[contains(@class,'pi_text')]")[:1]:
        node = copy.deepcopy(node)
        for more in node.xpath(".//*[contains(@class,'pi_text_more')]"):
            more.drop_tree()
        draft.offer(
            "text", _text(node), f"{where} .pi_text (with the text behind 'See more')", MARKUP
        )
    label = _attr(item, ".//*[contains(@class,'wall_item_views')]/@aria-label")
    draft.count("views", _number(label), f"{where} .wall_item_views aria-label", MARKUP)
    reacted = item.xpath(".//*[contains(@class,'visually-hidden')][contains(text(),'reacted')]")
    if reacted:
        draft.count(
            "likes",
            _number(reacted[0].text_content()),
            f"{where} reactions ('N people reacted')",
            MARKUP,
        )
    share = _attr(item, ".//a[contains(@href,'act=publish')]/@aria-label")
    draft.count("reposts", _number(share), f"{where} share button aria-label", MARKUP)
    for node in item.xpath(".//*[@data-src_big]"):
        draft.add_media(
            "image", (node.get("data-src_big") or "").split("|", 1)[0], f"{where} data-src_big"
        )
    for node in item.xpath(".//*[contains(@class,'thumb_map_img')][@style]"):
        found = _BG_URL.search(node.get("style") or "")
        if found:
            draft.add_media("image", doc.absolute(found.group(1)), f"{where} .thumb_map_img")
    draft.missing["published_at"] = (
        "VK shows only a relative, zone-less date (e.g. 'today at 3:40 pm')"
    )
    draft.set_kind("post", 60)


def page_state(doc: PageDoc) -> PageState | None:
    shown = " | ".join(
        (clean(n.text_content()) or "").lower()
        for n in doc.xpath(
            "//title | //h1 | //h2 | //*[contains(@class,'service_msg') or contains(@class,'message_page_body')]"
        )[:12]
    )
    for phrase in NOT_FOUND:
        if phrase in shown:
            return PageState(state="not-found", reason=f"VK says {phrase!r}")
    for phrase in LOGIN_WALL:
        if phrase in shown:
            return PageState(state="login-wall", reason=f"VK says {phrase!r}")
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


def _number(text: Any) -> str | None:
    match = _NUMBER.search(str(text or ""))
    return re.sub(r"[\s,.]", "", match.group(1)) if match else None


def _attr(node: Any, expr: str) -> str | None:
    found = node.xpath(expr)
    return str(found[0]) if found else None


PLATFORM = Platform(
    id="vk",
    name="VK",
    hosts=("vk.com", "m.vk.com", "vk.ru"),
    site_names=("VK", "ВКонтакте", "VKontakte"),
    extract=extract,
    page_state=page_state,
)
