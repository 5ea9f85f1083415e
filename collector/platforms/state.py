"""What kind of page was captured: the post itself, or a wall, an error, an interstitial.

A deleted post or a login wall is evidence too; the state makes sure it cannot pass for
content. Text rules look at the title, the main headings and, for short pages, the visible
text, so a comment that mentions "log in" does not turn a thread into a login wall.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from collector.evidence.post import PageState, Post
from collector.platforms.page import PageDoc

SHORT_PAGE_CHARS = 3000

NOT_FOUND = (
    "this post was deleted",
    "this post has been deleted",
    "this post has been removed",
    "this post is unavailable",
    "this tweet was deleted",
    "this tweet is unavailable",
    "this page doesn’t exist",
    "this page doesn't exist",
    "this page isn't available",
    "this page isn’t available",
    "page not found",
    "post not found",
    "content isn't available",
    "content isn’t available",
    "this account doesn’t exist",
    "this account doesn't exist",
    "sorry, nobody on reddit goes by that name",
    "this video isn't available",
    "video unavailable",
    "couldn't find this account",
)
LOGIN_WALL = (
    "log in to see",
    "log in to continue",
    "sign in to continue",
    "sign in to see",
    "you must log in",
    "you need to log in",
    "login required",
    "log in or sign up to view",
    "see more on facebook",  # only counted on short pages
)
LOGIN_PATHS = re.compile(r"/(login|log-in|signin|sign-in|accounts/login|i/flow/login|checkpoint)\b", re.IGNORECASE)
LOGIN_TITLES = re.compile(r"^\s*(log ?in|sign ?in|login)\b", re.IGNORECASE)
INTERSTITIAL = (
    "update your browser",
    "actualiza tu navegador",
    "unsupported browser",
    "browser is not supported",
    "browser isn't supported",
    "confirm your age",
    "age-restricted",
    "you must be 18",
    "before you continue",
    "just a moment...",
    "checking your browser",
    "verify you are human",
    "enable javascript and cookies to continue",
    "this content may not be appropriate",
)
RATE_LIMITED = (
    "rate limit exceeded",
    "too many requests",
    "you're doing that too much",
    "please wait a few minutes before you try again",
    "try again later",
)


def classify(doc: PageDoc, status: int | None, post: Post, platform_state: PageState | None) -> PageState:
    """The page's state, with the reason in words."""
    if status == 429:
        return PageState(state="rate-limited", reason="HTTP 429 Too Many Requests")
    if status in (404, 410):
        return PageState(state="not-found", reason=f"HTTP {status}")
    if platform_state is not None:
        return platform_state
    if status is not None and status >= 500:
        return PageState(state="error", reason=f"HTTP {status} server error")
    if doc.tree is None or not doc.html.strip():
        return PageState(state="error", reason="the page is empty")
    title = (doc.title() or "").lower()
    headings = " | ".join(
        (h.text_content() or "").strip().lower() for h in doc.xpath("//h1 | //h2")[:6]
    )
    body = doc.text()
    short = len(body) <= SHORT_PAGE_CHARS
    prominent = f"{title} | {headings}"
    searched = f"{prominent} | {body.lower()}" if short else prominent
    path = urlsplit(doc.url).path if doc.url else ""
    if status in (401, 407):
        return PageState(state="login-wall", reason=f"HTTP {status}: authentication required")
    if match := _find(RATE_LIMITED, searched):
        return PageState(state="rate-limited", reason=f"the page says {match!r}")
    if match := _find(NOT_FOUND, searched):
        return PageState(state="not-found", reason=f"the page says {match!r}")
    if (match := _find(LOGIN_WALL, searched)) and (short or not post.text):
        return PageState(state="login-wall", reason=f"the page says {match!r}")
    if LOGIN_PATHS.search(path) or LOGIN_TITLES.search(title):
        return PageState(state="login-wall", reason=f"a login page ({path or title})")
    if match := _find(INTERSTITIAL, searched):
        return PageState(state="interstitial", reason=f"the page says {match!r}")
    if status is not None and status >= 400:
        return PageState(state="error", reason=f"HTTP {status}")
    return PageState(state="content", reason="no wall, error, deletion or interstitial recognised")


def _find(phrases: tuple[str, ...], text: str) -> str | None:
    return next((p for p in phrases if p in text), None)
