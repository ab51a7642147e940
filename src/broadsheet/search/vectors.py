"""An in-memory vector index over the stored embeddings: exact cosine search with numpy.

Exact search over 100k 384-d vectors is one matrix-vector product (about 150 MB of float32, a few
milliseconds), so no approximate index is needed on one machine; PostgreSQL + pgvector (HNSW)
takes over beyond that. The index refreshes itself from the database before each search, loading
only vectors stored since it last looked, so papers embedded by another process (``broadsheet
index``, the worker) become findable without a restart.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from ..storage.vectors import VectorStore


class VectorIndex:
    def __init__(self, store: VectorStore, model: str, dim: int) -> None:
        self._store, self.model, self.dim = store, model, dim
        self._lock = threading.Lock()
        self._last_id = 0
        self._row_of: dict[int, int] = {}  # paper id → row of _matrix
        self._ids = np.empty(0, np.int64)
        self._matrix = np.empty((0, dim), np.float32)
        self._used = 0  # rows in use (the arrays grow with headroom)

    def __len__(self) -> int:
        return len(self._row_of)

    def refresh(self) -> int:
        """Load vectors stored since the last refresh; return how many arrived."""
        with self._lock:
            last, pids, vecs = self._store.load_since(self.model, self._last_id, self.dim)
            if not len(pids):
                return 0
            for pid, vec in zip(pids.tolist(), vecs, strict=True):
                row = self._row_of.get(pid)
                if row is None:
                    row = self._append_row()
                    self._row_of[pid] = row
                    self._ids[row] = pid
                self._matrix[row] = vec
            self._last_id = last
            return len(pids)

    def _append_row(self) -> int:
        if self._used == len(self._ids):
            grow = max(1024, len(self._ids) // 2)
            self._ids = np.concatenate([self._ids, np.full(grow, -1, np.int64)])
            self._matrix = np.concatenate([self._matrix, np.zeros((grow, self.dim), np.float32)])
        self._used += 1
        return self._used - 1

    def search(
        self, vector: np.ndarray, limit: int, allowed: set[int] | None = None, exclude: int | None = None
    ) -> list[tuple[int, float]]:
        """``(paper_id, cosine)`` of the nearest papers, best first; only ``allowed`` ids if given."""
        self.refresh()
        n = self._used
        if n == 0 or limit <= 0:
            return []
        scores = self._matrix[:n] @ vector.astype(np.float32)
        ids = self._ids[:n]
        if allowed is not None or exclude is not None:
            mask = np.ones(n, bool)
            if allowed is not None:
                mask &= np.isin(ids, np.fromiter(allowed, np.int64, len(allowed)))
            if exclude is not None:
                mask &= ids != exclude
            scores = np.where(mask, scores, -np.inf)
        k = min(limit, n)
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(ids[i]), float(scores[i])) for i in top if np.isfinite(scores[i])]

    def scores_for(self, vector: np.ndarray, paper_ids: Sequence[int]) -> dict[int, float]:
        """Cosine of the given papers to ``vector`` (papers without a vector are left out)."""
        rows = [(pid, r) for pid in paper_ids if (r := self._row_of.get(pid)) is not None]
        if not rows:
            return {}
        sims = self._matrix[[r for _, r in rows]] @ vector.astype(np.float32)
        return {pid: float(x) for (pid, _), x in zip(rows, sims, strict=True)}

    def vector_of(self, paper_id: int) -> np.ndarray | None:
        self.refresh()
        row = self._row_of.get(paper_id)
        return None if row is None else self._matrix[row].copy()
