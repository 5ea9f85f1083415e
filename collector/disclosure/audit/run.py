"""The audit command: who may run it, the period, writing the report, and the ledger record."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

from pydantic import Field

from collector.disclosure.audit.model import AUDITORS, FORMATS
from collector.disclosure.audit.render import render
from collector.disclosure.audit.sections import build_report
from collector.errors import CollectorError, Refused, UsageError
from collector.evidence.model import Model
from collector.store.actions import LedgerAction
from collector.store.store import Actor, Identity, Store

# --------------------------------------------------------------------- the command


def parse_date(value: str | None, option: str) -> date | None:
    """A YYYY-MM-DD option (UTC date), or a one-line UsageError."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError as exc:
        raise UsageError(f"{option} must be a date YYYY-MM-DD, not {value!r}") from exc


def require_auditor(store: Store, actor: Identity) -> None:
    """Refuse (recorded as `denied.audit`) anyone but an auditor, supervisor or admin."""
    if actor.user.role not in AUDITORS:
        allowed = ", ".join(sorted(r.value for r in AUDITORS))
        reason = f"role {actor.user.role.value!r} may not run audit reports (only {allowed})"
        store.ledger.record(LedgerAction.denied_audit, "refused", actor=actor.user.name,
                            details={"reason": reason})  # fmt: skip
        raise Refused(f"{actor.user.name}: {reason}")


class ReportRun(Model):
    """What `run_report` produced and recorded."""

    text: str
    sha256: str
    out: str | None
    counts: dict[str, int]
    event_seq: int | None = Field(None, description="None: the store is on read-only media.")


def run_report(
    store: Store,
    actor: Actor,
    *,
    start: date | None,
    end: date | None,
    fmt: str,
    out: Path | None = None,
) -> ReportRun:
    """Check the role, build and render the report, write it, record `audit.report`."""
    import hashlib

    if fmt not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if out is not None and out.exists():
        raise UsageError(f"{out} exists: an audit report is never overwritten")
    require_auditor(store, actor)
    report = build_report(store, start, end, by=actor.user.name)
    text = render(report, fmt)
    data = text.encode("utf-8")
    digest = hashlib.sha256(data).hexdigest()
    if out is not None:
        _write_new(out, data)
    if store.read_only:
        return ReportRun(text=text, sha256=digest, out=None if out is None else str(out),
                         counts=report.counts(), event_seq=None)  # fmt: skip
    event = store.ledger.record(
        LedgerAction.audit_report, actor=actor.user.name,
        details={"from": None if start is None else start.isoformat(),
                 "to": None if end is None else end.isoformat(),
                 "format": fmt, "out": None if out is None else str(out), "sha256": digest,
                 "counts": report.counts()},
    )  # fmt: skip
    return ReportRun(text=text, sha256=digest, out=None if out is None else str(out),
                     counts=report.counts(), event_seq=event.seq)  # fmt: skip


def _write_new(path: Path, data: bytes) -> None:
    """Create the file (never overwrite), readable by owner and group only."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    except FileExistsError as exc:
        raise UsageError(f"{path} exists: an audit report is never overwritten") from exc
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc}") from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
    except OSError as exc:
        path.unlink(missing_ok=True)
        raise CollectorError(f"cannot write {path}: {exc}") from exc
