"""Captures requested of capture systems: one row per job sealed, so a job is never sealed twice.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

T = sa.Text


def upgrade() -> None:
    op.create_table(
        "job_seals",
        sa.Column("job_id", T, primary_key=True),
        sa.Column("bundle_id", T, nullable=False, unique=True),
        sa.Column("requested_by", T, nullable=False),
        sa.Column("sealed_by", T, nullable=False),
        sa.Column("sealed_at", T, nullable=False),
    )


def downgrade() -> None:
    raise NotImplementedError("evidence stores are never downgraded")
