"""A logged-in capture under an alias whose credentials never reach the stored files
(the registry itself is tested in tests/unit/test_aliases.py)."""

from __future__ import annotations

import email
import email.policy
import gzip
import hashlib
import hmac
import html
import json
import secrets
import subprocess
import threading
from collections.abc import Iterator
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from warcio.archiveiterator import ArchiveIterator

from collector.browser import AliasSession, capture
from collector.evidence.model import BrowserSettings, CaptureRecord
from collector.policy.aliases import load_profile
from fixtures.server import LOGIN_WALL_MARKER, FixtureServer

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
