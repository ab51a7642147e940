"""Alembic environment: run by ``broadsheet.storage.engine.migrate`` with an open connection."""

from __future__ import annotations

from alembic import context

from broadsheet.storage.schema import FTS_TABLE, metadata


def include_object(obj, name, type_, reflected, compare_to):  # noqa: ANN001 - Alembic's signature
    """Hide the FTS5 virtual table and its shadow tables from autogenerate."""
    return not (type_ == "table" and name and name.startswith(FTS_TABLE))


connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    include_object=include_object,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
