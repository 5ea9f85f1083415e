"""The capture browser against the fixture site: real Chromium, real sockets, real validators.

Each test makes its own capture (a fresh browser and context); the short-link capture is
shared read-only by the tests that only inspect its record and files.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageChops
from playwright.sync_api import sync_playwright
from warcio.archiveiterator import ArchiveIterator

from collector.browser import ARTIFACTS, TESTED_CHROMIUM_MAJORS, capture, chromium_version_warning
from collector.browser.launch import FEATURES_SWITCH
from collector.browser.warc import reconcile_response_headers
from collector.errors import CaptureFailed, NavigationRefused
from collector.evidence.model import BrowserSettings, CaptureRecord, StepStatus
from fixtures.server import (
    DELETED_MARKER,
    LOGIN_WALL_MARKER,
    TALL_END_MARKER,
    TALL_PAGE_HEIGHT,
    THREAD_PAGES,
    THREAD_TOTAL,
    FixtureServer,
    reply_marker,
)

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
WARCIO = REPO / ".venv" / "bin" / "warcio"
CHROMIUM = (
    "/usr/lib/chromium/chromium"
    if Path("/usr/lib/chromium/chromium").exists()
    else "/usr/bin/chromium"
)
HERMETIC = "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"
POST_TEXT = "Found this bike dumped on the river trail again this morning."
STEP_ORDER = [
    "egress",
    "launch",
    "context",
    "navigate",
    "response-body",
    "settle",
    "consent",
    "expand",
    "scroll",
    "media-state",
    "screenshot",
    "dom",
    "post",
    "media",
    "mhtml",
    "tls",
    "environment",
    "warc",
    "close",
]


def settings(**overrides: Any) -> BrowserSettings:
    """Short limits for tests; loopback allowed (the fixture site lives on 127.0.0.1)."""
    values: dict[str, Any] = {
        "executable_path": CHROMIUM,
        "navigation_timeout_s": 10.0,
        "settle_timeout_s": 1.5,
        "scroll_max_time_s": 8.0,
        "scroll_idle_ms": 400,
        "total_timeout_s": 40.0,
        "block_private_network": False,
        "host_resolver_rules": HERMETIC,
    }
    values.update(overrides)
    return BrowserSettings(**values)


def timed_capture(url: str, workdir: Path, **overrides: Any) -> tuple[CaptureRecord, float]:
    start = time.monotonic()
    record = capture(url, settings(**overrides), workdir)
    return record, time.monotonic() - start


def warc_records(path: Path) -> list[dict[str, Any]]:
    """Every record: type, URI, WARC headers, HTTP status/headers and the payload bytes."""
    out: list[dict[str, Any]] = []
    with path.open("rb") as handle:
        for rec in ArchiveIterator(handle):
            http = rec.http_headers
            out.append(
                {
                    "type": rec.rec_type,
                    "uri": rec.rec_headers.get_header("WARC-Target-URI"),
                    "warc": dict(rec.rec_headers.headers),
                    "status": http.get_statuscode()
                    if http and rec.rec_type == "response"
                    else None,
                    "headers": list(http.headers) if http else [],
                    "body": rec.content_stream().read(),
                }
            )
    return out


def header(headers: list[tuple[str, str]], name: str) -> str | None:
    return next((v for k, v in headers if k.lower() == name.lower()), None)


def step(record: CaptureRecord, name: str) -> Any:
    return next(s for s in record.steps if s.name == name)


def assert_artifacts(record: CaptureRecord, workdir: Path) -> None:
    """The five page artifacts, plus only the post's media files, and nothing left over."""
    base, extra = record.artifacts[: len(ARTIFACTS)], record.artifacts[len(ARTIFACTS) :]
    assert base == list(ARTIFACTS)
    assert all(name.startswith("media/") for name in extra), extra
    top = {p.name for p in workdir.iterdir()}
    assert top == set(ARTIFACTS) | ({"media"} if extra else set())
    for name in record.artifacts:
        assert (workdir / name).stat().st_size > 0, name
    if extra:
        assert sorted(str(p.relative_to(workdir)) for p in (workdir / "media").iterdir()) == sorted(extra)


# ------------------------------------------------------------------ short link → lazy thread


@pytest.fixture(scope="module")
def thread(site: FixtureServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One capture of the short link /s/abc123 (302 → 301 → the lazily loaded thread)."""
    workdir = tmp_path_factory.mktemp("thread")
    record, seconds = timed_capture(site.http_url("/s/abc123"), workdir)
    return {
        "record": record,
        "dir": workdir,
        "seconds": seconds,
        "warc": warc_records(workdir / "traffic.warc.gz"),
    }


def test_redirect_chain_and_final_url(thread: dict[str, Any], site: FixtureServer) -> None:
    record: CaptureRecord = thread["record"]
    assert record.requested_url == site.http_url("/s/abc123")
    assert record.final_url == site.http_url("/mastodon/status.html")
    assert record.status == 200
    assert [hop.status for hop in record.redirects] == [302, 301]
    assert [hop.url for hop in record.redirects] == [
        site.http_url("/s/abc123"),
        site.http_url("/go/abc123"),
    ]
    assert [hop.location for hop in record.redirects] == ["/go/abc123", "/mastodon/status.html"]
    # The redirects are in the WARC too, with empty bodies and an honest Content-Length.
    responses = [r for r in thread["warc"] if r["type"] == "response"]
    assert [r["status"] for r in responses[:3]] == ["302", "301", "200"]
    for hop in responses[:2]:
        assert hop["body"] == b""
        assert header(hop["headers"], "Content-Length") == "0"
        assert header(hop["headers"], "Location") is not None
    assert any(
        w.url == site.http_url("/s/abc123")
        and w.header == "Content-Length"
        and "redirect" in w.reason
        for w in record.warc_rewrites
    )


def test_lazy_thread_fully_loaded_by_scrolling(thread: dict[str, Any]) -> None:
    record: CaptureRecord = thread["record"]
    dom = (thread["dir"] / "page.html").read_text(encoding="utf-8")
    assert POST_TEXT in dom
    missing = [n for n in range(1, THREAD_TOTAL + 1) if reply_marker(n) not in dom]
    assert missing == []
    # The raw server HTML has no replies at all: they came from scrolling.
    raw = (thread["dir"] / "response.html").read_bytes()
    assert POST_TEXT.encode() in raw and reply_marker(1).encode() not in raw
    scrolls = [c for c in record.changes if c.kind == "scroll"]
    assert len(scrolls) >= THREAD_PAGES  # one batch per growth, plus the return to the top
    assert "back to the top" in scrolls[-1].detail
    assert step(record, "scroll").status == StepStatus.ok
    assert record.page_height > 3000


def test_warc_holds_all_traffic_and_passes_warcio(
    thread: dict[str, Any], site: FixtureServer
) -> None:
    record: CaptureRecord = thread["record"]
    warc_path = thread["dir"] / "traffic.warc.gz"
    check = subprocess.run([WARCIO, "check", "-v", warc_path], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    index = subprocess.run([WARCIO, "index", warc_path], capture_output=True, text=True)
    assert index.returncode == 0 and index.stdout.count("\n") == len(thread["warc"])

    records = thread["warc"]
    assert records[0]["type"] == "warcinfo"
    info = records[0]["body"].decode()
    assert "software: collector " in info and record.browser.version in info
    assert info.count("header-rewrite: ") == len(record.warc_rewrites) > 0
    pairs = records[1:]
    assert len(pairs) == 2 * record.network.responses == record.network.warc_records - 1
    by_id = {r["warc"]["WARC-Record-ID"]: r for r in pairs}
    for rec in pairs:
        assert rec["warc"]["WARC-IP-Address"] == "127.0.0.1"
        assert rec["warc"]["WARC-Date"].endswith("Z")
        if rec["type"] == "request":
            partner = by_id[rec["warc"]["WARC-Concurrent-To"]]
            assert partner["type"] == "response" and partner["uri"] == rec["uri"]
            assert header(rec["headers"], "User-Agent") == record.browser.user_agent

    # The four lazily fetched context pages, in the order the page asked for them.
    api = [r for r in pairs if r["type"] == "response" and "/context?page=" in r["uri"]]
    assert [r["uri"].rsplit("=", 1)[1] for r in api] == ["1", "2", "3", "4"]
    for n, rec in enumerate(api, start=1):
        data = json.loads(rec["body"])
        assert data["page"] == n and len(data["descendants"]) == 10
    # Every subresource is there: stylesheet, script, images.
    uris = {r["uri"] for r in pairs}
    for path in ("/assets/social.css", "/assets/thread.js", "/media/photo1.png"):
        assert site.http_url(path) in uris


def test_gzip_bodies_stored_decoded_and_rewrite_recorded(
    thread: dict[str, Any], site: FixtureServer
) -> None:
    record: CaptureRecord = thread["record"]
    main_url = site.http_url("/mastodon/status.html")
    main = next(r for r in thread["warc"] if r["type"] == "response" and r["uri"] == main_url)
    raw = (thread["dir"] / "response.html").read_bytes()
    assert main["body"] == raw  # response.html is the main document as received, decoded
    assert header(main["headers"], "Content-Encoding") is None
    assert header(main["headers"], "X-Archive-Orig-Content-Encoding") == "gzip"
    assert header(main["headers"], "Content-Length") == str(len(raw))
    wire_length = int(header(main["headers"], "X-Archive-Orig-Content-Length") or 0)
    assert 0 < wire_length < len(raw)  # gzip on the wire was smaller
    rewrites = {(w.header, w.original) for w in record.warc_rewrites if w.url == main_url}
    assert ("Content-Encoding", "gzip") in rewrites
    assert ("Content-Length", str(wire_length)) in rewrites


def test_record_describes_browser_and_request(thread: dict[str, Any], site: FixtureServer) -> None:
    record: CaptureRecord = thread["record"]
    assert [s.name for s in record.steps] == STEP_ORDER
    for s in record.steps:
        assert s.started_at.tzinfo is not None and s.started_at <= s.ended_at
    assert record.started_at.tzinfo == UTC and record.started_at < record.ended_at
    browser = record.browser
    installed = re.search(r"\d+(\.\d+){3}", subprocess.run(
        [CHROMIUM, "--version"], capture_output=True, text=True, check=True).stdout)  # fmt: skip
    assert installed is not None
    assert browser.name == "chromium" and browser.version == installed.group(0)
    assert browser.executable_path == CHROMIUM and browser.headless
    major = installed.group(0).split(".")[0]
    assert f"HeadlessChrome/{major}" in browser.user_agent and not browser.user_agent_overridden
    assert (
        header([(h.name, h.value) for h in record.request_headers], "User-Agent")
        == browser.user_agent
    )
    assert browser.navigator_webdriver is True
    assert {h.name.lower() for h in browser.client_hints} >= {"sec-ch-ua", "sec-ch-ua-mobile"}
    assert "--disable-quic" in browser.launch_args
    assert f"--host-resolver-rules={HERMETIC}" in browser.launch_args
    assert "--headless" in browser.launch_args  # read back from the real process
    # Playwright's own --disable-features was left out: the one switch carries its list and ours.
    assert [a for a in browser.launch_args if a.startswith("--disable-features=")] == [
        FEATURES_SWITCH
    ]
    assert "WARNING" not in step(record, "launch").detail
    assert record.server is not None and record.server.ip == "127.0.0.1"
    assert record.server.port == site.http_port
    assert record.egress.local_address == "127.0.0.1" and record.egress.method == "udp-route-probe"
    assert record.tls is None and step(record, "tls").status == StepStatus.skipped
    assert record.viewport == {"width": 1280, "height": 900}
    assert record.title.startswith("Alice Example")
    names = [h.name.lower() for h in record.response_headers]
    assert "content-encoding" in names and "set-cookie" in names  # as received, not rewritten
    assert "private networks allowed by this store" in step(record, "egress").detail
    assert record.network.blocked == 0 and record.network.bodies_unavailable == 0
    assert_artifacts(record, thread["dir"])
    mhtml = (thread["dir"] / "page.mhtml").read_bytes()
    assert mhtml.startswith(b"From: <Saved by Blink>") and b"multipart/related" in mhtml


# ------------------------------------------------------------------ other fixture routes


def test_404_is_captured_not_failed(site: FixtureServer, tmp_path: Path) -> None:
    record, _ = timed_capture(site.http_url("/deleted/status/999"), tmp_path)
    assert record.status == 404
    assert DELETED_MARKER in (tmp_path / "page.html").read_text(encoding="utf-8")
    assert all(s.status != StepStatus.failed for s in record.steps)
    assert_artifacts(record, tmp_path)


def test_login_wall_is_captured(site: FixtureServer, tmp_path: Path) -> None:
    record, _ = timed_capture(site.http_url("/login-wall.html"), tmp_path)
    assert record.status == 200
    assert LOGIN_WALL_MARKER in (tmp_path / "page.html").read_text(encoding="utf-8")
    assert_artifacts(record, tmp_path)


def test_never_settling_page_finishes_within_its_limits(
    site: FixtureServer, tmp_path: Path
) -> None:
    limits = {"navigation_timeout_s": 3.0, "settle_timeout_s": 1.0, "scroll_max_time_s": 2.0}
    record, seconds = timed_capture(site.http_url("/never-settles.html"), tmp_path, **limits)
    # navigation + settle + scroll (+ image bound, screenshot, WARC, browser start and stop)
    assert seconds < sum(limits.values()) + 7.0, seconds
    assert step(record, "navigate").status == StepStatus.timeout
    assert step(record, "settle").status == StepStatus.timeout
    assert [c.kind for c in record.changes].count("navigation-timeout") == 1
    assert record.status == 200
    assert "/hang?img=1" in step(record, "scroll").detail  # the image that never loads is named
    ticks = [
        r
        for r in warc_records(tmp_path / "traffic.warc.gz")
        if r["type"] == "response" and "/tick?n=" in r["uri"]
    ]
    assert len(ticks) >= 5  # traffic kept being recorded while the page ran
    assert_artifacts(record, tmp_path)


def test_popups_dialogs_and_downloads_are_handled(site: FixtureServer, tmp_path: Path) -> None:
    record, _ = timed_capture(site.http_url("/popups.html"), tmp_path)
    kinds = [c.kind for c in record.changes]
    assert kinds.count("dialog-dismissed") == 2
    dialogs = [c.detail for c in record.changes if c.kind == "dialog-dismissed"]
    assert dialogs[0].startswith("alert:") and "Turn on notifications" in dialogs[0]
    assert dialogs[1].startswith("confirm:") and "Allow social.example" in dialogs[1]
    popups = [c.detail for c in record.changes if c.kind == "popup-closed"]
    assert len(popups) == 1 and site.http_url("/popup-target.html") in popups[0]
    downloads = [c.detail for c in record.changes if c.kind == "download-blocked"]
    assert len(downloads) == 1
    assert site.http_url("/download/report.bin") in downloads[0] and "'report.bin'" in downloads[0]
    # The page itself saw the confirm dismissed (false) and nothing was saved anywhere we own.
    assert "confirm: false" in (tmp_path / "page.html").read_text(encoding="utf-8")
    assert_artifacts(record, tmp_path)
    assert not list(tmp_path.rglob("report.bin"))
    # The popup's traffic is recorded before it is closed.
    target = next(
        r
        for r in warc_records(tmp_path / "traffic.warc.gz")
        if r["type"] == "response" and r["uri"] == site.http_url("/popup-target.html")
    )
    assert b"Get the social.example app" in target["body"]


def test_tall_page_screenshot_is_whole(site: FixtureServer, tmp_path: Path) -> None:
    record, _ = timed_capture(site.http_url("/tall.html"), tmp_path)
    assert record.page_height == TALL_PAGE_HEIGHT and record.page_width == 1280
    Image.MAX_IMAGE_PIXELS = None
    with Image.open(tmp_path / "screenshot.png") as image:
        assert image.size == (1280, TALL_PAGE_HEIGHT)
        bottom = image.crop((0, TALL_PAGE_HEIGHT - 400, 1280, TALL_PAGE_HEIGHT)).convert("L")
        lo, hi = bottom.getextrema()
        assert hi - lo > 50  # the bottom of the page was rendered, not left blank
    assert TALL_END_MARKER in (tmp_path / "page.html").read_text(encoding="utf-8")
    shot = step(record, "screenshot")
    assert f"1280x{TALL_PAGE_HEIGHT} px PNG" in shot.detail


def test_very_tall_page_in_slices_is_the_full_page_screenshot(
    site: FixtureServer, tmp_path: Path
) -> None:
    """A page taken in slices gives the same pixels as one full-page screenshot of it."""
    url = site.http_url("/tall-thread?px=40000")
    record, _ = timed_capture(url, tmp_path / "capture")
    shot = step(record, "screenshot")
    assert "taken in 10 slices of at most 4096 rows" in shot.detail
    assert "1280x40000 px PNG" in shot.detail
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(url)
        page.screenshot(path=str(tmp_path / "whole.png"), full_page=True)
        browser.close()
    Image.MAX_IMAGE_PIXELS = None
    with (
        Image.open(tmp_path / "capture" / "screenshot.png") as sliced,
        Image.open(tmp_path / "whole.png") as whole,
    ):
        assert sliced.size == whole.size == (1280, 40_000)
        assert ImageChops.difference(sliced.convert("RGB"), whole.convert("RGB")).getbbox() is None


def test_https_with_extra_ca_and_certificate_chain(site: FixtureServer, tmp_path: Path) -> None:
    record, _ = timed_capture(
        site.https_url("/secure/status.html"), tmp_path, extra_ca_certs=[str(site.ca_cert_path)]
    )
    assert record.status == 200 and record.final_url.startswith("https://")
    tls = record.tls
    assert tls is not None and tls.chain_error is None
    assert tls.protocol and tls.protocol.startswith("TLS")
    assert tls.valid_from is not None and tls.valid_to is not None and tls.valid_from < tls.valid_to
    assert tls.chain[0].sha256_fingerprint == site.leaf_sha256
    assert site.ca_sha256 in [c.sha256_fingerprint for c in tls.chain]
    assert tls.chain[0].issuer == tls.chain[-1].subject
    assert "ignore_https_errors=False" in step(record, "launch").detail
    assert "trusted extra CA" in step(record, "launch").detail
    assert record.server is not None and record.server.port == site.https_port


def test_https_without_the_ca_fails_closed(site: FixtureServer, tmp_path: Path) -> None:
    with pytest.raises(CaptureFailed, match="ERR_CERT_AUTHORITY_INVALID"):
        capture(site.https_url("/secure/status.html"), settings(total_timeout_s=15.0), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_settings_reach_the_browser(site: FixtureServer, tmp_path: Path) -> None:
    record, _ = timed_capture(
        site.http_url("/multilingual.html"),
        tmp_path,
        user_agent="CollectorTest/1.0",
        device_scale_factor=2.0,
        viewport_width=1000,
        viewport_height=700,
        locale="de-DE",
        timezone_id="Europe/Berlin",
    )
    assert record.browser.user_agent == "CollectorTest/1.0" and record.browser.user_agent_overridden
    sent = {h.name.lower(): h.value for h in record.request_headers}
    assert sent["user-agent"] == "CollectorTest/1.0" and sent["accept-language"].startswith("de-DE")
    assert record.viewport == {"width": 1000, "height": 700}
    assert (record.locale, record.timezone_id) == ("de-DE", "Europe/Berlin")
    with Image.open(tmp_path / "screenshot.png") as image:
        assert image.size == (record.page_width * 2, record.page_height * 2)
    html = (tmp_path / "page.html").read_text(encoding="utf-8")
    assert record.title in html.replace("&quot;", '"') and not record.title.isascii()


# ------------------------------------------------------------------ a scripted server


class _Scripted(BaseHTTPRequestHandler):
    """Routes for behaviour the fixture site does not have: foreign hosts, stalled bodies."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        server: Any = self.server
        server.seen.append(self.path)
        if self.path == "/public.html":
            port = server.server_address[1]
            body = (
                f'<html><body><p id="t">public page</p>'
                f'<img src="http://localhost:{port}/pixel.png">'
                f'<script>fetch("http://127.0.0.1:{port}/secret").catch(() => {{}})</script>'
                "</body></html>"
            ).encode()
            self._send(body, "text/html")
        elif self.path == "/stall.html":
            body = (
                b"<html><body><p>stall</p>"
                b'<script>fetch("/stall").then(r => r.text())</script></body></html>'
            )
            self._send(body, "text/html")
        elif self.path == "/stall":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(b"partial body")
            self.wfile.flush()
            server.stop.wait(30)
            self.close_connection = True
        else:
            self._send(b"", "text/plain")

    def _send(self, body: bytes, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def scripted() -> Iterator[Any]:
    server: Any = ThreadingHTTPServer(("127.0.0.1", 0), _Scripted)
    server.daemon_threads = True
    server.seen = []
    server.stop = threading.Event()
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield server
    server.stop.set()
    server.shutdown()
    server.server_close()


def test_private_network_requests_are_blocked(scripted: Any, tmp_path: Path) -> None:
    port = scripted.server_address[1]
    record, _ = timed_capture(
        f"http://public.test:{port}/public.html",
        tmp_path,
        block_private_network=True,
        # one origin is let through the private-network rule; the page's requests to the same
        # server under other names (localhost, 127.0.0.1) are other origins and stay blocked
        allowed_hosts=[f"public.test:{port}"],
        host_resolver_rules=f"MAP public.test 127.0.0.1, {HERMETIC}",
    )
    assert record.status == 200
    assert scripted.seen[0] == "/public.html"
    assert "/pixel.png" not in scripted.seen and "/secret" not in scripted.seen
    blocked = [c.detail for c in record.changes if c.kind == "request-blocked"]
    assert any(f"http://localhost:{port}/pixel.png" in b and "loopback" in b for b in blocked)
    assert any(f"http://127.0.0.1:{port}/secret" in b and "loopback" in b for b in blocked)
    assert record.network.blocked >= 2
    assert f"allowed origins public.test:{port}" in step(record, "egress").detail
    assert record.server is not None and record.server.ip == "127.0.0.1"  # where it connected


def test_private_main_url_is_refused_when_blocking(site: FixtureServer, tmp_path: Path) -> None:
    before = len(site.requests)
    with pytest.raises(NavigationRefused, match="loopback address"):
        capture(site.http_url("/login-wall.html"), settings(block_private_network=True), tmp_path)
    assert len(site.requests) == before  # nothing reached the server
    assert list(tmp_path.iterdir()) == []


def test_stalled_body_is_recorded_unavailable_not_waited_for(scripted: Any, tmp_path: Path) -> None:
    port = scripted.server_address[1]
    record, _ = timed_capture(
        f"http://127.0.0.1:{port}/stall.html", tmp_path, settle_timeout_s=1.0, scroll_max_time_s=1.0
    )
    assert record.network.bodies_unavailable == 1
    unavailable = [c.detail for c in record.changes if c.kind == "body-unavailable"]
    assert len(unavailable) == 1 and f"127.0.0.1:{port}/stall" in unavailable[0]
    stalled = next(
        r
        for r in warc_records(tmp_path / "traffic.warc.gz")
        if r["type"] == "response" and r["uri"].endswith("/stall")
    )
    assert stalled["warc"]["WARC-Truncated"] == "time"
    assert stalled["body"] == b"" and header(stalled["headers"], "Content-Length") == "0"
    assert header(stalled["headers"], "X-Archive-Orig-Content-Length") == "100000"
    check = subprocess.run(
        [WARCIO, "check", tmp_path / "traffic.warc.gz"], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout


# ------------------------------------------------------------------ technical failures


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_name_that_does_not_resolve_is_refused_not_assumed_public(tmp_path: Path) -> None:
    with pytest.raises(NavigationRefused, match="does not resolve"):
        capture("http://no-such-host.invalid/", settings(), tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("refused", "connection refused"),
        ("no-browser", "browser executable not found"),
        ("not-a-browser", "browser failed to launch"),
    ],
)
def test_technical_failures_raise_capture_failed(case: str, message: str, tmp_path: Path) -> None:
    url = {
        "refused": f"http://127.0.0.1:{_closed_port()}/",
        "dns": "http://no-such-host.invalid/",
    }.get(case, "http://127.0.0.1:9/")
    executables = {"no-browser": "/nonexistent/chromium", "not-a-browser": "/bin/false"}
    overrides: dict[str, Any] = (
        {"executable_path": executables[case]} if case in executables else {}
    )
    with pytest.raises(CaptureFailed, match=message) as info:
        capture(url, settings(**overrides), tmp_path)
    assert "\n" not in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_total_time_limit_is_enforced(site: FixtureServer, tmp_path: Path) -> None:
    # the navigation may wait 30 s, but the page load gets only what is left of the total 4 s
    with pytest.raises(CaptureFailed, match=r"no response from .* within [0-3]\.\ds|total time limit of 4s"):
        capture(
            site.http_url("/hang"),
            settings(navigation_timeout_s=30.0, total_timeout_s=4.0),
            tmp_path,
        )
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ pure parts


def test_version_warning() -> None:
    low, high = TESTED_CHROMIUM_MAJORS
    assert chromium_version_warning(f"{low}.0.8078.79") is None
    assert "outside the tested" in (chromium_version_warning(f"{high + 1}.0.1.2") or "")
    assert "outside the tested" in (
        chromium_version_warning(f"HeadlessChrome/{low - 1}.0.0.0") or ""
    )
    assert chromium_version_warning("garbage") is not None


def test_header_reconciliation() -> None:
    result = reconcile_response_headers(
        "http://x/",
        [("Content-Encoding", "br"), ("Transfer-Encoding", "chunked"), ("Vary", "Accept-Encoding")],
        42,
    )
    headers = dict(result.headers)
    assert "Content-Encoding" not in headers and "Transfer-Encoding" not in headers
    assert headers["X-Archive-Orig-Content-Encoding"] == "br"
    assert headers["Content-Length"] == "42"
    assert {w.header for w in result.rewrites} == {
        "Content-Encoding",
        "Transfer-Encoding",
        "Content-Length",
    }
    untouched = reconcile_response_headers("http://x/", [("Content-Length", "42")], 42)
    assert untouched.rewrites == [] and untouched.headers == [("Content-Length", "42")]
