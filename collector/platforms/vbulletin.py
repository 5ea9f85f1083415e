"""vBulletin forums (any host): a `showthread.php` / thread page, read for the post the URL names.

Recognised by `<meta name="generator" content="vBulletin …">` or vBulletin's
`clientscript/vbulletin*.js`. Posts are vB5's `li.b-post[data-node-id]`, vB4's
`li.postcontainer#post_<id>`, vB3's `table#post<id>`; the author is `a.username` /
`a.bigusername` (its `u=`, `member.php/<id>-` or `/member/<id>` is the id), vB5's `.author a`;
the time is vB5's `li.b-post[data-node-publishdate]` (epoch seconds: its `time[datetime]` is
the server's wall time with no zone, hours off the instant), else `time[datetime]`, else vB4's
`span.date` / vB3's header cell, read only when unambiguous (a month name, year-first digits, or
digits with a part over 12; never "Today" or `05-06-2019`); the text `div#post_message_<id>`; the
permalink vB3's `a#postlink…`, vB4's `a.postcounter`, vB5's `a.b-post__count`, resolved against
the page's `<base href>`.
"""

from __future__ import annotations

import re

from collector.platforms import _forum
from collector.platforms._forum import has_class
from collector.platforms.draft import Draft
from collector.platforms.page import PageDoc
from collector.platforms.registry import Platform


def _posts(doc: PageDoc) -> list[_forum.Post]:
    return (
        _forum.posts_by_id(doc, f"//li[{has_class('b-post')}]", re.compile(r"(\d+)"),
                           "li.b-post", attr="data-node-id")
        or _forum.posts_by_id(doc, "//li[@id]", re.compile(r"post_(\d+)"), "li")
        or _forum.posts_by_id(doc, "//table[@id] | //div[@id]", re.compile(r"post(\d+)"), "")
    )


SHAPE = _forum.Shape(
    name="vbulletin",
    posts=_posts,
    author=(
        (f".//*[{has_class('b-userinfo__details')}]//*[{has_class('author')}]//a",
         ".b-userinfo__details .author a"),
        (f".//a[{has_class('username')}]", "a.username"),
        (f".//a[{has_class('bigusername')}]", "a.bigusername"),
    ),
    author_id=re.compile(r"(?:[?&](?:amp;)?u=|/member/|member\.php/)(\d+)"),
    times=(
        ("./@data-node-publishdate", "[data-node-publishdate] (epoch seconds)"),
        (".//time[@datetime]/@datetime", "time[datetime]"),
        (f".//span[{has_class('date')}]", "span.date"),
        (f".//td[{has_class('thead')}][1]", "td.thead (post header)"),
    ),
    text=(
        (f".//*[{has_class('js-post__content-text')}]", ".js-post__content-text"),
        (".//*[starts-with(@id, 'post_message_')]", "div#post_message_…"),
    ),
    permalink=(
        (".//a[starts-with(@id, 'postlink')]/@href", "a#postlink… (vB3 permanent link)"),
        (f".//a[{has_class('postcounter')}]/@href", "a.postcounter"),
        (f".//a[{has_class('b-post__count')}]/@href", "a.b-post__count"),
        (".//a[starts-with(@id, 'postcount')]/@href", "a#postcount…"),
    ),
    title=(
        (f"//*[{has_class('threadtitle')}]", ".threadtitle"),
        (f"//h1[{has_class('main-title')}]", "h1.main-title"),
        ("//td[contains(@class, 'navbar')]//strong", "td.navbar strong (vB3 thread title)"),
    ),
)


def extract(doc: PageDoc, draft: Draft) -> None:
    """Offer the id, author, time, permalink, title and text of the post the URL names."""
    _forum.read(doc, draft, SHAPE)


def claims(doc: PageDoc) -> str | None:
    generator = doc.meta("generator") or ""
    if generator.lower().startswith("vbulletin"):
        return f"the page's <meta name=generator> says {generator!r}"
    if doc.xpath("//script[contains(@src, 'clientscript/vbulletin')]"):
        return "the page loads vBulletin's clientscript/vbulletin*.js"
    return None


PLATFORM = Platform(id="vbulletin", name="vBulletin", hosts=(), extract=extract, claims=claims)
