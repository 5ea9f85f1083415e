"""Tool validation report: the known-answer corpus run against this build, written as Markdown.

Two parts, each case a list of named checks with the expected value (established by hand
from the page source, never by running the reader) and the actual one:

- **real pages**: every row of the real-pages table (``tests/real_pages``), each saved
  page read with `collector.platforms.read_page` under the URL the row names;
- **fixture captures**: real Chromium captures of the fixture site (a post, a login wall,
  a deleted post, a page that never settles) with hermetic settings (every host but
  127.0.0.1 unresolvable).

``scripts/validate`` runs both and writes ``docs/VALIDATION.md``; it exits 1 when any case
fails. ``--no-chromium`` runs the table only (the unit tests do; the captures are covered
by tests/e2e). The corpus lives in the source tree (``tests/``, ``fixtures/``, and the
saved pages in ``../shared/real-pages``), so this runs from a checkout.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import importlib
import platform
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import Field

from collector import TOOL_NAME, __version__
from collector.errors import UsageError
from collector.evidence.model import BrowserSettings, CaptureRecord, Model
from collector.evidence.post import Post
from collector.platforms import PageInput, read_page

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "docs" / "VALIDATION.md"
README = ROOT / "README.md"


class Check(Model):
    name: str
    expected: str
    actual: str
    passed: bool


class Case(Model):
    part: str = Field(description="'real page' or 'fixture capture'.")
    id: str
    source: str = Field(description="The saved page's path or the fixture site path.")
    read_as: str = Field(description="The URL the page was read or captured under.")
    source_sha256: str | None = Field(None, description="SHA-256 of the saved page's bytes.")
    about: str | None = Field(None, description="What the case stands for, and remarks.")
    checks: list[Check]
    error: str | None = Field(None, description="Why the case could not run, when it could not.")

    @property
    def passed(self) -> bool:
        return self.error is None and bool(self.checks) and all(c.passed for c in self.checks)


class Report(Model):
    tool: str
    tool_version: str
    source_commit: str | None
    chromium_version: str | None
    chromium_ran: bool
    python: str
    platform: str
    generated_at: datetime
    cases: list[Case]
    limitations: list[str]
    platform_table: list[str] = Field(
        description="The README's table of what each extractor reads."
    )

    @property
    def failed(self) -> list[Case]:
        return [c for c in self.cases if not c.passed]


# ------------------------------------------------------------------------ comparing values


def _show(value: object, limit: int = 90) -> str:
    if value is None:
        return "(empty)"
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _field_check(name: str, expected: Any, actual: str | None, post: Post) -> Check:
    """One post field against a table value: exact, Prefix, Contains, or None (empty)."""
    kind = type(expected).__name__
    if expected is None:
        has_reason = name in post.missing
        return Check(
            name=name,
            expected="empty, with the reason",
            actual="empty: " + _show(post.missing.get(name))
            if actual is None and has_reason
            else ("empty without a reason" if actual is None else _show(actual)),
            passed=actual is None and has_reason,
        )
    if kind == "Prefix":
        text = str(expected.text)
        ok, shown = actual is not None and actual.startswith(text), f"starts with {_show(text)}"
    elif kind == "Contains":
        text = str(expected.text)
        ok, shown = actual is not None and text in actual, f"contains {_show(text)}"
    else:
        ok, shown = actual == expected, _show(expected)
    sourced = bool(post.sources.get(name))
    actual_shown = (
        _show(actual) if sourced or actual is None else _show(actual) + " (no source recorded)"
    )
    return Check(name=name, expected=shown, actual=actual_shown, passed=ok and sourced)


def compare_row(row: Any, post: Post, state: str) -> list[Check]:
    """The checks of `tests.real_pages.check`, each as a named check instead of an assert."""
    checks = [
        Check(
            name="page state", expected=row.page_state, actual=state, passed=state == row.page_state
        ),
        Check(
            name="platform",
            expected=_show(row.platform),
            actual=_show(post.platform.id),
            passed=post.platform.id == row.platform,
        ),
        Check(
            name="platform basis",
            expected=row.basis,
            actual=post.platform.basis,
            passed=post.platform.basis == row.basis,
        ),
    ]
    if row.kind is not None:
        checks.append(
            Check(name="kind", expected=row.kind, actual=post.kind, passed=post.kind == row.kind)
        )
    for name, expected in row.fields.items():
        checks.append(_field_check(name, expected, getattr(post, name), post))
    for name, number in row.counts.items():
        actual = getattr(post.counts, name)
        checks.append(
            Check(
                name=f"count {name}",
                expected=str(number),
                actual=_show(actual),
                passed=actual == number,
            )
        )
    flagged = {c.field for c in post.conflicts}
    for name in row.conflicts:
        checks.append(
            Check(
                name=f"conflict {name}",
                expected="flagged",
                actual="flagged" if name in flagged else "not flagged",
                passed=name in flagged,
            )
        )
    if row.media_min:
        checks.append(
            Check(
                name="media items",
                expected=f"at least {row.media_min}",
                actual=str(len(post.media)),
                passed=len(post.media) >= row.media_min,
            )
        )
    for fragment in row.notes:
        hit = next((n for n in post.notes if fragment in n), None)
        checks.append(
            Check(
                name="note",
                expected=f"mentions {_show(fragment)}",
                actual=_show(hit) if hit else "no such note",
                passed=hit is not None,
            )
        )
    return checks


# ------------------------------------------------------------------------ part 1: the table


def _corpus() -> Any:
    try:
        return importlib.import_module("tests.real_pages")
    except ImportError as exc:
        raise UsageError(
            f"the known-answer table (tests/real_pages) is not importable: {exc}; "
            "run scripts/validate from a checkout"
        ) from None


def table_cases() -> list[Case]:
    """Every row of the real-pages table, read as a capture reads it."""
    corpus = _corpus()
    pages: Path = corpus.REAL_PAGES
    if not pages.is_dir():
        raise UsageError(f"the saved real pages are not at {pages}")
    cases = []
    for row in corpus.rows():
        path = row.path
        case = Case(part="real page", id=row.id, source=row.file, read_as=row.url, checks=[])
        try:
            raw = path.read_bytes()
            reading = read_page(PageInput(url=row.url, raw=raw, status=200))
        except Exception as exc:  # a case that cannot run is a failed case, reported
            case.error = f"{type(exc).__name__}: {_show(exc, 200)}"
            cases.append(case)
            continue
        case.source_sha256 = hashlib.sha256(raw).hexdigest()
        case.checks = compare_row(row, reading.post, reading.page_state.state)
        cases.append(case)
    return cases


# ------------------------------------------------------------------------ part 2: captures


@dataclass(frozen=True)
class FixtureCase:
    path: str
    state: str
    status: int
    fields: dict[str, str | None]
    """Post field -> expected value (None: empty); from the fixture page's own source."""
    basis: str
    overrides: dict[str, float]
    note: str


FIXTURE_CASES: tuple[FixtureCase, ...] = (
    FixtureCase(
        path="/mastodon/status.html",
        state="content",
        status=200,
        fields={
            "post_id": "109876543210",  # <article data-status-id>, the ActivityPub link
            "author_name": "Alice Example",  # a.display-name
            "author_handle": "@alice@social.example",  # div.handle
            "published_at": "2026-11-20T14:03:00Z",  # <time datetime>
        },
        basis="claimed",  # 127.0.0.1 is no Mastodon host: the ActivityPub link claims it
        overrides={},
        note="a Mastodon-style post with a lazily loaded thread",
    ),
    FixtureCase(
        path="/login-wall.html",
        state="login-wall",
        status=200,
        fields={"author_name": None, "published_at": None},
        basis="none",
        overrides={},
        note="a login wall over a blurred post: no post content may be read from it",
    ),
    FixtureCase(
        path="/deleted/status/999",
        state="not-found",
        status=404,
        fields={"author_name": None, "published_at": None},
        basis="none",
        overrides={},
        note="a deleted post (HTTP 404 and the platform's text)",
    ),
    FixtureCase(
        path="/never-settles.html",
        state="content",
        status=200,
        fields={
            "post_id": "109876543777",  # JSON-LD identifier (the page names no platform)
            "author_name": "Carol Ng",  # JSON-LD author.name, a.display-name
            "author_handle": "@carol@social.example",  # JSON-LD author.alternateName
            "published_at": "2026-11-20T16:40:00Z",  # <time datetime>, JSON-LD
        },
        basis="none",  # no ActivityPub link, og:site_name social.example: no platform claimed
        overrides={"navigation_timeout_s": 3.0, "settle_timeout_s": 1.0, "scroll_max_time_s": 2.0},
        note="a live post whose image never loads and whose script polls forever; read by the "
        "generic reader",
    ),
)


def hermetic_settings(**overrides: Any) -> BrowserSettings:
    """The settings tests/e2e/test_platforms.py captures with: every host but 127.0.0.1
    unresolvable, private network allowed (the fixture site is on loopback), short limits."""
    base: dict[str, Any] = {
        "navigation_timeout_s": 10.0,
        "settle_timeout_s": 1.0,
        "scroll_max_time_s": 3.0,
        "total_timeout_s": 30.0,
        "block_private_network": False,
        "host_resolver_rules": "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    }
    base.update(overrides)
    return BrowserSettings(**base)


def capture_checks(
    spec: FixtureCase, record: CaptureRecord, settings: BrowserSettings
) -> list[Check]:
    state = record.page_state.state if record.page_state else None
    post = record.post
    checks = [
        Check(
            name="HTTP status",
            expected=str(spec.status),
            actual=_show(record.status),
            passed=record.status == spec.status,
        ),
        Check(
            name="page state", expected=spec.state, actual=_show(state), passed=state == spec.state
        ),
        Check(
            name="platform basis",
            expected=spec.basis,
            actual=_show(post.platform.basis if post else None),
            passed=post is not None and post.platform.basis == spec.basis,
        ),
    ]
    for name, expected in spec.fields.items():
        if post is None:
            checks.append(
                Check(name=name, expected=_show(expected), actual="no post read", passed=False)
            )
        else:
            checks.append(_field_check(name, expected, getattr(post, name), post))
    took = (record.ended_at - record.started_at).total_seconds()
    checks.append(
        Check(
            name="finished within the total limit",
            expected=f"≤ {settings.total_timeout_s:g} s",
            actual=f"{took:.1f} s",
            passed=took <= settings.total_timeout_s,
        )
    )
    return checks


def capture_cases(workdir: Path) -> tuple[list[Case], str | None]:
    """Capture each fixture page with a real Chromium; the cases and the browser version."""
    from collector.browser import capture

    try:
        server_module = importlib.import_module("fixtures.server")
    except ImportError as exc:
        raise UsageError(f"the fixture site (fixtures/) is not importable: {exc}") from None
    cases: list[Case] = []
    version: str | None = None
    with server_module.FixtureServer() as site:
        for number, spec in enumerate(FIXTURE_CASES):
            url = site.http_url(spec.path)
            settings = hermetic_settings(**spec.overrides)
            case = Case(
                part="fixture capture",
                id=spec.path,
                source=f"fixtures/site{spec.path}",
                read_as=url,
                checks=[],
                about=spec.note,
            )
            try:
                record = capture(url, settings, workdir / f"{number:02d}")
            except Exception as exc:
                case.error = f"{type(exc).__name__}: {_show(exc, 200)}"
                cases.append(case)
                continue
            version = version or record.browser.version
            case.checks = capture_checks(spec, record, settings)
            cases.append(case)
    return cases, version


# ------------------------------------------------------------------------ environment


def _git_commit() -> str | None:
    try:
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{head} (with uncommitted changes)" if dirty else head


def installed_chromium(path: str = "/usr/bin/chromium") -> str | None:
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return out.strip() or None


def readme_limits(readme: Path = README) -> list[str]:
    """The bullets of the README's Limits section, one string each."""
    text = readme.read_text(encoding="utf-8")
    section = re.search(r"^## Limits\n(.*?)(?=^## )", text, re.S | re.M)
    if section is None:
        return []
    items: list[str] = []
    for line in section.group(1).splitlines():
        if line.startswith("- "):
            items.append(line[2:].strip())
        elif line.startswith("  ") and items:
            items[-1] += " " + line.strip()
    return items


def readme_platform_table(readme: Path = README) -> list[str]:
    """The README's table of platforms, hosts and what is read, as its Markdown lines."""
    lines = readme.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if line.startswith("| platform | hosts |"):
            table = []
            for row in lines[i:]:
                if not row.startswith("|"):
                    break
                table.append(row)
            return table
    return []


# ------------------------------------------------------------------------ the report


def build_report(*, chromium: bool = True, workdir: Path | None = None) -> Report:
    cases = table_cases()
    version: str | None = None
    if chromium:
        with tempfile.TemporaryDirectory(prefix="validate-", dir=workdir) as tmp:
            captured, version = capture_cases(Path(tmp))
        cases += captured
    return Report(
        tool=TOOL_NAME,
        tool_version=__version__,
        source_commit=_git_commit(),
        chromium_version=version or installed_chromium(),
        chromium_ran=chromium,
        python=f"{platform.python_implementation()} {platform.python_version()}",
        platform=platform.platform(),
        generated_at=datetime.now(UTC).replace(microsecond=0),
        cases=cases,
        limitations=readme_limits(),
        platform_table=readme_platform_table(),
    )


SCOPE: tuple[str, ...] = (
    "These cases check what a capture reads from a page (page state, platform and its basis, "
    "the post's fields with their sources, counts, media, notes) and that a capture finishes "
    "within its time limits. Sealing, verification, time-stamps, custody, exports and exhibits "
    "are checked by the test suite (`./scripts/test`), not by this report.",
    "The real pages were saved from the platforms once, between 2016 and 2026; the platforms "
    "change their pages, and the same post served today may be built differently.",
    "Real pages are read here from their saved bytes, without a browser; the same pages captured "
    "by Chromium from a local server are checked by `tests/e2e/test_platforms.py`.",
)


def _cell(value: str) -> str:
    """A table cell: HTML-escaped (page text is hostile), pipes escaped, one line."""
    text = html.escape(value, quote=False).replace("|", "\\|").replace("`", "\\`")
    return " ".join(text.replace("\r", " ").replace("\n", " ⏎ ").split())


def _mark(ok: bool) -> str:
    return "PASS" if ok else "**FAIL**"


def render_markdown(report: Report) -> str:
    parts = [case.part for case in report.cases]
    total, failed = len(report.cases), len(report.failed)
    checks = sum(len(c.checks) for c in report.cases)
    failed_checks = sum(1 for c in report.cases for k in c.checks if not k.passed)
    out: list[str] = [
        "# Tool validation report",
        "",
        "Generated by `scripts/validate`: the known-answer corpus run against this build. Every "
        "expected value was established by hand from the page's own source, not by running the "
        "reader. Regenerate with `./scripts/validate`; it exits non-zero when any case fails.",
        "",
        "- **real page**: every row of the real-pages table (`tests/real_pages`): a page saved "
        "from the platform, read by `collector.platforms.read_page` under the URL the row names. "
        "Under the platform's own host the platform is *established*; rows read under "
        "`http://127.0.0.1:8000/real/…` stand for the same page served from a test server, where "
        "the platform can only be *claimed by the page*. An empty expected field must be empty "
        "with the reason recorded; a filled one must name the element it came from.",
        "- **fixture capture**: a real capture by Chromium of a page of the fixture site "
        "(`fixtures/site`), served on 127.0.0.1 with every other host unresolvable.",
        "",
        "## Environment",
        "",
        "| | |",
        "|---|---|",
        f"| tool | {report.tool} {report.tool_version} |",
        f"| source commit | {report.source_commit or 'unknown'} |",
        f"| Chromium | {_cell(report.chromium_version or 'not found')}"
        + ("" if report.chromium_ran else " (installed; not run: table only)")
        + " |",
        f"| Python | {report.python} |",
        f"| platform | {_cell(report.platform)} |",
        f"| date (UTC) | {report.generated_at:%Y-%m-%d %H:%M:%SZ} |",
        "",
        "## Totals",
        "",
        "| part | cases | passed | failed |",
        "|---|---|---|---|",
    ]
    for part in dict.fromkeys(parts):
        mine = [c for c in report.cases if c.part == part]
        bad = sum(1 for c in mine if not c.passed)
        out.append(f"| {part} | {len(mine)} | {len(mine) - bad} | {bad} |")
    out += [
        f"| **all** | **{total}** | **{total - failed}** | **{failed}** |",
        "",
        f"{checks} checks, {checks - failed_checks} passed, {failed_checks} failed. "
        f"Result: **{'PASS' if failed == 0 else 'FAIL'}**.",
        "",
    ]
    if not report.chromium_ran:
        out += ["_Fixture captures through Chromium were not run (`--no-chromium`)._", ""]
    out += ["## Cases", "", "| # | part | case | read as | result |", "|---|---|---|---|---|"]
    for n, case in enumerate(report.cases, 1):
        out.append(
            f"| {n} | {case.part} | {_cell(case.source)} | {_cell(case.read_as)} | {_mark(case.passed)} |"
        )
    out.append("")
    for n, case in enumerate(report.cases, 1):
        out += [f"### {n}. {_cell(case.source)} — {_mark(case.passed)}", ""]
        out.append(
            f"Read as `{case.read_as}`"
            + (f"; page SHA-256 `{case.source_sha256}`." if case.source_sha256 else ".")
        )
        if case.about:
            out.append(f"Stands for: {_cell(case.about)}.")
        out.append("")
        if case.error:
            out += [f"Could not run: {_cell(case.error)}", ""]
            continue
        out += ["| check | expected | actual | result |", "|---|---|---|---|"]
        for check in case.checks:
            out.append(
                f"| {_cell(check.name)} | {_cell(check.expected)} | {_cell(check.actual)} | "
                f"{_mark(check.passed)} |"
            )
        out.append("")
    out += ["## Known limitations", "", "Of this validation:", ""]
    out += [f"- {item}" for item in SCOPE]
    out += ["", "From the README's Limits section:", ""]
    out += [f"- {item}" for item in report.limitations] or ["- (the README has no Limits section)"]
    out += [
        "",
        "What each platform extractor reads (the README's table); fields outside it are "
        "left empty with the reason:",
        "",
    ]
    out += report.platform_table
    out.append("")
    return "\n".join(out)


def write_report(report: Report, out: Path = DEFAULT_OUT) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_markdown(report), encoding="utf-8")
    return out


def main(argv: Sequence[str] | None = None, echo: Callable[[str], None] = print) -> int:
    parser = argparse.ArgumentParser(prog="scripts/validate", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="report path (docs/VALIDATION.md)"
    )
    parser.add_argument(
        "--no-chromium",
        action="store_true",
        help="run the real-pages table only, no fixture captures",
    )
    args = parser.parse_args(argv)
    try:
        report = build_report(chromium=not args.no_chromium)
    except UsageError as exc:
        echo(f"validate: {exc}")
        return 2
    path = write_report(report, args.out)
    for case in report.failed:
        bad = [c.name for c in case.checks if not c.passed]
        echo(f"FAIL {case.part}: {case.source} @ {case.read_as}: {case.error or ', '.join(bad)}")
    total = len(report.cases)
    echo(f"{total - len(report.failed)} passed, {len(report.failed)} failed; report: {path}")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
