"""Stores on read-only media verify and read, and say what could not be recorded; a missing or
damaged ledger is one clear line, never made again empty."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import Cli


def _digests(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}  # fmt: skip


@pytest.fixture
def read_only(sealed: dict[str, Any], tmp_path: Path) -> Iterator[tuple[Cli, str, dict[str, str]]]:
    """A copy of the sealed store, bind-mounted read-only (as write-protected media are)."""
    source = tmp_path / "store"
    shutil.copytree(sealed["cli"].store, source)
    Cli(source).ok("auth", "list")  # settle recovery and the checkpoint interval while writable
    mounted = tmp_path / "media"
    mounted.mkdir()
    for command in (["mount", "--bind", str(source), str(mounted)],
                    ["mount", "-o", "remount,ro,bind", str(mounted)]):  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True)
        assert done.returncode == 0, f"this suite runs as root and bind-mounts: {done.stderr}"
    try:
        assert subprocess.run(["touch", str(mounted / "probe")], capture_output=True).returncode != 0
        yield Cli(mounted), sealed["result"]["bundle_id"], _digests(source)
    finally:
        subprocess.run(["umount", str(mounted)], check=True)


def test_a_store_on_read_only_media_verifies_and_says_nothing_was_recorded(
    read_only: tuple[Cli, str, dict[str, str]], tmp_path: Path
) -> None:
    cli, bundle_id, before = read_only
    result = cli.run("verify", bundle_id, "--json")
    assert result.returncode == 0, result.stdout
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["recorded"]["warning"]
    assert checks["recorded"]["detail"] == "this verification could not be recorded: the store is on read-only media"
    ledger = cli.run("ledger", "verify")
    assert ledger.returncode == 0 and "! recorded: this verification could not be recorded" in ledger.stdout
    assert "read-only media: this command records nothing" in ledger.stderr
    for args in (["ledger", "show", "--json"], ["custody", "show", bundle_id, "--json"],
                 ["custody", "verify", bundle_id], ["keys", "list"], ["user", "list"],
                 ["keys", "export", "--out", str(tmp_path / "keys.json")]):  # fmt: skip
        done = cli.run(*args)
        assert done.returncode == 0, (args, done.stderr)
    shown = cli.run("show", bundle_id, "--json", as_user="alice")
    assert shown.returncode == 0 and json.loads(shown.stdout)["bundle_id"] == bundle_id
    assert "this view could not be recorded" in shown.stderr
    report = cli.run("audit", "report", "--format", "md", "--out", str(tmp_path / "audit.md"), as_user="carol")
    assert report.returncode == 0, report.stderr
    assert "NOT recorded: the store is on read-only media" in report.stdout
    assert "Integrity" in (tmp_path / "audit.md").read_text()
    # what would record is refused with one line, and nothing on the media changed
    graded = cli.run("grade", bundle_id, "--source", "A", "--content", "1", as_user="alice")
    assert graded.returncode == 2
    assert graded.stderr.strip().endswith("the store is on read-only media: nothing can be recorded in ledger.sqlite")
    assert "internal error" not in graded.stderr
    assert _digests(cli.store) == before


@pytest.mark.parametrize("damage", ["missing", "garbage", "truncated"])
def test_a_damaged_ledger_is_one_clear_line(store: Cli, damage: str) -> None:
    ledger = store.store / "ledger.sqlite"
    for extra in ("ledger.sqlite-journal", "ledger.sqlite-wal", "ledger.sqlite-shm"):
        (store.store / extra).unlink(missing_ok=True)
    if damage == "missing":
        ledger.unlink()
    elif damage == "garbage":
        ledger.write_bytes(b"this is not a database\n" * 100)
    else:
        ledger.write_bytes(ledger.read_bytes()[:5000])
    for args in (["auth", "list"], ["keys", "list"], ["verify", "B-20260101T000000Z-00000000"]):
        result = store.run(*args)
        assert result.returncode == 2, (args, result.stderr)
        assert result.stderr.startswith("collector: the store is damaged: its ledger")
        assert result.stderr.count("\n") == 1 and "internal error" not in result.stderr
    checked = store.run("ledger", "verify")
    assert checked.returncode == 1 and checked.stdout.splitlines()[-1] == "LEDGER FAILED"
    assert ledger.exists() == (damage != "missing")  # never made again, empty
