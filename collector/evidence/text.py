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
MAX_EXHIBIT_NUMBER = 20
MAX_SHOWN = 200
"""How much of a value from outside an error message repeats."""

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


def shown(value: str, limit: int = MAX_SHOWN) -> str:
    """A value from outside, as an error message may repeat it: escaped, and cut to `limit`
    characters with its full length said."""
    text = for_terminal(value)
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}… ({len(value)} characters)"
