"""Files the web application makes for a user (an export, a WACZ package, an exhibit packet):
written into the store's work area, `work/downloads/<id>/`, each with a small record of who
made it and its SHA-256. Only its maker (or a custodian) may download it; each download is a
`web.download` ledger row.

The id is 128 random bits; the record and the file are checked again at every download (a
file whose SHA-256 changed since it was made is refused, not served). They are copies: each is
removed `DOWNLOADS_KEPT` after it was made (swept whenever another is made) or when its maker or
a custodian removes it, and each removal is a `web.download.removed` ledger row."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from collector.errors import IntegrityError, Refused, UsageError
from collector.store.actions import LedgerAction
from collector.store.model import Role
from collector.store.roles import Action
from collector.store.store import Identity, Store
from collector.web.settings import DOWNLOADS_KEPT, UNFINISHED_KEPT

FOLDER = "downloads"
RECORD = "download.json"
ID = re.compile(r"^[0-9a-f]{32}$")
Kind = Literal["export", "wacz", "exhibit", "keys"]


class Made(BaseModel):
    """What was made, by whom, and its digest (the file itself sits beside this record)."""

    id: str
    kind: Kind
    owner: str
    made_at: datetime
    file: str
    sha256: str
    size: int
    subjects: list[str]
    summary: list[str]
    """Lines for the result page (export id, packages, pages and Bates range…)."""
    extra: list[str] = []
    """Further files of the same making (a redacted exhibit), beside the main one."""


@dataclass(frozen=True)
class Slot:
    """A new, empty directory for one making, and its id."""

    id: str
    directory: Path


def root(store: Store) -> Path:
    return store.work_dir / FOLDER


def new_slot(store: Store) -> Slot:
    sweep(store)
    ident = secrets.token_hex(16)
    directory = root(store) / ident
    directory.mkdir(parents=True, mode=0o700)
    return Slot(ident, directory)


def discard(slot: Slot) -> None:
    shutil.rmtree(slot.directory, ignore_errors=True)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def record(slot: Slot, who: Identity, kind: Kind, file: Path, subjects: list[str],
           summary: list[str], extra: list[Path] | None = None) -> Made:  # fmt: skip
    """Write the record of a file made in `slot` (its SHA-256 read from the file written)."""
    made = Made(id=slot.id, kind=kind, owner=who.user.name, made_at=datetime.now(UTC), file=file.name,
                sha256=sha256_file(file), size=file.stat().st_size, subjects=subjects, summary=summary,
                extra=[p.name for p in extra or []])  # fmt: skip
    (slot.directory / RECORD).write_text(made.model_dump_json(indent=2))
    return made


def may_fetch(who: Identity, made: Made) -> bool:
    return who.user.name == made.owner or who.user.role is Role.custodian


def find(store: Store, who: Identity, ident: str) -> Made:
    """The record of a download this user may have: its maker or a custodian (refusals are
    recorded as `denied.export`, the role that makes downloads)."""
    store.require(who, Action.export, subject=f"download {ident}")
    made = load(store, ident)
    refuse_others(store, who, made)
    return made


def load(store: Store, ident: str) -> Made:
    """The record of the download `ident` (no permission checked: the caller's)."""
    if not ID.match(ident) or not (root(store) / ident / RECORD).is_file():
        raise UsageError(f"no download {ident!r}")
    made = Made.model_validate(json.loads((root(store) / ident / RECORD).read_text()))
    names = (made.file, *made.extra)
    if made.id != ident or any(n in ("", ".", "..") or "/" in n or "\\" in n for n in names):
        # every path is made from the record: one naming another folder or a path is not used
        raise UsageError(f"download {ident!r}: its record names another download or a path")
    return made


def refuse_others(store: Store, who: Identity, made: Made) -> None:
    """Only its maker or a custodian may fetch a download: anyone else is refused, recorded."""
    ident = made.id
    if not may_fetch(who, made):
        reason = f"download {ident} was made by {made.owner}: {who.user.name} may not fetch it"
        store.ledger.record(LedgerAction.denied_export, "refused", actor=who.user.name,
                            subject=f"download {ident}", details={"reason": reason})  # fmt: skip
        raise Refused(reason)


def fetch(store: Store, who: Identity, made: Made, name: str) -> tuple[Path, str]:
    """The path of one of the download's files and its SHA-256, checked; recorded as a `web.download` row."""
    if name not in (made.file, *made.extra):
        raise UsageError(f"download {made.id} has no file {name!r}")
    path = root(store) / made.id / name
    digest = sha256_file(path)
    if name == made.file and digest != made.sha256:
        raise IntegrityError(f"{name} changed since it was made (sha256 {digest}, made {made.sha256})")
    # The server's own statement (signed with the store's key): a web request holds no user key,
    # so the row names the session's user in its details instead of claiming their signature.
    store.ledger.record(LedgerAction.web_download, actor=None, subject=",".join(made.subjects) or made.kind,
                        details={"kind": made.kind, "download": made.id, "file": name, "sha256": digest,
                                 "made_by": made.owner, "session_user": who.user.name})  # fmt: skip
    return path, digest


def _removed(store: Store, ident: str, made: Made | None, reason: str, by: str | None) -> None:
    shutil.rmtree(root(store) / ident)
    details: dict[str, object] = {"download": ident, "reason": reason}
    if made is not None:
        details.update(kind=made.kind, file=made.file, sha256=made.sha256, made_by=made.owner,
                       made_at=made.made_at.isoformat())  # fmt: skip
    if by is not None:
        details["session_user"] = by
    # The store's own statement, as for a download: the request holds no user key.
    store.ledger.record(LedgerAction.web_download_removed, actor=None,
                        subject=",".join(made.subjects) if made and made.subjects else f"download {ident}",
                        details=details)  # fmt: skip


def sweep(store: Store, now: datetime | None = None, kept: timedelta = DOWNLOADS_KEPT) -> list[str]:
    """Remove the downloads made more than `kept` ago, and folders of makings cut short (no
    record) older than `UNFINISHED_KEPT`; each removal recorded. The ids removed. Anything in
    the folder that is not a download's is left alone."""
    at, folder, gone = now or datetime.now(UTC), root(store), []
    for entry in sorted(folder.iterdir()) if folder.is_dir() else []:
        if not ID.match(entry.name) or entry.is_symlink() or not entry.is_dir():
            continue
        if not (entry / RECORD).is_file():
            changed = datetime.fromtimestamp(entry.stat().st_mtime, UTC)
            if at - changed > UNFINISHED_KEPT:
                _removed(store, entry.name, None, "its making never finished", None)
                gone.append(entry.name)
            continue
        try:
            made = load(store, entry.name)
        except (ValueError, UsageError):
            continue  # a record this version cannot read is not removed unseen
        if at - made.made_at > kept:
            _removed(store, made.id, made, f"made more than {kept.days} days ago", None)
            gone.append(made.id)
    return gone


def remove(store: Store, who: Identity, made: Made) -> None:
    """Remove a download now, at its maker's or a custodian's request (others refused, recorded)."""
    refuse_others(store, who, made)
    _removed(store, made.id, made, "removed on request", who.user.name)
