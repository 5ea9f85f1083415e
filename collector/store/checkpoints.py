"""Making and keeping ledger checkpoints (`evidence/checkpoint.py`): after every capture,
export and exhibit, at init and upgrade, and by the first command after
`[ledger] checkpoint_interval_h` without one. Each is kept in the ledger's `checkpoints` table,
written to `[ledger] checkpoint_dir` when one is configured, and shipped in every export.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, insert, select

from collector.errors import UsageError
from collector.evidence import files, keys
from collector.evidence.checkpoint import Checkpoint, Statement, signed_bytes
from collector.store import schema, storage
from collector.store.actions import LedgerAction
from collector.store.ledger import iso, now
from collector.store.objects import StorageError
from collector.store.stamping import stamper
from collector.store.store import Actor, Store


@dataclass(frozen=True)
class Made:
    checkpoint: Checkpoint
    copy: Path | None
    warning: str | None


def make(store: Store, actor: Actor | None, reason: str) -> Made:
    """Checkpoint the ledger's head now, signed by `actor` (else the store's own key)."""
    signer = actor or store.system_actor()
    ev = schema.events
    head = store.ledger.rows(select(ev.c.seq, ev.c.hash).order_by(ev.c.seq.desc()).limit(1))
    if not head:
        raise UsageError("the ledger has no events to checkpoint")
    statement = Statement(
        agency=store.config.agency, store_id=store.config.store_id,
        event_count=int(head[0]["seq"]), head_hash=str(head[0]["hash"]), made_at=now(),
        reason=reason,
    )  # fmt: skip
    signature = keys.sign(signer.key, signed_bytes(statement))
    stamp, outcome = stamper(store)  # outside any transaction: the authority may be slow
    token = stamp(signature) if stamp is not None else None
    checkpoint = Checkpoint(
        statement=statement, signer=signer.user.name,
        key_fingerprint=signer.user.key_fingerprint, signature=keys.b64(signature),
        timestamp=keys.b64(token) if token is not None else None,
        timestamp_status=outcome.status,
    )  # fmt: skip
    cp = schema.checkpoints
    with store.ledger.transaction() as db:
        number = int(db.execute(select(func.count()).select_from(cp)).scalar_one()) + 1
        db.execute(
            insert(cp).values(
                seq=number, made_at=iso(statement.made_at), event_count=statement.event_count,
                head_hash=statement.head_hash, reason=reason, body=checkpoint.model_dump_json(),
            )
        )  # fmt: skip
    copy, warning = _copy_out(store, checkpoint, signer)
    warning = _to_bucket(store, checkpoint, signer) or warning
    return Made(checkpoint, copy, warning)


def _to_bucket(store: Store, checkpoint: Checkpoint, signer: Actor) -> str | None:
    """In an agency store, also write it to the bucket under Object Lock (`ledger/…`), where no
    workstation credential can remove it; a failure is recorded and returned as a warning."""
    target = storage.bucket(store)
    if target is None:
        return None
    st = checkpoint.statement
    key = f"ledger/checkpoint-{st.event_count:08d}-{st.made_at:%Y%m%dT%H%M%SZ}.json"
    until = st.made_at + timedelta(days=366 * store.config.bundles.lock_years)
    try:
        target.put_locked(key, (checkpoint.model_dump_json(indent=2) + "\n").encode(), until)
    except StorageError as exc:
        warning = f"the checkpoint could not be written to {target.url}: {exc}"
        store.ledger.record(LedgerAction.ledger_checkpoint_copy, "failed", actor=signer.user.name,
                            details={"bucket": target.url, "error": warning,
                                     "event_count": st.event_count})  # fmt: skip
        return warning
    return None


def _copy_out(store: Store, checkpoint: Checkpoint, signer: Actor) -> tuple[Path | None, str | None]:
    """Also write it where the store's writer cannot rewrite it, when configured; a failure
    is recorded and returned as a warning (the checkpoint itself stands)."""
    directory = store.config.ledger.checkpoint_dir
    if not directory:
        return None, None
    st = checkpoint.statement
    target = Path(directory) / f"checkpoint-{st.store_id[:8]}-{st.event_count:08d}-{st.made_at:%Y%m%dT%H%M%SZ}.json"
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(checkpoint.model_dump_json(indent=2) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        warning = f"the checkpoint could not be written to {directory}: {exc.strerror or exc}"
        store.ledger.record(LedgerAction.ledger_checkpoint_copy, "failed", actor=signer.user.name,
                            details={"directory": directory, "error": warning,
                                     "event_count": st.event_count})  # fmt: skip
        return None, warning
    return target, None


def newest(store: Store) -> Checkpoint | None:
    cp = schema.checkpoints
    rows = store.ledger.rows(select(cp.c.body).order_by(cp.c.seq.desc()).limit(1))
    return Checkpoint.model_validate_json(rows[0]["body"]) if rows else None


def as_file(checkpoint: Checkpoint) -> str:
    """A checkpoint as it is written out to be kept elsewhere (`ledger checkpoint --out`)."""
    return checkpoint.model_dump_json(indent=2) + "\n"


def every(store: Store) -> list[Checkpoint]:
    cp = schema.checkpoints
    return [Checkpoint.model_validate_json(r["body"]) for r in store.ledger.rows(select(cp.c.body).order_by(cp.c.seq))]


def due(store: Store) -> bool:
    """No checkpoint for longer than the configured interval."""
    last = newest(store)
    interval = timedelta(hours=store.config.ledger.checkpoint_interval_h)
    return last is None or now() - last.statement.made_at >= interval


def read_file(path: Path) -> Checkpoint:
    """A checkpoint file from elsewhere (hostile input: one-line error when it is not one)."""
    return parse(files.read_regular(path, "--against", MAX_FILE), str(path))


MAX_FILE = 1 * files.MIB
"""The largest checkpoint file read (one is about 2 KiB)."""


def parse(data: bytes, name: str) -> Checkpoint:
    """A checkpoint's bytes from elsewhere, called `name` in the one-line error."""
    try:
        return Checkpoint.model_validate_json(data)
    except ValueError as exc:
        raise UsageError(f"{name} is not a ledger checkpoint made by `collector ledger checkpoint`") from exc
