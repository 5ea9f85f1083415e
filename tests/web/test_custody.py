"""Custody, exports, reviews and retention in a real browser through `collector serve`: a
custodian transfers a bundle and holds it, exports it (zip, and zip with WACZ), downloads the
file and the recipient's `collector verify --trust` passes on it; the SHA-256 shown is the
file's; an investigator's export is refused and recorded; a form without its CSRF token is
refused; a supervisor reviews an exigent capture; every new page passes axe-core.

The store is this module's own (the session's web store stays as the other tests expect)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from playwright.sync_api import Browser

from collector import capture
from collector.store.store import Store
from collector.web import downloads
from tests.exhibit_pki import PASSPHRASE as PKI_PASSPHRASE
from tests.exhibit_pki import hanko_status, make_pki
from tests.fakes import browser as fake
from tests.helpers import PASSPHRASES, Cli, make_store, sealed_capture
from tests.web.conftest import CHROMIUM, Server, Visitor, serving

THREAT = (
    "A post threatens to open fire at the City Hall steps at noon today and shows a rifle; "
    "the account posted a photo of the building entrance ten minutes ago."
)


@pytest.fixture(scope="module")
def custody_store(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One bundle in erin's custody, one exigent capture owing a review, the agency key list."""
    player = fake.FakeBrowser()
    with (mock.patch.object(capture, "browser_capture", player),
          mock.patch.object(capture, "shared_browser", lambda store: fake.FakeShared(player))):  # fmt: skip
        template = make_store(tmp_path_factory.mktemp("custody-template"), chromium=CHROMIUM)
        made = sealed_capture(template, tmp_path_factory.mktemp("custody") / "store", fake.url)
        cli: Cli = made["cli"]
        exigent = cli.json("capture", fake.url("/s/abc123"), "--exigent", "--case", "HPD-2026-000777",
                           "--facts", THREAT, as_user="alice")  # fmt: skip
    bundle_id = made["result"]["bundle_id"]
    cli.ok("custody", "transfer", bundle_id, "--to", "erin", "--reason", "evidence room", as_user="alice")
    keys = tmp_path_factory.mktemp("recipient") / "agency-keys.json"
    cli.ok("keys", "export", "--out", str(keys))
    cli.ok("user", "profile", "erin", "--title", "Evidence Custodian, Digital Evidence Unit",
           "--qualifications", "Nine years handling digital evidence; custodian of the evidence store",
           as_user="erin")  # fmt: skip
    meta = json.loads((cli.store / "bundles" / exigent["bundle_id"] / "data" / "metadata.json").read_text())
    return {"cli": cli, "bundle": bundle_id, "exigent": exigent["bundle_id"], "keys": keys,
            "exigent_auth": meta["authorization"]["id"]}  # fmt: skip


@pytest.fixture(scope="module")
def custody_server(custody_store: dict[str, Any]) -> Iterator[Server]:
    with serving(custody_store["cli"], info=custody_store) as running:
        yield running


@pytest.fixture
def person(browser: Browser, custody_server: Server) -> Iterator[Visitor]:
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    found = Visitor(context, page, custody_server.url)
    page.on("dialog", lambda dialog: (found.dialogs.append(dialog.message), dialog.dismiss()))
    yield found
    context.close()


def _refusals(server: Server, action: str, actor: str) -> list[dict[str, Any]]:
    return [e for e in server.events() if e["action"] == action and e["actor"] == actor
            and e["outcome"] == "refused"]  # fmt: skip


def _token(visitor: Visitor) -> str:
    return visitor.page.locator("input[name=csrf_token]").first.get_attribute("value") or ""


def test_a_custodian_transfers_a_bundle_and_the_timeline_shows_the_signed_event(
    person: Visitor, custody_server: Server
) -> None:
    erin, bundle_id, cli = person, custody_server.info["bundle"], custody_server.info["cli"]
    erin.log_in("erin")
    erin.go(f"/bundles/{bundle_id}")
    erin.check("bundle-custodian-actions")
    page = erin.page
    page.locator("#transfer-to").select_option("carol")
    page.locator("#transfer-reason").fill("supervisor's review of the case file")
    page.locator("#transfer-passphrase").fill("not-her-passphrase")
    page.get_by_role("button", name="Transfer and sign").click()
    assert page.locator("#action-error").count() == 1  # refused: the key did not unlock
    page.locator("#transfer-to").select_option("carol")
    page.locator("#transfer-reason").fill("supervisor's review of the case file")
    page.locator("#transfer-passphrase").fill(PASSPHRASES["erin"])
    page.get_by_role("button", name="Transfer and sign").click()
    page.wait_for_url(re.compile(rf".*/bundles/{bundle_id}(#custody)?$"))
    assert page.locator("#holder").inner_text() == "held by carol"
    last = page.locator(".timeline li").last.inner_text()
    assert last.startswith("transferred") and "Erin Evans" in last
    event = cli.json("custody", "show", bundle_id)[-1]
    assert (event["type"], event["actor"]["user"], event["details"]["to"]) == ("transferred", "erin", "carol")
    assert event["signature"] and event["hash"] in last
    assert cli.ok("custody", "verify", bundle_id).stdout.startswith("✓")
    # the legal hold, placed and shown on the retention page
    page.locator("#hold-reason").fill("civil suit HPD-2026-CV-12")
    page.locator("#hold-passphrase").fill(PASSPHRASES["erin"])
    page.get_by_role("button", name="Hold and sign").click()
    page.wait_for_url(re.compile(rf".*/bundles/{bundle_id}(#custody)?$"))
    assert "on legal hold" in page.locator("#retention-state").inner_text()
    erin.go("/retention")
    assert bundle_id in erin.page.locator("section[aria-labelledby=holds]").inner_text()
    erin.check("retention-custodian")


@pytest.mark.parametrize("fmt", ["bags", "wacz"])
def test_a_custodian_exports_downloads_and_the_recipient_verifies_the_file(
    person: Visitor, custody_server: Server, tmp_path: Path, fmt: str
) -> None:
    erin, bundle_id, info = person, custody_server.info["bundle"], custody_server.info
    erin.log_in("erin")
    erin.go(f"/exports/new?bundle={bundle_id}")
    erin.check(f"export-new-{fmt}")
    page = erin.page
    assert page.get_by_label(re.compile(bundle_id)).is_checked()
    page.get_by_label("Recipient (name)").fill("ADA Jane Roe")
    page.get_by_label("Recipient's agency").fill("County Prosecutor")
    page.get_by_label("Reason (need to know, right to know)").fill("discovery in HPD-2026-000123")
    page.locator(f"#format-{fmt}").check()
    page.get_by_label("Your passphrase (the export is signed)").fill(PASSPHRASES["erin"])
    page.get_by_role("button", name="Export and sign").click()
    page.wait_for_url(re.compile(r".*/downloads/[0-9a-f]{32}$"), timeout=120_000)
    erin.check(f"export-result-{fmt}")
    shown = page.locator("#sha256").inner_text().strip()
    with page.expect_download() as started:
        page.locator("#download").click()
    saved = tmp_path / started.value.suggested_filename
    started.value.save_as(saved)
    assert saved.suffix == ".zip"
    assert hashlib.sha256(saved.read_bytes()).hexdigest() == shown
    response = erin.context.request.get(page.locator("#download").evaluate("a => a.href"))
    assert response.headers["x-content-sha256"] == shown
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.headers["digest"].startswith("sha-256=")
    result = Cli(tmp_path / "no-store-here").run("verify", str(saved), "--trust", str(info["keys"]))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "VERIFIED" in result.stdout
    if fmt == "wacz":
        assert "wacz" in result.stdout.lower()
    downloads = [e for e in custody_server.events()
                 if e["action"] == "web.download" and e["details"]["session_user"] == "erin"]  # fmt: skip
    assert downloads and downloads[-1]["details"]["sha256"] == shown
    assert downloads[-1]["actor"] is None  # the store's statement, not a signature erin made
    ledger = info["cli"].run("ledger", "verify")
    assert ledger.returncode == 0, ledger.stdout + ledger.stderr
    exported = [e for e in info["cli"].json("custody", "show", bundle_id) if e["type"] == "exported"]
    assert exported and exported[-1]["actor"]["user"] == "erin"


def test_an_investigator_may_not_export_and_the_refusal_is_recorded(
    person: Visitor, custody_server: Server
) -> None:
    alice, bundle_id = person, custody_server.info["bundle"]
    alice.log_in("alice")
    assert alice.page.get_by_role("link", name="Export").count() == 0
    token = _token(alice)  # the log-out form's
    before = len(_refusals(custody_server, "denied.export", "alice"))
    assert alice.go("/exports/new").status == 403
    posted = alice.context.request.post(f"{custody_server.url}/exports", form={
        "csrf_token": token, "bundle": bundle_id, "recipient": "a friend", "reason": "curiosity",
        "format": "bags", "passphrase": PASSPHRASES["alice"],
    })  # fmt: skip
    assert posted.status == 403
    assert len(_refusals(custody_server, "denied.export", "alice")) == before + 2


def test_an_export_posted_without_its_csrf_token_is_refused(person: Visitor, custody_server: Server) -> None:
    erin, bundle_id = person, custody_server.info["bundle"]
    erin.log_in("erin")
    before = len(_refusals(custody_server, "denied.request", "erin"))
    exports = len([e for e in custody_server.events() if e["action"] == "export"])
    posted = erin.context.request.post(f"{custody_server.url}/exports", form={
        "bundle": bundle_id, "recipient": "ADA Jane Roe", "reason": "discovery", "format": "bags",
        "passphrase": PASSPHRASES["erin"],
    })  # fmt: skip
    assert posted.status == 403
    refused = _refusals(custody_server, "denied.request", "erin")
    assert len(refused) == before + 1 and refused[-1]["subject"] == "/exports"
    assert len([e for e in custody_server.events() if e["action"] == "export"]) == exports


def test_a_supervisor_reviews_an_exigent_capture(person: Visitor, custody_server: Server) -> None:
    bob, cli, bundle_id = person, custody_server.info["cli"], custody_server.info["exigent"]
    auth_id = custody_server.info["exigent_auth"]
    bob.log_in("bob")
    assert "review(s) owed" in bob.page.locator("#reviews-owed").inner_text()
    bob.go("/reviews")
    bob.check("reviews")
    item = bob.page.locator("article", has=bob.page.locator(f"#ex-{auth_id}"))
    assert bundle_id in item.inner_text()
    item.get_by_label("Approve: the exigent capture was justified").check()
    item.get_by_label("Your reasons").fill("An imminent threat to public safety: the capture could not wait.")
    item.get_by_label("Your passphrase (the review is signed)").fill(PASSPHRASES["bob"])
    item.get_by_role("button", name="Review and sign").click()
    bob.page.wait_for_url(custody_server.url + "/reviews")
    assert bob.page.locator(f"#ex-{auth_id}").count() == 0
    assert cli.json("auth", "show", auth_id)["status"] == "approved"
    reviewed = [e for e in cli.json("custody", "show", bundle_id) if e["type"] == "reviewed"]
    assert [(e["actor"]["user"], e["details"]["decision"]) for e in reviewed] == [("bob", "approved")]
    bob.go("/retention")
    bob.check("retention-supervisor")


def test_the_other_new_pages_pass_axe(person: Visitor, custody_server: Server) -> None:
    erin, bundle_id = person, custody_server.info["bundle"]
    erin.log_in("erin")
    for path, name in ((f"/bundles/{bundle_id}/wacz", "wacz-new"), (f"/exhibits/new?bundle={bundle_id}", "exhibit-new"),
                       ("/downloads", "downloads")):  # fmt: skip
        assert erin.go(path).status == 200
        erin.check(name)


def test_a_custodian_makes_an_exhibit_packet_and_downloads_it(
    person: Visitor, custody_server: Server, tmp_path: Path
) -> None:
    erin, bundle_id, cli = person, custody_server.info["bundle"], custody_server.info["cli"]
    erin.log_in("erin")
    erin.go(f"/exhibits/new?bundle={bundle_id}")
    page = erin.page
    page.get_by_label("Exhibit number").fill("12")
    page.get_by_label("Recipient").fill("ADA Jane Roe")
    page.get_by_label("Reason").fill("Trial exhibit")
    page.get_by_label("Bates prefix").fill("HPD-")
    page.get_by_label("Your passphrase (the dissemination is signed)").fill(PASSPHRASES["erin"])
    page.get_by_role("button", name="Make the exhibit").click()
    page.wait_for_url(re.compile(r".*/downloads/[0-9a-f]{32}$"), timeout=180_000)
    erin.check("exhibit-result")
    assert "Bates HPD-000001" in page.locator("#summary").inner_text()
    with page.expect_download() as started:
        page.locator("#download").click()
    saved = tmp_path / started.value.suggested_filename
    started.value.save_as(saved)
    assert saved.name == "exhibit-12.pdf" and saved.read_bytes().startswith(b"%PDF")
    assert hashlib.sha256(saved.read_bytes()).hexdigest() == page.locator("#sha256").inner_text().strip()
    sent = [e for e in cli.json("custody", "show", bundle_id) if e["type"] == "disseminated"]
    assert sent and sent[-1]["details"]["recipient"] == "ADA Jane Roe"


def test_an_exhibit_is_signed_with_a_posted_certificate_which_is_not_kept(
    person: Visitor, custody_server: Server, tmp_path: Path
) -> None:
    """The PKCS#12 posted with the form signs the PDF (pyHanko validates it against the CA);
    a wrong passphrase for it is one line on the form again, before anything is made or
    recorded; the certificate file is written nowhere under the store."""
    erin, bundle_id, cli = person, custody_server.info["bundle"], custody_server.info["cli"]
    (tmp_path / "pki").mkdir()
    pki = make_pki(tmp_path / "pki")
    before = len([e for e in cli.json("custody", "show", bundle_id) if e["type"] == "disseminated"])
    erin.log_in("erin")

    def fill(number: str, sign_passphrase: str) -> None:
        erin.go(f"/exhibits/new?bundle={bundle_id}")
        page = erin.page
        page.get_by_label("Exhibit number").fill(number)
        page.get_by_label("Recipient").fill("ADA Jane Roe")
        page.get_by_label("Reason").fill("Signed trial exhibit")
        page.get_by_label("Signing certificate (PKCS#12)").set_input_files(str(pki.p12))
        page.get_by_label("Passphrase of the certificate file").fill(sign_passphrase)
        page.get_by_label("Your passphrase (the dissemination is signed)").fill(PASSPHRASES["erin"])
        page.get_by_role("button", name="Make the exhibit").click()

    fill("13", "not-the-passphrase")
    assert erin.page.locator("[role=alert]").inner_text().strip() == f"wrong passphrase for {pki.p12.name}"
    assert len([e for e in cli.json("custody", "show", bundle_id) if e["type"] == "disseminated"]) == before

    fill("14", PKI_PASSPHRASE.decode())
    erin.page.wait_for_url(re.compile(r".*/downloads/[0-9a-f]{32}$"), timeout=180_000)
    summary = erin.page.locator("#summary").inner_text()
    assert "PDF signed (PAdES) by CN=Erin Evans" in summary
    with erin.page.expect_download() as started:
        erin.page.locator("#download").click()
    saved = tmp_path / started.value.suggested_filename
    started.value.save_as(saved)
    with ThreadPoolExecutor(1) as pool:  # pyHanko runs its own event loop; Playwright's is running here
        status = pool.submit(hanko_status, saved, pki.ca_cert).result()
    assert status.intact and status.valid and status.trusted
    assert hashlib.sha256(saved.read_bytes()).hexdigest() == erin.page.locator("#sha256").inner_text().strip()
    p12 = pki.p12.read_bytes()
    for kept in cli.store.rglob("*"):
        assert not kept.is_file() or p12 not in kept.read_bytes(), kept


def test_a_form_with_a_file_larger_than_allowed_is_refused_before_it_is_read(
    person: Visitor, custody_server: Server
) -> None:
    erin = person
    erin.log_in("erin")
    erin.go("/exhibits/new")
    token = erin.page.locator("input[name=csrf_token]").first.get_attribute("value")
    sent = erin.page.request.post(custody_server.url + "/exhibits", multipart={
        "csrf_token": token or "", "passphrase": PASSPHRASES["erin"],
        "sign": {"name": "big.p12", "mimeType": "application/x-pkcs12", "buffer": b"0" * (2 * 1024 * 1024)},
    })  # fmt: skip
    assert sent.status == 413 and "larger than 256 KiB" in sent.text()


def test_downloads_are_removed_on_request_or_once_kept_long_enough_each_recorded(
    person: Visitor, custody_server: Server
) -> None:
    erin, bundle_id, cli = person, custody_server.info["bundle"], custody_server.info["cli"]
    erin.log_in("erin")

    def package() -> str:
        erin.go(f"/bundles/{bundle_id}/wacz")
        erin.page.get_by_label("Your passphrase (the custody event is signed)").fill(PASSPHRASES["erin"])
        erin.page.get_by_role("button", name="Make the package").click()
        erin.page.wait_for_url(re.compile(r".*/downloads/[0-9a-f]{32}$"), timeout=120_000)
        return erin.page.url.rsplit("/", 1)[1]

    def removals() -> list[dict[str, Any]]:
        return [e for e in cli.events() if e["action"] == "web.download.removed"]

    first = package()
    sha256 = erin.page.locator("#sha256").inner_text().strip()
    erin.page.get_by_role("button", name="Remove this download now").click()
    erin.page.wait_for_url(custody_server.url + "/downloads")
    assert first not in erin.page.locator("main").inner_text()
    assert erin.go(f"/downloads/{first}").status == 400
    assert not (cli.store / "work" / "downloads" / first).exists()
    row = removals()[-1]
    assert row["actor"] is None and row["subject"] == bundle_id
    assert (row["details"]["download"], row["details"]["sha256"], row["details"]["session_user"],
            row["details"]["reason"]) == (first, sha256, "erin", "removed on request")  # fmt: skip

    second = package()
    folder = cli.store / "work" / "downloads"
    cut_short, young, other = folder / ("ab" * 16), folder / ("cd" * 16), folder / "notes"
    for made in (cut_short, young, other):
        made.mkdir()
    old = time.time() - 2 * 86400
    os.utime(cut_short, (old, old))
    os.utime(other, (old, old))
    # a record that names a sealed bundle's folder as its own: never followed, left alone
    bundle_dir = next(p for p in (cli.store / "bundles").rglob(bundle_id) if p.is_dir())
    forged = folder / ("ef" * 16)
    forged.mkdir()
    record = json.loads((folder / second / "download.json").read_text())
    record["id"] = os.path.relpath(bundle_dir, folder)
    (forged / "download.json").write_text(json.dumps(record))
    store = Store.open(cli.store)
    try:
        assert downloads.sweep(store) == [cut_short.name]  # the package is a day younger than kept
        swept = downloads.sweep(store, now=datetime.now(UTC) + timedelta(days=8))
    finally:
        store.close()
    assert {second, young.name} <= set(swept)  # with those the other tests here made
    assert {p.name for p in folder.iterdir()} == {"notes", forged.name}  # not a download's: left alone
    assert bundle_dir.is_dir() and (bundle_dir / "bagit.txt").is_file()
    assert erin.go(f"/downloads/{forged.name}").status == 400
    reasons = {e["details"]["download"]: e["details"]["reason"] for e in removals()}
    assert reasons[cut_short.name] == "its making never finished"
    assert reasons[second] == "made more than 7 days ago"
