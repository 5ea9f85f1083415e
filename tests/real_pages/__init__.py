"""Expected readings of the real saved pages, one table per group: the shared corpus
../shared/real-pages (`root="shared"`) and the repository's own tests/data/real_pages
(`root="repo"`).

Each row says under which URL the page is read (a platform host makes the platform
*established*), and what the reader must find. Values were established by reading each
page's source by hand, not by running the reader.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path

from collector.evidence.post import Post

REAL_PAGES = Path(__file__).resolve().parents[2].parent / "shared" / "real-pages"
REPO_PAGES = Path(__file__).resolve().parents[1] / "data" / "real_pages"
ROOTS = {"shared": REAL_PAGES, "repo": REPO_PAGES}


@dataclass(frozen=True)
class Prefix:
    """The field's value must start with this text."""

    text: str


@dataclass(frozen=True)
class Contains:
    """The field's value must contain this text."""

    text: str


Value = str | Prefix | Contains | None


@dataclass(frozen=True)
class Expect:
    file: str
    """Path under the row's root."""
    url: str
    """The final URL the page is read under."""
    platform: str | None
    basis: str = "established"
    kind: str | None = None
    page_state: str = "content"
    fields: dict[str, Value] = field(default_factory=dict)
    """Post field -> expected value; None means the field must be empty."""
    counts: dict[str, int] = field(default_factory=dict)
    conflicts: tuple[str, ...] = ()
    """Fields that must be flagged as conflicts."""
    media_min: int = 0
    """At least this many media items."""
    notes: tuple[str, ...] = ()
    """Substrings that must appear in Post.notes."""
    root: str = "shared"
    """Which corpus holds the page: "shared" (../shared/real-pages) or "repo"
    (tests/data/real_pages)."""

    @property
    def path(self) -> Path:
        return ROOTS[self.root] / self.file

    @property
    def id(self) -> str:
        from urllib.parse import urlsplit

        parts = urlsplit(self.url)
        query = f"?{parts.query}" if parts.query and self.root == "repo" else ""
        anchor = f"#{parts.fragment}" if parts.fragment else ""
        return f"{self.root}:{self.file}@{parts.hostname}{query}{anchor}"


LOCAL = "http://127.0.0.1:8000/real/"
"""Rows read under this prefix stand for the page served from the fixture server's /real/."""


def rows() -> list[Expect]:
    """Every table's rows."""
    found: list[Expect] = []
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        found += getattr(module, "EXPECTED", [])
    return found


SCORED = ("author_name", "author_handle", "published_at", "url", "title", "post_id")
"""The fields the real-page score counts."""


def field_right(name: str, expected: Value, post: Post) -> bool:
    """Whether the reading's `name` is what the row states (the comparison `check` makes)."""
    actual = getattr(post, name)
    if expected is None:
        return actual is None and name in post.missing
    if not post.sources.get(name) or actual is None:
        return False
    if isinstance(expected, Prefix):
        return bool(actual.startswith(expected.text))
    if isinstance(expected, Contains):
        return expected.text in actual
    return bool(actual == expected)


def check(row: Expect, post: Post, state: str) -> None:
    """Assert that a reading matches the row."""
    assert state == row.page_state, post.notes
    assert post.platform.id == row.platform
    assert post.platform.basis == row.basis
    if row.kind is not None:
        assert post.kind == row.kind
    for name, expected in row.fields.items():
        actual = getattr(post, name)
        if expected is None:
            assert actual is None, f"{name} should be empty, is {actual!r}"
            assert name in post.missing, f"{name} is empty without a reason"
        elif isinstance(expected, Prefix):
            assert actual is not None and actual.startswith(expected.text), (name, actual)
        elif isinstance(expected, Contains):
            assert actual is not None and expected.text in actual, (name, actual)
        else:
            assert actual == expected, (name, actual, post.sources.get(name))
        if expected is not None:
            assert post.sources.get(name), f"{name} has no recorded source"
    for name, number in row.counts.items():
        assert getattr(post.counts, name) == number, name
    flagged = {c.field for c in post.conflicts}
    for name in row.conflicts:
        assert name in flagged, f"{name} conflict not flagged: {post.conflicts}"
    assert len(post.media) >= row.media_min
    for fragment in row.notes:
        assert any(fragment in note for note in post.notes), (fragment, post.notes)
