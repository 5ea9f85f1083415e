"""Every table of the ledger database, defined once (SQLAlchemy Core).

The tables are created and changed only by the numbered migrations in `migrations/versions/`
(Alembic); a test proves that running every migration gives exactly these tables. Times are
ISO 8601 UTC text; JSON bodies are text. Tables listed in `APPEND_ONLY` refuse UPDATE and
DELETE in the database itself (SQLite triggers, recreated after every migration).
"""

from __future__ import annotations

import re

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
)

HEAD = "0009"
"""The schema revision this version of the tool writes and reads (the newest migration)."""

metadata = MetaData()

users = Table(
    "users",
    metadata,
    Column("name", Text, primary_key=True),
    Column("full_name", Text, nullable=False),
    Column("badge", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("created_at", Text, nullable=False),
    Column("retired_at", Text),
    Column("key_fingerprint", Text, nullable=False),
    Column("public_key_pem", Text, nullable=False),
)

keys = Table(
    "keys",
    metadata,
    Column("fingerprint", Text, primary_key=True),
    Column("owner", Text, ForeignKey("users.name"), nullable=False),
    Column("public_key_pem", Text, nullable=False),
    Column("created_at", Text, nullable=False),
    Column("retired_at", Text),
)

authorizations = Table(
    "authorizations",
    metadata,
    Column("id", Text, primary_key=True),
    Column("body", Text, nullable=False),
)

bundles = Table(
    "bundles",
    metadata,
    Column("id", Text, primary_key=True),
    Column("case_number", Text, nullable=False),
    Column("authorization_id", Text, nullable=False),
    Column("path", Text, nullable=False),
    Column("seal_sha256", Text, nullable=False),
    Column("source_url", Text, nullable=False),
    Column("captured_by", Text, nullable=False),
    Column("created_at", Text, nullable=False),
)

events = Table(
    "events",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("at", Text, nullable=False),
    Column("actor", Text),
    Column("action", Text, nullable=False),
    Column("outcome", Text, nullable=False),
    Column("subject", Text),
    Column("details", Text, nullable=False),
    Column("prev_hash", Text, nullable=False),
    Column("hash", Text, nullable=False, unique=True),
    Column("signer", Text),  # the signing key's fingerprint (from 0003)
    Column("signature", Text),  # Ed25519 over "collector-ledger-event/1:" + hash, base64
)

custody = Table(
    "custody",
    metadata,
    Column("bundle_id", Text, ForeignKey("bundles.id"), nullable=False),
    Column("seq", Integer, nullable=False, autoincrement=False),
    Column("hash", Text, nullable=False, unique=True),
    Column("body", Text, nullable=False),
    PrimaryKeyConstraint("bundle_id", "seq"),
)

equipment = Table(
    "equipment",
    metadata,
    Column("id", Text, primary_key=True),
    Column("machine_id", Text, nullable=False, unique=True),
    Column("kind", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("assigned_to", Text),
    Column("registered_by", Text),
    Column("registered_at", Text, nullable=False),
)

alias_requests = Table(
    "alias_requests",
    metadata,
    Column("name", Text, primary_key=True),
    Column("platform", Text, nullable=False),
    Column("handle", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("days", Integer, nullable=False),
    Column("requested_by", Text, nullable=False),
    Column("requested_at", Text, nullable=False),
)

alias_decisions = Table(
    "alias_decisions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("alias", Text, ForeignKey("alias_requests.name"), nullable=False),
    Column("decision", Text, nullable=False),
    Column("actor", Text, nullable=False),
    Column("at", Text, nullable=False),
    Column("reason", Text),
    Column("key_fingerprint", Text),
    Column("signature", Text),
    CheckConstraint("decision IN ('approve', 'deny', 'retire')", name="alias_decision_kind"),
    sqlite_autoincrement=True,
)

purge_requests = Table(
    "purge_requests",
    metadata,
    Column("id", Text, primary_key=True),
    Column("bundle_id", Text, ForeignKey("bundles.id"), nullable=False),
    Column("requested_by", Text, nullable=False),
    Column("requested_at", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("origin", Text, nullable=False),
    Column("custody_seq", Integer, nullable=False),
    CheckConstraint("origin IN ('request', 'review')", name="purge_request_origin"),
)

purge_approvals = Table(
    "purge_approvals",
    metadata,
    Column("request_id", Text, ForeignKey("purge_requests.id"), nullable=False),
    Column("approver", Text, nullable=False),
    Column("approved_at", Text, nullable=False),
    Column("custody_seq", Integer, nullable=False),
    PrimaryKeyConstraint("request_id", "approver"),
)

purge_tombstones = Table(
    "purge_tombstones",
    metadata,
    Column("bundle_id", Text, ForeignKey("bundles.id"), primary_key=True),
    Column("request_id", Text, ForeignKey("purge_requests.id"), nullable=False, unique=True),
    Column("seal_sha256", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("requested_by", Text, nullable=False),
    Column("approved_by", Text, nullable=False),
    Column("purged_at", Text, nullable=False),
    Column("custody_seq", Integer, nullable=False),
    Column("custody_hash", Text, nullable=False),
    Column("path", Text, nullable=False),
    Column("files", Integer, nullable=False),
    Column("bytes", Integer, nullable=False),
)

authorities = Table(
    "authorities",
    metadata,
    Column("serial", Text, primary_key=True),
    Column("kind", Text, nullable=False),
    Column("pem", Text, nullable=False),
    Column("created_at", Text, nullable=False),
    CheckConstraint("kind IN ('root', 'intermediate')", name="authority_kind"),
)

certificates = Table(
    "certificates",
    metadata,
    Column("serial", Text, primary_key=True),
    Column("user", Text, ForeignKey("users.name"), nullable=False),
    Column("role", Text, nullable=False),
    Column("key_fingerprint", Text, nullable=False),
    Column("issuer_serial", Text, ForeignKey("authorities.serial"), nullable=False),
    Column("pem", Text, nullable=False),
    Column("issued_at", Text, nullable=False),
    Column("ledger_seq", Integer, nullable=False),
)

revocations = Table(
    "revocations",
    metadata,
    Column("serial", Text, ForeignKey("certificates.serial"), primary_key=True),
    Column("revoked_at", Text, nullable=False),
    Column("invalid_from", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("ledger_seq", Integer, nullable=False),
)

checkpoints = Table(
    "checkpoints",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("made_at", Text, nullable=False),
    Column("event_count", Integer, nullable=False),
    Column("head_hash", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("body", Text, nullable=False),  # the checkpoint file's JSON, as written out
)

vault = Table(
    "vault",
    metadata,
    Column("name", Text, primary_key=True),  # a store-relative path, e.g. keys/alice.key.pem
    Column("data", Text),  # base64 of the file's bytes; NULL once removed (never deleted)
    Column("updated_at", Text, nullable=False),
)

bundle_objects = Table(
    "bundle_objects",
    metadata,
    Column("bundle_id", Text, nullable=False),
    Column("name", Text, nullable=False),  # the file's path inside the bundle
    Column("version_id", Text, nullable=False),  # the object version it is read by, always
    Column("sha256", Text, nullable=False),
    Column("size", Integer, nullable=False),
    Column("stored_at", Text, nullable=False),
    PrimaryKeyConstraint("bundle_id", "name"),
)

imported_stores = Table(
    "imported_stores",
    metadata,
    Column("store_id", Text, primary_key=True),  # the workstation store's own id
    Column("agency", Text, nullable=False),  # the name its own PKI was made under
    Column("prefix", Text, nullable=False),  # its archive's key prefix in the bucket
    Column("ledger_sha256", Text, nullable=False),  # of the archived ledger.sqlite
    Column("event_count", Integer, nullable=False),
    Column("head_hash", Text, nullable=False),
    Column("root_sha256", Text, nullable=False),  # of its root certificate (DER)
    Column("cross_certificate", Text, nullable=False),  # PEM: its root, signed by our issuing CA
    Column("imported_at", Text, nullable=False),
    Column("imported_by", Text, nullable=False),
)

imported_bundles = Table(
    "imported_bundles",
    metadata,
    Column("bundle_id", Text, primary_key=True),
    Column("store_id", Text, ForeignKey("imported_stores.store_id"), nullable=False),
)

job_seals = Table(
    "job_seals",
    metadata,
    Column("job_id", Text, primary_key=True),  # a capture request's job id: sealed at most once
    Column("bundle_id", Text, nullable=False, unique=True),
    Column("requested_by", Text, nullable=False),
    Column("sealed_by", Text, nullable=False),  # the capture system
    Column("sealed_at", Text, nullable=False),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Text, primary_key=True),  # T-…: the token's public name, never the token
    Column("user", Text, ForeignKey("users.name"), nullable=False),
    Column("label", Text, nullable=False),
    Column("scopes", Text, nullable=False),  # space-separated, e.g. "read verify"
    Column("token_sha256", Text, nullable=False, unique=True),  # the token itself is never kept
    Column("created_at", Text, nullable=False),
    Column("expires_at", Text, nullable=False),
    Column("ledger_seq", Integer, nullable=False),  # its `token.created` event
)

api_token_revocations = Table(
    "api_token_revocations",
    metadata,
    Column("token_id", Text, ForeignKey("api_tokens.id"), primary_key=True),
    Column("revoked_at", Text, nullable=False),
    Column("revoked_by", Text, nullable=False),
    Column("ledger_seq", Integer, nullable=False),  # its `token.revoked` event
)

APPEND_ONLY: dict[str, str] = {
    "events": "ledger events",
    "custody": "custody events",
    "bundles": "bundle rows",
    "alias_requests": "alias requests",
    "alias_decisions": "alias decisions",
    "purge_requests": "purge requests",
    "purge_approvals": "purge approvals",
    "purge_tombstones": "tombstones",
    "authorities": "agency certificates",
    "certificates": "user certificates",
    "revocations": "revocations",
    "checkpoints": "checkpoints",
    "bundle_objects": "stored bundle objects",
    "imported_stores": "imported stores",
    "imported_bundles": "imported bundles",
    "job_seals": "sealed jobs",
    "api_tokens": "API tokens",
    "api_token_revocations": "API token revocations",
}
"""Tables no code path updates or deletes, and what their rows are called in the refusal."""


def append_only_triggers(table: str, what: str) -> list[str]:
    """SQLite triggers that make the database itself refuse UPDATE and DELETE on `table`."""
    return [
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} BEFORE {op} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{what} are append-only'); END"
        for op in ("UPDATE", "DELETE")
    ]


MUTABLE: dict[str, str] = {
    "users": "users",
    "keys": "keys",
    "authorizations": "authorizations",
    "equipment": "equipment records",
    "vault": "vault entries",
}
"""Tables whose rows change (a role, a retirement, a status) but are never deleted."""

ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def postgres_append_only() -> list[str]:
    """PostgreSQL (statements for the driver, `%` written `%%`): one function and, per append-only table, triggers refusing UPDATE, DELETE
    and TRUNCATE. A table's owner could disable them, which is why workstations do not own
    the tables (see `postgres_grants`)."""
    out = [
        "CREATE OR REPLACE FUNCTION collector_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION '%%', TG_ARGV[0] "
        "USING ERRCODE = 'insufficient_privilege'; END $$"
    ]
    for table, what in APPEND_ONLY.items():
        out += [
            f"CREATE OR REPLACE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION collector_append_only('{what} are append-only')",
            f"CREATE OR REPLACE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION collector_append_only('{what} are append-only')",
        ]
    for table, what in MUTABLE.items():
        out.append(
            f"CREATE OR REPLACE TRIGGER {table}_no_delete BEFORE DELETE OR TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION collector_append_only('{what} are never deleted')"
        )
    return out


QUEUE_TABLES = ("procrastinate_jobs", "procrastinate_events", "procrastinate_periodic_defers",
                "procrastinate_workers")  # fmt: skip
"""The capture queue's tables in an agency database (migration 0008, Procrastinate's schema)."""


def postgres_grants(role: str) -> list[str]:
    """What the workstations' role may do: read every table, append to every table, update
    only the mutable ones; never delete, truncate, alter or own."""
    if not ROLE_NAME.fullmatch(role):
        raise ValueError(f"{role!r} is not a PostgreSQL role name this tool uses")
    tables = ", ".join(metadata.tables)
    mutable = ", ".join(MUTABLE)
    return [
        f"REVOKE ALL ON {tables} FROM PUBLIC",
        f"REVOKE ALL ON {tables} FROM {role}",
        f"GRANT SELECT, INSERT ON {tables} TO {role}",
        f"GRANT UPDATE ON {mutable} TO {role}",
        f"GRANT SELECT ON alembic_version TO {role}",
        f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {role}",
        # The capture queue (Procrastinate): job state, not evidence; workers change and clear it.
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON {', '.join(QUEUE_TABLES)} TO {role}",
    ]
