"""The capture queue of an agency store: Procrastinate's tables and functions in the ledger's
PostgreSQL database (a workstation store, on SQLite, runs its captures in-process and has none).

The queue holds only job ids and their state; what a job is (the investigator's signed request)
and what came of it are in the ledger.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    from procrastinate.schema import SchemaManager

    bind.exec_driver_sql(SchemaManager.get_schema().replace("%", "%%"))  # no parameters in it


def downgrade() -> None:
    raise NotImplementedError("evidence stores are never downgraded")
