"""`collector exhibit` end to end: a real capture, the packet PDF checked with poppler, the
dissemination recorded, and no exhibit at all when something does not check out."""

from __future__ import annotations

import hashlib
import json
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from fixtures.server import FixtureServer
from tests.helpers import Cli

pytestmark = pytest.mark.e2e

PROFILE = ("--title", "Evidence Custodian, Digital Evidence Unit", "--qualifications",
           "Nine years handling digital evidence; custodian of the agency's evidence store")  # fmt: skip


@pytest.fixture(scope="module")
def captured(e2e_template: Cli, site: FixtureServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("exhibit")
    shutil.copytree(e2e_template.store, root / "store")
    cli = Cli(root / "store")
    auth_id = cli.approved([site.http_url("/*")])
    result = cli.json("capture", site.http_url("/mastodon/status.html"), "--auth", auth_id, as_user="alice")
    cli.ok("user", "profile", "erin", *PROFILE, as_user="erin")
    return {"cli": cli, "bundle": result["bundle_id"], "path": Path(result["path"]), "root": root}


def pdftext(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout  # fmt: skip


def test_exhibit_text_hashes_and_dissemination(captured: dict[str, Any], tmp_path: Path) -> None:
    cli, bundle = captured["cli"], captured["bundle"]
    out = tmp_path / "exhibit-12.pdf"
    result = cli.ok("exhibit", bundle, "--number", "12", "--declarant", "erin", "--out", str(out),
                    "--recipient", "ADA Jane Roe", "--reason", "trial exhibit", "--bates-prefix", "HPD-",
                    as_user="erin")  # fmt: skip
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    assert f"sha256   {digest}" in result.stdout
    text = pdftext(out)
    flat = " ".join(text.split())
    meta = json.loads((captured["path"] / "data" / "metadata.json").read_text())
    assert meta["case_number"] in flat
    assert "/mastodon/status.html" in flat
    for art in meta["artifacts"]:
        assert art["sha256"] in flat, art["path"]
    assert "Erin" in flat and "Evidence Custodian, Digital Evidence Unit" in flat
    assert meta["authorization"]["approved_by"]["full_name"] in flat
    assert "I declare under penalty of perjury that the foregoing is true and correct" in flat
    assert "902(11)" in flat and "HPD-" in flat
    pages = int(next(line.split()[-1] for line in subprocess.run(
        ["pdfinfo", str(out)], capture_output=True, text=True, check=True).stdout.splitlines()
        if line.startswith("Pages:")))  # fmt: skip
    assert f"of {pages}" in flat
    custody = cli.json("custody", "show", bundle)
    events = custody["events"] if isinstance(custody, dict) else custody
    # other tests of this module make exhibits of the same bundle: find this one's event
    sent = [e for e in events if e["type"] == "disseminated" and e["details"]["sha256"] == digest]
    assert len(sent) == 1
    assert sent[0]["details"]["recipient"] == "ADA Jane Roe"
    assert sent[0]["details"]["pages"] == pages
    again = cli.run("exhibit", bundle, "--number", "12", "--declarant", "erin", "--out", str(out),
                    as_user="erin")  # fmt: skip
    assert again.returncode == 2 and "exists: it is never overwritten" in again.stderr


def test_no_certification_without_the_declarants_own_profile(captured: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "x.pdf"
    result = captured["cli"].run("exhibit", captured["bundle"], "--number", "1", "--declarant", "alice",
                                 "--out", str(out), as_user="erin")  # fmt: skip
    assert result.returncode == 2
    assert "has stated no title and qualifications" in result.stderr
    assert "Traceback" not in result.stderr and not out.exists()


def test_only_custodians_make_exhibits(captured: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "x.pdf"
    result = captured["cli"].run("exhibit", captured["bundle"], "--number", "1", "--declarant", "erin",
                                 "--out", str(out), as_user="alice")  # fmt: skip
    assert result.returncode == 3 and not out.exists()


def test_redacted_copy_leaves_the_original_whole(captured: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "exhibit-13.pdf"
    captured["cli"].ok("exhibit", captured["bundle"], "--number", "13", "--declarant", "erin",
                       "--out", str(out), "--redact", "Alice Example", as_user="erin")  # fmt: skip
    redacted = tmp_path / "exhibit-13.redacted.pdf"
    original, copy = " ".join(pdftext(out).split()), " ".join(pdftext(redacted).split())
    assert "Alice Example" in original
    assert "Alice Example" not in copy and "REDACTED" in copy
    assert "withheld" in copy  # screenshots cannot be redacted by pattern


def test_signed_exhibit_verifies_with_pdfsig(captured: dict[str, Any], tmp_path: Path) -> None:
    key, cert, p12 = tmp_path / "k.pem", tmp_path / "c.pem", tmp_path / "agency.p12"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-keyout", str(key), "-out", str(cert), "-days", "30", "-nodes",
                    "-subj", "/O=Test Police Department/CN=Exhibit Signing",
                    "-addext", "keyUsage=critical,digitalSignature,nonRepudiation"],
                   check=True, capture_output=True)  # fmt: skip
    subprocess.run(["openssl", "pkcs12", "-export", "-inkey", str(key), "-in", str(cert), "-out", str(p12),
                    "-passout", "pass:p12-passphrase"], check=True, capture_output=True)  # fmt: skip
    out = tmp_path / "signed.pdf"
    signer = Cli(captured["cli"].store, env={"COLLECTOR_SIGN_PASSPHRASE": "p12-passphrase"})
    result = signer.ok("exhibit", captured["bundle"], "--number", "14", "--declarant", "erin",
                       "--out", str(out), "--sign", str(p12), as_user="erin")  # fmt: skip
    assert "signed   " in result.stdout and "Exhibit Signing" in result.stdout
    checked = subprocess.run(["pdfsig", str(out)], capture_output=True, text=True)
    assert "Signature is Valid" in checked.stdout, checked.stdout


def test_a_bundle_whose_hashes_no_longer_match_gets_no_exhibit(captured: dict[str, Any], tmp_path: Path) -> None:
    cli, path = captured["cli"], captured["path"]
    # A working copy of the store, so the shared capture stays intact for the other tests.
    copy_root = tmp_path / "store"
    shutil.copytree(cli.store, copy_root, symlinks=True)
    tampered = Cli(copy_root)
    target = copy_root / path.relative_to(cli.store) / "data" / "page.html"
    target.chmod(stat.S_IRUSR | stat.S_IWUSR)
    target.write_text(target.read_text().replace("Found this bike", "Found this car"))
    out = tmp_path / "x.pdf"
    result = tampered.run("exhibit", captured["bundle"], "--number", "1", "--declarant", "erin",
                          "--out", str(out), as_user="erin")  # fmt: skip
    assert result.returncode == 1
    assert "does not verify" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists() and not list(tmp_path.glob("*.pdf"))
