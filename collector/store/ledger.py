"""The ledger: SQLite (WAL) holding users, keys, authorizations, bundles and events.

Events form an append-only hash chain: each row's hash covers its content and the
previous row's hash (RFC 8785 canonical JSON, SHA-256). SQLite triggers refuse
UPDATE and DELETE on events, and this module has no such path.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import rfc8785

from collector.errors import CollectorError, UsageError
from collector.evidence.custody import ChainHead, CustodyEvent
from collector.evidence.keys import SignerKey
from collector.store.model import Authorization, BundleRow, LedgerEvent, Role, User

CustodyBuilder = Callable[[int, str], CustodyEvent]
"""Builds (and signs) the next custody event from its sequence number and previous hash."""

GENESIS = "0" * 64


def append_only(table: str, what: str) -> str:
    """SQLite triggers that refuse UPDATE and DELETE on `table` (no code path needs either)."""
    return "".join(
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} BEFORE {op} ON {table}\n"
        f"BEGIN SELECT RAISE(ABORT, '{what} are append-only'); END;\n"
        for op in ("UPDATE", "DELETE")
    )


SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    full_name TEXT NOT NULL,
    badge TEXT NOT NULL,
    role TEXT NOT NULL,
    created_at TEXT NOT NULL,
    retired_at TEXT,
    key_fingerprint TEXT NOT NULL,
    public_key_pem TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS keys (
    fingerprint TEXT PRIMARY KEY,
    owner TEXT NOT NULL REFERENCES users(name),
    public_key_pem TEXT NOT NULL,
    created_at TEXT NOT NULL,
    retired_at TEXT
);
CREATE TABLE IF NOT EXISTS authorizations (
    id TEXT PRIMARY KEY,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS bundles (
    id TEXT PRIMARY KEY,
    case_number TEXT NOT NULL,
    authorization_id TEXT NOT NULL,
    path TEXT NOT NULL,
    seal_sha256 TEXT NOT NULL,
    source_url TEXT NOT NULL,
    captured_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT,
    action TEXT NOT NULL,
    outcome TEXT NOT NULL,
    subject TEXT,
    details TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS custody (
    bundle_id TEXT NOT NULL REFERENCES bundles(id),
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL,
    PRIMARY KEY (bundle_id, seq)
);
"""
    + append_only("custody", "custody events")
    + append_only("events", "ledger events")
    + append_only("bundles", "bundle rows")
)

Outcome = Literal["ok", "refused", "failed"]


def now() -> datetime:
    return datetime.now(UTC)


def iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def event_hash(fields: dict[str, Any]) -> str:
    """SHA-256 of the RFC 8785 canonical JSON of an event without its own hash."""
    return hashlib.sha256(rfc8785.dumps(fields)).hexdigest()


class Ledger:
    """Typed access to the store's SQLite database."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._db = sqlite3.connect(path, timeout=30, isolation_level=None)
        except sqlite3.Error as exc:
            raise CollectorError(f"cannot open ledger {path}: {exc}") from exc
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.execute("PRAGMA synchronous=FULL")

    @classmethod
    def create(cls, path: Path) -> Ledger:
        ledger = cls(path)
        ledger._db.executescript(SCHEMA)
        return ledger

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # ------------------------------------------------------------------ for feature modules

    def ensure_schema(self, sql: str) -> None:
        """Create a feature module's tables (idempotent `CREATE … IF NOT EXISTS` statements)."""
        self._db.executescript(sql)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """An IMMEDIATE transaction: reads and writes inside it are serialised store-wide."""
        with self._tx() as db:
            yield db

    def record_in(
        self,
        db: sqlite3.Connection,
        action: str,
        outcome: Outcome = "ok",
        *,
        actor: str | None = None,
        subject: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> LedgerEvent:
        """Append a ledger event inside a transaction opened with `transaction()`."""
        return self._append(db, action, outcome, actor, subject, details or {})

    def append_custody_in(
        self, db: sqlite3.Connection, bundle_id: str, build: CustodyBuilder
    ) -> CustodyEvent:
        """Append a custody event inside a transaction opened with `transaction()`."""
        return self._append_custody(db, bundle_id, build)

    def has_table(self, name: str) -> bool:
        row = self._db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
        ).fetchone()
        return row is not None

    def query(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        """Read-only queries for feature modules and reports."""
        return list(self._db.execute(sql, args).fetchall())

    # ------------------------------------------------------------------ events

    def _append(
        self,
        db: sqlite3.Connection,
        action: str,
        outcome: Outcome,
        actor: str | None,
        subject: str | None,
        details: dict[str, Any],
    ) -> LedgerEvent:
        last = db.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
        seq = 1 if last is None else int(last["seq"]) + 1
        prev = GENESIS if last is None else str(last["hash"])
        at = now()
        fields: dict[str, Any] = {
            "seq": seq,
            "at": iso(at),
            "actor": actor,
            "action": action,
            "outcome": outcome,
            "subject": subject,
            "details": details,
            "prev_hash": prev,
        }
        digest = event_hash(fields)
        db.execute(
            "INSERT INTO events (seq, at, actor, action, outcome, subject, details, prev_hash, hash)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (seq, fields["at"], actor, action, outcome, subject, json.dumps(details), prev, digest),
        )
        return LedgerEvent(
            seq=seq,
            at=at,
            actor=actor,
            action=action,
            outcome=outcome,
            subject=subject,
            details=details,
            prev_hash=prev,
            hash=digest,
        )

    def record(
        self,
        action: str,
        outcome: Outcome = "ok",
        *,
        actor: str | None = None,
        subject: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> LedgerEvent:
        """Append one event to the chain."""
        with self._tx() as db:
            return self._append(db, action, outcome, actor, subject, details or {})

    def events(self, subject: str | None = None) -> list[LedgerEvent]:
        sql = "SELECT * FROM events"
        args: tuple[Any, ...] = ()
        if subject is not None:
            sql += " WHERE subject = ?"
            args = (subject,)
        rows = self._db.execute(sql + " ORDER BY seq", args).fetchall()
        return [
            LedgerEvent(
                seq=r["seq"],
                at=datetime.fromisoformat(r["at"]),
                actor=r["actor"],
                action=r["action"],
                outcome=r["outcome"],
                subject=r["subject"],
                details=json.loads(r["details"]),
                prev_hash=r["prev_hash"],
                hash=r["hash"],
            )
            for r in rows
        ]

    def verify_chain(self) -> tuple[bool, str]:
        """Recompute every event hash and link; return (ok, reason)."""
        prev = GENESIS
        count = 0
        for ev in self.events():
            count += 1
            if ev.prev_hash != prev:
                return False, f"event {ev.seq}: link to previous event broken"
            fields = ev.model_dump(mode="json", exclude={"hash"})
            fields["at"] = iso(ev.at)
            if event_hash(fields) != ev.hash:
                return False, f"event {ev.seq}: content does not match its hash"
            prev = ev.hash
        return True, f"{count} events, chain intact"

    # ------------------------------------------------------------------ users and keys

    def add_user(self, user: User, *, actor: str | None) -> None:
        with self._tx() as db:
            if db.execute("SELECT 1 FROM users WHERE name = ?", (user.name,)).fetchone():
                raise UsageError(f"user {user.name!r} already exists")
            db.execute(
                "INSERT INTO users VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    user.name,
                    user.full_name,
                    user.badge,
                    user.role.value,
                    iso(user.created_at),
                    None,
                    user.key_fingerprint,
                    user.public_key_pem,
                ),
            )
            db.execute(
                "INSERT INTO keys VALUES (?, ?, ?, ?, NULL)",
                (user.key_fingerprint, user.name, user.public_key_pem, iso(user.created_at)),
            )
            self._append(
                db,
                "user.add",
                "ok",
                actor,
                user.name,
                {
                    "role": user.role.value,
                    "full_name": user.full_name,
                    "badge": user.badge,
                    "key_fingerprint": user.key_fingerprint,
                },
            )

    def retire_user(self, name: str, *, actor: str | None) -> None:
        with self._tx() as db:
            row = db.execute("SELECT retired_at FROM users WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise UsageError(f"no such user {name!r}")
            if row["retired_at"] is not None:
                raise UsageError(f"user {name!r} is already retired")
            at = iso(now())
            db.execute("UPDATE users SET retired_at = ? WHERE name = ?", (at, name))
            db.execute(
                "UPDATE keys SET retired_at = ? WHERE owner = ? AND retired_at IS NULL", (at, name)
            )
            self._append(db, "user.retire", "ok", actor, name, {})

    def user(self, name: str) -> User | None:
        row = self._db.execute("SELECT * FROM users WHERE name = ?", (name,)).fetchone()
        return None if row is None else _user(row)

    def users(self) -> list[User]:
        return [_user(r) for r in self._db.execute("SELECT * FROM users ORDER BY name")]

    def key(self, fingerprint: str) -> SignerKey | None:
        """The registered key with this fingerprint (retired keys included)."""
        row = self._db.execute(
            "SELECT * FROM keys WHERE fingerprint = ?", (fingerprint,)
        ).fetchone()
        if row is None:
            return None
        retired = row["retired_at"]
        return SignerKey(
            owner=row["owner"],
            public_key_pem=row["public_key_pem"],
            retired_at=None if retired is None else datetime.fromisoformat(retired),
        )

    def key_registry(self) -> list[dict[str, Any]]:
        """The whole key registry: fingerprint, owner, role, created and retired times."""
        rows = self._db.execute(
            "SELECT k.fingerprint, k.owner, u.full_name, u.badge, u.role, k.created_at,"
            " k.retired_at, k.public_key_pem FROM keys k JOIN users u ON u.name = k.owner"
            " ORDER BY k.created_at"
        ).fetchall()
        return [dict(r) for r in rows]

    def has_role(self, role: Role) -> bool:
        row = self._db.execute(
            "SELECT 1 FROM users WHERE role = ? AND retired_at IS NULL", (role.value,)
        ).fetchone()
        return row is not None

    # ------------------------------------------------------------------ authorizations

    def put_authorization(
        self, auth: Authorization, *, actor: str, action: str, details: dict[str, Any]
    ) -> None:
        """Insert or replace an authorization and record why, in one transaction."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO authorizations (id, body) VALUES (?, ?)"
                " ON CONFLICT(id) DO UPDATE SET body = excluded.body",
                (auth.id, auth.model_dump_json()),
            )
            self._append(db, action, "ok", actor, auth.id, details)

    def authorization(self, auth_id: str) -> Authorization | None:
        row = self._db.execute(
            "SELECT body FROM authorizations WHERE id = ?", (auth_id,)
        ).fetchone()
        return None if row is None else Authorization.model_validate_json(row["body"])

    def authorizations(self) -> list[Authorization]:
        rows = self._db.execute("SELECT body FROM authorizations ORDER BY rowid").fetchall()
        return [Authorization.model_validate_json(r["body"]) for r in rows]

    # ------------------------------------------------------------------ bundles

    def add_bundle(
        self, bundle: BundleRow, *, details: dict[str, Any], captured: CustodyBuilder
    ) -> CustodyEvent:
        """Record a sealed bundle and its first custody event, anchored to the seal digest."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO bundles VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (bundle.id, bundle.case_number, bundle.authorization_id, bundle.path,
                 bundle.seal_sha256, bundle.source_url, bundle.captured_by,
                 iso(bundle.created_at)),
            )  # fmt: skip
            self._append(db, "capture.sealed", "ok", bundle.captured_by, bundle.id, details)
            return self._append_custody(db, bundle.id, captured)

    def _custody_head(self, db: sqlite3.Connection, bundle_id: str) -> ChainHead:
        row = db.execute(
            "SELECT seq, hash FROM custody WHERE bundle_id = ? ORDER BY seq DESC LIMIT 1",
            (bundle_id,),
        ).fetchone()
        if row is not None:
            return ChainHead(int(row["seq"]), str(row["hash"]))
        bundle = db.execute("SELECT seal_sha256 FROM bundles WHERE id = ?", (bundle_id,)).fetchone()
        if bundle is None:
            raise UsageError(f"unknown bundle {bundle_id!r}")
        return ChainHead(0, str(bundle["seal_sha256"]))

    def _append_custody(
        self, db: sqlite3.Connection, bundle_id: str, build: CustodyBuilder
    ) -> CustodyEvent:
        head = self._custody_head(db, bundle_id)
        event = build(head.count + 1, head.last_hash)
        if (
            event.bundle_id != bundle_id
            or event.seq != head.count + 1
            or event.prev_hash != head.last_hash
        ):
            raise CollectorError("custody event does not continue the chain")
        db.execute(
            "INSERT INTO custody (bundle_id, seq, hash, body) VALUES (?, ?, ?, ?)",
            (bundle_id, event.seq, event.hash, event.model_dump_json()),
        )
        self._append(
            db, f"custody.{event.type.value}", "ok", event.actor.user, bundle_id,
            {"seq": event.seq, "hash": event.hash},
        )  # fmt: skip
        return event

    def append_custody(self, bundle_id: str, build: CustodyBuilder) -> CustodyEvent:
        """Append one custody event; concurrent appends are serialised by the transaction."""
        with self._tx() as db:
            return self._append_custody(db, bundle_id, build)

    def append_custody_many(
        self, builders: list[tuple[str, CustodyBuilder]], *, expected: dict[str, ChainHead]
    ) -> list[CustodyEvent]:
        """Append one event to each bundle, all or none, if no head moved since `expected`."""
        with self._tx() as db:
            for bundle_id, head in expected.items():
                if self._custody_head(db, bundle_id) != head:
                    raise CollectorError(f"custody log of {bundle_id} changed meanwhile; try again")
            return [self._append_custody(db, bundle_id, build) for bundle_id, build in builders]

    def custody_head(self, bundle_id: str) -> ChainHead:
        return self._custody_head(self._db, bundle_id)

    def custody(self, bundle_id: str) -> list[CustodyEvent]:
        rows = self._db.execute(
            "SELECT body FROM custody WHERE bundle_id = ? ORDER BY seq", (bundle_id,)
        ).fetchall()
        return [CustodyEvent.model_validate_json(r["body"]) for r in rows]

    def recorded_custody_head(self, bundle_id: str) -> ChainHead | None:
        """The custody head as the hash-chained ledger events remember it."""
        rows = self._db.execute(
            "SELECT details FROM events WHERE subject = ? AND action LIKE 'custody.%' ORDER BY seq",
            (bundle_id,),
        ).fetchall()
        if not rows:
            return None
        last = json.loads(rows[-1]["details"])
        return ChainHead(len(rows), str(last["hash"]))

    def purged_at(self, bundle_id: str) -> datetime | None:
        """When a bundle was purged under policy (its custody log is then closed), or None."""
        if not self.has_table("purge_tombstones"):
            return None
        row = self._db.execute(
            "SELECT purged_at FROM purge_tombstones WHERE bundle_id = ?", (bundle_id,)
        ).fetchone()
        return None if row is None else datetime.fromisoformat(row["purged_at"])

    def bundle(self, bundle_id: str) -> BundleRow | None:
        row = self._db.execute("SELECT * FROM bundles WHERE id = ?", (bundle_id,)).fetchone()
        return None if row is None else BundleRow.model_validate(dict(row))

    def bundles(self) -> list[BundleRow]:
        rows = self._db.execute("SELECT * FROM bundles ORDER BY created_at").fetchall()
        return [BundleRow.model_validate(dict(r)) for r in rows]


def _user(row: sqlite3.Row) -> User:
    return User(
        name=row["name"],
        full_name=row["full_name"],
        badge=row["badge"],
        role=Role(row["role"]),
        created_at=datetime.fromisoformat(row["created_at"]),
        retired_at=None if row["retired_at"] is None else datetime.fromisoformat(row["retired_at"]),
        key_fingerprint=row["key_fingerprint"],
        public_key_pem=row["public_key_pem"],
    )
