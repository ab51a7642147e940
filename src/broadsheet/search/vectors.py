"""An in-memory vector index over the stored embeddings: cosine search, exact or IVF.

Vectors live in a numpy matrix. Exact search is one matrix-vector product, but it reads the
whole matrix (150 MB of float32 at 100k papers: ~10 ms, memory-bound, and ten times that at 1M).
From ``ANN_MIN`` vectors on, a faiss IVF index (``IndexIVFFlat``, inner product) answers
unfiltered queries by scanning only the ``nprobe`` clusters nearest the query; it is trained in a
background thread (exact search serves meanwhile) and retrained when the collection has doubled.
Filtered queries (categories, dates, phrases...) stay exact over the allowed rows, so a filter
never loses results to clustering. Recall of the IVF against exact search is measured in
``bench/search.py``.

The index refreshes itself from the database before each search, loading only vectors stored
since it last looked, so papers embedded by another process (``broadsheet index``, the worker)
become findable without a restart; the IVF index takes them in as they arrive.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from ..storage.vectors import VectorStore
from .embedders import passages_key


ANN_MIN = 50_000  # vectors: below this, exact search takes a few milliseconds
# Share of the IVF clusters scanned per query. On arXiv abstracts (bench/search.py, 21.5k vectors)
# 0.1 / 0.2 / 0.3 found 0.89 / 0.94 / 0.97 of the exact top-10 (0.84 / 0.92 / 0.96 of the top-100).
NPROBE_SHARE = 0.3
LOAD_CHUNK = 10_000
PASSAGE_WEIGHT = 0.5  # of max(whole, passages) against the whole paper's cosine


class _IVF:
    """A trained faiss IVF index over (some of) the vectors, keyed by paper id."""

    def __init__(self, vectors: np.ndarray, ids: np.ndarray) -> None:
        import faiss

        n, dim = vectors.shape
        nlist = max(16, int(2 * np.sqrt(n)))
        rng = np.random.default_rng(0)
        sample = vectors[rng.choice(n, min(n, 64 * nlist), replace=False)]
        self._quantizer = faiss.IndexFlatIP(dim)  # referenced here so it lives as long as the index
        self.index = faiss.IndexIVFFlat(self._quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
        self.index.train(sample)
        self.index.add_with_ids(vectors, ids)
        self.index.nprobe = max(1, int(round(NPROBE_SHARE * nlist)))
        self.trained_on = n

    def upsert(self, vectors: np.ndarray, ids: np.ndarray) -> None:
        """Add vectors, replacing those already held for the same ids (the last of duplicates wins)."""
        import faiss

        ids = np.asarray(ids, np.int64)
        _, last = np.unique(ids[::-1], return_index=True)
        keep = np.sort(len(ids) - 1 - last)
        ids, vectors = ids[keep], np.ascontiguousarray(vectors[keep], np.float32)
        self.index.remove_ids(faiss.IDSelectorBatch(ids))
        self.index.add_with_ids(vectors, ids)

    def search(self, vector: np.ndarray, limit: int) -> list[tuple[int, float]]:
        scores, ids = self.index.search(vector.reshape(1, -1), limit)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]


class VectorIndex:
    """Semantic scores of papers for a query vector: ``0.5 · cos(whole paper) + 0.5 · max(cos(whole
    paper), cos(each tail passage))`` (papers longer than the model reads have tail passages; the
    blend is the best of several on SciFact train, docs/benchmarks.md)."""

    def __init__(self, store: VectorStore, model: str, dim: int) -> None:
        self._store, self.model, self.dim = store, model, dim
        self._passages_model = passages_key(model)
        self._ivf: _IVF | None = None
        self._training = False
        self._lock = threading.Lock()
        self._last_id = 0
        self._row_of: dict[int, int] = {}  # paper id → row of _matrix
        self._ids = np.empty(0, np.int64)
        self._matrix = np.empty((0, dim), np.float32)
        self._used = 0  # rows in use (the arrays grow with headroom)
        # Tail passages: rows of _p_matrix, each owned by a row of _matrix (-1: replaced since).
        self._p_last_id = 0
        self._p_owner = np.empty(0, np.int64)
        self._p_matrix = np.empty((0, dim), np.float32)
        self._p_used = 0
        self._p_slots: dict[int, tuple[int, int]] = {}  # paper id → (first passage row, count)
        self._p_waiting: dict[int, np.ndarray] = {}  # passages whose paper's own vector is not here yet

    def __len__(self) -> int:
        return len(self._row_of)

    def refresh(self) -> int:
        """Load vectors stored since the last refresh; return how many papers' vectors arrived."""
        arrived = 0
        with self._lock:
            while True:  # in chunks, so a cold start does not hold every blob twice
                last, pids, vecs = self._store.load_since(self.model, self._last_id, self.dim, limit=LOAD_CHUNK)
                if not len(pids):
                    break
                rows = np.array([self._row_of.get(p, -1) for p in pids.tolist()], np.int64)
                new = np.flatnonzero(rows < 0)
                if len(new):
                    new_pids = list(dict.fromkeys(pids[new].tolist()))  # a paper twice in one chunk
                    first = self._reserve(len(new_pids))
                    for i, pid in enumerate(new_pids, first):
                        self._row_of[pid] = i
                    self._ids[first : first + len(new_pids)] = new_pids
                    rows = np.array([self._row_of[p] for p in pids.tolist()], np.int64)
                self._matrix[rows] = vecs  # later rows of the same paper win
                self._last_id = last
                if self._ivf is not None:
                    self._ivf.upsert(vecs, pids)
                for pid in set(pids.tolist()) & self._p_waiting.keys():
                    self._put_passages(pid, self._p_waiting.pop(pid))
                arrived += len(pids)
            while True:
                last, pids, counts, vecs = self._store.load_groups_since(
                    self._passages_model, self._p_last_id, self.dim, limit=LOAD_CHUNK
                )
                if not len(pids):
                    break
                ends = np.cumsum(counts)
                for pid, end, k in zip(pids.tolist(), ends.tolist(), counts.tolist(), strict=True):
                    self._put_passages(pid, vecs[end - k : end])
                self._p_last_id = last
            if arrived:
                self._maybe_train()
        return arrived

    def _put_passages(self, pid: int, vecs: np.ndarray) -> None:
        row = self._row_of.get(pid)
        if row is None:
            self._p_waiting[pid] = vecs
            return
        old = self._p_slots.pop(pid, None)
        if old is not None:
            self._p_owner[old[0] : old[0] + old[1]] = -1
        if not len(vecs):
            return
        if self._p_used + len(vecs) > len(self._p_owner):
            size = max(self._p_used + len(vecs), len(self._p_owner) + len(self._p_owner) // 4, 1024)
            owner = np.full(size, -1, np.int64)
            owner[: self._p_used] = self._p_owner[: self._p_used]
            matrix = np.zeros((size, self.dim), np.float32)
            matrix[: self._p_used] = self._p_matrix[: self._p_used]
            self._p_owner, self._p_matrix = owner, matrix
        first = self._p_used
        self._p_matrix[first : first + len(vecs)] = vecs
        self._p_owner[first : first + len(vecs)] = row
        self._p_used += len(vecs)
        self._p_slots[pid] = (first, len(vecs))

    def _reserve(self, n: int) -> int:
        """Room for ``n`` more rows; returns the first. Grows by a quarter at least, in one copy."""
        if self._used + n > len(self._ids):
            size = max(self._used + n, len(self._ids) + len(self._ids) // 4, 1024)
            ids = np.full(size, -1, np.int64)
            ids[: self._used] = self._ids[: self._used]
            matrix = np.zeros((size, self.dim), np.float32)
            matrix[: self._used] = self._matrix[: self._used]
            self._ids, self._matrix = ids, matrix
        first = self._used
        self._used += n
        return first

    def _maybe_train(self) -> None:
        """Start (re)training the IVF index in the background when big enough, or twice as big."""
        n = self._used
        if self._training or n < ANN_MIN or (self._ivf is not None and n < 2 * self._ivf.trained_on):
            return
        self._training = True
        # Views, not copies: a refresh meanwhile writes rows in place or moves to a bigger array;
        # either way what changed since ``last`` is upserted again before the swap.
        vectors, ids, last = self._matrix[:n], self._ids[:n], self._last_id

        def train() -> None:
            try:
                ivf = _IVF(vectors, ids)
                with self._lock:  # take in what arrived while training, then swap
                    _, pids, vecs = self._store.load_since(self.model, last, self.dim)
                    if len(pids):
                        ivf.upsert(vecs, pids)
                    self._ivf = ivf
            finally:
                self._training = False

        threading.Thread(target=train, name="broadsheet-ivf", daemon=True).start()

    def wait_for_ann(self, timeout: float | None = None) -> bool:
        """Block until no IVF training runs (benchmarks and tests); True if an IVF index serves."""
        import time

        deadline = None if timeout is None else time.monotonic() + timeout
        while self._training and (deadline is None or time.monotonic() < deadline):
            time.sleep(0.05)
        return self._ivf is not None

    def search(
        self, vector: np.ndarray, limit: int, allowed: set[int] | None = None, exclude: int | None = None
    ) -> list[tuple[int, float]]:
        """``(paper_id, semantic score)`` of the nearest papers, best first; only ``allowed`` ids if given.

        With an IVF index (unfiltered queries only), its nearest ``2 · limit`` papers by whole-paper
        cosine are re-scored exactly with their passages.
        """
        self.refresh()
        if self._used == 0 or limit <= 0:
            return []
        if self._ivf is not None and allowed is None:
            with self._lock:
                found = self._ivf.search(vector.astype(np.float32), 2 * limit + (exclude is not None))
            scored = self.scores_for(vector, [pid for pid, _ in found if pid != exclude])
            return sorted(scored.items(), key=lambda x: (-x[1], x[0]))[:limit]
        return self.exact_search(vector, limit, allowed, exclude)

    @staticmethod
    def _blend(whole: np.ndarray, passages: np.ndarray, at: np.ndarray) -> np.ndarray:
        """Blend whole-paper cosines with their passages' (``at[i]``: the index in ``whole`` of
        passage i's paper)."""
        best = whole.copy()
        if len(passages):
            np.maximum.at(best, at, passages)
        return (1 - PASSAGE_WEIGHT) * whole + PASSAGE_WEIGHT * best

    def exact_search(
        self, vector: np.ndarray, limit: int, allowed: set[int] | None = None, exclude: int | None = None
    ) -> list[tuple[int, float]]:
        """Like ``search``, always scanning every vector (the IVF's recall is measured against it)."""
        n = self._used
        if n == 0 or limit <= 0:
            return []
        v = vector.astype(np.float32)
        whole = self._matrix[:n] @ v
        owners = self._p_owner[: self._p_used]
        alive = owners >= 0
        scores = self._blend(whole, self._p_matrix[: self._p_used][alive] @ v, owners[alive])
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
        top = top[np.lexsort((ids[top], -scores[top]))]
        return [(int(ids[i]), float(scores[i])) for i in top if np.isfinite(scores[i])]

    def scores_for(self, vector: np.ndarray, paper_ids: Sequence[int]) -> dict[int, float]:
        """Semantic scores of the given papers (papers without a vector are left out)."""
        found = [(pid, r) for pid in paper_ids if (r := self._row_of.get(pid)) is not None]
        if not found:
            return {}
        v = vector.astype(np.float32)
        rows = np.array([r for _, r in found], np.int64)
        slots = [(i, *self._p_slots[pid]) for i, (pid, _) in enumerate(found) if pid in self._p_slots]
        p_rows = np.concatenate([np.arange(a, a + k) for _, a, k in slots]) if slots else np.empty(0, np.int64)
        at = np.repeat([i for i, _, _ in slots], [k for _, _, k in slots]).astype(np.int64)
        scores = self._blend(self._matrix[rows] @ v, self._p_matrix[p_rows] @ v, at)
        return {pid: float(x) for (pid, _), x in zip(found, scores, strict=True)}

    def vector_of(self, paper_id: int) -> np.ndarray | None:
        self.refresh()
        row = self._row_of.get(paper_id)
        return None if row is None else self._matrix[row].copy()
