"""A store's key material and PKI files: files in its directory on a workstation, or rows of the
ledger database's `vault` table in an agency store, whose workstations share no directory.

Entries are named by their store-relative path (`keys/alice.key.pem`, `pki/root.cert.pem`).
Private keys are written encrypted (users' and the CAs', under their passphrases) as before;
only the store's own key and the redaction secret are unencrypted, as in a directory, where the
directory's permissions guard them and in the database the application role's credentials do.
A database entry is never deleted: removing it (the root's key taken off-line) empties it.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Protocol

from sqlalchemy import Connection, insert, select, update

from collector.errors import UsageError
from collector.evidence import keys
from collector.store import schema
from collector.store.ledger import Ledger, iso, now

PRIVATE_DIRS = ("keys",)
"""Entries under these are secrets: mode 0600 in a directory."""


class Vault(Protocol):
    def read(self, name: str) -> bytes | None:
        """The entry's bytes, or None when there is none."""

    def create(self, name: str, data: bytes) -> None:
        """Add an entry that must not exist yet."""

    def replace(self, name: str, data: bytes) -> None:
        """Write an entry whole, whether or not it exists."""

    def remove(self, name: str) -> None:
        """Take an entry away (missing is fine)."""

    def describe(self, name: str) -> str:
        """Where the entry is, for messages."""


def _private(name: str) -> bool:
    return name.split("/", 1)[0] in PRIVATE_DIRS


class DirectoryVault:
    """Entries as files under the store's directory."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, name: str) -> Path:
        return self.root.joinpath(*name.split("/"))

    def read(self, name: str) -> bytes | None:
        try:
            return self._path(name).read_bytes()
        except FileNotFoundError:
            return None

    def _prepared(self, name: str) -> Path:
        """The entry's path, its directory made (0700 for secrets)."""
        path = self._path(name)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700 if _private(name) else 0o750)
        return path

    def create(self, name: str, data: bytes) -> None:
        path = self._prepared(name)
        if _private(name):
            keys.write_private(path, data)
            return
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)

    def replace(self, name: str, data: bytes) -> None:
        path = self._prepared(name)
        if _private(name):
            keys.replace_private(path, data)
            return
        temporary = path.with_name(path.name + ".new")
        temporary.write_bytes(data)
        temporary.replace(path)

    def remove(self, name: str) -> None:
        self._path(name).unlink(missing_ok=True)

    def describe(self, name: str) -> str:
        return str(self._path(name))


class DatabaseVault:
    """Entries as rows of the ledger's `vault` table, written in the ledger's open transaction
    when there is one (so they roll back with it)."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def read(self, name: str) -> bytes | None:
        v = schema.vault
        rows = self.ledger.rows(select(v.c.data).where(v.c.name == name))
        if not rows or rows[0]["data"] is None:
            return None
        return base64.b64decode(rows[0]["data"])

    def create(self, name: str, data: bytes) -> None:
        v = schema.vault
        with self.ledger.writing() as db:
            found = db.execute(select(v.c.data).where(v.c.name == name)).first()
            if found is not None and found.data is not None:
                raise UsageError(f"{self.describe(name)} exists already")
            self._put(db, name, data, exists=found is not None)

    def replace(self, name: str, data: bytes) -> None:
        v = schema.vault
        with self.ledger.writing() as db:
            found = db.execute(select(v.c.name).where(v.c.name == name)).first()
            self._put(db, name, data, exists=found is not None)

    def remove(self, name: str) -> None:
        v = schema.vault
        with self.ledger.writing() as db:
            db.execute(update(v).where(v.c.name == name).values(data=None, updated_at=iso(now())))

    def describe(self, name: str) -> str:
        return f"{name} in the ledger database"

    @staticmethod
    def _put(db: Connection, name: str, data: bytes, *, exists: bool) -> None:
        v = schema.vault
        values = {"data": base64.b64encode(data).decode("ascii"), "updated_at": iso(now())}
        if exists:
            db.execute(update(v).where(v.c.name == name).values(**values))
        else:
            db.execute(insert(v).values(name=name, **values))
