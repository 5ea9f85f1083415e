"""The installed `collector` entry point itself: a real process, its exit status and output.

Everything else runs the same command line in-process (tests/helpers.py, `Cli.run`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

import collector
from collector.__main__ import captures_here
from tests.helpers import Cli


def test_installed_command_runs_and_reports_its_version(tmp_path: Path) -> None:
    done = Cli(tmp_path / "none").run_process("version")
    assert done.returncode == 0 and done.stdout == f"collector {collector.__version__}\n"


def test_errors_are_one_line_with_their_exit_code_in_a_real_process(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "none")
    missing = cli.run_process("ledger", "verify")
    assert missing.returncode == 2
    assert missing.stderr.count("\n") == 1 and missing.stderr.startswith("collector: no evidence store")
    bad = cli.run_process("capture")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def _store_with_ann(path: Path, role: str) -> Cli:
    """A store made by real processes, with one user, ann (passphrase "ann-passphrase")."""
    cli = Cli(path)
    assert cli.run_process("init", "--agency", "Entry Point PD").returncode == 0
    made = cli.run_process("user", "add", "ann", "--role", role, "--name", "Ann", "--badge", "1",
                           new_passphrase="ann-passphrase")  # fmt: skip
    assert made.returncode == 0, made.stderr
    return cli


def test_a_store_made_in_one_process_is_used_by_the_next(tmp_path: Path) -> None:
    cli = _store_with_ann(tmp_path / "store", "admin")
    status = cli.run_process("store", "status", "--json")
    assert status.returncode == 0 and '"state": "current"' in status.stdout
    assert "events, chain intact" in cli.run_process("ledger", "verify").stdout


@pytest.mark.parametrize(
    ("argv", "early"),
    [
        (["capture", "https://example.org/p/1", "--auth", "AUTH-1"], True),
        (["--store", "/srv/evidence", "--as", "alice", "capture", "https://example.org/"], True),
        (["--store=/srv/e", "capture", "https://example.org/", "--note", "capture"], True),
        (["--as", "capture", "verify", "B-1"], False),  # "capture" is a user name here
        (["capture", "https://example.org/", "--queue"], False),
        (["capture", "--from", "urls.txt", "--auth", "AUTH-1"], True),
        (["capture", "--from=urls.txt", "--queue"], False),
        (["capture", "--resume", "BATCH-1"], True),
        (["capture", "--help"], False),
        (["verify", "capture"], False),
        (["watch", "run"], False),
        ([], False),
    ],
)
def test_only_a_capture_in_this_process_starts_the_browser_driver_early(argv: list[str], early: bool) -> None:
    assert captures_here(argv) is early


def test_a_refused_capture_in_a_real_process_ends_with_its_early_driver(tmp_path: Path) -> None:
    """The driver started with the command does not keep a refused capture's process alive."""
    cli = _store_with_ann(tmp_path / "store", "investigator")
    refused = cli.run_process("capture", "https://example.org/p/1", as_user="ann", passphrase="ann-passphrase",
                              timeout=60)  # fmt: skip
    assert refused.returncode == 3, refused.stderr
    assert refused.stderr.count("\n") == 1 and "Traceback" not in refused.stderr
    assert not list((tmp_path / "store" / "bundles").iterdir())
