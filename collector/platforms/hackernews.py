"""Hacker News item pages (`news.ycombinator.com/item?id=<id>`): a story or a comment.

HN is server-rendered and embeds no data. Reads the item's block (`table.fatitem`): the
item id (`tr.athing[id]`), title (`.titleline > a`), author (`a.hnuser`), time
(`span.age[title]`: an ISO time HN writes in UTC without saying so, newer pages add epoch
seconds), points (`span.score`), the comment count link and the text (`div.toptext` for
Ask/Show HN, `.commtext` when the item is a comment).
"""

from __future__ import annotations

import copy
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from collector.evidence.post import PageState
from collector.platforms.draft import MARKUP, Draft
from collector.platforms.page import PageDoc, clean
from collector.platforms.registry import Platform
from collector.platforms.values import node_text

_SPACE = re.compile(r"\s+")
_AGE = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\s+(\d{9,11}))?$")
_FAT = "//table[contains(concat(' ', normalize-space(@class), ' '), ' fatitem ')]"


def extract(doc: PageDoc, draft: Draft) -> None:
    """Offer the item's id, author, time, title, text, points and comment count."""
    fat = doc.xpath(_FAT)
    if not fat:
        _listing(doc, draft)
        return
    item = fat[0]
    ids = [
        str(i)
        for i in item.xpath(
            ".//tr[contains(concat(' ', normalize-space(@class), ' '), ' athing ')]/@id"
        )
    ]
    item_id = next((i for i in ids if i.isdigit()), None) or _url_id(doc.url)
    where = "table.fatitem"
    if item_id:
        draft.offer(
            "post_id",
            item_id,
            f"{where} tr.athing[id]" if item_id in ids else "item URL (?id=)",
            MARKUP,
        )
        draft.offer(
            "url",
            f"https://news.ycombinator.com/item?id={item_id}",
            f"{where} item id (news.ycombinator.com/item?id=)",
            MARKUP,
        )
    draft.offer(
        "title", node_text(item, ".//*[@class='titleline']/a"), f"{where} .titleline > a", MARKUP
    )
    user = node_text(item, ".//a[contains(concat(' ', @class, ' '), ' hnuser ')]")
    draft.offer("author_handle", user, f"{where} a.hnuser", MARKUP)
    draft.offer("author_name", user, f"{where} a.hnuser (HN shows only the username)", MARKUP - 10)
    draft.missing["author_id"] = "Hacker News accounts have no id other than the username"
    _time(item, draft, where)
    draft.count(
        "likes",
        node_text(item, ".//span[contains(@class,'score')]"),
        f"{where} span.score (points)",
        MARKUP,
    )
    comments = [
        a
        for a in item.xpath(".//*[contains(@class,'subtext')]//a")
        if "comment" in (a.text_content() or "")
    ]
    if comments:
        draft.count("replies", clean(comments[-1].text_content()), f"{where} comments link", MARKUP)
    for text in item.xpath(
        ".//div[contains(@class,'toptext')] | .//*[contains(@class,'commtext')]"
    )[:1]:
        draft.offer(
            "text",
            _text(text),
            f"{where} .{'toptext' if 'toptext' in (text.get('class') or '') else 'commtext'}",
            MARKUP,
        )
    link = item.xpath(".//*[@class='titleline']/a/@href")
    if link and not str(link[0]).startswith(("item?", "https://news.ycombinator.com/item")):
        draft.notes.append(f"hackernews: the story links to {link[0]}")
    draft.set_kind("post", 50)


def _listing(doc: PageDoc, draft: Draft) -> None:
    rows = doc.xpath("//tr[contains(concat(' ', normalize-space(@class), ' '), ' athing ')]")
    if rows:
        draft.set_kind("feed", 50)
        draft.missing["post_id"] = f"a listing of {len(rows)} items, not one item"


def _time(item: Any, draft: Draft, where: str) -> None:
    for title in item.xpath(".//span[contains(@class,'age')]/@title")[:1]:
        match = _AGE.match(str(title).strip())
        if not match:
            continue
        if match.group(2):
            draft.offer(
                "published_at",
                int(match.group(2)),
                f"{where} span.age[title] (epoch seconds)",
                MARKUP,
            )
        else:
            draft.offer("published_at", match.group(1), f"{where} span.age[title]", MARKUP)
            draft.notes.append(
                "hackernews: span.age[title] is written in UTC by Hacker News, but this page does "
                "not say so; kept as written"
            )


def page_state(doc: PageDoc) -> PageState | None:
    body = doc.text()[:300].lower()
    if body.startswith("no such item") or (len(body) < 100 and "no such item" in body):
        return PageState(state="not-found", reason="Hacker News says 'No such item.'")
    if "not able to serve your requests this quickly" in body:
        return PageState(state="rate-limited", reason="Hacker News asks to slow down")
    return None


def claims(doc: PageDoc) -> str | None:
    if doc.xpath("//b[contains(@class,'hnname')]") and doc.xpath("//html[@op]"):
        return "the page has Hacker News markup (html[op], b.hnname)"
    return None


def _text(node: Any) -> str:
    """Text of an HN text block: <p> starts a paragraph, source line breaks are spaces."""
    node = copy.deepcopy(node)
    for element in node.iter():
        element.text = (
            _SPACE.sub(" ", element.text) if isinstance(element.text, str) else element.text
        )
        element.tail = _SPACE.sub(" ", element.tail) if element.tail else element.tail
    for p in node.iter("p"):
        p.text = "\n\n" + (p.text or "")
    for div in node.xpath(".//div[contains(@class,'reply')]"):
        div.drop_tree()
    return str(node.text_content())


def _url_id(url: str) -> str | None:
    try:
        value = (parse_qs(urlsplit(url).query).get("id") or [""])[0]
    except ValueError:
        return None
    return value if value.isdigit() else None


PLATFORM = Platform(
    id="hackernews",
    name="Hacker News",
    hosts=("news.ycombinator.com",),
    extract=extract,
    page_state=page_state,
    claims=claims,
)
