"""The ledger: the store's database of users, keys, authorizations, bundles and events.

Events form an append-only hash chain: each row's hash covers its content and the previous
row's hash (RFC 8785 canonical JSON, SHA-256). The tables are defined once in `schema` and
made by its migrations; append-only tables refuse UPDATE and DELETE in the database itself,
and this module has no such path for them. SQLite (rollback journal) now; the same statements run on
PostgreSQL.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal, TypeVar

import rfc8785
from sqlalchemy import (
    Connection,
    Executable,
    RowMapping,
    func,
    insert,
    inspect,
    select,
    update,
)
from sqlalchemy.exc import DatabaseError, SQLAlchemyError

from collector.errors import CollectorError, DamagedStore, ReadOnlyStore, UsageError
from collector.evidence.custody import ChainHead, CustodyEvent
from collector.evidence.keys import SignerKey
from collector.store import migrate, schema
from collector.store.actions import LedgerAction, custody_action, custody_actions
from collector.store.database import IMMEDIATE, Location, engine_for, unreachable
from collector.store.model import Authorization, BundleRow, LedgerEvent, Role, User
from collector.store.signing import EventSigners

CustodyBuilder = Callable[[int, str], CustodyEvent]
"""Builds (and signs) the next custody event from its sequence number and previous hash."""

GENESIS = "0" * 64

Outcome = Literal["ok", "refused", "failed"]


_Day = TypeVar("_Day", bound=date)


def now() -> datetime:
    return datetime.now(UTC)


def add_years(start: _Day, years: int) -> _Day:
    """The same calendar day (and time) `years` later; 29 February becomes 28 February."""
    try:
        return start.replace(year=start.year + years)
    except ValueError:
        return start.replace(year=start.year + years, day=28)


def iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def event_hash(fields: dict[str, Any]) -> str:
    """SHA-256 of the RFC 8785 canonical JSON of an event without its own hash."""
    return hashlib.sha256(rfc8785.dumps(fields)).hexdigest()


class Ledger:
    """Typed access to the store's ledger database."""

    def __init__(
        self, where: Path | Location, *, check_schema: bool = True, read_only: bool = False
    ) -> None:
        self.location = where if isinstance(where, Location) else Location(path=where)
        self.read_only = read_only
        path = self.location.path
        if path is not None and not path.is_file():
            raise DamagedStore(f"the store is damaged: its ledger {path} is missing (it is never "
                               "made again empty; restore the store from a copy)")  # fmt: skip
        self._engine = engine_for(self.location, read_only=read_only)
        self._thread = threading.local()  # each thread's open transaction (a batch runs several)
        self.signers = EventSigners()
        self._signed = False
        if check_schema:
            with self._read() as conn:
                migrate.require_current(conn)

    @classmethod
    def create(cls, where: Path | Location, *, app_role: str | None = None) -> Ledger:
        """Make a new ledger at the newest schema revision (every migration, in order). On
        PostgreSQL this runs as the role that will own the tables, and `app_role` (the role the
        workstations use) is granted what it needs and no more."""
        location = where if isinstance(where, Location) else Location(path=where)
        engine = engine_for(location, create=True)
        try:
            with engine.connect() as conn:
                conn.execution_options(**{IMMEDIATE: True})
                with conn.begin():
                    if location.shared and migrate.status(conn).state != "empty":
                        raise UsageError(f"the database {location} already holds tables: an "
                                         "agency ledger is made in an empty database")  # fmt: skip
                    migrate.upgrade(conn, app_role=app_role)
        except SQLAlchemyError as exc:
            raise unreachable(location, exc) from exc
        finally:
            engine.dispose()
        return cls(location)

    def close(self) -> None:
        self._engine.dispose()

    # ------------------------------------------------------------------ connections

    @property
    def _active(self) -> Connection | None:
        """This thread's open transaction, if any (a connection never crosses threads)."""
        active: Connection | None = getattr(self._thread, "active", None)
        return active

    @_active.setter
    def _active(self, conn: Connection | None) -> None:
        self._thread.active = conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        """A connection for reading: the open transaction's, so it sees its own writes."""
        if self._active is not None:
            yield self._active
            return
        try:
            with self._engine.connect() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise self._unreadable(exc) from exc

    def _unreadable(self, exc: SQLAlchemyError) -> CollectorError:
        if self.location.shared:
            return unreachable(self.location, exc)
        cause = str(getattr(exc, "orig", exc))
        if isinstance(exc, DatabaseError) and any(
            text in cause for text in ("not a database", "malformed", "disk image", "no such table")
        ):
            return DamagedStore(f"the store is damaged: its ledger {self.location} is not a readable "
                                f"database ({cause}); restore the store from a copy")  # fmt: skip
        if "unable to open" in cause or "readonly" in cause:
            return DamagedStore(f"cannot open the ledger {self.location} ({cause}): check the store's "
                                "permissions and media")  # fmt: skip
        return CollectorError(f"cannot read ledger {self.location}: {exc.__class__.__name__}: {cause}")

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        if self._active is not None:
            raise CollectorError("a ledger transaction is already open")
        if self.read_only:
            raise ReadOnlyStore(f"the store is on read-only media: nothing can be recorded in "
                                f"{self.location.name}")  # fmt: skip
        try:
            with self._engine.connect() as conn:
                conn.execution_options(**{IMMEDIATE: True})
                with conn.begin():
                    self._active = conn
                    try:
                        yield conn
                    finally:
                        self._active = None
        except SQLAlchemyError as exc:
            cause = str(getattr(exc, "orig", exc))
            if "readonly" in cause:
                raise ReadOnlyStore(f"the store is read-only here: nothing can be recorded in "
                                    f"{self.location.name} ({cause})") from exc  # fmt: skip
            if "full" in cause:
                raise CollectorError(f"the disk holding {self.location} is full: nothing was "
                                     "recorded") from exc  # fmt: skip
            if self.location.shared:
                raise unreachable(self.location, exc) from exc
            raise self._unreadable(exc) from exc

    # ------------------------------------------------------------------ for feature modules

    @contextmanager
    def writing(self) -> Iterator[Connection]:
        """The open transaction's connection, or a transaction of its own."""
        if self._active is not None:
            yield self._active
            return
        with self._tx() as db:
            yield db

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """An IMMEDIATE transaction: reads and writes inside it are serialised store-wide."""
        with self._tx() as db:
            yield db

    def record_in(
        self,
        db: Connection,
        action: LedgerAction,
        outcome: Outcome = "ok",
        *,
        actor: str | None = None,
        subject: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> LedgerEvent:
        """Append a ledger event inside a transaction opened with `transaction()`."""
        return self._append(db, action, outcome, actor, subject, details or {})

    def append_custody_in(
        self, db: Connection, bundle_id: str, build: CustodyBuilder
    ) -> CustodyEvent:
        """Append a custody event inside a transaction opened with `transaction()`."""
        return self._append_custody(db, bundle_id, build)

    def rows(self, statement: Executable) -> list[RowMapping]:
        """Read-only queries for feature modules and reports."""
        with self._read() as conn:
            return list(conn.execute(statement).mappings().all())

    def column_names(self, table: str) -> list[str]:
        with self._read() as conn:
            return [str(c["name"]) for c in inspect(conn).get_columns(table)]

    def table_names(self) -> list[str]:
        with self._read() as conn:
            return list(inspect(conn).get_table_names())

    def schema_status(self) -> migrate.SchemaStatus:
        with self._read() as conn:
            return migrate.status(conn)

    # ------------------------------------------------------------------ events

    def _append(
        self,
        db: Connection,
        action: LedgerAction,
        outcome: Outcome,
        actor: str | None,
        subject: str | None,
        details: dict[str, Any],
    ) -> LedgerEvent:
        if not isinstance(action, LedgerAction):
            raise CollectorError(f"not a ledger action: {action!r}")
        ev = schema.events
        last = db.execute(
            select(ev.c.seq, ev.c.hash).order_by(ev.c.seq.desc()).limit(1)
        ).first()
        seq = 1 if last is None else int(last.seq) + 1
        prev = GENESIS if last is None else str(last.hash)
        at = now()
        fields: dict[str, Any] = {
            "seq": seq,
            "at": iso(at),
            "actor": actor,
            "action": action.value,
            "outcome": outcome,
            "subject": subject,
            "details": details,
            "prev_hash": prev,
        }
        digest = event_hash(fields)
        signer = signature = None
        if self._signed or "signature" in {c["name"] for c in inspect(db).get_columns("events")}:
            self._signed = True
            signing = self.signers.for_actor(actor)
            signer, signature = signing.fingerprint, signing.sign(digest)
        row = {"signer": signer, "signature": signature} if self._signed else {}
        db.execute(
            insert(ev).values(
                seq=seq, at=fields["at"], actor=actor, action=action.value, outcome=outcome,
                subject=subject, details=json.dumps(details), prev_hash=prev, hash=digest, **row,
            )
        )  # fmt: skip
        return LedgerEvent(
            seq=seq,
            at=at,
            actor=actor,
            action=action.value,
            outcome=outcome,
            subject=subject,
            details=details,
            prev_hash=prev,
            hash=digest,
            signer=signer,
            signature=signature,
        )

    def record(
        self,
        action: LedgerAction,
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
        ev = schema.events
        query = select(*self._event_columns()).order_by(ev.c.seq)
        if subject is not None:
            query = query.where(ev.c.subject == subject)
        return [_event(r) for r in self.rows(query)]

    def event_count(self, subject: str | None = None) -> int:
        ev = schema.events
        query = select(func.count().label("n")).select_from(ev)
        if subject is not None:
            query = query.where(ev.c.subject == subject)
        return int(self.rows(query)[0]["n"])

    def newest_events(self, limit: int, offset: int = 0, subject: str | None = None) -> list[LedgerEvent]:
        """`limit` events, newest first, after skipping the `offset` newest (a page of the ledger)."""
        ev = schema.events
        query = select(*self._event_columns()).order_by(ev.c.seq.desc()).limit(limit).offset(offset)
        if subject is not None:
            query = query.where(ev.c.subject == subject)
        return [_event(r) for r in self.rows(query)]

    def events_by(self, actor: str) -> list[LedgerEvent]:
        """Every event whose actor is `actor`, oldest first."""
        return [e for e in self.events_where(schema.events.c.actor == actor)]

    def events_where(self, condition: Any) -> list[LedgerEvent]:
        ev = schema.events
        query = select(*self._event_columns()).where(condition).order_by(ev.c.seq)
        return [_event(r) for r in self.rows(query)]

    def signed(self) -> bool:
        """The ledger's events carry signatures (schema 0003 on; before, only while a store
        made earlier waits for `store upgrade`)."""
        if not self._signed:
            self._signed = "signature" in self.column_names("events")
        return self._signed

    def _event_columns(self) -> list[Any]:
        ev = schema.events
        return [c for c in ev.c if self.signed() or c.name not in ("signer", "signature")]

    def verify_chain(self) -> tuple[bool, str]:
        """Recompute every event hash and link; return (ok, reason)."""
        prev = GENESIS
        count = 0
        for ev in self.events():
            count += 1
            if ev.prev_hash != prev:
                return False, f"event {ev.seq}: link to previous event broken"
            fields = ev.model_dump(mode="json", exclude={"hash", "signer", "signature"})
            fields["at"] = iso(ev.at)
            if event_hash(fields) != ev.hash:
                return False, f"event {ev.seq}: content does not match its hash"
            prev = ev.hash
        return True, f"{count} events, chain intact"

    # ------------------------------------------------------------------ users and keys

    def add_user(
        self, user: User, *, actor: str | None, also: Callable[[Connection], object] | None = None
    ) -> None:
        """Register a user and their key; `also` runs in the same transaction (certifying)."""
        users, keys = schema.users, schema.keys
        with self._tx() as db:
            if db.execute(select(users.c.name).where(users.c.name == user.name)).first():
                raise UsageError(f"user {user.name!r} already exists")
            db.execute(
                insert(users).values(
                    name=user.name, full_name=user.full_name, badge=user.badge,
                    role=user.role.value, created_at=iso(user.created_at), retired_at=None,
                    key_fingerprint=user.key_fingerprint, public_key_pem=user.public_key_pem,
                )
            )  # fmt: skip
            db.execute(
                insert(keys).values(
                    fingerprint=user.key_fingerprint, owner=user.name,
                    public_key_pem=user.public_key_pem, created_at=iso(user.created_at),
                    retired_at=None,
                )
            )  # fmt: skip
            self._append(
                db,
                LedgerAction.user_add,
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
            if also is not None:
                also(db)

    def retire_user(
        self, name: str, *, actor: str | None, also: Callable[[Connection], object] | None = None
    ) -> None:
        users, keys = schema.users, schema.keys
        with self._tx() as db:
            row = db.execute(select(users.c.retired_at).where(users.c.name == name)).first()
            if row is None:
                raise UsageError(f"no such user {name!r}")
            if row.retired_at is not None:
                raise UsageError(f"user {name!r} is already retired")
            at = iso(now())
            db.execute(update(users).where(users.c.name == name).values(retired_at=at))
            db.execute(
                update(keys)
                .where(keys.c.owner == name, keys.c.retired_at.is_(None))
                .values(retired_at=at)
            )
            self._append(db, LedgerAction.user_retire, "ok", actor, name, {})
            if also is not None:
                also(db)

    def set_role(
        self, name: str, role: Role, *, actor: str | None, also: Callable[[Connection], object]
    ) -> None:
        """Change a user's role (the certificate `also` issues is what makes it count)."""
        users = schema.users
        with self._tx() as db:
            row = db.execute(select(users.c.role, users.c.retired_at).where(users.c.name == name)).first()
            if row is None or row.retired_at is not None:
                raise UsageError(f"{name!r} is not an active user")
            if row.role == role.value:
                raise UsageError(f"{name} is already {role.value}")
            db.execute(update(users).where(users.c.name == name).values(role=role.value))
            self._append(db, LedgerAction.user_role, "ok", actor, name,
                         {"from": row.role, "to": role.value})  # fmt: skip
            also(db)

    def user(self, name: str) -> User | None:
        found = self.rows(select(schema.users).where(schema.users.c.name == name))
        return _user(found[0]) if found else None

    def users(self) -> list[User]:
        return [_user(r) for r in self.rows(select(schema.users).order_by(schema.users.c.name))]

    def key(self, fingerprint: str) -> SignerKey | None:
        """The registered key with this fingerprint (retired keys included)."""
        found = self.rows(select(schema.keys).where(schema.keys.c.fingerprint == fingerprint))
        if not found:
            return None
        row = found[0]
        retired = row["retired_at"]
        return SignerKey(
            owner=row["owner"],
            public_key_pem=row["public_key_pem"],
            retired_at=None if retired is None else datetime.fromisoformat(retired),
        )

    def key_registry(self) -> list[dict[str, Any]]:
        """The whole key registry: fingerprint, owner, role, created and retired times."""
        k, u = schema.keys, schema.users
        query = (
            select(k.c.fingerprint, k.c.owner, u.c.full_name, u.c.badge, u.c.role,
                   k.c.created_at, k.c.retired_at, k.c.public_key_pem)
            .join_from(k, u, u.c.name == k.c.owner)
            .order_by(k.c.created_at)
        )
        return [dict(r) for r in self.rows(query)]

    def has_role(self, role: Role) -> bool:
        u = schema.users
        query = select(u.c.name).where(u.c.role == role.value, u.c.retired_at.is_(None)).limit(1)
        return bool(self.rows(query))

    # ------------------------------------------------------------------ authorizations

    def put_authorization(
        self,
        auth: Authorization,
        *,
        actor: str,
        action: LedgerAction,
        details: dict[str, Any],
    ) -> None:
        """Insert or replace an authorization and record why, in one transaction."""
        a = schema.authorizations
        with self._tx() as db:
            body = auth.model_dump_json()
            if db.execute(select(a.c.id).where(a.c.id == auth.id)).first():
                db.execute(update(a).where(a.c.id == auth.id).values(body=body))
            else:
                db.execute(insert(a).values(id=auth.id, body=body))
            self._append(db, action, "ok", actor, auth.id, details)

    def authorization(self, auth_id: str) -> Authorization | None:
        a = schema.authorizations
        found = self.rows(select(a.c.body).where(a.c.id == auth_id))
        return Authorization.model_validate_json(found[0]["body"]) if found else None

    def authorizations(self) -> list[Authorization]:
        """Every authorization, oldest request first."""
        found = [
            Authorization.model_validate_json(r["body"])
            for r in self.rows(select(schema.authorizations.c.body))
        ]
        return sorted(found, key=lambda auth: (auth.requested_at, auth.id))

    # ------------------------------------------------------------------ bundles

    def add_bundle(
        self,
        bundle: BundleRow,
        *,
        details: dict[str, Any],
        captured: CustodyBuilder,
        action: LedgerAction = LedgerAction.capture_sealed,
        recorded_by: str | None = None,
    ) -> CustodyEvent:
        """Record a sealed bundle and its first custody event, anchored to the seal digest."""
        with self._tx() as db:
            db.execute(
                insert(schema.bundles).values(
                    id=bundle.id, case_number=bundle.case_number,
                    authorization_id=bundle.authorization_id, path=bundle.path,
                    seal_sha256=bundle.seal_sha256, source_url=bundle.source_url,
                    captured_by=bundle.captured_by, created_at=iso(bundle.created_at),
                )
            )  # fmt: skip
            self._append(db, action, "ok", recorded_by or bundle.captured_by, bundle.id, details)
            return self._append_custody(db, bundle.id, captured)

    def _custody_head(self, db: Connection, bundle_id: str) -> ChainHead:
        c, b = schema.custody, schema.bundles
        row = db.execute(
            select(c.c.seq, c.c.hash)
            .where(c.c.bundle_id == bundle_id)
            .order_by(c.c.seq.desc())
            .limit(1)
        ).first()
        if row is not None:
            return ChainHead(int(row.seq), str(row.hash))
        bundle = db.execute(select(b.c.seal_sha256).where(b.c.id == bundle_id)).first()
        if bundle is None:
            raise UsageError(f"unknown bundle {bundle_id!r}")
        return ChainHead(0, str(bundle.seal_sha256))

    def _append_custody(self, db: Connection, bundle_id: str, build: CustodyBuilder) -> CustodyEvent:
        head = self._custody_head(db, bundle_id)
        event = build(head.count + 1, head.last_hash)
        if (
            event.bundle_id != bundle_id
            or event.seq != head.count + 1
            or event.prev_hash != head.last_hash
        ):
            raise CollectorError("custody event does not continue the chain")
        db.execute(
            insert(schema.custody).values(
                bundle_id=bundle_id, seq=event.seq, hash=event.hash, body=event.model_dump_json()
            )
        )
        self._append(
            db, custody_action(event.type), "ok", event.actor.user, bundle_id,
            {"seq": event.seq, "hash": event.hash},
        )  # fmt: skip
        return event

    def append_custody(self, bundle_id: str, build: CustodyBuilder) -> CustodyEvent:
        """Append one custody event; concurrent appends are serialised by the transaction."""
        with self._tx() as db:
            return self._append_custody(db, bundle_id, build)

    def append_custody_many(
        self, builders: list[tuple[str, CustodyBuilder]], *, expected: Mapping[str, ChainHead]
    ) -> list[CustodyEvent]:
        """Append one event to each bundle, all or none, if no head moved since `expected`."""
        with self._tx() as db:
            for bundle_id, head in expected.items():
                if self._custody_head(db, bundle_id) != head:
                    raise CollectorError(f"custody log of {bundle_id} changed meanwhile; try again")
            return [self._append_custody(db, bundle_id, build) for bundle_id, build in builders]

    def custody_head(self, bundle_id: str) -> ChainHead:
        with self._read() as conn:
            return self._custody_head(conn, bundle_id)

    def custody(self, bundle_id: str) -> list[CustodyEvent]:
        c = schema.custody
        found = self.rows(select(c.c.body).where(c.c.bundle_id == bundle_id).order_by(c.c.seq))
        return [CustodyEvent.model_validate_json(r["body"]) for r in found]

    def recorded_custody_head(self, bundle_id: str) -> ChainHead | None:
        """The custody head as the hash-chained ledger events remember it."""
        ev = schema.events
        found = self.rows(
            select(ev.c.details)
            .where(ev.c.subject == bundle_id, ev.c.action.in_(sorted(custody_actions())))
            .order_by(ev.c.seq)
        )
        if not found:
            return None
        last = json.loads(found[-1]["details"])
        return ChainHead(len(found), str(last["hash"]))

    def purged_at(self, bundle_id: str) -> datetime | None:
        """When a bundle was purged under policy (its custody log is then closed), or None."""
        t = schema.purge_tombstones
        found = self.rows(select(t.c.purged_at).where(t.c.bundle_id == bundle_id))
        return datetime.fromisoformat(found[0]["purged_at"]) if found else None

    def bundle(self, bundle_id: str) -> BundleRow | None:
        found = self.rows(select(schema.bundles).where(schema.bundles.c.id == bundle_id))
        return BundleRow.model_validate(dict(found[0])) if found else None

    def bundles(self) -> list[BundleRow]:
        b = schema.bundles
        return [BundleRow.model_validate(dict(r)) for r in self.rows(select(b).order_by(b.c.created_at))]

    def count(self, table: str) -> int:
        """Rows in one of the schema's tables."""
        with self._read() as conn:
            query = select(func.count()).select_from(schema.metadata.tables[table])
            return int(conn.execute(query).scalar_one())


def _event(r: RowMapping) -> LedgerEvent:
    return LedgerEvent(
        seq=r["seq"],
        at=datetime.fromisoformat(r["at"]),
        actor=r["actor"],
        action=r["action"],
        outcome=r["outcome"],
        subject=r["subject"],
        details=json.loads(r["details"]),
        prev_hash=r["prev_hash"],
        hash=r["hash"],
        signer=r.get("signer"),
        signature=r.get("signature"),
    )


def _user(row: RowMapping | Sequence[Any]) -> User:
    r: Any = row
    return User(
        name=r["name"],
        full_name=r["full_name"],
        badge=r["badge"],
        role=Role(r["role"]),
        created_at=datetime.fromisoformat(r["created_at"]),
        retired_at=None if r["retired_at"] is None else datetime.fromisoformat(r["retired_at"]),
        key_fingerprint=r["key_fingerprint"],
        public_key_pem=r["public_key_pem"],
    )
