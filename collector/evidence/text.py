"""Free text from people and from pages: the documented maximums, the checks, and what is safe
to print on a terminal.

A value typed on the command line is refused (one line, exit 2) when it is empty where it must
not be, longer than its maximum, or holds control characters; text from a page is kept whole in
the artifacts and escaped (never interpreted) when printed.
"""

from __future__ import annotations

import re

from collector.errors import UsageError

MAX_NAME = 200
"""Agency, full names, recipients, titles of a person."""
MAX_BADGE = 64
MAX_LINE = 2_000
"""One-line free text: reasons, notes, nexus statements, case facts' summaries."""
MAX_TEXT = 20_000
"""Multi-line free text: articulable facts, qualifications, training."""
MAX_BATES_PREFIX = 20
MAX_BATES_START = 999_999_999
MAX_EXHIBIT_NUMBER = 20
MAX_PAGE_FIELD = 2_000
"""A page's title, and each field read from a post but its text, as metadata keeps it: a
longer value is cut there, with a note, and stays whole in the page's artifacts."""
MAX_POST_TEXT = 100_000
"""A post's text as its metadata keeps it (likewise cut with a note)."""
MAX_SHOWN = 200
"""How much of a value from outside an error message repeats."""

_EXHIBIT_NUMBER = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")
_LONG_NUMBER = re.compile(r"[0-9]{10}")
_BATES_PREFIX = re.compile(r"[A-Za-z0-9._-]*")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CONTROL_WITH_NEWLINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_TERMINAL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def check(
    value: str, what: str, limit: int, *, required: bool = True, multiline: bool = False
) -> str:
    """The value stripped, or a one-line UsageError naming the problem."""
    text = value.strip()
    if required and not text:
        raise UsageError(f"{what} must not be empty")
    if len(text) > limit:
        raise UsageError(f"{what} is {len(text)} characters long; the most is {limit}")
    pattern = _CONTROL_WITH_NEWLINES if multiline else _CONTROL
    if pattern.search(text) or (not multiline and ("\n" in text or "\t" in text)):
        raise UsageError(f"{what} holds control characters" + ("" if multiline else " or line breaks"))
    return text


def exhibit_number(value: str) -> str:
    """An exhibit number such as `12`, `12A` or `GX-12`: letters, digits, dots and hyphens,
    beginning and ending with a letter or digit, no run of more than nine digits."""
    number = value.strip()
    if (
        not 0 < len(number) <= MAX_EXHIBIT_NUMBER
        or not _EXHIBIT_NUMBER.fullmatch(number)
        or _LONG_NUMBER.search(number)
    ):
        raise UsageError(
            f"--number {shown(value)} is not an exhibit number: 1 to {MAX_EXHIBIT_NUMBER} letters,"
            " digits, dots or hyphens, beginning and ending with a letter or digit (e.g. 12, GX-12)"
        )
    return number


def bates(prefix: str, start: int) -> tuple[str, int]:
    """A Bates prefix (letters, digits, `.`, `_`, `-`; at most MAX_BATES_PREFIX) and first
    number (1 to MAX_BATES_START)."""
    if len(prefix) > MAX_BATES_PREFIX or not _BATES_PREFIX.fullmatch(prefix):
        raise UsageError(
            f"--bates-prefix {shown(prefix)} must be at most {MAX_BATES_PREFIX} letters, digits,"
            " dots, underscores or hyphens"
        )
    if not 1 <= start <= MAX_BATES_START:
        raise UsageError(f"--bates-start must be 1 to {MAX_BATES_START}")
    return prefix, start


def cut(value: str, limit: int) -> tuple[str, str | None]:
    """`value` cut to `limit` characters, and a note saying so when it was."""
    if len(value) <= limit:
        return value, None
    return value[:limit], (
        f"{len(value)} characters long; the first {limit} kept here, the whole in the page's"
        " artifacts"
    )


def for_terminal(value: str) -> str:
    """Control and bidirectional-override characters shown as escapes, never interpreted
    (line breaks and tabs kept)."""
    return _TERMINAL.sub(_escape, value)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\u{code:04x}" if code > 0xFF else f"\\x{code:02x}"


def json_for_terminal(text: str) -> str:
    """Serialised JSON with the characters `for_terminal` escapes written as JSON escapes
    (`\\u202e`): the same data, nothing a terminal would act on."""
    return _TERMINAL.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def brief(value: str, limit: int = MAX_SHOWN) -> str:
    """A value from outside as one printed line: escaped, line breaks as spaces, and cut to
    `limit` characters with its full length said."""
    flat = for_terminal(value).replace("\r", " ").replace("\n", " ")
    if len(flat) <= limit:
        return flat
    return f"{flat[:limit]}… ({len(value)} characters)"


def shown(value: str, limit: int = MAX_SHOWN) -> str:
    """A value from outside, as an error message may repeat it: escaped, and cut to `limit`
    characters with its full length said."""
    text = for_terminal(value)
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}… ({len(value)} characters)"
