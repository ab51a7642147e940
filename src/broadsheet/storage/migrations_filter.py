"""What Alembic's autogenerate compares: everything but the full-text tables (FTS5's and its
shadow tables on SQLite, the tsvector table on PostgreSQL) and PostgreSQL's pgvector column and
index (migration 0005), which ``schema.py`` does not describe because SQLite has no such types."""

from __future__ import annotations

from typing import Any

from .schema import FTS_TABLE

PG_ONLY_COLUMNS = {("embeddings", "embedding")}
PG_ONLY_INDEXES = {"ix_embeddings_hnsw_384"}


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    if type_ == "table" and name is not None and name.startswith(FTS_TABLE):
        return False
    if type_ == "column" and (getattr(obj, "table", None) is not None) and (obj.table.name, name) in PG_ONLY_COLUMNS:
        return False
    return not (type_ == "index" and name in PG_ONLY_INDEXES)
