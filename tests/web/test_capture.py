"""The Capture pages in a real browser, capturing for real: `collector serve` over a workstation
store whose authorization covers the fixture site (a real HTTP server on 127.0.0.1), an
investigator signing a batch in the Capture page, the store's local capture system capturing it
in Chromium in the server's background, and the progress page showing each URL's end. Also
refusals (the gate's reason, a role without the capture right, a form without its CSRF token),
watches, and accessibility on every new page."""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterator
from typing import Any

import pytest
import tomli_w
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from playwright.sync_api import Browser, expect

from collector.store.store import LOCAL_CAPTURE
from fixtures.server import FixtureServer
from tests.helpers import PASSPHRASES, Cli, make_store
from tests.web.conftest import Server, Visitor, _visitor, serving
from tests.web.test_api import call, make_token

PAGES = ("/mastodon/status.html", "/index.html", "/multilingual.html")
OUTSIDE = "http://127.0.0.2:9/elsewhere.html"
AUDITOR = ("aaron", "aaron-passphrase")
CAPTURE_WAIT_MS = 180_000


@pytest.fixture(scope="module")
def site() -> Iterator[FixtureServer]:
    with FixtureServer() as server:
        yield server


@pytest.fixture(scope="module")
def capture_store(tmp_path_factory: pytest.TempPathFactory, site: FixtureServer) -> dict[str, Any]:
    """A workstation store (private network allowed: the site is on 127.0.0.1) with an auditor
    and an approved authorization whose scope is the fixture site."""
    cli = make_store(tmp_path_factory.mktemp("web-capture"))
    path = cli.store / "collector.toml"
    config = tomllib.loads(path.read_text())
    config["browser"].update(navigation_timeout_s=15.0, settle_timeout_s=2.0, scroll_max_time_s=15.0,
                             total_timeout_s=60.0, script_busy_s=2.0,
                             host_resolver_rules="MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost")  # fmt: skip
    path.write_text(tomli_w.dumps(config))
    name, passphrase = AUDITOR
    cli.ok("user", "add", name, "--role", "auditor", "--name", "Aaron Auditor", "--badge", "AU-501",
           new_passphrase=passphrase)  # fmt: skip
    return {"cli": cli, "auth": cli.approved([site.http_url("/*")])}


@pytest.fixture(scope="module")
def capture_server(capture_store: dict[str, Any]) -> Iterator[Server]:
    with serving(capture_store["cli"], info=capture_store) as running:
        yield running


@pytest.fixture
def person(browser: Browser, capture_server: Server) -> Iterator[Visitor]:
    yield from _visitor(browser, capture_server)


def _log_in(visitor: Visitor, user: str, passphrase: str | None = None) -> None:
    visitor.go("/login")
    visitor.page.get_by_label("User name").fill(user)
    visitor.page.get_by_label("Passphrase").fill(passphrase or PASSPHRASES[user])
    visitor.page.get_by_role("button", name="Log in").click()
    visitor.page.wait_for_url(visitor.base + "/")


def _sign_batch(visitor: Visitor, auth_id: str, urls: list[str], note: str = "") -> str:
    visitor.go("/capture")
    page = visitor.page
    page.get_by_label("Authorization", exact=True).select_option(auth_id)
    page.get_by_label("URLs to capture").fill("\n".join(urls))
    if note:
        page.get_by_label("Note (for every URL without a note of its own)").fill(note)
    page.get_by_label("Your passphrase (each capture request is signed)").fill(PASSPHRASES["alice"])
    page.get_by_role("button", name="Sign and capture").click()
    page.wait_for_url(re.compile(r".*/capture/BATCH-[0-9A-Z-]+$"))
    return page.url.rsplit("/", 1)[1]


def _finished(visitor: Visitor) -> None:
    """The progress page, updating itself, says the batch is finished."""
    expect(visitor.page.locator("#progress")).to_have_attribute("data-finished", "true", timeout=CAPTURE_WAIT_MS)


def _metadata(cli: Cli, bundle_id: str) -> dict[str, Any]:
    return dict(json.loads((cli.store / "bundles" / bundle_id / "data" / "metadata.json").read_text()))


def test_an_investigator_captures_three_pages_and_sees_them_sealed_by_the_capture_system(
    person: Visitor, capture_server: Server, site: FixtureServer
) -> None:
    cli, auth_id = capture_server.cli, capture_server.info["auth"]
    alice = person
    _log_in(alice, "alice")
    alice.go("/capture")
    alice.check("capture")
    batch_id = _sign_batch(alice, auth_id, [site.http_url(p) for p in PAGES], note="three pages")
    assert alice.page.get_by_role("heading", level=1).inner_text() == f"Batch {batch_id}"
    alice.check("batch-running")
    _finished(alice)
    items = alice.page.locator("li.item")
    assert items.count() == 3
    assert [items.nth(n).get_attribute("data-state") for n in range(3)] == ["captured"] * 3
    assert "3 captured, 0 refused, 0 failed" in alice.page.locator("#counts").inner_text()
    first = items.nth(0).inner_text()
    assert "CONTENT" in first and "Mastodon" in first, first  # page state and the post's platform
    alice.check("batch-finished")

    bundle_ids = [items.nth(n).get_by_role("link").first.inner_text() for n in range(3)]
    alice.go("/")
    assert alice.page.get_by_role("heading", name="Your running batches").count() == 1
    assert alice.page.get_by_role("link", name=batch_id).count() == 0  # finished: no longer listed
    users = {u["name"]: u for u in cli.json("user", "list")}
    for bundle_id, path in zip(bundle_ids, PAGES, strict=True):
        alice.go(f"/bundles/{bundle_id}")
        assert alice.page.locator("#verdict").inner_text() == "VERIFIED"
        meta = _metadata(cli, bundle_id)
        assert meta["capture"]["requested_url"] == site.http_url(path)
        assert meta["note"] == "three pages"
        # The investigator's key signed the request; the local capture system sealed the bundle.
        assert meta["operator"]["user"] == LOCAL_CAPTURE
        request = meta["request"]
        assert (request["requested_by"], request["batch_id"]) == ("alice", batch_id)
        assert request["key_fingerprint"] == users["alice"]["key_fingerprint"]
        tags = cli.store / "bundles" / bundle_id
        requester = load_pem_public_key((tags / "requester.pub.pem").read_bytes())
        assert isinstance(requester, Ed25519PublicKey)
        requester.verify((tags / "request.sig").read_bytes(), (tags / "request.json").read_bytes())
        report = cli.json("verify", bundle_id)
        checks = {c["name"]: c for c in report["checks"]}
        assert report["ok"] and checks["capture request"]["ok"], checks
        assert "requested by alice" in checks["capture request"]["detail"]
        assert LOCAL_CAPTURE in checks["signer certificate"]["detail"]
    alice.check("bundle-captured-here")
    sealed = [e for e in cli.events() if e["action"] == "capture.sealed" and e["subject"] in bundle_ids]
    assert sealed and {e["actor"] for e in sealed} == {LOCAL_CAPTURE}, sealed
    requested = [e for e in cli.events() if e["action"] == "capture.requested" and e["details"].get("batch_id") == batch_id]
    assert len(requested) == 3 and {e["actor"] for e in requested} == {"alice"}

    # The requester says she reviewed one capture: a signed requester-reviewed event, once.
    alice.go(f"/bundles/{bundle_ids[0]}")
    alice.page.get_by_label("What you looked at (optional)").fill("the post and its replies")
    alice.page.locator("#review-passphrase").fill(PASSPHRASES["alice"])
    alice.page.get_by_role("button", name="Say reviewed and sign").click()
    alice.page.wait_for_url(re.compile(rf".*/bundles/{bundle_ids[0]}#custody$"))
    events = cli.json("custody", "show", bundle_ids[0])
    assert [e["type"] for e in events][-1] == "requester-reviewed"
    assert events[-1]["actor"]["user"] == "alice" and events[-1]["details"]["note"] == "the post and its replies"
    assert alice.page.get_by_role("button", name="Say reviewed and sign").count() == 0  # once


def test_a_url_outside_the_authorization_is_refused_with_the_gates_reason(
    person: Visitor, capture_server: Server, site: FixtureServer
) -> None:
    alice, auth_id = person, capture_server.info["auth"]
    _log_in(alice, "alice")
    _sign_batch(alice, auth_id, [OUTSIDE])
    _finished(alice)  # refused when it was signed: nothing to capture
    item = alice.page.locator("li.item").first
    assert item.get_attribute("data-state") == "refused"
    reason = item.locator(".reason").inner_text()
    assert "outside every scope of " + auth_id in reason, reason
    assert "0 captured, 1 refused" in alice.page.locator("#counts").inner_text()
    alice.check("batch-refused")
    refusals = [e for e in capture_server.events() if e["action"] == "capture.refused" and e["actor"] == "alice"]
    assert refusals and "outside every scope" in refusals[-1]["details"]["reason"]


@pytest.mark.parametrize("who", ["erin", AUDITOR[0]])
def test_a_custodian_or_auditor_may_not_capture_and_both_refusals_are_recorded(
    person: Visitor, capture_server: Server, who: str
) -> None:
    _log_in(person, who, AUDITOR[1] if who == AUDITOR[0] else None)
    assert person.page.get_by_role("link", name="Capture").count() == 0
    token = person.page.locator("input[name=csrf_token]").first.get_attribute("value")
    denied = len([e for e in capture_server.events() if e["action"] == "denied.capture" and e["actor"] == who])
    assert person.go("/capture").status == 403
    assert "may not capture" in person.page.locator(".problem").inner_text()
    posted = person.context.request.post(f"{capture_server.url}/capture", form={
        "csrf_token": token or "", "auth": capture_server.info["auth"], "urls": "http://127.0.0.1/x",
        "passphrase": "anything"})  # fmt: skip
    assert posted.status == 403
    after = [e for e in capture_server.events() if e["action"] == "denied.capture" and e["actor"] == who]
    assert len(after) == denied + 2
    assert not [e for e in capture_server.events() if e["action"] == "batch.started" and e["actor"] == who]


def test_the_capture_form_without_its_csrf_token_is_refused_and_recorded(
    person: Visitor, capture_server: Server
) -> None:
    _log_in(person, "alice")
    before = [e["subject"] for e in capture_server.events() if e["action"] == "batch.started"]
    posted = person.context.request.post(f"{capture_server.url}/capture", form={
        "auth": capture_server.info["auth"], "urls": "http://127.0.0.1/x", "passphrase": PASSPHRASES["alice"]})  # fmt: skip
    assert posted.status == 403
    refused = [e for e in capture_server.events() if e["action"] == "denied.request" and e["subject"] == "/capture"]
    assert refused and refused[-1]["details"]["reason"] == "form posted without its CSRF token"
    assert [e["subject"] for e in capture_server.events() if e["action"] == "batch.started"] == before


def test_a_watch_is_started_shown_and_stopped(person: Visitor, capture_server: Server, site: FixtureServer) -> None:
    alice, auth_id = person, capture_server.info["auth"]
    _log_in(alice, "alice")
    alice.go("/watches")
    alice.check("watches")
    page = alice.page
    page.get_by_label("Page to watch").fill(site.http_url("/mastodon/status.html"))
    page.get_by_label("Authorization", exact=True).select_option(auth_id)
    page.get_by_label("Every (30m, 6h, 1d…)").fill("6h")
    page.get_by_label("Your passphrase (the standing request is signed)").fill(PASSPHRASES["alice"])
    page.get_by_role("button", name="Sign and start watching").click()
    page.wait_for_url(re.compile(r".*/watches/W-[0-9A-Z-]+$"))
    watch_id = page.url.rsplit("/", 1)[1]
    assert page.locator("#watch-state").inner_text() == "running"
    alice.check("watch")
    shown = capture_server.cli.json("watch", "show", watch_id, as_user="alice")
    assert shown["url"] == site.http_url("/mastodon/status.html") and shown["every_s"] == 6 * 3600
    page.get_by_label("Why it stops").fill("enough seen")
    page.get_by_label("Your passphrase").fill(PASSPHRASES["alice"])
    page.get_by_role("button", name="Stop and sign").click()
    page.wait_for_url(capture_server.url + f"/watches/{watch_id}")
    assert "stopped by alice: enough seen" in page.locator("#watch-state").inner_text()
    alice.go("/watches")
    assert page.get_by_role("link", name=watch_id).count() == 1



def test_an_exigent_capture_is_signed_captured_by_the_capture_system_and_owed_a_review(
    person: Visitor, capture_server: Server, site: FixtureServer, browser: Browser
) -> None:
    cli, alice = capture_server.cli, person
    _log_in(alice, "alice")
    alice.go("/capture")
    alice.page.get_by_label("URL", exact=True).fill(site.http_url("/index.html"))
    alice.page.get_by_label("Case number").fill("HPD-2026-000123")
    alice.page.get_by_label("The articulable facts of the threat").fill(
        "A post names a school and a time for an attack today; the account has posted a weapon."
    )
    alice.page.get_by_label("Your passphrase (the exigent authorization and the request are signed)").fill(
        PASSPHRASES["alice"]
    )
    alice.page.get_by_role("button", name="Sign the exigent capture").click()
    alice.page.wait_for_url(re.compile(r".*/capture/BATCH-[0-9A-Z-]+$"))
    _finished(alice)
    item = alice.page.locator("li.item").first
    assert item.get_attribute("data-state") == "captured", item.inner_text()
    bundle_id = item.get_by_role("link").first.inner_text()
    meta = _metadata(cli, bundle_id)
    auth = cli.json("auth", "show", meta["authorization"]["id"])
    assert auth["status"] == "exigent" and auth["requested_by"] == "alice"
    assert meta["operator"]["user"] == LOCAL_CAPTURE and meta["request"]["requested_by"] == "alice"
    report = cli.json("verify", bundle_id)
    assert report["ok"], [c for c in report["checks"] if not c["ok"]]
    owed = cli.json("review", "pending", as_user="bob")
    assert meta["authorization"]["id"] in json.dumps(owed)
    alice.check("capture-exigent")


def test_a_script_requests_captures_through_the_api_signed_with_the_callers_passphrase(
    person: Visitor, capture_server: Server, site: FixtureServer
) -> None:
    """POST /api/captures: a token with the `capture` scope and the caller's passphrase sign
    one request per URL (a URL outside the authorization is refused with the gate's reason);
    the capture system seals the rest, followed at GET /api/captures/ID. A wrong passphrase,
    a token without the scope and a body that does not fit start nothing and never echo the
    passphrase."""
    cli, auth_id = capture_server.cli, capture_server.info["auth"]
    _log_in(person, "alice")
    _id, token = make_token(person, "tip line", ("read", "capture"))
    _id, reader = make_token(person, "reader", ("read",))
    good = site.http_url("/index.html")
    body = {"authorization": auth_id, "urls": [{"url": good, "note": "from the tip line"}, {"url": OUTSIDE}],
            "passphrase": PASSPHRASES["alice"]}  # fmt: skip

    def batches() -> int:
        return len([e for e in cli.events() if e["action"] == "batch.started"])

    started = batches()
    status, answer, _ = call(capture_server, "/api/captures", token, body={**body, "passphrase": "wrong"})
    assert status == 403 and "passphrase" in answer["detail"], answer
    status, answer, _ = call(capture_server, "/api/captures", reader, body=body)
    assert status == 403 and "does not have the scope 'capture'" in answer["detail"]
    status, answer, _ = call(capture_server, "/api/captures", token, body={"urls": [], "passphrase": "s3cret-XYZ"})
    assert status == 422 and answer == {"detail": "authorization: Field required"}
    assert batches() == started  # none of these started anything

    status, answer, _ = call(capture_server, "/api/captures", token, body=body)
    assert status == 202, answer
    batch_id = answer["id"]
    assert answer["started_by"] == "alice" and answer["authorization_id"] == auth_id
    refused = answer["items"][1]
    assert refused["state"] == "refused" and "outside every scope of " + auth_id in refused["detail"]
    for _ in range(CAPTURE_WAIT_MS // 500):
        status, answer, _ = call(capture_server, f"/api/captures/{batch_id}", reader)
        if answer["finished"]:
            break
        person.page.wait_for_timeout(500)
    assert status == 200 and answer["finished"], answer
    captured = answer["items"][0]
    assert captured["state"] == "captured" and captured["page_state"].startswith("CONTENT"), answer
    meta = _metadata(cli, captured["bundle_id"])
    assert meta["operator"]["user"] == LOCAL_CAPTURE and meta["note"] == "from the tip line"
    assert (meta["request"]["requested_by"], meta["request"]["batch_id"]) == ("alice", batch_id)
    assert cli.json("verify", captured["bundle_id"])["ok"]
    source = next(e for e in cli.events() if e["action"] == "batch.started" and e["subject"] == batch_id)
    assert source["actor"] == "alice" and source["details"]["file"] == "API"
    assert call(capture_server, "/api/captures/BATCH-none", reader)[0] == 404
