"""Alembic environment: run by ``broadsheet.storage.engine.migrate`` with an open connection."""

from __future__ import annotations

from alembic import context

from broadsheet.storage.migrations_filter import include_object
from broadsheet.storage.schema import metadata


connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    include_object=include_object,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
