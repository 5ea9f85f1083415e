"""A user's own profile (title, qualifications, training): stated only by that user, kept in the ledger."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import Cli, make_store


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    return make_store(tmp_path_factory.mktemp("profiles"))


def test_no_profile_until_the_user_states_one(cli: Cli) -> None:
    assert cli.json("user", "profile", "carol") is None
    assert "carol has stated no profile" in cli.ok("user", "profile", "carol").stdout


def test_user_states_own_profile_and_newest_wins(cli: Cli) -> None:
    cli.ok("user", "profile", "erin", "--title", "Evidence Custodian",
           "--qualifications", "12 years in digital evidence", as_user="erin")  # fmt: skip
    cli.ok("user", "profile", "erin", "--title", "Senior Evidence Custodian",
           "--qualifications", "13 years in digital evidence; CFCE", "--training",
           "collector operator course, 2026", as_user="erin")  # fmt: skip
    shown = cli.json("user", "profile", "erin")
    assert shown["title"] == "Senior Evidence Custodian"
    assert shown["training"] == "collector operator course, 2026"
    event = next(e for e in cli.events() if e["seq"] == shown["ledger_event"])
    assert event["action"] == "user.profile" and event["actor"] == "erin"


def test_nobody_states_anyone_elses_qualifications(cli: Cli) -> None:
    result = cli.run("user", "profile", "alice", "--title", "Chief", "--qualifications", "none",
                     as_user="bob")  # fmt: skip
    assert result.returncode == 3
    assert "only that user may set it" in result.stderr
    assert cli.json("user", "profile", "alice") is None
    assert any(e["action"] == "denied.profile" for e in cli.events())


def test_wrong_passphrase_and_missing_fields_change_nothing(cli: Cli, tmp_path: Path) -> None:
    bad = cli.run("user", "profile", "dave", "--title", "Det.", "--qualifications", "x",
                  as_user="dave", passphrase="wrong")  # fmt: skip
    assert bad.returncode == 3
    half = cli.run("user", "profile", "dave", "--title", "Det.", as_user="dave")
    assert half.returncode == 2 and "both --title and --qualifications" in half.stderr
    assert cli.json("user", "profile", "dave") is None
