"""What remains of a bundle purged under policy: its tombstone row, and how to name it."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select

from collector.errors import EXIT_PURGED, CollectorError
from collector.evidence.model import Model
from collector.store import schema
from collector.store.ledger import Ledger


class BundlePurged(CollectorError):
    """The bundle was purged under policy: its files are gone by design, not tampered."""

    exit_code = EXIT_PURGED


class Tombstone(Model):
    """What remains of a purged bundle besides its ledger rows and custody log."""

    bundle_id: str
    request_id: str
    seal_sha256: str
    reason: str
    requested_by: str
    approved_by: list[str]
    purged_at: datetime
    custody_seq: int
    custody_hash: str
    path: str
    files: int
    bytes: int


def tombstone(ledger: Ledger, bundle_id: str) -> Tombstone | None:
    """The tombstone of a purged bundle, or None."""
    table = schema.purge_tombstones
    rows = ledger.rows(select(table).where(table.c.bundle_id == bundle_id))
    if not rows:
        return None
    data = dict(rows[0])
    data["approved_by"] = json.loads(data["approved_by"])
    return Tombstone.model_validate(data)


def purged_notice(grave: Tombstone) -> str:
    """One line naming the purge: date, request, requester, approvers, reason."""
    return (
        f"{grave.bundle_id}: PURGED under policy on {grave.purged_at:%Y-%m-%d %H:%M:%S}Z "
        f"(request {grave.request_id} by {grave.requested_by}, approved by "
        f"{', '.join(grave.approved_by)}; reason: {grave.reason}); "
        f"{grave.files} files destroyed, seal sha256 {grave.seal_sha256} kept in the tombstone"
    )
