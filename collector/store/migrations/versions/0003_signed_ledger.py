"""A signed ledger: each event's signer and signature; checkpoints of the ledger's head.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

T = sa.Text
I = sa.Integer  # noqa: E741


def upgrade() -> None:
    op.add_column("events", sa.Column("signer", T))
    op.add_column("events", sa.Column("signature", T))
    op.create_table(
        "checkpoints",
        sa.Column("seq", I, primary_key=True, autoincrement=False),
        sa.Column("made_at", T, nullable=False),
        sa.Column("event_count", I, nullable=False),
        sa.Column("head_hash", T, nullable=False),
        sa.Column("reason", T, nullable=False),
        sa.Column("body", T, nullable=False),
    )


def downgrade() -> None:
    raise NotImplementedError("evidence stores are never downgraded")
