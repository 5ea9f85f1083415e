"""Exhibit rendering: real sealed bundles rendered to a PDF by the real Chromium, read back
with poppler's pdftotext and pdfinfo.

Packets are built here directly from each sealed bundle (metadata.json, the store ledger's
custody log and ledger rows, hashes recomputed from the files, the verify checklist) and a
declarant with a stated profile, so rendering is tested on its own. Three captures are
used: the session's thread capture (`sealed`), the 32000 px tall page and a page whose
title, author and post text hold markup (fixtures/site/hostile.html).
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from collector.disclosure.exhibit.model import (
    Declarant,
    ExhibitItem,
    HashCheck,
    LedgerRef,
    Packet,
    Profile,
)
from collector.disclosure.exhibit.render import (
    RedactedView,
    RedactionEntry,
    geometry,
    pdf,
    render_html,
    render_pdf,
    view,
)
from collector.disclosure.exhibit.render import pages as page_rules
from collector.errors import IntegrityError, UsageError
from collector.evidence.bundle.verify import CustodyInput, verify_bundle
from collector.evidence.model import Metadata, PageChange, Person
from collector.store.ledger import Ledger
from fixtures.server import TALL_PAGE_HEIGHT, FixtureServer
from tests.helpers import REPO, Cli

pytestmark = pytest.mark.e2e

CASE = "HPD-2026-000123"
SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
DECLARATION = "I declare under penalty of perjury that the foregoing is true and correct."
DECLARANT = Person(user="erin", full_name="Erin Evans", badge="C-301")
TITLE = "Digital Evidence Custodian"
QUALIFICATIONS = (
    "Twelve years in the Harbor Police Department's digital evidence unit; "
    "custodian of the agency's social-media capture system since its adoption."
)


# --------------------------------------------------------------------- building packets


def _item(store: Path, bundle_id: str) -> ExhibitItem:
    """One bundle of a packet, checked the way the assembler checks it."""
    ledger = Ledger(store / "ledger.sqlite")
    try:
        path = store / "bundles" / bundle_id
        meta = Metadata.model_validate_json((path / "data" / "metadata.json").read_bytes())
        hashes = []
        for name, size, acquired in [
            *((a.path, a.size, a.sha256) for a in meta.artifacts),
            ("metadata.json", (path / "data" / "metadata.json").stat().st_size, _manifest(path)),
        ]:
            now = hashlib.sha256((path / "data" / name).read_bytes()).hexdigest()
            hashes.append(
                HashCheck(
                    path=name,
                    size=size,
                    acquired_sha256=acquired,
                    recomputed_sha256=now,
                    match=now == acquired,
                )
            )
        custody = ledger.custody(bundle_id)
        report = verify_bundle(
            path,
            ledger.key,
            CustodyInput(custody, ledger.recorded_custody_head(bundle_id), "store ledger"),
        )
        refs: dict[str, LedgerRef] = {}
        for key, subject, action in (
            ("captured", bundle_id, "capture.sealed"),
            ("approved", meta.authorization.id, "auth.approve"),
        ):
            event = next(e for e in ledger.events(subject=subject) if e.action == action)
            refs[key] = LedgerRef(
                id=event.seq, action=event.action, at=event.at.isoformat(), actor=event.actor
            )
        return ExhibitItem(
            bundle_id=bundle_id,
            bundle_path=path,
            metadata=meta,
            seal_sha256=hashlib.sha256((path / "tagmanifest-sha256.txt").read_bytes()).hexdigest(),
            verify_checks=[f"{'✓' if c.ok else '✗'} {c.name}: {c.detail}" for c in report.checks],
            hashes=hashes,
            hashes_checked_at=datetime.now(UTC),
            custody=custody,
            ledger=refs,
            captured_by=meta.operator,
            authorized_by=meta.authorization.approved_by,
        )
    finally:
        ledger.close()


def _manifest(path: Path) -> str:
    for line in (path / "manifest-sha256.txt").read_text().splitlines():
        digest, name = line.split(None, 1)
        if name.strip() == "data/metadata.json":
            return digest
    raise AssertionError("metadata.json is not in the manifest")


def _packet(items: list[ExhibitItem], **extra: Any) -> Packet:
    fields: dict[str, Any] = {
        "number": "12",
        "case_number": CASE,
        "agency": "Test Police Department",
        "items": items,
        "declarant": Declarant(
            person=DECLARANT,
            role="custodian",
            profile=Profile(
                user="erin",
                title=TITLE,
                qualifications=QUALIFICATIONS,
                training="SWGDE best practices for web capture, 2025",
                set_at=datetime(2026, 11, 1, tzinfo=UTC),
                ledger_event=7,
            ),
        ),
        "bates_prefix": "HPD-",
        "bates_start": 101,
        "generated_at": datetime.now(UTC),
        "tool_name": "collector",
        "tool_version": "0.1.0",
        "recipient": "ADA Jane Roe",
    }
    fields.update(extra)
    return Packet.model_validate(fields)


# --------------------------------------------------------------------- reading PDFs


def _text(pdf: Path, page: int | None = None) -> str:
    args = ["pdftotext", "-enc", "UTF-8"]
    if page is not None:
        args += ["-f", str(page), "-l", str(page)]
    out = subprocess.run([*args, str(pdf), "-"], capture_output=True, text=True, check=True)
    return out.stdout


def _flat(text: str) -> str:
    return " ".join(text.split())


def _pdfinfo_pages(pdf: Path) -> int:
    out = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    match = re.search(r"^Pages:\s+(\d+)$", out.stdout, re.M)
    assert match, out.stdout
    return int(match.group(1))


# --------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def captures(
    e2e_template: Cli, site: FixtureServer, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """The tall page and the hostile page, captured into a store of this module's own."""
    if shutil.which("pdftotext") is None or shutil.which("pdfinfo") is None:
        pytest.fail("poppler-utils (pdftotext, pdfinfo) is needed: run scripts/setup")
    target = tmp_path_factory.mktemp("exhibit") / "store"
    shutil.copytree(e2e_template.store, target)
    cli = Cli(target)
    auth = cli.approved([site.http_url("/*")])
    ids = {
        name: cli.json("capture", site.http_url(path), "--auth", auth, as_user="alice")["bundle_id"]
        for name, path in (("tall", "/tall.html"), ("hostile", "/hostile.html"))
    }
    return {"store": target, **ids}


@pytest.fixture(scope="module")
def two(
    sealed: dict[str, Any], captures: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """A packet of the thread capture and the hostile capture, rendered once."""
    items = [
        _item(sealed["cli"].store, sealed["result"]["bundle_id"]),
        _item(captures["store"], captures["hostile"]),
    ]
    packet = _packet(items)
    out = tmp_path_factory.mktemp("pdf") / "exhibit-12.pdf"
    result = render_pdf(packet, out)
    return {"packet": packet, "result": result, "pdf": out, "text": _text(out)}


# --------------------------------------------------------------------- tests


def test_packet_text_has_case_urls_hashes_people_declaration_and_notice(
    two: dict[str, Any],
) -> None:
    packet: Packet = two["packet"]
    text = two["text"]
    flat = _flat(text)
    assert CASE in text
    for item in packet.items:
        capture = item.metadata.capture
        assert capture.requested_url in text
        assert item.bundle_id in text
        assert item.seal_sha256 in text
        for check in item.hashes:  # every artifact's full SHA-256, acquired and recomputed
            assert text.count(check.acquired_sha256) >= 2, check.path
        assert "Bob Brown" in text  # the authorizing officer
        assert "Alice Adams" in text  # the investigator
        for event in item.custody:
            assert event.hash in text
    assert f"{DECLARANT.full_name}" in text and TITLE in flat
    assert _flat(QUALIFICATIONS) in flat
    assert DECLARATION in flat
    assert "Executed on" in text and "(Signature)" in text
    assert "Certification of Erin Evans under Federal Rules of Evidence 902(13) and 902(14)" in flat
    assert "Notice of intent to offer records under Federal Rule of Evidence 902(11)" in flat
    assert "available for inspection" in flat
    assert "human-readable rendering of the files listed in section 5" in flat
    assert "the rendering itself is not the hashed original" in flat.lower()
    # the citation of the ledger and custody events each statement rests on
    first = packet.items[0]
    assert f"custody #1 captured {first.custody[0].hash[:16]}" in flat
    assert f"ledger #{first.ledger['approved'].id} auth.approve" in flat
    # the verification commands, as the README gives them
    for command, _what in geometry.VERIFY_COMMANDS:
        for line in command.splitlines():
            assert line.strip().rstrip("\\").strip() in text, line


def test_every_page_is_footed_with_bates_page_bundle_url_and_time(two: dict[str, Any]) -> None:
    packet: Packet = two["packet"]
    result = two["result"]
    pdf: Path = two["pdf"]
    pages = _pdfinfo_pages(pdf)
    assert pages == result.pages
    assert result.bates_first == "HPD-000101"
    assert result.bates_last == f"HPD-{100 + pages:06d}"
    owner: dict[int, str | None] = {}
    for entry in result.contents:
        for number in range(entry.first_page, entry.last_page + 1):
            owner[number] = entry.bundle_id
    assert sorted(owner) == list(range(1, pages + 1))  # contents cover every page once
    items = {item.bundle_id: item for item in packet.items}
    seen_bates = []
    for number in range(1, pages + 1):
        text = _text(pdf, number)
        flat = _flat(text)
        bates = f"HPD-{100 + number:06d}"
        assert f"Page {number} of {pages}" in flat, number
        assert bates in text, number
        seen_bates.append(bates)
        assert "Exhibit 12" in flat and f"Case {CASE}" in flat, number
        bundle_id = owner[number]
        if bundle_id is None:  # contents, certification, notice: every bundle named
            assert all(bid in flat for bid in items), number
        else:
            capture = items[bundle_id].metadata.capture
            assert f"Bundle {bundle_id}" in flat, number
            assert f"Source URL: {capture.requested_url}" in flat, number
            assert f"Captured (UTC): {page_rules.utc(capture.started_at)}" in flat, number
    assert len(set(seen_bates)) == pages  # continuous and unique across the packet


def test_two_bundles_make_one_packet_with_contents_and_continuous_numbers(
    two: dict[str, Any],
) -> None:
    packet: Packet = two["packet"]
    result = two["result"]
    pdf: Path = two["pdf"]
    contents = _flat(_text(pdf, 1))
    assert "Table of contents" in contents
    second = packet.items[1].bundle_id
    cover = next(
        e for e in result.contents if e.bundle_id == second and e.title.startswith("Cover")
    )
    assert f"{cover.first_page} {cover.bates_first}" in contents
    assert cover.first_page > 2
    assert "Exhibit 12, item 2 of 2" in _flat(_text(pdf, cover.first_page))
    previous = 0
    for entry in result.contents:  # sections follow each other without gaps or restarts
        assert entry.first_page == previous + 1
        assert entry.bates_first == f"HPD-{100 + entry.first_page:06d}"
        previous = entry.last_page
    titles = [e.title for e in result.contents]
    assert titles[0] == "Table of contents"
    assert titles[-2:] == [
        "Certification under FRE 902(13) and 902(14)",
        "Notice of intent to offer records under FRE 902(11)",
    ]
    assert titles.count("Screenshot") == 2 and titles.count("Chain of custody") == 2
    # the platform of a fixture page served from 127.0.0.1 is at most claimed
    post = packet.items[0].metadata.capture.post
    if post is not None and post.platform.basis == "claimed":
        assert "claimed by the page, not established" in _flat(_text(pdf, 2))


def test_hostile_markup_shows_literally_and_runs_nothing(two: dict[str, Any]) -> None:
    packet: Packet = two["packet"]
    hostile = packet.items[1]
    assert SCRIPT in hostile.metadata.capture.title and IMG in hostile.metadata.capture.title
    post = hostile.metadata.capture.post
    assert post is not None and post.text is not None and SCRIPT in post.text and IMG in post.text
    text = two["text"]
    assert SCRIPT in text and IMG in text  # title, author and text, as text
    assert f"{IMG} Mallory" in text
    html = render_html(packet)
    assert "<script" not in html.lower()
    assert "<img src=x" not in html and "onerror=alert" not in html.replace(
        "onerror=alert(1)&gt;", ""
    )
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    # render_pdf ran with JavaScript off and fails on any dialog or request; it succeeded
    assert two["result"].pages > 0


def test_tall_capture_is_split_across_as_many_pages_as_its_height_needs(
    captures: dict[str, Any], tmp_path: Path
) -> None:
    item = _item(captures["store"], captures["tall"])
    shot = next(a for a in item.metadata.artifacts if a.path == "screenshot.png")
    assert shot.height == TALL_PAGE_HEIGHT and shot.width is not None
    assert not [c for c in item.metadata.capture.changes if c.kind == "screenshot-clipped"]
    per_page = int(geometry.SLICE_MAX_DISPLAY_PX / page_rules.display_scale(shot.width))
    expected = -(-TALL_PAGE_HEIGHT // per_page)  # ceiling
    assert expected == len(page_rules.slice_rows(shot.width, shot.height)) >= 20
    out = tmp_path / "tall.pdf"
    result = render_pdf(_packet([item], bates_prefix="", bates_start=1), out)
    screenshot = next(e for e in result.contents if e.title == "Screenshot")
    assert screenshot.last_page - screenshot.first_page + 1 == expected
    assert (
        _pdfinfo_pages(out)
        == result.pages
        == sum(e.last_page - e.first_page + 1 for e in result.contents)
    )
    for k in range(expected):
        page = _flat(_text(out, screenshot.first_page + k))
        top = k * per_page
        bottom = min(top + per_page, TALL_PAGE_HEIGHT) - 1
        assert f"screenshot page {k + 1} of {expected}" in page
        assert f"pixel rows {top}–{bottom} of {TALL_PAGE_HEIGHT}" in page
        assert f"Page {screenshot.first_page + k} of {result.pages}" in page
        assert f"{screenshot.first_page + k:06d}" in page


def test_redacted_copy_replaces_values_withholds_screenshots_and_logs(
    captures: dict[str, Any], tmp_path: Path
) -> None:
    item = _item(captures["store"], captures["hostile"])
    bundle = item.bundle_id
    view = RedactedView(
        replacements={
            bundle: {"post.text": "Selling bikes [REDACTED] cash only", "author_name": "[NAME]"}
        },
        strings={"Mallory": "[NAME]"},
        log=[
            RedactionEntry(
                bundle_id=bundle,
                field="post.text",
                kind="listed-term",
                replacement="[REDACTED]",
                rule="Fed. R. Crim. P. 49.1(a)(3)",
                original_sha256="0" * 64,
            )
        ],
    )
    out = tmp_path / "redacted.pdf"
    result = render_pdf(_packet([item]), out, redacted=view)
    text = _text(out)
    flat = _flat(text)
    assert result.redacted
    assert "REDACTED COPY" in text
    assert "Redaction log" in text and "Fed. R. Crim. P. 49.1(a)(3)" in flat
    assert "withheld from this redacted copy" in flat
    assert "available in the unredacted exhibit, under seal" in flat
    assert "Selling bikes [REDACTED] cash only" in flat
    assert "Mallory" not in text
    assert "serial numbers filed off" not in text  # the original post text is gone
    shot = next(e for e in result.contents if e.title == "Screenshot")
    assert shot.first_page == shot.last_page  # one page of statement instead of the slices
    with pytest.raises(UsageError):
        render_html(_packet([item]), redacted=RedactedView(replacements={bundle: {"url": "x"}}))


def test_declaration_form_follows_the_jurisdiction_and_refuses_bad_input(
    captures: dict[str, Any],
) -> None:
    item = _item(captures["store"], captures["hostile"])
    abroad = _flat(render_html(_packet([item], jurisdiction="us-federal-abroad")))
    assert (
        "I declare under penalty of perjury under the laws of the United States of America "
        "that the foregoing is true and correct." in abroad
    )
    assert "28 U.S.C. § 1746(1)" in abroad
    home = _flat(render_html(_packet([item])))
    assert DECLARATION in home and "28 U.S.C. § 1746(2)" in home
    for bad in ("texas", "../declarations/us-federal", "_base"):
        with pytest.raises(UsageError, match="no declaration form"):
            render_html(_packet([item], jurisdiction=bad))
    changed = item.model_copy(
        update={
            "hashes": [
                h.model_copy(update={"recomputed_sha256": "f" * 64, "match": False})
                if h.path == "page.html"
                else h
                for h in item.hashes
            ]
        }
    )
    with pytest.raises(IntegrityError, match=r"page\.html no longer matches"):
        render_html(_packet([changed]))
    unqualified = _packet([item])
    unqualified.declarant.profile.qualifications = "  "
    with pytest.raises(UsageError, match="no title and qualifications"):
        render_html(unqualified)


def test_verification_commands_are_the_readmes() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Verifying without this tool", 1)[1].split("\n## ", 1)[0]
    for command, _what in geometry.VERIFY_COMMANDS:
        for line in command.splitlines():
            assert line in section, line


def test_clipped_screenshot_and_direction_overrides_are_stated(captures: dict[str, Any]) -> None:
    item = _item(captures["store"], captures["hostile"])
    capture = item.metadata.capture
    assert capture.post is not None
    clipped = PageChange(
        kind="screenshot-clipped",
        at=capture.ended_at,
        detail="the document is 1280x200000 CSS px, beyond what one PNG can hold; the "
        "screenshot covers x 0-1280, y 0-93750 (the DOM, MHTML and WARC hold the whole page)",
    )
    changed = capture.model_copy(
        update={
            "changes": [*capture.changes, clipped],
            "post": capture.post.model_copy(update={"author_name": "Mallory \u202egnp.exe"}),
        }
    )
    item = item.model_copy(
        update={"metadata": item.metadata.model_copy(update={"capture": changed})}
    )
    html = render_html(_packet([item]))
    assert f"CLIPPED by the capture: {clipped.detail}" in html
    assert "CLIPPED: the capture clipped this screenshot" in html  # on the screenshot pages
    assert "Mallory ⟨U+202E⟩gnp.exe" in html and "\u202e" not in html


def test_no_script_runs_and_nothing_loads_even_if_markup_got_through(
    captures: dict[str, Any], site: FixtureServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Defence in depth: markup that escaped escaping still neither runs nor loads."""
    original = view.packet_document
    beacon = site.http_url("/beacon.png")

    def leaky(*args: Any, **kwargs: Any) -> str:
        html = original(*args, **kwargs)
        injected = (
            "<script>document.body.append('SCRIPT-RAN'); alert('SCRIPT-RAN')</script>"
            f"<img src='{beacon}' onerror=\"document.body.append('ONERROR-RAN')\">"
        )
        return html.replace("</body>", injected + "</body>")

    monkeypatch.setattr(pdf, "packet_document", leaky)
    before = list(site.requests)
    out = tmp_path / "leaky.pdf"
    render_pdf(_packet([_item(captures["store"], captures["hostile"])]), out)
    text = _text(out)
    assert "SCRIPT-RAN" not in text and "ONERROR-RAN" not in text
    assert [r for r in site.requests if r not in before and "beacon" in r[1]] == []
