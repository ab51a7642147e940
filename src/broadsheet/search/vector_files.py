"""The vector index's files: one generation = a base (memory-mapped, with a faiss IVF) + a delta.

A generation directory (published by ``IndexFiles``, see ``index_files.py``) holds numpy ``.npy``
files, opened with ``mmap_mode="r"`` so every process on the machine shares one copy in the page
cache, and one faiss file::

    ids.npy        base: paper ids, sorted (row → paper; paper → row by np.searchsorted)
    whole.npy      base: each paper's whole vector, float16 (rows as ids.npy)
    p_ids.npy      base: papers that have tail passages, sorted
    p_first.npy    base: where each of those papers' passages start in passages.npy (+ the end)
    passages.npy   base: the tail passages' vectors, float16
    ivf.faiss      base: IVF over whole.npy's rows with 8-bit codes (IVF{n},SQ8, inner product),
                   read with faiss.IO_FLAG_MMAP; only from ANN_MIN vectors
    d_*.npy        delta: the same five arrays (float32) for vectors stored since the base was built

A base is built from the database in paper-id order, a chunk at a time (bounded memory: the IVF's
8-bit codes, 384 bytes a vector, are the only thing held whole), and rebuilt when the delta grows
past a share of it. A delta generation hard-links the base's files from the previous generation
and writes only the delta: publishing 500 new vectors writes kilobytes, not the base.

Stored float16 changes a cosine by ~1e-4 (SciFact's nDCG@10 is unchanged, docs/benchmarks.md);
the IVF's 8-bit codes only choose candidates, which are re-scored from the float16 vectors.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ANN_MIN = 50_000  # base vectors from which an IVF index is built (below: exact search, a few ms)
BUILD_CHUNK = 10_000  # database rows read at a time while building
TRAIN_PER_LIST = 50  # training vectors per IVF list (faiss wants ≥ 39)
BASE_FILES = ("ids.npy", "whole.npy", "p_ids.npy", "p_first.npy", "passages.npy", "ivf.faiss")

Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass(frozen=True)
class Layer:
    """Vectors of some papers, looked up by paper id: whole vectors (rows aligned with ``ids``)
    and tail passages (``p_first[g] : p_first[g+1]`` are the passages of paper ``p_ids[g]``; a
    paper may have none, which hides older passages of it in the layers below)."""

    ids: np.ndarray
    whole: np.ndarray
    p_ids: np.ndarray
    p_first: np.ndarray
    passages: np.ndarray

    @staticmethod
    def empty(dim: int, dtype: type = np.float32) -> Layer:
        return Layer(
            np.empty(0, np.int64), np.empty((0, dim), dtype), np.empty(0, np.int64), np.zeros(1, np.int64),
            np.empty((0, dim), dtype),
        )

    def __len__(self) -> int:
        return len(self.ids)

    def rows_of(self, pids: np.ndarray) -> np.ndarray:
        """Row of each paper id in ``whole`` (-1: not in this layer)."""
        return _find(self.ids, pids)

    def groups_of(self, pids: np.ndarray) -> np.ndarray:
        """Passage group of each paper id (-1: this layer says nothing of its passages)."""
        return _find(self.p_ids, pids)


def _find(sorted_ids: np.ndarray, pids: np.ndarray) -> np.ndarray:
    if not len(sorted_ids) or not len(pids):
        return np.full(len(pids), -1, np.int64)
    at = np.searchsorted(sorted_ids, pids)
    at = np.minimum(at, len(sorted_ids) - 1)
    return np.where(sorted_ids[at] == pids, at, -1).astype(np.int64)


def layer_from(
    whole: dict[int, np.ndarray], passages: dict[int, np.ndarray], dim: int, dtype: type = np.float32
) -> Layer:
    """A layer from ``paper id → vector`` and ``paper id → k×dim passages`` (k may be 0)."""
    ids = np.array(sorted(whole), np.int64)
    matrix = np.stack([whole[p] for p in ids.tolist()]).astype(dtype) if len(ids) else np.empty((0, dim), dtype)
    p_ids = np.array(sorted(passages), np.int64)
    counts = [len(passages[p]) for p in p_ids.tolist()]
    p_first = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    blocks = [passages[p] for p in p_ids.tolist() if len(passages[p])]
    p_matrix = np.concatenate(blocks).astype(dtype) if blocks else np.empty((0, dim), dtype)
    return Layer(ids, matrix, p_ids, p_first, p_matrix)


def layer_items(layer: Layer) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
    """The inverse of ``layer_from`` (for merging a small delta with newer vectors)."""
    whole = {int(p): np.asarray(layer.whole[i], np.float32) for i, p in enumerate(layer.ids.tolist())}
    passages = {
        int(p): np.asarray(layer.passages[layer.p_first[g] : layer.p_first[g + 1]], np.float32)
        for g, p in enumerate(layer.p_ids.tolist())
    }
    return whole, passages


@dataclass(frozen=True)
class Generation:
    """An opened generation: its base (memory-mapped), the base's IVF (or None) and its delta."""

    base: Layer
    ivf: object | None  # faiss.Index over base rows (ids = row numbers)
    delta: Layer
    path: Path


def open_generation(path: Path) -> Generation:
    """Map a published generation's files (nothing is read until searched)."""

    def load(name: str) -> np.ndarray:
        return np.load(path / name, mmap_mode="r")

    base = Layer(load("ids.npy"), load("whole.npy"), load("p_ids.npy"), load("p_first.npy"), load("passages.npy"))
    delta = Layer(load("d_ids.npy"), load("d_whole.npy"), load("d_p_ids.npy"), load("d_p_first.npy"), load("d_passages.npy"))
    ivf = None
    if (path / "ivf.faiss").exists():
        import faiss

        ivf = faiss.read_index(str(path / "ivf.faiss"), faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)
    return Generation(base, ivf, delta, path)


def write_delta(tmp: Path, delta: Layer) -> None:
    """Write a generation's delta files into ``tmp`` (float32: a delta is small)."""
    for name, arr in (
        ("d_ids.npy", delta.ids), ("d_whole.npy", np.asarray(delta.whole, np.float32)), ("d_p_ids.npy", delta.p_ids),
        ("d_p_first.npy", delta.p_first), ("d_passages.npy", np.asarray(delta.passages, np.float32)),
    ):
        np.save(tmp / name, arr)


def link_base(old: Path, tmp: Path) -> None:
    """Hard-link the base files of the generation at ``old`` into ``tmp`` (a delta generation
    shares them; a file lives while any generation, or any process's mapping, holds it)."""
    for name in BASE_FILES:
        if (old / name).exists():
            os.link(old / name, tmp / name)


@dataclass(frozen=True)
class Source:
    """Where a base reads its vectors: ``load(model, after_paper, upto_id, limit)`` as
    ``VectorStore.load_by_paper``, and the size of what it will read."""

    load: Callable[[str, int, int, int], tuple[int, np.ndarray, np.ndarray, np.ndarray]]
    size: Callable[[str, int], tuple[int, int]]


def build_base(
    tmp: Path, source: Source, model: str, passages_model: str, dim: int, upto: int, p_upto: int,
    progress: Progress | None = None, nprobe_share: float = 0.3,
) -> dict[str, int]:
    """Write a base into ``tmp`` from the database rows of ``model`` up to row ``upto`` (and of
    ``passages_model`` up to ``p_upto``), plus an empty delta. Returns counts for the manifest."""
    from numpy.lib.format import open_memmap

    report = progress or (lambda stage, done, total: None)
    rows, _ = source.size(model, upto)
    ids = open_memmap(tmp / "ids.npy", "w+", np.int64, (rows,))
    whole = open_memmap(tmp / "whole.npy", "w+", np.float16, (max(rows, 0), dim))
    n, after = 0, 0
    while n < rows:
        after, pids, counts, matrix = source.load(model, after, upto, BUILD_CHUNK)
        if not len(pids):
            break
        pids, matrix = pids[: rows - n], matrix[: rows - n]  # a whole-paper row holds one vector
        ids[n : n + len(pids)] = pids
        whole[n : n + len(pids)] = matrix
        n += len(pids)
        report("vectors", n, rows)
    ids.flush(), whole.flush()
    del ids, whole
    if n < rows:  # rows replaced while building (their new rows come in with the next delta)
        _truncate(tmp, "ids.npy", n), _truncate(tmp, "whole.npy", n)

    p_rows, p_bytes = source.size(passages_model, p_upto)
    total = p_bytes // (4 * dim)
    p_ids = open_memmap(tmp / "p_ids.npy", "w+", np.int64, (p_rows,))
    p_first = open_memmap(tmp / "p_first.npy", "w+", np.int64, (p_rows + 1,))
    passages = open_memmap(tmp / "passages.npy", "w+", np.float16, (total, dim))
    g, at, after = 0, 0, 0
    p_first[0] = 0
    while g < p_rows:
        after, pids, counts, matrix = source.load(passages_model, after, p_upto, BUILD_CHUNK)
        if not len(pids):
            break
        k = min(len(pids), p_rows - g)
        pids, counts = pids[:k], counts[:k]
        m = int(counts.sum())
        if at + m > total:
            break  # the rows changed under the build: stop here, the delta takes the rest
        p_ids[g : g + k] = pids
        p_first[g + 1 : g + k + 1] = at + np.cumsum(counts)
        passages[at : at + m] = matrix[:m]
        g, at = g + k, at + m
        report("passages", g, p_rows)
    for arr in (p_ids, p_first, passages):
        arr.flush()
    del p_ids, p_first, passages
    if g < p_rows:
        _truncate(tmp, "p_ids.npy", g), _truncate(tmp, "p_first.npy", g + 1), _truncate(tmp, "passages.npy", at)

    nlist = 0
    if n >= ANN_MIN:
        nlist = _build_ivf(tmp, dim, n, report)
    write_delta(tmp, Layer.empty(dim))
    return {"vectors": n, "passage_papers": g, "passages": at, "nlist": nlist, "nprobe": max(1, round(nprobe_share * nlist))}


def _truncate(tmp: Path, name: str, n: int) -> None:
    """Rewrite ``name`` keeping its first ``n`` rows (rare: rows deleted while a base was built)."""
    old = np.load(tmp / name, mmap_mode="r")
    kept = np.array(old[:n])
    del old
    np.save(tmp / name, kept)


def _build_ivf(tmp: Path, dim: int, n: int, report: Progress) -> int:
    """Train an IVF with 8-bit codes on a sample of the base's rows, add them all, write it."""
    import faiss

    whole = np.load(tmp / "whole.npy", mmap_mode="r")
    nlist = max(16, int(2 * np.sqrt(n)))
    rng = np.random.default_rng(0)
    sample = np.sort(rng.choice(n, min(n, TRAIN_PER_LIST * nlist), replace=False))
    report("training", 0, 1)
    index = faiss.index_factory(dim, f"IVF{nlist},SQ8", faiss.METRIC_INNER_PRODUCT)
    index.train(np.asarray(whole[sample], np.float32))
    report("training", 1, 1)
    for start in range(0, n, 50_000):
        end = min(n, start + 50_000)
        index.add_with_ids(np.asarray(whole[start:end], np.float32), np.arange(start, end, dtype=np.int64))
        report("clustering", end, n)
    faiss.write_index(index, str(tmp / "ivf.faiss"))
    return nlist
