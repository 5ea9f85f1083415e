"""Documentation and retention: due dates per class, reviews, legal hold, two-person purges."""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import Cli
from tests.unit.conftest import RecordedSite

INTEL = "intelligence-28cfr23"
PRELIM = "preliminary"
CASE = "case-evidence"
REQUIREMENT = "continuing reasonable suspicion of current criminal activity"
FAR = "2100-01-01"


def plus_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


@pytest.fixture(scope="module")
def classes(workstation_sealed: dict[str, Any], site: RecordedSite,
            tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:  # fmt: skip
    """The session's case-evidence bundle plus one intelligence and one preliminary capture."""
    sealed = workstation_sealed
    target = tmp_path_factory.mktemp("retention") / "store"
    shutil.copytree(sealed["cli"].store, target)
    cli = Cli(target)

    def capture(retention: str, purpose: str) -> str:
        auth = cli.approved([site.http_url("/*")], **{"--retention": retention, "--purpose": purpose})
        return str(cli.json("capture", site.http_url("/index.html"), "--auth", auth, as_user="alice")["bundle_id"])

    ids = {
        CASE: sealed["result"]["bundle_id"],
        INTEL: capture(INTEL, "crime-analysis"),
        PRELIM: capture(PRELIM, "situational-awareness"),
    }
    return {"store": target, "ids": ids}


@pytest.fixture
def store(classes: dict[str, Any], tmp_path: Path) -> tuple[Cli, dict[str, str]]:
    """A private copy of the three-class store."""
    target = tmp_path / "store"
    shutil.copytree(classes["store"], target)
    return Cli(target), dict(classes["ids"])


def status(cli: Cli, bundle_id: str) -> dict[str, Any]:
    return dict(cli.json("retention", "status", bundle_id)[0])


def due(cli: Cli, as_of: str | date) -> dict[str, dict[str, Any]]:
    return {s["bundle_id"]: s for s in cli.json("retention", "due", "--as-of", str(as_of))}


def ledger(cli: Cli, action: str) -> list[dict[str, Any]]:
    return [e for e in cli.events() if e["action"] == action]


# ------------------------------------------------------------------ due dates per class


def test_due_listing_follows_each_class(store: tuple[Cli, dict[str, str]]) -> None:
    cli, ids = store
    states = {s["bundle_id"]: s for s in cli.json("retention", "status")}
    case, intel, prelim = states[ids[CASE]], states[ids[INTEL]], states[ids[PRELIM]]
    assert case["due"] is None and case["until"] == "until case disposition"
    assert case["action"] == "case-disposition"
    captured = datetime.fromisoformat(intel["captured_at"]).date()
    assert intel["due"] == str(plus_years(captured, 5)) and intel["action"] == "review-or-purge"
    prelim_due = plus_years(datetime.fromisoformat(prelim["captured_at"]).date(), 1)
    assert prelim["due"] == str(prelim_due) and prelim["action"] == "purge"

    assert due(cli, prelim_due - timedelta(days=1)) == {}
    on_the_day = due(cli, prelim_due)
    assert set(on_the_day) == {ids[PRELIM]} and on_the_day[ids[PRELIM]]["days_overdue"] == 0
    far = due(cli, FAR)
    assert set(far) == {ids[INTEL], ids[PRELIM]}  # case evidence is never due automatically
    assert far[ids[INTEL]]["days_overdue"] == (date(2100, 1, 1) - plus_years(captured, 5)).days
    assert far[ids[INTEL]]["held"] is False
    text = cli.ok("retention", "due", "--as-of", FAR).stdout
    assert ids[INTEL] in text and ids[CASE] not in text and "review-or-purge" in text


# ------------------------------------------------------------------ reviews


def test_retain_needs_justification_and_starts_a_new_period(store: tuple[Cli, dict[str, str]]) -> None:
    cli, ids = store
    intel = ids[INTEL]
    before = status(cli, intel)
    for reason in ("", "n/a", REQUIREMENT):  # empty, a placeholder, the requirement parroted
        result = cli.run("retention", "review", intel, "--retain", "--reason", reason, as_user="bob")
        assert result.returncode == 2, result.stderr
        assert REQUIREMENT in result.stderr
    refused = cli.run("retention", "review", intel, "--retain", "--reason", "x y z w", as_user="alice")
    assert refused.returncode == 3 and len(refused.stderr.strip().splitlines()) == 1
    assert ledger(cli, "denied.retention.review")[-1]["actor"] == "alice"
    assert status(cli, intel)["last_review"] is None and cli.json("custody", "show", intel)[-1]["type"] == "captured"

    reason = "Account offered two more untraceable handguns for sale on 2026-11-02 and 2026-11-09"
    event = cli.json("retention", "review", intel, "--retain", "--reason", reason, "--years", "2", as_user="bob")["event"]
    reviewed_on = datetime.fromisoformat(event["at"]).date()
    assert event["type"] == "reviewed" and event["actor"]["user"] == "bob"
    d = event["details"]
    assert d["decision"] == "retain" and d["reason"] == reason and d["requirement"] == REQUIREMENT
    assert d["period_end"] == str(plus_years(reviewed_on, 2)) and d["previous_due"] == before["due"]
    after = status(cli, intel)
    assert datetime.fromisoformat(after["period_start"]) == datetime.fromisoformat(event["at"])
    new_due = plus_years(reviewed_on, 2)
    assert after["due"] == str(new_due) != before["due"] and after["last_review"]["by"] == "bob"
    assert intel in due(cli, new_due) and intel not in due(cli, new_due - timedelta(days=1))
    assert cli.run("custody", "verify", intel).returncode == 0


def test_promoting_preliminary_stops_the_automatic_purge(store: tuple[Cli, dict[str, str]]) -> None:
    cli, ids = store
    reason = "Promoted to case HPD-2026-000123: the seller is the suspect in the firearms case"
    cli.ok("retention", "review", ids[PRELIM], "--retain", "--reason", reason, as_user="carol")
    state = status(cli, ids[PRELIM])
    assert state["promoted"] is True and state["action"] == "review"
    assert due(cli, FAR)[ids[PRELIM]]["action"] == "review"


# ------------------------------------------------------------------ legal hold and purges


def test_hold_blocks_purge_and_release_unblocks(store: tuple[Cli, dict[str, str]]) -> None:
    cli, ids = store
    bundle = ids[PRELIM]
    request = cli.json("purge", bundle, "--reason", "preliminary period over, not promoted", as_user="erin")
    assert request["status"] == "pending" and request["requested_by"] == "erin"
    cli.ok("hold", bundle, "--reason", "Preservation letter, Doe v. City", as_user="bob")
    assert due(cli, FAR)[bundle]["held"] is True
    assert cli.run("hold", bundle, "--reason", "x", as_user="alice").returncode == 3  # investigators may not

    blocked = cli.run("purge", "approve", request["id"], as_user="carol")
    assert blocked.returncode == 3 and "legal hold" in blocked.stderr
    assert len(blocked.stderr.strip().splitlines()) == 1
    assert (cli.store / "bundles" / bundle / "bagit.txt").is_file()
    assert ledger(cli, "denied.purge.approve")[-1]["details"]["reason"].endswith("it cannot be purged")

    cli.ok("release", bundle, "--reason", "Doe v. City settled", as_user="erin")
    assert cli.json("custody", "show", bundle)[-1]["details"]["hold_reason"] == "Preservation letter, Doe v. City"
    cli.ok("purge", "approve", request["id"], as_user="carol")
    assert not (cli.store / "bundles" / bundle).exists()


def test_purge_takes_two_different_people_and_keeps_the_record(store: tuple[Cli, dict[str, str]]) -> None:
    cli, ids = store
    bundle = ids[INTEL]
    seal = cli.json("custody", "show", bundle)[0]["prev_hash"]
    review = cli.json("retention", "review", bundle, "--purge", "--reason", "No current criminal activity since 2026", as_user="bob")
    request_id = review["request"]["id"]
    assert review["event"]["details"]["decision"] == "purge"

    for user, why in (("bob", "separation of duties"), ("alice", "may not approve"), ("erin", "may not approve")):
        result = cli.run("purge", "approve", request_id, as_user=user)
        assert result.returncode == 3 and why in result.stderr, (user, result.stderr)
    assert [e["actor"] for e in ledger(cli, "denied.purge.approve")] == ["bob", "alice", "erin"]
    assert (cli.store / "bundles" / bundle / "bagit.txt").is_file()
    assert [r["id"] for r in cli.json("purge", "list")] == [request_id]

    done = cli.json("purge", "approve", bundle, as_user="carol")
    assert done["tombstone"]["approved_by"] == ["carol"] and done["tombstone"]["requested_by"] == "bob"
    assert not (cli.store / "bundles" / bundle).exists() and not any((cli.store / "work").iterdir())

    chain = cli.json("custody", "show", bundle)
    assert [e["type"] for e in chain] == ["captured", "reviewed", "purged"]
    purged = chain[-1]
    assert purged["actor"]["user"] == "carol" and purged["details"]["seal_sha256"] == seal
    db = sqlite3.connect(cli.store / "ledger.sqlite")
    row = db.execute("SELECT seal_sha256, requested_by, approved_by, custody_hash, reason FROM purge_tombstones"
                     " WHERE bundle_id = ?", (bundle,)).fetchone()
    assert row == (seal, "bob", json.dumps(["carol"]), purged["hash"], "No current criminal activity since 2026")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("DELETE FROM purge_tombstones")
    assert db.execute("SELECT count(*) FROM bundles WHERE id = ?", (bundle,)).fetchone() == (1,)
    db.close()  # the failed DELETE left a transaction open

    verify = cli.run("verify", bundle)
    assert verify.returncode == 5, verify.stdout + verify.stderr
    line = verify.stderr.strip()
    assert len(line.splitlines()) == 1 and "PURGED under policy" in line
    assert "approved by carol" in line and "No current criminal activity" in line and "custody log intact" in line
    assert "Traceback" not in line and "FAILED" not in verify.stdout and "missing" not in line
    assert ledger(cli, "bundle.verify")[-1]["details"]["purged"] is True

    custody = cli.run("custody", "verify", bundle)
    assert custody.returncode == 0 and "3 events" in custody.stdout
    assert status(cli, bundle)["action"] == "purged" and bundle not in due(cli, FAR)
    again = cli.run("purge", bundle, "--reason", "again", as_user="erin")
    assert again.returncode == 2 and "purged" in again.stderr


def test_tampered_log_of_a_purged_bundle_fails_verification(store: tuple[Cli, dict[str, str]]) -> None:
    cli, ids = store
    bundle = ids[CASE]
    cli.ok("purge", bundle, "--reason", "Case HPD-2026-000123 disposed, appeal window closed", as_user="erin")
    cli.ok("purge", "approve", bundle, as_user="bob")
    db = sqlite3.connect(cli.store / "ledger.sqlite")
    db.execute("DROP TRIGGER custody_no_delete")
    db.execute("DELETE FROM custody WHERE bundle_id = ? AND seq = 2", (bundle,))
    db.commit()
    result = cli.run("verify", bundle)
    assert result.returncode == 1 and "FAILED" in result.stdout and "purged" in result.stdout
    assert cli.run("custody", "verify", bundle).returncode == 1


def test_unknown_ids_are_usage_errors(store: tuple[Cli, dict[str, str]]) -> None:
    cli, _ids = store
    for args, user in ((("purge", "B-NOSUCH", "--reason", "r"), "erin"), (("purge", "approve", "PRG-NOSUCH"), "bob"),
                       (("hold", "B-NOSUCH", "--reason", "r"), "erin")):
        result = cli.run(*args, as_user=user)
        assert result.returncode == 2 and "NOSUCH" in result.stderr, result.stderr
    assert cli.run("retention", "due", "--as-of", "tomorrow").returncode == 2
