"""Evidence made by earlier versions keeps verifying: bundles and exports of every format
this tool ever wrote (tests/data/legacy, made by the commits its README names)."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import REPO, Cli

LEGACY = REPO / "tests" / "data" / "legacy"
VERSIONS = ["v1.0", "v1.1-early", "v1.1", "v1.2"]
BAGIT = REPO / ".venv-tools" / "bin" / "bagit.py"


def _expected(version: str) -> dict[str, Any]:
    path = LEGACY / version / "expected.json"
    assert path.is_file(), f"{path} is part of the suite"
    return dict(json.loads(path.read_text(encoding="utf-8")))


def _bundle(version: str) -> Path:
    expected = _expected(version)
    path = LEGACY / version / "bundle" / expected["bundle_id"]
    assert (path / "bagit.txt").is_file()
    return path


def _nowhere(tmp_path: Path) -> Cli:
    """A command line pointed at no store: verification with nothing but the files."""
    return Cli(tmp_path / "no-store")


def _checks(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in report["checks"]}


@pytest.mark.parametrize("version", VERSIONS)
def test_bundle_of_every_format_verifies_against_its_key_list(version: str, tmp_path: Path) -> None:
    expected = _expected(version)
    bundle = _bundle(version)
    info = (bundle / "bag-info.txt").read_text(encoding="utf-8")
    assert f"Bundle-Format: {expected['bundle_format']}" in info
    seal = hashlib.sha256((bundle / "tagmanifest-sha256.txt").read_bytes()).hexdigest()
    assert seal == expected["seal_sha256"]
    trust = LEGACY / version / "keys" / "agency-keys.json"

    result = _nowhere(tmp_path).run("verify", str(bundle), "--trust", str(trust), "--json")
    report = json.loads(result.stdout)
    assert result.returncode == 0, report
    checks = _checks(report)
    failed = [c for c in report["checks"] if not c["ok"]]
    assert failed == []
    assert checks["bag-info"]["detail"].startswith(expected["bundle_format"])
    artifacts = expected["payload_files"] - 1  # every payload file but metadata.json itself
    assert checks["metadata"]["detail"] == f"{artifacts} artifacts agree with metadata.json"
    assert "authorization" in checks and "time-stamp" in checks
    assert checks["signer key"]["detail"] == "registered to alice"
    # what the old format cannot carry is said, not shown as passed
    signer = checks["signer certificate"]
    version_number = expected["bundle_format"].rsplit("/", 1)[1]
    assert signer["warning"] is True
    assert signer["detail"].startswith(f"format {version_number} carries no signer certificate")


@pytest.mark.parametrize("version", VERSIONS)
def test_bundle_of_every_format_alone_is_not_anchored(version: str, tmp_path: Path) -> None:
    """With neither a store nor a key list, nothing says who signed: the verdict fails on that
    one check, every other check still made."""
    result = _nowhere(tmp_path).run("verify", str(_bundle(version)), "--json")
    report = json.loads(result.stdout)
    assert result.returncode == 1
    failed = {c["name"]: c["detail"] for c in report["checks"] if not c["ok"]}
    assert list(failed) == ["signer certificate"]
    assert failed["signer certificate"].startswith("signer not anchored")


@pytest.mark.parametrize("version", VERSIONS)
def test_export_of_every_format_verifies_against_the_key_list(version: str, tmp_path: Path) -> None:
    expected = _expected(version)
    export = LEGACY / version / expected["export_file"]
    assert hashlib.sha256(export.read_bytes()).hexdigest() == expected["export_sha256"]
    trust = LEGACY / version / "keys" / "agency-keys.json"
    result = _nowhere(tmp_path).run("verify", str(export), "--trust", str(trust), "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "VERIFIED" in _nowhere(tmp_path).run("verify", str(export), "--trust", str(trust)).stdout


@pytest.mark.parametrize("version", VERSIONS)
def test_legacy_bags_pass_bagit_py(version: str) -> None:
    done = subprocess.run([BAGIT, "--validate", _bundle(version)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_a_changed_legacy_bundle_still_fails(tmp_path: Path) -> None:
    """Reading old formats is not leniency: a changed byte in a 1.0 bundle is caught."""
    import shutil

    copy = tmp_path / "bundle"
    shutil.copytree(_bundle("v1.0"), copy)
    page = copy / "data" / "page.html"
    page.chmod(0o644)
    page.write_bytes(page.read_bytes().replace(b"</body>", b"<p>added</p></body>", 1))
    trust = LEGACY / "v1.0" / "keys" / "agency-keys.json"
    result = _nowhere(tmp_path).run("verify", str(copy), "--trust", str(trust), "--json")
    assert result.returncode == 1
    failed = {c["name"]: c["detail"] for c in json.loads(result.stdout)["checks"] if not c["ok"]}
    assert "page.html" in failed["payload sha256"] and "page.html" in failed["metadata"]


def test_unknown_format_is_refused_by_name(tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "bundle"
    shutil.copytree(_bundle("v1.2"), copy)
    info = copy / "bag-info.txt"
    info.chmod(0o644)
    info.write_text(info.read_text().replace("collector-bundle/1.2", "collector-bundle/9.0"))
    result = _nowhere(tmp_path).run("verify", str(copy), "--json")
    checks = _checks(json.loads(result.stdout))
    assert result.returncode == 1
    assert checks["bag-info"]["detail"] == "unknown bundle format 'collector-bundle/9.0'"
