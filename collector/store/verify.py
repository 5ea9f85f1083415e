"""Verification in a store (`collector verify ID`, `custody verify`): bundle verification
(`evidence/bundle/verify.py`) against the store's key registry, custody log and purge
tombstones, with the result recorded in the ledger."""

from __future__ import annotations

import functools
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from collector.errors import UsageError
from collector.evidence.bundle import layout
from collector.evidence.bundle.hashing import Digests, sha256_bytes
from collector.evidence.bundle.request_check import JobSeals
from collector.evidence.bundle.verify import (
    Check,
    CustodyInput,
    TimeTrust,
    VerifyReport,
    failures,
    verify_bundle,
)
from collector.evidence.custody import ChainReport, EventType, verify_chain
from collector.evidence.keys import KeyLookup
from collector.evidence.trust import AgencyTrust
from collector.store import custody_log as services
from collector.store import imports, jobs, storage, tombstones
from collector.store.actions import LedgerAction
from collector.store.config import CONFIG_NAME
from collector.store.model import BundleRow
from collector.store.storage import Committed
from collector.store.store import Actor, Store


def open_store_if_any(store_path: Path) -> Store | None:
    return Store.open(store_path) if (store_path / CONFIG_NAME).is_file() else None


def find_bundle(store: Store | None, target: str) -> tuple[Path, BundleRow | None]:
    """A bundle directory given by path, or by id in the store (one not committed to a bucket:
    those are verified as the bucket holds them)."""
    path = Path(target)
    if (path / "bagit.txt").is_file():
        row = store.ledger.bundle(path.name) if store is not None else None
        return path, row
    row = store.ledger.bundle(target) if store is not None else None
    if store is None or row is None:
        raise UsageError(f"{target!r} is neither a bundle directory nor a known bundle id")
    return store.bundle_path(row), row


def storage_check(store: Store, bundle_id: str, found: Committed | None = None,
                  changed: Sequence[str] = ()) -> Check | None:  # fmt: skip
    """Where a bundle lives, and what the bucket holds under its prefix beyond what was
    recorded (versions are always read by recorded id: a delete marker or a later version
    changes nothing, but it is reported). `found` and `changed`: what a streamed verification
    already looked up, and the objects it read differently from their record."""
    if storage.bucket(store) is None:
        return None
    found = found or storage.committed(store, bundle_id)
    if found is None:
        return Check(name="storage", ok=True, warning=True,
                     detail="not yet in the bucket: it waits in this workstation's outbox "
                     "(`collector store flush`)")  # fmt: skip
    target, stored = found
    report = target.versions(bundle_id, stored)
    where = f"{len(stored)} objects in {store.config.bundles.url}, read by their recorded versions"
    listing = storage.recorded_listing(store, bundle_id, stored)
    if listing is not None:
        return Check(name="storage", ok=False, detail=f"{where}; {listing}")
    if changed:
        return Check(name="storage", ok=False,
                     detail=f"{where}; read differently from what was recorded: {'; '.join(changed)}")  # fmt: skip
    if report.missing:
        return Check(name="storage", ok=False,
                     detail=f"{where}; recorded versions gone from the bucket: {', '.join(report.missing)}")  # fmt: skip
    odd = report.extra_versions + report.delete_markers
    if odd:
        return Check(name="storage", ok=True, warning=True,
                     detail=f"{where}; also under its prefix, not part of it: {', '.join(odd)}")  # fmt: skip
    return Check(name="storage", ok=True, detail=f"{where}; nothing else under its prefix")


def time_trust(store: Store) -> TimeTrust:
    """The store's time-stamp authority roots and late limit."""
    return TimeTrust(store.tsa_roots(), store.config.timestamp.late_limit_s)


def job_seals(store: Store) -> JobSeals:
    """This store's ledger as verification asks it which bundle a capture request was sealed as."""
    return functools.partial(jobs.seal_record, store)


def custody_input(store: Store, bundle_id: str) -> CustodyInput:
    return CustodyInput(
        events=store.ledger.custody(bundle_id),
        expected_head=store.ledger.recorded_custody_head(bundle_id),
        source="store ledger",
    )


def verify_in_store(
    store: Store | None, target: str, actor: Actor | None, *, observer: str | None = None
) -> VerifyReport:
    """Verify a bundle; with a store, against its key registry and custody log.

    The result is recorded in the ledger; with an authenticated actor it is also a signed
    `verified` custody event. `observer` names a user who asked without a key (a web page or an
    API call): the row is then the store's own statement naming them (`session_user`). A bundle purged under policy raises `BundlePurged` (exit 5)
    when its custody log, `purged` event included, verifies; otherwise the report fails.
    """
    if store is not None and not (Path(target) / "bagit.txt").is_file():
        purged = _purged_report(store, target, actor, observer)
        if purged is not None:
            return purged
    if store is not None and not (Path(target) / "bagit.txt").is_file():
        row = store.ledger.bundle(target)
        found = storage.committed(store, target) if row is not None else None
        if row is not None and found is not None:
            with tempfile.TemporaryDirectory(prefix=f".verify-{row.id}-", dir=store.scratch_dir) as tmp:
                return _verify_streamed(store, row, found, Path(tmp) / row.id, actor, observer)
    path, row = find_bundle(store, target)
    if store is None:
        return verify_bundle(path)  # nothing anchors the signer: the report says so and fails
    return _verify_at(store, row, path, actor, observer=observer)


def _verify_streamed(store: Store, row: BundleRow, found: Committed, scratch: Path,
                     actor: Actor | None, observer: str | None) -> VerifyReport:  # fmt: skip
    """A committed bundle is verified as the bucket holds it: every recorded version read once
    and hashed as it streams; only the tag files and the metadata are written (to a scratch
    directory removed afterwards), so this workstation's own copy plays no part."""
    target, stored = found
    streamed, changed = target.stream_into(row.id, stored, scratch, keep=kept_when_streamed)
    return _verify_at(store, row, scratch, actor, streamed=streamed, found=found, changed=changed,
                      where=f"{target.url}/{row.id}/", observer=observer)  # fmt: skip


def _observed(actor: Actor | None, observer: str | None) -> dict[str, str]:
    return {"session_user": observer} if actor is None and observer else {}


def kept_when_streamed(name: str) -> bool:
    """Files a streamed verification writes out: everything the checks read (tag files,
    signature, token, signer's chain and the metadata), not the payload it only hashes."""
    return not name.startswith("data/") or name == f"data/{layout.METADATA}"


@dataclass(frozen=True)
class Judging:
    """What a bundle in this store is judged against: its keys, custody log, time-stamp roots
    and PKI (for a bundle copied from a workstation store, that store's as archived, with this
    agency's keys and custody events after the move)."""

    key_lookup: KeyLookup
    custody: CustodyInput
    time_trust: TimeTrust
    trust: AgencyTrust
    job_seals: JobSeals | None
    """Which bundle each capture request was sealed as: this store's ledger (None for a bundle
    moved here from a workstation store, whose ledger recorded its jobs)."""


@contextmanager
def judging(store: Store, bundle_id: str) -> Iterator[Judging]:
    store_id = imports.origin(store, bundle_id)
    if store_id is None:
        yield Judging(store.key_lookup(), custody_input(store, bundle_id), time_trust(store), store.pki.trust(),
                      job_seals(store))  # fmt: skip
        return
    with imports.archived(store, store_id) as view:
        custody = CustodyInput(events=store.ledger.custody(bundle_id),
                               expected_head=imports.expected_head(store, view, bundle_id),
                               source=f"store ledger, and workstation store {store_id}'s before the move")  # fmt: skip
        yield Judging(imports.key_lookup(store, view), custody, imports.time_trust(store, view),
                      imports.trust_for(store, store_id, view), None)  # fmt: skip


def _verify_at(store: Store, row: BundleRow | None, path: Path, actor: Actor | None,
               streamed: dict[str, Digests] | None = None, found: Committed | None = None,
               changed: Sequence[str] = (), where: str | None = None,
               observer: str | None = None) -> VerifyReport:  # fmt: skip
    if row is None:
        report = verify_bundle(path, store.key_lookup(), None, time_trust(store), store.pki.trust(), streamed,
                               job_seals(store))  # fmt: skip
    else:
        with judging(store, row.id) as j:
            report = verify_bundle(path, j.key_lookup, j.custody, j.time_trust, j.trust, streamed, j.job_seals)
    if where is not None:
        report.path = where
    stored = storage_check(store, row.id, found, changed) if row is not None else None
    if stored is not None:
        report.checks.append(stored)
        report.ok = report.ok and stored.ok
    failed = failures(report.checks)
    if store.read_only:
        report.checks.append(Check(name="recorded", ok=True, warning=True,
                                   detail=READ_ONLY_NOTE))  # fmt: skip
        return report
    store.ledger.record(
        LedgerAction.bundle_verify,
        "ok" if report.ok else "failed",
        actor=actor.user.name if actor else None,
        subject=report.bundle_id,
        details={"path": report.path, "failed": failed, **_observed(actor, observer)},
    )
    if actor is not None and row is not None:
        services.append(
            store,
            actor,
            row.id,
            EventType.verified,
            {"result": "pass" if report.ok else "fail", "failed": failed},
        )
    return report


READ_ONLY_NOTE = "this verification could not be recorded: the store is on read-only media"


def _purged_report(
    store: Store, target: str, actor: Actor | None, observer: str | None = None
) -> VerifyReport | None:
    """None unless the target names a purged bundle; a failed report if its log does not hold."""
    bundle_id = target if store.ledger.bundle(target) is not None else Path(target).name
    if store.ledger.bundle(bundle_id) is None:
        return None
    grave = tombstones.tombstone(store.ledger, bundle_id)
    if grave is None:
        return None
    chain = verify_custody(store, bundle_id)
    event = next((e for e in custody_input(store, bundle_id).events
                  if e.seq == grave.custody_seq), None)  # fmt: skip
    problems = [] if chain.ok else [f"custody chain: {chain.reason}"]
    if event is None or event.type is not EventType.purged or event.hash != grave.custody_hash:
        problems.append(f"tombstone: custody event {grave.custody_seq} is not its `purged` event")
    row = store.ledger.bundle(bundle_id)
    if row is not None and row.seal_sha256 != grave.seal_sha256:
        problems.append("tombstone: its seal digest differs from the ledger's")
    notice = tombstones.purged_notice(grave)
    if not store.read_only:
        store.ledger.record(
            LedgerAction.bundle_verify,
            "failed" if problems else "ok",
            actor=actor.user.name if actor else None,
            subject=bundle_id,
            details={"purged": True, "request_id": grave.request_id, "failed": problems,
                     **_observed(actor, observer)},
        )
    if not problems:
        raise tombstones.BundlePurged(f"{notice}; custody log intact ({chain.reason})")
    checks = [Check(name="purged", ok=True, detail=notice, warning=True)]
    checks += [
        Check(name=p.split(":", 1)[0], ok=False, detail=p.split(": ", 1)[1]) for p in problems
    ]
    return VerifyReport(path=str(store.root / grave.path), bundle_id=bundle_id, ok=False,
                        checks=checks)  # fmt: skip


def verify_custody(store: Store, bundle_id: str) -> ChainReport:
    row = store.ledger.bundle(bundle_id)
    if row is None:
        raise UsageError(f"unknown bundle {bundle_id!r}")
    try:
        anchor = sha256_bytes((store.bundle_path(row) / layout.SIGNED_FILE).read_bytes())
    except OSError:
        anchor = row.seal_sha256
    if anchor != row.seal_sha256:
        return ChainReport(False, "the bundle's seal digest differs from the ledger's", {}, None)
    with judging(store, bundle_id) as j:
        return verify_chain(
            j.custody.events,
            bundle_id=bundle_id,
            anchor=anchor,
            key_lookup=j.key_lookup,
            expected_head=j.custody.expected_head,
        )
