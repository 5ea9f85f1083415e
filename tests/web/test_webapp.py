"""The web application in a real browser: the authorization workflow across three people, the
bundle page's verification, refusals recorded in the ledger, CSRF, cookies, headers, hostile
titles kept inert, and accessibility on every page visited."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from tests.helpers import FACTS, PASSPHRASES
from tests.web.conftest import Server, Visitor, _visitor, serving


def _denials(server: Server, action: str, actor: str | None) -> list[dict[str, object]]:
    return [e for e in server.events() if e["action"] == action and e["actor"] == actor
            and e["outcome"] == "refused"]  # fmt: skip


def test_investigator_requests_supervisor_approves_and_investigator_sees_it_approved(
    visitor: Visitor, second: Visitor, server: Server
) -> None:
    alice, bob = visitor, second
    alice.log_in("alice")
    alice.check("dashboard-investigator")
    alice.go("/authorizations/new")
    page = alice.page
    assert "28 CFR 23.20(c)" in page.locator("#facts-reminder").inner_text()
    alice.check("authorization-request")
    page.get_by_label("Case number").fill("HPD-2026-000777")
    page.get_by_label("Articulable facts").fill(FACTS)
    page.get_by_label("Scopes: http(s) URL globs, one a line").fill("https://social.example/@seller/*")
    page.get_by_label("Your passphrase (the request is signed)").fill(PASSPHRASES["alice"])
    page.get_by_role("button", name="Request").click()
    page.wait_for_url(re.compile(r".*/authorizations/AUTH-[0-9A-F]{8}$"))
    auth_id = page.url.rsplit("/", 1)[1]
    assert page.locator("#status").inner_text() == "pending"
    alice.check("authorization-pending")

    bob.log_in("bob")
    assert bob.page.get_by_role("link", name=auth_id).count() == 1  # owed on his dashboard
    bob.check("dashboard-supervisor")
    bob.go(f"/authorizations/{auth_id}/decision")
    bob.check("authorization-decision")
    bob.page.get_by_label("Your passphrase").first.fill("not-his-passphrase")
    bob.page.get_by_role("button", name="Approve and sign").click()
    assert bob.page.get_by_role("alert").count() == 1  # refused: the key did not unlock
    bob.page.get_by_label("Your passphrase").first.fill(PASSPHRASES["bob"])
    bob.page.get_by_role("button", name="Approve and sign").click()
    bob.page.wait_for_url(server.url + f"/authorizations/{auth_id}")
    assert bob.page.locator("#status").inner_text() == "approved"

    alice.go(f"/authorizations/{auth_id}")
    assert alice.page.locator("#status").inner_text() == "approved"
    assert alice.page.get_by_text("bob at").inner_text().startswith("bob at ")  # the approver
    alice.check("authorization-approved")
    approvals = [e for e in server.events() if e["action"] == "auth.approve" and e["subject"] == auth_id]
    assert [(e["actor"], e["outcome"]) for e in approvals] == [("bob", "ok")]
    assert approvals[0]["signer"] is not None  # signed with bob's key, unlocked by the form


def test_custodian_sees_the_bundle_verified_with_its_post_artifacts_and_custody(
    visitor: Visitor, server: Server
) -> None:
    erin, bundle_id = visitor, server.info["bundle"]
    erin.log_in("erin")
    assert erin.page.get_by_role("link", name=bundle_id).count() == 1  # in her custody
    erin.go("/bundles")
    erin.check("bundles")
    erin.go(f"/bundles/{bundle_id}")
    checks = erin.page.locator("#checks li").all_inner_texts()
    assert checks and all(line.strip()[0] in "✓!" for line in checks), checks
    assert erin.page.locator("#verdict").inner_text() == "VERIFIED"
    assert "CONTENT" in erin.page.locator("#page-state").inner_text()
    assert erin.page.get_by_role("cell", name="screenshot.png").count() == 1
    assert "transferred" in erin.page.locator(".timeline").inner_text()
    erin.check("bundle")
    verified = [e for e in server.events() if e["action"] == "bundle.verify" and e["subject"] == bundle_id]
    assert verified and verified[-1]["outcome"] == "ok"

    download = erin.context.request.get(f"{server.url}/bundles/{bundle_id}/files/page.html")
    assert download.status == 200
    assert download.headers["content-disposition"].startswith("attachment;")
    assert download.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in download.headers["content-security-policy"]


def test_an_investigator_is_refused_the_approval_page_and_the_approval_and_both_are_recorded(
    visitor: Visitor, server: Server
) -> None:
    dave = visitor
    dave.log_in("dave")
    token = dave.page.locator("input[name=csrf_token]").first.get_attribute("value")  # log-out form
    auth_id = server.info["cli"].request(["https://social.example/*"], as_user="alice")
    before = len(_denials(server, "denied.auth.decide", "dave"))
    response = dave.go(f"/authorizations/{auth_id}/decision")
    assert response.status == 403
    assert "may not auth.decide" in dave.page.locator(".problem").inner_text()
    dave.check("refused")
    posted = dave.context.request.post(f"{server.url}/authorizations/{auth_id}/approve",
                                       form={"csrf_token": token or "", "passphrase": PASSPHRASES["dave"]})  # fmt: skip
    assert posted.status == 403
    assert len(_denials(server, "denied.auth.decide", "dave")) == before + 2
    assert server.info["cli"].json("auth", "show", auth_id)["status"] == "pending"


def test_a_form_without_its_csrf_token_is_refused_and_recorded(visitor: Visitor, server: Server) -> None:
    bob = visitor
    bob.log_in("bob")
    auth_id = server.info["cli"].request(["https://social.example/*"], as_user="alice")
    url = f"{server.url}/authorizations/{auth_id}/approve"
    missing = bob.context.request.post(url, form={"passphrase": PASSPHRASES["bob"]})
    wrong = bob.context.request.post(url, form={"passphrase": PASSPHRASES["bob"], "csrf_token": "0" * 64})
    assert (missing.status, wrong.status) == (403, 403)
    refused = [e for e in _denials(server, "denied.request", "bob") if e["subject"] == f"/authorizations/{auth_id}/approve"]
    assert [e["details"]["reason"] for e in refused] == ["form posted without its CSRF token", "wrong CSRF token"]
    assert server.info["cli"].json("auth", "show", auth_id)["status"] == "pending"


def test_the_session_cookie_and_the_security_headers(visitor: Visitor, server: Server) -> None:
    response = visitor.go("/login")
    headers = response.headers
    assert headers["content-security-policy"].startswith("default-src 'self'; script-src 'self'")
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-frame-options"] == "DENY"
    assert headers["cache-control"] == "no-store"
    assert "strict-transport-security" not in headers  # no TLS here
    visitor.check("login")
    visitor.log_in("alice")
    (cookie,) = visitor.context.cookies()
    assert cookie["name"] == "collector-session"
    assert (cookie["httpOnly"], cookie["sameSite"], cookie["path"]) == (True, "Strict", "/")
    assert "alice-passphrase" not in cookie["value"]
    visitor.page.get_by_role("button", name="Log out").click()
    assert visitor.page.get_by_role("status").inner_text() == "you have logged out"
    assert visitor.go("/bundles").status == 401  # the log-in page again


def test_a_wrong_passphrase_at_log_in_is_refused_and_recorded(visitor: Visitor, server: Server) -> None:
    before = len(_denials(server, "auth.login", "carol"))
    visitor.go("/login")
    visitor.page.get_by_label("User name").fill("carol")
    visitor.page.get_by_label("Passphrase").fill("wrong")
    visitor.page.get_by_role("button", name="Log in").click()
    assert "Log-in refused" in visitor.page.get_by_role("alert").inner_text()
    assert len(_denials(server, "auth.login", "carol")) == before + 1


def test_a_captured_title_with_markup_is_shown_as_text_and_runs_nothing(visitor: Visitor, server: Server) -> None:
    hostile, title = server.info["hostile"], server.info["hostile_title"]
    assert "<" in title
    visitor.log_in("alice")
    visitor.go(f"/bundles/{hostile}")
    visitor.page.wait_for_load_state("networkidle")
    assert visitor.page.locator("#page-title").inner_text() == title
    assert visitor.page.locator("#page-title img, #post-text img, #post-text script").count() == 0
    assert visitor.dialogs == []
    assert all(url.startswith(server.url + "/") for url in visitor.requests), visitor.requests
    assert not any(url.endswith("/x") for url in visitor.requests)
    visitor.check("bundle-hostile")


def test_script_in_a_captured_pages_title_text_author_and_urls_is_shown_as_text_and_runs_nothing(
    visitor: Visitor, server: Server
) -> None:
    """A captured page (fixtures/site/hostile-post.html) whose title, og: tags, author, text
    and URLs carry script, event handlers, a fetch and `javascript:` URLs: every page that shows
    it shows the characters, runs nothing, fetches nothing beyond this application."""
    bundle = server.info["scripted"]
    visitor.log_in("erin")
    for path in ("/", "/bundles", f"/bundles/{bundle}", f"/bundles/{bundle}/screenshot"):
        visitor.go(path)
        visitor.page.wait_for_load_state("networkidle")
        page = visitor.page
        assert page.locator("main script, main img[onerror], main svg, main [onload]").count() == 0
        assert page.locator("a[href^='javascript:' i]").count() == 0
    visitor.go(f"/bundles/{bundle}")
    shown = visitor.page.content()
    text = visitor.page.locator("main").inner_text()
    assert "<script>alert('title')</script> bikes \"cheap\" & fast" in text
    assert "<svg onload=alert('author')>" in text or "author not found" in text
    assert "<script>fetch('http://127.0.0.1:9/steal')</script>" in text
    assert "<script>alert" not in shown and "<script>fetch" not in shown  # in the DOM only as text
    assert "&lt;script&gt;alert('title')" in shown
    assert visitor.dialogs == []
    assert all(url.startswith(server.url + "/") for url in visitor.requests), visitor.requests
    visitor.check("bundle-scripted")


def test_a_copy_of_a_logged_out_sessions_cookie_is_refused(visitor: Visitor, server: Server) -> None:
    """Someone who kept the cookie (a shared machine, a stolen copy) gets nothing after the
    log-out, though its signature and times are still good."""
    visitor.log_in("alice")
    (kept,) = visitor.context.cookies()
    assert visitor.go("/bundles").status == 200
    visitor.page.get_by_role("button", name="Log out").click()
    visitor.context.clear_cookies()
    visitor.context.add_cookies([kept])  # type: ignore[list-item]
    assert visitor.go("/bundles").status == 401


@pytest.mark.parametrize("target", ["//evil.example/", "/\\evil.example/", "https://evil.example/"])
def test_the_log_in_returns_only_to_a_page_of_this_site(visitor: Visitor, server: Server, target: str) -> None:
    visitor.go("/login")
    visitor.page.evaluate("(t) => { document.querySelector('input[name=next]').value = t }", target)
    visitor.page.get_by_label("User name").fill("alice")
    visitor.page.get_by_label("Passphrase").fill(PASSPHRASES["alice"])
    visitor.page.get_by_role("button", name="Log in").click()
    visitor.page.wait_for_url(server.url + "/")


def test_a_supervisor_revokes_an_approved_authorization_and_an_investigator_may_not(
    visitor: Visitor, server: Server
) -> None:
    cli = server.cli
    auth_id = cli.approved(["https://revoke.example/*"])
    visitor.log_in("alice")
    denied = len(_denials(server, "denied.auth.decide", "alice"))
    response = visitor.page.request.post(f"{server.url}/authorizations/{auth_id}/revoke", form={
        "reason": "no", "passphrase": PASSPHRASES["alice"],
        "csrf_token": visitor.page.locator("input[name=csrf_token]").first.get_attribute("value") or "",
    })  # fmt: skip
    assert response.status == 403 and len(_denials(server, "denied.auth.decide", "alice")) == denied + 1
    visitor.page.get_by_role("button", name="Log out").click()
    visitor.log_in("bob")
    visitor.go(f"/authorizations/{auth_id}")
    visitor.page.get_by_role("link", name="Revoke").click()
    visitor.page.get_by_label("Why it is revoked").fill("The investigation closed on 2026-12-01.")
    visitor.page.get_by_label("Your passphrase").fill(PASSPHRASES["bob"])
    visitor.page.get_by_role("button", name="Revoke and sign").click()
    visitor.page.wait_for_url(f"{server.url}/authorizations/{auth_id}")
    assert visitor.page.locator("#status").inner_text() == "revoked"
    revoked = [e for e in server.events() if e["action"] == "auth.revoke" and e["subject"] == auth_id]
    assert [(e["actor"], e["outcome"]) for e in revoked] == [("bob", "ok")]


def test_a_spray_of_log_ins_from_one_address_is_stopped_and_recorded(
    browser: Browser, server: Server, tmp_path: Path
) -> None:
    """Ten wrong log-ins from one address, each for another name: then even the right
    passphrase is refused (429) from that address for a while, and the refusal is recorded."""
    from collector.web.throttle import FAILURES

    with serving(server.cli.copy(tmp_path / "store")) as own, contextlib.closing(_visitor(browser, own)) as made:
        person = next(made)

        def attempt(user: str, passphrase: str) -> None:
            person.go("/login")
            person.page.get_by_label("User name").fill(user)
            person.page.get_by_label("Passphrase").fill(passphrase)
            person.page.get_by_role("button", name="Log in").click()
            person.page.wait_for_load_state()

        for n in range(FAILURES):
            attempt(f"nobody{n}", "not-a-passphrase")
        attempt("alice", PASSPHRASES["alice"])
        assert "Log-in refused" in person.page.get_by_role("alert").inner_text()
        assert person.page.url.endswith("/login")
        refused = [e for e in own.events() if e["action"] == "auth.login" and e["actor"] == "alice"]
        assert refused and refused[-1]["details"]["reason"] == "too many failed log-ins from this address"


def test_an_investigator_links_two_bundles_as_corroborating_and_both_pages_show_it(
    browser: Browser, server: Server, tmp_path: Path
) -> None:
    one, other = server.info["bundle"], server.info["hostile"]
    with serving(server.cli.copy(tmp_path / "store")) as own, contextlib.closing(_visitor(browser, own)) as made:
        alice = next(made)
        alice.log_in("alice")
        alice.go(f"/bundles/{one}")
        alice.page.get_by_label("The other bundle's id").fill(other)
        alice.page.get_by_label("How they corroborate each other").fill("same seller, same bike")
        alice.page.locator("#corroborate-passphrase").fill(PASSPHRASES["alice"])
        alice.page.get_by_role("button", name="Link and sign").click()
        alice.page.wait_for_url(re.compile(rf".*/bundles/{one}#custody$"))
        assert other in alice.page.locator("#corroborations").inner_text()
        alice.go(f"/bundles/{other}")
        assert one in alice.page.locator("#corroborations").inner_text()
        alice.check("bundle-corroborated")
        for bundle in (one, other):
            assert own.cli.json("custody", "show", bundle)[-1]["details"]["kind"] == "corroboration"


def test_what_the_web_application_records_keeps_the_ledger_verifiable(visitor: Visitor, server: Server) -> None:
    """Every row a request writes without a key (a verification shown, a refusal, a log-in) is
    one the ledger's verification accepts: none claims a person's signature it does not carry."""
    visitor.log_in("erin")
    visitor.go(f"/bundles/{server.info['bundle']}")
    visitor.go(f"/bundles/{server.info['bundle']}/screenshot")
    visitor.context.request.post(f"{server.url}/bundles/{server.info['bundle']}/transfer", form={"to": "alice"})
    done = server.cli.run("ledger", "verify")
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_viewer_records_a_signed_viewed_event_as_collector_show_does(
    browser: Browser, server: Server, tmp_path: Path
) -> None:
    bundle = server.info["bundle"]
    with serving(server.cli.copy(tmp_path / "store")) as own, contextlib.closing(_visitor(browser, own)) as made:
        dana = next(made)
        dana.log_in("dave")
        dana.go(f"/bundles/{bundle}")
        dana.page.locator("#viewed-passphrase").fill(PASSPHRASES["dave"])
        dana.page.get_by_role("button", name="Sign as viewed").click()
        dana.page.wait_for_url(re.compile(rf".*/bundles/{bundle}#custody$"))
        last = own.cli.json("custody", "show", bundle)[-1]
        assert (last["type"], last["actor"]["user"], last["details"]) == ("viewed", "dave", {"what": "bundle page"})
        assert own.cli.run("custody", "verify", bundle).returncode == 0
