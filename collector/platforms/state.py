"""What kind of page was captured: the post itself, or a wall, an error, an interstitial.

A deleted post or a login wall is evidence too; the state makes sure it cannot pass for
content. Text rules look at the title and the main headings; in the rest of the visible text
(never scripts or HTML comments) only on short pages, and only where the page is that message
(the element that says it holds most of the page's text) or where no post content was found.
So a comment that says "log in" or "try again later" does not turn a thread or a review page
into a login wall or a rate limit.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from collector.evidence.post import PageState, Post
from collector.platforms.page import PageDoc, clean

SHORT_PAGE_CHARS = 3000
MESSAGE_REST_CHARS = 150
"""Text beside the message, besides the site's chrome, that still leaves the page that message."""
MESSAGE_MAX_ELEMENTS = 20_000
_CHROME_TEST = ("self::nav or self::header or self::footer or self::aside or @role='navigation' "
                "or @role='banner' or @role='contentinfo' or @role='complementary'")
CHROME = f"//body//*[{_CHROME_TEST}][not(ancestor::*[{_CHROME_TEST}])]"
"""The outermost elements of the site's chrome: navigation, header, footer, sidebars."""

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
    body = doc.visible_text()
    short = len(body) <= SHORT_PAGE_CHARS
    prominent = f"{title} | {headings}"
    path = urlsplit(doc.url).path if doc.url else ""

    def says(phrases: tuple[str, ...]) -> str | None:
        if match := _find(phrases, prominent):
            return match
        match = _find(phrases, body.lower()) if short else None
        if match and _is_the_message(doc, match, len(body)):
            return match
        return None

    if status in (401, 407):
        return PageState(state="login-wall", reason=f"HTTP {status}: authentication required")
    if match := says(RATE_LIMITED):
        return PageState(state="rate-limited", reason=f"the page says {match!r}")
    if match := says(NOT_FOUND):
        return PageState(state="not-found", reason=f"the page says {match!r}")
    if (match := says(LOGIN_WALL)) and (short or not post.text):
        return PageState(state="login-wall", reason=f"the page says {match!r}")
    if LOGIN_PATHS.search(path) or LOGIN_TITLES.search(title):
        return PageState(state="login-wall", reason=f"a login page ({path or title})")
    if match := says(INTERSTITIAL):
        return PageState(state="interstitial", reason=f"the page says {match!r}")
    if status is not None and status >= 400:
        return PageState(state="error", reason=f"HTTP {status}")
    return PageState(state="content", reason="no wall, error, deletion or interstitial recognised")


def _is_the_message(doc: PageDoc, phrase: str, page_chars: int) -> bool:
    """Whether the smallest element whose visible text says `phrase` is the page's content: what
    is left beside it, not counting the site's navigation, header, footer and sidebars, is
    short, or no more than the message itself. A page of more than MESSAGE_MAX_ELEMENTS
    elements is not read so (it is then not taken for the message)."""
    if doc.tree is None or doc.tree.xpath("count(//body//*)") > MESSAGE_MAX_ELEMENTS:
        return False
    upper = "".join(sorted({c.upper() for c in phrase if c.isascii() and c.isalpha()}))
    saying = doc.tree.xpath("//body//*[contains(translate(normalize-space(.), $upper, $lower), $phrase)]",
                            upper=upper, lower=upper.lower(), phrase=phrase)  # fmt: skip
    found = [(len(text), node) for node in saying
             if phrase in (text := _seen(doc, node).lower())]  # fmt: skip
    if not found:
        return False
    smallest, message = min(found, key=lambda pair: pair[0])
    around = set(message.iterancestors()) | set(message.iterdescendants()) | {message}
    chrome = sum(len(_seen(doc, node)) for node in doc.xpath(CHROME) if node not in around)
    rest = page_chars - smallest - chrome
    return rest <= MESSAGE_REST_CHARS or rest <= smallest


def _seen(doc: PageDoc, node: object) -> str:
    return clean(" ".join(doc.visible_strings(node))) or ""


def _find(phrases: tuple[str, ...], text: str) -> str | None:
    return next((p for p in phrases if p in text), None)
