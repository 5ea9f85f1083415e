"""An agency store's bundles in its Object Lock bucket: committing a sealed bundle, the outbox
that holds it while the bucket cannot take it, and the verified local copy a workstation reads.

A workstation seals into its own `bundles/` as before. Committing uploads, reads back and locks
every file (`objects.Bucket.put_bundle`), then records each object's version id and SHA-256 and a
`bundle.stored` event in one ledger transaction. If the bucket cannot take it, a `bundle.outbox`
event says so and the bundle waits in `bundles/` until `collector store flush` (also run at the
start of later commands) commits it. Another workstation reads a committed bundle by its recorded
versions into its own `bundles/`, each file checked against its recorded digest.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from collector.errors import CollectorError, IntegrityError, Refused, UsageError
from collector.evidence.bundle import layout
from collector.evidence.bundle.hashing import digest_file
from collector.evidence.custody import EventType
from collector.store import objects, schema
from collector.store.actions import LedgerAction
from collector.store.ledger import add_years, iso, now
from collector.store.model import BundleRow
from collector.store.objects import Bucket, StorageError, StoredObject
from collector.store.store import Store
from collector.store.worklock import try_lock


def bucket(store: Store) -> Bucket | None:
    """The store's bucket, or None for a store that keeps bundles in its directory."""
    config = store.config.bundles
    return Bucket(config.url, config.endpoint) if config.url else None


def prepare(store: Store) -> None:
    """Before a long step that ends in a commit (a capture's browser): make the bucket's client
    meanwhile."""
    target = bucket(store)
    if target is not None:
        target.prepare()


def objects_of(store: Store, bundle_id: str) -> list[StoredObject]:
    o = schema.bundle_objects
    rows = store.ledger.rows(select(o).where(o.c.bundle_id == bundle_id).order_by(o.c.name))
    return [StoredObject(r["name"], r["version_id"], r["sha256"], int(r["size"])) for r in rows]


def recorded_listing(store: Store, bundle_id: str, stored: list[StoredObject]) -> str | None:
    """Why the recorded objects are not those the signed `bundle.stored` event committed, or
    None when they are."""
    ev = schema.events
    events = store.ledger.events_where((ev.c.action == LedgerAction.bundle_stored.value)
                                       & (ev.c.subject == bundle_id))  # fmt: skip
    if len(events) != 1:
        return f"{len(events)} `bundle.stored` events for {len(stored)} recorded objects"
    details = events[0].details
    if "objects_sha256" in details:
        ok = details["objects_sha256"] == objects.listing_sha256(stored)
    else:  # committed before the listing digest was recorded
        ok = (details.get("objects"), details.get("bytes")) == (len(stored), sum(i.size for i in stored))
    return None if ok else f"the recorded objects differ from those `bundle.stored` (event {events[0].seq}) committed"


Committed = tuple[Bucket, list[StoredObject]]
"""A committed bundle's bucket and recorded objects."""


def committed(store: Store, bundle_id: str) -> Committed | None:
    """The store's bucket and a bundle's recorded objects, or None when the bundle is not
    committed to a bucket (a workstation store, or still in the outbox)."""
    target = bucket(store)
    stored = objects_of(store, bundle_id) if target is not None else []
    return (target, stored) if target is not None and stored else None


def readable(store: Store, bundle_id: str) -> Committed | None:
    """`committed`, for reading: the recorded objects must be those the signed `bundle.stored`
    event committed, else IntegrityError (nothing is read from a listing changed since)."""
    found = committed(store, bundle_id)
    if found is not None:
        problem = recorded_listing(store, bundle_id, found[1])
        if problem is not None:
            raise IntegrityError(f"{bundle_id}: {problem}")
    return found


def retain_until(store: Store, row: BundleRow, retention_class: str | None) -> datetime:
    """When the bucket may let a bundle's objects go: its class's period from sealing, or
    `[bundles] lock_years` for a class kept until the case is disposed of (extended on review)."""
    cls = store.config.policy.retention_classes.get(retention_class or "")
    years = cls.max_years if cls is not None and cls.max_years else store.config.bundles.lock_years
    return add_years(row.created_at.astimezone(UTC), years)


def commit(
    store: Store, bundle_id: str, retention_class: str | None, actor: str | None
) -> str | None:
    """Commit a sealed bundle to the bucket; None when done (or nothing to do), else the warning
    that it waits in the outbox. The caller holds the bundle's lock (`worklock`)."""
    target = bucket(store)
    row = store.ledger.bundle(bundle_id)
    if target is None or row is None or objects_of(store, bundle_id):
        return None
    until = retain_until(store, row, retention_class)
    try:
        clean_up(store, target, bundle_id, actor)  # an earlier attempt that never was committed
        stored = target.put_bundle(store.bundle_path(row), bundle_id, until)
    except (StorageError, IntegrityError) as exc:
        store.ledger.record(LedgerAction.bundle_outbox, "failed", actor=actor, subject=bundle_id,
                            details={"bucket": target.url, "error": str(exc)})  # fmt: skip
        with contextlib.suppress(StorageError):
            clean_up(store, target, bundle_id, actor)  # else the next attempt does
        return (f"{bundle_id} is sealed but waits in this workstation's outbox: {exc}; "
                "`collector store flush` commits it when the bucket answers")  # fmt: skip
    if held(store, bundle_id):  # held while it waited in the outbox
        target.set_hold(bundle_id, stored, True)
    at = iso(now())
    with store.ledger.transaction() as db:
        for item in stored:
            db.execute(insert(schema.bundle_objects).values(
                bundle_id=bundle_id, name=item.name, version_id=item.version_id,
                sha256=item.sha256, size=item.size, stored_at=at))  # fmt: skip
        store.ledger.record_in(db, LedgerAction.bundle_stored, actor=actor, subject=bundle_id,
                               details={"bucket": target.url, "objects": len(stored),
                                        "bytes": sum(i.size for i in stored),
                                        "objects_sha256": objects.listing_sha256(stored),
                                        "retain_until": iso(until), "mode": "GOVERNANCE"})  # fmt: skip
    return None


def clean_up(store: Store, target: Bucket, bundle_id: str, actor: str | None) -> None:
    """Before (and after a failed) upload of a bundle not committed: delete what an earlier
    attempt left under its prefix, and record what was deleted and what the bucket kept (a
    version already locked stays until its retention ends; `verify` lists it as not part of
    the bundle, which is read only by its recorded versions)."""
    versions = target.leftovers(bundle_id)
    if not versions:
        return
    deleted, left = target.clean(versions)
    store.ledger.record(LedgerAction.bundle_cleaned, "ok" if not left else "failed", actor=actor,
                        subject=bundle_id, details={"bucket": target.url, "deleted": deleted,
                                                    "left": left})  # fmt: skip


def legal_hold(store: Store, bundle_id: str, on: bool) -> None:
    """Place or lift the S3 legal hold on every recorded version of a committed bundle (nothing
    for a bundle not in a bucket; one still in the outbox gets it when it is committed)."""
    found = committed(store, bundle_id)
    if found is not None:
        found[0].set_hold(bundle_id, found[1], on)


def extend_retention(store: Store, bundle_id: str, until: datetime) -> None:
    """After a `retain` review: the bucket keeps the bundle's versions until at least `until`."""
    found = committed(store, bundle_id)
    if found is not None:
        found[0].extend(bundle_id, found[1], until)


def held(store: Store, bundle_id: str) -> bool:
    """The bundle's custody log ends in a legal hold not yet released."""
    last = [
        e.type
        for e in store.ledger.custody(bundle_id)
        if e.type in (EventType.held, EventType.released)
    ]
    return bool(last) and last[-1] is EventType.held


def waiting(store: Store) -> list[str]:
    """Bundles sealed here and not yet committed to the bucket."""
    if bucket(store) is None:
        return []
    committed = {
        r["bundle_id"] for r in store.ledger.rows(select(schema.bundle_objects.c.bundle_id))
    }
    return [row.id for row in store.ledger.bundles()
            if row.id not in committed and (store.bundle_path(row) / "bagit.txt").is_file()]  # fmt: skip


def flush(store: Store, actor: str | None) -> tuple[list[str], list[str]]:
    """Commit every bundle waiting here whose lock no other process holds (a capture still
    committing, or another flush): (committed, still waiting with why)."""
    done: list[str] = []
    left: list[str] = []
    for bundle_id in waiting(store):
        with try_lock(store.work_dir, bundle_id) as mine:
            if not mine:
                continue
            warning = commit(store, bundle_id, retention_class(store, bundle_id), actor)
        (left if warning else done).append(warning or bundle_id)
    return done, left


def retention_class(store: Store, bundle_id: str) -> str | None:
    """The retention class sealed into a bundle's metadata, which sets how long the bucket
    locks it. Not the authorization's row: the workstations' role may UPDATE that. None (the
    longest lock, `[bundles] lock_years`) when the metadata cannot be read."""
    row = store.ledger.bundle(bundle_id)
    if row is None:
        return None
    try:
        found = json.loads(bundle_file(store, row, f"data/{layout.METADATA}")).get("retention_class")
    except (OSError, ValueError, AttributeError, CollectorError):
        return None
    return found if isinstance(found, str) else None


def working_copy(store: Store, row: BundleRow) -> Path:
    """The bundle's directory on this workstation, for a command that reads all of it (export,
    exhibit). A committed bundle this workstation has no copy of is read from the bucket by its
    recorded versions; a copy it has is first checked file by file against those versions'
    digests, so what is read is what the bucket holds."""
    path = store.bundle_path(row)
    found = readable(store, row.id)
    if found is None:
        return path
    target, stored = found
    if not (path / "bagit.txt").is_file():
        _bring(store, row, target, stored)
        return path
    recorded = {item.name: item for item in stored}
    present = {
        p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file() or p.is_symlink()
    }
    odd = sorted(present ^ set(recorded))
    changed = [name for name in sorted(present & set(recorded))
               if _sha256_of(path / name) != recorded[name].sha256]  # fmt: skip
    if odd or changed:
        raise IntegrityError(f"this workstation's copy of {row.id} ({path}) is not what the bucket "
                             f"holds ({', '.join((changed + odd)[:5])}); move it aside and the "
                             "bundle is read again from the bucket")  # fmt: skip
    return path


def bundle_file(store: Store, row: BundleRow, name: str) -> bytes:
    """One file of a bundle (`data/metadata.json`, `signer.pub.pem`): from this workstation's
    copy, or for a committed bundle from the bucket by its recorded version, and either way
    checked against the recorded digest."""
    path = store.bundle_path(row) / name
    found = readable(store, row.id)
    if found is None:
        return path.read_bytes()
    target, stored = found
    item = next((i for i in stored if i.name == name), None)
    if item is None:
        raise IntegrityError(f"{row.id}: {name} is not among its recorded objects")
    data = (
        path.read_bytes() if path.is_file() and not path.is_symlink() else target.read(row.id, item)
    )
    if hashlib.sha256(data).hexdigest() != item.sha256:
        raise IntegrityError(f"{row.id}/{name} differs from its recorded version {item.version_id} "
                             f"(sha256 {item.sha256[:16]}…)")  # fmt: skip
    return data


def has_file(store: Store, row: BundleRow, name: str) -> bool:
    """Whether the bundle holds `name`: among its recorded objects once committed, else in
    this workstation's copy."""
    found = readable(store, row.id)
    if found is None:
        return (store.bundle_path(row) / name).is_file()
    return any(item.name == name for item in found[1])


def _sha256_of(path: Path) -> str:
    if path.is_symlink() or not path.is_file():
        return "not a regular file"
    return digest_file(path).sha256


def _bring(store: Store, row: BundleRow, target: Bucket, stored: list[StoredObject]) -> None:
    path = store.bundle_path(row)
    temporary = Path(tempfile.mkdtemp(prefix=f".fetch-{row.id}-", dir=store.work_dir))
    try:
        target.fetch(row.id, stored, temporary / "bundle")
        path.parent.mkdir(parents=True, exist_ok=True)
        (temporary / "bundle").rename(path)
    except FileExistsError:  # another process brought it first
        pass
    except OSError as exc:
        raise CollectorError(f"cannot write the local copy of {row.id}: {exc}") from exc
    finally:
        shutil.rmtree(temporary, ignore_errors=True)


def fetch_copy(store: Store, row: BundleRow, out: Path) -> int:
    """Write a copy of a bundle to `out` (a new directory): from the bucket by recorded
    versions, each file checked against its recorded digest, else from this workstation's
    `bundles/`. Returns the number of files; the caller verifies the copy."""
    found = readable(store, row.id)
    if out.exists():
        raise UsageError(f"--out {out} exists: a copy is written into a new directory")
    try:
        if found is not None:
            found[0].fetch(row.id, found[1], out)
            return len(found[1])
        source = store.bundle_path(row)
        if not (source / "bagit.txt").is_file():
            raise UsageError(
                f"{row.id}: this workstation has no copy and the store has no bucket copy"
            )
        shutil.copytree(source, out, symlinks=True)
        return sum(1 for p in out.rglob("*") if p.is_file())
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)  # nothing half-written is left to look like a bundle
        raise


def purge_client(store: Store, bundle_id: str) -> Any:
    """For purging a committed bundle: the client holding the privileged credential, or a
    refusal saying why it cannot be purged here. None when the bundle is not in a bucket."""
    found = committed(store, bundle_id)
    if found is None:
        return None
    target = found[0]
    profile = store.config.bundles.purge_profile
    if not profile:
        raise Refused(f"{bundle_id} is in {target.url}: a purge needs the privileged credential, "
                      "and the store names none ([bundles] purge_profile)")  # fmt: skip
    try:
        return objects.purge_client(profile, target.endpoint)
    except StorageError as exc:
        raise Refused(f"{bundle_id} cannot be purged on this workstation: {exc}") from exc


def destroy(store: Store, bundle_id: str, client: Any) -> list[str]:
    """Delete a purged bundle's recorded versions from the bucket (after the purge is recorded);
    warnings for what is left."""
    found = committed(store, bundle_id)
    if found is None:
        return []
    target, stored = found
    left = target.destroy(bundle_id, stored, client)
    if not left:
        return []
    return [
        f"recorded as purged, but {len(left)} object version(s) are still in {target.url}: "
        + "; ".join(left[:3])
    ]
