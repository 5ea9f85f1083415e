"""The JSON API under /api: per-user tokens made and revoked on /tokens, used with
`Authorization: Bearer`, their scopes and expiry enforced and every refusal recorded; each
endpoint's answer and its OpenAPI description."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.helpers import PASSPHRASES
from tests.web.conftest import Server, Visitor

ENDPOINTS = ["/bundles", "/bundles/{bundle_id}", "/bundles/{bundle_id}/verify", "/authorizations",
             "/authorizations/{auth_id}", "/custody/{bundle_id}", "/captures", "/captures/{batch_id}"]  # fmt: skip


def call(server: Server, path: str, token: str | None = None, headers: dict[str, str] | None = None,
         body: Any = None) -> tuple[int, Any, dict[str, str]]:  # fmt: skip
    """A script's call: no browser, no cookie; the status, the JSON body and the headers. With
    `body`, a POST of it as JSON."""
    sent = dict(headers or {})
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    data = None
    if body is not None:
        data, sent["Content-Type"] = json.dumps(body).encode(), "application/json"
    request = urllib.request.Request(server.url + path, headers=sent, data=data)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read()), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read()), dict(exc.headers)


def make_token(person: Visitor, label: str, scopes: tuple[str, ...] = ("read",)) -> tuple[str, str]:
    """Make a token on /tokens as a logged-in person: its id and the token, shown once."""
    person.go("/tokens")
    page = person.page
    page.get_by_label("What it is for").fill(label)
    for box in page.locator("input[name=scope]").all():
        box.set_checked(box.get_attribute("value") in scopes)
    page.get_by_label("Your passphrase (making a token is recorded and signed)").fill(
        PASSPHRASES[person_name(person)])
    page.get_by_role("button", name="Make the token").click()
    heading = page.locator("#made").inner_text()
    token = page.locator("#new-token").input_value()
    return heading.split()[1], token


def person_name(person: Visitor) -> str:
    text = person.page.locator(".logout span").inner_text()  # "Full Name (name, role)"
    return text.rsplit("(", 1)[1].split(",")[0]


def refusals(server: Server, path: str) -> list[dict[str, Any]]:
    return [e for e in server.events() if e["action"] == "denied.request" and e["subject"] == "/api" + path]


def test_a_token_is_made_shown_once_used_scoped_and_revoked_all_recorded(visitor: Visitor, server: Server) -> None:
    alice, bundle_id = visitor, server.info["bundle"]
    alice.log_in("alice")
    alice.go("/tokens")
    alice.check("tokens")
    token_id, token = make_token(alice, "case spreadsheet")
    assert token.startswith("ctk_") and len(token) > 40
    alice.check("token-made")
    made = [e for e in server.events() if e["action"] == "token.created" and e["subject"] == token_id]
    assert [(e["actor"], e["outcome"], e["details"]["scopes"]) for e in made] == [("alice", "ok", ["read"])]
    assert made[0]["signer"] is not None  # signed with alice's key, unlocked by the form
    db = sqlite3.connect(server.cli.store / "ledger.sqlite")
    stored = db.execute("SELECT token_sha256 FROM api_tokens WHERE id = ?", (token_id,)).fetchone()
    assert stored == (hashlib.sha256(token.encode()).hexdigest(),)  # only its digest is kept
    alice.go("/tokens")
    assert token not in alice.page.content()  # shown once
    assert alice.page.locator(f"#state-{token_id}").inner_text() == "active"

    status, bundles, headers = call(server, "/api/bundles", token)
    assert status == 200 and bundle_id in [b["id"] for b in bundles]
    assert "set-cookie" not in {k.lower() for k in headers}

    before = len(refusals(server, f"/bundles/{bundle_id}/verify"))
    status, body, _ = call(server, f"/api/bundles/{bundle_id}/verify", token)
    assert status == 403 and "scope 'verify'" in body["detail"]
    refused = refusals(server, f"/bundles/{bundle_id}/verify")[before:]
    assert [(e["actor"], e["details"]["token"]) for e in refused] == [("alice", token_id)]

    alice.page.get_by_label(f"Your passphrase to revoke {token_id}").fill(PASSPHRASES["alice"])
    alice.page.get_by_role("button", name=f"Revoke {token_id}").click()
    assert alice.page.locator(f"#state-{token_id}").inner_text() == "revoked"
    revoked = [e for e in server.events() if e["action"] == "token.revoked" and e["subject"] == token_id]
    assert [(e["actor"], e["outcome"]) for e in revoked] == [("alice", "ok")]
    before = len(refusals(server, "/bundles"))
    status, body, headers = call(server, "/api/bundles", token)
    assert status == 401 and "revoked" in body["detail"]
    assert headers["www-authenticate"].startswith("Bearer")
    assert [e["details"]["reason"] for e in refusals(server, "/bundles")[before:]] == [f"API token {token_id} is revoked"]


def test_a_custodian_reads_and_verifies_through_the_api(visitor: Visitor, server: Server) -> None:
    erin, bundle_id, cli = visitor, server.info["bundle"], server.cli
    erin.log_in("erin")
    _, token = make_token(erin, "evidence room checks", ("read", "verify"))

    status, detail, _ = call(server, f"/api/bundles/{bundle_id}", token)
    assert status == 200
    assert detail["id"] == bundle_id and detail["custodian"] == "erin"
    assert detail["page_state"]["state"] == "content" and "CONTENT" in detail["page_state_line"] and detail["post"] is not None
    assert {a["path"] for a in detail["artifacts"]} >= {"screenshot.png", "page.html"}

    status, report, _ = call(server, f"/api/bundles/{bundle_id}/verify", token)
    assert status == 200 and report["ok"] is True and report["bundle_id"] == bundle_id
    assert {c["name"] for c in report["checks"]} == {c["name"] for c in cli.json("verify", bundle_id)["checks"]}
    verified = [e for e in server.events() if e["action"] == "bundle.verify" and e["subject"] == bundle_id]
    assert verified[-1]["outcome"] == "ok"

    status, custody, _ = call(server, f"/api/custody/{bundle_id}", token)
    assert status == 200 and [e["type"] for e in custody][:2] == ["captured", "transferred"]
    assert custody == cli.json("custody", "show", bundle_id)[: len(custody)]

    status, auths, _ = call(server, "/api/authorizations", token)
    assert status == 200 and auths
    status, one, _ = call(server, f"/api/authorizations/{auths[0]['id']}", token)
    assert status == 200 and one == cli.json("auth", "show", auths[0]["id"])
    assert call(server, "/api/authorizations/AUTH-00000000", token)[0] == 404
    assert call(server, "/api/bundles/B-nothing", token)[0] == 404


def test_missing_unknown_and_expired_tokens_are_refused_401_and_recorded(server: Server) -> None:
    bundle_id = server.info["bundle"]
    expired = "ctk_" + "e" * 43
    db = sqlite3.connect(server.cli.store / "ledger.sqlite")
    with db:  # a token whose time has passed (made 31 days ago for 30 days)
        made = datetime.now(UTC) - timedelta(days=31)
        db.execute("INSERT INTO api_tokens VALUES ('T-EXPIRED01', 'erin', 'old script', 'read verify', ?, ?, ?, 1)",
                   (hashlib.sha256(expired.encode()).hexdigest(), made.isoformat(),
                    (made + timedelta(days=30)).isoformat()))  # fmt: skip
    path = f"/bundles/{bundle_id}"
    before = len(refusals(server, path))
    cases = [(None, "no API token"), ("ctk_not-a-real-token", "unknown API token"),
             ("garbage", "unknown API token"), (expired, "API token T-EXPIRED01 is expired")]  # fmt: skip
    for token, reason in cases:
        status, body, headers = call(server, "/api" + path, token)
        assert status == 401, token
        assert reason in body["detail"] and headers["www-authenticate"].startswith("Bearer")
    recorded = refusals(server, path)[before:]
    assert [e["details"]["reason"].split(" (")[0] for e in recorded] == [r for _, r in cases]
    assert all(e["outcome"] == "refused" and e["details"]["api"] is True for e in recorded)
    assert recorded[-1]["actor"] == "erin"


def test_the_api_ignores_the_session_cookie(visitor: Visitor, server: Server) -> None:
    visitor.log_in("alice")
    answer = visitor.context.request.get(f"{server.url}/api/bundles")  # the browser's cookie only
    assert answer.status == 401
    assert "set-cookie" not in answer.headers


def test_a_role_without_the_permission_is_refused_403_and_recorded(visitor: Visitor, server: Server) -> None:
    """An administrator may read but not verify: the verify scope is not offered, is refused
    when posted anyway, and a token carrying it is refused at each call (the role is checked
    on every call, whatever the token says)."""
    root, bundle_id = visitor, server.info["bundle"]
    root.log_in("root")
    root.go("/tokens")
    assert [b.get_attribute("value") for b in root.page.locator("input[name=scope]").all()] == ["read"]
    csrf = root.page.locator("form[action='/tokens'] input[name=csrf_token]").get_attribute("value") or ""
    before = len([e for e in server.events() if e["action"] == "denied.verify" and e["actor"] == "root"])
    posted = root.context.request.post(f"{server.url}/tokens", form={
        "csrf_token": csrf, "label": "verifier", "scope": "verify", "days": "5", "passphrase": PASSPHRASES["root"]})
    assert posted.status == 403
    carried = "ctk_" + "r" * 43
    db = sqlite3.connect(server.cli.store / "ledger.sqlite")
    with db:  # as if made while root's role allowed it
        now = datetime.now(UTC)
        db.execute("INSERT INTO api_tokens VALUES ('T-ROOTVERIFY', 'root', 'old', 'read verify', ?, ?, ?, 1)",
                   (hashlib.sha256(carried.encode()).hexdigest(), now.isoformat(),
                    (now + timedelta(days=1)).isoformat()))  # fmt: skip
    status, body, _ = call(server, f"/api/bundles/{bundle_id}/verify", carried)
    assert status == 403 and "may not verify" in body["detail"]
    denied = [e for e in server.events() if e["action"] == "denied.verify" and e["actor"] == "root"][before:]
    assert [e["subject"] for e in denied] == ["token scope verify", bundle_id]
    for path in ("/api/bundles", f"/api/bundles/{bundle_id}", f"/api/custody/{bundle_id}", "/api/authorizations"):
        assert call(server, path, carried)[0] == 200  # reading is an administrator's right


def test_the_openapi_description_lists_every_endpoint(server: Server) -> None:
    status, described, headers = call(server, "/api/openapi.json")
    assert status == 200 and headers["content-type"].startswith("application/json")
    assert described["openapi"].startswith("3.")
    assert sorted(described["paths"]) == sorted(ENDPOINTS)
    assert described["servers"] == [{"url": "/api"}]
    assert described["components"]["securitySchemes"]["token"] == {
        "type": "http", "scheme": "bearer", "description": described["components"]["securitySchemes"]["token"]["description"]}
    for path in ENDPOINTS:
        for method, operation in described["paths"][path].items():
            assert operation["security"] == [{"token": []}]
            assert {"200" if method == "get" else "202", "401", "403"} <= set(operation["responses"])
    assert set(described["paths"]["/captures"]) == {"post"}
    asked = described["components"]["schemas"]["CaptureRequest"]["properties"]["passphrase"]
    assert asked["format"] == "password" and asked["writeOnly"] is True
    assert call(server, "/api/docs")[0] == 404  # no documentation UI (it would need inline script)
