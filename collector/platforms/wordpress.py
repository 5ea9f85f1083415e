"""WordPress sites (wordpress.com, and any host the page claims): a single post page.

Recognised by `<meta name="generator" content="WordPress …">` or the `https://api.w.org/`
link. The post is `article#post-<id>` (or `div#post-<id>`); its title `.entry-title`, author
`.author a` / `a[rel=author]` (its `?author=<id>` is the id), time `time.entry-date[datetime]`
/ `time.published`, text `.entry-content`, permalink the title's link. The URL's
`#comment-…` names a comment, not read.
"""

from __future__ import annotations

import re

from collector.platforms import _forum
from collector.platforms._forum import has_class
from collector.platforms.draft import Draft
from collector.platforms.page import PageDoc
from collector.platforms.registry import Platform

SHAPE = _forum.Shape(
    name="wordpress",
    posts=lambda doc: _forum.posts_by_id(
        doc, "//article[@id] | //div[@id]", re.compile(r"post-(\d+)"), "article"
    ),
    author=(
        (f".//*[{has_class('author')}]//a", ".author a"),
        (".//a[@rel='author']", "a[rel=author]"),
        (f".//*[{has_class('author')}]", ".author"),
    ),
    author_id=re.compile(r"[?&]author=(\d+)"),
    times=(
        (f".//time[{has_class('entry-date')}]/@datetime", "time.entry-date[datetime]"),
        (f".//time[{has_class('published')}]/@datetime", "time.published[datetime]"),
        (".//time/@datetime", "time[datetime]"),
    ),
    text=((f".//*[{has_class('entry-content')}]", ".entry-content"),),
    permalink=((f".//*[{has_class('entry-title')}]//a/@href", ".entry-title a"),),
    title=((f"//*[{has_class('entry-title')}]", ".entry-title"),),
    by_url=False,
)


def extract(doc: PageDoc, draft: Draft) -> None:
    """Offer the post id, author, time, permalink, title and text."""
    _forum.read_article(doc, draft, SHAPE)


def claims(doc: PageDoc) -> str | None:
    generator = doc.meta("generator") or ""
    if generator.lower().startswith("wordpress"):
        return f"the page's <meta name=generator> says {generator!r}"
    if "https://api.w.org/" in [r.lower() for r in doc.xpath("//link/@rel")]:
        return 'the page\'s <link rel="https://api.w.org/"> (the WordPress REST API)'
    return None


PLATFORM = Platform(id="wordpress", name="WordPress", hosts=("wordpress.com",), extract=extract,
                    claims=claims)
