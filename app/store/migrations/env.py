"""Alembic environment of the central store, run programmatically (no alembic.ini).

:func:`app.store.schema.upgrade` hands a live SQLAlchemy connection in through
``config.attributes["connection"]``; this file only configures the migration context on it.
"""

from __future__ import annotations

from alembic import context

from app.store.schema import target_metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reachable through the alembic CLI
    raise RuntimeError("run migrations through app.store.schema.upgrade (origin-desk db upgrade)")

context.configure(
    connection=connection,
    target_metadata=target_metadata(),
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    transaction_per_migration=True,
)
with context.begin_transaction():
    context.run_migrations()
