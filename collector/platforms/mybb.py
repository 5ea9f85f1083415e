"""MyBB forums (any host): a `showthread.php` page, read for the post the URL names.

Recognised by MyBB's `my_post_key` script variable or its "Powered by MyBB" link. Posts
are `div.post#post_<id>`; the author is `.author_information a` (its `uid=` is the id); the
time is `span.post_date`, read only when unambiguous (when MyBB shows "Today"/"Yesterday"
the date is the word's `span[title]`, joined to the clock after it); the text `div.post_body`; the permalink the `pid` link in `.post_head`.
"""

from __future__ import annotations

import re

from collector.platforms import _forum
from collector.platforms._forum import has_class
from collector.platforms.draft import MARKUP, Draft
from collector.platforms.page import PageDoc
from collector.platforms.registry import Platform

SHAPE = _forum.Shape(
    name="mybb",
    posts=lambda doc: _forum.posts_by_id(
        doc, f"//div[{has_class('post')}][@id]", re.compile(r"post_(\d+)"), "div.post"
    ),
    author=(
        (f".//*[{has_class('author_information')}]//a[contains(@href, 'uid=')]",
         ".author_information a[href*=uid]"),
        (f".//*[{has_class('post_author')}]//a", ".post_author a"),
    ),
    author_id=re.compile(r"[?&](?:amp;)?uid=(\d+)"),
    times=((f".//span[{has_class('post_date')}]", "span.post_date"),),
    text=((f".//div[{has_class('post_body')}]", "div.post_body"),),
    permalink=(
        (f".//*[{has_class('post_head')}]//a[contains(@href, 'pid')]/@href", ".post_head a[href*=pid]"),
    ),
    title=(
        (f"//*[{has_class('thead')}]//strong", ".thead strong"),
    ),
)


def extract(doc: PageDoc, draft: Draft) -> None:
    """Offer the id, author, time, permalink, title and text of the post the URL names."""
    post = _forum.read(doc, draft, SHAPE)
    if post is not None and not draft.has("published_at"):
        _relative_day(draft, post)


def _relative_day(draft: Draft, post: _forum.Post) -> None:
    """MyBB writes "Yesterday, 10:12 PM" with the date in the word's `title` ("03-15-2021"):
    the date from the title and the clock from the words, read only when unambiguous."""
    spans = post.node.xpath(f".//span[{has_class('post_date')}]/span[@title]")
    if not spans:
        return
    date = (spans[0].get("title") or "").strip()
    clock = (spans[0].tail or "").strip(" ,")
    moment, _ = _forum.visible_time(f"{date}, {clock}" if clock else date)
    if moment:
        label = f"{post.where} span.post_date span[title] {date!r} with the clock {clock!r}"
        draft.offer("published_at", moment, label, MARKUP)
        draft.missing.pop("published_at", None)


def claims(doc: PageDoc) -> str | None:
    if doc.xpath("//script[contains(., 'my_post_key')]"):
        return "the page's script sets MyBB's my_post_key"
    if doc.xpath("//a[contains(@href, '//mybb.com') or contains(@href, '//www.mybb.com')]"
                 "[contains(., 'MyBB')]"):
        return 'the page links "MyBB" to mybb.com (Powered by MyBB)'
    return None


PLATFORM = Platform(id="mybb", name="MyBB", hosts=(), extract=extract, claims=claims)
