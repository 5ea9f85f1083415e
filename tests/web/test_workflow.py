"""The whole workflow in a real browser, one story across roles on one workstation store: an
investigator requests an authorization for the fixture site, a supervisor approves it, the
investigator captures three of its pages (the store's local capture system captures them for
real in Chromium, in the server's background) and hands them to the custodian, who sees each
verified, looks at the screenshot, exports the three with their WACZ and downloads the file,
which the recipient's `collector verify --trust` passes; an auditor makes the audit report and
finds the three captures in it. What each page shows is asserted at each step; every page
visited passes axe-core and is kept as a screenshot (test-artifacts/web/workflow-*.png)."""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from playwright.sync_api import Browser, Dialog, expect

from fixtures.server import FixtureServer
from tests.helpers import FACTS, PASSPHRASES, Cli, make_store
from tests.web.conftest import ARTIFACTS, Server, Visitor, serving

PAGES = ("/mastodon/status.html", "/index.html", "/multilingual.html")
AUDITOR = ("aaron", "aaron-passphrase")
SECRETS = {**PASSPHRASES, AUDITOR[0]: AUDITOR[1]}
CASE = "HPD-2026-000456"
CAPTURE_WAIT_MS = 180_000


@pytest.fixture(scope="module")
def site() -> Iterator[FixtureServer]:
    with FixtureServer() as server:
        yield server


@pytest.fixture(scope="module")
def workflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A workstation store, private network allowed (the site is on 127.0.0.1), with an auditor;
    no authorization yet: the story starts with its request."""
    cli = make_store(tmp_path_factory.mktemp("web-workflow"))
    path = cli.store / "collector.toml"
    config = tomllib.loads(path.read_text())
    config["browser"].update(navigation_timeout_s=15.0, settle_timeout_s=2.0, scroll_max_time_s=15.0,
                             total_timeout_s=60.0, script_busy_s=2.0,
                             host_resolver_rules="MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost")  # fmt: skip
    path.write_text(tomli_w.dumps(config))
    name, passphrase = AUDITOR
    cli.ok("user", "add", name, "--role", "auditor", "--name", "Aaron Auditor", "--badge", "AU-501",
           new_passphrase=passphrase)  # fmt: skip
    with serving(cli) as running:
        yield running


class People:
    """Each person's own browser (a context of its own), made on first use."""

    def __init__(self, browser: Browser, server: Server) -> None:
        self.browser, self.server = browser, server
        self.found: dict[str, Visitor] = {}

    def __call__(self, user: str) -> Visitor:
        if user not in self.found:
            context = self.browser.new_context(accept_downloads=True)
            page = context.new_page()
            person = Visitor(context, page, self.server.url)
            page.on("dialog", lambda dialog: _dismissed(person, dialog))
            person.go("/login")
            page.get_by_label("User name").fill(user)
            page.get_by_label("Passphrase").fill(SECRETS[user])
            page.get_by_role("button", name="Log in").click()
            page.wait_for_url(self.server.url + "/")
            self.found[user] = person
        return self.found[user]

    def close(self) -> None:
        for person in self.found.values():
            person.context.close()


def _dismissed(person: Visitor, dialog: Dialog) -> None:
    person.dialogs.append(dialog.message)
    dialog.dismiss()


@pytest.fixture
def people(browser: Browser, workflow_server: Server) -> Iterator[People]:
    found = People(browser, workflow_server)
    yield found
    found.close()


def _shown(person: Visitor, name: str) -> None:
    """No serious accessibility violation; the screenshot kept."""
    person.check(f"workflow-{name}")


def _events(server: Server, action: str, actor: str | None = None) -> list[dict[str, Any]]:
    return [e for e in server.events() if e["action"] == action and (actor is None or e["actor"] == actor)]


def test_request_approve_capture_hand_over_verify_export_and_audit(
    people: People, workflow_server: Server, site: FixtureServer, tmp_path: Path
) -> None:
    server, cli = workflow_server, workflow_server.cli
    urls = [site.http_url(p) for p in PAGES]

    # 1. The investigator requests an authorization whose scope is the fixture site.
    alice = people("alice")
    _shown(alice, "1-dashboard-investigator")
    alice.go("/authorizations/new")
    _shown(alice, "1-authorization-new")
    page = alice.page
    page.get_by_label("Case number").fill(CASE)
    page.get_by_label("Predicate").select_option("criminal-predicate")
    page.get_by_label("Standard").select_option("reasonable-suspicion")
    page.get_by_label("Purpose").select_option("criminal-investigation")
    page.get_by_label("Articulable facts").fill(FACTS)
    page.get_by_label("Scopes: http(s) URL globs, one a line").fill(site.http_url("/*"))
    page.get_by_label("Retention class").select_option("case-evidence")
    page.get_by_label("Your passphrase (the request is signed)").fill(SECRETS["alice"])
    page.get_by_role("button", name="Request").click()
    page.wait_for_url(re.compile(r".*/authorizations/AUTH-[0-9A-Za-z-]+$"))
    auth_id = page.url.rsplit("/", 1)[1]
    assert page.locator("#status").inner_text() == "pending"
    assert CASE in page.locator("main").inner_text() and site.http_url("/*") in page.locator("main").inner_text()
    _shown(alice, "1-authorization-pending")
    requested = _events(server, "auth.request", "alice")
    assert [e["subject"] for e in requested] == [auth_id] and requested[0]["signer"] is not None

    # 2. The supervisor sees it awaiting his decision and approves it with his passphrase.
    bob = people("bob")
    assert bob.page.locator("section", has=bob.page.locator("#decide")).get_by_role("link", name=auth_id).count() == 1
    _shown(bob, "2-dashboard-supervisor")
    bob.go(f"/authorizations/{auth_id}")
    bob.page.get_by_role("link", name="Approve or deny").click()
    bob.page.wait_for_url(f"{server.url}/authorizations/{auth_id}/decision")
    _shown(bob, "2-decision")
    bob.page.get_by_label("Your passphrase").first.fill(SECRETS["bob"])
    bob.page.get_by_role("button", name="Approve and sign").click()
    bob.page.wait_for_url(f"{server.url}/authorizations/{auth_id}")
    assert bob.page.locator("#status").inner_text() == "approved"
    _shown(bob, "2-authorization-approved")
    assert cli.json("auth", "show", auth_id)["approved_by"] == "bob"
    alice.go(f"/authorizations/{auth_id}")
    assert alice.page.locator("#status").inner_text() == "approved"

    # 3. The investigator captures three pages under it and watches them being captured.
    alice.go("/capture")
    _shown(alice, "3-capture")
    page.get_by_label("Authorization", exact=True).select_option(auth_id)
    page.get_by_label("URLs to capture").fill("\n".join(urls))
    page.get_by_label("Note (for every URL without a note of its own)").fill("the case's three pages")
    page.get_by_label("Your passphrase (each capture request is signed)").fill(SECRETS["alice"])
    page.get_by_role("button", name="Sign and capture").click()
    page.wait_for_url(re.compile(r".*/capture/BATCH-[0-9A-Z-]+$"))
    batch_id = page.url.rsplit("/", 1)[1]
    assert page.get_by_role("heading", level=1).inner_text() == f"Batch {batch_id}"
    _shown(alice, "3-batch-running")
    expect(page.locator("#progress")).to_have_attribute("data-finished", "true", timeout=CAPTURE_WAIT_MS)
    items = page.locator("li.item")
    assert [items.nth(n).get_attribute("data-state") for n in range(items.count())] == ["captured"] * 3
    assert "3 URLs: 3 captured, 0 refused, 0 failed" in page.locator("#counts").inner_text()
    _shown(alice, "3-batch-finished")
    bundle_ids = [items.nth(n).get_by_role("link").first.inner_text() for n in range(3)]
    assert all(b.startswith("B-") for b in bundle_ids) and len(set(bundle_ids)) == 3

    # 4. She hands each bundle to the custodian on its page.
    for n, bundle_id in enumerate(bundle_ids):
        alice.go(f"/bundles/{bundle_id}")
        assert page.locator("#holder").inner_text() == "held by alice"
        if n == 0:
            _shown(alice, "4-bundle-investigator")
        page.locator("#transfer-to").select_option("erin")
        page.locator("#transfer-reason").fill("to the evidence room")
        page.locator("#transfer-passphrase").fill(SECRETS["alice"])
        page.get_by_role("button", name="Transfer and sign").click()
        page.wait_for_url(re.compile(rf".*/bundles/{bundle_id}(#custody)?$"))
        assert page.locator("#holder").inner_text() == "held by erin"
        last = page.locator(".timeline li").last.inner_text()
        assert last.startswith("transferred") and "Alice Adams" in last

    # 5. The custodian finds them in her custody, sees each verified and looks at a screenshot.
    erin = people("erin")
    checked_from = max(e["seq"] for e in server.events())
    held = erin.page.locator("section", has=erin.page.locator("#held")).inner_text()
    assert all(b in held for b in bundle_ids), held
    _shown(erin, "5-dashboard-custodian")
    for n, bundle_id in enumerate(bundle_ids):
        erin.go(f"/bundles/{bundle_id}")
        assert erin.page.locator("#holder").inner_text() == "held by erin"
        marks = erin.page.locator("#checks .mark").all_inner_texts()
        assert marks and set(marks) <= {"✓", "!"}, marks  # every check passed, some with a warning
        assert "✗" not in erin.page.locator("#checks").inner_text()
        assert erin.page.locator("#verdict").inner_text() == "VERIFIED"
        if n == 0:
            assert "Mastodon" in erin.page.locator("main").inner_text()  # the post card of the status page
            _shown(erin, "5-bundle-custodian")
    # each page's verification is recorded (without a signed custody event: the page holds no key)
    verified = [e for e in _events(server, "bundle.verify") if e["seq"] > checked_from]
    assert sorted(e["subject"] for e in verified) == sorted(bundle_ids)
    assert {e["outcome"] for e in verified} == {"ok"}
    assert {(e["actor"], e["details"]["session_user"]) for e in verified} == {(None, "erin")}
    erin.go(f"/bundles/{bundle_ids[0]}")
    erin.page.get_by_role("link", name="View the full-page screenshot").click()
    erin.page.wait_for_url(f"{server.url}/bundles/{bundle_ids[0]}/screenshot")
    assert erin.page.get_by_role("heading", level=1).inner_text() == f"Screenshot of {bundle_ids[0]}"
    tiles = erin.page.locator(".tiles img")
    assert tiles.count() >= 1
    tiles.first.scroll_into_view_if_needed()
    expect(tiles.first).to_have_js_property("complete", True)
    assert tiles.first.evaluate("img => img.naturalWidth") > 0
    _shown(erin, "5-screenshot")

    # 6. She exports the three with their signed WACZ and downloads the file.
    erin.go("/exports/new?" + "&".join(f"bundle={b}" for b in bundle_ids))
    for bundle_id in bundle_ids:
        assert erin.page.get_by_label(re.compile(bundle_id)).is_checked()
    _shown(erin, "6-export-new")
    page = erin.page
    page.get_by_label("Recipient (name)").fill("ADA Jane Roe")
    page.get_by_label("Recipient's agency").fill("County Prosecutor")
    page.get_by_label("Reason (need to know, right to know)").fill(f"discovery in {CASE}")
    page.locator("#format-wacz").check()
    page.get_by_label("Your passphrase (the export is signed)").fill(SECRETS["erin"])
    page.get_by_role("button", name="Export and sign").click()
    page.wait_for_url(re.compile(r".*/downloads/[0-9a-f]{32}$"), timeout=180_000)
    summary = page.locator("#summary").inner_text()
    assert "3 bundle(s) for ADA Jane Roe" in summary and summary.count("package") == 3, summary
    _shown(erin, "6-export-result")
    shown_sha = page.locator("#sha256").inner_text().strip()
    with page.expect_download() as started:
        page.locator("#download").click()
    saved = tmp_path / started.value.suggested_filename
    started.value.save_as(saved)
    assert saved.suffix == ".zip" and hashlib.sha256(saved.read_bytes()).hexdigest() == shown_sha
    with zipfile.ZipFile(saved) as packed:
        waczs = [n for n in packed.namelist() if n.endswith(".wacz")]
    assert len(waczs) == 3 and all(any(b in n for n in waczs) for b in bundle_ids), waczs
    downloaded = [e for e in _events(server, "web.download") if e["details"]["session_user"] == "erin"]
    assert downloaded and downloaded[-1]["details"]["sha256"] == shown_sha
    for bundle_id in bundle_ids:
        exported = [e for e in cli.json("custody", "show", bundle_id) if e["type"] == "exported"]
        assert [e["actor"]["user"] for e in exported] == ["erin"]

    # The recipient verifies the file with the agency's published keys, away from the store.
    keys = tmp_path / "agency-keys.json"
    cli.ok("keys", "export", "--out", str(keys))
    result = Cli(tmp_path / "no-store-here").run("verify", str(saved), "--trust", str(keys))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "VERIFIED" in result.stdout and all(b in result.stdout for b in bundle_ids)

    # 7. The auditor makes the audit report: it shows the three captures.
    aaron = people("aaron")
    aaron.go("/audit")
    _shown(aaron, "7-audit")
    csrf = aaron.page.locator("form[action='/audit'] input[name=csrf_token]").get_attribute("value") or ""
    download = aaron.context.request.post(f"{server.url}/audit", form={
        "csrf_token": csrf, "from": "", "to": "", "format": "json", "disposition": "attachment",
        "passphrase": SECRETS["aaron"]})  # fmt: skip
    assert download.status == 200 and download.headers["content-disposition"].startswith("attachment;")
    report = json.loads(download.body())
    assert report["generated_by"] == "aaron"
    captured = json.dumps(report["captures"])
    assert all(b in captured for b in bundle_ids)
    assert hashlib.sha256(download.body()).hexdigest() == download.headers["x-report-sha256"]
    aaron.page.get_by_label("Your passphrase (the report is recorded and signed)").fill(SECRETS["aaron"])
    with aaron.page.expect_navigation() as opened:
        aaron.page.get_by_role("button", name="Open the HTML report").click()
    response = opened.value
    assert response is not None and response.headers["content-security-policy"].startswith("sandbox")
    text = aaron.page.locator("body").inner_text()
    assert all(b in text for b in bundle_ids) and auth_id in text
    # sandboxed (no script runs there, axe included): the screenshot only
    aaron.page.screenshot(path=str(ARTIFACTS / "workflow-7-audit-report.png"), full_page=True)
    reports = _events(server, "audit.report", "aaron")
    assert [e["details"]["format"] for e in reports] == ["json", "html"] and all(e["signer"] for e in reports)
    assert all(not p.dialogs for p in people.found.values())
