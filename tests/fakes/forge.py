"""What a forger with the bundle files (and perhaps write access to a store) can do: edit a
sealed bag and make every manifest, digest and signature agree again with a key of their own."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bagit
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from collector.evidence import keys


def writable(root: Path) -> None:
    for dirpath, _dirs, files in os.walk(root):
        os.chmod(dirpath, 0o755)
        for name in files:
            os.chmod(os.path.join(dirpath, name), 0o644)


def confess(bag: Path, text: bytes = b"<p>I CONFESS</p>") -> None:
    """Change the rendered page and make metadata.json agree with it."""
    writable(bag)
    page = bag / "data" / "page.html"
    page.write_bytes(page.read_bytes().replace(b"</body>", text + b"</body>", 1))
    meta_path = bag / "data" / "metadata.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    body = page.read_bytes()
    for artifact in meta["artifacts"]:
        if artifact["path"] == "page.html":
            artifact.update(size=len(body), sha256=hashlib.sha256(body).hexdigest(),
                            sha512=hashlib.sha512(body).hexdigest())  # fmt: skip
    meta_path.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")


def reseal(bag: Path, key: Ed25519PrivateKey, chain_pem: bytes | None = None) -> str:
    """Rewrite manifests, tag manifests and seal.sig with `key` (and `chain_pem` as the
    signer's certificate chain, when given); drop the time-stamp, which no longer fits."""
    writable(bag)
    for name in ("seal.sig", "seal.tsr"):
        (bag / name).unlink(missing_ok=True)
    public = keys.public_pem(key.public_key())
    fingerprint = keys.fingerprint(public)
    (bag / "signer.pub.pem").write_bytes(public)
    if chain_pem is not None:
        (bag / "signer-chain.pem").write_bytes(chain_pem)
    made = bagit.Bag(str(bag))
    made.info["Signer-Key-Fingerprint"] = fingerprint
    made.save(processes=1, manifests=True)
    (bag / "seal.sig").write_bytes(keys.sign(key, (bag / "tagmanifest-sha256.txt").read_bytes()))
    return fingerprint


def insert_key(ledger: Path, owner: str, key: Ed25519PrivateKey) -> str:
    """Register `key` as `owner`'s straight into the ledger's key table."""
    public = keys.public_pem(key.public_key())
    fingerprint = keys.fingerprint(public)
    with sqlite3.connect(ledger) as db:
        db.execute(
            "INSERT INTO keys (fingerprint, owner, public_key_pem, created_at) VALUES (?,?,?,?)",
            (fingerprint, owner, public.decode(), datetime.now(UTC).isoformat()),
        )
    return fingerprint


def rewrite_ledger(
    ledger: Path,
    system_key: Path,
    drop: Callable[[dict[str, Any]], bool],
    *,
    resign_all: bool = False,
    drop_checkpoints: bool = True,
) -> int:
    """What an insider with write access to the store can do to its ledger: remove events,
    renumber and re-hash the chain, and re-sign with the store's own key (every event with
    `resign_all`, else only those it had signed: a person's signature cannot be remade).
    Returns how many events were removed."""
    from collector.store.ledger import GENESIS, event_hash
    from collector.store.signing import SigningKey

    system = SigningKey.of(keys.load_unencrypted(system_key))
    with sqlite3.connect(ledger) as db:
        db.row_factory = sqlite3.Row
        rows = [dict(r) for r in db.execute("SELECT * FROM events ORDER BY seq")]
        for name in ("events", "checkpoints"):
            for op in ("update", "delete"):
                db.execute(f"DROP TRIGGER IF EXISTS {name}_no_{op}")
        kept = [r for r in rows if not drop(r)]
        db.execute("DELETE FROM events")
        if drop_checkpoints:
            db.execute("DELETE FROM checkpoints")
        prev = GENESIS
        for seq, row in enumerate(kept, 1):
            fields = {"seq": seq, "at": row["at"], "actor": row["actor"], "action": row["action"],
                      "outcome": row["outcome"], "subject": row["subject"],
                      "details": json.loads(row["details"]), "prev_hash": prev}  # fmt: skip
            digest = event_hash(fields)
            signer, signature = row["signer"], row["signature"]
            if resign_all or signer == system.fingerprint:
                signer, signature = system.fingerprint, system.sign(digest)
            db.execute(
                "INSERT INTO events (seq, at, actor, action, outcome, subject, details, prev_hash, hash,"
                " signer, signature) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (seq, row["at"], row["actor"], row["action"], row["outcome"], row["subject"],
                 row["details"], prev, digest, signer, signature),
            )  # fmt: skip
            prev = digest
    return len(rows) - len(kept)
