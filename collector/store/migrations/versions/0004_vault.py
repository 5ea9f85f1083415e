"""The vault: key material and PKI files in the ledger database, for agency stores whose
workstations share no directory.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

T = sa.Text


def upgrade() -> None:
    op.create_table(
        "vault",
        sa.Column("name", T, primary_key=True),
        sa.Column("data", T),  # base64; NULL once removed (rows are never deleted)
        sa.Column("updated_at", T, nullable=False),
    )


def downgrade() -> None:
    raise NotImplementedError("evidence stores are never downgraded")
