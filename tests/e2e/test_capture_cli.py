"""Capture → seal → verify through the real command line, with third-party validators."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from fixtures.server import FixtureServer
from tests.helpers import REPO, Cli

pytestmark = pytest.mark.e2e
TOOLS = REPO / ".venv-tools" / "bin"
VENV = REPO / ".venv" / "bin"


def metadata(bundle: Path) -> dict[str, Any]:
    return json.loads((bundle / "data" / "metadata.json").read_text())


def leftovers(cli: Cli) -> list[str]:
    return [p.name for p in (cli.store / "bundles").iterdir()] + [p.name for p in (cli.store / "work").iterdir()]


# ------------------------------------------------------------------ the installed command


def test_installed_command_launches_through_the_driver_started_with_it(store: Cli, site: FixtureServer) -> None:
    """`collector capture URL` starts the browser driver as the command begins; the browser is
    launched through it only after the gate, and the journal says so."""
    auth_id = store.approved([site.http_url("/*")])
    done = store.run_process("capture", site.http_url("/index.html"), "--auth", auth_id, "--json", as_user="alice")
    assert done.returncode == 0, done.stderr
    bundle = Path(json.loads(done.stdout)["path"])
    steps = metadata(bundle)["capture"]["steps"]
    launch = next(step for step in steps if step["name"] == "launch")
    assert "browser driver (Playwright) started with the command at" in launch["detail"]
    started = re.search(r"started with the command at (\S+),", launch["detail"])
    assert started is not None
    assert datetime.fromisoformat(started.group(1)) <= datetime.fromisoformat(launch["started_at"])
    assert store.run("verify", bundle.name).returncode == 0


# ------------------------------------------------------------------ the sealed bundle


def test_bundle_passes_bagit_py(sealed: dict[str, Any]) -> None:
    result = subprocess.run([TOOLS / "bagit.py", "--validate", sealed["path"]], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "is valid" in result.stderr


def test_bundle_passes_sha256sum(sealed: dict[str, Any]) -> None:
    for manifest, tool in (("manifest-sha256.txt", "sha256sum"), ("manifest-sha512.txt", "sha512sum")):
        result = subprocess.run([tool, "-c", manifest], cwd=sealed["path"], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout
        assert result.stdout.count(": OK") == len((sealed["path"] / manifest).read_text().splitlines())


def test_seal_signature_verifies_with_openssl(sealed: dict[str, Any]) -> None:
    bundle = sealed["path"]
    result = subprocess.run(
        ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "signer.pub.pem", "-rawin",
         "-in", "tagmanifest-sha256.txt", "-sigfile", "seal.sig"],
        cwd=bundle, capture_output=True, text=True,
    )
    assert "Signature Verified Successfully" in result.stdout
    alice_pub = (sealed["cli"].store / "keys" / "alice.pub.pem").read_bytes()
    assert (bundle / "signer.pub.pem").read_bytes() == alice_pub


def test_warc_passes_warcio_check(sealed: dict[str, Any]) -> None:
    warc = sealed["path"] / "data" / "traffic.warc.gz"
    result = subprocess.run([VENV / "warcio", "check", "-v", warc], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    index = subprocess.run([VENV / "warcio", "index", "-f", "warc-type,warc-target-uri,http:status", warc],
                           capture_output=True, text=True, check=True).stdout
    rows = [json.loads(line) for line in index.splitlines()]
    responses = [r for r in rows if r.get("warc-type") == "response"]
    statuses = [r.get("http:status") for r in responses]
    assert "302" in statuses and "301" in statuses
    pages = {r["warc-target-uri"] for r in responses if "/context?page=" in r["warc-target-uri"]}
    assert len(pages) == 4, pages


def test_collector_verify_passes_and_is_recorded(sealed: dict[str, Any]) -> None:
    cli: Cli = sealed["cli"]
    result = cli.run("verify", sealed["result"]["bundle_id"])
    assert result.returncode == 0, result.stdout
    assert "✗" not in result.stdout and result.stdout.count("✓") >= 8
    assert "VERIFIED" in result.stdout
    last = cli.events()[-1]
    assert last["action"] == "bundle.verify" and last["outcome"] == "ok"


def test_metadata_records_authority_people_and_capture(sealed: dict[str, Any]) -> None:
    meta = metadata(sealed["path"])
    assert meta["case_number"] == "HPD-2026-000123"
    auth = meta["authorization"]
    assert auth["id"] == sealed["auth"]
    assert auth["approved_by"] == {"user": "bob", "full_name": "Bob Brown", "badge": "S-201"}
    assert auth["predicate"] == "criminal-predicate" and auth["standard"] == "reasonable-suspicion"
    assert meta["operator"]["badge"] == "I-101"
    assert meta["note"] == "session capture"
    cap = meta["capture"]
    assert [h["status"] for h in cap["redirects"]] == [302, 301]
    assert cap["final_url"].endswith("/mastodon/status.html") and cap["status"] == 200
    assert cap["server"]["ip"] == "127.0.0.1"
    assert cap["browser"]["version"].split(".")[0].isdigit()
    assert cap["browser"]["user_agent"]
    step_names = [s["name"] for s in cap["steps"]]
    for name in ("navigate", "scroll", "screenshot", "dom", "mhtml", "warc"):
        assert name in step_names
    assert any(c["kind"] == "scroll" for c in cap["changes"])
    assert meta["tool"]["configuration_sha256"] and len(meta["tool"]["configuration_sha256"]) == 64


def test_artifacts_described_with_hashes_mime_and_pixels(sealed: dict[str, Any]) -> None:
    import hashlib

    meta = metadata(sealed["path"])
    by_path = {a["path"]: a for a in meta["artifacts"]}
    assert set(by_path) == {
        "screenshot.png", "page.html", "response.html", "page.mhtml", "traffic.warc.gz",
        "media/001-photo1.png",  # the post's own image, saved from the network record
    }
    assert by_path["media/001-photo1.png"]["mime_type"] == "image/png"
    assert by_path["screenshot.png"]["mime_type"] == "image/png"
    assert by_path["traffic.warc.gz"]["mime_type"] == "application/gzip"
    for art in meta["artifacts"]:
        data = (sealed["path"] / "data" / art["path"]).read_bytes()
        assert art["size"] == len(data)
        assert art["sha256"] == hashlib.sha256(data).hexdigest()
        assert art["sha512"] == hashlib.sha512(data).hexdigest()
    with Image.open(sealed["path"] / "data" / "screenshot.png") as image:
        assert image.size == (by_path["screenshot.png"]["width"], by_path["screenshot.png"]["height"])
        assert image.size[1] == meta["capture"]["page_height"]


def test_dom_holds_lazily_loaded_replies_raw_html_does_not(sealed: dict[str, Any]) -> None:
    data = sealed["path"] / "data"
    dom = (data / "page.html").read_text()
    assert all(f"reply-{n} of 40" in dom for n in range(1, 41))
    raw = (data / "response.html").read_bytes()
    assert b"reply-1 of 40" not in raw and b"Alice Example" in raw


def test_bag_info_names_case_authority_and_people(sealed: dict[str, Any]) -> None:
    info = (sealed["path"] / "bag-info.txt").read_text()
    for needle in ("Case-Number: HPD-2026-000123", f"Authorization-Id: {sealed['auth']}",
                   "Authorizing-Officer: Bob Brown, badge S-201, user bob", "Retention-Class: case-evidence",
                   "Operator: Alice Adams, badge I-101, user alice", "Source-URL: http://127.0.0.1"):
        assert needle in info


def test_sealed_files_are_read_only_and_ledger_has_bundle(sealed: dict[str, Any]) -> None:
    bundle: Path = sealed["path"]
    assert all(not (p.stat().st_mode & 0o222) for p in bundle.rglob("*"))
    cli: Cli = sealed["cli"]
    sealed_events = [e for e in cli.events() if e["action"] == "capture.sealed"]
    assert sealed_events[-1]["subject"] == sealed["result"]["bundle_id"]
    db = sqlite3.connect(cli.store / "ledger.sqlite")
    seal = db.execute("SELECT seal_sha256 FROM bundles WHERE id = ?", (sealed["result"]["bundle_id"],)).fetchone()[0]
    import hashlib

    assert seal == hashlib.sha256((bundle / "tagmanifest-sha256.txt").read_bytes()).hexdigest()


# ------------------------------------------------------------------ tampering


def tampered_copy(sealed: dict[str, Any], tmp_path: Path) -> Path:
    copy = tmp_path / sealed["path"].name
    shutil.copytree(sealed["path"], copy)
    for p in [copy, *copy.rglob("*")]:
        p.chmod(0o755 if p.is_dir() else 0o644)
    return copy


def verify_fails(cli: Cli, bundle: Path, check: str, reason: str) -> None:
    result = cli.run("verify", str(bundle), "--json")
    assert result.returncode == 1, result.stdout
    report = json.loads(result.stdout)
    failed = {c["name"]: c["detail"] for c in report["checks"] if not c["ok"]}
    assert check in failed, failed
    assert reason in failed[check], failed


def test_tamper_flipped_byte(sealed: dict[str, Any], tmp_path: Path) -> None:
    bundle = tampered_copy(sealed, tmp_path)
    shot = bundle / "data" / "screenshot.png"
    data = bytearray(shot.read_bytes())
    data[len(data) // 2] ^= 0x01
    shot.write_bytes(bytes(data))
    verify_fails(sealed["cli"], bundle, "payload sha256", "data/screenshot.png")
    verify_fails(sealed["cli"], bundle, "payload sha512", "data/screenshot.png")
    assert subprocess.run([TOOLS / "bagit.py", "--validate", bundle], capture_output=True).returncode != 0


def test_tamper_added_payload_file(sealed: dict[str, Any], tmp_path: Path) -> None:
    bundle = tampered_copy(sealed, tmp_path)
    (bundle / "data" / "extra.txt").write_text("planted")
    verify_fails(sealed["cli"], bundle, "payload complete", "not in manifest: data/extra.txt")


def test_tamper_added_root_file(sealed: dict[str, Any], tmp_path: Path) -> None:
    bundle = tampered_copy(sealed, tmp_path)
    (bundle / "notes.txt").write_text("planted")
    verify_fails(sealed["cli"], bundle, "no unexpected files", "notes.txt")


def test_tamper_removed_file(sealed: dict[str, Any], tmp_path: Path) -> None:
    bundle = tampered_copy(sealed, tmp_path)
    (bundle / "data" / "page.mhtml").unlink()
    verify_fails(sealed["cli"], bundle, "payload complete", "missing: data/page.mhtml")


def test_tamper_edited_bag_info(sealed: dict[str, Any], tmp_path: Path) -> None:
    bundle = tampered_copy(sealed, tmp_path)
    info = bundle / "bag-info.txt"
    info.write_text(info.read_text().replace("HPD-2026-000123", "HPD-2026-000999"))
    verify_fails(sealed["cli"], bundle, "tag files sha256", "bag-info.txt")


def test_tamper_swapped_signature(sealed: dict[str, Any], tmp_path: Path) -> None:
    bundle = tampered_copy(sealed, tmp_path)
    sig = bytearray((bundle / "seal.sig").read_bytes())
    sig[0] ^= 0xFF
    (bundle / "seal.sig").write_bytes(bytes(sig))
    verify_fails(sealed["cli"], bundle, "seal signature", "does not verify")


def test_tamper_resealed_with_unregistered_key(sealed: dict[str, Any], tmp_path: Path) -> None:
    """A forger who rewrites a file, every manifest and signs with their own key is still caught."""
    import bagit
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from collector.evidence import keys

    bundle = tampered_copy(sealed, tmp_path)
    (bundle / "data" / "page.html").write_text("<html>forged</html>")
    forger = Ed25519PrivateKey.generate()
    pem = keys.public_pem(forger.public_key())
    (bundle / "signer.pub.pem").write_bytes(pem)
    bag = bagit.Bag(str(bundle))
    bag.info["Signer-Key-Fingerprint"] = keys.fingerprint(pem)
    bag.save(manifests=True)
    (bundle / "seal.sig").write_bytes(forger.sign((bundle / "tagmanifest-sha256.txt").read_bytes()))
    verify_fails(sealed["cli"], bundle, "signer key", "not in the store's key registry")
    verify_fails(sealed["cli"], bundle, "metadata", "page.html differs")


def test_investigator_resealing_a_widened_authorization_caught(sealed: dict[str, Any], tmp_path: Path) -> None:
    """Even the capturing investigator, with her own valid key, cannot rewrite what was approved."""
    import bagit

    from collector.evidence import keys
    from tests.helpers import PASSPHRASES

    bundle = tampered_copy(sealed, tmp_path)
    meta_path = bundle / "data" / "metadata.json"
    meta = json.loads(meta_path.read_text())
    meta["authorization"]["scopes"] = ["https://*.example.com/*"]
    meta_path.write_text(json.dumps(meta, indent=2))
    bag = bagit.Bag(str(bundle))
    bag.save(manifests=True)
    alice = keys.load_private(sealed["cli"].store / "keys" / "alice.key.pem", PASSPHRASES["alice"], "alice")
    (bundle / "seal.sig").write_bytes(alice.sign((bundle / "tagmanifest-sha256.txt").read_bytes()))
    verify_fails(sealed["cli"], bundle, "authorization", "differs from what bob approved")


# ------------------------------------------------------------------ refusals


def refused(cli: Cli, url: str, auth: str | None, as_user: str = "alice", reason: str = "") -> None:
    args = ["capture", url] + (["--auth", auth] if auth else [])
    result = cli.run(*args, as_user=as_user)
    assert result.returncode == 3, result.stdout + result.stderr
    assert reason in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert leftovers(cli) == []
    last = [e for e in cli.events() if e["action"].startswith("capture.")][-1]
    assert last["action"] == "capture.refused" and last["outcome"] == "refused"


def test_refused_without_authorization(store: Cli, site: FixtureServer) -> None:
    refused(store, site.http_url("/mastodon/status.html"), None, reason="no authorization")


def test_refused_unknown_authorization(store: Cli, site: FixtureServer) -> None:
    refused(store, site.http_url("/mastodon/status.html"), "AUTH-00000000", reason="unknown authorization")


def test_refused_pending_denied_revoked(store: Cli, site: FixtureServer) -> None:
    url = site.http_url("/mastodon/status.html")
    pending = store.request([site.http_url("/*")])
    refused(store, url, pending, reason="pending, not approved")
    store.ok("auth", "deny", pending, "--reason", "no predicate shown", as_user="bob")
    refused(store, url, pending, reason="denied, not approved")
    revoked = store.approved([site.http_url("/*")])
    store.ok("auth", "revoke", revoked, "--reason", "case closed", as_user="carol")
    refused(store, url, revoked, reason="revoked, not approved")


def test_refused_when_expired(store: Cli, site: FixtureServer) -> None:
    auth_id = store.approved([site.http_url("/*")])
    db = sqlite3.connect(store.store / "ledger.sqlite")
    body = json.loads(db.execute("SELECT body FROM authorizations WHERE id = ?", (auth_id,)).fetchone()[0])
    body["valid_until"] = "2026-01-01T00:00:00Z"
    db.execute("UPDATE authorizations SET body = ? WHERE id = ?", (json.dumps(body), auth_id))
    db.commit()
    refused(store, site.http_url("/mastodon/status.html"), auth_id, reason="expired")


def test_refused_when_approval_no_longer_matches(store: Cli, site: FixtureServer) -> None:
    auth_id = store.approved([site.http_url("/mastodon/*")])
    db = sqlite3.connect(store.store / "ledger.sqlite")
    body = json.loads(db.execute("SELECT body FROM authorizations WHERE id = ?", (auth_id,)).fetchone()[0])
    body["scopes"] = [site.http_url("/*")]
    db.execute("UPDATE authorizations SET body = ? WHERE id = ?", (json.dumps(body), auth_id))
    db.commit()
    refused(store, site.http_url("/login-wall.html"), auth_id, reason="altered after approval")


def test_refused_outside_scope(store: Cli, site: FixtureServer) -> None:
    auth_id = store.approved([site.http_url("/mastodon/*")])
    refused(store, site.http_url("/login-wall.html"), auth_id, reason="outside every scope")
    refused(store, site.host_http_url("localhost", "/mastodon/status.html"), auth_id, reason="outside every scope")


def test_refused_for_user_not_on_authorization(store: Cli, site: FixtureServer) -> None:
    auth_id = store.approved([site.http_url("/*")])
    refused(store, site.http_url("/mastodon/status.html"), auth_id, as_user="dave", reason="not an investigator")
    refused(store, site.http_url("/mastodon/status.html"), auth_id, as_user="bob", reason="not an investigator")


@pytest.mark.parametrize("url", ["file:///etc/passwd", "javascript:alert(1)", "ftp://127.0.0.1/x"])
def test_refused_non_http_scheme(store: Cli, site: FixtureServer, url: str) -> None:
    auth_id = store.approved([site.http_url("/*")])
    refused(store, url, auth_id, reason="not allowed")


def test_refused_private_network_unless_store_allows(tmp_path: Path, site: FixtureServer) -> None:
    from tests.helpers import make_store

    cli = make_store(tmp_path, allow_private=False)
    auth_id = cli.approved([site.http_url("/*")])
    refused(cli, site.http_url("/mastodon/status.html"), auth_id, reason="non-public address")


def test_technical_failure_exits_4_and_leaves_nothing(store: Cli, site: FixtureServer) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    auth_id = store.approved([f"http://127.0.0.1:{port}/*"])
    result = store.run("capture", f"http://127.0.0.1:{port}/nothing-listens", "--auth", auth_id, as_user="alice")
    assert result.returncode == 4, result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert leftovers(store) == []
    last = store.events()[-1]
    assert last["action"] == "capture.failed" and last["outcome"] == "failed"


# ------------------------------------------------------------------ other fixtures through the CLI


def capture(store: Cli, site: FixtureServer, url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    auth_id = store.approved([site.http_url("/*"), site.https_url("/*")])
    result = store.json("capture", url, "--auth", auth_id, as_user="alice")
    assert store.run("verify", result["bundle_id"]).returncode == 0
    return result, metadata(Path(result["path"]))


def test_https_capture_records_certificate_chain(store: Cli, site: FixtureServer) -> None:
    result, meta = capture(store, site, site.https_url("/secure/status.html"))
    assert result["status"] == 200
    tls = meta["capture"]["tls"]
    assert tls["protocol"].startswith("TLS")
    fingerprints = [c["sha256_fingerprint"] for c in tls["chain"]]
    assert fingerprints[0] == site.leaf_sha256
    assert site.ca_sha256 in fingerprints


def test_deleted_post_is_sealed_with_its_404(store: Cli, site: FixtureServer) -> None:
    result, _ = capture(store, site, site.http_url("/deleted/status/999"))
    assert result["status"] == 404
    assert "This post has been deleted" in (Path(result["path"]) / "data" / "page.html").read_text()


def test_tall_page_screenshot_is_whole(store: Cli, site: FixtureServer) -> None:
    result, meta = capture(store, site, site.http_url("/tall.html"))
    Image.MAX_IMAGE_PIXELS = None
    with Image.open(Path(result["path"]) / "data" / "screenshot.png") as image:
        assert image.size[1] == meta["capture"]["page_height"] == 32000


@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
def test_interrupted_capture_leaves_nothing(store: Cli, site: FixtureServer, signame: str) -> None:
    import os
    import signal
    import sys
    import time

    auth_id = store.approved([site.http_url("/*")])
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOR_")}
    env.update(COLLECTOR_STORE=str(store.store), COLLECTOR_USER="alice", COLLECTOR_PASSPHRASE="alice-passphrase")
    proc = subprocess.Popen(
        [sys.executable, "-m", "collector", "capture", site.http_url("/never-settles.html"), "--auth", auth_id],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 20
    while not any((store.store / "work").iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert any((store.store / "work").iterdir()), "capture never started"
    time.sleep(1.0)
    proc.send_signal(getattr(signal, signame))
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert leftovers(store) == []
    last = store.events()[-1]
    assert last["action"] == "capture.failed" and "interrupted" in last["details"]["reason"]


def test_two_capture_processes_at_once_both_seal_and_the_ledger_holds(store: Cli, site: FixtureServer) -> None:
    """Two `collector capture` processes on one store: its writes are serialised, none lost."""
    from concurrent.futures import ThreadPoolExecutor

    auth_id = store.approved([site.http_url("/*")])

    def capture(path: str) -> subprocess.CompletedProcess[str]:
        return store.run_process("capture", site.http_url(path), "--auth", auth_id, "--json", as_user="alice")

    with ThreadPoolExecutor(2) as pool:
        done = list(pool.map(capture, ["/index.html", "/login-wall.html"]))
    assert [d.returncode for d in done] == [0, 0], [d.stderr for d in done]
    ids = {json.loads(d.stdout)["bundle_id"] for d in done}
    assert len(ids) == 2 and {p.name for p in store.bundles()} == ids
    assert "chain intact" in store.ok("ledger", "verify").stdout
    for bundle_id in ids:
        store.ok("custody", "verify", bundle_id)


@pytest.mark.parametrize(
    ("page", "why"),
    [("/runaway/busy.html", "kept it busy for more than"), ("/runaway/alerts.html", "opened more than 20 dialogs")],
)
def test_runaway_page_is_sealed_with_what_it_rendered(store: Cli, site: FixtureServer, page: str, why: str) -> None:
    """A page whose script never lets go after rendering (a busy loop, an alert loop) is
    captured: its script is stopped, the intervention recorded, the rendered text sealed."""
    auth_id = store.approved([site.http_url("/*")])
    result = store.run("capture", site.http_url(page), "--auth", auth_id, "--json", as_user="alice")
    assert result.returncode == 0, result.stderr
    bundle = Path(json.loads(result.stdout)["path"])
    meta = json.loads((bundle / "data" / "metadata.json").read_text())
    stopped = [c["detail"] for c in meta["capture"]["changes"] if c["kind"] == "scripts-stopped"]
    assert len(stopped) == 1 and why in stopped[0] and "Runtime.terminateExecution" in stopped[0]
    assert "Rendered before" in (bundle / "data" / "page.html").read_text()
    assert store.ok("verify", str(bundle)).stdout.rstrip().endswith("VERIFIED")


def test_a_huge_hostile_title_is_cut_in_metadata_and_shown_escaped(store: Cli, site: FixtureServer) -> None:
    """A 1 000 000-character title with terminal escapes: kept whole in the DOM and raw HTML,
    cut to 2 000 characters in metadata with a note saying so, printed escaped on one line."""
    auth_id = store.approved([site.http_url("/*")])
    done = store.run("capture", site.http_url("/huge-title"), "--auth", auth_id, as_user="alice")
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stdout and "\x07" not in done.stdout and "\u202e" not in done.stdout
    assert max(len(line) for line in done.stdout.splitlines()) < 1_200
    bundle = store.bundles()[-1]
    meta = metadata(bundle)
    capture = meta["capture"]
    assert len(capture["title"]) == 2_000 and capture["title"].endswith("T")
    dom_step = next(s for s in capture["steps"] if s["name"] == "dom")
    # the browser's document.title drops a control character or two of the million
    assert re.search(r"page title 99999\d characters long; the first 2000 kept here", dom_step["detail"])
    assert len(capture["post"]["title"]) == 2_000
    assert any(re.search(r"title from .*: 1000000 characters long", note) for note in capture["post"]["notes"])
    assert (bundle / "data" / "page.html").stat().st_size > 1_000_000  # the whole title is there
    assert (bundle / "data" / "metadata.json").stat().st_size < 200_000
    shown = store.ok("show", bundle.name, as_user="erin").stdout
    assert "\x1b" not in shown and "\u202e" not in shown
    assert "… (2000 characters)" in shown  # the metadata's title, cut again to one line
    assert max(len(line) for line in shown.splitlines()) < 1_200
