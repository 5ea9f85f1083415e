"""Invision Community (IPS) forums (any host): a topic page, read for the post the URL names.

Recognised by the `ipsApp` class on `<body>`. Posts are `article#elComment_<id>` (`#findComment-`
and `?comment=` name them); the author is `.cAuthorPane_author a` (its `/profile/<id>-` is the
id), the time `.ipsComment_meta time[datetime]`, the text `[data-role=commentContent]`, the
title `h1.ipsType_pageTitle`.
"""

from __future__ import annotations

import re

from collector.platforms import _forum
from collector.platforms._forum import has_class
from collector.platforms.draft import Draft
from collector.platforms.page import PageDoc
from collector.platforms.registry import Platform

SHAPE = _forum.Shape(
    name="invision",
    posts=lambda doc: _forum.posts_by_id(
        doc, "//article[@id]", re.compile(r"elComment_(\d+)"), "article"
    ),
    author=(
        (f".//*[{has_class('cAuthorPane_author')}]//a", ".cAuthorPane_author a"),
        (f".//*[{has_class('cAuthorPane_author')}]", ".cAuthorPane_author"),
    ),
    author_id=re.compile(r"/profile/(\d+)-"),
    times=(
        (f".//*[{has_class('ipsComment_meta')}]//time/@datetime", ".ipsComment_meta time[datetime]"),
        (".//time/@datetime", "time[datetime]"),
    ),
    text=((".//*[@data-role='commentContent']", "[data-role=commentContent]"),),
    permalink=(
        (f".//*[{has_class('ipsComment_meta')}]//a[contains(@href, 'comment=')]/@href",
         ".ipsComment_meta a[href*=comment=]"),
    ),
    title=((f"//h1[{has_class('ipsType_pageTitle')}]", "h1.ipsType_pageTitle"),),
)


def extract(doc: PageDoc, draft: Draft) -> None:
    """Offer the id, author, time, permalink, title and text of the post the URL names."""
    _forum.read(doc, draft, SHAPE)


def claims(doc: PageDoc) -> str | None:
    if doc.xpath(f"//body[{has_class('ipsApp')}]"):
        return "the page's <body class=\"ipsApp\"> (Invision Community)"
    return None


PLATFORM = Platform(id="invision", name="Invision Community", hosts=(), extract=extract,
                    claims=claims)
