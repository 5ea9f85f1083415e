"""`collector verify`: find the bundle, run the checklist, record the verification."""

from __future__ import annotations

from pathlib import Path

from collector.bundle.verify import RegisteredKey, VerifyReport, verify_bundle
from collector.config import CONFIG_NAME
from collector.errors import UsageError
from collector.store import Store


def run(store_path: Path, target: str, acting: str | None) -> VerifyReport:
    """Verify a bundle given by path or by id (looked up in the store).

    With a store, the signer's key is checked against its registry and the result is
    recorded in the ledger. A bundle path outside any store is checked on its own.
    """
    store = Store.open(store_path) if (store_path / CONFIG_NAME).is_file() else None
    path = Path(target)
    if not (path / "bagit.txt").exists():
        row = store.ledger.bundle(target) if store is not None else None
        if row is None:
            raise UsageError(f"{target!r} is neither a bundle directory nor a known bundle id")
        path = Path(row.path)
    if store is None:
        return verify_bundle(path)

    def lookup(fingerprint: str) -> RegisteredKey | None:
        found = store.ledger.key(fingerprint)
        return None if found is None else RegisteredKey(found[0], found[1], found[3])

    report = verify_bundle(path, lookup)
    store.ledger.record(
        "bundle.verify",
        "ok" if report.ok else "failed",
        actor=acting,
        subject=report.bundle_id,
        details={
            "path": str(path),
            "actor_authenticated": False,
            "failed": [c.name + ": " + c.detail for c in report.checks if not c.ok],
        },
    )
    return report
