"""Export for a recipient, verified on a machine with no store; tampering caught by name."""

from __future__ import annotations

import json
import subprocess
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import REPO, Cli

TOOLS = REPO / ".venv-tools" / "bin"


pytestmark = pytest.mark.both_backends

@pytest.fixture
def exported(sealed: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    """A private copy of the session store; its bundle handed to erin and exported by her."""
    cli = sealed["cli"].copy(tmp_path / "store")
    bundle_id = sealed["result"]["bundle_id"]
    cli.ok("custody", "transfer", bundle_id, "--to", "erin", "--reason", "evidence room", as_user="alice")
    out = tmp_path / "out" / "export.zip"
    out.parent.mkdir()
    result = cli.json("export", bundle_id, "--recipient", "ADA Jane Roe", "--agency", "County Prosecutor",
                      "--reason", "discovery in HPD-2026-000123", "--out", str(out), as_user="erin")
    keys = tmp_path / "out" / "agency-keys.json"
    cli.ok("keys", "export", "--out", str(keys))
    return {"cli": cli, "bundle_id": bundle_id, "zip": out, "keys": keys, "result": result, "tmp": tmp_path}


def storeless(zip_path: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`collector verify` where no store exists."""
    return Cli(cwd / "no-store-here").run("verify", str(zip_path), *args)


def report(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    return dict(json.loads(result.stdout))


def failures(data: dict[str, Any]) -> dict[str, str]:
    found = {c["name"]: c["detail"] for c in data["checks"] if not c["ok"]}
    for bundle in data["bundles"]:
        found.update({c["name"]: c["detail"] for c in bundle["checks"] if not c["ok"]})
    return found


def test_export_verifies_without_a_store_against_trusted_keys(exported: dict[str, Any]) -> None:
    result = storeless(exported["zip"], "--trust", str(exported["keys"]), cwd=exported["tmp"])
    assert result.returncode == 0, result.stdout
    assert "VERIFIED" in result.stdout and "✗" not in result.stdout
    for owner in ("alice", "bob", "erin"):
        assert owner in result.stdout.split("signers:")[1]
    data = report(storeless(exported["zip"], "--trust", str(exported["keys"]), "--json", cwd=exported["tmp"]))
    assert data["trusted"] is True and data["ok"] is True
    checks = {c["name"]: c for c in data["bundles"][0]["checks"]}
    assert checks["custody chain"]["ok"] and "3 events" in checks["custody chain"]["detail"]
    assert checks["authorization"]["ok"] and "Bob Brown" in checks["authorization"]["detail"]
    assert not (exported["tmp"] / "no-store-here").exists()


def test_without_a_trusted_key_list_the_signers_are_not_anchored(exported: dict[str, Any]) -> None:
    """What the export ships (keys, certificates, even the root) proves nothing by itself."""
    result = storeless(exported["zip"], cwd=exported["tmp"])
    assert result.returncode == 1 and result.stdout.rstrip().endswith("FAILED")
    data = report(storeless(exported["zip"], "--json", cwd=exported["tmp"]))
    failed = failures(data)
    assert failed["key source"].startswith("signer not anchored: no trusted key list given")
    assert failed["signer certificate"].startswith("signer not anchored")
    assert "Alice Adams (alice, badge I-101, investigator)" in failed["signer certificate"]
    # everything else was checked and holds
    assert set(failed) == {"key source", "signer certificate"}


def test_export_is_a_signed_custody_event_with_head(exported: dict[str, Any]) -> None:
    cli, bundle_id = exported["cli"], exported["bundle_id"]
    chain = cli.json("custody", "show", bundle_id)
    last = chain[-1]
    assert last["type"] == "exported" and last["actor"]["user"] == "erin"
    assert last["details"]["recipient"] == "ADA Jane Roe" and last["details"]["recipient_agency"] == "County Prosecutor"
    assert last["details"]["head_before"] == {"count": 2, "last_hash": chain[-2]["hash"]}
    with zipfile.ZipFile(exported["zip"]) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        log = zf.read(f"custody/{bundle_id}.jsonl").decode().splitlines()
    assert manifest["bundles"][0]["custody_count"] == 3 == len(log)
    assert manifest["bundles"][0]["custody_last_hash"] == last["hash"]
    import hashlib

    assert exported["result"]["sha256"] == hashlib.sha256(exported["zip"].read_bytes()).hexdigest()


def test_export_checks_out_with_standard_tools(exported: dict[str, Any], tmp_path: Path) -> None:
    target = tmp_path / "unzipped"
    with zipfile.ZipFile(exported["zip"]) as zf:
        zf.extractall(target)
    bag = target / "bundles" / exported["bundle_id"]
    assert subprocess.run([TOOLS / "bagit.py", "--validate", bag], capture_output=True).returncode == 0
    assert subprocess.run(["sha256sum", "-c", "manifest-sha256.txt"], cwd=bag, capture_output=True).returncode == 0
    manifest = json.loads((target / "manifest.json").read_text())
    sig = subprocess.run(
        ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", f"keys/{manifest['exporter_key_fingerprint']}.pub.pem",
         "-rawin", "-in", "manifest.json", "-sigfile", "export.sig"],
        cwd=target, capture_output=True, text=True,
    )
    assert "Signature Verified Successfully" in sig.stdout
    chain = subprocess.run(
        ["openssl", "verify", "-CAfile", "../../pki/root.cert.pem", "-untrusted", "signer-chain.pem",
         "-crl_check", "-CRLfile", "../../pki/crl.pem", "signer-chain.pem"],
        cwd=bag, capture_output=True, text=True,
    )
    assert chain.returncode == 0 and chain.stdout.strip() == "signer-chain.pem: OK", chain.stderr
    assert "collector verify" in (target / "VERIFY.txt").read_text()
    assert "openssl verify -CAfile ../../pki/root.cert.pem" in (target / "VERIFY.txt").read_text()


def test_only_a_custodian_exports(exported: dict[str, Any], tmp_path: Path) -> None:
    cli = exported["cli"]
    result = cli.run("export", exported["bundle_id"], "--recipient", "x", "--reason", "y",
                     "--out", str(tmp_path / "x.zip"), as_user="alice")
    assert result.returncode == 3 and not (tmp_path / "x.zip").exists()
    again = cli.run("export", exported["bundle_id"], "--recipient", "x", "--reason", "y",
                    "--out", str(exported["zip"]), as_user="erin")
    assert again.returncode == 2 and "never overwritten" in again.stderr


# ------------------------------------------------------------------ tampering with the zip


def rewrite(src: Path, dst: Path, change: dict[str, bytes | None]) -> Path:
    """Copy a zip, replacing (bytes) or dropping (None) the named entries."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            if info.filename in change:
                if change[info.filename] is not None:
                    zout.writestr(info.filename, change[info.filename])
            else:
                zout.writestr(info, zin.read(info.filename))
        for name in set(change) - set(zin.namelist()):
            if change[name] is not None:
                zout.writestr(name, change[name])
    return dst


def log_lines(exported: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    name = f"custody/{exported['bundle_id']}.jsonl"
    with zipfile.ZipFile(exported["zip"]) as zf:
        return name, [json.loads(line) for line in zf.read(name).decode().splitlines()]


def dump(events: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(e) + "\n" for e in events).encode()


def tampered_fails(exported: dict[str, Any], change: dict[str, bytes | None], check: str, reason: str) -> None:
    bad = rewrite(exported["zip"], exported["tmp"] / "tampered.zip", change)
    result = storeless(bad, "--trust", str(exported["keys"]), "--json", cwd=exported["tmp"])
    assert result.returncode == 1, result.stdout
    found = failures(report(result))
    assert check in found, found
    assert reason in found[check], found


def test_changed_byte_caught(exported: dict[str, Any]) -> None:
    name = f"bundles/{exported['bundle_id']}/data/page.html"
    with zipfile.ZipFile(exported["zip"]) as zf:
        data = bytearray(zf.read(name))
    data[100] ^= 0x20
    tampered_fails(exported, {name: bytes(data)}, "payload sha256", "data/page.html")


def test_edited_custody_event_caught(exported: dict[str, Any]) -> None:
    name, events = log_lines(exported)
    events[1]["details"]["reason"] = "nothing to see"
    tampered_fails(exported, {name: dump(events)}, "custody chain", "event 2 (transferred): content does not match its hash")


def test_removed_event_caught(exported: dict[str, Any]) -> None:
    name, events = log_lines(exported)
    tampered_fails(exported, {name: dump(events[:1] + events[2:])}, "custody chain", "sequence number 3 where 2 was expected")


def test_removed_last_event_caught(exported: dict[str, Any]) -> None:
    name, events = log_lines(exported)
    tampered_fails(exported, {name: dump(events[:-1])}, "custody chain", "log cut short: 2 events where 3 were recorded")


def test_reordered_events_caught(exported: dict[str, Any]) -> None:
    name, events = log_lines(exported)
    events[1], events[2] = events[2], events[1]
    tampered_fails(exported, {name: dump(events)}, "custody chain", "sequence number 3 where 2 was expected")


def test_forged_event_signed_by_outsider_caught(exported: dict[str, Any]) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from collector.evidence import keys
    from collector.evidence.custody import EventType, make_event
    from collector.evidence.model import Person

    name, events = log_lines(exported)
    forger = Ed25519PrivateKey.generate()
    pem = keys.public_pem(forger.public_key())
    fingerprint = keys.fingerprint(pem)
    forged = make_event(
        bundle_id=exported["bundle_id"], seq=2, type=EventType.transferred,
        actor=Person(user="erin", full_name="Erin Evans", badge="C-301"), key=forger,
        key_fingerprint=fingerprint, details={"from": "alice", "to": "mallory", "reason": "x"},
        prev_hash=events[0]["hash"], at=datetime.now(UTC),
    )
    with zipfile.ZipFile(exported["zip"]) as zf:
        registry = json.loads(zf.read("keys/registry.json"))
    registry.append({"fingerprint": fingerprint, "owner": "erin"})  # the forger claims to be erin
    change = {
        name: dump([events[0], forged.model_dump(mode="json")]),
        f"keys/{fingerprint}.pub.pem": pem,
        "keys/registry.json": json.dumps(registry).encode(),
    }
    bad = rewrite(exported["zip"], exported["tmp"] / "forged.zip", change)
    trusted = report(storeless(bad, "--trust", str(exported["keys"]), "--json", cwd=exported["tmp"]))
    found = failures(trusted)
    assert "not known" in found["custody chain"]
    assert fingerprint[:16] in found["signers trusted"]
    # Without a trust list the forger's shipped key is believed, yet the signed head still
    # shows the log was cut and rewritten.
    untrusted = storeless(bad, "--json", cwd=exported["tmp"])
    assert untrusted.returncode == 1
    assert "log cut short: 2 events where 3 were recorded" in failures(report(untrusted))["custody chain"]


def test_edited_manifest_caught(exported: dict[str, Any]) -> None:
    with zipfile.ZipFile(exported["zip"]) as zf:
        manifest = json.loads(zf.read("manifest.json"))
    manifest["recipient"] = "Someone Else"
    import rfc8785

    tampered_fails(exported, {"manifest.json": rfc8785.dumps(manifest)}, "export signature", "manifest altered")


def test_trust_list_from_another_agency_fails(exported: dict[str, Any], tmp_path: Path) -> None:
    from tests.helpers import make_store

    other = make_store(tmp_path / "other")
    keys = tmp_path / "other-keys.json"
    other.ok("keys", "export", "--out", str(keys))
    result = storeless(exported["zip"], "--trust", str(keys), cwd=exported["tmp"])
    assert result.returncode == 1
    assert "not in the trusted list" in result.stdout


@pytest.mark.parametrize("entry", ["../evil.txt", "/abs/evil.txt", "bundles/../../evil.txt"])
def test_hostile_zip_entries_refused(tmp_path: Path, entry: str) -> None:
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr(entry, b"payload")
    result = storeless(bad, cwd=tmp_path)
    assert result.returncode == 2 and "unsafe entry" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path.parent / "evil.txt").exists()


def test_not_a_zip_is_a_clear_error(tmp_path: Path) -> None:
    fake = tmp_path / "fake.zip"
    fake.write_bytes(b"this is not a zip")
    result = storeless(fake, cwd=tmp_path)
    assert result.returncode == 2 and "not a readable zip" in result.stderr
