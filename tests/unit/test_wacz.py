"""Signed WACZ packages of sealed bundles: made as a custody event, checked by py-wacz's
validator and pywb, verified without a store, and forgeries caught by name."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from fixtures.tsa import TsaServer
from scripts.replay_check import replay_raw
from tests.helpers import REPO, Cli, make_store
from tests.unit.conftest import RecordedSite

TOOLS = REPO / ".venv-tools" / "bin"
REAL_SIGNED = REPO.parent / "shared" / "real-archives" / "py-wacz" / "valid_signed_example_1.wacz"
POST_TEXT = b"Found this bike dumped on the river trail"


@pytest.fixture
def made(sealed: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    """A private copy of the session store, its bundle packaged by the custodian erin."""
    cli = sealed["cli"].copy(tmp_path / "store")
    bundle_id = sealed["result"]["bundle_id"]
    out = tmp_path / "out" / f"{bundle_id}.wacz"
    out.parent.mkdir()
    result = cli.json("wacz", bundle_id, "--out", str(out), as_user="erin")
    keys = tmp_path / "out" / "agency-keys.json"
    cli.ok("keys", "export", "--out", str(keys))
    return {"cli": cli, "bundle_id": bundle_id, "wacz": out, "keys": keys, "result": result,
            "tmp": tmp_path, "bag": sealed["path"]}  # fmt: skip


def verify(path: Path, *args: str, cwd: Path) -> tuple[int, dict[str, Any]]:
    """`collector verify FILE.wacz --json` where no store exists."""
    done = Cli(cwd / "no-store-here").run("verify", str(path), "--json", *args)
    return done.returncode, json.loads(done.stdout)


def checks(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in report["checks"]}


def failed(report: dict[str, Any]) -> dict[str, str]:
    return {c["name"]: c["detail"] for c in report["checks"] if not c["ok"]}


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def write(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return path


def relist(files: dict[str, bytes]) -> None:
    """Bring datapackage.json and its digest in line with the files (what a forger does)."""
    package = json.loads(files["datapackage.json"])
    listed = {r["path"] for r in package["resources"]}
    for name in files:
        if name not in listed and name not in ("datapackage.json", "datapackage-digest.json"):
            package["resources"].append({"name": Path(name).name, "path": name, "hash": "", "bytes": 0})
    for resource in package["resources"]:
        data = files[resource["path"]]
        resource["hash"] = f"sha256:{hashlib.sha256(data).hexdigest()}"
        resource["bytes"] = len(data)
    files["datapackage.json"] = json.dumps(package, indent=2).encode()
    digest = json.loads(files["datapackage-digest.json"])
    digest["hash"] = f"sha256:{hashlib.sha256(files['datapackage.json']).hexdigest()}"
    digest["signedData"]["hash"] = digest["hash"]
    files["datapackage-digest.json"] = json.dumps(digest).encode()


def resign(files: dict[str, bytes], key: ec.EllipticCurvePrivateKey) -> None:
    digest = json.loads(files["datapackage-digest.json"])
    signed = digest["signedData"]
    signed["signature"] = base64.b64encode(
        key.sign(signed["hash"].encode(), ec.ECDSA(hashes.SHA256()))
    ).decode()
    spki = key.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)  # fmt: skip
    signed["publicKey"] = base64.b64encode(spki).decode()
    files["datapackage-digest.json"] = json.dumps(digest).encode()


def store_key(cli: Cli) -> ec.EllipticCurvePrivateKey:
    """The workstation store's WACZ signing key, as an insider with the store could read it."""
    key = serialization.load_pem_private_key(
        (cli.store / "keys" / "agency" / "archive-signer.key.pem").read_bytes(), password=None
    )
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


# --------------------------------------------------------------------- making and verifying


@pytest.mark.both_backends
def test_the_package_verifies_against_the_key_list_and_its_making_is_a_custody_event(
    made: dict[str, Any],
) -> None:
    code, report = verify(made["wacz"], "--trust", str(made["keys"]), cwd=made["tmp"])
    assert code == 0, failed(report)
    found = checks(report)
    assert report["made_by_collector"] and report["bundle_id"] == made["bundle_id"]
    assert "archive-signer" in found["signer"]["detail"] and "trusted key list" in found["signer"]["detail"]
    assert "alice's key" in found["sealed bundle"]["detail"]
    assert "archive/traffic.warc.gz" in found["same as sealed"]["detail"]
    assert "evidence/screenshot.png" in found["same as sealed"]["detail"]
    digest = hashlib.sha256(made["wacz"].read_bytes()).hexdigest()
    assert made["result"]["sha256"] == digest
    events = made["cli"].json("custody", "show", made["bundle_id"])
    derived = [e for e in events if e["type"] == "derived"]
    assert len(derived) == 1 and derived[0]["actor"]["user"] == "erin"
    assert derived[0]["details"]["sha256"] == digest and derived[0]["details"]["format"] == "wacz"
    package = json.loads(members(made["wacz"])["datapackage.json"])
    assert package["wacz_version"] == "1.1.1" and package["collector"]["bundle_id"] == made["bundle_id"]


@pytest.fixture(scope="module")
def tsa() -> Iterator[TsaServer]:
    with TsaServer() as server:
        yield server


def test_with_a_time_stamp_authority_the_signature_is_stamped(
    tsa: TsaServer, site: RecordedSite, tmp_path: Path
) -> None:
    cli = make_store(tmp_path / "tsa", extra=["--tsa-url", tsa.url, "--tsa-root", str(tsa.root_cert_path)])
    auth_id = cli.approved([site.http_url("/*")])
    bundle_id = cli.json("capture", site.http_url("/login-wall.html"), "--auth", auth_id,
                         as_user="alice")["bundle_id"]  # fmt: skip
    out = tmp_path / "b.wacz"
    result = cli.json("wacz", bundle_id, "--out", str(out), as_user="erin")
    assert result["time_stamped"] is True
    keys = tmp_path / "keys.json"
    cli.ok("keys", "export", "--out", str(keys))
    code, report = verify(out, "--trust", str(keys), cwd=tmp_path)
    assert code == 0, failed(report)
    found = checks(report)
    assert not found["time-stamp"]["warning"] and "trusted time-stamp root" in found["time-stamp"]["detail"]
    assert not found["seal time-stamp"]["warning"] and "sealed by" in found["seal time-stamp"]["detail"]
    signed = json.loads(members(out)["datapackage-digest.json"])["signedData"]
    token = tmp_path / "time.tsr"
    token.write_bytes(base64.b64decode(signed["timeSignature"]))
    (tmp_path / "signature.txt").write_text(signed["signature"])
    openssl = subprocess.run(["openssl", "ts", "-verify", "-data", "signature.txt", "-in", "time.tsr",
                              "-CAfile", str(tsa.root_cert_path)], cwd=tmp_path,
                             capture_output=True, text=True)  # fmt: skip
    assert "Verification: OK" in openssl.stdout, openssl.stdout + openssl.stderr


def test_py_wacz_validates_the_package(made: dict[str, Any]) -> None:
    done = subprocess.run([TOOLS / "wacz", "validate", "-f", str(made["wacz"])],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0 and "the passed WACZ is valid" in done.stdout, done.stdout + done.stderr
    assert "Has signature" in done.stdout


def test_the_warc_inside_is_the_sealed_one_and_pywb_replays_the_package_offline(made: dict[str, Any]) -> None:
    files = members(made["wacz"])
    sealed_warc = (made["bag"] / "data" / "traffic.warc.gz").read_bytes()
    assert files["archive/traffic.warc.gz"] == sealed_warc
    page = json.loads(files["pages/pages.jsonl"].decode().splitlines()[1])
    body = replay_raw(made["wacz"], page["url"])
    assert POST_TEXT in body


def test_without_the_key_list_only_the_signer_is_unanchored(made: dict[str, Any]) -> None:
    code, report = verify(made["wacz"], cwd=made["tmp"])
    assert code == 1
    assert set(failed(report)) == {"signer"}
    assert "signer not anchored" in failed(report)["signer"]
    assert not (made["tmp"] / "no-store-here").exists()


def test_the_real_domain_signed_package_checks_out(tmp_path: Path) -> None:
    code, report = verify(REAL_SIGNED, cwd=tmp_path)
    assert code == 0, failed(report)
    found = checks(report)
    assert not report["made_by_collector"]
    assert "btrix-sign-test.webrecorder.net" in found["signer"]["detail"]
    assert "ISRG Root X1" in found["signer"]["detail"]
    stamp = found["time-stamp"]
    assert stamp["ok"] and stamp["warning"] and "2022-01-18 19:00:12Z" in stamp["detail"]


def test_a_real_package_with_its_signature_altered_fails(tmp_path: Path) -> None:
    files = members(REAL_SIGNED)
    digest = json.loads(files["datapackage-digest.json"])
    raw = bytearray(base64.b64decode(digest["signedData"]["signature"]))
    raw[-1] ^= 1
    digest["signedData"]["signature"] = base64.b64encode(bytes(raw)).decode()
    files["datapackage-digest.json"] = json.dumps(digest).encode()
    code, report = verify(write(tmp_path / "x.wacz", files), cwd=tmp_path)
    assert code == 1 and "does not verify" in failed(report)["signature"]


def test_a_time_signature_over_other_data_fails(tmp_path: Path) -> None:
    """The real package's time-stamp moved onto another signature of the same hash."""
    files = members(REAL_SIGNED)
    other = json.loads(files["datapackage-digest.json"])
    other["signedData"]["timeSignature"] = base64.b64encode(b"\x30\x03\x02\x01\x00").decode()
    files["datapackage-digest.json"] = json.dumps(other).encode()
    code, report = verify(write(tmp_path / "x.wacz", files), cwd=tmp_path)
    assert code == 1 and "timeSignature" in failed(report)["time-stamp"]


# --------------------------------------------------------------------- forgeries


def test_an_altered_warc_is_caught(made: dict[str, Any]) -> None:
    files = members(made["wacz"])
    files["archive/traffic.warc.gz"] += b"\0"
    code, report = verify(write(made["tmp"] / "x.wacz", files), "--trust", str(made["keys"]), cwd=made["tmp"])
    assert code == 1 and "archive/traffic.warc.gz: " in failed(report)["files"]


def test_a_relisted_package_breaks_the_signed_digest(made: dict[str, Any]) -> None:
    files = members(made["wacz"])
    files["archive/traffic.warc.gz"] += b"\0"
    relist(files)
    code, report = verify(write(made["tmp"] / "x.wacz", files), "--trust", str(made["keys"]), cwd=made["tmp"])
    assert code == 1 and "does not verify" in failed(report)["signature"]


def test_a_package_resigned_with_another_key_names_no_trusted_signer(made: dict[str, Any]) -> None:
    files = members(made["wacz"])
    files["archive/traffic.warc.gz"] += b"\0"
    relist(files)
    resign(files, ec.generate_private_key(ec.SECP256R1()))
    code, report = verify(write(made["tmp"] / "x.wacz", files), "--trust", str(made["keys"]), cwd=made["tmp"])
    assert code == 1
    assert "another key than publicKey" in failed(report)["signer"]


def test_a_forged_archive_signer_certificate_does_not_chain(made: dict[str, Any]) -> None:
    """The forger makes a key and a certificate naming the agency and the role, signed by a CA
    of their own; the key list's agency root does not sign it."""
    key = ec.generate_private_key(ec.SECP256R1())
    ca_key = ec.generate_private_key(ec.SECP256R1())
    leaf_name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test Police Department"),
                           x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "archive-signer"),
                           x509.NameAttribute(NameOID.COMMON_NAME, "forged")])  # fmt: skip
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test Police Department evidence issuing CA")])
    from datetime import UTC, datetime, timedelta

    start = datetime.now(UTC) - timedelta(days=1)
    cert = (x509.CertificateBuilder().subject_name(leaf_name).issuer_name(ca_name)
            .public_key(key.public_key()).serial_number(7).not_valid_before(start)
            .not_valid_after(start + timedelta(days=30)).sign(ca_key, hashes.SHA256()))  # fmt: skip
    files = members(made["wacz"])
    files["signature/archive-signer-chain.pem"] = cert.public_bytes(serialization.Encoding.PEM)
    relist(files)
    resign(files, key)
    code, report = verify(write(made["tmp"] / "x.wacz", files), "--trust", str(made["keys"]), cwd=made["tmp"])
    assert code == 1 and "not issued by any issuing CA given" in failed(report)["signer"]


def test_an_added_file_is_caught(made: dict[str, Any]) -> None:
    files = members(made["wacz"])
    files["archive/extra.warc.gz"] = b"not evidence"
    code, report = verify(write(made["tmp"] / "x.wacz", files), "--trust", str(made["keys"]), cwd=made["tmp"])
    assert code == 1 and "archive/extra.warc.gz" in failed(report)["files"]


def test_a_package_signed_by_the_store_key_but_with_another_warc_is_not_the_sealed_one(
    made: dict[str, Any],
) -> None:
    """Someone holding the store's WACZ key signs a package around another WARC: the signature
    and signer check out, but the WARC is not the one the bundle's seal covers."""
    key = store_key(made["cli"])
    files = members(made["wacz"])
    files["archive/traffic.warc.gz"] = (REPO.parent / "shared" / "real-archives" / "warcio" /
                                        "example.warc.gz").read_bytes()  # fmt: skip
    relist(files)
    resign(files, key)
    code, report = verify(write(made["tmp"] / "x.wacz", files), "--trust", str(made["keys"]), cwd=made["tmp"])
    assert code == 1
    assert set(failed(report)) == {"same as sealed"}
    assert checks(report)["signer"]["ok"]


def test_altered_bag_information_is_not_the_sealed_bundle(made: dict[str, Any]) -> None:
    """Even re-signed with the store's own WACZ key, an altered bag-info.txt (say, another case
    number) no longer matches the tag manifest the investigator's seal covers."""
    files = members(made["wacz"])
    files["bag/bag-info.txt"] = files["bag/bag-info.txt"].replace(b"Case-Number: ", b"Case-Number: X")
    relist(files)
    resign(files, store_key(made["cli"]))
    code, report = verify(write(made["tmp"] / "x.wacz", files), "--trust", str(made["keys"]), cwd=made["tmp"])
    assert code == 1 and set(failed(report)) == {"sealed bundle"}
    assert "bag-info.txt" in failed(report)["sealed bundle"]


def test_a_forged_seal_is_caught(made: dict[str, Any]) -> None:
    """The tag manifest rewritten to match the altered bag-info: the seal no longer verifies."""
    files = members(made["wacz"])
    files["bag/bag-info.txt"] = files["bag/bag-info.txt"].replace(b"Case-Number: ", b"Case-Number: X")
    lines = files["bag/tagmanifest-sha256.txt"].decode().splitlines()
    new = hashlib.sha256(files["bag/bag-info.txt"]).hexdigest()
    files["bag/tagmanifest-sha256.txt"] = "".join(
        (f"{new}  bag-info.txt" if line.endswith(" bag-info.txt") else line) + "\n" for line in lines
    ).encode()
    package = json.loads(files["datapackage.json"])
    package["collector"]["seal_sha256"] = hashlib.sha256(files["bag/tagmanifest-sha256.txt"]).hexdigest()
    files["datapackage.json"] = json.dumps(package).encode()
    relist(files)
    resign(files, store_key(made["cli"]))
    code, report = verify(write(made["tmp"] / "x.wacz", files), "--trust", str(made["keys"]), cwd=made["tmp"])
    assert code == 1 and "does not verify" in failed(report)["sealed bundle"]


# --------------------------------------------------------------------- refusals and bad input


def test_an_investigator_may_not_make_a_package_and_the_refusal_is_recorded(
    sealed: dict[str, Any], tmp_path: Path,
) -> None:
    cli = sealed["cli"].copy(tmp_path / "store")
    out = tmp_path / "a.wacz"
    done = cli.run("wacz", sealed["result"]["bundle_id"], "--out", str(out), as_user="alice")
    assert done.returncode == 3 and "may not export" in done.stderr
    assert not out.exists()
    events = cli.json("ledger", "show", "--subject", sealed["result"]["bundle_id"])
    assert any(e["action"] == "denied.export" for e in events)


@pytest.mark.parametrize("name", ["exists.wacz", "package.zip"])
def test_bad_output_names_are_refused(made: dict[str, Any], name: str) -> None:
    out = made["tmp"] / "out" / name
    out.write_bytes(b"keep me")
    done = made["cli"].run("wacz", made["bundle_id"], "--out", str(out), as_user="erin")
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert out.read_bytes() == b"keep me"


@pytest.mark.parametrize("content", [b"not a zip", b""])
def test_a_file_that_is_not_a_package_is_one_clear_error(tmp_path: Path, content: bytes) -> None:
    bad = tmp_path / "bad.wacz"
    bad.write_bytes(content)
    done = Cli(tmp_path / "none").run("verify", str(bad))
    assert done.returncode == 2 and "not a readable zip" in done.stderr and "Traceback" not in done.stderr


def test_a_package_with_an_escaping_entry_is_refused(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("../escape.txt", b"x")
    bad = tmp_path / "bad.wacz"
    bad.write_bytes(buffer.getvalue())
    done = Cli(tmp_path / "none").run("verify", str(bad))
    assert done.returncode == 2 and "unsafe entry" in done.stderr
    assert not (tmp_path.parent / "escape.txt").exists()


def test_a_package_without_datapackage_fails_cleanly(tmp_path: Path) -> None:
    files = members(REAL_SIGNED)
    del files["datapackage.json"]
    code, report = verify(write(tmp_path / "x.wacz", files), cwd=tmp_path)
    assert code == 1 and "missing or invalid" in failed(report)["package"]


def test_an_unsigned_package_fails(tmp_path: Path) -> None:
    files = members(REAL_SIGNED)
    del files["datapackage-digest.json"]
    code, report = verify(write(tmp_path / "x.wacz", files), cwd=tmp_path)
    assert code == 1 and "not signed" in failed(report)["signature"]


def test_a_store_without_a_wacz_key_says_how_to_make_one(made: dict[str, Any]) -> None:
    cli = made["cli"]
    shutil.move(cli.store / "keys" / "agency" / "archive-signer.key.pem", made["tmp"] / "k.pem")
    done = cli.run("wacz", made["bundle_id"], "--out", str(made["tmp"] / "n.wacz"), as_user="erin")
    assert done.returncode == 2 and "collector keys archive-signer" in done.stderr
    assert not (made["tmp"] / "n.wacz").exists()


# --------------------------------------------------------------------- inside an export


@pytest.fixture
def exported(sealed: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    cli = sealed["cli"].copy(tmp_path / "store")
    bundle_id = sealed["result"]["bundle_id"]
    out = tmp_path / "out" / "export.zip"
    out.parent.mkdir()
    result = cli.json("export", bundle_id, "--recipient", "ADA Jane Roe", "--reason", "discovery",
                      "--format", "wacz", "--out", str(out), as_user="erin")  # fmt: skip
    keys = tmp_path / "out" / "agency-keys.json"
    cli.ok("keys", "export", "--out", str(keys))
    return {"cli": cli, "bundle_id": bundle_id, "zip": out, "keys": keys, "result": result, "tmp": tmp_path}


def export_report(path: Path, keys: Path, cwd: Path) -> tuple[int, dict[str, Any]]:
    done = Cli(cwd / "no-store-here").run("verify", str(path), "--trust", str(keys), "--json")
    return done.returncode, json.loads(done.stdout)


def test_an_export_in_wacz_format_carries_each_bundles_package_and_verifies(exported: dict[str, Any]) -> None:
    bundle_id = exported["bundle_id"]
    assert exported["result"]["packages"] == [f"wacz/{bundle_id}.wacz"]
    files = members(exported["zip"])
    assert f"wacz/{bundle_id}.wacz" in files and f"bundles/{bundle_id}/bag-info.txt" in files
    code, report = export_report(exported["zip"], exported["keys"], exported["tmp"])
    assert code == 0, failed(report)
    package = checks(report)[f"package wacz/{bundle_id}.wacz"]
    assert package["ok"] and "made by Erin Evans" in package["detail"]
    types = [e["type"] for e in exported["cli"].json("custody", "show", bundle_id)]
    assert types[-2:] == ["derived", "exported"]


def test_a_package_swapped_inside_an_export_is_caught(exported: dict[str, Any]) -> None:
    """Another valid package of the same bundle (made after the export) put in the export's
    place: it verifies on its own, but the exported custody log does not record it."""
    later = exported["tmp"] / "out" / "later.wacz"
    exported["cli"].ok("wacz", exported["bundle_id"], "--out", str(later), as_user="erin")
    files = members(exported["zip"])
    files[f"wacz/{exported['bundle_id']}.wacz"] = later.read_bytes()
    code, report = export_report(write(exported["tmp"] / "swapped.zip", files), exported["keys"],
                                 exported["tmp"])  # fmt: skip
    assert code == 1
    assert "no derived event" in failed(report)[f"package wacz/{exported['bundle_id']}.wacz"]


def test_a_package_removed_from_an_export_is_caught(exported: dict[str, Any]) -> None:
    files = members(exported["zip"])
    del files[f"wacz/{exported['bundle_id']}.wacz"]
    code, report = export_report(write(exported["tmp"] / "cut.zip", files), exported["keys"], exported["tmp"])
    assert code == 1 and "missing" in failed(report)[f"package wacz/{exported['bundle_id']}.wacz"]


def test_a_holder_of_the_wacz_key_cannot_make_the_replay_open_another_page(made: dict[str, Any]) -> None:
    """pages.jsonl is in the signed file list; re-signed with the store's key, a page entry
    naming another URL still differs from the sealed metadata's."""
    files = members(made["wacz"])
    header, page = files["pages/pages.jsonl"].decode().splitlines()
    forged = json.loads(page) | {"url": "https://elsewhere.example/"}
    files["pages/pages.jsonl"] = f"{header}\n{json.dumps(forged)}\n".encode()
    relist(files)
    resign(files, store_key(made["cli"]))
    code, report = verify(write(made["tmp"] / "x.wacz", files), "--trust", str(made["keys"]), cwd=made["tmp"])
    assert code == 1 and set(failed(report)) == {"page"}
    assert checks(report)["same as sealed"]["ok"]


def test_copies_may_name_only_the_files_this_format_copies(made: dict[str, Any]) -> None:
    """The WARC's place filled with another sealed file (the page's HTML), the file list naming
    that file as its source and re-signed with the store's key: refused, not "the sealed WARC"."""
    files = members(made["wacz"])
    files["archive/traffic.warc.gz"] = (made["bag"] / "data" / "response.html").read_bytes()
    package = json.loads(files["datapackage.json"])
    package["collector"]["copies"]["archive/traffic.warc.gz"] = "data/response.html"
    files["datapackage.json"] = json.dumps(package).encode()
    relist(files)
    resign(files, store_key(made["cli"]))
    code, report = verify(write(made["tmp"] / "x.wacz", files), "--trust", str(made["keys"]), cwd=made["tmp"])
    assert code == 1 and "names copies this format does not make" in failed(report)["same as sealed"]


def test_a_tag_manifest_naming_a_path_outside_the_bag_is_refused(made: dict[str, Any]) -> None:
    files = members(made["wacz"])
    outside = hashlib.sha256(files["pages/pages.jsonl"]).hexdigest()  # its true digest
    files["bag/tagmanifest-sha256.txt"] += f"{outside}  ../pages/pages.jsonl\n".encode()
    package = json.loads(files["datapackage.json"])
    package["collector"]["seal_sha256"] = hashlib.sha256(files["bag/tagmanifest-sha256.txt"]).hexdigest()
    files["datapackage.json"] = json.dumps(package).encode()
    relist(files)
    resign(files, store_key(made["cli"]))
    code, report = verify(write(made["tmp"] / "x.wacz", files), "--trust", str(made["keys"]), cwd=made["tmp"])
    assert code == 1 and "../pages/pages.jsonl" in failed(report)["sealed bundle"]
