"""Aliases: the registry (two different supervisors, signed approvals, expiry) and a logged-in
capture whose credentials never reach the stored files."""

from __future__ import annotations

import email
import email.policy
import gzip
import hashlib
import hmac
import html
import json
import secrets
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from warcio.archiveiterator import ArchiveIterator

from collector.browser import AliasSession, capture
from collector.errors import Refused
from collector.evidence import keys
from collector.evidence.model import BrowserSettings, CaptureRecord
from collector.policy import aliases
from collector.policy.aliases import AliasStatus, alias_terms, approval_payload, load_profile
from collector.store.ledger import iso, now
from collector.store.store import Store
from fixtures.server import LOGIN_WALL_MARKER, FixtureServer
from tests.helpers import PASSPHRASES, Cli

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
WARCIO = REPO / ".venv" / "bin" / "warcio"
CHROMIUM = (
    "/usr/lib/chromium/chromium"
    if Path("/usr/lib/chromium/chromium").exists()
    else "/usr/bin/chromium"
)
HERMETIC = "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"
NAME = "river-watch"
REASON = "Observe the closed group that sells bikes stolen on the river trail."


def alias_request(cli: Cli, name: str = NAME, *extra: str) -> dict[str, Any]:
    return dict(
        cli.json("alias", "request", name, "--platform", "mastodon", "--handle", "@river_watch",
                 "--reason", REASON, *extra, as_user="alice")
    )  # fmt: skip


def shown_terms(shown: dict[str, Any]) -> dict[str, Any]:
    """The signed terms, rebuilt from `alias show --json` as an auditor would."""
    return alias_terms(
        shown["name"], shown["platform"], shown["handle"], shown["reason"], shown["days"],
        shown["requested_by"], datetime.fromisoformat(shown["requested_at"]),
    )  # fmt: skip


def refused(cli: Cli, *args: str, as_user: str) -> str:
    result = cli.run(*args, as_user=as_user)
    assert result.returncode == 3, (result.returncode, result.stdout, result.stderr)
    return result.stderr


# ------------------------------------------------------------------ the registry


def test_alias_needs_two_different_supervisors_and_expires(store: Cli) -> None:
    requested = alias_request(store, NAME, "--days", "1")
    assert requested["status"] == "pending" and requested["approvals_required"] == 2
    assert "separation of duties" in refused(store, "alias", "approve", NAME, as_user="alice")
    assert "may not approve an alias" in refused(store, "alias", "approve", NAME, as_user="dave")
    one = store.json("alias", "approve", NAME, as_user="bob")
    assert one["status"] == "pending" and one["activated_at"] is None
    assert "already approved" in refused(store, "alias", "approve", NAME, as_user="bob")

    opened = Store.open(store.store)
    assert aliases.active_alias(opened, NAME) is None
    with pytest.raises(Refused, match=r"alias river-watch is not approved \(1 of 2 approvals\)"):
        aliases.require_active(opened, NAME)
    with pytest.raises(Refused, match="is not registered"):
        aliases.require_active(opened, "no-such-alias")

    two = store.json("alias", "approve", NAME, as_user="carol")
    assert two["status"] == "active"
    alias = aliases.require_active(opened, NAME)
    assert alias.activated_at == alias.counted()[1].approved_at
    assert alias.expires_at == alias.activated_at + timedelta(days=1)  # counted from activation
    assert alias.virtual_identity == "alias river-watch: @river_watch on mastodon"
    assert aliases.active_alias(opened, NAME, at=alias.expires_at - timedelta(minutes=1))
    assert aliases.active_alias(opened, NAME, at=alias.expires_at) is None
    with pytest.raises(Refused, match="alias river-watch expired on"):
        aliases.require_active(opened, NAME, at=alias.expires_at + timedelta(hours=1))
    assert "may not request an alias" in refused(
        store, "alias", "request", "other", "--platform", "x", "--handle", "h", "--reason", REASON,
        as_user="bob",
    )  # fmt: skip

    # An auditor checks each approval's signature against the key registry.
    shown = store.json("alias", "show", NAME, as_user="erin")
    assert [a["approver"] for a in shown["approvals"]] == ["bob", "carol"]
    for approval in shown["approvals"]:
        key = opened.ledger.key(approval["key_fingerprint"])
        assert key is not None and key.owner == approval["approver"] and approval["valid"]
        payload = approval_payload(
            shown_terms(shown), approval["approver"], datetime.fromisoformat(approval["approved_at"])
        )
        assert keys.verify(key.public_key_pem.encode(), payload, keys.unb64(approval["signature"]))

    events = [(e["action"], e["outcome"], e["actor"]) for e in store.events()
              if e["action"].startswith(("alias.", "denied.alias"))]  # fmt: skip
    assert events == [
        ("alias.request", "ok", "alice"),
        ("denied.alias", "refused", "alice"),
        ("denied.alias", "refused", "dave"),
        ("alias.approve", "ok", "bob"),
        ("denied.alias", "refused", "bob"),
        ("alias.approve", "ok", "carol"),
        ("denied.alias", "refused", "bob"),
    ]
    reasons = [e["details"]["reason"] for e in store.events() if e["action"] == "denied.alias"]
    assert all(reasons) and "separation of duties" in reasons[0]


def test_request_is_validated(store: Cli) -> None:
    bad = store.run("alias", "request", "River Watch", "--platform", "Mastodon!", "--handle", " ",
                    "--reason", "too short", "--days", "999", as_user="alice")  # fmt: skip
    assert bad.returncode == 2
    for text in ("slug", "--platform", "--handle", "--reason", "--days must be 1 to 180"):
        assert text in bad.stderr
    alias_request(store)
    again = store.run("alias", "request", NAME, "--platform", "mastodon", "--handle", "@x",
                      "--reason", REASON, as_user="alice")  # fmt: skip
    assert again.returncode == 2 and "never reused" in again.stderr
    assert alias_request(store, "second")["days"] == 180  # policy.alias_max_days


def test_deny_and_retire(store: Cli) -> None:
    alias_request(store, "denied-one")
    assert "separation of duties" in refused(
        store, "alias", "deny", "denied-one", "--reason", "not needed", as_user="alice"
    )
    denied = store.json("alias", "deny", "denied-one", "--reason", "no predicate yet", as_user="bob")
    assert denied["status"] == "denied" and denied["close_reason"] == "no predicate yet"
    late = store.run("alias", "approve", "denied-one", as_user="carol")
    assert late.returncode == 2 and "only a pending alias" in late.stderr

    alias_request(store, "used-one")
    store.ok("alias", "approve", "used-one", as_user="bob")
    store.ok("alias", "approve", "used-one", as_user="carol")
    assert "may not retire" in refused(
        store, "alias", "retire", "used-one", "--reason", "burned", as_user="dave"
    )
    store.ok("alias", "retire", "used-one", "--reason", "the group spotted it", as_user="alice")
    opened = Store.open(store.store)
    assert aliases.active_alias(opened, "used-one") is None
    with pytest.raises(Refused, match="alias used-one was retired"):
        aliases.require_active(opened, "used-one")
    listed = {a["name"]: a["status"] for a in store.json("alias", "list")}
    assert listed == {"denied-one": "denied", "used-one": "retired"}
    text = store.ok("alias", "show", "used-one").stdout
    assert "signature valid" in text and "retired      by alice: the group spotted it" in text


def _insert(db: sqlite3.Connection, name: str, requested_days_ago: int, days: int) -> dict[str, Any]:
    requested = now() - timedelta(days=requested_days_ago)
    db.execute("INSERT INTO alias_requests VALUES (?, ?, ?, ?, ?, ?, ?)",
               (name, "mastodon", "@old", REASON, days, "alice", iso(requested)))  # fmt: skip
    return alias_terms(name, "mastodon", "@old", REASON, days, "alice", requested)


def _approve(db: sqlite3.Connection, name: str, terms: dict[str, Any], signer: Any,
             as_name: str, fingerprint: str, days_ago: int) -> None:  # fmt: skip
    at = now() - timedelta(days=days_ago)
    signature = keys.b64(keys.sign(signer.key, approval_payload(terms, as_name, at)))
    db.execute(
        "INSERT INTO alias_decisions (alias, decision, actor, at, key_fingerprint, signature)"
        " VALUES (?, 'approve', ?, ?, ?, ?)",
        (name, as_name, iso(at), fingerprint, signature),
    )


def test_past_activation_expired_and_forged_approvals_do_not_count(store: Cli) -> None:
    opened = Store.open(store.store)
    aliases.ensure_schema(opened)
    bob = opened.authenticate("bob", PASSPHRASES["bob"])
    carol = opened.authenticate("carol", PASSPHRASES["carol"])
    db = sqlite3.connect(store.store / "ledger.sqlite")
    # Approved 39 and 38 days ago for 30 days: active from the second approval, now expired.
    terms = _insert(db, "old-alias", 40, 30)
    _approve(db, "old-alias", terms, bob, "bob", bob.user.key_fingerprint, 39)
    _approve(db, "old-alias", terms, carol, "carol", carol.user.key_fingerprint, 38)
    # One real approval, and one in carol's name signed with bob's key (or claiming his key).
    forged = _insert(db, "forged-alias", 2, 30)
    _approve(db, "forged-alias", forged, bob, "bob", bob.user.key_fingerprint, 1)
    _approve(db, "forged-alias", forged, bob, "carol", carol.user.key_fingerprint, 1)
    _approve(db, "forged-alias", forged, bob, "carol", bob.user.key_fingerprint, 1)
    db.commit()
    db.close()

    old = aliases.get(opened, "old-alias")
    assert old is not None and old.status is AliasStatus.expired
    assert old.activated_at is not None and old.expires_at == old.activated_at + timedelta(days=30)
    assert (now() - old.activated_at).days == 38
    assert aliases.active_alias(opened, "old-alias") is None
    assert aliases.active_alias(opened, "old-alias", at=old.activated_at + timedelta(days=1))
    with pytest.raises(Refused, match="alias old-alias expired on"):
        aliases.require_active(opened, "old-alias")

    fake = aliases.get(opened, "forged-alias")
    assert fake is not None and [a.valid for a in fake.approvals] == [True, False, False]
    with pytest.raises(Refused, match=r"not approved \(1 of 2 approvals\)"):
        aliases.require_active(opened, "forged-alias")
    shown = store.ok("alias", "show", "forged-alias").stdout
    assert shown.count("NOT COUNTED") == 2
    # The tables are append-only.
    db = sqlite3.connect(store.store / "ledger.sqlite")
    for sql in ("UPDATE alias_decisions SET at = at", "DELETE FROM alias_requests"):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute(sql)
    db.close()


# ------------------------------------------------------------------ a logged-in capture

SESSION = "sess-" + secrets.token_hex(30)
LOCAL = "tok." + secrets.token_urlsafe(45)
KEY = secrets.token_bytes(32)
HOME = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Signed in</title></head><body>
<h1>Signed in as river_watch</h1>
<p id="session" class="profile-banner profile-banner--signed-in">your session is {session}</p>
<p id="local"></p>
<ul id="feed"></ul>
<script>
const t = localStorage.getItem("access");
document.getElementById("local").textContent = "token " + t;
fetch("/api/feed?page=1&access_token=" + encodeURIComponent(t),
      {{headers: {{Authorization: "Bearer " + t}}}})
  .then(r => r.json())
  .then(d => {{
    const feed = document.getElementById("feed");
    feed.dataset.auth = d.auth_seen;
    for (const item of d.items) {{
      const li = document.createElement("li"); li.textContent = item; feed.appendChild(li);
    }}
  }});
</script>
</body></html>
"""


class _Echo(BaseHTTPRequestHandler):
    """A logged-in page that shows its credentials back, as real sites often do."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Stay silent."""

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        extra: dict[str, str] = {}
        if path == "/home":
            cookies = dict(
                c.strip().split("=", 1) for c in self.headers.get("Cookie", "").split(";") if "=" in c
            )
            body = HOME.format(session=html.escape(cookies.get("_social_session", "none"))).encode()
            kind = "text/html; charset=utf-8"
            extra["Set-Cookie"] = f"csrf_token={secrets.token_hex(12)}; Path=/; SameSite=Lax"
        elif path == "/api/feed":
            seen = self.headers.get("Authorization", "")
            body = json.dumps({"auth_seen": seen, "items": ["Bike 1", "Bike 2"]}).encode()
            kind = "application/json"
        else:
            body, kind = b"not found", "text/plain"
        self.send_response(200 if kind != "text/plain" else 404)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def echo() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def digest(value: str) -> str:
    return "redacted:hmac-sha256:" + hmac.new(KEY, value.encode(), hashlib.sha256).hexdigest()[:16]


def settings() -> BrowserSettings:
    return BrowserSettings(
        executable_path=CHROMIUM, navigation_timeout_s=10, settle_timeout_s=1.5,
        scroll_max_time_s=3, scroll_idle_ms=300, total_timeout_s=40,
        block_private_network=False, host_resolver_rules=HERMETIC,
    )  # fmt: skip


def alias_session(tmp_path: Path, *origins: str) -> AliasSession:
    """The session as the lead builds it: the investigator's --profile file, checked."""
    state = {
        "cookies": [{"name": "_social_session", "value": SESSION, "domain": "127.0.0.1",
                     "path": "/", "expires": -1, "httpOnly": True, "secure": False,
                     "sameSite": "Lax"}],
        "origins": [{"origin": o, "localStorage": [{"name": "access", "value": LOCAL}]}
                    for o in origins],
    }  # fmt: skip
    profile = tmp_path / "profile.json"
    profile.write_text(json.dumps(state))
    return AliasSession(storage_state=load_profile(profile), redaction_key=KEY)


def everything_stored(workdir: Path, record: CaptureRecord) -> dict[str, bytes]:
    """Every stored byte, decoded where a secret could hide: gzip members, MHTML parts."""
    out = {p.name: p.read_bytes() for p in workdir.iterdir()}
    out["traffic.warc (decompressed)"] = gzip.decompress(out["traffic.warc.gz"])
    message: Message = email.message_from_bytes(out["page.mhtml"], policy=email.policy.compat32)
    for n, part in enumerate(message.walk()):
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            out[f"page.mhtml part {n} (decoded)"] = payload
    out["capture record"] = record.model_dump_json().encode()
    return out


def warc(workdir: Path) -> list[dict[str, Any]]:
    with (workdir / "traffic.warc.gz").open("rb") as handle:
        return [
            {
                "type": rec.rec_type,
                "uri": rec.rec_headers.get_header("WARC-Target-URI"),
                "headers": list(rec.http_headers.headers) if rec.http_headers else [],
                "body": rec.content_stream().read(),
            }
            for rec in ArchiveIterator(handle)
        ]


def header(headers: list[tuple[str, str]], name: str) -> str | None:
    return next((v for k, v in headers if k.lower() == name.lower()), None)


def warcio_check(workdir: Path) -> None:
    check = subprocess.run([WARCIO, "check", "-v", workdir / "traffic.warc.gz"],
                           capture_output=True, text=True)  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr


def test_logged_in_capture_of_the_fixture_site_stores_no_credential(
    site: FixtureServer, tmp_path: Path
) -> None:
    workdir = tmp_path / "capture"
    url = site.http_url("/login-wall.html")
    record = capture(url, settings(), workdir, alias_session(tmp_path, site.http_base))
    assert record.status == 200
    assert LOGIN_WALL_MARKER in (workdir / "page.html").read_text(encoding="utf-8")
    for name, data in everything_stored(workdir, record).items():
        assert SESSION.encode() not in data, name
        assert LOCAL.encode() not in data, name
    warcio_check(workdir)

    records = warc(workdir)
    main_request = next(r for r in records if r["type"] == "request" and r["uri"] == url)
    assert header(main_request["headers"], "Cookie") == f"_social_session={digest(SESSION)}"
    main = next(r for r in records if r["type"] == "response" and r["uri"] == url)
    set_cookie = header(main["headers"], "Set-Cookie") or ""
    assert set_cookie.startswith("session=redacted:hmac-sha256:") and "HttpOnly" in set_cookie
    info = records[0]["body"].decode()
    assert "redaction: captured under an alias" in info
    assert f"| request header Cookie | _social_session | cookie | {digest(SESSION)} x1" in info
    kinds = {r.kind for r in record.redactions}
    assert {"cookie", "set-cookie"} <= kinds
    assert [h.value for h in record.request_headers if h.name.lower() == "cookie"] == [
        f"_social_session={digest(SESSION)}"
    ]
    steps = {s.name: s for s in record.steps}
    assert "alias storage state loaded: 1 cookie(s)" in steps["context"].detail
    assert "redact" in steps


def test_credentials_shown_by_the_page_are_redacted_and_the_page_replays(
    echo: str, tmp_path: Path
) -> None:
    from scripts.replay_check import replay_text

    workdir = tmp_path / "capture"
    url = f"{echo}/home"
    record = capture(url, settings(), workdir, alias_session(tmp_path, echo))
    dom = (workdir / "page.html").read_text(encoding="utf-8")
    assert "Bike 2" in dom  # the page ran with the alias's localStorage and called its API
    assert f"your session is {digest(SESSION)}" in dom and f"token {digest(LOCAL)}" in dom
    assert f"your session is {digest(SESSION)}".encode() in (workdir / "response.html").read_bytes()
    for name, data in everything_stored(workdir, record).items():
        assert SESSION.encode() not in data, name
        assert LOCAL.encode() not in data, name
    # In the MHTML the token is quoted-printable, split by soft line breaks: found anyway.
    assert (workdir / "page.mhtml").read_bytes().count(digest(LOCAL).encode()) == 2
    warcio_check(workdir)

    records = warc(workdir)
    api = next(r for r in records if r["type"] == "request" and "/api/feed" in r["uri"])
    assert api["uri"] == f"{echo}/api/feed?page=1&access_token={digest(LOCAL)}"
    assert header(api["headers"], "Authorization") == f"Bearer {digest(LOCAL)}"
    api_response = next(r for r in records if r["type"] == "response" and r["uri"] == api["uri"])
    assert json.loads(api_response["body"])["auth_seen"] == f"Bearer {digest(LOCAL)}"
    assert header(api_response["headers"], "Content-Length") == str(len(api_response["body"]))
    main = next(r for r in records if r["type"] == "response" and r["uri"] == url)
    assert main["body"] == (workdir / "response.html").read_bytes()

    found = {(r.artifact, r.kind) for r in record.redactions}
    assert {
        ("traffic.warc.gz", "cookie"),
        ("traffic.warc.gz", "set-cookie"),
        ("traffic.warc.gz", "authorization"),
        ("traffic.warc.gz", "url-parameter"),
        ("traffic.warc.gz", "stored-cookie"),
        ("traffic.warc.gz", "stored-local-storage"),
        ("response.html", "stored-cookie"),
        ("page.html", "stored-cookie"),
        ("page.html", "stored-local-storage"),
        ("page.mhtml", "stored-cookie"),
    } <= found
    assert all(r.digest.startswith("redacted:hmac-sha256:") and r.count >= 1 for r in record.redactions)
    info = records[0]["body"].decode()
    in_files = [r for r in record.redactions if r.artifact != "capture-record"]
    assert info.count("\r\nredacted: ") == len(in_files)

    text = replay_text(workdir / "traffic.warc.gz", url, chromium=CHROMIUM, seconds=15)
    assert "Signed in as river_watch" in text and digest(SESSION) in text
