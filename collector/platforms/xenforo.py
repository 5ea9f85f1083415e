"""XenForo forums (any host): a thread page, read for the post the URL names.

Recognised by `<html id="XF">` (XenForo 2) or `<html id="XenForo">` (XenForo 1). Posts are
`article.message--post` (`data-content="post-<id>"`) or XenForo 1's `li.message#post-<id>`;
the author is `a.username` in `.message-name` / `.messageUserInfo` (its `data-user-id`, else
the member URL's number, is the id); the time is `time.u-dt[datetime]` or XenForo 1's
`abbr.DateTime[data-time]` (epoch seconds), else `span.DateTime[title]`; the text
`.message-body .bbWrapper` / `blockquote.messageText`; the thread title `h1.p-title-value`.
"""

from __future__ import annotations

import re

from collector.platforms import _forum
from collector.platforms._forum import has_class
from collector.platforms.draft import Draft
from collector.platforms.page import PageDoc
from collector.platforms.registry import Platform


def _posts(doc: PageDoc) -> list[_forum.Post]:
    return _forum.posts_by_id(
        doc, f"//article[{has_class('message--post')}]", re.compile(r"post-(\d+)"),
        "article.message--post", attr="data-content",
    ) or _forum.posts_by_id(
        doc, f"//li[{has_class('message')}][@id]", re.compile(r"post-(\d+)"), "li.message"
    )


SHAPE = _forum.Shape(
    name="xenforo",
    posts=_posts,
    author=(
        (f".//*[{has_class('message-name')}]//*[{has_class('username')}]",
         ".message-name .username"),
        (f".//*[{has_class('messageUserInfo')}]//a[{has_class('username')}]",
         ".messageUserInfo a.username"),
        (f".//a[{has_class('username')}]", "a.username"),
    ),
    author_id=re.compile(r"members/(?:[^/?#]*\.)?(\d+)/?"),
    times=(
        (f".//*[{has_class('message-attribution-main')}]//time[{has_class('u-dt')}]/@datetime",
         ".message-attribution-main time.u-dt[datetime]"),
        (f".//time[{has_class('u-dt')}]/@datetime", "time.u-dt[datetime]"),
        (f".//*[{has_class('messageMeta')}]//abbr[{has_class('DateTime')}]/@data-time",
         ".messageMeta abbr.DateTime[data-time] (epoch seconds)"),
        (f".//*[{has_class('messageMeta')}]//span[{has_class('DateTime')}]/@title",
         ".messageMeta span.DateTime[title]"),
    ),
    text=(
        (f".//*[{has_class('message-body')}]//*[{has_class('bbWrapper')}]",
         ".message-body .bbWrapper"),
        (f".//blockquote[{has_class('messageText')}]", "blockquote.messageText"),
    ),
    permalink=(
        (f".//*[{has_class('message-attribution-main')}]//a[contains(@href, 'post-')]/@href",
         ".message-attribution-main a[href*=post-]"),
        (f".//*[{has_class('message-attribution-opposite')}]//a[contains(@href, 'post-')]/@href",
         ".message-attribution-opposite a[href*=post-]"),
        (f".//a[{has_class('datePermalink')}]/@href", "a.datePermalink"),
    ),
    title=(
        (f"//h1[{has_class('p-title-value')}]", "h1.p-title-value"),
        (f"//*[{has_class('titleBar')}]/h1", ".titleBar h1"),
    ),
)


def extract(doc: PageDoc, draft: Draft) -> None:
    """Offer the id, author, time, permalink, title and text of the post the URL names."""
    _forum.read(doc, draft, SHAPE)


def claims(doc: PageDoc) -> str | None:
    if doc.xpath("//html[@id='XF']"):
        return 'the page\'s <html id="XF"> (XenForo 2)'
    if doc.xpath("//html[@id='XenForo']"):
        return 'the page\'s <html id="XenForo"> (XenForo 1)'
    return None


PLATFORM = Platform(id="xenforo", name="XenForo", hosts=(), extract=extract, claims=claims)
