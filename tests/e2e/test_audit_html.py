"""The HTML audit report in a real browser: markup from pages, notes and reasons stays inert
text, nothing is fetched, no dialog opens. (The report's content is tested in tests/unit.)"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from collector import capture
from tests.fakes.browser import FakeBrowser, url
from tests.helpers import Cli

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
AUDITOR = ("audrey", "audrey-passphrase")
HOSTILE_TITLE = "<img src=x onerror=alert(1)> stolen bikes for sale"
HOSTILE_NOTE = "<script>alert(1)</script> seller met at the bridge"
HOSTILE_DENIAL = '=HYPERLINK("http://evil.example") <script>alert(1)</script> no crime described'
THREAT = "A post threatens to open fire at the City Hall steps at noon today and shows a rifle."


def test_html_report_is_inert_and_self_contained(
    e2e_template: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(capture, "browser_capture", FakeBrowser())  # the page itself is recorded
    shutil.copytree(e2e_template.store, tmp_path / "store")
    cli = Cli(tmp_path / "store")
    name, secret = AUDITOR
    cli.ok("user", "add", name, "--role", "auditor", "--name", "Audrey Audit", "--badge", "AU-501",
           new_passphrase=secret)  # fmt: skip
    hostile = cli.json("capture", url("/hostile-title.html"), "--exigent", "--case", "HPD-2026-000777",
                       "--facts", THREAT, "--note", HOSTILE_NOTE, as_user="alice")["bundle_id"]  # fmt: skip
    denied = cli.request([url("/*")])
    cli.ok("auth", "deny", denied, "--reason", HOSTILE_DENIAL, as_user="bob")
    out = tmp_path / "audit.html"
    cli.ok("audit", "report", "--format", "html", "--out", str(out), as_user=name, passphrase=secret)

    page_url = out.as_uri()
    requests: list[str] = []
    dialogs: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            page = browser.new_page()
            page.on("request", lambda r: requests.append(r.url))
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(page_url, wait_until="load")
            page.wait_for_timeout(300)
            headings = page.locator("h2").all_inner_texts()
            assert len(headings) == 14
            assert headings[0].startswith("1. Captures by user and by case")
            assert headings[12].startswith("13. Watches")
            assert headings[13].startswith("14. Integrity")
            assert hostile in page.locator("body").inner_text()
            captures = page.locator("section#captures").inner_text()
            assert HOSTILE_TITLE in captures and HOSTILE_NOTE in captures
            assert HOSTILE_DENIAL in page.locator("section#refusals").inner_text()
            assert page.locator("script").count() == 0 and page.locator("img").count() == 0
            assert page.evaluate("document.querySelectorAll('[onerror]').length") == 0
        finally:
            browser.close()
    assert requests == [page_url], requests
    assert dialogs == []
