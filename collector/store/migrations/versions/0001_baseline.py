"""Baseline: the ledger as collector 0.1 made it, adopted as schema revision 0001.

Stores made before schema versions existed created these tables on first use, so an
older store may lack some of them; every table is created only if it is missing and
existing tables are left exactly as they are. This migration is frozen: later changes
are new migrations, never edits here.

Revision ID: 0001
Revises:
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

T = sa.Text
I = sa.Integer  # noqa: E741


def upgrade() -> None:
    def table(name: str, *items: sa.schema.SchemaItem, **kw: object) -> None:
        op.create_table(name, *items, if_not_exists=True, **kw)

    table(
        "users",
        sa.Column("name", T, primary_key=True),
        sa.Column("full_name", T, nullable=False),
        sa.Column("badge", T, nullable=False),
        sa.Column("role", T, nullable=False),
        sa.Column("created_at", T, nullable=False),
        sa.Column("retired_at", T),
        sa.Column("key_fingerprint", T, nullable=False),
        sa.Column("public_key_pem", T, nullable=False),
    )
    table(
        "keys",
        sa.Column("fingerprint", T, primary_key=True),
        sa.Column("owner", T, sa.ForeignKey("users.name"), nullable=False),
        sa.Column("public_key_pem", T, nullable=False),
        sa.Column("created_at", T, nullable=False),
        sa.Column("retired_at", T),
    )
    table(
        "authorizations",
        sa.Column("id", T, primary_key=True),
        sa.Column("body", T, nullable=False),
    )
    table(
        "bundles",
        sa.Column("id", T, primary_key=True),
        sa.Column("case_number", T, nullable=False),
        sa.Column("authorization_id", T, nullable=False),
        sa.Column("path", T, nullable=False),
        sa.Column("seal_sha256", T, nullable=False),
        sa.Column("source_url", T, nullable=False),
        sa.Column("captured_by", T, nullable=False),
        sa.Column("created_at", T, nullable=False),
    )
    table(
        "events",
        sa.Column("seq", I, primary_key=True, autoincrement=False),
        sa.Column("at", T, nullable=False),
        sa.Column("actor", T),
        sa.Column("action", T, nullable=False),
        sa.Column("outcome", T, nullable=False),
        sa.Column("subject", T),
        sa.Column("details", T, nullable=False),
        sa.Column("prev_hash", T, nullable=False),
        sa.Column("hash", T, nullable=False, unique=True),
    )
    table(
        "custody",
        sa.Column("bundle_id", T, sa.ForeignKey("bundles.id"), nullable=False),
        sa.Column("seq", I, nullable=False, autoincrement=False),
        sa.Column("hash", T, nullable=False, unique=True),
        sa.Column("body", T, nullable=False),
        sa.PrimaryKeyConstraint("bundle_id", "seq"),
    )
    table(
        "equipment",
        sa.Column("id", T, primary_key=True),
        sa.Column("machine_id", T, nullable=False, unique=True),
        sa.Column("kind", T, nullable=False),
        sa.Column("description", T, nullable=False),
        sa.Column("assigned_to", T),
        sa.Column("registered_by", T),
        sa.Column("registered_at", T, nullable=False),
    )
    table(
        "alias_requests",
        sa.Column("name", T, primary_key=True),
        sa.Column("platform", T, nullable=False),
        sa.Column("handle", T, nullable=False),
        sa.Column("reason", T, nullable=False),
        sa.Column("days", I, nullable=False),
        sa.Column("requested_by", T, nullable=False),
        sa.Column("requested_at", T, nullable=False),
    )
    table(
        "alias_decisions",
        sa.Column("id", I, primary_key=True, autoincrement=True),
        sa.Column("alias", T, sa.ForeignKey("alias_requests.name"), nullable=False),
        sa.Column("decision", T, nullable=False),
        sa.Column("actor", T, nullable=False),
        sa.Column("at", T, nullable=False),
        sa.Column("reason", T),
        sa.Column("key_fingerprint", T),
        sa.Column("signature", T),
        sa.CheckConstraint("decision IN ('approve', 'deny', 'retire')", name="alias_decision_kind"),
        sqlite_autoincrement=True,
    )
    table(
        "purge_requests",
        sa.Column("id", T, primary_key=True),
        sa.Column("bundle_id", T, sa.ForeignKey("bundles.id"), nullable=False),
        sa.Column("requested_by", T, nullable=False),
        sa.Column("requested_at", T, nullable=False),
        sa.Column("reason", T, nullable=False),
        sa.Column("origin", T, nullable=False),
        sa.Column("custody_seq", I, nullable=False),
        sa.CheckConstraint("origin IN ('request', 'review')", name="purge_request_origin"),
    )
    table(
        "purge_approvals",
        sa.Column("request_id", T, sa.ForeignKey("purge_requests.id"), nullable=False),
        sa.Column("approver", T, nullable=False),
        sa.Column("approved_at", T, nullable=False),
        sa.Column("custody_seq", I, nullable=False),
        sa.PrimaryKeyConstraint("request_id", "approver"),
    )
    table(
        "purge_tombstones",
        sa.Column("bundle_id", T, sa.ForeignKey("bundles.id"), primary_key=True),
        sa.Column("request_id", T, sa.ForeignKey("purge_requests.id"), nullable=False, unique=True),
        sa.Column("seal_sha256", T, nullable=False),
        sa.Column("reason", T, nullable=False),
        sa.Column("requested_by", T, nullable=False),
        sa.Column("approved_by", T, nullable=False),
        sa.Column("purged_at", T, nullable=False),
        sa.Column("custody_seq", I, nullable=False),
        sa.Column("custody_hash", T, nullable=False),
        sa.Column("path", T, nullable=False),
        sa.Column("files", I, nullable=False),
        sa.Column("bytes", I, nullable=False),
    )


def downgrade() -> None:
    raise NotImplementedError("evidence stores are never downgraded")
