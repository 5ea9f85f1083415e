"""Per-user API tokens for the web application's JSON API: one row per token made (its SHA-256
only, never the token) and one row per revocation; both append-only.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

T = sa.Text


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", T, primary_key=True),
        sa.Column("user", T, sa.ForeignKey("users.name"), nullable=False),
        sa.Column("label", T, nullable=False),
        sa.Column("scopes", T, nullable=False),
        sa.Column("token_sha256", T, nullable=False, unique=True),
        sa.Column("created_at", T, nullable=False),
        sa.Column("expires_at", T, nullable=False),
        sa.Column("ledger_seq", sa.Integer, nullable=False),
    )
    op.create_table(
        "api_token_revocations",
        sa.Column("token_id", T, sa.ForeignKey("api_tokens.id"), primary_key=True),
        sa.Column("revoked_at", T, nullable=False),
        sa.Column("revoked_by", T, nullable=False),
        sa.Column("ledger_seq", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    raise NotImplementedError("evidence stores are never downgraded")
