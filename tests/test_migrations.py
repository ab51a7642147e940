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


def test_0006_keeps_the_outbox_and_what_each_digest_carried(tmp_path) -> None:  # noqa: ANN001
    """SQLite rebuilds ``digests`` to let a message have no subscription; dropping the old table
    must not cascade to ``digest_papers`` (which papers a subscriber was already sent)."""
    from datetime import datetime

    from alembic import command
    from sqlalchemy import func, insert, select

    from broadsheet.storage.engine import _alembic_config, create_db_engine
    from broadsheet.storage.schema import digest_papers, digests, papers, subscriptions

    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    engine = create_db_engine(url)
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "0005")
    now = datetime(2026, 11, 28)
    with engine.begin() as conn:
        conn.execute(insert(papers).values(id=1, arxiv_id="2611.00001", title="t", abstract="a", source="test",
                                           source_ref="x", content_hash="h", first_seen=now, last_changed=now))  # fmt: skip
        conn.execute(insert(subscriptions).values(id=1, email="a@example.org", frequency="daily", created_at=now))
        conn.execute(insert(digests).values(id=1, subscription_id=1, period="daily:2026-11-27", status="sent", created_at=now))
        conn.execute(insert(digest_papers).values(digest_id=1, paper_id=1))
    engine.dispose()
    storage = open_storage(url)
    try:
        with storage.engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(digest_papers)).scalar_one() == 1
            assert conn.execute(select(digests.c.period, digests.c.recipient)).all() == [("daily:2026-11-27", None)]
        assert storage.digests.sent_arxiv_ids(1) == {"2611.00001"}
    finally:
        storage.close()
