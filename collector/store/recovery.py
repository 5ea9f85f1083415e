"""Putting the store right after a capture was killed, before any command works on it.

A capture records its intent (`capture.sealing`, with the seal digest) just before it moves
its sealed bag into `bundles/`, and the bundle (`capture.sealed` and the first custody event)
just after. Killed in between, it leaves a sealed bundle the ledger does not list; killed
earlier, a `work/*.partial` directory. `reconcile` runs at the start of every command that
opens the store and, leaving alone every capture still running (its `work/` lock is held):

- records a bundle found in `bundles/` without its row as **recovered** when the ledger holds
  its intent with the same seal digest and it verifies: its first custody event is
  `recovered`, signed by the store's own key (`system`), and the `capture.recovered` event
  names the intent;
- otherwise moves it to `unrecorded/` and records why (`capture.unrecorded`): a directory
  nobody recorded sealing is never taken for evidence;
- removes leftover partial work directories and records each removal (`capture.abandoned`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from collector.evidence.bundle import layout
from collector.evidence.bundle.hashing import sha256_bytes
from collector.evidence.bundle.verify import failures, verify_bundle
from collector.evidence.custody import EventType
from collector.store import schema, worklock
from collector.store.actions import LedgerAction
from collector.store.custody_log import custody_builder
from collector.store.ledger import now
from collector.store.model import BundleRow, LedgerEvent
from collector.store.store import Store
from collector.store.verify import time_trust

UNRECORDED = "unrecorded"


@dataclass
class Reconciled:
    recovered: list[str] = field(default_factory=list)
    unrecorded: list[str] = field(default_factory=list)
    abandoned: list[str] = field(default_factory=list)

    def messages(self) -> list[str]:
        out = [
            f"{bundle_id}: sealed by a capture that was stopped before recording it; verified "
            "and recorded now (custody event `recovered`)"
            for bundle_id in self.recovered
        ]
        out += [
            f"{name}: found in bundles/ without a record of its sealing; moved to "
            f"{UNRECORDED}/{name} and not taken as evidence"
            for name in self.unrecorded
        ]
        out += [
            f"{bundle_id}: a capture stopped before sealing left its work directory; removed"
            for bundle_id in self.abandoned
        ]
        return out


def reconcile(store: Store) -> Reconciled:
    """Recover, set aside and tidy what killed captures left (see the module doc)."""
    result = Reconciled()
    if not os.access(store.root, os.W_OK) or not store.work_dir.is_dir():
        return result  # read-only media: nothing can be put right here
    _abandoned(store, result)
    known = {row.id for row in store.ledger.bundles()}
    if store.bundles_dir.is_dir():
        for path in sorted(store.bundles_dir.iterdir()):
            if path.name in known or not path.is_dir():
                continue
            if worklock.held(store.work_dir, path.name):
                continue  # its capture is between the move and its ledger row right now
            _recover(store, path, result)
    return result


def _abandoned(store: Store, result: Reconciled) -> None:
    for partial in sorted(store.work_dir.glob("*.partial")):
        bundle_id = partial.name.removesuffix(".partial")
        if worklock.held(store.work_dir, bundle_id):
            continue
        files, size = _measure(partial)
        complete = (partial / layout.SIGNATURE).exists()
        _make_writable(partial)
        shutil.rmtree(partial, ignore_errors=True)
        actor = store.system_actor()
        store.ledger.record(
            LedgerAction.capture_abandoned,
            actor=actor.user.name,
            subject=bundle_id,
            details={"files": files, "bytes": size, "was_signed": complete,
                     "reason": "its capture stopped before the bundle was moved into place"},
        )  # fmt: skip
        result.abandoned.append(bundle_id)
    for lock in store.work_dir.glob(f"*{worklock.SUFFIX}"):
        if not worklock.held(store.work_dir, lock.name.removesuffix(worklock.SUFFIX)):
            lock.unlink(missing_ok=True)


def _recover(store: Store, path: Path, result: Reconciled) -> None:
    intent = _intent(store, path.name)
    problem: str | None = None
    digest: str | None = None
    try:
        digest = sha256_bytes((path / layout.SIGNED_FILE).read_bytes())
    except OSError:
        problem = "it has no readable tag manifest"
    if problem is None and intent is None:
        problem = "the ledger holds no record of its sealing"
    if problem is None and intent is not None and intent.details.get("seal_sha256") != digest:
        problem = "its seal differs from the one the ledger says was sealed"
    if problem is None:
        report = verify_bundle(path, store.key_lookup(), None, time_trust(store), store.pki.trust())
        failed = failures(report.checks)
        if failed:
            problem = "it does not verify: " + "; ".join(failed)
    actor = store.system_actor()
    if problem is not None or intent is None or digest is None:
        aside = store.root / UNRECORDED
        aside.mkdir(exist_ok=True, mode=0o750)
        os.rename(path, aside / path.name)
        store.ledger.record(
            LedgerAction.capture_unrecorded,
            actor=actor.user.name,
            subject=path.name,
            details={"reason": problem or "unknown", "moved_to": f"{UNRECORDED}/{path.name}"},
        )
        result.unrecorded.append(path.name)
        return
    details = intent.details
    row = BundleRow(
        id=path.name,
        case_number=str(details["case_number"]),
        authorization_id=str(details["authorization_id"]),
        path=str(path.relative_to(store.root)),
        seal_sha256=digest,
        source_url=str(details["source_url"]),
        captured_by=str(details.get("requested_by") or intent.actor),
        created_at=now(),
    )
    recovered = {"seal_sha256": digest, "captured_by": row.captured_by, "intent_event": intent.seq,
                 "verified": True}  # fmt: skip
    if details.get("job_id"):
        recovered.update(job_id=details["job_id"], sealed_by=intent.actor)
    store.ledger.add_bundle(
        row,
        details={**recovered, "final_url": details.get("final_url"), "status": details.get("status")},
        captured=custody_builder(store, actor, path.name, EventType.recovered, recovered),
        action=LedgerAction.capture_recovered,
        recorded_by=actor.user.name,
    )
    result.recovered.append(path.name)


def _intent(store: Store, bundle_id: str) -> LedgerEvent | None:
    ev = schema.events
    rows = store.ledger.rows(
        select(ev.c.seq).where(
            ev.c.subject == bundle_id, ev.c.action == LedgerAction.capture_sealing.value
        )
    )
    if not rows:
        return None
    seq = int(rows[-1]["seq"])
    return next((e for e in store.ledger.events(subject=bundle_id) if e.seq == seq), None)


def _measure(root: Path) -> tuple[int, int]:
    files = size = 0
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            files += 1
            with contextlib.suppress(OSError):
                size += os.path.getsize(os.path.join(dirpath, name))
    return files, size


def _make_writable(root: Path) -> None:
    """A bag made read-only before its move cannot be removed until it is writable again."""
    for dirpath, _dirs, _names in os.walk(root):
        with contextlib.suppress(OSError):
            os.chmod(dirpath, 0o700)
