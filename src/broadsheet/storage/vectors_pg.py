"""Vectors on PostgreSQL: pgvector's ``embedding`` column beside the float32 blob, and nearest
neighbours from its HNSW index (migration 0005).

``embeddings.vector`` (the blob) stays the one format both backends read back (the in-memory
index, passages, copy-db); on PostgreSQL a paper's whole vector is also written as a pgvector
``vector`` so that the database can search it. Passage rows (several vectors in one blob) get no
``embedding``: they re-score the nearest papers in Python, as in memory.

The HNSW index covers vectors of the default model's dimension (``HNSW_DIM``); a model with
another dimension is searched exactly by the same SQL (a sequential scan). Vectors are unit length,
so inner product (``<#>``, the fastest operator) ranks as cosine does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, text
from sqlalchemy.types import UserDefinedType

from .engine import bulk_insert

if TYPE_CHECKING:
    import numpy as np  # imported where used: `broadsheet info` needs no numpy

HNSW_DIM = 384  # as in migration 0005
EF_SEARCH_MIN = 40  # pgvector's default candidate list; raised to the number of results wanted


class Vector(UserDefinedType):
    """pgvector's ``vector`` as SQLAlchemy reflects it (Alembic's schema comparison reads the
    column; values are written as text with a cast, see ``vector_literal``)."""

    cache_ok = True

    def get_col_spec(self, **kw: object) -> str:
        return "vector"


def register_vector_type() -> None:
    """Let SQLAlchemy reflect pgvector columns as ``Vector`` (called when a PostgreSQL engine is
    made: the PostgreSQL dialect is imported only then, so SQLite never pays for it)."""
    from sqlalchemy.dialects.postgresql.base import ischema_names

    ischema_names.setdefault("vector", Vector)


def vector_literal(v: np.ndarray) -> str:
    """pgvector's text form of a vector: ``[0.1,0.2,...]`` (float32 values round-trip exactly)."""
    import numpy as np

    return "[" + ",".join(map(str, np.asarray(v, np.float32).tolist())) + "]"


def put_rows(conn: Connection, model: str, items: Sequence[tuple[int, str, np.ndarray]]) -> None:
    """Insert ``(paper_id, content_hash, vector)`` rows (the caller deleted the old ones): the blob,
    and for a single vector (not a k×dim group of passages) its pgvector twin."""
    import numpy as np

    bulk_insert(
        conn,
        "embeddings",
        ("paper_id", "model", "content_hash", "vector", "embedding"),
        [
            (pid, model, h, np.asarray(v, "<f4").tobytes(), vector_literal(v) if np.ndim(v) == 1 else None)
            for pid, h, v in items
        ],
    )


PASSAGES = "#passages"  # the suffix of a passages model's key (search.embedders.passages_key)


def put_copied(conn: Connection, rows: Sequence[dict[str, object]]) -> None:
    """Insert ``embeddings`` rows copied from another database (ids kept, ``copy-db``), each whole
    vector with its pgvector twin."""
    import numpy as np

    bulk_insert(
        conn,
        "embeddings",
        ("id", "paper_id", "model", "content_hash", "vector", "embedding"),
        [
            (
                r["id"], r["paper_id"], r["model"], r["content_hash"], r["vector"],
                None if str(r["model"]).endswith(PASSAGES) else vector_literal(np.frombuffer(r["vector"], "<f4")),  # type: ignore[arg-type]
            )
            for r in rows
        ],  # fmt: skip
    )


def fill_missing(conn: Connection, chunk: int = 2000) -> int:
    """Give the pgvector column to stored whole-paper vectors that lack it (stored before migration
    0005 or copied in as blobs); return how many. Passage rows (model ``...#passages``) stay NULL."""
    import numpy as np

    done, after = 0, 0
    select = text(
        "SELECT id, vector FROM embeddings WHERE id > :after AND embedding IS NULL "
        "AND model NOT LIKE :passages ORDER BY id LIMIT :n"
    )
    while rows := conn.execute(select, {"after": after, "n": chunk, "passages": "%" + PASSAGES}).all():
        conn.execute(
            text("UPDATE embeddings SET embedding = CAST(:e AS vector) WHERE id = :id"),
            [{"id": i, "e": vector_literal(np.frombuffer(blob, "<f4"))} for i, blob in rows],
        )
        done, after = done + len(rows), rows[-1][0]
    return done


class PgVectorSearch:
    """Nearest papers by inner product, in the database."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def nearest(
        self, model: str, vector: np.ndarray, limit: int, allowed: set[int] | None = None, exclude: int | None = None
    ) -> list[tuple[int, float]]:
        """``(paper_id, inner product)`` of the ``limit`` nearest whole-paper vectors, best first.

        Unfiltered: the HNSW index (iterative scan, so papers of another model sharing the index
        do not leave the list short). Filtered by ``allowed`` ids: exact over those rows (a
        materialised CTE keeps the index out), as the in-memory index is exact for filters.
        """
        import numpy as np

        if limit <= 0 or (allowed is not None and not allowed):
            return []
        dim = int(np.asarray(vector).shape[-1])
        params: dict[str, object] = {"q": vector_literal(vector), "m": model, "k": limit}
        cond = "model = :m AND embedding IS NOT NULL"
        if exclude is not None:
            cond += " AND paper_id <> :ex"
            params["ex"] = exclude
        with self._engine.begin() as conn:
            if allowed is not None:
                params["ids"] = sorted(allowed)
                rows = conn.execute(
                    text(
                        f"WITH c AS MATERIALIZED (SELECT paper_id, embedding <#> CAST(:q AS vector) AS d "
                        f"FROM embeddings WHERE {cond} AND paper_id = ANY(:ids)) "
                        "SELECT paper_id, -d FROM c ORDER BY d, paper_id LIMIT :k"
                    ),
                    params,
                )
            else:
                # Settings of this transaction only (set_config(..., true) is SET LOCAL), in one trip.
                conn.execute(
                    text("SELECT set_config('hnsw.ef_search', :ef, true), set_config('hnsw.iterative_scan', 'relaxed_order', true)"),
                    {"ef": str(max(EF_SEARCH_MIN, min(limit, 1000)))},
                )
                distance = f"embedding::vector({dim}) <#> CAST(:q AS vector({dim}))"
                rows = conn.execute(
                    text(
                        f"SELECT paper_id, -({distance}) FROM embeddings "
                        f"WHERE {cond} AND vector_dims(embedding) = {dim} ORDER BY {distance} LIMIT :k"
                    ),
                    params,
                )
            found = [(int(pid), float(s)) for pid, s in rows]
        # relaxed_order may return a few out of order: sort, best first (ties by id)
        return sorted(found, key=lambda x: (-x[1], x[0]))
