"""The tool validation report's table part, run in-process (the Chromium part is tests/e2e's)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import pytest

from collector.platforms import PageInput, read_page
from scripts.validation import (
    Case,
    Check,
    Report,
    build_report,
    compare_row,
    main,
    readme_limits,
    readme_platform_table,
    render_markdown,
)
from tests.real_pages import REAL_PAGES, Prefix, rows


@pytest.fixture(scope="module")
def report() -> Report:
    return build_report(chromium=False)


def test_report_lists_every_real_page_of_the_table_with_pass(report: Report) -> None:
    table = rows()
    cases = [c for c in report.cases if c.part == "real page"]
    assert [c.id for c in cases] == [r.id for r in table]
    assert not report.failed, [
        (c.id, c.error, [k for k in c.checks if not k.passed]) for c in report.failed
    ]
    text = render_markdown(report)
    for n, row in enumerate(table, 1):
        shown = row.url.replace("&", "&amp;")  # the report escapes markup characters
        assert f"| {n} | real page | {row.file} | {shown} | PASS |" in text
    saved = {str(p.relative_to(REAL_PAGES)) for p in REAL_PAGES.rglob("*.html")}
    assert saved <= {c.source for c in cases}  # no saved page is left out of the report
    assert f"| **all** | **{len(table)}** | **{len(table)}** | **0** |" in text
    assert "Result: **PASS**" in text


def test_each_case_shows_expected_and_actual_per_field(report: Report) -> None:
    case = next(c for c in report.cases if c.source == "x-twitter/post.html")
    by_name = {k.name: k for k in case.checks}
    assert by_name["post_id"].expected == by_name["post_id"].actual == "1222907250383245320"
    assert by_name["author_id"].expected == "empty, with the reason"
    assert by_name["count likes"].expected == "76091"
    assert by_name["text"].expected.startswith("starts with “Schiff blasted")
    assert case.source_sha256 is not None and len(case.source_sha256) == 64
    text = render_markdown(report)
    assert "| post_id | 1222907250383245320 | 1222907250383245320 | PASS |" in text


def test_report_names_tool_browser_environment_and_limits(report: Report) -> None:
    text = render_markdown(report)
    assert "| tool | collector 0.1.0 |" in text
    assert "| Python | CPython 3." in text and "| platform | Linux" in text
    assert "| date (UTC) | 20" in text
    assert "not run: table only" in text
    assert "## Known limitations" in text
    limits = readme_limits()
    assert limits and any("Post extraction is tested on" in item for item in limits)
    assert all(f"- {item}" in text for item in limits)
    table = readme_platform_table()
    assert table[0].startswith("| platform | hosts |") and any(
        r.startswith("| Bluesky") for r in table
    )
    assert table[0] in text


def test_a_wrong_expectation_is_reported_as_failed(tmp_path: Path) -> None:
    row = next(r for r in rows() if r.file == "x-twitter/post.html")
    wrong = dataclasses.replace(
        row,
        fields={**row.fields, "author_handle": "@someone_else", "text": Prefix("Not the text")},
        counts={"likes": 1},
        page_state="login-wall",
    )
    reading = read_page(
        PageInput(url=row.url, raw=(REAL_PAGES / row.file).read_bytes(), status=200)
    )
    checks = {c.name: c for c in compare_row(wrong, reading.post, reading.page_state.state)}
    assert (
        not checks["author_handle"].passed and checks["author_handle"].actual == "@realDonaldTrump"
    )
    assert not checks["text"].passed and not checks["count likes"].passed
    assert not checks["page state"].passed and checks["post_id"].passed
    case = Case(
        part="real page", id="x", source=row.file, read_as=row.url, checks=list(checks.values())
    )
    assert not case.passed
    assert not Case(
        part="real page", id="y", source="y", read_as="y", checks=[], error="boom"
    ).passed


def test_hostile_values_are_escaped_in_the_markdown() -> None:
    report = Report(
        tool="collector",
        tool_version="0",
        source_commit=None,
        chromium_version=None,
        chromium_ran=False,
        python="CPython",
        platform="Linux",
        generated_at=datetime(2026, 1, 1, tzinfo=UTC),
        limitations=[],
        platform_table=[],
        cases=[
            Case(
                part="real page",
                id="a",
                source="a.html",
                read_as="https://e.example/",
                checks=[
                    Check(
                        name="title",
                        expected="x",
                        actual="<script>alert(1)</script> a|b\nnext `code`",
                        passed=False,
                    )
                ],
            )
        ],
    )
    text = render_markdown(report)
    assert "<script>" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "a\\|b ⏎ next \\`code\\`" in text
    assert "Result: **FAIL**" in text and "| title | x |" in text


def test_main_writes_the_report_and_exits_zero_when_all_pass(tmp_path: Path) -> None:
    out = tmp_path / "VALIDATION.md"
    lines: list[str] = []
    assert main(["--no-chromium", "--out", str(out)], echo=lines.append) == 0
    assert out.read_text().startswith("# Tool validation report")
    assert lines[-1].endswith(f"0 failed; report: {out}")


def test_main_exits_one_and_names_the_failed_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import scripts.validation as validation

    bad = Case(
        part="real page",
        id="b",
        source="bad.html",
        read_as="https://e.example/",
        checks=[Check(name="post_id", expected="1", actual="2", passed=False)],
    )
    monkeypatch.setattr(validation, "table_cases", lambda: [bad])
    lines: list[str] = []
    out = tmp_path / "VALIDATION.md"
    assert main(["--no-chromium", "--out", str(out)], echo=lines.append) == 1
    assert lines[0] == "FAIL real page: bad.html @ https://e.example/: post_id"
    assert "Result: **FAIL**" in out.read_text()
