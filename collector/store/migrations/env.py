"""Alembic environment: migrations run on the connection `collector.store.migrate` hands over.

There is no alembic.ini and no URL here: the tool opens the ledger itself (SQLite now,
PostgreSQL later) and passes the connection in `config.attributes["connection"]`.
"""

from __future__ import annotations

from alembic import context

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=None,
    render_as_batch=connection.dialect.name == "sqlite",
    transaction_per_migration=False,
)
with context.begin_transaction():
    context.run_migrations()
