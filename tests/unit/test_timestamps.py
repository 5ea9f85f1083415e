"""Trusted time: a real OpenSSL RFC 3161 authority on 127.0.0.1, pending stamps, clock offsets."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from collector.evidence.timestamp import request_timestamp
from fixtures.ntp import NtpServer
from fixtures.tsa import TsaServer
from tests.helpers import REPO, Cli, make_store
from tests.unit.conftest import RecordedSite

TOOLS = REPO / ".venv-tools" / "bin"


@pytest.fixture(scope="module")
def tsa() -> Iterator[TsaServer]:
    with TsaServer() as server:
        yield server


@pytest.fixture(scope="module")
def rogue_tsa() -> Iterator[TsaServer]:
    with TsaServer(name="Rogue TSA") as server:
        yield server


@pytest.fixture(scope="module")
def ntp_skewed() -> Iterator[NtpServer]:
    with NtpServer(offset_s=120.0) as server:
        yield server


@pytest.fixture(scope="module")
def tsa_template(tmp_path_factory: pytest.TempPathFactory, tsa: TsaServer, site: RecordedSite,
                 ntp_skewed: NtpServer) -> Cli:
    cli = make_store(
        tmp_path_factory.mktemp("tsa-template"),
        extra=["--tsa-url", tsa.url, "--tsa-root", str(tsa.root_cert_path), "--ntp-server", ntp_skewed.address],
    )
    return cli


@pytest.fixture
def tstore(tsa_template: Cli, tmp_path: Path) -> Cli:
    shutil.copytree(tsa_template.store, tmp_path / "store")
    return Cli(tmp_path / "store")


def capture(cli: Cli, site: RecordedSite) -> tuple[dict[str, Any], Path, str]:
    auth_id = cli.approved([site.http_url("/*")])
    result = cli.run("capture", site.http_url("/login-wall.html"), "--auth", auth_id, "--json", as_user="alice")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    return data, Path(data["path"]), result.stderr


def checks(cli: Cli, target: str) -> tuple[int, dict[str, dict[str, Any]]]:
    result = cli.run("verify", target, "--json")
    return result.returncode, {c["name"]: c for c in json.loads(result.stdout)["checks"]}


def test_seal_is_time_stamped_and_verifies_with_openssl(tstore: Cli, site: RecordedSite, tsa: TsaServer) -> None:
    result, bundle, _ = capture(tstore, site)
    assert result["timestamp"]["status"] == "stamped"
    assert result["timestamp"]["url"] == tsa.url
    assert (bundle / "seal.tsr").is_file()
    openssl = subprocess.run(
        ["openssl", "ts", "-verify", "-data", "seal.sig", "-in", "seal.tsr", "-CAfile", str(tsa.root_cert_path)],
        cwd=bundle, capture_output=True, text=True,
    )
    assert "Verification: OK" in openssl.stdout, openssl.stdout + openssl.stderr
    code, found = checks(tstore, result["bundle_id"])
    assert code == 0, [c for c in found.values() if not c["ok"]]
    assert found["time-stamp"]["ok"] and not found["time-stamp"]["warning"]
    assert "during the capture" in found["time-stamp"]["detail"] or "after the capture ended" in found["time-stamp"]["detail"]
    assert subprocess.run([TOOLS / "bagit.py", "--validate", bundle], capture_output=True).returncode == 0
    assert "Time-Source: RFC 3161" in (bundle / "bag-info.txt").read_text()
    obtained = [e for e in tstore.events() if e["action"] == "timestamp.obtained"][-1]
    assert obtained["subject"] == result["bundle_id"]
    chain = obtained["details"]["chain"]
    assert chain[0].startswith("-----BEGIN CERTIFICATE-----") and len(chain) >= 2
    assert chain[-1].strip() == tsa.root_cert_path.read_text().strip()


def test_the_signer_is_judged_at_the_stamped_time(tstore: Cli, site: RecordedSite) -> None:
    result, _bundle, _ = capture(tstore, site)
    code, found = checks(tstore, result["bundle_id"])
    signer = found["signer certificate"]
    assert code == 0 and signer["ok"] and not signer["warning"]
    assert "certified by this store's agency root at " in signer["detail"]
    assert "(local clock)" not in signer["detail"]


def test_a_deleted_seal_tsr_is_caught_when_custody_says_stamped(tstore: Cli, site: RecordedSite) -> None:
    """Deleting the token must not turn a stamped bundle into one that merely awaits a stamp."""
    result, bundle, _ = capture(tstore, site)
    bundle.chmod(0o755)
    (bundle / "seal.tsr").unlink()
    code, found = checks(tstore, result["bundle_id"])
    assert code == 1
    stamp = found["time-stamp"]
    assert not stamp["ok"]
    assert stamp["detail"] == (
        "seal.tsr is missing, but the signed `captured` custody event (seq 1) records the seal as stamped"
    )
    assert result["bundle_id"] not in tstore.json("timestamp", "pending")
    retry = tstore.run("timestamp", "retry", result["bundle_id"], as_user="erin")
    assert retry.returncode != 0 and "was stamped at sealing but its seal.tsr is missing" in retry.stderr


def test_large_clock_offset_is_recorded_and_warned(tstore: Cli, site: RecordedSite, ntp_skewed: NtpServer) -> None:
    result, bundle, stderr = capture(tstore, site)
    assert "differs from NTP server" in stderr
    clock = json.loads((bundle / "data" / "metadata.json").read_text())["clock"]
    assert clock["ntp_server"] == ntp_skewed.address
    assert 119 < clock["ntp_offset_s"] < 121
    code, found = checks(tstore, result["bundle_id"])
    assert code == 0 and found["clock"]["warning"] and "+120" in found["clock"]["detail"]


def test_authority_down_preserves_evidence_then_retry_completes(tstore: Cli, site: RecordedSite, tsa: TsaServer) -> None:
    tsa.set_down(True)
    try:
        result, bundle, stderr = capture(tstore, site)
    finally:
        tsa.set_down(False)
    bundle_id = result["bundle_id"]
    assert result["timestamp"]["status"] == "pending"
    assert result["timestamp"]["attempts"][0]["ok"] is False
    assert "TIME-STAMP PENDING" in stderr
    assert not (bundle / "seal.tsr").exists()
    assert any(e["action"] == "timestamp.pending" and e["subject"] == bundle_id for e in tstore.events())
    code, found = checks(tstore, bundle_id)
    assert code == 0 and found["time-stamp"]["warning"] and "PENDING" in found["time-stamp"]["detail"]
    assert tstore.json("timestamp", "pending") == [bundle_id]

    done = tstore.json("timestamp", "retry", as_user="erin")
    assert [d["bundle_id"] for d in done] == [bundle_id]
    last = tstore.json("custody", "show", bundle_id)[-1]
    assert last["type"] == "timestamped" and last["actor"]["user"] == "erin"
    assert tstore.json("timestamp", "pending") == []
    code, found = checks(tstore, bundle_id)
    assert code == 0
    assert "late stamp" in found["time-stamp"]["detail"] and "after the capture ended" in found["time-stamp"]["detail"]
    assert not list(bundle.glob("seal.tsr"))  # the sealed bundle never changes


def test_retry_with_authority_still_down_fails_cleanly(tstore: Cli, site: RecordedSite, tsa: TsaServer) -> None:
    tsa.set_down(True)
    try:
        result, _, _ = capture(tstore, site)
        retry = tstore.run("timestamp", "retry", result["bundle_id"], as_user="erin")
    finally:
        tsa.set_down(False)
    assert retry.returncode == 4 and "Traceback" not in retry.stderr
    assert tstore.json("timestamp", "pending") == [result["bundle_id"]]


def forged_copy(bundle: Path, tmp_path: Path, token: bytes) -> Path:
    copy = tmp_path / bundle.name
    shutil.copytree(bundle, copy)
    for p in [copy, *copy.rglob("*")]:
        p.chmod(0o755 if p.is_dir() else 0o644)
    (copy / "seal.tsr").write_bytes(token)
    return copy


def test_token_for_other_data_rejected(tstore: Cli, site: RecordedSite, tsa: TsaServer, tmp_path: Path) -> None:
    _, bundle, _ = capture(tstore, site)
    token, _, _ = request_timestamp(b"some other bytes", [tsa.url], [tsa.root_cert_path.read_bytes()])
    code, found = checks(tstore, str(forged_copy(bundle, tmp_path, token)))
    assert code == 1
    assert not found["time-stamp"]["ok"] and "other data" in found["time-stamp"]["detail"]


def test_token_from_untrusted_authority_rejected(tstore: Cli, site: RecordedSite, rogue_tsa: TsaServer, tmp_path: Path) -> None:
    _, bundle, _ = capture(tstore, site)
    token, _, _ = request_timestamp((bundle / "seal.sig").read_bytes(), [rogue_tsa.url], [rogue_tsa.root_cert_path.read_bytes()])
    code, found = checks(tstore, str(forged_copy(bundle, tmp_path, token)))
    assert code == 1
    assert "not signed by a trusted time-stamp authority" in found["time-stamp"]["detail"]


def test_store_without_authority_says_local_clock_only(store: Cli, site: RecordedSite) -> None:
    auth_id = store.approved([site.http_url("/*")])
    result = store.run("capture", site.http_url("/login-wall.html"), "--auth", auth_id, "--json", as_user="alice")
    data = json.loads(result.stdout)
    assert data["timestamp"]["status"] == "not-configured"
    assert "local clock" in result.stderr
    bundle = Path(data["path"])
    assert "Time-Source: local clock only" in (bundle / "bag-info.txt").read_text()
    meta = json.loads((bundle / "data" / "metadata.json").read_text())
    assert meta["timestamping"]["configured"] is False and "local clock" in meta["timestamping"]["statement"]


def test_init_rejects_bad_tsa_settings(tmp_path: Path, tsa: TsaServer) -> None:
    cli = Cli(tmp_path / "s")
    assert cli.run("init", "--tsa-url", tsa.url).returncode == 2
    assert cli.run("init", "--tsa-url", "ftp://x", "--tsa-root", str(tsa.root_cert_path)).returncode == 2
    bogus = tmp_path / "bogus.pem"
    bogus.write_text("not a certificate")
    result = cli.run("init", "--tsa-url", tsa.url, "--tsa-root", str(bogus))
    assert result.returncode == 2 and "not a readable PEM certificate" in result.stderr
    assert not (tmp_path / "s" / "collector.toml").exists()


def test_export_is_time_stamped_and_verifies_storeless(tstore: Cli, site: RecordedSite, tsa: TsaServer, tmp_path: Path) -> None:
    result, _, _ = capture(tstore, site)
    out = tmp_path / "export.zip"
    tstore.ok("export", result["bundle_id"], "--recipient", "Defence counsel", "--reason", "discovery",
              "--out", str(out), as_user="erin")
    keys = tmp_path / "keys.json"
    tstore.ok("keys", "export", "--out", str(keys))
    import zipfile

    unzipped = tmp_path / "x"
    with zipfile.ZipFile(out) as zf:
        zf.extractall(unzipped)
    openssl = subprocess.run(
        ["openssl", "ts", "-verify", "-data", "export.sig", "-in", "export.tsr", "-CAfile", "tsa/root-1.pem"],
        cwd=unzipped, capture_output=True, text=True,
    )
    assert "Verification: OK" in openssl.stdout
    verified = Cli(tmp_path / "none").run("verify", str(out), "--trust", str(keys), "--json")
    assert verified.returncode == 0, verified.stdout
    data = json.loads(verified.stdout)
    export_checks = {c["name"]: c for c in data["checks"]}
    assert export_checks["export time-stamp"]["ok"] and not export_checks["export time-stamp"]["warning"]
    bundle_checks = {c["name"]: c for c in data["bundles"][0]["checks"]}
    assert bundle_checks["time-stamp"]["ok"] and not bundle_checks["time-stamp"]["warning"]
