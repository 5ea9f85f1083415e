"""Discourse forums (any host): the server-rendered topic page, read for the post the URL names.

Recognised by `<meta name="generator" content="Discourse …">`. The crawler view's posts are
`div#post_<n>` (n is the post number: `/t/slug/<topic>/<n>` names it); the author is the
post's `[itemprop=author] [itemprop=name]` (the profile link `/u/<username>`), the time
`time[itemprop=datePublished][datetime]`, the text `[itemprop=text]`, the title `h1`.
"""

from __future__ import annotations

import re

from collector.platforms import _forum
from collector.platforms.draft import Draft
from collector.platforms.page import PageDoc
from collector.platforms.registry import Platform

SHAPE = _forum.Shape(
    name="discourse",
    posts=lambda doc: _forum.posts_by_id(
        doc, "//div[@id][starts-with(@id, 'post_')]", re.compile(r"post_(\d+)"), "div"
    ),
    author=(
        (".//*[@itemprop='author']//*[@itemprop='name']", "[itemprop=author] [itemprop=name]"),
        (".//*[contains(@class, 'creator')]//a", ".creator a"),
    ),
    author_id=None,
    times=(
        (".//time[@itemprop='datePublished']/@datetime", "time[itemprop=datePublished][datetime]"),
        (".//time[@datetime]/@datetime", "time[datetime]"),
    ),
    text=((".//*[@itemprop='text']", "[itemprop=text]"),),
    title=(("//*[@id='topic-title']//h1", "#topic-title h1"), ("//h1", "h1")),
)


def extract(doc: PageDoc, draft: Draft) -> None:
    """Offer the post number, author, time, title and text of the post the URL names."""
    _forum.read(doc, draft, SHAPE)
    if draft.has("post_id"):
        draft.notes.append("discourse: post_id is the post's number in the topic (div#post_<n>)")


def claims(doc: PageDoc) -> str | None:
    generator = doc.meta("generator") or ""
    if generator.lower().startswith("discourse"):
        return f"the page's <meta name=generator> says {generator!r}"
    return None


PLATFORM = Platform(id="discourse", name="Discourse", hosts=(), extract=extract, claims=claims)
