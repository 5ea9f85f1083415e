"""The two-person purge: a request, a different approver, the bundle's files destroyed and a tombstone kept."""

from __future__ import annotations

import json
import os
import secrets
import shutil
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Connection, insert

from collector.errors import CollectorError, Refused, UsageError
from collector.evidence.custody import CustodyEvent, EventType
from collector.policy.retention.model import (
    KIND,
    PURGE_APPROVERS,
    PURGE_REQUESTERS,
    PurgeOutcome,
    PurgeRequest,
)
from collector.policy.retention.rules import (
    clean_text,
    deny,
    event_builder,
    live_bundle,
    require_role,
)
from collector.policy.retention.state import (
    known_bundle,
    requests_of,
    state_of,
    tombstone_of,
)
from collector.store import schema, storage
from collector.store.actions import LedgerAction
from collector.store.model import BundleRow
from collector.store.store import Actor, Store
from collector.store.tombstones import Tombstone

# --------------------------------------------------------------------- purges


def request_purge(store: Store, actor: Actor, bundle_id: str, reason: str) -> PurgeRequest:
    """A custodian's purge request: pending until supervisors other than the requester approve."""
    require_role(store, actor, PURGE_REQUESTERS, LedgerAction.purge_request, bundle_id, "request a purge")
    return open_request(store, actor, bundle_id, reason, origin="request")[1]


def open_request(
    store: Store,
    actor: Actor,
    bundle_id: str,
    reason: str,
    *,
    origin: Literal["request", "review"],
) -> tuple[CustodyEvent, PurgeRequest]:
    live_bundle(store, bundle_id)
    text = clean_text(reason, "--reason")
    denied: str | None = None
    request_id = f"PRG-{secrets.token_hex(4).upper()}"
    with store.ledger.transaction() as db:
        current = state_of(store, known_bundle(store, bundle_id))
        if current.hold is not None:
            denied = (f"{bundle_id} is on legal hold since {current.hold.at:%Y-%m-%d} "
                      f"({current.hold.reason}): no purge while held")  # fmt: skip
        elif current.pending_request is not None:
            raise UsageError(f"purge request {current.pending_request} is already pending for "
                             f"{bundle_id} (`collector purge approve`)")  # fmt: skip
        else:
            details: dict[str, Any] = {
                "kind": KIND, "decision": "purge", "origin": origin, "reason": text,
                "request_id": request_id, "retention_class": current.retention_class,
                "due": None if current.due is None else current.due.isoformat(),
                "people_needed": store.config.policy.purge_approvals,
            }  # fmt: skip
            event = store.ledger.append_custody_in(
                db, bundle_id, event_builder(store, actor, bundle_id, EventType.reviewed, details)
            )
            db.execute(
                insert(schema.purge_requests).values(
                    id=request_id, bundle_id=bundle_id, requested_by=actor.user.name,
                    requested_at=event.at, reason=text, origin=origin, custody_seq=event.seq,
                )
            )  # fmt: skip
            store.ledger.record_in(db, LedgerAction.purge_request, actor=actor.user.name, subject=bundle_id,
                                   details={"request_id": request_id, "origin": origin,
                                            "reason": text, "seq": event.seq})  # fmt: skip
    if denied is not None:
        raise deny(store, LedgerAction.purge_request, actor, bundle_id, denied)
    found = next(r for r in requests_of(store, bundle_id) if r.id == request_id)
    return event, found


def _resolve_request(store: Store, ref: str) -> PurgeRequest:
    """A purge request by its id, or the pending request of a bundle by the bundle's id."""
    every = requests_of(store)
    for r in every:
        if r.id == ref:
            return r
    if store.ledger.bundle(ref) is None:
        raise UsageError(f"{ref!r} is neither a purge request nor a known bundle id")
    grave = tombstone_of(store, ref)
    if grave is not None:
        raise UsageError(f"{ref} was already purged on {grave.purged_at:%Y-%m-%d}")
    pending = [r for r in every if r.bundle_id == ref and r.status == "pending"]
    if not pending:
        raise UsageError(f"no pending purge request for {ref} (`collector purge {ref} --reason`)")
    return pending[-1]


def approve_purge(store: Store, actor: Actor, ref: str) -> PurgeOutcome:
    """A supervisor other than the requester approves; the last approval carries out the purge.

    Refused under legal hold. Carrying it out removes the bundle's directory, writes the
    tombstone and appends a signed `purged` custody event, all or nothing; the custody log
    and the ledger rows remain.
    """
    require_role(store, actor, PURGE_APPROVERS, LedgerAction.purge_approve, ref, "approve a purge")
    request = _resolve_request(store, ref)
    bundle_id = request.bundle_id
    row = known_bundle(store, bundle_id)
    bag = store.bundle_path(row)
    staging = store.work_dir / f"{bundle_id}.purging"
    bucket_client: Any = None
    denied: str | None = None
    staged: Path | None = None
    outcome: PurgeOutcome | None = None
    try:
        with store.ledger.transaction() as db:
            request = next(r for r in requests_of(store, bundle_id) if r.id == request.id)
            current = state_of(store, known_bundle(store, bundle_id))
            approvers = [a.approver for a in request.approvals]
            if request.status != "pending":
                raise UsageError(f"purge request {request.id} is {request.status}")
            if actor.user.name == request.requested_by:
                denied = (f"separation of duties: {actor.user.name} requested {request.id} and "
                          "may not approve it; another supervisor must")  # fmt: skip
            elif actor.user.name in approvers:
                denied = f"{actor.user.name} already approved {request.id}"
            elif current.hold is not None:
                denied = (f"{bundle_id} is on legal hold since {current.hold.at:%Y-%m-%d} "
                          f"({current.hold.reason}): it cannot be purged")  # fmt: skip
            else:
                people = 1 + len(approvers) + 1
                needed = store.config.policy.purge_approvals
                approvers.append(actor.user.name)
                if people < needed:
                    outcome = _record_approval(store, db, actor, request, people, needed)
                else:
                    try:  # a bundle in the bucket: the privileged credential must be here
                        bucket_client = storage.purge_client(store, bundle_id)
                    except Refused as exc:
                        denied = str(exc)
                if people >= needed and denied is None:
                    stored = storage.objects_of(store, bundle_id)
                    files, size = (len(stored), sum(o.size for o in stored)) if stored else _measure(bag)
                    staged = _stage(bag, staging)
                    outcome = _carry_out(store, db, actor, request, row, approvers, files, size)
    except BaseException:
        if staged is not None:
            _unstage(staged, bag)
        raise
    if denied is not None:
        raise deny(store, LedgerAction.purge_approve, actor, bundle_id, denied)
    assert outcome is not None
    if bucket_client is not None:
        outcome.warnings += storage.destroy(store, bundle_id, bucket_client)
    if staged is not None:
        try:
            _destroy(staged)
        except OSError as exc:
            outcome.warnings.append(f"recorded as purged, but {staged} could not be removed: "
                                    f"{exc}; remove it by hand")  # fmt: skip
    outcome.request = next(r for r in requests_of(store, bundle_id) if r.id == request.id)
    return outcome


def _record_approval(
    store: Store,
    db: Connection,
    actor: Actor,
    request: PurgeRequest,
    people: int,
    needed: int,
) -> PurgeOutcome:
    details: dict[str, Any] = {
        "kind": KIND, "decision": "purge-approved", "request_id": request.id,
        "people": people, "people_needed": needed,
    }  # fmt: skip
    event = store.ledger.append_custody_in(
        db, request.bundle_id,
        event_builder(store, actor, request.bundle_id, EventType.reviewed, details),
    )  # fmt: skip
    db.execute(
        insert(schema.purge_approvals).values(
            request_id=request.id, approver=actor.user.name, approved_at=event.at,
            custody_seq=event.seq,
        )
    )  # fmt: skip
    store.ledger.record_in(db, LedgerAction.purge_approve, actor=actor.user.name, subject=request.bundle_id,
                           details={"request_id": request.id, "people": people,
                                    "people_needed": needed, "seq": event.seq})  # fmt: skip
    return PurgeOutcome(request=request, event=event)


def _carry_out(
    store: Store,
    db: Connection,
    actor: Actor,
    request: PurgeRequest,
    row: BundleRow,
    approvers: list[str],
    files: int,
    size: int,
) -> PurgeOutcome:
    details: dict[str, Any] = {
        "kind": KIND, "request_id": request.id, "reason": request.reason,
        "requested_by": request.requested_by, "requested_at": request.requested_at.isoformat(),
        "approved_by": approvers, "seal_sha256": row.seal_sha256, "path": row.path,
        "files": files, "bytes": size,
    }  # fmt: skip
    event = store.ledger.append_custody_in(
        db, row.id, event_builder(store, actor, row.id, EventType.purged, details)
    )
    db.execute(
        insert(schema.purge_approvals).values(
            request_id=request.id, approver=actor.user.name, approved_at=event.at,
            custody_seq=event.seq,
        )
    )  # fmt: skip
    db.execute(
        insert(schema.purge_tombstones).values(
            bundle_id=row.id, request_id=request.id, seal_sha256=row.seal_sha256,
            reason=request.reason, requested_by=request.requested_by,
            approved_by=json.dumps(approvers), purged_at=event.at, custody_seq=event.seq,
            custody_hash=event.hash, path=row.path, files=files, bytes=size,
        ),
    )  # fmt: skip
    store.ledger.record_in(db, LedgerAction.purge_executed, actor=actor.user.name, subject=row.id,
                           details={"request_id": request.id, "approved_by": approvers,
                                    "seal_sha256": row.seal_sha256, "files": files,
                                    "bytes": size, "seq": event.seq,
                                    "custody_hash": event.hash})  # fmt: skip
    grave = Tombstone(
        bundle_id=row.id, request_id=request.id, seal_sha256=row.seal_sha256,
        reason=request.reason, requested_by=request.requested_by, approved_by=approvers,
        purged_at=event.time, custody_seq=event.seq, custody_hash=event.hash, path=row.path,
        files=files, bytes=size,
    )  # fmt: skip
    return PurgeOutcome(request=request, event=event, tombstone=grave)


# --------------------------------------------------------------------- files


def _measure(bag: Path) -> tuple[int, int]:
    files = size = 0
    for dirpath, _dirs, names in os.walk(bag):
        for name in names:
            files += 1
            size += os.lstat(os.path.join(dirpath, name)).st_size
    return files, size


def _stage(bag: Path, staging: Path) -> Path | None:
    """Move the sealed (read-only) bundle out of bundles/ so the purge is all or nothing."""
    if not bag.exists():
        return None
    if staging.exists():
        _destroy(staging)  # a leftover of an earlier, interrupted removal
    try:
        staging.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(bag, 0o700)  # moving a directory to another parent rewrites its `..`
        os.rename(bag, staging)
    except OSError as exc:
        if bag.is_dir():
            os.chmod(bag, 0o550)  # noqa: S103 - back to the sealed bundle's mode
        raise CollectorError(f"cannot move {bag} aside to purge it: {exc}") from exc
    return staging


def _unstage(staged: Path, bag: Path) -> None:
    os.rename(staged, bag)
    os.chmod(bag, 0o550)  # noqa: S103 - back to the sealed bundle's mode


def _destroy(root: Path) -> None:
    """Remove a read-only tree: make each directory writable, then delete."""
    for dirpath, _dirs, _files in os.walk(root):
        os.chmod(dirpath, 0o700)
    shutil.rmtree(root)
