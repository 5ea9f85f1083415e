"""Every real saved page, read as the capture reads it, against values established by hand."""

from __future__ import annotations

import pytest

from collector.evidence.post import Post
from collector.platforms import PageInput, read_page
from tests.real_pages import REAL_PAGES, REPO_PAGES, Expect, check, rows

ROWS = rows()


def _read(row: Expect) -> tuple[Post, str]:
    raw = row.path.read_bytes()
    reading = read_page(PageInput(url=row.url, raw=raw, status=200))
    return reading.post, reading.page_state.state


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_real_page_reading(row: Expect) -> None:
    post, state = _read(row)
    check(row, post, state)


def test_every_real_page_has_a_row_and_every_row_its_page() -> None:
    assert REAL_PAGES.is_dir(), f"the real-page corpus is part of the suite: {REAL_PAGES}"
    pages = {("shared", str(p.relative_to(REAL_PAGES))) for p in REAL_PAGES.rglob("*.html")}
    assert len(pages) >= 40
    repo = {("repo", str(p.relative_to(REPO_PAGES))) for p in REPO_PAGES.rglob("*.html")}
    assert repo, f"the repository's own real pages are part of the suite: {REPO_PAGES}"
    pages |= repo
    covered = {(row.root, row.file) for row in ROWS}
    assert sorted(pages - covered) == [], "pages without expected values"
    assert sorted(covered - pages) == [], "rows whose page is missing"
