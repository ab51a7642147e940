"""Semantic search in the database (PostgreSQL + pgvector), for ``vector_index = "database"`` (the default on PostgreSQL).

The twin of ``vectors.VectorIndex`` with the same methods, holding nothing in memory: the HNSW
index finds the nearest ``2 · limit`` papers by whole-paper cosine, and those are re-scored
exactly with their tail passages by the same blend (``VectorIndex._blend``), as the in-memory
index does with its IVF candidates. Every server process shares the one index in the database,
and a vector written by any process is found at once (no refresh).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..storage.vectors import VectorStore
from ..storage.vectors_pg import PgVectorSearch
from .embedders import passages_key
from .vectors import VectorIndex


class DatabaseVectorIndex:
    def __init__(self, store: VectorStore, search: PgVectorSearch, model: str, dim: int) -> None:
        self._store, self._search, self.model, self.dim = store, search, model, dim
        self._passages_model = passages_key(model)

    def has_vectors(self) -> bool:
        """Whether the database holds any vector of this model."""
        return self._store.has_any(self.model)

    def refresh(self) -> int:
        """Nothing to load: the database is the index."""
        return 0

    def search(
        self, vector: np.ndarray, limit: int, allowed: set[int] | None = None, exclude: int | None = None
    ) -> list[tuple[int, float]]:
        """``(paper_id, semantic score)`` of the nearest papers, best first; only ``allowed`` ids if given."""
        if limit <= 0:
            return []
        found = self._search.nearest(self.model, vector, 2 * limit, allowed, exclude)
        scored = self.scores_for(vector, [pid for pid, _ in found])
        return sorted(scored.items(), key=lambda x: (-x[1], x[0]))[:limit]

    def scores_for(self, vector: np.ndarray, paper_ids: Sequence[int]) -> dict[int, float]:
        """Semantic scores of the given papers (papers without a vector are left out)."""
        blobs = self._store.blobs((self.model, self._passages_model), paper_ids)
        whole, passages = blobs[self.model], blobs[self._passages_model]
        if not whole:
            return {}
        pids = list(whole)
        v = np.asarray(vector, np.float32)
        matrix = np.frombuffer(b"".join(whole[p] for p in pids), "<f4").reshape(len(pids), self.dim)
        at = [i for i, p in enumerate(pids) for _ in range(len(passages.get(p, b"")) // (4 * self.dim))]
        p_matrix = np.frombuffer(b"".join(passages.get(p, b"") for p in pids), "<f4").reshape(-1, self.dim)
        scores = VectorIndex._blend(matrix @ v, p_matrix @ v, np.asarray(at, np.int64))  # noqa: SLF001 - one formula
        return {pid: float(s) for pid, s in zip(pids, scores, strict=True)}

    def vector_of(self, paper_id: int) -> np.ndarray | None:
        blob = self._store.blobs((self.model,), [paper_id])[self.model].get(paper_id)
        return None if blob is None else np.frombuffer(blob, "<f4").copy()
