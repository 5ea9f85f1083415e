"""YouTube videos (watch, shorts, live, youtu.be, embeds) and channels.

Reads, in order: `var ytInitialPlayerResponse = {…}` (`videoDetails`: videoId, channelId,
author, title, shortDescription, viewCount; `microformat.playerMicroformatRenderer`:
publishDate/uploadDate, ownerProfileUrl; `playabilityStatus` for the page state), `var
ytInitialData = {…}` (watch: the owner's `canonicalBaseUrl` /@handle and the like button's
count; channel: `channelMetadataRenderer` externalId, title, vanity URL, description), then the
page markup (watch-page microdata `itemprop` videoId/channelId/author name/interactionCount,
the rendered `ytd-watch-metadata` title, owner, description and like button), then the URL.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from collector.evidence.post import PageState
from collector.platforms.draft import EMBEDDED, MARKUP, Draft
from collector.platforms.page import PageDoc, clean
from collector.platforms.registry import Platform
from collector.platforms.values import dig, first_key, own_url

_VIDEO_ID = re.compile(r"^[A-Za-z0-9_-]{11}$")
_VIDEO_PATH = re.compile(r"^/(?:shorts|live|embed|v|e)/([A-Za-z0-9_-]{11})(?:[/?#]|$)")
_CHANNEL_PATH = re.compile(r"^/(?:channel/(UC[A-Za-z0-9_-]{22})|@[^/]+|c/[^/]+|user/[^/]+)/?")
_HANDLE = re.compile(r"/@([^/?#\s]+)")
_DIGITS = re.compile(r"\d[\d.,\u00a0\u202f ]*")


def extract(doc: PageDoc, draft: Draft) -> None:
    player = _assigned(doc, "ytInitialPlayerResponse")
    data = _assigned(doc, "ytInitialData")
    if isinstance(player, dict):
        _player(draft, player)
    if isinstance(data, dict):
        _initial_data(draft, data)
    _markup(doc, draft)
    _from_url(doc, draft)
    if draft.kind == "post" and not isinstance(player, dict):
        draft.notes.append("YouTube: no ytInitialPlayerResponse on the page; read from the markup")


def page_state(doc: PageDoc) -> PageState | None:
    player = _assigned(doc, "ytInitialPlayerResponse")
    status = player.get("playabilityStatus") if isinstance(player, dict) else None
    if not isinstance(status, dict):
        return None
    code = str(status.get("status") or "")
    reason = clean(status.get("reason")) or code
    if code == "ERROR":
        return PageState(state="not-found", reason=f"YouTube playabilityStatus ERROR: {reason}")
    if code == "LOGIN_REQUIRED":
        state = "interstitial" if re.search(r"\bage\b", reason, re.IGNORECASE) else "login-wall"
        return PageState(state=state, reason=f"YouTube playabilityStatus LOGIN_REQUIRED: {reason}")
    if code in ("CONTENT_CHECK_REQUIRED", "AGE_CHECK_REQUIRED", "AGE_VERIFICATION_REQUIRED"):
        return PageState(state="interstitial", reason=f"YouTube playabilityStatus {code}: {reason}")
    return None


# ----------------------------------------------------------------------- embedded data


def _player(draft: Draft, player: dict[str, Any]) -> None:
    details = player.get("videoDetails")
    if isinstance(details, dict):
        where = "ytInitialPlayerResponse.videoDetails"
        draft.offer("post_id", details.get("videoId"), f"{where}.videoId", EMBEDDED)
        draft.offer("author_id", details.get("channelId"), f"{where}.channelId", EMBEDDED)
        draft.offer("author_name", details.get("author"), f"{where}.author", EMBEDDED)
        draft.offer("title", details.get("title"), f"{where}.title", EMBEDDED)
        draft.offer("text", details.get("shortDescription"), f"{where}.shortDescription", EMBEDDED)
        draft.count("views", details.get("viewCount"), f"{where}.viewCount", EMBEDDED)
        draft.set_kind("post", 60)
    micro = dig(player, "microformat", "playerMicroformatRenderer")
    if isinstance(micro, dict):
        where = "ytInitialPlayerResponse.microformat"
        draft.offer("published_at", micro.get("publishDate"), f"{where}.publishDate", EMBEDDED)
        draft.offer("published_at", micro.get("uploadDate"), f"{where}.uploadDate", EMBEDDED - 1)
        draft.offer(
            "author_id", micro.get("externalChannelId"), f"{where}.externalChannelId", EMBEDDED - 1
        )
        draft.offer(
            "author_handle",
            _handle(micro.get("ownerProfileUrl")),
            f"{where}.ownerProfileUrl",
            EMBEDDED,
        )
        local = _simple_text(micro.get("title"))
        original = details.get("title") if isinstance(details, dict) else None
        if local and original and local != original:
            draft.notes.append(
                f"YouTube: the microformat title is a translation ({local!r}); "
                "the original videoDetails.title is kept"
            )


def _initial_data(draft: Draft, data: dict[str, Any]) -> None:
    channel = dig(data, "metadata", "channelMetadataRenderer")
    if isinstance(channel, dict):
        where = "ytInitialData.metadata.channelMetadataRenderer"
        draft.offer("author_id", channel.get("externalId"), f"{where}.externalId", EMBEDDED)
        draft.offer("author_name", channel.get("title"), f"{where}.title", EMBEDDED)
        draft.offer(
            "author_handle",
            _handle(channel.get("vanityChannelUrl")),
            f"{where}.vanityChannelUrl",
            EMBEDDED,
        )
        draft.offer("text", channel.get("description"), f"{where}.description", EMBEDDED)
        draft.offer("url", channel.get("channelUrl"), f"{where}.channelUrl", EMBEDDED)
        draft.set_kind("profile", 60)
        return
    owner = first_key(data, "videoOwnerRenderer")
    if isinstance(owner, dict):
        base = first_key(owner.get("navigationEndpoint"), "canonicalBaseUrl")
        draft.offer(
            "author_handle",
            _handle(base),
            "ytInitialData videoOwnerRenderer.canonicalBaseUrl",
            EMBEDDED - 1,
        )
    primary = first_key(data, "videoPrimaryInfoRenderer")
    like = first_key(primary, "likeButtonViewModel")
    label = first_key(like, "accessibilityText")
    if isinstance(label, str):
        draft.count(
            "likes", _number(label), "ytInitialData like button accessibilityText", EMBEDDED
        )


# ----------------------------------------------------------------------- markup


def _markup(doc: PageDoc, draft: Draft) -> None:
    micro = "watch-page microdata"
    video_id = doc.first_text("//*[@itemprop='videoId']/@content") or doc.first_text(
        "//*[@itemtype='http://schema.org/VideoObject']/*[@itemprop='identifier']/@content"
    )
    if video_id and _VIDEO_ID.match(video_id):
        draft.offer("post_id", video_id, f"{micro} itemprop=videoId", MARKUP)
        draft.set_kind("post", 50)
    draft.offer(
        "author_id",
        doc.first_text("//*[@itemprop='channelId']/@content"),
        f"{micro} itemprop=channelId",
        MARKUP,
    )
    # <link itemprop="name" content="…">: the name is in `content`, not `href`.
    name = doc.first_text("//*[@itemprop='author']//*[@itemprop='name']/@content")
    draft.offer("author_name", name, f"{micro} itemprop=author/name@content", MARKUP)
    draft.count(
        "views",
        doc.first_text("//*[@itemprop='interactionCount']/@content"),
        f"{micro} itemprop=interactionCount",
        MARKUP,
    )
    watch = "//ytd-watch-metadata"
    draft.offer(
        "title",
        doc.first_text(f"{watch}//div[@id='title']//h1"),
        "ytd-watch-metadata #title h1",
        MARKUP,
    )
    draft.offer(
        "author_name",
        doc.first_text(f"{watch}//ytd-video-owner-renderer//ytd-channel-name//a"),
        "ytd-video-owner-renderer ytd-channel-name",
        MARKUP - 1,
    )
    for expr, label in (
        (
            "//*[@id='description-inline-expander']//*[@id='plain-snippet-text']",
            "#description-inline-expander",
        ),
        ("//*[@id='eow-description']", "#eow-description"),
    ):
        node = doc.xpath(expr)
        if node and hasattr(node[0], "itertext"):
            draft.offer("text", "".join(node[0].itertext()), label, MARKUP - 5)
            break
    for label in doc.xpath(
        "//button[starts-with(@aria-label, 'like this video along with')]/@aria-label"
    )[:1]:
        draft.count("likes", _number(str(label)), "like button aria-label", MARKUP)


def _from_url(doc: PageDoc, draft: Draft) -> None:
    url, which = own_url(doc, draft, PLATFORM)
    try:
        parts = urlsplit(url)
    except ValueError:
        return
    host = (parts.hostname or "").lower()
    video = None
    if host.endswith("youtu.be"):
        video = parts.path.strip("/").split("/")[0]
    elif parts.path.rstrip("/") == "/watch":
        video = (parse_qs(parts.query).get("v") or [""])[0]
    elif found := _VIDEO_PATH.match(parts.path):
        video = found.group(1)
    if video and _VIDEO_ID.match(video):
        draft.offer("post_id", video, f"video {which}", MARKUP - 10)
        draft.set_kind("post", 50)
    elif found := _CHANNEL_PATH.match(parts.path):
        draft.offer("author_id", found.group(1), f"channel {which} path", MARKUP - 10)
        draft.offer("author_handle", _handle(parts.path), f"channel {which} path", MARKUP - 10)
        draft.set_kind("profile", 50)
    named = draft.has("author_id") or draft.has("author_name")
    if draft.kind == "post" and named and not draft.has("author_handle"):
        draft.missing["author_handle"] = (
            "the page names the channel by its id, custom URL or legacy username, not by an @handle"
        )


# ----------------------------------------------------------------------- small readers


def _assigned(doc: PageDoc, name: str) -> Any:
    """The JSON object a script assigns to `name` (`var name = {…};`)."""
    marker = re.compile(
        r"(?:var\s+|window\.|window\[['\"])" + re.escape(name) + r"(?:['\"]\])?\s*=\s*\{"
    )
    for body in doc.script_texts():
        if name not in body:
            continue
        found = marker.search(body)
        if not found:
            continue
        try:
            value, _ = json.JSONDecoder(strict=False).raw_decode(body, found.end() - 1)
        except ValueError as exc:
            doc.notes.append(f"YouTube {name}: not valid JSON ({' '.join(str(exc).split())[:120]})")
            continue
        return value
    return None


def _simple_text(value: Any) -> str | None:
    if isinstance(value, dict):
        return clean(value.get("simpleText"))
    return None


def _handle(url: Any) -> str | None:
    found = _HANDLE.search(url) if isinstance(url, str) else None
    return "@" + unquote(found.group(1)) if found else None


def _number(label: str) -> int | None:
    """The count in a like button's label ("… along with 7,373 other people")."""
    found = _DIGITS.search(label)
    if not found:
        return None
    digits = re.sub(r"\D", "", found.group(0))
    return int(digits) if digits else None


PLATFORM = Platform(
    id="youtube",
    name="YouTube",
    hosts=("youtube.com", "m.youtube.com", "youtu.be", "youtube-nocookie.com"),
    site_names=("YouTube",),
    extract=extract,
    page_state=page_state,
    account_path=re.compile(r"^/@([^/]+)/"),
)
