"""Moving a workstation store into an agency store (`collector store copy --to`).

The workstation's history is not spliced into the agency's. Its ledger (with its own signatures
and checkpoints), its public keys, its PKI certificates and revocation list, its time-stamp
roots and its configuration are archived in the agency's bucket under Object Lock
(`imports/<store-id>/…`), recorded like a bundle's objects, and opened read-only whenever one of
its bundles is verified: the workstation's chain verifies on its own terms
(`collector ledger verify --imported STORE-ID`). The agency's issuing CA cross-certifies the
workstation's root, and that endorsement is what lets the agency trust the workstation's
certificates. Each bundle is verified in the workstation store first, committed to the bucket,
given its custody log as it was plus a signed `moved` event, and verified again from the bucket.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from sqlalchemy import Connection, insert, select

from collector.errors import IntegrityError, Refused, UsageError
from collector.evidence import keys, pki
from collector.evidence.bundle.verify import TimeTrust, VerifyReport, failures, verify_bundle
from collector.evidence.custody import ChainHead, EventType
from collector.evidence.trust import AgencyTrust
from collector.store import objects, schema, storage
from collector.store.actions import LedgerAction
from collector.store.config import CONFIG_NAME
from collector.store.custody_log import custody_builder
from collector.store.database import LEDGER_FILE
from collector.store.ledger import add_years, iso, now
from collector.store.ledger_verify import verify_ledger
from collector.store.model import BundleRow, LedgerEvent
from collector.store.pki import certificate_sha256
from collector.store.roles import Action
from collector.store.store import Actor, Store
from collector.store.worklock import try_lock

ARCHIVED = ("keys/*.pub.pem", "pki/*.cert.pem", "pki/crl.pem", "tsa/*.pem")
"""What of a workstation store is archived besides its configuration and ledger: public
material only (never a private key or the redaction secret)."""


def prefix_of(store_id: str) -> str:
    return f"imports/{store_id}"


@dataclass
class CopyReport:
    """What `store copy` did: the imported store, and each bundle's outcome."""

    store_id: str
    agency: str
    events: int
    moved: list[str] = field(default_factory=list)
    purged: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    failed_after: dict[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------- copying in


def copy_in(source: Store, target: Store, actor: Actor, admin_passphrase: str, root_sha256: str) -> CopyReport:
    """Move `source` (a workstation store) into `target` (an agency store); see the module.
    `root_sha256` is the workstation root the administrator vouches for: the agency
    cross-certifies that root and no other."""
    target.require(actor, Action.import_store, subject=source.config.store_id)
    named = root_sha256.replace(":", "").strip().lower()
    if not re.fullmatch(r"[0-9a-f]{64}", named):
        raise UsageError("--root-sha256 must be the SHA-256 of the workstation's root certificate (64 hex digits)")
    bucket = storage.bucket(target)
    if bucket is None or not target.ledger.location.shared:
        raise UsageError("--to must be an agency store (a PostgreSQL ledger and an Object Lock bucket)")
    if source.ledger.location.shared or storage.bucket(source) is not None:
        raise UsageError("the store to copy must be a workstation store (SQLite and a directory)")
    store_id = source.config.store_id
    if target.ledger.rows(select(schema.imported_stores).where(schema.imported_stores.c.store_id == store_id)):
        return _resume(source, target, actor)
    ledger = verify_ledger(source)
    if not ledger.ok:
        failed = "; ".join(failures(ledger.checks))
        raise IntegrityError(f"the workstation's ledger does not verify, so nothing is copied: {failed}")
    rows = source.ledger.bundles()
    purged = [row.id for row in rows if source.ledger.purged_at(row.id) is not None]
    moving = [row for row in rows if row.id not in purged]
    _check_fresh(target, moving)
    for row in moving:  # every bundle verified before anything is written
        before = _verify_in_source(source, row.id)
        if not before.ok:
            failed = "; ".join(failures(before.checks))
            raise IntegrityError(f"{row.id} does not verify in the workstation store, so nothing is "
                                 f"copied: {failed}")  # fmt: skip
    root = source.pki.root_certificate()
    if certificate_sha256(root) != named:
        raise Refused(f"the workstation's root is {certificate_sha256(root)}, not the root named by "
                      "--root-sha256: nothing is copied")  # fmt: skip
    _check_authorizations(target, source, moving)
    issuer = target.pki.unlock(admin_passphrase)
    cross = pki.cross_certify(root, issuer.key, issuer.certificate)
    head = source.ledger.events()[-1]
    with tempfile.TemporaryDirectory(prefix=".import-", dir=target.work_dir) as tmp:
        archive = _archive(source, Path(tmp) / "archive")
        ledger_sha256 = hashlib.sha256((archive / LEDGER_FILE).read_bytes()).hexdigest()
        until = add_years(now(), target.config.bundles.lock_years)
        stored = bucket.put_bundle(archive, prefix_of(store_id), until)
    report = CopyReport(store_id=store_id, agency=source.config.agency, events=head.seq, purged=purged)
    at = iso(now())
    with target.ledger.transaction() as db:
        db.execute(insert(schema.imported_stores).values(
            store_id=store_id, agency=source.config.agency, prefix=prefix_of(store_id),
            ledger_sha256=ledger_sha256, event_count=report.events, head_hash=head.hash,
            root_sha256=certificate_sha256(root), cross_certificate=pki.pem(cross),
            imported_at=at, imported_by=actor.user.name))  # fmt: skip
        for item in stored:
            db.execute(insert(schema.bundle_objects).values(
                bundle_id=prefix_of(store_id), name=item.name, version_id=item.version_id,
                sha256=item.sha256, size=item.size, stored_at=at))  # fmt: skip
        for row in moving:
            _insert_bundle(db, source, row.id, store_id)
            target.ledger.append_custody_in(db, row.id, custody_builder(
                target, actor, row.id, EventType.moved,
                {"from_store": store_id, "from_agency": source.config.agency, "archive": prefix_of(store_id)}))  # fmt: skip
        target.ledger.record_in(db, LedgerAction.store_imported, actor=actor.user.name, subject=store_id,
                                details={"agency": source.config.agency, "events": report.events,
                                         "head_hash": head.hash, "ledger_sha256": ledger_sha256,
                                         "root_sha256": certificate_sha256(root),
                                         "cross_certificate_sha256": certificate_sha256(cross),
                                         "archive": bucket.url + "/" + prefix_of(store_id) + "/",
                                         "objects_sha256": objects.listing_sha256(stored),
                                         "bundles": [r.id for r in moving], "purged": purged})  # fmt: skip
    _bring_in(source, target, moving, actor, report)
    return report


def _bring_in(source: Store, target: Store, rows: list[BundleRow], actor: Actor, report: CopyReport) -> None:
    """Recorded bundles into the bucket: each copied into this workstation's `bundles/` and
    committed (one the bucket cannot take waits in the outbox, as a capture's does)."""
    for row in rows:
        copy = target.bundle_path(row)
        if storage.committed(target, row.id) is None:
            if not (copy / "bagit.txt").is_file():
                shutil.copytree(source.bundle_path(row), copy, symlinks=True)
            with try_lock(target.work_dir, row.id) as mine:
                warning = storage.commit(target, row.id, storage.retention_class(target, row.id), actor.user.name) \
                    if mine else f"{row.id} is being committed by another process"
            if warning:
                report.waiting.append(warning)
        report.moved.append(row.id)


def _resume(source: Store, target: Store, actor: Actor) -> CopyReport:
    """A copy already recorded (the command was stopped after recording it): commit the bundles
    not yet in the bucket, each verified in the workstation store first."""
    store_id = source.config.store_id
    i = schema.imported_bundles
    ids = [str(r["bundle_id"]) for r in target.ledger.rows(select(i.c.bundle_id).where(i.c.store_id == store_id))]
    rows = [row for row in (target.ledger.bundle(b) for b in ids) if row is not None]
    pending = [row for row in rows if storage.committed(target, row.id) is None]
    if not pending:
        raise UsageError(f"the workstation store {store_id} was already copied into this agency store")
    for row in pending:
        before = _verify_in_source(source, row.id)
        if not before.ok:
            failed = "; ".join(failures(before.checks))
            raise IntegrityError(f"{row.id} does not verify in the workstation store: {failed}")
    recorded = record_of(target, store_id)
    report = CopyReport(store_id=store_id, agency=str(recorded["agency"]), events=int(recorded["event_count"]))
    _bring_in(source, target, pending, actor, report)
    return report


def _check_fresh(target: Store, moving: list[BundleRow]) -> None:
    clash = [row.id for row in moving if target.ledger.bundle(row.id) is not None]
    if clash:
        raise UsageError(f"bundles already in the agency store: {', '.join(clash[:5])}")


def _check_authorizations(target: Store, source: Store, moving: list[BundleRow]) -> None:
    """An authorization id the agency already uses must hold the very same record."""
    a = schema.authorizations
    for row in moving:
        theirs = source.ledger.rows(select(a.c.body).where(a.c.id == row.authorization_id))
        mine = target.ledger.rows(select(a.c.body).where(a.c.id == row.authorization_id))
        if theirs and mine and theirs[0]["body"] != mine[0]["body"]:
            raise Refused(f"authorization {row.authorization_id} of {row.id} exists in the agency store "
                          "with other content: nothing is copied")  # fmt: skip


def _insert_bundle(db: Connection, source: Store, bundle_id: str, store_id: str) -> None:
    """The bundle's row, its authorization and its custody log as the workstation has them."""
    b, a, c = schema.bundles, schema.authorizations, schema.custody
    row = source.ledger.rows(select(b).where(b.c.id == bundle_id))[0]
    auth = source.ledger.rows(select(a).where(a.c.id == row["authorization_id"]))
    if auth:
        there = db.execute(select(a.c.body).where(a.c.id == row["authorization_id"])).first()
        if there is None:
            db.execute(insert(a).values(**dict(auth[0])))
        elif there.body != auth[0]["body"]:
            raise Refused(f"authorization {row['authorization_id']} of {bundle_id} exists in the agency "
                          "store with other content: nothing is copied")  # fmt: skip
    db.execute(insert(b).values(**dict(row)))
    for event in source.ledger.rows(select(c).where(c.c.bundle_id == bundle_id).order_by(c.c.seq)):
        db.execute(insert(c).values(**dict(event)))
    db.execute(insert(schema.imported_bundles).values(bundle_id=bundle_id, store_id=store_id))


def _archive(source: Store, out: Path) -> Path:
    """The public part of a workstation store, its ledger as one consistent snapshot."""
    out.mkdir(parents=True)
    shutil.copy2(source.root / CONFIG_NAME, out / CONFIG_NAME)
    with sqlite3.connect(source.root / LEDGER_FILE) as live, sqlite3.connect(out / LEDGER_FILE) as copy:
        live.backup(copy)
    for pattern in ARCHIVED:
        for path in sorted(source.root.glob(pattern)):
            if path.is_file() and not path.is_symlink():
                target = out / path.relative_to(source.root)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target)
    return out


def _verify_in_source(source: Store, bundle_id: str) -> VerifyReport:
    """A bundle verified in its workstation store, as `verify` does, without recording."""
    from collector.store.verify import judging

    row = source.ledger.bundle(bundle_id)
    assert row is not None
    with judging(source, bundle_id) as j:
        return verify_bundle(source.bundle_path(row), j.key_lookup, j.custody, j.time_trust, j.trust)


# --------------------------------------------------------------------------- reading back


def origin(store: Store, bundle_id: str) -> str | None:
    """The workstation store a bundle was copied from, or None for one sealed here. The row
    must agree with the signed `store.imported` event (the workstations' role may insert rows,
    not sign events), else IntegrityError."""
    if not store.ledger.location.shared:
        return None
    i = schema.imported_bundles
    found = store.ledger.rows(select(i.c.store_id).where(i.c.bundle_id == bundle_id))
    if not found:
        return None
    store_id = str(found[0]["store_id"])
    listed = _imported_event(store, store_id).details.get("bundles")
    if not isinstance(listed, list) or bundle_id not in listed:
        raise IntegrityError(f"{bundle_id} is listed as moved in from {store_id}, but the signed "
                             "`store.imported` event does not name it")  # fmt: skip
    return store_id


def _imported_event(store: Store, store_id: str) -> LedgerEvent:
    ev = schema.events
    found = store.ledger.events_where((ev.c.action == LedgerAction.store_imported.value) & (ev.c.subject == store_id))
    if len(found) != 1:
        raise IntegrityError(f"{len(found)} signed `store.imported` events for workstation store {store_id}")
    return found[0]


def record_of(store: Store, store_id: str) -> dict[str, Any]:
    """What was recorded when a workstation store was copied in: its row, which must agree with
    the signed `store.imported` event, else IntegrityError."""
    s = schema.imported_stores
    found = store.ledger.rows(select(s).where(s.c.store_id == store_id))
    if not found:
        raise UsageError(f"no workstation store {store_id!r} was copied into this agency store")
    row = dict(found[0])
    signed = _imported_event(store, store_id).details
    cross = x509.load_pem_x509_certificate(str(row["cross_certificate"]).encode())
    stated = (signed.get("ledger_sha256"), signed.get("events"), signed.get("head_hash"),
              signed.get("root_sha256"), signed.get("cross_certificate_sha256"))  # fmt: skip
    if stated != (row["ledger_sha256"], row["event_count"], row["head_hash"], row["root_sha256"],
                  certificate_sha256(cross)):  # fmt: skip
        raise IntegrityError(f"the record of workstation store {store_id} differs from its signed "
                             "`store.imported` event")  # fmt: skip
    return row


@contextmanager
def archived(store: Store, store_id: str) -> Iterator[Store]:
    """An imported workstation store, read-only, from its archive in the bucket: its object
    listing must be the one the signed `store.imported` event recorded (the workstations' role
    may insert rows), and each file is read by its recorded version and checked against its
    recorded digest."""
    recorded = record_of(store, store_id)
    located = storage.committed(store, prefix_of(store_id))
    if located is None:
        raise IntegrityError(f"the archive of {store_id} has no recorded objects")
    bucket, stored = located
    if objects.listing_sha256(stored) != _imported_event(store, store_id).details.get("objects_sha256"):
        raise IntegrityError(f"the archive of {store_id} lists other objects than its signed "
                             "`store.imported` event")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix=".imported-", dir=store.scratch_dir) as tmp:
        root = Path(tmp) / "store"
        bucket.fetch(prefix_of(store_id), stored, root)
        if hashlib.sha256((root / LEDGER_FILE).read_bytes()).hexdigest() != recorded["ledger_sha256"]:
            raise IntegrityError(f"the archived ledger of {store_id} is not the one recorded at the copy")
        view = Store(root, read_only=True)
        try:
            yield view
        finally:
            view.ledger.close()


def endorsement(store: Store, store_id: str, view: Store) -> str | None:
    """Why this agency does not vouch for the imported store's root, or None when it does."""
    row = record_of(store, store_id)
    root = view.pki.root_certificate()
    if certificate_sha256(root) != row["root_sha256"]:
        return "the archived root is not the one recorded at the copy"
    cross = x509.load_pem_x509_certificate(str(row["cross_certificate"]).encode())
    return pki.endorsement_problem(cross, root, store.pki.intermediate_certificate(),
                                   store.pki.root_certificate())  # fmt: skip


def trust_for(store: Store, store_id: str, view: Store) -> AgencyTrust:
    """The imported store's PKI as a verifier in this agency trusts it (its root, because this
    agency's issuing CA cross-certified it), or a trust with no root when the endorsement fails,
    so every signer check fails and says why."""
    problem = endorsement(store, store_id, view)
    trust = view.pki.trust()
    if problem is not None:
        return AgencyTrust(source=f"workstation store {store_id}: {problem}", roots=[])
    return dataclasses.replace(trust, source=f"workstation store {store_id}'s root, cross-certified by this agency")


def key_lookup(store: Store, view: Store) -> Callable[[str], keys.SignerKey | None]:
    """This agency's certified keys, then the imported store's."""
    mine, theirs = store.key_lookup(), view.key_lookup()

    def lookup(fingerprint: str) -> keys.SignerKey | None:
        return mine(fingerprint) or theirs(fingerprint)

    return lookup


def time_trust(store: Store, view: Store) -> TimeTrust:
    return TimeTrust(view.tsa_roots() + store.tsa_roots(), store.config.timestamp.late_limit_s)


def expected_head(store: Store, view: Store, bundle_id: str) -> ChainHead | None:
    """The custody head the two ledgers remember together: the workstation's events, then this
    agency's."""
    before, after = view.ledger.recorded_custody_head(bundle_id), store.ledger.recorded_custody_head(bundle_id)
    if after is None:
        return before
    return ChainHead((before.count if before else 0) + after.count, after.last_hash)
