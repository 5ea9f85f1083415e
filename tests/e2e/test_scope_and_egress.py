"""The gate judges exactly what the browser fetches (real Chromium, real servers on 127.0.0.1).

A store whose policy lets exactly one origin through the private-network block
(`--allow-host 127.0.0.1:PORT`, not `--allow-private-network`) and an authorization scoped to
`http://127.0.0.1:PORT/@alice/*`. A scripted server records every request it receives, and a
second listener on other loopback addresses records every connection, so each test proves
what never arrived.
"""

from __future__ import annotations

import json
import shutil
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import configure
from tests.helpers import Cli, make_store

pytestmark = pytest.mark.e2e

HERMETIC = "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"


class Trap:
    """A TCP listener that only counts connections (on another port and other addresses)."""

    def __init__(self, host: str) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = int(self.sock.getsockname()[1])
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        server: Any = self.server
        server.seen.append(self.path)
        trap = server.trap_port
        pages = {
            "/@alice/post": "<title>Alice's post</title><p id='t'>alice's own post</p>",
            "/@alice/script-nav": "<p>here</p><script>addEventListener('load', () => "
            "setTimeout(() => { location = '/@mallory/x' }, 50))</script>",
            "/@alice/meta-refresh": "<meta http-equiv='refresh' content='0;url=/@mallory/meta'><p>here</p>",
            "/@alice/replace": "<p>post</p><script>history.replaceState(null, '', '/@mallory/status/1')</script>",
            "/@alice/private-subresources": (
                f"<p>page</p><img src='http://127.0.0.1:{trap}/pixel.png'>"
                f"<img src='http://localhost:{trap}/pixel.png'>"
                f"<iframe src='http://127.0.0.2:{trap}/frame'></iframe>"
                "<img src='/@alice/private-redirect'>"  # an in-scope image that redirects to 127.0.0.2
                f"<script>fetch('http://[::1]:{trap}/secret').catch(() => 0);"
                f"try {{ new WebSocket('ws://127.0.0.1:{trap}/socket') }} catch (e) {{}}"
                f"window.open('http://127.0.0.3:{trap}/popup')</script>"
            ),
            "/@alice/statuses/1": _foreign_status(),
        }
        redirects = {
            "/@alice/r1": "/@alice/r2",
            "/@alice/r2": "/@alice/post",
            "/@alice/out": "/@mallory/stolen",
            "/@alice/private-redirect": f"http://127.0.0.2:{trap}/internal",
            "/@alice/localhost-redirect": f"http://localhost:{trap}/internal",
            "/@alice/ipv6-redirect": f"http://[::1]:{trap}/internal",
        }
        if self.path in redirects:
            self.send_response(302)
            self.send_header("Location", redirects[self.path])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = f"<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>{pages.get(self.path, 'nothing here')}</body></html>"
        data = body.encode()
        self.send_response(200 if self.path in pages else 404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _foreign_status() -> str:
    """A status page under alice's path whose post is mallory's (as some platforms serve)."""
    posting = {
        "@context": "https://schema.org",
        "@type": "SocialMediaPosting",
        "identifier": "1",
        "datePublished": "2026-11-20T14:03:00Z",
        "articleBody": "Selling the bike, DM me.",
        "author": {"@type": "Person", "name": "Mallory", "alternateName": "@mallory@social.example"},
    }
    return (
        "<link rel='alternate' type='application/activity+json' href='/users/mallory/statuses/1'>"
        f"<script type='application/ld+json'>{json.dumps(posting)}</script><p>Selling the bike, DM me.</p>"
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    traps = {host: Trap(host) for host in ("127.0.0.1", "::1")}
    server: Any = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.seen = []
    server.trap_port = traps["127.0.0.1"].port
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    port = server.server_address[1]
    origin = f"http://127.0.0.1:{port}"
    template = make_store(
        tmp_path_factory.mktemp("scope-store"), allow_private=False, extra=["--allow-host", f"127.0.0.1:{port}"]
    )
    configure(template, navigation_timeout_s=15.0, settle_timeout_s=1.0, scroll_max_time_s=3.0,
              total_timeout_s=40.0, host_resolver_rules=HERMETIC)  # fmt: skip
    auth = template.approved([f"{origin}/@alice/*"])
    yield {"server": server, "origin": origin, "template": template, "auth": auth, "traps": traps}
    server.shutdown()
    server.server_close()
    for trap in traps.values():
        trap.close()


@pytest.fixture
def cli(world: dict[str, Any], tmp_path: Path) -> Cli:
    shutil.copytree(world["template"].store, tmp_path / "store")
    world["server"].seen.clear()
    return Cli(tmp_path / "store")


def capture(cli: Cli, world: dict[str, Any], path: str) -> Any:
    return cli.run("capture", world["origin"] + path, "--auth", world["auth"], "--json", as_user="alice")


def refusal(cli: Cli) -> dict[str, Any]:
    return [e for e in cli.events() if e["action"] == "capture.refused"][-1]


def trapped(world: dict[str, Any]) -> int:
    return sum(t.accepted for t in world["traps"].values())


@pytest.mark.parametrize(
    "path",
    ["/@alice/%2e%2e/@mallory", "/@alice/..%5C@mallory", "/@alice/%2E%2E/%2E%2E/admin",
     "/@alice/.%2e/@mallory", "/@alice%2F..%2F@mallory"],
)  # fmt: skip
def test_scope_bypass_forms_are_refused_and_nothing_is_requested(cli: Cli, world: dict[str, Any], path: str) -> None:
    result = capture(cli, world, path)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "outside every scope" in result.stderr
    assert world["server"].seen == [] and cli.bundles() == []
    assert refusal(cli)["details"]["code"] == "scope"


def test_backslash_form_is_refused(cli: Cli, world: dict[str, Any]) -> None:
    result = cli.run("capture", world["origin"] + "/@alice/..\\@mallory", "--auth", world["auth"], as_user="alice")
    assert result.returncode == 3 and world["server"].seen == []


def test_in_scope_redirect_chain_is_captured(cli: Cli, world: dict[str, Any]) -> None:
    result = capture(cli, world, "/@alice/r1")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["final_url"] == world["origin"] + "/@alice/post"
    assert world["server"].seen[:3] == ["/@alice/r1", "/@alice/r2", "/@alice/post"]
    meta = json.loads((Path(data["path"]) / "data" / "metadata.json").read_text())
    navigate = next(s for s in meta["capture"]["steps"] if s["name"] == "navigate")
    assert "3 main-frame document request(s) judged against the scope" in navigate["detail"]


def test_redirect_out_of_scope_refuses_and_the_hop_is_never_requested(cli: Cli, world: dict[str, Any]) -> None:
    result = capture(cli, world, "/@alice/out")
    assert result.returncode == 3, result.stdout + result.stderr
    assert "/@mallory/stolen" in result.stderr and "outside" in result.stderr
    assert world["server"].seen == ["/@alice/out"] and cli.bundles() == []
    row = refusal(cli)
    assert row["details"]["code"] == "navigation"
    assert "/@alice/out -> " in row["details"]["reason"] and "/@mallory/stolen" in row["details"]["reason"]
    assert list((cli.store / "work").iterdir()) == []


@pytest.mark.parametrize("path", ["/@alice/private-redirect", "/@alice/localhost-redirect", "/@alice/ipv6-redirect"])
def test_redirect_to_another_private_address_refuses_and_nothing_arrives(cli: Cli, world: dict[str, Any], path: str) -> None:
    before = trapped(world)
    result = capture(cli, world, path)
    assert result.returncode == 3, result.stdout + result.stderr
    assert cli.bundles() == [] and trapped(world) == before
    assert refusal(cli)["details"]["code"] == "navigation"


@pytest.mark.parametrize(("path", "stray"), [("/@alice/script-nav", "/@mallory/x"), ("/@alice/meta-refresh", "/@mallory/meta")])
def test_page_navigation_out_of_scope_is_blocked_and_the_page_kept(cli: Cli, world: dict[str, Any], path: str, stray: str) -> None:
    result = capture(cli, world, path)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["final_url"] == world["origin"] + path
    assert stray not in world["server"].seen
    meta = json.loads((Path(data["path"]) / "data" / "metadata.json").read_text())
    blocked = [c["detail"] for c in meta["capture"]["changes"] if c["kind"] == "navigation-blocked"]
    assert len(blocked) == 1 and stray in blocked[0]
    assert "here" in (Path(data["path"]) / "data" / "page.html").read_text()


def test_address_changed_without_navigating_refuses(cli: Cli, world: dict[str, Any]) -> None:
    result = capture(cli, world, "/@alice/replace")
    assert result.returncode == 3, result.stdout + result.stderr
    assert "changed its address" in result.stderr and "/@mallory/status/1" in result.stderr
    assert cli.bundles() == []


def test_another_accounts_post_under_the_scoped_path_refuses(cli: Cli, world: dict[str, Any]) -> None:
    result = capture(cli, world, "/@alice/statuses/1")
    assert result.returncode == 3, result.stdout + result.stderr
    assert "author is @mallory" in result.stderr and "@alice" in result.stderr
    assert cli.bundles() == [] and refusal(cli)["details"]["code"] == "author"


def test_private_subresources_frames_sockets_and_popups_are_refused_and_recorded(cli: Cli, world: dict[str, Any]) -> None:
    before = trapped(world)
    result = capture(cli, world, "/@alice/private-subresources")
    assert result.returncode == 0, result.stderr
    assert trapped(world) == before  # not one connection reached another loopback address
    data = json.loads(result.stdout)
    meta = json.loads((Path(data["path"]) / "data" / "metadata.json").read_text())
    refused = " | ".join(
        c["detail"] for c in meta["capture"]["changes"] if c["kind"] in ("request-blocked", "connection-blocked")
    )
    port = world["traps"]["127.0.0.1"].port
    for target in (f"127.0.0.1:{port}", f"localhost:{port}", f"127.0.0.2:{port}", f"[::1]:{port}"):
        assert target in refused, target
    assert meta["capture"]["network"]["blocked"] >= 4
    assert meta["tool"]["configuration"]["allowed_hosts"] == [world["origin"].removeprefix("http://")]


def test_refusals_are_in_the_warcinfo_record(cli: Cli, world: dict[str, Any]) -> None:
    from warcio.archiveiterator import ArchiveIterator

    result = capture(cli, world, "/@alice/private-subresources")
    assert result.returncode == 0, result.stderr
    warc = Path(json.loads(result.stdout)["path"]) / "data" / "traffic.warc.gz"
    with warc.open("rb") as handle:
        info = next(r for r in ArchiveIterator(handle) if r.rec_type == "warcinfo").content_stream().read().decode()
    port = world["traps"]["127.0.0.1"].port
    assert "egress: every connection went through the capture's SOCKS5 egress point" in info
    assert f"egress-refused: 127.0.0.2:{port} (127.0.0.2)" in info
    assert f"request-blocked: GET http://localhost:{port}/pixel.png" in info
