"""The agency PKI: its root and intermediate certificates, user certificates, revocations.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

T = sa.Text
I = sa.Integer  # noqa: E741


def upgrade() -> None:
    op.create_table(
        "authorities",
        sa.Column("serial", T, primary_key=True),
        sa.Column("kind", T, nullable=False),
        sa.Column("pem", T, nullable=False),
        sa.Column("created_at", T, nullable=False),
        sa.CheckConstraint("kind IN ('root', 'intermediate')", name="authority_kind"),
    )
    op.create_table(
        "certificates",
        sa.Column("serial", T, primary_key=True),
        sa.Column("user", T, sa.ForeignKey("users.name"), nullable=False),
        sa.Column("role", T, nullable=False),
        sa.Column("key_fingerprint", T, nullable=False),
        sa.Column("issuer_serial", T, sa.ForeignKey("authorities.serial"), nullable=False),
        sa.Column("pem", T, nullable=False),
        sa.Column("issued_at", T, nullable=False),
        sa.Column("ledger_seq", I, nullable=False),
    )
    op.create_table(
        "revocations",
        sa.Column("serial", T, sa.ForeignKey("certificates.serial"), primary_key=True),
        sa.Column("revoked_at", T, nullable=False),
        sa.Column("invalid_from", T, nullable=False),
        sa.Column("reason", T, nullable=False),
        sa.Column("ledger_seq", I, nullable=False),
    )


def downgrade() -> None:
    raise NotImplementedError("evidence stores are never downgraded")
