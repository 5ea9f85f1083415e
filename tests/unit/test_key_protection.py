"""Private keys that resist guessing: scrypt-encrypted PKCS#8, re-wrapped when weaker, and
wrong passphrases that make the next attempt wait."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

from collector.evidence import keys
from tests.helpers import PASSPHRASES, TEST_SCRYPT_N, Cli, set_key_cost

LEGACY_STORE = Path(__file__).resolve().parents[1] / "data" / "legacy" / "store-1.2"


def test_keys_are_scrypt_encrypted_with_the_stores_cost_and_openssl_reads_them(cli: Cli) -> None:
    path = cli.store / "keys" / "alice.key.pem"
    assert keys.encryption_of(path.read_bytes()) == keys.Scrypt(TEST_SCRYPT_N, 8, 3)
    wrong = subprocess.run(["openssl", "pkey", "-in", path, "-passin", "pass:wrong"], capture_output=True)
    right = subprocess.run(["openssl", "pkey", "-in", path, "-passin", f"pass:{PASSPHRASES['alice']}"],
                           capture_output=True)  # fmt: skip
    assert wrong.returncode != 0 and right.returncode == 0 and b"PRIVATE KEY" in right.stdout


def test_a_weaker_key_is_rewrapped_at_its_next_unlock(tmp_path: Path) -> None:
    shutil.copytree(LEGACY_STORE, tmp_path / "store")
    (tmp_path / "store" / "work").mkdir(exist_ok=True)
    cli = Cli(tmp_path / "store")
    cli.ok("store", "upgrade")
    set_key_cost(cli.store, 32)
    path = cli.store / "keys" / "alice.key.pem"
    assert keys.encryption_of(path.read_bytes()) == "pbkdf2"  # as the landed code wrote it
    cli.ok("auth", "list", as_user="alice", passphrase="legacy-alice-passphrase")
    assert keys.encryption_of(path.read_bytes()) == keys.Scrypt(32, 8, 3)
    event = [e for e in cli.events() if e["action"] == "key.rewrapped"][-1]
    assert event["actor"] == "alice" and event["details"] == {"from": "pbkdf2", "to": "scrypt N=32 r=8 p=3"}
    cli.ok("auth", "list", as_user="alice", passphrase="legacy-alice-passphrase")  # still unlocks
    assert [e["action"] for e in cli.events()].count("key.rewrapped") == 1
    set_key_cost(cli.store, 64)  # the agency raises the cost: the next unlock re-wraps again
    cli.ok("auth", "list", as_user="alice", passphrase="legacy-alice-passphrase")
    assert keys.encryption_of(path.read_bytes()) == keys.Scrypt(64, 8, 3)


def test_wrong_passphrases_make_the_next_attempt_wait(cli: Cli) -> None:
    for _ in range(3):
        wrong = cli.run("auth", "list", as_user="dave", passphrase="not-daves-passphrase")
        assert wrong.returncode == 3 and "wrong passphrase" in wrong.stderr
    waiting = cli.run("auth", "list", as_user="dave")  # the right passphrase, too soon
    assert waiting.returncode == 3 and "too many wrong passphrases for 'dave'" in waiting.stderr
    refusals = [e for e in cli.events() if e["action"] == "auth.login" and e["actor"] == "dave"]
    assert len(refusals) == 4 and refusals[-1]["details"]["backoff_s"] > 0
    assert cli.run("auth", "list", as_user="alice").returncode == 0  # other users are not held up
    time.sleep(1.2)  # the first wait is one second
    assert cli.run("auth", "list", as_user="dave").returncode == 0
    # a success starts the count again: one more wrong passphrase does not make anyone wait
    assert cli.run("auth", "list", as_user="dave", passphrase="nope-nope").returncode == 3
    assert cli.run("auth", "list", as_user="dave").returncode == 0
