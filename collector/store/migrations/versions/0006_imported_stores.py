"""Workstation stores moved into an agency store: each one's archived ledger and PKI (kept as a
separately verifiable chain) and the bundles that came with it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

T = sa.Text


def upgrade() -> None:
    op.create_table(
        "imported_stores",
        sa.Column("store_id", T, primary_key=True),
        sa.Column("agency", T, nullable=False),
        sa.Column("prefix", T, nullable=False),
        sa.Column("ledger_sha256", T, nullable=False),
        sa.Column("event_count", sa.Integer, nullable=False),
        sa.Column("head_hash", T, nullable=False),
        sa.Column("root_sha256", T, nullable=False),
        sa.Column("cross_certificate", T, nullable=False),
        sa.Column("imported_at", T, nullable=False),
        sa.Column("imported_by", T, nullable=False),
    )
    op.create_table(
        "imported_bundles",
        sa.Column("bundle_id", T, primary_key=True),
        sa.Column("store_id", T, sa.ForeignKey("imported_stores.store_id"), nullable=False),
    )


def downgrade() -> None:
    raise NotImplementedError("evidence stores are never downgraded")
