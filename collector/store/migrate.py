"""Schema versions of the ledger database: reading a store's revision, and upgrading it.

A store records its revision in Alembic's `alembic_version` table. Opening a store checks it
against `schema.HEAD` without loading Alembic: the same revision runs; an older one (or a
store made before revisions existed) must be upgraded explicitly with `collector store
upgrade`; one this version does not know was made by a newer version and is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Literal

from sqlalchemy import Connection, inspect, text

from collector.errors import UsageError
from collector.store import schema

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

VERSION_TABLE = "alembic_version"
CORE_TABLE = "events"
"""A ledger made before schema revisions existed has this table and no version table."""

State = Literal["current", "older", "unversioned", "newer", "empty"]


class SchemaMismatch(UsageError):
    """The store's schema is not the one this version of the tool reads and writes."""


@dataclass(frozen=True)
class SchemaStatus:
    revision: str | None
    head: str
    state: State

    def describe(self) -> str:
        match self.state:
            case "current":
                return f"schema revision {self.revision} (current)"
            case "older":
                return f"schema revision {self.revision}; this collector needs {self.head}"
            case "unversioned":
                return f"made before schema revisions; this collector needs {self.head}"
            case "newer":
                return (
                    f"schema revision {self.revision} was written by a newer collector; "
                    f"this one knows revisions up to {self.head}"
                )
            case "empty":
                return "no ledger tables"


def status(conn: Connection) -> SchemaStatus:
    """Where a ledger's schema stands against this version's (reads only)."""
    tables = set(inspect(conn).get_table_names())
    if VERSION_TABLE not in tables:
        state: State = "unversioned" if CORE_TABLE in tables else "empty"
        return SchemaStatus(None, schema.HEAD, state)
    rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    if len(rows) != 1:
        raise UsageError(f"the ledger's {VERSION_TABLE} table holds {len(rows)} rows, not one")
    revision = str(rows[0])
    if revision == schema.HEAD:
        return SchemaStatus(revision, schema.HEAD, "current")
    known = revisions()
    return SchemaStatus(revision, schema.HEAD, "older" if revision in known else "newer")


def require_current(conn: Connection) -> None:
    """Refuse to work on a ledger whose schema is not this version's."""
    found = status(conn)
    if found.state == "current":
        return
    if found.state in ("older", "unversioned"):
        raise SchemaMismatch(
            f"this store's ledger is out of date ({found.describe()}): "
            "run `collector store upgrade` (an admin, or whoever controls the store directory)"
        )
    if found.state == "newer":
        raise SchemaMismatch(f"this store cannot be used by this version: {found.describe()}")
    raise SchemaMismatch("the ledger has no tables: this is not an evidence store's ledger")


def revisions() -> list[str]:
    """Every revision this version knows, oldest first."""
    script = _script_directory()
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def upgrade(conn: Connection, *, app_role: str | None = None) -> None:
    """Run every missing migration on `conn` (inside the caller's transaction), then restore
    the append-only triggers, which SQLite's table rebuilds drop. On PostgreSQL the caller is
    the tables' owner, and `app_role` (the workstations' role) is granted what it needs."""
    from alembic import command

    config = _config()
    config.attributes["connection"] = conn
    command.upgrade(config, "head")
    restore_triggers(conn)
    if conn.dialect.name == "postgresql" and app_role is not None:
        for statement in schema.postgres_grants(app_role):
            conn.exec_driver_sql(statement)
    if status(conn).state != "current":
        raise UsageError("the upgrade did not reach this version's schema revision")


def restore_triggers(conn: Connection) -> None:
    """(Re)create the triggers that make append-only tables refuse UPDATE and DELETE (and, on
    PostgreSQL, TRUNCATE)."""
    if conn.dialect.name == "sqlite":
        statements = [
            statement
            for table, what in schema.APPEND_ONLY.items()
            for statement in schema.append_only_triggers(table, what)
        ]
    elif conn.dialect.name == "postgresql":
        statements = schema.postgres_append_only()
    else:
        raise UsageError(f"ledgers on {conn.dialect.name} are not supported")
    for statement in statements:
        conn.exec_driver_sql(statement)


def _config() -> Config:
    from alembic.config import Config

    config = Config()
    location = resources.files("collector.store") / "migrations"
    config.set_main_option("script_location", str(location))
    return config


def _script_directory() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config())
