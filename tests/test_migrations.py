"""The migrations build exactly the schema that `storage/schema.py` describes."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from broadsheet.storage import open_storage
from broadsheet.storage.engine import MIGRATIONS
from broadsheet.storage.migrations_filter import include_object
from broadsheet.storage.schema import metadata


def test_migrated_database_matches_schema(db_url: str) -> None:
    """On both backends; the dialect-only objects (FTS5, tsvector, pgvector) are left out of the
    comparison by ``migrations_filter`` and checked by the search tests."""
    storage = open_storage(db_url)
    try:
        with storage.engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"include_object": include_object, "compare_type": True})
            diff = compare_metadata(ctx, metadata)
    finally:
        storage.close()
    assert diff == []


def test_migrating_twice_is_a_no_op(db_url: str) -> None:
    url = db_url
    first = open_storage(url)
    version = first.schema_version()
    first.close()
    second = open_storage(url)
    assert second.schema_version() == version == _head()
    second.close()


def _head() -> str:
    """The one newest revision: two revisions with the same parent (a bad merge) fail here."""
    heads = ScriptDirectory(str(MIGRATIONS)).get_heads()
    assert len(heads) == 1, f"migrations have several heads: {heads}"
    return heads[0]
