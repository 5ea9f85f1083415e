"""Blogger blogs (blogspot.com, and any host the page claims): a post page.

Recognised by `<meta name="generator" content="blogger">`. The post is `.post[itemprop=blogPost]`
(or `.post-outer .post`, `article.post`); its id `meta[itemprop=postId]`, title `.post-title`,
author `.post-author .fn` / `[itemprop=author] [itemprop=name]` (the profile link's
`/profile/<id>` is the id), time `abbr.published[title]` / `time.published[datetime]`, text
`.post-body`, permalink `a.timestamp-link`. The URL's `#comment-…` names a comment, not read.
"""

from __future__ import annotations

import re

from collector.platforms import _forum
from collector.platforms._forum import has_class
from collector.platforms.draft import Draft
from collector.platforms.page import PageDoc
from collector.platforms.registry import Platform


def _posts(doc: PageDoc) -> list[_forum.Post]:
    found = []
    for node in doc.xpath(f"//*[{has_class('post')}][{has_class('hentry')} or @itemprop='blogPost']"
                          f" | //article[{has_class('post')}]"):
        ids = node.xpath(".//meta[@itemprop='postId']/@content")
        if ids:
            found.append(_forum.Post(node, str(ids[0]), ".post"))
    return found


SHAPE = _forum.Shape(
    name="blogger",
    posts=_posts,
    author=(
        (f".//*[{has_class('post-author')}]//*[{has_class('fn')}]", ".post-author .fn"),
        (".//*[@itemprop='author']//*[@itemprop='name']", "[itemprop=author] [itemprop=name]"),
        (f".//*[{has_class('post-author')}]//a", ".post-author a"),
    ),
    author_id=re.compile(r"/profile/(\d+)"),
    times=(
        (f".//abbr[{has_class('published')}]/@title", "abbr.published[title]"),
        (f".//time[{has_class('published')}]/@datetime", "time.published[datetime]"),
        (".//*[@itemprop='datePublished']/@title", "[itemprop=datePublished][title]"),
    ),
    text=((f".//*[{has_class('post-body')}]", ".post-body"),),
    permalink=((f".//a[{has_class('timestamp-link')}]/@href", "a.timestamp-link"),),
    title=((f"//*[{has_class('post-title')}]", ".post-title"),),
    by_url=False,
)


def extract(doc: PageDoc, draft: Draft) -> None:
    """Offer the post id, author, time, permalink, title and text."""
    _forum.read_article(doc, draft, SHAPE)


def claims(doc: PageDoc) -> str | None:
    if (doc.meta("generator") or "").lower() == "blogger":
        return "the page's <meta name=generator> says 'blogger'"
    return None


PLATFORM = Platform(id="blogger", name="Blogger", hosts=("blogspot.com",), extract=extract,
                    claims=claims)
