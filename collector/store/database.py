"""Where a ledger lives, and the engine on it: a SQLite file on one workstation, or a PostgreSQL
database an agency's workstations share.

Both run the same statements. Writers are serialised store-wide when their transaction begins:
SQLite takes its database lock (BEGIN IMMEDIATE); PostgreSQL takes a transaction-scoped advisory
lock, so reading the chain head and appending after it cannot interleave with another writer
and sequence numbers come from the chain, never from a database SEQUENCE (a rolled-back
transaction would leave a gap that `ledger verify` reads as a deleted event).

A PostgreSQL URL names host, port and database only: the credentials come from libpq's own
environment (PGUSER, PGPASSWORD, PGPASSFILE, PGSERVICE), never from `collector.toml`.
"""

from __future__ import annotations

import contextlib
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.pool import NullPool

from collector.errors import CollectorError, UsageError

IMMEDIATE = "collector_immediate"
"""Execution option: this connection's transaction writes (it takes the writers' lock)."""

LEDGER_FILE = "ledger.sqlite"
"""The ledger of a workstation store, in its directory."""
JOURNAL = "journal_mode=DELETE"
"""The SQLite ledger's journal: a rollback journal (see `sqlite_engine`)."""
POSTGRES_SCHEMES = ("postgresql", "postgres")
WRITERS_LOCK = 0x636F6C6C6563746F  # "collecto": the advisory lock every writer takes
CONNECT_TIMEOUT_S = 10


@dataclass(frozen=True)
class Location:
    """A ledger's place: `path` for SQLite, `url` (without credentials) for PostgreSQL."""

    path: Path | None = None
    url: str | None = None

    @property
    def shared(self) -> bool:
        """A database server many workstations use, not a file on this one."""
        return self.url is not None

    def __str__(self) -> str:
        return self.url if self.url is not None else str(self.path)

    @property
    def name(self) -> str:
        """Short name for messages: the file's name, or the database's."""
        if self.url is not None:
            return make_url(self.url).database or self.url
        assert self.path is not None
        return self.path.name


def is_postgres_url(text: str) -> bool:
    return text.split(":", 1)[0].lower() in POSTGRES_SCHEMES and "://" in text


def postgres_url(text: str) -> str:
    """A PostgreSQL URL checked: host and database named, no password in it (credentials come
    from libpq's environment); returned as `postgresql://[user@]host[:port]/database`."""
    try:
        url = make_url(text)
    except ArgumentError as exc:
        raise UsageError(f"--ledger {text[:200]!r} is not a database URL") from exc
    if url.get_backend_name() not in POSTGRES_SCHEMES:
        raise UsageError(f"--ledger {text[:200]!r}: only postgresql:// URLs name a shared ledger")
    if url.password is not None:
        raise UsageError("--ledger must not hold a password: give it in PGPASSWORD, ~/.pgpass or "
                         "a service file, never in the store's configuration")  # fmt: skip
    if not url.host or not url.database:
        raise UsageError(f"--ledger {text[:200]!r} must name a host and a database")
    if url.port is not None and not 0 < url.port < 65536:
        raise UsageError(f"--ledger {text[:200]!r}: port {url.port} is not a usable port")
    if url.query:
        raise UsageError(f"--ledger {text[:200]!r}: connection options go in a libpq service "
                         "file, not in the URL")  # fmt: skip
    clean = URL.create("postgresql", username=url.username, host=url.host, port=url.port,
                       database=url.database)  # fmt: skip
    return clean.render_as_string(hide_password=False)


def unreachable(location: Location, exc: Exception) -> CollectorError:
    """A database error as one line: what failed and where, never the credentials."""
    cause = " ".join(str(getattr(exc, "orig", exc)).split())[:300]
    if "password authentication failed" in cause or "no password supplied" in cause:
        return CollectorError(f"the ledger database {location} refused the credentials (PGUSER, "
                              f"PGPASSWORD, ~/.pgpass or a service file): {cause}")  # fmt: skip
    if "insufficient_privilege" in cause or "permission denied" in cause or "append-only" in cause:
        return CollectorError(f"the ledger database {location} refused: {cause}")
    if isinstance(exc, OperationalError) and ("connect" in cause or "server" in cause):
        return CollectorError(f"cannot reach the ledger database {location}: {cause}")
    return CollectorError(f"the ledger database {location} failed: {cause}")


def engine_for(location: Location, *, create: bool = False, read_only: bool = False) -> Engine:
    if location.url is not None:
        return postgres_engine(location.url)
    assert location.path is not None
    return sqlite_engine(location.path, create=create, read_only=read_only)


def postgres_engine(url: str) -> Engine:
    """An engine on a PostgreSQL ledger through psycopg; libpq supplies the credentials."""
    engine = create_engine(  # a small pool: one command makes many short transactions
        make_url(url).set(drivername="postgresql+psycopg"),
        pool_size=2, max_overflow=10, pool_pre_ping=True,  # a batch's threads each take one
        connect_args={"connect_timeout": CONNECT_TIMEOUT_S, "application_name": "collector"},
    )  # fmt: skip

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        if conn.get_execution_options().get(IMMEDIATE, False):
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITERS_LOCK})")

    return engine


def sqlite_engine(path: Path, *, create: bool = False, read_only: bool = False) -> Engine:
    """An engine on a SQLite ledger file; opening never creates the file unless `create`.

    The ledger keeps a rollback journal (`journal_mode=DELETE`), not a write-ahead log: SQLite
    3.7.0 to 3.51.2 (Debian 12 ships 3.40.1) have a data race in WAL mode between a checkpoint
    and another connection's commit that resets the log, which can corrupt the database or lose
    committed writes; this ledger is written by several processes at once (commands, `serve`,
    its capture thread, workers), each connection checkpointing as it closes. A store made
    with a write-ahead log is turned to the rollback journal by the first connection that finds
    itself alone with it.

    `read_only` is for stores on read-only media: SQLite opens the file immutable (it creates no
    lock file), which is exact because a store closed cleanly leaves no journal or log; one that
    left either is opened read-only to read it (a journal that needs rolling back cannot be, and
    that is one line).
    """
    mode = "rwc" if create else "rw"
    if read_only:
        logs = (path.with_name(path.name + suffix) for suffix in ("-journal", "-wal"))
        has_log = any(log.exists() and log.stat().st_size > 0 for log in logs)
        mode = "ro" if has_log else "ro&immutable=1"
    engine = create_engine(
        f"sqlite:///file:{path}?mode={mode}&uri=true",
        poolclass=NullPool,
        connect_args={"timeout": 30},
    )

    @event.listens_for(engine, "connect")
    def _connect(dbapi: Any, _record: Any) -> None:
        dbapi.isolation_level = None  # the driver leaves BEGIN to us (below)
        pragmas = ("foreign_keys=ON",) if read_only else ("foreign_keys=ON", "synchronous=FULL")
        for pragma in pragmas:
            dbapi.execute(f"PRAGMA {pragma}")
        if not read_only:
            # A ledger still in WAL that another connection has open cannot be turned now
            # ("database is locked" at once): a later connection, alone with it, turns it.
            with contextlib.suppress(sqlite3.OperationalError):
                dbapi.execute(f"PRAGMA {JOURNAL}")

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(IMMEDIATE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine
