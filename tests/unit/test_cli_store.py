"""Store, users, keys, authorizations and the ledger through the real command line."""

from __future__ import annotations

import sqlite3
import stat
import subprocess
import tomllib
from pathlib import Path

import pytest

from tests.helpers import FACTS, PASSPHRASES, Cli


def test_init_lays_out_store(cli: Cli) -> None:
    assert {p.name for p in cli.store.iterdir()} >= {"collector.toml", "ledger.sqlite", "bundles", "keys"}
    config = tomllib.loads((cli.store / "collector.toml").read_text())
    assert config["agency"] == "Test Police Department"
    assert config["policy"]["allow_private_network"] is True
    db = sqlite3.connect(cli.store / "ledger.sqlite")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # not WAL: see database.sqlite_engine


def test_init_refuses_existing_store(cli: Cli) -> None:
    result = cli.run("init")
    assert result.returncode == 2
    assert "already holds an evidence store" in result.stderr


def test_private_key_encrypted_with_mode_0600_and_fingerprint_reproducible(cli: Cli) -> None:
    key = cli.store / "keys" / "alice.key.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert b"ENCRYPTED PRIVATE KEY" in key.read_bytes()
    no_pass = subprocess.run(["openssl", "pkey", "-in", key, "-passin", "pass:wrong"], capture_output=True)
    assert no_pass.returncode != 0
    ok = subprocess.run(["openssl", "pkey", "-in", key, "-passin", f"pass:{PASSPHRASES['alice']}"], capture_output=True)
    assert ok.returncode == 0 and b"PRIVATE KEY" in ok.stdout
    der = subprocess.run(
        ["openssl", "pkey", "-pubin", "-in", cli.store / "keys" / "alice.pub.pem", "-outform", "DER"],
        capture_output=True, check=True,
    ).stdout
    users = {u["name"]: u for u in cli.json("user", "list")}
    import hashlib

    assert users["alice"]["key_fingerprint"] == hashlib.sha256(der).hexdigest()


@pytest.mark.both_backends
def test_user_add_by_non_admin_refused_and_recorded(cli: Cli) -> None:
    result = cli.run("user", "add", "zed", "--role", "investigator", "--name", "Zed", "--badge", "9",
                     as_user="alice", new_passphrase="zed-passphrase")
    assert result.returncode == 3
    assert not (cli.store / "keys" / "zed.key.pem").exists()
    assert cli.events()[-1]["action"] == "denied.user.admin"


@pytest.mark.both_backends
def test_user_add_by_admin_recorded_with_actor(cli: Cli) -> None:
    cli.ok("user", "add", "zed", "--role", "auditor", "--name", "Zed Z", "--badge", "9",
           as_user="root", new_passphrase="zed-passphrase")
    added, issued = cli.events()[-2:]
    assert (added["action"], added["actor"], added["subject"]) == ("user.add", "root", "zed")
    assert (issued["action"], issued["actor"], issued["subject"]) == ("pki.issued", "root", "zed")
    assert issued["details"]["role"] == "auditor"


@pytest.mark.both_backends
def test_acting_as_another_user_without_their_passphrase_does_nothing(cli: Cli) -> None:
    auth_id = cli.request(["https://social.example/*"])
    result = cli.run("auth", "approve", auth_id, as_user="bob", passphrase=PASSPHRASES["alice"])
    assert result.returncode == 3
    assert "wrong passphrase" in result.stderr
    assert cli.json("auth", "show", auth_id)["status"] == "pending"
    assert cli.events()[-1]["action"] == "auth.login" and cli.events()[-1]["outcome"] == "refused"


def test_no_passphrase_and_no_terminal_refused(cli: Cli) -> None:
    auth_id = cli.request(["https://social.example/*"])
    result = cli.run("auth", "approve", auth_id, as_user="bob", passphrase="")
    assert result.returncode == 3
    assert "passphrase is required" in result.stderr


@pytest.mark.both_backends
def test_separation_of_duties_requester_cannot_approve(cli: Cli) -> None:
    auth_id = cli.request(["https://social.example/*"], as_user="bob", **{"--investigator": "alice"})
    result = cli.run("auth", "approve", auth_id, as_user="bob")
    assert result.returncode == 3
    assert "separation of duties" in result.stderr
    cli.ok("auth", "approve", auth_id, as_user="carol")
    shown = cli.json("auth", "show", auth_id)
    assert shown["status"] == "approved" and shown["approved_by"] == "carol"
    assert shown["investigators"] == ["alice"]


@pytest.mark.both_backends
def test_investigator_cannot_approve(cli: Cli) -> None:
    auth_id = cli.request(["https://social.example/*"])
    result = cli.run("auth", "approve", auth_id, as_user="dave")
    assert result.returncode == 3
    assert cli.json("auth", "show", auth_id)["status"] == "pending"


def test_approval_is_signed_and_verifiable_with_openssl(cli: Cli, tmp_path) -> None:
    import base64

    import rfc8785

    from collector.store.model import Authorization

    auth_id = cli.approved(["https://social.example/*"])
    auth = Authorization.model_validate(cli.json("auth", "show", auth_id))
    (tmp_path / "payload").write_bytes(rfc8785.dumps(auth.signed_fields()))
    (tmp_path / "sig").write_bytes(base64.b64decode(auth.approval_signature or ""))
    result = subprocess.run(
        ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", cli.store / "keys" / "bob.pub.pem",
         "-rawin", "-in", tmp_path / "payload", "-sigfile", tmp_path / "sig"],
        capture_output=True, text=True,
    )
    assert "Signature Verified Successfully" in result.stdout


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"--case": "not a case"}, "does not match the policy format"),
        ({"--facts": "TBD"}, "placeholder"),
        ({"--facts": "HPD-2026-000123"}, "placeholder"),
        ({"--facts": "suspicious post seen"}, "too short"),
        ({"--facts": "gun gun gun gun gun gun gun gun gun gun gun gun gun gun"}, "repeat"),
        ({"--retention": "forever"}, "retention class"),
        ({"--predicate": "hunch"}, "predicate"),
        ({"--standard": "gut-feeling"}, "standard"),
        ({"--purpose": "curiosity"}, "purpose"),
        ({"--valid-days": "400"}, "validity"),
    ],
)
def test_invalid_requests_rejected_with_one_line(cli: Cli, override: dict[str, str], message: str) -> None:
    args = {
        "--case": "HPD-2026-000123", "--predicate": "criminal-predicate",
        "--standard": "reasonable-suspicion", "--purpose": "criminal-investigation",
        "--facts": FACTS, "--retention": "case-evidence", "--scope": "https://social.example/*",
    }
    args.update(override)
    result = cli.run("auth", "request", *[x for kv in args.items() for x in kv], as_user="alice")
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 + result.stderr.count("Reasonable suspicion")
    assert "Traceback" not in result.stderr
    assert cli.json("auth", "list") == []
    assert cli.events()[-1]["outcome"] == "refused"


@pytest.mark.parametrize("scope", ["ftp://x.example/*", "https://*/*", "social.example/*", "https://a@b.example/*"])
def test_invalid_scopes_rejected(cli: Cli, scope: str) -> None:
    result = cli.run("auth", "request", "--case", "HPD-2026-000123", "--predicate", "criminal-predicate",
                     "--standard", "reasonable-suspicion", "--purpose", "criminal-investigation",
                     "--facts", FACTS, "--retention", "case-evidence", "--scope", scope, as_user="alice")
    assert result.returncode == 2
    assert "scope" in result.stderr


@pytest.mark.both_backends
def test_deny_and_revoke(cli: Cli) -> None:
    denied = cli.request(["https://social.example/*"])
    assert cli.run("auth", "deny", denied, "--reason", " ", as_user="bob").returncode == 2
    cli.ok("auth", "deny", denied, "--reason", "facts do not show a predicate", as_user="bob")
    assert cli.json("auth", "show", denied)["status"] == "denied"
    assert cli.run("auth", "approve", denied, as_user="carol").returncode == 2
    approved = cli.approved(["https://social.example/*"])
    cli.ok("auth", "revoke", approved, "--reason", "case closed", as_user="carol")
    shown = cli.json("auth", "show", approved)
    assert shown["status"] == "revoked" and shown["decision_reason"] == "case closed"


@pytest.mark.both_backends
def test_retired_user_cannot_act(cli: Cli) -> None:
    cli.ok("user", "retire", "dave")
    result = cli.run("auth", "request", "--case", "HPD-2026-000123", as_user="dave")
    assert result.returncode in (2, 3)
    auth_id = cli.request(["https://social.example/*"])
    result = cli.run("auth", "approve", auth_id, as_user="bob")
    assert result.returncode == 0
    cli.ok("user", "retire", "bob")
    again = cli.request(["https://social.example/*"])
    result = cli.run("auth", "approve", again, as_user="bob")
    assert result.returncode == 3 and "retired" in result.stderr


def test_ledger_chain_detects_edits(cli: Cli) -> None:
    cli.request(["https://social.example/*"])
    assert cli.run("ledger", "verify").returncode == 0
    db = sqlite3.connect(cli.store / "ledger.sqlite")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE events SET actor = 'mallory' WHERE seq = 2")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("DELETE FROM events WHERE seq = 2")
    db.execute("DROP TRIGGER events_no_update")
    db.execute("UPDATE events SET actor = 'mallory' WHERE seq = 2")
    db.commit()
    result = cli.run("ledger", "verify")
    assert result.returncode == 1
    assert "event 2" in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["auth", "show", "AUTH-NOPE"],
        ["verify", "/nonexistent/bundle"],
        ["capture"],
        ["user", "add", "Bad Name!", "--role", "investigator", "--name", "x", "--badge", "1"],
        ["--store", "/nonexistent/store", "auth", "list"],
    ],
)
def test_bad_input_one_line_no_traceback(cli: Cli, args: list[str]) -> None:
    result = cli.run(*args, new_passphrase="some-passphrase")
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_init_records_chromium_path_in_config_and_ledger(tmp_path) -> None:
    chrome = tmp_path / "opt" / "chrome"
    chrome.parent.mkdir()
    chrome.write_text("#!/bin/sh\n")
    chrome.chmod(0o755)
    cli = Cli(tmp_path / "s")
    cli.ok("init", "--chromium", str(chrome))
    config = tomllib.loads((cli.store / "collector.toml").read_text())
    assert config["browser"]["executable_path"] == str(chrome)
    assert config["policy"]["allow_private_network"] is False
    first = cli.events()[0]
    assert first["action"] == "store.init" and first["details"]["chromium"] == str(chrome)


@pytest.mark.both_backends
def test_read_commands_authenticate_a_named_user(cli: Cli) -> None:
    cli.request(["https://social.example/*"])
    assert len(cli.json("auth", "list", as_user="erin")) == 1
    wrong = cli.run("auth", "list", as_user="erin", passphrase="not-erins-passphrase")
    assert wrong.returncode == 3 and wrong.stdout == ""
    assert cli.events()[-1]["action"] == "auth.login" and cli.events()[-1]["actor"] == "erin"


@pytest.mark.parametrize("value", ["127.0.0.1", "127.0.0.1:0", "127.0.0.1:99999", "bad host:80", "[::1]:x"])
def test_allow_host_must_be_host_and_port(tmp_path: Path, value: str) -> None:
    result = Cli(tmp_path / "s").run("init", "--allow-host", value)
    assert result.returncode == 2 and "--allow-host" in result.stderr
    assert not (tmp_path / "s" / "collector.toml").exists()


def test_allowed_hosts_are_recorded_normalised_in_the_policy_and_the_ledger(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "s")
    cli.ok("init", "--allow-host", "LocalHost:8080", "--allow-host", "[0:0::1]:8443")
    config = tomllib.loads((cli.store / "collector.toml").read_text())
    assert config["policy"]["allowed_hosts"] == ["localhost:8080", "[::1]:8443"]
    init = cli.events()[0]
    assert init["action"] == "store.init" and init["details"]["allowed_hosts"] == ["localhost:8080", "[::1]:8443"]


def test_a_ledger_made_with_a_write_ahead_log_is_turned_to_the_rollback_journal(cli: Cli) -> None:
    """Stores made before the ledger kept a rollback journal (SQLite's WAL-reset race) are
    turned by the first connection alone with the file; nothing in them changes."""
    path = cli.store / "ledger.sqlite"
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode=WAL").fetchone()[0] == "wal"
    events = db.execute("SELECT count(*) FROM events").fetchone()[0]
    # another connection still has it open: the command works on it as it is, in WAL
    assert cli.run("auth", "list").returncode == 0
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()
    assert cli.run("auth", "list").returncode == 0  # alone with it: turned
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert db.execute("SELECT count(*) FROM events").fetchone()[0] >= events
    finally:
        db.close()
    assert not (cli.store / "ledger.sqlite-wal").exists()
    assert cli.run("ledger", "verify").returncode == 0
