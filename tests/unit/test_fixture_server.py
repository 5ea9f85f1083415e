"""The fixture site server: routes, encodings, TLS chain, path safety and shutdown (no browser)."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import http.client
import ipaddress
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from fixtures.server import (
    DEFAULT_SITE_DIR,
    THREAD_STATUS_ID,
    FixtureServer,
    reply_marker,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
SITE = DEFAULT_SITE_DIR


@pytest.fixture(scope="module")
def fx() -> Iterator[FixtureServer]:
    with FixtureServer() as server:
        yield server


def get(
    fx: FixtureServer, path: str, method: str = "GET", headers: dict[str, str] | None = None
) -> tuple[http.client.HTTPResponse, bytes]:
    """One raw request (no redirect following, no decoding) to the HTTP server."""
    conn = http.client.HTTPConnection("127.0.0.1", fx.http_port, timeout=5)
    try:
        conn.request(method, path, headers=headers or {})
        resp = conn.getresponse()
        return resp, resp.read()
    finally:
        conn.close()


# --------------------------------------------------------------------------- routes


def test_short_link_redirects_302_then_301_to_the_status(fx: FixtureServer) -> None:
    first, _ = get(fx, "/s/abc123")
    assert first.status == 302
    assert first.getheader("Location") == "/go/abc123"
    second, _ = get(fx, "/go/abc123")
    assert second.status == 301
    assert second.getheader("Location") == "/mastodon/status.html"

    with urllib.request.urlopen(fx.http_url("/s/abc123"), timeout=5) as final:
        assert final.status == 200
        assert final.geturl() == fx.http_url("/mastodon/status.html")
        assert b"Alice Example" in final.read()


def test_deleted_status_is_a_404_platform_page(fx: FixtureServer) -> None:
    resp, body = get(fx, "/deleted/status/999")
    assert resp.status == 404
    assert resp.getheader("Content-Type") == "text/html; charset=utf-8"
    assert "This post has been deleted" in body.decode()


def test_unknown_path_is_404(fx: FixtureServer) -> None:
    resp, body = get(fx, "/no/such/page.html")
    assert resp.status == 404
    assert b"isn't here" in body


@pytest.mark.parametrize(
    ("path", "marker"),
    [
        ("/", "/mastodon/status.html"),
        ("/login-wall.html", "Log in to see this post"),
        ("/never-settles.html", 'src="/hang?img=1"'),
        ("/popups.html", 'href="/download/report.bin" download'),
        ("/popup-target.html", "opened by the page"),
        ("/multilingual.html", 'dir="rtl"'),
        ("/tall.html", "END OF TALL PAGE"),
        ("/secure/status.html", "@bob@secure.example"),
    ],
)
def test_pages_are_served_with_their_content(fx: FixtureServer, path: str, marker: str) -> None:
    resp, body = get(fx, path)
    assert resp.status == 200
    assert marker in body.decode()


def test_status_page_has_post_metadata_and_no_replies_in_html(fx: FixtureServer) -> None:
    resp, body = get(fx, "/mastodon/status.html")
    html = body.decode()
    assert resp.status == 200
    for needle in (
        "Alice Example",
        "@alice@social.example",
        THREAD_STATUS_ID,
        '<time datetime="2026-11-20T14:03:00Z"',
        'src="/media/photo1.png"',
        '<meta property="og:title"',
        "evidence",
    ):
        assert needle in html
    ld_text = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    assert ld_text is not None
    ld = json.loads(ld_text.group(1))
    assert ld["identifier"] == THREAD_STATUS_ID
    assert ld["author"]["name"] == "Alice Example"
    assert "reply-1 of 40" not in html  # replies only arrive through the lazy API


def test_context_api_pages_hold_40_distinct_replies(fx: FixtureServer) -> None:
    ids: set[str] = set()
    contents: list[str] = []
    for page in range(1, 5):
        started = time.monotonic()
        resp, body = get(fx, f"/api/v1/statuses/{THREAD_STATUS_ID}/context?page={page}")
        elapsed = time.monotonic() - started
        assert resp.status == 200
        assert resp.getheader("Content-Type") == "application/json"
        assert elapsed >= 0.09  # the simulated API latency
        data = json.loads(body)
        replies = data["descendants"]
        assert len(replies) == 10
        for item in replies:
            assert {"id", "author", "handle", "created_at", "content", "avatar"} <= item.keys()
            assert re.fullmatch(r"/media/avatar-[1-5]\.png", item["avatar"])
            ids.add(item["id"])
            contents.append(item["content"])
        assert (data["next"] is None) == (page == 4)
    assert len(ids) == 40
    for n in range(1, 41):
        assert sum(reply_marker(n) in c for c in contents) == 1, reply_marker(n)


@pytest.mark.parametrize("query", ["page=0", "page=5", "page=x"])
def test_context_api_rejects_pages_out_of_range(fx: FixtureServer, query: str) -> None:
    resp, _ = get(fx, f"/api/v1/statuses/{THREAD_STATUS_ID}/context?{query}")
    assert resp.status == 404


def test_tick_returns_small_json(fx: FixtureServer) -> None:
    resp, body = get(fx, "/tick?n=7")
    assert resp.status == 200
    assert json.loads(body)["n"] == 7


def test_download_is_an_attachment(fx: FixtureServer) -> None:
    resp, body = get(fx, "/download/report.bin", headers={"Accept-Encoding": "gzip"})
    assert resp.status == 200
    assert resp.getheader("Content-Type") == "application/octet-stream"
    assert resp.getheader("Content-Disposition") == 'attachment; filename="report.bin"'
    assert resp.getheader("Content-Encoding") is None
    assert body == (SITE / "download" / "report.bin").read_bytes()
    assert 1024 <= len(body) <= 10240


def test_host_http_url_reaches_the_same_server_as_localhost(fx: FixtureServer) -> None:
    url = fx.host_http_url("localhost", "/secure/status.html")
    assert url == f"http://localhost:{fx.http_port}/secure/status.html"
    with urllib.request.urlopen(url, timeout=5) as resp:
        assert b"Bob Builder" in resp.read()


# --------------------------------------------------------------------------- headers, encodings


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/mastodon/status.html", "text/html; charset=utf-8"),
        ("/assets/social.css", "text/css; charset=utf-8"),
        ("/assets/thread.js", "application/javascript; charset=utf-8"),
        ("/media/avatar-1.png", "image/png"),
        ("/tick", "application/json"),
    ],
)
def test_content_types(fx: FixtureServer, path: str, content_type: str) -> None:
    resp, _ = get(fx, path)
    assert resp.getheader("Content-Type") == content_type


@pytest.mark.parametrize(
    "path", ["/mastodon/status.html", "/assets/social.css", "/assets/thread.js"]
)
def test_text_is_gzipped_only_when_asked_and_decodes_to_the_file(
    fx: FixtureServer, path: str
) -> None:
    original = (SITE / path.lstrip("/")).read_bytes()

    resp, raw = get(fx, path, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert resp.getheader("Content-Encoding") == "gzip"
    assert resp.getheader("Vary") == "Accept-Encoding"
    assert int(resp.getheader("Content-Length") or -1) == len(raw)
    assert raw != original
    assert gzip.decompress(raw) == original

    plain, body = get(fx, path)
    assert plain.getheader("Content-Encoding") is None
    assert int(plain.getheader("Content-Length") or -1) == len(original)
    assert body == original

    refused, body = get(fx, path, headers={"Accept-Encoding": "gzip;q=0, identity"})
    assert refused.getheader("Content-Encoding") is None
    assert body == original


def test_images_are_never_gzipped(fx: FixtureServer) -> None:
    resp, body = get(fx, "/media/photo1.png", headers={"Accept-Encoding": "gzip"})
    assert resp.getheader("Content-Encoding") is None
    assert body == (SITE / "media" / "photo1.png").read_bytes()
    assert body.startswith(b"\x89PNG\r\n\x1a\n")


def test_html_responses_carry_realistic_headers(fx: FixtureServer) -> None:
    resp, _ = get(fx, "/mastodon/status.html")
    assert resp.version == 11
    assert resp.getheader("Server") == "fixture"
    assert resp.getheader("Date")
    assert resp.getheader("Cache-Control") == "no-store"
    cookie = resp.getheader("Set-Cookie") or ""
    assert cookie.startswith("session=")
    assert "HttpOnly" in cookie
    css, _ = get(fx, "/assets/social.css")
    assert css.getheader("Set-Cookie") is None


def test_head_gives_headers_without_body(fx: FixtureServer) -> None:
    size = (SITE / "mastodon" / "status.html").stat().st_size
    resp, body = get(fx, "/mastodon/status.html", method="HEAD")
    assert resp.status == 200
    assert body == b""
    assert int(resp.getheader("Content-Length") or -1) == size


def test_keep_alive_serves_several_requests_on_one_connection(fx: FixtureServer) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", fx.http_port, timeout=5)
    try:
        for path in ("/assets/social.css", "/media/avatar-2.png", "/tick?n=1"):
            conn.request("GET", path)
            resp = conn.getresponse()
            resp.read()
            assert resp.status == 200
            assert not resp.will_close
    finally:
        conn.close()


def test_requests_are_logged_in_order_with_method_and_path() -> None:
    with FixtureServer() as fresh:
        get(fresh, "/s/abc123")
        get(fresh, "/tick?n=2", method="HEAD")
        assert fresh.requests == [("GET", "/s/abc123"), ("HEAD", "/tick?n=2")]


# --------------------------------------------------------------------------- path safety


@pytest.mark.parametrize(
    "path",
    [
        "/../server.py",
        "/%2e%2e/server.py",
        "/media/../../server.py",
        "/media/%2E%2E/%2E%2E/server.py",
        "/..%2fserver.py",
        "/../../../../etc/passwd",
        "/_errors/deleted.html",
        "/media/%00photo1.png",
    ],
)
def test_paths_outside_the_site_are_404(fx: FixtureServer, path: str) -> None:
    resp, body = get(fx, path)
    assert resp.status == 404
    assert b"FixtureServer" not in body
    assert b"root:" not in body


def test_symlink_out_of_a_custom_site_is_404(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "ok.txt").write_text("inside")
    secret = tmp_path / "secret.txt"
    secret.write_text("outside")
    (site / "leak.txt").symlink_to(secret)
    with FixtureServer(site) as custom:
        ok, body = get(custom, "/ok.txt")
        assert (ok.status, body) == (200, b"inside")
        leak, body = get(custom, "/leak.txt")
        assert leak.status == 404
        assert b"outside" not in body


# --------------------------------------------------------------------------- TLS


def _server_certificates_tls12(port: int) -> list[bytes]:
    """DER certificates the server sends, read from a TLS 1.2 handshake (sent in clear)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(incoming, outgoing, server_hostname="127.0.0.1")
    received = b""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                sock.sendall(outgoing.read())
                chunk = sock.recv(65536)
                assert chunk, "server closed during handshake"
                received += chunk
                incoming.write(chunk)
        sock.sendall(outgoing.read())
    handshake = b""
    pos = 0
    while pos + 5 <= len(received):
        rtype, length = received[pos], int.from_bytes(received[pos + 3 : pos + 5], "big")
        if rtype == 22:
            handshake += received[pos + 5 : pos + 5 + length]
        pos += 5 + length
    pos = 0
    while pos + 4 <= len(handshake):
        mtype, mlen = handshake[pos], int.from_bytes(handshake[pos + 1 : pos + 4], "big")
        body = handshake[pos + 4 : pos + 4 + mlen]
        if mtype == 11:  # Certificate
            certs, cpos, end = [], 3, 3 + int.from_bytes(body[:3], "big")
            while cpos < end:
                clen = int.from_bytes(body[cpos : cpos + 3], "big")
                certs.append(body[cpos + 3 : cpos + 3 + clen])
                cpos += 3 + clen
            return certs
        pos += 4 + mlen
    raise AssertionError("no Certificate message in the handshake")


def test_https_presents_leaf_and_ca_that_verify_against_the_test_ca(fx: FixtureServer) -> None:
    ctx = ssl.create_default_context(cafile=str(fx.ca_cert_path))
    with (
        socket.create_connection(("127.0.0.1", fx.https_port), timeout=5) as raw,
        ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        leaf_der = tls.getpeercert(binary_form=True)
    assert leaf_der is not None
    assert hashlib.sha256(leaf_der).hexdigest() == fx.leaf_sha256

    chain = _server_certificates_tls12(fx.https_port)
    assert [hashlib.sha256(c).hexdigest() for c in chain] == [fx.leaf_sha256, fx.ca_sha256]

    ca_pem = fx.ca_cert_path.read_bytes()
    assert hashlib.sha256(ssl.PEM_cert_to_DER_cert(ca_pem.decode())).hexdigest() == fx.ca_sha256
    assert re.fullmatch(r"[0-9a-f]{64}", fx.ca_sha256)


def test_https_serves_pages_to_a_client_trusting_the_ca(fx: FixtureServer) -> None:
    ctx = ssl.create_default_context(cafile=str(fx.ca_cert_path))
    for url in (fx.https_url("/secure/status.html"), fx.host_https_url("localhost", "/")):
        with urllib.request.urlopen(url, timeout=5, context=ctx) as resp:
            assert resp.status == 200
    with pytest.raises(urllib.error.URLError) as info:
        urllib.request.urlopen(fx.https_url("/"), timeout=5, context=ssl.create_default_context())
    assert isinstance(info.value.reason, ssl.SSLCertVerificationError)


def test_certificates_have_the_required_extensions(fx: FixtureServer) -> None:
    ca = x509.load_pem_x509_certificate(fx.ca_cert_path.read_bytes())
    assert ca.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == (
        "Collector Test Root CA"
    )
    bc = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical and bc.value.ca
    ku = ca.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.key_cert_sign and ku.crl_sign

    leaf_der = ssl.PEM_cert_to_DER_cert(
        ssl.get_server_certificate(("127.0.0.1", fx.https_port), timeout=5)
    )
    leaf = x509.load_der_x509_certificate(leaf_der)
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert ipaddress.ip_address("127.0.0.1") in san.get_values_for_type(x509.IPAddress)
    assert "localhost" in san.get_values_for_type(x509.DNSName)
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.SERVER_AUTH in list(eku)
    now = dt.datetime.now(dt.UTC)
    assert now - dt.timedelta(days=1, minutes=5) <= leaf.not_valid_before_utc < now
    assert leaf.not_valid_after_utc - leaf.not_valid_before_utc == dt.timedelta(days=30)
    assert leaf.issuer == ca.subject


# --------------------------------------------------------------------------- lifecycle


def test_stop_returns_and_closes_a_hanging_request() -> None:
    server = FixtureServer()
    outcome: list[object] = []

    def hang() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.http_port, timeout=10)
        try:
            conn.request("GET", "/hang")
            outcome.append(conn.getresponse().status)
        except (OSError, http.client.HTTPException) as exc:
            outcome.append(exc)
        finally:
            conn.close()

    client = threading.Thread(target=hang, daemon=True)
    client.start()
    deadline = time.monotonic() + 5
    while ("GET", "/hang") not in server.requests and time.monotonic() < deadline:
        time.sleep(0.02)
    assert ("GET", "/hang") in server.requests
    time.sleep(0.5)
    assert outcome == []  # still no answer: the request really hangs

    server.stop()  # returns although a request is still open
    client.join(timeout=30)
    assert not client.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], Exception)  # closed, never answered
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.http_port), timeout=1).close()
    assert not server.ca_cert_path.exists()


def test_module_entry_point_prints_urls_and_exits_on_sigterm() -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "fixtures.server"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        assert info["http"].startswith("http://127.0.0.1:")
        assert info["https"].startswith("https://127.0.0.1:")
        assert Path(info["ca_cert"]).is_file()
        with urllib.request.urlopen(info["http"] + "/mastodon/status.html", timeout=5) as resp:
            assert resp.status == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
        assert not Path(info["ca_cert"]).exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# --------------------------------------------------------------------------- the site itself


def test_site_references_no_other_host() -> None:
    allowed = {"https://schema.org", "http://www.w3.org"}  # identifiers, never fetched
    found: set[str] = set()
    for file in SITE.rglob("*"):
        if file.suffix in {".html", ".css", ".js", ".svg", ".json"}:
            text = file.read_text(encoding="utf-8")
            found |= {m.group(0) for m in re.finditer(r"(?:[a-z]+:)?//[\w.-]+\.[a-z]{2,}", text)}
    unexpected = {url for url in found if not any(url.startswith(a) for a in allowed)}
    assert unexpected == set()


def test_media_are_small_real_pngs() -> None:
    names = [f"avatar-{k}.png" for k in range(1, 6)] + ["photo1.png"]
    for name in names:
        data = (SITE / "media" / name).read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n"), name
        assert len(data) < 5000, name
