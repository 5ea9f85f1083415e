"""Reading the post a page shows: platform, ids, author, time, text, media, page state.

Public API::

    read_page(PageInput(url, raw, rendered, status, content_type)) -> Reading

`read_page` never raises on page content: malformed JSON, wrong charsets and missing
fields leave the field empty with the reason in `Post.missing` / `Post.notes`.
"""

from __future__ import annotations

from dataclasses import dataclass

from collector.evidence.post import PageState, Post
from collector.platforms.page import PageInput

__all__ = ["PageInput", "Reading", "read_page", "warm_up", "warm_up_microdata"]


@dataclass(frozen=True)
class Reading:
    post: Post
    page_state: PageState


def read_page(page: PageInput) -> Reading:
    """The post and page state of one captured page."""
    from collector.platforms.reader import read

    return read(page)


def warm_up() -> None:
    """Import the reader and every platform module ahead of the first page (a capture runs
    this on a thread while the browser starts)."""
    from collector.platforms import reader, registry  # noqa: F401

    registry.platforms()


def warm_up_microdata() -> None:
    """Import the microdata parser, which only pages with microdata need (a capture runs
    this on a thread once the page's HTML mentions `itemscope`)."""
    from extruct.w3cmicrodata import MicrodataExtractor  # noqa: F401
