"""phpBB boards (any host): a `viewtopic.php` page, read for the post the URL names.

Recognised by phpBB's `<body id="phpbb">`. Posts are `div.post#p<id>`; the author is the
link in `p.author` (its `u=` parameter is the user id), else `dl.postprofile dt`; the time
is `p.author time[datetime]` (phpBB 3.2+), else the words after "»" in `p.author` (read only
when the month is named); the text is `div.content`, the topic title `h2` (`.topic-title`).
"""

from __future__ import annotations

import re

from collector.platforms import _forum
from collector.platforms._forum import has_class
from collector.platforms.draft import Draft
from collector.platforms.page import PageDoc
from collector.platforms.registry import Platform

SHAPE = _forum.Shape(
    name="phpbb",
    posts=lambda doc: _forum.posts_by_id(
        doc, f"//div[{has_class('post')}][@id]", re.compile(r"p(\d+)"), "div.post"
    ),
    author=(
        (f".//p[{has_class('author')}]//a[contains(@href, 'mode=viewprofile')]",
         "p.author a[href*=viewprofile]"),
        (f".//p[{has_class('author')}]//strong", "p.author strong"),
        (f".//dl[{has_class('postprofile')}]/dt//a[contains(@href, 'viewprofile')]",
         "dl.postprofile dt a"),
    ),
    author_id=re.compile(r"[?&](?:amp;)?u=(\d+)"),
    times=(
        (f".//p[{has_class('author')}]//time/@datetime", "p.author time[datetime]"),
        (f".//p[{has_class('author')}]/text()[normalize-space()][last()]",
         "p.author (text after the author)"),
    ),
    text=((f".//div[{has_class('content')}]", "div.content"),),
    permalink=(
        (f".//p[{has_class('author')}]/a[contains(@href, '#p')]/@href", "p.author a[href*='#p']"),
        (".//h3/a[starts-with(@href, '#p')]/@href", "h3 a[href^='#p']"),
    ),
    title=(
        (f"//h2[{has_class('topic-title')}]", "h2.topic-title"),
        ("//div[@id='page-body']/h2", "div#page-body > h2"),
    ),
)


def extract(doc: PageDoc, draft: Draft) -> None:
    """Offer the id, author, time, permalink, title and text of the post the URL names."""
    _forum.read(doc, draft, SHAPE)


def claims(doc: PageDoc) -> str | None:
    if doc.xpath("//body[@id='phpbb']"):
        return 'the page\'s <body id="phpbb"> (phpBB\'s templates)'
    return None


PLATFORM = Platform(id="phpbb", name="phpBB", hosts=(), extract=extract, claims=claims)
