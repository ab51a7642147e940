"""postgres search: on PostgreSQL, the full-text index (a weighted tsvector, GIN) and a pgvector
column with an HNSW index on embeddings; nothing changes on SQLite (FTS5 came with 0001)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 22:00:00
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# The default embedder's dimension (all-MiniLM-L6-v2). Vectors of other dimensions are stored and
# searched too, exactly, without an HNSW index (docs/dev.md "Storage").
HNSW_DIM = 384


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    # pgvector is not a trusted extension: if this fails, a superuser runs it once per database.
    op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    op.execute(
        "CREATE TABLE papers_fts ("
        " paper_id INTEGER PRIMARY KEY REFERENCES papers (id) ON DELETE CASCADE,"
        " title TEXT NOT NULL, abstract TEXT NOT NULL, authors TEXT NOT NULL,"
        " terms TSVECTOR NOT NULL)"
    )
    op.execute("CREATE INDEX ix_papers_fts_terms ON papers_fts USING gin (terms)")
    op.execute("ALTER TABLE embeddings ADD COLUMN embedding vector")
    op.execute(
        f"CREATE INDEX ix_embeddings_hnsw_{HNSW_DIM} ON embeddings USING hnsw "
        f"((embedding::vector({HNSW_DIM})) vector_ip_ops) WHERE vector_dims(embedding) = {HNSW_DIM}"
    )
    # Papers and vectors stored on PostgreSQL before this revision get their index rows now.
    from broadsheet.storage.fulltext_pg import index_missing
    from broadsheet.storage.vectors_pg import fill_missing

    index_missing(bind)
    fill_missing(bind)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP INDEX ix_embeddings_hnsw_{HNSW_DIM}")
    op.execute("ALTER TABLE embeddings DROP COLUMN embedding")
    op.execute("DROP TABLE papers_fts")
