"""The custodian's and administrator's remaining daily work in the browser: time-stamps pending
and their retry, the key registry and the agency's key list, the ledger (events, verification,
checkpoints) and the store's status, each through the functions the command line calls, with
the same signatures and ledger rows; accessibility on each page.

Every test changes its store, so each serves a copy of its own."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from playwright.sync_api import Browser

from collector import capture
from fixtures.tsa import TsaServer
from tests.fakes import browser as fake
from tests.helpers import PASSPHRASES, Cli, make_store, sealed_capture
from tests.web.conftest import Server, Visitor, _visitor, serving


@pytest.fixture(scope="module")
def tsa() -> Iterator[TsaServer]:
    with TsaServer() as server:
        yield server


@pytest.fixture(scope="module")
def pending_store(tmp_path_factory: pytest.TempPathFactory, tsa: TsaServer) -> dict[str, Any]:
    """A store whose time-stamp authority answered at `init` but not at the capture: its one
    bundle is sealed with a time-stamp pending."""
    player = fake.FakeBrowser()
    with (mock.patch.object(capture, "browser_capture", player),
          mock.patch.object(capture, "shared_browser", lambda store: fake.FakeShared(player))):  # fmt: skip
        template = make_store(tmp_path_factory.mktemp("stamp-template"),
                              extra=["--tsa-url", tsa.url, "--tsa-root", str(tsa.root_cert_path)])  # fmt: skip
        tsa.set_down(True)
        try:
            made = sealed_capture(template, tmp_path_factory.mktemp("stamp") / "store", fake.url)
        finally:
            tsa.set_down(False)
    assert made["result"]["timestamp"]["status"] == "pending"
    return {"cli": made["cli"], "bundle": made["result"]["bundle_id"]}


@contextmanager
def person(browser: Browser, server: Server, user: str) -> Iterator[Visitor]:
    """A browser context logged in as `user` on `server`."""
    visits = _visitor(browser, server)
    found = next(visits)
    try:
        found.log_in(user)
        yield found
    finally:
        next(visits, None)  # closes its browser context


def _events(server: Server, action: str) -> list[dict[str, Any]]:
    return [e for e in server.events() if e["action"] == action]


def _csrf(who: Visitor) -> str:
    return who.page.locator("input[name=csrf_token]").first.get_attribute("value") or ""


def _ledger_intact(cli: Cli) -> None:
    result = cli.run("ledger", "verify")
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_custodian_sees_a_pending_time_stamp_and_retries_it(
    browser: Browser, pending_store: dict[str, Any], tsa: TsaServer, tmp_path: Path
) -> None:
    bundle_id = pending_store["bundle"]
    with serving(pending_store["cli"].copy(tmp_path / "store")) as server, \
            person(browser, server, "erin") as erin, person(browser, server, "bob") as bob:  # fmt: skip
        erin.page.get_by_role("link", name="Time-stamps").click()
        erin.page.wait_for_url(server.url + "/timestamps")
        assert erin.page.locator("#pending tbody td").all_inner_texts() == [bundle_id]
        erin.check("timestamps")

        # the authority still away: the failure is shown and recorded as erin's signed row
        tsa.set_down(True)
        try:
            erin.page.get_by_label("Which").select_option(bundle_id)
            erin.page.get_by_label("Your passphrase (each stamp is a signed custody event)").fill(PASSPHRASES["erin"])
            erin.page.get_by_role("button", name="Retry").click()
            erin.page.wait_for_url(server.url + "/timestamps/retry")
        finally:
            tsa.set_down(False)
        row = erin.page.locator("#outcomes tbody tr")
        assert row.count() == 1 and "failed" in row.inner_text()
        failed = [e for e in _events(server, "timestamp.retry") if e["subject"] == bundle_id]
        assert failed and failed[-1]["outcome"] == "failed" and failed[-1]["actor"] == "erin"
        assert failed[-1]["signer"] is not None
        assert erin.page.locator("#pending tbody td").all_inner_texts() == [bundle_id]

        # a supervisor may not: refused before any passphrase, recorded
        bob.go("/timestamps")
        assert bob.page.get_by_role("button", name="Retry").count() == 0
        before = len([e for e in _events(server, "denied.timestamp") if e["actor"] == "bob"])
        refused = bob.context.request.post(f"{server.url}/timestamps/retry", form={
            "csrf_token": _csrf(bob), "bundle": "all", "passphrase": PASSPHRASES["bob"]})  # fmt: skip
        assert refused.status == 403
        assert len([e for e in _events(server, "denied.timestamp") if e["actor"] == "bob"]) == before + 1

        # the authority back: every pending bundle stamped, a signed `timestamped` custody event
        erin.go("/timestamps")
        erin.page.get_by_label("Which").select_option("all")
        erin.page.get_by_label("Your passphrase (each stamp is a signed custody event)").fill(PASSPHRASES["erin"])
        erin.page.get_by_role("button", name="Retry").click()
        erin.page.wait_for_url(server.url + "/timestamps/retry")
        row = erin.page.locator("#outcomes tbody tr")
        assert row.count() == 1 and "stamped" in row.inner_text() and "time-stamped" in row.inner_text()
        assert erin.page.locator("#pending tbody td").all_inner_texts() == ["No time-stamps pending."]
        erin.check("timestamps-retried")
        last = server.cli.json("custody", "show", bundle_id)[-1]
        assert last["type"] == "timestamped" and last["actor"]["user"] == "erin"
        assert server.cli.json("timestamp", "pending") == []
    verified = server.cli.run("verify", bundle_id, "--json")
    assert verified.returncode == 0, verified.stdout
    stamp = {c["name"]: c for c in json.loads(verified.stdout)["checks"]}["time-stamp"]
    assert "late stamp" in stamp["detail"]
    _ledger_intact(server.cli)


def test_the_key_list_downloads_and_a_recipient_verifies_a_bundle_with_it(
    browser: Browser, server: Server, tmp_path: Path
) -> None:
    cli = server.cli.copy(tmp_path / "store")
    bundle_id = server.info["bundle"]
    with serving(cli) as mine, person(browser, mine, "alice") as alice:
        alice.page.get_by_role("link", name="Keys").click()
        alice.page.wait_for_url(mine.url + "/keys")
        listed = alice.page.locator("#keys tbody").inner_text()
        for entry in cli.json("keys", "list"):
            assert entry["fingerprint"] in listed
        alice.check("keys")
        alice.page.get_by_role("button", name="Make the key list").click()
        alice.page.wait_for_url(mine.url + "/keys/lists/*")
        shown = alice.page.locator("#sha256").inner_text()
        alice.check("key-list")
        with alice.page.expect_download() as info:
            alice.page.locator("#download").click()
        saved = tmp_path / "agency-keys.json"
        info.value.save_as(saved)
        assert info.value.suggested_filename == "agency-keys.json"
        assert hashlib.sha256(saved.read_bytes()).hexdigest() == shown
        again = alice.context.request.get(mine.url + (alice.page.locator("#download").get_attribute("href") or ""))
        assert again.headers["x-content-sha256"] == shown
        assert again.headers["content-disposition"].startswith("attachment")
    rows = [e for e in _events(mine, "web.download") if e["details"].get("kind") == "keys"]
    assert len(rows) == 2 and all(r["actor"] is None and r["details"]["session_user"] == "alice" for r in rows)
    assert rows[0]["details"]["sha256"] == shown
    assert json.loads(saved.read_text())["agency"] == "Test Police Department"
    bundle_dir = next(p for p in (cli.store / "bundles").rglob(bundle_id) if p.is_dir())
    result = Cli(tmp_path / "no-store-here").run("verify", str(bundle_dir), "--trust", str(saved))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "signer certificate: Alice Adams (alice, badge I-101, investigator), certified by the trusted key list" in result.stdout
    _ledger_intact(cli)


def test_an_admin_verifies_the_ledger_and_makes_a_checkpoint(browser: Browser, server: Server, tmp_path: Path) -> None:
    cli = server.cli.copy(tmp_path / "store")
    bundle_id = server.info["bundle"]
    with serving(cli) as mine, person(browser, mine, "root") as admin:
        admin.page.get_by_role("link", name="Ledger").click()
        admin.page.wait_for_url(mine.url + "/ledger")
        first = admin.page.locator("#events tbody tr").first.inner_text()
        assert first.split()[0] == str(max(e["seq"] for e in cli.events()))  # the newest first
        admin.check("ledger")

        admin.page.get_by_label("Only events about (an id)").fill(bundle_id)
        admin.page.get_by_role("button", name="Show").click()
        admin.page.wait_for_url(f"{mine.url}/ledger?subject={bundle_id}")
        subjects = admin.page.locator("#events tbody tr td:nth-child(6)").all_inner_texts()
        assert subjects and set(subjects) == {bundle_id}

        admin.page.get_by_role("link", name="Verify the ledger").click()
        admin.page.wait_for_url(mine.url + "/ledger/verify")
        marks = admin.page.locator("#checks .mark").all_inner_texts()
        assert marks and set(marks) == {"✓"}, admin.page.locator("#checks").inner_text()
        assert admin.page.locator("#verdict").inner_text() == "LEDGER INTACT"
        admin.check("ledger-verify")
        recorded = _events(mine, "ledger.verify")[-1]
        assert recorded["actor"] is None and recorded["details"]["session_user"] == "root"

        admin.go("/ledger")
        admin.page.get_by_label("Your passphrase (the checkpoint is signed by you)").fill(PASSPHRASES["root"])
        admin.page.get_by_role("button", name="Make a checkpoint now").click()
        assert "Checkpoint made" in admin.page.locator("#made").inner_text()
        assert "signed by root" in admin.page.locator("#made").inner_text()
        download = admin.context.request.get(mine.url + "/ledger/checkpoint")
        assert download.status == 200 and download.headers["content-disposition"].startswith("attachment")
        body = download.body()
        assert download.headers["x-content-sha256"] == hashlib.sha256(body).hexdigest()
        kept = json.loads(body)
        assert kept["signer"] == "root" and kept["statement"]["reason"] == "request"

        admin.page.get_by_role("link", name="Store").click()
        admin.page.wait_for_url(mine.url + "/store")
        assert admin.page.locator("#schema-state").inner_text() == cli.json("store", "status")["state"] == "current"
        admin.check("store")
    against = tmp_path / "kept.json"
    against.write_bytes(body)
    result = cli.run("ledger", "verify", "--against", str(against))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_ledger_is_verified_against_a_posted_checkpoint(browser: Browser, server: Server, tmp_path: Path) -> None:
    """`ledger verify --against` in the browser: a kept checkpoint passes, one whose head was
    changed fails (LEDGER FAILED), a file that is no checkpoint is one line; each verification
    is recorded with the file's name."""
    cli = server.cli.copy(tmp_path / "store")
    kept = tmp_path / "kept-checkpoint.json"
    cli.ok("ledger", "checkpoint", "--new", "--out", str(kept), as_user="root")
    forged = tmp_path / "forged-checkpoint.json"
    data = json.loads(kept.read_text())
    data["statement"]["head_hash"] = "0" * 64
    forged.write_text(json.dumps(data))
    junk = tmp_path / "notes.json"
    junk.write_text("<script>alert(1)</script>")
    with serving(cli) as mine, person(browser, mine, "erin") as auditor:
        verdicts = []
        for posted in (kept, forged):
            auditor.go("/ledger/verify")
            auditor.page.get_by_label("Verify against a checkpoint held elsewhere").set_input_files(str(posted))
            auditor.page.get_by_role("button", name="Verify against it").click()
            auditor.page.wait_for_load_state()
            assert posted.name in auditor.page.locator("main").inner_text()
            verdicts.append(auditor.page.locator("#verdict").inner_text())
        assert verdicts == ["LEDGER INTACT", "LEDGER FAILED"]
        auditor.check("ledger-verify-against")
        recorded = [e for e in _events(mine, "ledger.verify") if e["details"]["against"]]
        assert [(e["outcome"], e["details"]["against"]) for e in recorded] == [
            ("ok", kept.name), ("failed", forged.name)]  # fmt: skip
        auditor.go("/ledger/verify")
        auditor.page.get_by_label("Verify against a checkpoint held elsewhere").set_input_files(str(junk))
        auditor.page.get_by_role("button", name="Verify against it").click()
        assert auditor.page.locator(".problem").inner_text() == (
            "notes.json is not a ledger checkpoint made by `collector ledger checkpoint`")
