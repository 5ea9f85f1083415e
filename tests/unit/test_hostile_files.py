"""Files from outside are hostile: only regular files are read, never more than a bound, and
nothing blocks. Cases that used to hang run as processes with a time limit, so a regression
fails instead of stalling the suite."""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import Cli

HANG_LIMIT_S = 60


@pytest.fixture
def bag(sealed: dict[str, Any], tmp_path: Path) -> tuple[Path, Path]:
    """A writable copy of the sealed bundle, and the key list that anchors it."""
    copy = tmp_path / "bundle"
    shutil.copytree(sealed["path"], copy)
    for dirpath, _dirs, names in os.walk(copy):
        os.chmod(dirpath, 0o755)
        for name in names:
            os.chmod(os.path.join(dirpath, name), 0o644)
    keys = tmp_path / "agency-keys.json"
    Cli(sealed["cli"].store).ok("keys", "export", "--out", str(keys))
    return copy, keys


def _verify(tmp_path: Path, target: Path, *args: str) -> tuple[int, dict[str, str]]:
    done = Cli(tmp_path / "no-store").run_process("verify", str(target), "--json", *args, timeout=HANG_LIMIT_S)
    assert "internal error" not in done.stderr and "Traceback" not in done.stderr
    return done.returncode, {c["name"]: c["detail"] for c in json.loads(done.stdout)["checks"] if not c["ok"]}


@pytest.mark.parametrize("kind", ["fifo", "link-to-dev-zero", "link-outside", "extra-directory", "linked-directory"])
def test_a_bag_with_anything_but_regular_files_fails_without_reading_it(
    bag: tuple[Path, Path], tmp_path: Path, kind: str
) -> None:
    copy, keys = bag
    page = copy / "data" / "page.html"
    outside = tmp_path / "same-content.html"
    shutil.copy(page, outside)
    if kind == "fifo":
        page.unlink()
        os.mkfifo(page)
        expected = "data/page.html is a FIFO: only regular files are read"
    elif kind == "link-to-dev-zero":
        page.unlink()
        page.symlink_to("/dev/zero")
        expected = "data/page.html is a symbolic link: only regular files are read"
    elif kind == "link-outside":  # identical bytes, outside the bag: still not read
        page.unlink()
        page.symlink_to(outside)
        expected = "data/page.html is a symbolic link: only regular files are read"
    elif kind == "extra-directory":
        (copy / "notes").mkdir()
        expected = "notes/ is a directory outside data/"
    else:
        (copy / "data" / "more").symlink_to(tmp_path)
        expected = "data/more is a symbolic link: only regular files are read"
    code, failed = _verify(tmp_path, copy, "--trust", str(keys))
    assert code == 1
    assert expected in failed["no unexpected files"]


def test_a_seal_file_that_is_a_fifo_does_not_block(bag: tuple[Path, Path], tmp_path: Path) -> None:
    copy, keys = bag
    (copy / "seal.tsr").unlink(missing_ok=True)
    os.mkfifo(copy / "seal.tsr")
    (copy / "seal.sig").unlink()
    os.mkfifo(copy / "seal.sig")
    code, failed = _verify(tmp_path, copy, "--trust", str(keys))
    assert code == 1 and "seal.sig" in failed["seal signature"]


@pytest.mark.parametrize("what", ["dev-zero", "fifo", "directory"])
def test_named_inputs_must_be_regular_files(bag: tuple[Path, Path], tmp_path: Path, what: str) -> None:
    copy, _keys = bag
    target = {"dev-zero": Path("/dev/zero"), "directory": tmp_path}.get(what, tmp_path / "fifo")
    if what == "fifo":
        os.mkfifo(target)
    nowhere = Cli(tmp_path / "no-store")
    kind = {"dev-zero": "a character device", "fifo": "a FIFO", "directory": "a directory"}[what]
    for args in (["verify", str(copy), "--trust", str(target)],
                 ["--store", str(tmp_path / "new"), "init", "--tsa-url", "http://127.0.0.1:9/",
                  "--tsa-root", str(target)]):  # fmt: skip
        done = nowhere.run_process(*args, timeout=HANG_LIMIT_S)
        assert done.returncode == 2, done.stderr
        assert done.stderr.strip().endswith(f"{target} is {kind}, not a regular file")
    assert not (tmp_path / "new").exists()


def test_exhibit_checks_the_certificate_file_before_asking_its_passphrase(store: Cli, tmp_path: Path) -> None:
    result = store.run("exhibit", "B-20260101T000000Z-00000000", "--number", "1", "--declarant", "erin",
                       "--out", str(tmp_path / "x.pdf"), "--sign", str(tmp_path / "absent.p12"), as_user="erin")
    assert result.returncode == 2 and "absent.p12: no such file" in result.stderr
    assert "passphrase" not in result.stderr


# ------------------------------------------------------------------ exports


def _rezip(source: Path, target: Path, change: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, change.pop(info.filename, src.read(info.filename)))
        for name, data in change.items():
            dst.writestr(name, data)
    return target


def test_zip_bombs_and_odd_entries_are_refused_before_they_are_written(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", b"{}")
        with zf.open("bundles/zeros.bin", "w") as member:  # 1 GiB of zeros, about 1 MB packed
            block = b"\0" * (1024 * 1024)
            for _ in range(1024):
                member.write(block)
    assert bomb.stat().st_size < 5 * 1024 * 1024
    cases = {
        "bomb": (bomb, "expands implausibly (zip bomb?)"),
        "file-then-directory": ({"a": b"x", "a/b": b"y"}, "cannot extract 'a/b'"),
        "deep": ({"/".join(["d"] * 40) + "/f": b"y"}, "unsafe entry"),
        "long-name": ({"x" * 300 + "/" + "y" * 300: b"y"}, "cannot extract"),
        "absolute": ({"/etc/evil": b"y"}, "unsafe entry"),
        "parent": ({"../evil": b"y"}, "unsafe entry"),
    }
    nowhere = Cli(tmp_path / "no-store")
    for name, (content, message) in cases.items():
        path = content if isinstance(content, Path) else tmp_path / f"{name}.zip"
        if isinstance(content, dict):
            with zipfile.ZipFile(path, "w") as zf:
                for member, data in content.items():
                    zf.writestr(member, data)
        done = nowhere.run_process("verify", str(path), timeout=HANG_LIMIT_S)
        assert done.returncode == 2, (name, done.stderr)
        assert message in done.stderr and done.stderr.count("\n") == 1, (name, done.stderr)
    assert not (tmp_path / "evil").exists() and not Path("/etc/evil").exists()


def test_an_export_manifest_names_bundles_by_id_only(sealed: dict[str, Any], tmp_path: Path) -> None:
    cli = Cli(tmp_path / "store")
    shutil.copytree(sealed["cli"].store, cli.store)
    bundle_id = sealed["result"]["bundle_id"]
    cli.ok("custody", "transfer", bundle_id, "--to", "erin", "--reason", "room", as_user="alice")
    out = tmp_path / "export.zip"
    cli.ok("export", bundle_id, "--recipient", "R", "--reason", "discovery", "--out", str(out), as_user="erin")
    with zipfile.ZipFile(out) as zf:
        manifest = json.loads(zf.read("manifest.json"))
    manifest["bundles"][0]["id"] = str(cli.store / "bundles" / bundle_id)  # an absolute path
    forged = _rezip(out, tmp_path / "forged.zip", {"manifest.json": json.dumps(manifest).encode()})
    done = Cli(tmp_path / "no-store").run_process("verify", str(forged), "--json", timeout=HANG_LIMIT_S)
    report = json.loads(done.stdout)
    assert done.returncode == 1 and report["bundles"] == []
    check = next(c for c in report["checks"] if c["name"] == "export manifest")
    assert not check["ok"] and "manifest.json missing or invalid" in check["detail"]


def test_a_bomb_that_lies_about_its_size_is_stopped_within_its_budget(tmp_path: Path) -> None:
    """The central directory says 1 000 bytes; the member inflates to 256 MiB. Extraction
    stops at the declared size (the CRC then fails), and nothing past it is on disk."""
    from collector.disclosure.safezip import safe_extract
    from collector.errors import UsageError

    liar = tmp_path / "liar.zip"
    block = b"\0" * (1024 * 1024)
    with zipfile.ZipFile(liar, "w", zipfile.ZIP_DEFLATED) as zf, zf.open("bundles/zeros.bin", "w") as member:
        for _ in range(256):
            member.write(block)
    data = bytearray(liar.read_bytes())
    central = data.index(b"PK\x01\x02")
    assert int.from_bytes(data[central + 24 : central + 28], "little") == 256 * 1024 * 1024
    data[central + 24 : central + 28] = (1000).to_bytes(4, "little")  # uncompressed size
    liar.write_bytes(bytes(data))
    with zipfile.ZipFile(liar) as zf:
        assert zf.getinfo("bundles/zeros.bin").file_size == 1000
    target = tmp_path / "out"
    target.mkdir()
    with pytest.raises(UsageError, match=r"cannot extract 'bundles/zeros.bin' \(Bad CRC-32"):
        safe_extract(liar, target)
    written = sum(p.stat().st_size for p in target.rglob("*") if p.is_file())
    assert written <= 1000
