"""X (Twitter): x.com, twitter.com and its subdomains, old and new pages; Nitter mirrors.

Reads, in order:

- the web app's `window.__INITIAL_STATE__` (`entities.tweets` / `entities.users`), which
  carries the post on hydrated captures (logged-out pages leave it empty: noted);
- the legacy page's `<input id="init-data">` JSON (`tweetId`, `profile_id`);
- X's ProfilePage JSON-LD (name, `additionalName` handle, numeric `identifier`);
- the rendered post: the `article` whose time link is the status (User-Name, tweetText,
  `<time>`, counts in aria-labels and counter links, tweetPhoto / video), or the legacy
  `div.permalink-tweet[data-tweet-id]` (data-screen-name, data-name, data-user-id,
  `p.tweet-text`, `span._timestamp[data-time]`, stat counts, AdaptiveMedia);
- Nitter's `.main-tweet` and its "Open in Twitter" link (the page then claims X);
- `og:title` "Name (@handle) on X", `al:ios:url` twitter://status?id=, the status URL path,
  and the status id's Snowflake timestamp (the creation time, derived) as a last resort.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

from collector.evidence.post import PageState, PageStateName
from collector.platforms.draft import (
    EMBEDDED,
    MARKUP,
    META,
    OPEN_GRAPH,
    TIME_ELEMENT,
    Draft,
    normalise_time,
)
from collector.platforms.page import PageDoc, clean
from collector.platforms.registry import Platform, host_of
from collector.platforms.values import node_text, url_path

HOSTS = ("x.com", "twitter.com")
_STATUS = re.compile(r"^/(?:(\w{1,15})/|i/(?:web/)?)status(?:es)?/(\d{1,20})(?:[/?#]|$)")
_PROFILE = re.compile(r"^/(\w{1,15})/?$")
_RESERVED = frozenset({"home", "explore", "search", "notifications", "messages", "settings",
                       "login", "logout", "signup", "i", "intent", "share", "hashtag", "tos",
                       "privacy", "compose", "jobs"})
_COUNT = re.compile(
    r"(?<![\w.,])(\d[\d,.]*)\s*([KMB]?)\s+(repl(?:y|ies)|reposts?|retweets?|quote(?:s| tweets?)?"
    r"|likes?|views?)\b",
    re.IGNORECASE,
)
_COUNT_FIELD = {"repl": "replies", "repo": "reposts", "retw": "reposts", "quot": "quotes",
                "like": "likes", "view": "views"}
_OG_TITLE = re.compile(r"^(?P<name>.+?)(?: \(@(?P<handle>\w{1,15})\))? (?:on|/) (?:X|Twitter)(?:: |$)")
_FOLLOW = re.compile(r"^(\d{1,20})-(?:un)?follow$")
_SNOWFLAKE_EPOCH_MS = 1288834974657
_FIRST_SNOWFLAKE = 10**15  # ids below this are the pre-2010 sequential ids: no timestamp
_SITE_IMAGES = ("/profile_images/", "abs.twimg.com/")  # avatars, X's default card
_MAX_DEPTH = 60


def claims(doc: PageDoc) -> str | None:
    """A Nitter page names the X post it mirrors in its "Open in Twitter" link."""
    link = _nitter_original(doc)
    if link:
        return f"the page is a Nitter mirror whose 'Open in Twitter' link names {link}"
    return None


def extract(doc: PageDoc, draft: Draft) -> None:
    base = _x_base(doc)
    ids = _status_ids(doc, draft)
    embedded = _initial_state(doc, draft, ids)
    _init_data(doc, draft)
    profile = _profile_json_ld(doc, draft)
    found = _article(doc, draft, base, ids) or _legacy(doc, draft, base) or _nitter(doc, draft)
    status_id = embedded or (ids[0][0] if ids else "")
    for ident, _, source in ids:
        draft.offer("post_id", ident, f"{source} path", MARKUP - 10)
    if ids and ids[0][1] and ids[0][0] == status_id:
        draft.offer("author_handle", ids[0][1], f"{ids[0][2]} path", MARKUP - 20)
    _og_title(doc, draft)
    app_link = re.search(r"status\?id=(\d{1,20})", doc.meta("al:ios:url") or "")
    if app_link:
        draft.offer("post_id", app_link.group(1), 'meta[property="al:ios:url"]', META)
    if ids or found:
        draft.set_kind("post", 50)
        _snowflake_time(draft)
    elif profile or (_PROFILE.match(url_path(doc.link("canonical") or doc.url)) and not _reserved(doc)):
        draft.set_kind("profile", 50)
        draft.missing["post_id"] = "a profile page: no single post"
        _withdraw(draft, "published_at", "a profile page: its <time> elements date the posts "
                  "in its timeline, not the profile")
    if ids and not found and not embedded:
        draft.notes.append("X: no rendered post and no embedded post data on the page (like the "
                           "OG-only answer X gives bots); values from meta tags and the status id")
    _follow_button(doc, draft)
    _drop_site_images(draft)
    if not draft.has("author_id"):
        draft.missing["author_id"] = ("the page gives no numeric account id (X puts it only in "
                                      "its API data, absent from this page)")


# ---------------------------------------------------------------------------- embedded data


def _initial_state(doc: PageDoc, draft: Draft, ids: list[tuple[str, str, str]]) -> str | None:
    """The status id found in `window.__INITIAL_STATE__`, after offering its values."""
    for body in doc.script_texts():
        start = body.find("window.__INITIAL_STATE__=")
        if start < 0:
            continue
        try:
            state, _ = json.JSONDecoder().raw_decode(body, start + len("window.__INITIAL_STATE__="))
        except ValueError:
            draft.notes.append("X: window.__INITIAL_STATE__ is not valid JSON; ignored")
            return None
        entities = _dig(state, "entities")
        tweets = _dig(entities, "tweets", "entities")
        users = _dig(entities, "users", "entities")
        wanted = [i for i, _, _ in ids]
        tweet = next((tweets[i] for i in wanted if isinstance(tweets.get(i), dict)), None)
        if tweet is None and ids:
            draft.notes.append("X: window.__INITIAL_STATE__ carries no post (a logged-out page); "
                               "read from the rendered markup")
        if tweet is None:
            return None
        where = "window.__INITIAL_STATE__ entities.tweets"
        draft.offer("post_id", tweet.get("id_str"), f"{where}.id_str", EMBEDDED)
        draft.offer("text", tweet.get("full_text") or tweet.get("text"), f"{where}.full_text", EMBEDDED)
        draft.offer("published_at", _twitter_time(tweet.get("created_at")), f"{where}.created_at", EMBEDDED)
        for name, key in (("replies", "reply_count"), ("reposts", "retweet_count"),
                          ("quotes", "quote_count"), ("likes", "favorite_count")):
            draft.count(name, tweet.get(key), f"{where}.{key}", EMBEDDED)
        for item in _dig(tweet, "extended_entities").get("media") or []:
            if isinstance(item, dict):
                draft.add_media("image", item.get("media_url_https"), f"{where}.extended_entities.media")
        user = users.get(str(tweet.get("user") or tweet.get("user_id_str") or ""))
        if isinstance(user, dict):
            draft.offer("author_id", user.get("id_str"), "window.__INITIAL_STATE__ entities.users.id_str", EMBEDDED)
            draft.offer("author_name", user.get("name"), "window.__INITIAL_STATE__ entities.users.name", EMBEDDED)
            draft.offer("author_handle", user.get("screen_name"),
                        "window.__INITIAL_STATE__ entities.users.screen_name", EMBEDDED)
        return clean(tweet.get("id_str"))
    return None


def _init_data(doc: PageDoc, draft: Draft) -> None:
    """The legacy page's `<input id="init-data" value="{json}">`: the permalink's ids."""
    for node in doc.xpath("//input[@id='init-data'][@value]")[:1]:
        data: Any = None
        try:
            data = json.loads(node.get("value") or "")
        except ValueError:
            draft.notes.append("X: input#init-data is not valid JSON; ignored")
        if isinstance(data, dict) and data.get("pageName") == "permalink":
            draft.offer("post_id", data.get("tweetId"), "input#init-data tweetId", EMBEDDED)
            draft.offer("author_id", data.get("profile_id"), "input#init-data profile_id", EMBEDDED)


def _profile_json_ld(doc: PageDoc, draft: Draft) -> bool:
    for item in doc.json_ld():
        person = item.data.get("mainEntity")
        if "ProfilePage" not in item.types or not isinstance(person, dict):
            continue
        where = f"{item.where} ProfilePage.mainEntity"
        draft.offer("author_name", person.get("name"), f"{where}.name", EMBEDDED)
        draft.offer("author_handle", person.get("additionalName"), f"{where}.additionalName", EMBEDDED)
        ident = person.get("identifier")
        if isinstance(ident, (str, int)) and not isinstance(ident, bool):
            draft.offer("author_id", str(ident), f"{where}.identifier", EMBEDDED)
        if isinstance(person.get("url"), str):
            draft.offer("url", person["url"], f"{where}.url", EMBEDDED)
        draft.offer("text", person.get("description"), f"{where}.description", EMBEDDED)
        return True
    return False


# ---------------------------------------------------------------------------- markup


def _article(doc: PageDoc, draft: Draft, base: str, ids: list[tuple[str, str, str]]) -> bool:
    """The rendered post of the new web app (2019-): the article whose time link is the status."""
    articles = doc.xpath("//article[.//*[@data-testid='tweetText' or @data-testid='User-Name' "
                         "or @data-testid='User-Names']]")
    wanted = {i for i, _, _ in ids}
    pairs = [(article, anchor, match)
             for article in articles[:100]
             if wanted or article.get("tabindex") == "-1"  # X marks its focal post so
             for anchor in article.xpath(".//a[time][@href]")
             if (match := _STATUS.match(url_path(anchor.get("href"))))
             and (match.group(2) in wanted or not wanted)]
    if not pairs:
        return False
    chosen, link, match = pairs[0]
    where = "the post's <article>"
    draft.offer("url", urljoin(base, link.get("href") or ""), f"{where} time link", MARKUP)
    draft.offer("post_id", match.group(2), f"{where} time link", MARKUP)
    for names in chosen.xpath(".//*[@data-testid='User-Name' or @data-testid='User-Names'][1]")[:1]:
        texts = [clean(_inline_text(a)) for a in names.xpath(".//a[@href]")]
        name = next((t for t in texts if t and not t.startswith("@")), None)
        handle = next((t for t in texts if t and t.startswith("@")), None)
        draft.offer("author_name", name, f"{where} User-Name", MARKUP)
        draft.offer("author_handle", handle, f"{where} User-Name", MARKUP)
    for body in chosen.xpath(".//*[@data-testid='tweetText']")[:1]:
        draft.offer("text", _inline_text(body), f"{where} tweetText", MARKUP)
    for time in link.xpath("./time[@datetime]")[:1]:
        draft.offer("published_at", time.get("datetime"), f"{where} <time datetime>", MARKUP)
    for node in chosen.xpath(".//*[@aria-label]"):
        _counts(draft, node.get("aria-label"), f"{where} aria-label", MARKUP)
    for anchor in chosen.xpath(".//a[contains(@href,'/retweets') or contains(@href,'/quotes') "
                               "or contains(@href,'/likes') or contains(@href,'/analytics')]"):
        _counts(draft, clean(anchor.text_content()), f"{where} counter link", MARKUP)
    for image in chosen.xpath(".//*[@data-testid='tweetPhoto']//img[@src]"):
        draft.add_media("image", urljoin(base, image.get("src") or ""), f"{where} tweetPhoto img")
    for video in chosen.xpath(".//video"):
        for src in [video.get("src"), *video.xpath("./source/@src")]:
            draft.add_media("video", src, f"{where} <video>")
        draft.add_media("image", video.get("poster"), f"{where} <video poster>")
    return True


def _legacy(doc: PageDoc, draft: Draft, base: str) -> bool:
    """The server-rendered twitter.com permalink page (until 2020)."""
    found = doc.xpath("//div[contains(concat(' ', normalize-space(@class), ' '), ' permalink-tweet ')]"
                      "[@data-tweet-id]")
    if not found:
        return False
    tweet, where = found[0], "div.permalink-tweet"
    draft.offer("post_id", tweet.get("data-tweet-id"), f"{where}[data-tweet-id]", MARKUP)
    draft.offer("author_handle", tweet.get("data-screen-name"), f"{where}[data-screen-name]", MARKUP)
    draft.offer("author_name", tweet.get("data-name"), f"{where}[data-name]", MARKUP)
    draft.offer("author_id", tweet.get("data-user-id"), f"{where}[data-user-id]", MARKUP)
    path = tweet.get("data-permalink-path")
    if path and _STATUS.match(path):
        draft.offer("url", urljoin(base, path), f"{where}[data-permalink-path]", MARKUP)
    for body in tweet.xpath(".//p[contains(@class,'tweet-text')]")[:1]:
        draft.offer("text", _inline_text(body), f"{where} p.tweet-text", MARKUP)
    for stamp in tweet.xpath(".//span[contains(@class,'_timestamp')][@data-time]")[:1]:
        draft.offer("published_at", stamp.get("data-time"), f"{where} span._timestamp[data-time]", MARKUP)
    for action, name in (("reply", "replies"), ("retweet", "reposts"), ("favorite", "likes")):
        for node in tweet.xpath(f".//*[contains(@class,'ProfileTweet-action--{action}')]"
                                "//*[@data-tweet-stat-count]")[:1]:
            draft.count(name, node.get("data-tweet-stat-count"), f"{where} {action} stat count", MARKUP)
    for node in tweet.xpath(".//*[contains(@class,'AdaptiveMedia')]//*[@data-image-url]"):
        draft.add_media("image", node.get("data-image-url"), f"{where} AdaptiveMedia data-image-url")
    return True


def _nitter(doc: PageDoc, draft: Draft) -> bool:
    """Nitter's server-rendered `.main-tweet`; the X original comes from "Open in Twitter"."""
    found = doc.xpath("//*[contains(@class,'main-tweet')]")
    original = _nitter_original(doc)
    if not found or not original:
        return False
    tweet, where = found[0], "Nitter .main-tweet"
    draft.offer("url", original, "Nitter 'Open in Twitter' link", MARKUP)
    match = _STATUS.match(url_path(original))
    if match:
        draft.offer("post_id", match.group(2), "Nitter 'Open in Twitter' link", MARKUP)
    draft.offer("author_name", node_text(tweet, ".//a[contains(@class,'fullname')]"), f"{where} .fullname", MARKUP)
    draft.offer("author_handle", node_text(tweet, ".//a[contains(@class,'username')]"), f"{where} .username", MARKUP)
    for body in tweet.xpath(".//*[contains(@class,'tweet-content')]")[:1]:
        draft.offer("text", _inline_text(body), f"{where} .tweet-content", MARKUP)
    for stamp in tweet.xpath(".//*[contains(@class,'tweet-date')]/a[@title]")[:1]:
        draft.offer("published_at", _nitter_time(stamp.get("title")),
                    f"{where} .tweet-date a[title] (Nitter writes UTC)", MARKUP)
    for icon, name in (("comment", "replies"), ("retweet", "reposts"), ("quote", "quotes"),
                       ("heart", "likes"), ("play", "views")):
        for stat in tweet.xpath(f".//*[contains(concat(' ', @class, ' '), ' tweet-stat ')]"
                                f"[.//*[contains(@class,'icon-{icon}')]]")[:1]:
            draft.count(name, clean(stat.text_content()), f"{where} .tweet-stat .icon-{icon}", MARKUP)
    for image in tweet.xpath(".//*[contains(@class,'attachments')]//img[@src]"):
        draft.add_media("image", doc.absolute(image.get("src") or ""), f"{where} .attachments img")
    draft.notes.append("X: read from a Nitter mirror page, not from X; the X URL comes from its "
                       "'Open in Twitter' link")
    return True


def _og_title(doc: PageDoc, draft: Draft) -> None:
    title = doc.meta("og:title")
    match = _OG_TITLE.match(title or "")
    if match:
        draft.offer("author_name", match.group("name"), 'meta[property="og:title"] "Name (@handle) on X"', OPEN_GRAPH)
        draft.offer("author_handle", match.group("handle"), 'meta[property="og:title"] "Name (@handle) on X"', OPEN_GRAPH)


def _follow_button(doc: PageDoc, draft: Draft) -> None:
    """X names its Follow buttons after the account id: data-testid="<id>-follow"."""
    handle = (draft.best("author_handle") or "").lower()
    for node in doc.xpath("//*[@aria-label][contains(@data-testid, 'follow')]")[:50]:
        match = _FOLLOW.match(node.get("data-testid") or "")
        label = (node.get("aria-label") or "").lower()
        if handle and match and label.endswith(" " + handle):
            draft.offer("author_id", match.group(1), f'Follow button for {handle} (data-testid="<id>-follow")',
                        MARKUP - 5)
            return


def _snowflake_time(draft: Draft) -> None:
    """An X status id carries its creation time (to the millisecond); offered, to the second."""
    ident = draft.best("post_id") or ""
    if ident.isdigit() and int(ident) >= _FIRST_SNOWFLAKE:
        seconds = ((int(ident) >> 22) + _SNOWFLAKE_EPOCH_MS) // 1000
        draft.offer("published_at", seconds, f"status id {ident} (Snowflake timestamp, derived)",
                    TIME_ELEMENT - 5)


# ---------------------------------------------------------------------------- page state


def page_state(doc: PageDoc) -> PageState | None:
    """X's own error and empty-state panels, and Nitter's error panel."""
    panels = doc.xpath("//*[@data-testid='error-detail' or @data-testid='empty_state_header_text' "
                       "or @data-testid='emptyState']")
    nitter = doc.xpath("//*[contains(@class,'error-panel')]")
    text = " ".join((clean(p.text_content()) or "") for p in (panels + nitter)[:5]).lower()
    if not text:
        return None
    rules: tuple[tuple[tuple[str, ...], PageStateName], ...] = (
        (("rate limit",), "rate-limited"),
        (("posts are protected", "tweets are protected"), "login-wall"),
        (("age-restricted", "sensitive content"), "interstitial"),
        (("suspended", "doesn’t exist", "doesn't exist", "not found", "deleted",
          "no longer exists", "unavailable"), "not-found"),
    )
    for phrases, state in rules:
        if any(p in text for p in phrases):
            return PageState(state=state, reason=f"the page's error panel says {text[:120]!r}")
    return None


# ---------------------------------------------------------------------------- small helpers


def _status_ids(doc: PageDoc, draft: Draft) -> list[tuple[str, str, str]]:
    """(status id, handle, source) from the final URL, og:url and every canonical link."""
    found: list[tuple[str, str, str]] = []
    candidates = [(doc.url, "final URL"), (doc.meta("og:url") or "", 'meta[property="og:url"]')]
    for n, href in enumerate(doc.xpath("//link[@rel='canonical']/@href")[:5], start=1):
        source = '<link rel="canonical">' + (f" #{n}" if n > 1 else "")
        candidates.append((doc.absolute(str(href)), source))
        if n > 1:  # the generic extractor offers only the first
            draft.offer("url", doc.absolute(str(href)), source, OPEN_GRAPH + 1)
    hrefs = {str(h).strip() for h in doc.xpath("//link[@rel='canonical']/@href")[:5]}
    if len(hrefs) > 1:
        draft.notes.append(f"X: the page has {len(hrefs)} different <link rel=\"canonical\"> "
                           "elements; each is kept as a candidate")
    for url, source in candidates:
        if _is_x(url):
            match = _STATUS.match(url_path(url))
            if match:
                found.append((match.group(2), match.group(1) or "", source))
    return found


def _x_base(doc: PageDoc) -> str:
    """Where relative links on the page point: the X host the page claims, not a mirror's."""
    for url in (doc.url, doc.link("canonical"), doc.meta("og:url")):
        if url and _is_x(url):
            return url
    return "https://x.com/"


def _nitter_original(doc: PageDoc) -> str | None:
    for href in doc.xpath("//a[contains(@class,'icon-bird')]/@href")[:1]:
        url = str(href).strip()
        if _is_x(url) and _STATUS.match(url_path(url)):
            return url
    return None


def _is_x(url: str | None) -> bool:
    host = host_of(url or "")
    return any(host == h or host.endswith("." + h) for h in HOSTS)


def _reserved(doc: PageDoc) -> bool:
    match = _PROFILE.match(url_path(doc.link("canonical") or doc.url))
    return bool(match and match.group(1).lower() in _RESERVED)


def _counts(draft: Draft, label: str | None, source: str, rank: int) -> None:
    for number, suffix, word in _COUNT.findall(label or ""):
        name = _COUNT_FIELD.get(word[:4].lower())
        if name:
            draft.count(name, number + suffix, source, rank - (10 if suffix else 0))


def _withdraw(draft: Draft, name: str, reason: str) -> None:
    draft.withdraw(name, reason)


def _drop_site_images(draft: Draft) -> None:
    draft.drop_media(
        lambda m: m.source.startswith("meta[") and any(s in m.url for s in _SITE_IMAGES),
        "X: og:image is the author's avatar or X's default card, not the post's media",
    )
    keys = {_media_key(m.url) for m in draft.media if not m.source.startswith("meta[")}
    draft.drop_media(
        lambda m: m.source.startswith("meta[") and _media_key(m.url) in keys,
        "X: the og:image repeats a photo already read from the post",
    )


def _media_key(url: str) -> str:
    match = re.search(r"pbs\.twimg\.com/media/([\w-]+)", url)
    return match.group(1) if match else url


def _inline_text(node: Any, depth: int = 0) -> str:
    """Text of `node` with emoji images as their alt text and <br> as line breaks."""
    parts = [node.text or ""]
    for child in node:
        if isinstance(child.tag, str) and depth < _MAX_DEPTH:
            if child.tag == "img":
                parts.append(child.get("alt") or "")
            elif child.tag == "br":
                parts.append("\n")
            else:
                parts.append(_inline_text(child, depth + 1))
        parts.append(child.tail or "")
    return "".join(parts)


def _dig(value: Any, *keys: str) -> dict[str, Any]:
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, dict) else {}


def _twitter_time(value: Any) -> str | None:
    """X's API time, "Thu Jan 30 15:39:43 +0000 2020"."""
    try:
        return datetime.strptime(str(value), "%a %b %d %H:%M:%S %z %Y").isoformat()
    except ValueError:
        return normalise_time(value)


def _nitter_time(value: Any) -> str | None:
    """Nitter's title time, "8/5/2020, 07:17:31" (day/month/year, UTC)."""
    try:
        moment = datetime.strptime(str(value).strip(), "%d/%m/%Y, %H:%M:%S")
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC).isoformat()


PLATFORM = Platform(
    id="x",
    name="X (Twitter)",
    hosts=HOSTS,
    site_names=("X (formerly Twitter)", "Twitter", "X"),
    extract=extract,
    page_state=page_state,
    claims=claims,
    account_path=re.compile(
        r"^/(?!(?:i|home|search|explore|hashtag|settings|intent|share|messages|notifications|compose)/)"
        r"([A-Za-z0-9_]{1,15})/"
    ),
)
