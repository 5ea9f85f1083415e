"""Chain of custody: signed, hash-chained events, and each kind of tampering caught by name."""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest
import rfc8785

from tests.helpers import PASSPHRASES, Cli


@pytest.fixture
def held(sealed: dict[str, Any], tmp_path: Path) -> tuple[Cli, str]:
    """A private copy of the session's store with its sealed bundle."""
    return sealed["cli"].copy(tmp_path / "store"), sealed["result"]["bundle_id"]


def events(cli: Cli, bundle_id: str) -> list[dict[str, Any]]:
    return list(cli.json("custody", "show", bundle_id))


def test_first_event_is_captured_anchored_to_seal_and_signed(held: tuple[Cli, str], tmp_path: Path) -> None:
    cli, bundle_id = held
    first = events(cli, bundle_id)[0]
    assert first["seq"] == 1 and first["type"] == "captured"
    assert first["actor"] == {"user": "alice", "full_name": "Alice Adams", "badge": "I-101"}
    tagmanifest = (cli.store / "bundles" / bundle_id / "tagmanifest-sha256.txt").read_bytes()
    assert first["prev_hash"] == hashlib.sha256(tagmanifest).hexdigest()
    # An outside verifier: canonical JSON (RFC 8785) of everything but hash and signature.
    fields = {k: v for k, v in first.items() if k not in ("hash", "signature")}
    data = rfc8785.dumps(fields)
    assert hashlib.sha256(data).hexdigest() == first["hash"]
    (tmp_path / "event").write_bytes(data)
    (tmp_path / "sig").write_bytes(base64.b64decode(first["signature"]))
    result = subprocess.run(
        ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", cli.store / "keys" / "alice.pub.pem",
         "-rawin", "-in", tmp_path / "event", "-sigfile", tmp_path / "sig"],
        capture_output=True, text=True,
    )
    assert "Signature Verified Successfully" in result.stdout


@pytest.mark.both_backends
def test_verify_view_and_transfer_are_signed_events(held: tuple[Cli, str]) -> None:
    cli, bundle_id = held
    cli.ok("verify", bundle_id, as_user="erin")
    cli.ok("show", bundle_id, as_user="alice")
    cli.ok("custody", "transfer", bundle_id, "--to", "erin", "--reason", "to evidence room", as_user="alice")
    chain = events(cli, bundle_id)
    assert [e["type"] for e in chain] == ["captured", "verified", "viewed", "transferred"]
    assert chain[1]["actor"]["user"] == "erin" and chain[1]["details"]["result"] == "pass"
    assert chain[3]["details"]["from"] == "alice" and chain[3]["details"]["to"] == "erin"
    assert all(e["prev_hash"] == p["hash"] for p, e in itertools.pairwise(chain))
    result = cli.run("custody", "verify", bundle_id)
    assert result.returncode == 0 and "4 events" in result.stdout


@pytest.mark.both_backends
def test_transfer_only_by_holder_or_custodian(held: tuple[Cli, str]) -> None:
    cli, bundle_id = held
    refused = cli.run("custody", "transfer", bundle_id, "--to", "dave", "--reason", "r", as_user="bob")
    assert refused.returncode == 3 and "does not hold" in refused.stderr
    assert cli.run("custody", "transfer", bundle_id, "--to", "nobody", "--reason", "r", as_user="alice").returncode == 2
    assert cli.run("custody", "transfer", bundle_id, "--to", "erin", "--reason", " ", as_user="alice").returncode == 2
    cli.ok("custody", "transfer", bundle_id, "--to", "dave", "--reason", "reassigned", as_user="erin")
    assert events(cli, bundle_id)[-1]["details"]["from"] == "alice"
    auditor_free = cli.run("custody", "transfer", bundle_id, "--to", "alice", "--reason", "r", as_user="root")
    assert auditor_free.returncode == 3


@pytest.mark.both_backends
def test_verify_without_passphrase_records_no_custody_event(held: tuple[Cli, str]) -> None:
    cli, bundle_id = held
    result = cli.run("verify", bundle_id, as_user="erin", passphrase="not-erins")
    assert result.returncode == 3
    assert len(events(cli, bundle_id)) == 1


# ------------------------------------------------------------------ tampering with the stored log


def three_events(cli: Cli, bundle_id: str) -> sqlite3.Connection:
    cli.ok("verify", bundle_id, as_user="erin")
    cli.ok("custody", "transfer", bundle_id, "--to", "erin", "--reason", "to evidence room", as_user="alice")
    db = sqlite3.connect(cli.store / "ledger.sqlite")
    db.execute("DROP TRIGGER custody_no_update")
    db.execute("DROP TRIGGER custody_no_delete")
    return db


def body(db: sqlite3.Connection, bundle_id: str, seq: int) -> dict[str, Any]:
    row = db.execute("SELECT body FROM custody WHERE bundle_id = ? AND seq = ?", (bundle_id, seq)).fetchone()
    return dict(json.loads(row[0]))


def put(db: sqlite3.Connection, bundle_id: str, seq: int, event: dict[str, Any]) -> None:
    db.execute("UPDATE custody SET body = ?, hash = ? WHERE bundle_id = ? AND seq = ?",
               (json.dumps(event), event["hash"] + ("" if seq == event["seq"] else "-moved"), bundle_id, seq))
    db.commit()


def caught(cli: Cli, bundle_id: str, reason: str) -> None:
    result = cli.run("custody", "verify", bundle_id)
    assert result.returncode == 1, result.stdout
    assert reason in result.stdout, result.stdout
    full = cli.run("verify", bundle_id, "--json")
    assert full.returncode == 1
    failed = {c["name"]: c["detail"] for c in json.loads(full.stdout)["checks"] if not c["ok"]}
    assert reason in failed["custody chain"]


def test_edited_actor_caught(held: tuple[Cli, str]) -> None:
    cli, bundle_id = held
    db = three_events(cli, bundle_id)
    event = body(db, bundle_id, 2)
    event["actor"]["user"] = "dave"
    put(db, bundle_id, 2, event)
    caught(cli, bundle_id, "event 2 (verified): content does not match its hash (edited)")


def test_deleted_middle_event_caught(held: tuple[Cli, str]) -> None:
    cli, bundle_id = held
    db = three_events(cli, bundle_id)
    db.execute("DELETE FROM custody WHERE bundle_id = ? AND seq = 2", (bundle_id,))
    db.commit()
    caught(cli, bundle_id, "sequence number 3 where 2 was expected")


def test_deleted_last_event_caught(held: tuple[Cli, str]) -> None:
    cli, bundle_id = held
    db = three_events(cli, bundle_id)
    db.execute("DELETE FROM custody WHERE bundle_id = ? AND seq = 3", (bundle_id,))
    db.commit()
    caught(cli, bundle_id, "log cut short: 2 events where 3 were recorded")


def test_swapped_events_caught(held: tuple[Cli, str]) -> None:
    cli, bundle_id = held
    db = three_events(cli, bundle_id)
    second, third = body(db, bundle_id, 2), body(db, bundle_id, 3)
    put(db, bundle_id, 2, third)
    put(db, bundle_id, 3, second)
    caught(cli, bundle_id, "event 2 (transferred): sequence number 3 where 2 was expected")


def test_resigned_with_another_users_key_caught(held: tuple[Cli, str]) -> None:
    from collector.evidence import keys
    from collector.evidence.custody import canonical

    cli, bundle_id = held
    db = three_events(cli, bundle_id)
    event = body(db, bundle_id, 3)
    event["details"]["to"] = "dave"
    bob = keys.load_private(cli.store / "keys" / "bob.key.pem", PASSPHRASES["bob"], "bob")
    event["key_fingerprint"] = keys.fingerprint(keys.public_pem(bob.public_key()))
    data = canonical({k: v for k, v in event.items() if k not in ("hash", "signature")})
    event["hash"] = hashlib.sha256(data).hexdigest()
    event["signature"] = keys.b64(bob.sign(data))
    put(db, bundle_id, 3, event)
    caught(cli, bundle_id, "event 3 (transferred): signed with bob's key, not the actor alice's")


def test_ledger_rows_cannot_be_changed_through_sqlite(held: tuple[Cli, str]) -> None:
    cli, bundle_id = held
    db = sqlite3.connect(cli.store / "ledger.sqlite")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("DELETE FROM custody WHERE bundle_id = ?", (bundle_id,))
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE bundles SET path = 'elsewhere' WHERE id = ?", (bundle_id,))


def test_a_refused_transfer_leaves_the_bundle_whole(held: tuple[Cli, str], tmp_path: Path) -> None:
    """A refused `custody transfer` is a ledger row without a custody hash; nothing that reads
    custody rows may stumble on it."""
    cli, bundle_id = held
    assert cli.run("custody", "transfer", bundle_id, "--to", "dave", "--reason", "r", as_user="bob").returncode == 3
    assert [e["action"] for e in cli.events()].count("custody.transfer") == 1
    assert cli.ok("verify", bundle_id).stdout.rstrip().endswith("VERIFIED")
    assert cli.run("custody", "verify", bundle_id).returncode == 0
    cli.ok("export", bundle_id, "--recipient", "ADA", "--reason", "discovery", "--out", str(tmp_path / "x.zip"),
           as_user="erin")  # fmt: skip
    cli.ok("audit", "report", "--format", "json", "--out", str(tmp_path / "a.json"), as_user="bob")
