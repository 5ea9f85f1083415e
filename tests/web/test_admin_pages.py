"""The policy, audit and administration pages: each for the roles the command line allows,
refused (403, recorded) for the others, every change signed with the passphrase in the form;
the audit report shown sandboxed with captured titles inert; accessibility on each page."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from tests.helpers import ADMIN_PASSPHRASE, PASSPHRASES
from tests.web.conftest import Server, Visitor


def _events(server: Server, action: str, actor: str | None = None) -> list[dict[str, Any]]:
    return [e for e in server.events() if e["action"] == action and (actor is None or e["actor"] == actor)]


def _csrf(person: Visitor) -> str:
    return person.page.locator("input[name=csrf_token]").first.get_attribute("value") or ""


def _log_in_as(person: Visitor, user: str, passphrase: str) -> None:
    person.go("/login")
    person.page.get_by_label("User name").fill(user)
    person.page.get_by_label("Passphrase").fill(passphrase)
    person.page.get_by_role("button", name="Log in").click()


def test_the_policy_page_shows_the_policy_and_a_supervisor_records_its_review(
    visitor: Visitor, second: Visitor, server: Server
) -> None:
    alice, bob = visitor, second
    shown = server.cli.json("policy", "show")
    alice.log_in("alice")
    alice.go("/policy")
    assert alice.page.locator("#policy-sha256").inner_text() == shown["stamp"]["sha256"]
    assert json.loads(alice.page.locator("#policy").inner_text()) == shown["policy"]
    assert alice.page.get_by_role("button", name="Record the review").count() == 0
    alice.check("policy")
    before = len(_events(server, "denied.policy.review", "alice"))
    posted = alice.context.request.post(f"{server.url}/policy/review", form={
        "csrf_token": _csrf(alice), "reason": "I would like to review it", "passphrase": PASSPHRASES["alice"]})
    assert posted.status == 403
    assert len(_events(server, "denied.policy.review", "alice")) == before + 1

    bob.log_in("bob")
    bob.go("/policy")
    bob.check("policy-reviewer")
    bob.page.get_by_label("What the review covered and concluded").fill("Annual review: all eight areas read, no change.")
    bob.page.get_by_label("Your passphrase (the review is signed)").fill(PASSPHRASES["bob"])
    bob.page.get_by_role("button", name="Record the review").click()
    bob.page.wait_for_url(server.url + "/policy")
    assert bob.page.locator("#policy-reviewed").inner_text() == datetime.now(UTC).date().isoformat()
    reviewed = _events(server, "policy.reviewed", "bob")
    assert reviewed and reviewed[-1]["signer"] is not None
    assert bob.page.locator("#policy-version").inner_text() == shown["stamp"]["version"]


def test_the_audit_report_for_auditors_only_shown_sandboxed_and_downloaded(
    visitor: Visitor, second: Visitor, server: Server
) -> None:
    dave, bob = visitor, second
    dave.log_in("dave")
    assert dave.page.get_by_role("link", name="Audit").count() == 0
    before = len(_events(server, "denied.audit", "dave"))
    assert dave.go("/audit").status == 403
    assert len(_events(server, "denied.audit", "dave")) == before + 1

    bob.log_in("bob")
    bob.go("/audit")
    bob.check("audit")
    token = _csrf(bob)
    download = bob.context.request.post(f"{server.url}/audit", form={
        "csrf_token": token, "from": "", "to": "", "format": "json", "disposition": "attachment",
        "passphrase": PASSPHRASES["bob"]})  # fmt: skip
    assert download.status == 200
    assert download.headers["content-disposition"].startswith('attachment; filename="audit-report-')
    assert "sandbox" in download.headers["content-security-policy"]
    report = json.loads(download.body())
    assert report["generated_by"] == "bob" and report["captures"]
    recorded = _events(server, "audit.report", "bob")[-1]
    assert recorded["details"]["sha256"] == download.headers["x-report-sha256"]
    assert recorded["details"]["format"] == "json" and recorded["signer"] is not None

    bob.page.get_by_label("Your passphrase (the report is recorded and signed)").fill(PASSPHRASES["bob"])
    with bob.page.expect_navigation():
        bob.page.get_by_role("button", name="Open the HTML report").click()
    shown = bob.page.content()
    title = server.info["hostile_title"]
    assert "stolen bikes for sale" in bob.page.locator("body").inner_text()
    assert title not in shown and "&lt;img src=x onerror=alert(1)&gt;" in shown  # escaped by the report
    assert bob.page.locator("img, script").count() == 0
    assert bob.dialogs == [] and not any(url.endswith("/x") for url in bob.requests)
    assert _events(server, "audit.report", "bob")[-1]["details"]["format"] == "html"


def test_an_administrator_adds_re_roles_and_retires_a_user_and_others_are_refused(
    visitor: Visitor, second: Visitor, server: Server
) -> None:
    root, alice = visitor, second
    alice.log_in("alice")
    assert alice.page.get_by_role("link", name="Users").count() == 0
    token = _csrf(alice)
    before = len(_events(server, "denied.user.admin", "alice"))
    assert alice.go("/admin/users").status == 403
    alice.check("refused-admin")
    posted = alice.context.request.post(f"{server.url}/admin/users/dave/retire", form={
        "csrf_token": token, "passphrase": PASSPHRASES["alice"], "admin_passphrase": ADMIN_PASSPHRASE})
    assert posted.status == 403
    assert len(_events(server, "denied.user.admin", "alice")) == before + 2

    root.log_in("root")
    root.go("/admin/users")
    assert "Alice Adams (I-101)" in root.page.locator("#user-alice").inner_text()
    assert "investigator, issued" in root.page.locator("#user-alice").inner_text()
    root.check("admin-users")
    page = root.page
    page.get_by_label("User name").fill("fiona")
    page.get_by_label("Role", exact=True).select_option("auditor")
    page.get_by_label("Full name").fill("Fiona <b>Fay</b>")
    page.get_by_label("Badge or employee number").fill("A-501")
    page.get_by_label("The new user's passphrase (at least 8 characters)").fill("fiona-passphrase")
    page.get_by_label("The new user's passphrase again").fill("fiona-passphrase")
    page.locator("#add-passphrase").fill(PASSPHRASES["root"])
    page.locator("#add-admin").fill(ADMIN_PASSPHRASE)
    page.get_by_role("button", name="Add the user").click()
    page.wait_for_url(server.url + "/admin/users")
    assert "Fiona <b>Fay</b> (A-501)" in page.locator("#user-fiona").inner_text()  # shown as text
    added = _events(server, "user.add", "root")
    assert added[-1]["subject"] == "fiona" and added[-1]["signer"] is not None

    fiona = alice
    fiona.context.clear_cookies()  # alice's browser, now fiona's
    _log_in_as(fiona, "fiona", "fiona-passphrase")
    assert fiona.go("/audit").status == 200  # an auditor

    page.locator("summary", has_text="fiona").click()
    page.get_by_label("New role for fiona").select_option("investigator")
    page.locator("#role-fiona-passphrase").fill(PASSPHRASES["root"])
    page.locator("#role-fiona-admin").fill(ADMIN_PASSPHRASE)
    page.get_by_role("button", name="Change the role of fiona").click()
    page.wait_for_url(server.url + "/admin/users")
    assert "superseded" in page.locator("#user-fiona").inner_text()
    assert fiona.go("/audit").status == 403  # the new certificate's role, at the next request

    page.locator("summary", has_text="fiona").click()
    page.locator("#retire-fiona-passphrase").fill(PASSPHRASES["root"])
    page.locator("#retire-fiona-admin").fill("not-the-admin-passphrase")
    page.get_by_role("button", name="Retire fiona").click()
    assert page.get_by_role("alert").count() == 1  # the issuing CA did not unlock
    page.locator("summary", has_text="fiona").click()
    page.locator("#retire-fiona-passphrase").fill(PASSPHRASES["root"])
    page.locator("#retire-fiona-admin").fill(ADMIN_PASSPHRASE)
    page.get_by_role("button", name="Retire fiona").click()
    page.wait_for_url(server.url + "/admin/users")
    assert "retired" in page.locator("#user-fiona").inner_text()
    assert fiona.go("/").status == 401  # the session ends with the retirement
    assert [u["retired_at"] is not None for u in server.cli.json("user", "list") if u["name"] == "fiona"] == [True]


def test_equipment_is_listed_for_everyone_and_registered_by_a_supervisor(
    visitor: Visitor, second: Visitor, server: Server
) -> None:
    alice, bob = visitor, second
    machine = "ab" * 32
    bob.log_in("bob")
    bob.go("/admin/equipment")
    bob.check("equipment")
    page = bob.page
    page.get_by_label("Equipment id (asset tag)").fill("HPD-LAPTOP-77")
    page.get_by_label("Description (make, model)").fill("Evidence laptop, unit 7")
    page.locator("#eq-machine").fill(machine)
    page.get_by_label("Assigned to (a user; empty: nobody)").select_option("alice")
    page.get_by_label("Your passphrase (the registration is signed)").fill(PASSPHRASES["bob"])
    page.get_by_role("button", name="Register").click()
    page.wait_for_url(server.url + "/admin/equipment")
    assert page.get_by_role("cell", name="HPD-LAPTOP-77").count() == 1
    assert [e["id"] for e in server.cli.json("equipment", "list")] == ["HPD-LAPTOP-77"]
    assert _events(server, "equipment.add", "bob")[-1]["signer"] is not None

    alice.log_in("alice")
    alice.go("/admin/equipment")
    assert alice.page.get_by_role("cell", name="HPD-LAPTOP-77").count() == 1
    assert alice.page.get_by_role("button", name="Register").count() == 0
    before = len(_events(server, "denied.equipment", "alice"))
    posted = alice.context.request.post(f"{server.url}/admin/equipment", form={
        "csrf_token": _csrf(alice), "id": "MINE-1", "kind": "personal", "description": "my phone",
        "machine_id": "cd" * 32, "assigned_to": "", "passphrase": PASSPHRASES["alice"]})  # fmt: skip
    assert posted.status == 403
    assert len(_events(server, "denied.equipment", "alice")) == before + 1
