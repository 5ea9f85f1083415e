"""Opening a bundle's metadata to look at it: the read permission, the tombstone of a purged
bundle and the protected-content quarantine, in that order (`collector show` and the web
application's bundle page)."""

from __future__ import annotations

from collector.errors import UsageError
from collector.evidence.bundle.layout import METADATA
from collector.evidence.model import Metadata
from collector.policy import protected
from collector.store import storage, tombstones
from collector.store.model import BundleRow
from collector.store.roles import Action
from collector.store.store import Identity, Store


def visible_bundle(store: Store, who: Identity, bundle_id: str) -> BundleRow:
    """The bundle's row when `who` may look at it now; refused (and recorded) otherwise."""
    store.require(who, Action.read, subject=bundle_id)
    row = store.ledger.bundle(bundle_id)
    if row is None:
        raise UsageError(f"unknown bundle {bundle_id!r}")
    gone = tombstones.tombstone(store.ledger, bundle_id)
    if gone is not None:
        raise UsageError(f"{bundle_id} was purged on {gone.purged_at}: only its tombstone remains")
    protected.require_visible(store, who, bundle_id, "view")
    return row


def open_metadata(store: Store, who: Identity, bundle_id: str) -> tuple[BundleRow, Metadata]:
    """The bundle's row and sealed metadata, checked against its recorded digest."""
    row = visible_bundle(store, who, bundle_id)
    return row, Metadata.model_validate_json(storage.bundle_file(store, row, f"data/{METADATA}"))
