"""MyBB forums (any host): a `showthread.php` page, read for the post the URL names.

Recognised by MyBB's `my_post_key` script variable or its "Powered by MyBB" link. Posts
are `div.post#post_<id>`; the author is `.author_information a` (its `uid=` is the id); the
time is `span.post_date` (its `span[title]` when MyBB shows "Today"/"Yesterday"), read only
when unambiguous; the text `div.post_body`; the permalink the `pid` link in `.post_head`.
"""

from __future__ import annotations

import re

from collector.platforms import _forum
from collector.platforms._forum import has_class
from collector.platforms.draft import Draft
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
    times=(
        (f".//span[{has_class('post_date')}]//span/@title", "span.post_date span[title]"),
        (f".//span[{has_class('post_date')}]", "span.post_date"),
    ),
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
    _forum.read(doc, draft, SHAPE)


def claims(doc: PageDoc) -> str | None:
    if doc.xpath("//script[contains(., 'my_post_key')]"):
        return "the page's script sets MyBB's my_post_key"
    if doc.xpath("//a[contains(@href, '//mybb.com') or contains(@href, '//www.mybb.com')]"
                 "[contains(., 'MyBB')]"):
        return 'the page links "MyBB" to mybb.com (Powered by MyBB)'
    return None


PLATFORM = Platform(id="mybb", name="MyBB", hosts=(), extract=extract, claims=claims)
