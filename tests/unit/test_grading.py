"""Reliability and validity: grades on a policy scale and corroboration links, as signed custody events."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import Cli
from tests.unit.conftest import RecordedSite

ADMIRALTY_SOURCES = "A (completely reliable), B (usually reliable), C (fairly reliable)"


@pytest.fixture
def held(sealed: dict[str, Any], tmp_path: Path) -> tuple[Cli, str]:
    """A private copy of the session's store with its sealed bundle."""
    target = tmp_path / "store"
    shutil.copytree(sealed["cli"].store, target)
    return Cli(target), sealed["result"]["bundle_id"]


@pytest.fixture(scope="module")
def two_bundles(
    workstation_sealed: dict[str, Any], site: RecordedSite, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Cli, str, str]:
    """The session's store plus a second capture (same authorization), made once per module."""
    sealed = workstation_sealed
    target = tmp_path_factory.mktemp("two-bundles") / "store"
    shutil.copytree(sealed["cli"].store, target)
    cli = Cli(target)
    second = cli.json("capture", site.http_url("/index.html"), "--auth", sealed["auth"], as_user="alice")
    return cli, sealed["result"]["bundle_id"], second["bundle_id"]


@pytest.fixture
def pair(two_bundles: tuple[Cli, str, str], tmp_path: Path) -> tuple[Cli, str, str]:
    """A private copy of the two-bundle store."""
    cli, first, second = two_bundles
    target = tmp_path / "store"
    shutil.copytree(cli.store, target)
    return Cli(target), first, second


def custody(cli: Cli, bundle_id: str) -> list[dict[str, Any]]:
    return list(cli.json("custody", "show", bundle_id))


def verified(cli: Cli, bundle_id: str, count: int) -> None:
    result = cli.run("custody", "verify", bundle_id)
    assert result.returncode == 0, result.stdout
    assert f"{count} events" in result.stdout


# ------------------------------------------------------------------ grading


def test_admiralty_grade_is_signed_custody_event_with_scale_and_meanings(held: tuple[Cli, str]) -> None:
    cli, bundle_id = held
    event = cli.json("grade", bundle_id, "--source", "B", "--content", "2",
                     "--note", "account matches the seller in two earlier cases", as_user="alice")
    assert event["type"] == "graded" and event["seq"] == 2
    assert event["actor"] == {"user": "alice", "full_name": "Alice Adams", "badge": "I-101"}
    details = event["details"]
    assert details["scale"] == "admiralty"
    assert details["scale_description"] == "Admiralty / NATO (STANAG 2511)"
    assert (details["source"], details["source_meaning"]) == ("B", "usually reliable")
    assert (details["content"], details["content_meaning"]) == ("2", "probably true")
    assert details["handling"] is None
    assert details["note"] == "account matches the seller in two earlier cases"
    assert details["label"] == "B2"
    # The event is the one now in the log, signed and chained after `captured`.
    chain = custody(cli, bundle_id)
    assert chain[-1] == event and chain[-1]["prev_hash"] == chain[0]["hash"]
    assert cli.events()[-1]["action"] == "custody.graded"
    verified(cli, bundle_id, 2)


def test_default_scale_comes_from_policy_and_other_scales_validate(held: tuple[Cli, str]) -> None:
    cli, bundle_id = held
    config = cli.store / "collector.toml"
    config.write_text(config.read_text().replace('default_grading_scale = "admiralty"',
                                                 'default_grading_scale = "us-4x4"'))
    us = cli.json("grade", bundle_id, "--source", "usually-reliable", "--content", "probable", as_user="bob")
    assert us["details"]["scale"] == "us-4x4"
    assert us["details"]["content_meaning"] == "probably true"
    uk = cli.json("grade", bundle_id, "--scale", "uk-3x5x2", "--source", "2", "--content", "b",
                  "--handling", "C", as_user="carol")
    d = uk["details"]
    assert (d["scale"], d["source"], d["content"], d["handling"]) == ("uk-3x5x2", "2", "B", "C")
    assert d["content_meaning"] == "known indirectly but corroborated"
    assert d["handling_meaning"] == "lawful sharing with conditions"
    verified(cli, bundle_id, 3)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--source", "Z", "--content", "2"], f"invalid source code 'Z' for scale admiralty: valid codes are {ADMIRALTY_SOURCES}"),
        (["--source", "B", "--content", "9"], "invalid content code '9' for scale admiralty: valid codes are 1 (confirmed by other sources)"),
        (["--scale", "nato", "--source", "B", "--content", "2"], "unknown grading scale 'nato': valid scales are admiralty, uk-3x5x2, us-4x4"),
        (["--scale", "uk-3x5x2", "--source", "1", "--content", "A"], "scale uk-3x5x2 requires --handling: valid codes are P (lawful sharing permitted), C (lawful sharing with conditions)"),
        (["--source", "B", "--content", "2", "--handling", "P"], "scale admiralty has no handling code"),
    ],
)
def test_invalid_grade_refused_with_one_line_and_no_event(
    held: tuple[Cli, str], args: list[str], message: str
) -> None:
    cli, bundle_id = held
    result = cli.run("grade", bundle_id, *args, as_user="alice")
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("collector: ")
    assert message in result.stderr
    assert [e["type"] for e in custody(cli, bundle_id)] == ["captured"]


def test_grade_of_unknown_bundle_refused(held: tuple[Cli, str]) -> None:
    cli, _ = held
    result = cli.run("grade", "no-such-bundle", "--source", "B", "--content", "2", as_user="alice")
    assert result.returncode == 2 and "unknown bundle 'no-such-bundle'" in result.stderr


@pytest.mark.parametrize("who", ["erin", "zed"])
def test_custodian_and_auditor_may_not_grade(held: tuple[Cli, str], who: str) -> None:
    cli, bundle_id = held
    passphrase = None
    if who == "zed":
        cli.ok("user", "add", "zed", "--role", "auditor", "--name", "Zed Zane", "--badge", "X-501",
               as_user="root", new_passphrase="zed-passphrase")
        passphrase = "zed-passphrase"
    result = cli.run("grade", bundle_id, "--source", "A", "--content", "1", as_user=who, passphrase=passphrase)
    assert result.returncode == 3, result.stderr
    assert "may not grade" in result.stderr
    last = cli.events()[-1]
    assert (last["action"], last["outcome"], last["actor"], last["subject"]) == (
        "denied.grade", "refused", who, bundle_id)
    assert [e["type"] for e in custody(cli, bundle_id)] == ["captured"]


def test_regrading_shows_latest_and_history_in_order(held: tuple[Cli, str]) -> None:
    cli, bundle_id = held
    assert cli.json("grades", bundle_id) == {
        "bundle_id": bundle_id, "latest": None, "history": [], "corroborations": []}
    cli.ok("grade", bundle_id, "--source", "F", "--content", "6", as_user="alice")
    cli.ok("show", bundle_id, as_user="alice")  # an unrelated custody event in between
    cli.ok("grade", bundle_id, "--source", "c", "--content", "3", "--note", "seller seen again", as_user="dave")
    cli.ok("grade", bundle_id, "--source", "B", "--content", "2", "--note", "supervisor review", as_user="bob")
    report = cli.json("grades", bundle_id)
    history = report["history"]
    assert [(g["label"], g["by"]["user"], g["seq"]) for g in history] == [
        ("F6", "alice", 2), ("C3", "dave", 4), ("B2", "bob", 5)]
    assert history[1]["note"] == "seller seen again" and history[1]["source"] == "C"
    assert report["latest"] == history[-1]
    assert report["latest"]["content_meaning"] == "probably true"
    text = cli.ok("grades", bundle_id).stdout
    assert "latest  B2 on admiralty: source usually reliable; content probably true" in text
    rows = [line.split() for line in text.splitlines() if line.strip()[:1].isdigit()]
    assert [(row[0], row[2]) for row in rows] == [("2", "F6"), ("4", "C3"), ("5", "B2")]
    verified(cli, bundle_id, 5)


# ------------------------------------------------------------------ corroboration


def test_corroborate_links_both_bundles(pair: tuple[Cli, str, str]) -> None:
    cli, first, second = pair
    events = cli.json("corroborate", first, "--with", second, "--note", "same seller, same handgun",
                      as_user="alice")
    assert [(e["bundle_id"], e["type"], e["details"]["corroborates"]) for e in events] == [
        (first, "graded", second), (second, "graded", first)]
    assert events[0]["details"]["link_id"] == events[1]["details"]["link_id"]
    assert custody(cli, first)[-1] == events[0] and custody(cli, second)[-1] == events[1]
    verified(cli, first, 2)
    verified(cli, second, 2)

    mine, theirs = cli.json("grades", first), cli.json("grades", second)
    assert [(c["other"], c["direction"], c["note"]) for c in mine["corroborations"]] == [
        (second, "outgoing", "same seller, same handgun")]
    assert [(c["other"], c["direction"]) for c in theirs["corroborations"]] == [(first, "incoming")]
    assert mine["history"] == [] and mine["latest"] is None  # a link is not a grade
    assert f"with {second} (corroborate {first} --with {second})" in cli.ok("grades", first).stdout
    assert f"with {first} (corroborate {first} --with {second})" in cli.ok("grades", second).stdout


def test_corroborate_refuses_self_unknown_and_missing_note(held: tuple[Cli, str]) -> None:
    cli, bundle_id = held
    cases = [
        (["--with", bundle_id, "--note", "n"], "cannot corroborate itself"),
        (["--with", "no-such-bundle", "--note", "n"], "unknown bundle 'no-such-bundle'"),
        (["--with", "no-such-bundle"], "--note"),
    ]
    for args, message in cases:
        result = cli.run("corroborate", bundle_id, *args, as_user="alice")
        assert result.returncode == 2, (args, result.stderr)
        assert message in result.stderr
    refused = cli.run("corroborate", bundle_id, "--with", "x", "--note", "n", as_user="erin")
    assert refused.returncode == 3
    assert cli.events()[-1]["action"] == "denied.grade"
    assert [e["type"] for e in custody(cli, bundle_id)] == ["captured"]
    assert json.loads(cli.ok("grades", bundle_id, "--json").stdout)["corroborations"] == []
