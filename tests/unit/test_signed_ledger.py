"""The ledger as an insider with write access meets it: every event signed by whoever acted,
checkpoints of its head kept in the store, in every export and in a directory of their own."""

from __future__ import annotations

import json
import sqlite3
import zipfile
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from collector.evidence import keys
from collector.store.signing import event_message
from tests.fakes.forge import insert_key, rewrite_ledger
from tests.helpers import Cli


@pytest.fixture
def held(sealed: dict[str, Any], tmp_path: Path) -> tuple[Cli, str]:
    return sealed["cli"].copy(tmp_path / "store"), sealed["result"]["bundle_id"]


def verify(cli: Cli, *args: str) -> tuple[int, dict[str, dict[str, Any]]]:
    result = cli.run("ledger", "verify", "--json", *args)
    return result.returncode, {c["name"]: c for c in json.loads(result.stdout)["checks"]}


def events(cli: Cli) -> list[dict[str, Any]]:
    return list(json.loads(cli.run("ledger", "show", "--json").stdout))


def external_checkpoint(cli: Cli, tmp_path: Path, name: str = "held-elsewhere.json") -> Path:
    out = tmp_path / name
    cli.ok("ledger", "checkpoint", "--new", "--out", str(out))
    return out


def set_config(cli: Cli, section: str, **values: Any) -> None:
    import tomllib

    path = cli.store / "collector.toml"
    config = tomllib.loads(path.read_text())
    config.setdefault(section, {}).update(values)
    path.write_text(tomli_w.dumps(config))


# ------------------------------------------------------------------ the genuine ledger


def test_every_event_is_signed_by_whoever_acted(held: tuple[Cli, str]) -> None:
    cli, _bundle_id = held
    code, found = verify(cli)
    assert code == 0, found
    assert found["hash chain"]["ok"] and found["signatures"]["ok"] and not found["signatures"]["warning"]
    assert "by the people who acted" in found["signatures"]["detail"]
    assert found["checkpoints"]["ok"] and "each extended by the ledger" in found["checkpoints"]["detail"]
    rows = events(cli)
    assert rows[0]["action"] == "store.init" and rows[0]["details"]["ledger_signing"] == "begins"
    registry = {k["fingerprint"]: k["owner"] for k in cli.json("keys", "list")}
    sealed = next(e for e in rows if e["action"] == "capture.sealed")
    assert registry[sealed["signer"]] == "alice" == sealed["actor"]
    assert registry[rows[0]["signer"]] == "system"
    public = (cli.store / "keys" / "alice.pub.pem").read_bytes()
    assert keys.verify(public, event_message(sealed["hash"]), keys.unb64(sealed["signature"]))


@pytest.mark.both_backends
def test_a_capture_leaves_a_checkpoint_signed_by_the_investigator(held: tuple[Cli, str], tmp_path: Path) -> None:
    cli, _bundle_id = held
    out = tmp_path / "newest.json"
    cli.ok("ledger", "checkpoint", "--out", str(out))
    checkpoint = json.loads(out.read_text())
    assert checkpoint["statement"]["reason"] == "capture" and checkpoint["signer"] == "alice"
    sealed = next(e for e in events(cli) if e["action"] == "capture.sealed")
    assert checkpoint["statement"]["event_count"] >= sealed["seq"]
    again = cli.run("ledger", "checkpoint", "--out", str(out))
    assert again.returncode == 2 and "exists: it is never overwritten" in again.stderr


# ------------------------------------------------------------------ the insider


def test_rows_deleted_and_rehashed_are_caught(held: tuple[Cli, str], tmp_path: Path) -> None:
    """The attack of the issue: a capture.allowed and every refused log-in removed, the chain
    re-hashed and every event the store's key had signed re-signed."""
    cli, _bundle_id = held
    for _ in range(2):
        assert cli.run("auth", "list", as_user="alice", passphrase="wrong-passphrase!").returncode == 3
    removed = rewrite_ledger(
        cli.store / "ledger.sqlite", cli.store / "keys" / "system.key.pem",
        lambda r: r["action"] == "capture.allowed"
        or (r["action"] == "auth.login" and r["outcome"] == "refused"),
    )  # fmt: skip
    assert removed >= 3
    code, found = verify(cli)
    assert code == 1
    assert found["hash chain"]["ok"]  # re-hashed: the chain alone no longer tells
    assert "the signature does not verify" in found["signatures"]["detail"]


def test_resigning_everything_with_the_store_key_is_caught(held: tuple[Cli, str]) -> None:
    cli, _bundle_id = held
    rewrite_ledger(cli.store / "ledger.sqlite", cli.store / "keys" / "system.key.pem",
                   lambda r: r["action"] == "capture.allowed", resign_all=True)  # fmt: skip
    code, found = verify(cli)
    assert code == 1
    detail = found["signatures"]["detail"]
    assert "says bob did auth.approve, but it is signed by system's key" in detail or (
        "but it is signed by system's key" in detail
    )


def test_the_tail_rewritten_with_the_store_key_is_caught_by_a_checkpoint_held_elsewhere(
    held: tuple[Cli, str], tmp_path: Path
) -> None:
    """What the store's own key can do: rewrite events only it signed after the last person's
    signature (here: refused log-ins), and the checkpoints kept inside the store. A checkpoint
    held elsewhere still catches it."""
    cli, _bundle_id = held
    for _ in range(2):
        assert cli.run("auth", "list", as_user="alice", passphrase="wrong-passphrase!").returncode == 3
    outside = external_checkpoint(cli, tmp_path)
    rewrite_ledger(cli.store / "ledger.sqlite", cli.store / "keys" / "system.key.pem",
                   lambda r: r["action"] == "auth.login" and r["outcome"] == "refused")  # fmt: skip
    code, found = verify(cli)
    assert code == 0, found  # inside the store, nothing is left to contradict it
    code, found = verify(cli, "--against", str(outside))
    assert code == 1
    detail = found["against held-elsewhere.json"]["detail"]
    assert "events were removed" in detail or "the ledger was rewritten below it" in detail


def test_the_checkpoints_kept_in_the_store_catch_a_rewrite_below_them(held: tuple[Cli, str]) -> None:
    cli, _bundle_id = held
    rewrite_ledger(cli.store / "ledger.sqlite", cli.store / "keys" / "system.key.pem",
                   lambda r: (r["action"] == "auth.login" and r["outcome"] == "refused") or
                   r["action"] == "capture.allowed", drop_checkpoints=False)  # fmt: skip
    code, found = verify(cli)
    assert code == 1 and not found["checkpoints"]["ok"]
    detail = found["checkpoints"]["detail"]
    assert "the ledger was rewritten below it" in detail or "events were removed" in detail


def test_an_event_signed_by_an_inserted_key_is_caught(held: tuple[Cli, str]) -> None:
    cli, _bundle_id = held
    key = Ed25519PrivateKey.generate()
    fingerprint = insert_key(cli.store / "ledger.sqlite", "bob", key)
    with sqlite3.connect(cli.store / "ledger.sqlite") as db:
        db.row_factory = sqlite3.Row
        last = dict(db.execute("SELECT * FROM events ORDER BY seq DESC LIMIT 1").fetchone())
        from collector.store.ledger import event_hash

        fields = {"seq": last["seq"] + 1, "at": last["at"], "actor": "bob", "action": "auth.approve",
                  "outcome": "ok", "subject": "A-FORGED", "details": {}, "prev_hash": last["hash"]}  # fmt: skip
        digest = event_hash(fields)
        signature = keys.b64(keys.sign(key, event_message(digest)))
        db.execute("INSERT INTO events VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                   (fields["seq"], fields["at"], "bob", "auth.approve", "ok", "A-FORGED", "{}",
                    last["hash"], digest, fingerprint, signature))  # fmt: skip
    code, found = verify(cli)
    assert code == 1
    assert "is signed by a key the agency PKI did not certify" in found["signatures"]["detail"]


def test_a_forged_checkpoint_is_caught_and_a_bad_file_refused(held: tuple[Cli, str], tmp_path: Path) -> None:
    cli, _bundle_id = held
    outside = external_checkpoint(cli, tmp_path)
    data = json.loads(outside.read_text())
    data["statement"]["event_count"] -= 1
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(data))
    code, found = verify(cli, "--against", str(forged))
    assert code == 1 and "the signature does not verify" in found["against forged.json"]["detail"]
    junk = tmp_path / "junk.json"
    junk.write_text("{not json")
    result = cli.run("ledger", "verify", "--against", str(junk))
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "is not a ledger checkpoint" in result.stderr


# ------------------------------------------------------------------ where checkpoints go


@pytest.mark.both_backends
def test_an_export_carries_a_checkpoint_the_ledger_still_extends(held: tuple[Cli, str], tmp_path: Path) -> None:
    cli, bundle_id = held
    cli.ok("custody", "transfer", bundle_id, "--to", "erin", "--reason", "evidence room", as_user="alice")
    out = tmp_path / "export.zip"
    cli.ok("export", bundle_id, "--recipient", "ADA", "--reason", "discovery", "--out", str(out), as_user="erin")
    keylist = tmp_path / "keys.json"
    cli.ok("keys", "export", "--out", str(keylist))
    with zipfile.ZipFile(out) as zf:
        held_by_recipient = tmp_path / "checkpoint.json"
        held_by_recipient.write_bytes(zf.read("checkpoint.json"))
    assert json.loads(held_by_recipient.read_text())["signer"] == "erin"
    report = json.loads(Cli(tmp_path / "nowhere").run("verify", str(out), "--trust", str(keylist), "--json").stdout)
    check = next(c for c in report["checks"] if c["name"] == "ledger checkpoint")
    assert check["ok"] and "signed by erin" in check["detail"]
    code, found = verify(cli, "--against", str(held_by_recipient))
    assert code == 0 and found["against checkpoint.json"]["detail"].startswith("the ledger extends it")


def test_checkpoints_are_copied_to_the_configured_directory(cli: Cli, tmp_path: Path) -> None:
    copies = tmp_path / "worm"
    copies.mkdir()
    set_config(cli, "ledger", checkpoint_dir=str(copies), checkpoint_interval_h=1e-9)
    cli.ok("auth", "list")  # the interval has passed: this command checkpoints
    written = sorted(copies.glob("checkpoint-*.json"))
    assert len(written) == 1 and (written[0].stat().st_mode & 0o777) == 0o444
    assert json.loads(written[0].read_text())["statement"]["reason"] == "interval"
    code, found = verify(cli, "--against", str(written[0]))
    assert code == 0, found
    set_config(cli, "ledger", checkpoint_dir=str(tmp_path / "unmounted"))
    result = cli.run("auth", "list")
    assert result.returncode == 0 and "the checkpoint could not be written to" in result.stderr
    failed = [e for e in events(cli) if e["action"] == "ledger.checkpoint-copy"]
    assert failed and failed[-1]["outcome"] == "failed"


def test_no_checkpoint_is_made_before_the_interval(cli: Cli) -> None:
    with sqlite3.connect(cli.store / "ledger.sqlite") as db:
        count = db.execute("SELECT count(*) FROM checkpoints").fetchone()[0]
    cli.ok("auth", "list")
    with sqlite3.connect(cli.store / "ledger.sqlite") as db:
        assert db.execute("SELECT count(*) FROM checkpoints").fetchone()[0] == count
