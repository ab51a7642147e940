"""The vector index's files: one generation = a base (memory-mapped, with a faiss IVF) + a delta.

A generation directory (published by ``IndexFiles``, see ``index_files.py``) holds numpy ``.npy``
files, opened with ``mmap_mode="r"`` so every process on the machine shares one copy in the page
cache, and one faiss file::

    ids.npy        base: the paper of each row (rows in the database's order of storing)
    whole.npy      base: each paper's whole vector, float16 (rows as ids.npy)
    keys.npy       base: the paper ids sorted, and key_rows.npy their rows: paper → row is one
                   np.searchsorted over a mapped array, no per-process dict of a million entries
    p_ids.npy      base: the paper of each group of tail passages (a paper may have none)
    p_first.npy    base: where each group starts in passages.npy (+ the end)
    passages.npy   base: the tail passages' vectors, float16
    p_keys.npy     base: p_ids sorted, and p_key_groups.npy their groups
    ivf.faiss      base: IVF over whole.npy's rows with 8-bit codes (IVF{n},SQ8, inner product),
                   read with faiss.IO_FLAG_MMAP; only from ANN_MIN vectors
    d_*.npy        delta: the same arrays (float32) for vectors stored since the base was built

A base is built from the database in row-id order (along the (model, id) index), a chunk at a time
(bounded memory: the IVF's 8-bit codes, 384 bytes a vector, and two sorts of the ids are all that
is held whole), and rebuilt when the delta grows past a share of it. A delta generation hard-links the base's files from the previous generation
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
ARRAYS = ("ids", "whole", "keys", "key_rows", "p_ids", "p_first", "passages", "p_keys", "p_key_groups")
BASE_FILES = tuple(f"{a}.npy" for a in ARRAYS) + ("ivf.faiss",)

Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass(frozen=True)
class Layer:
    """Vectors of some papers, looked up by paper id: whole vectors (``whole[r]`` is paper
    ``ids[r]``'s) and tail passages (``passages[p_first[g] : p_first[g+1]]`` are paper
    ``p_ids[g]``'s; a paper may have none, which hides older passages of it in the layers below).
    ``keys``/``key_rows`` and ``p_keys``/``p_key_groups``: the ids sorted, for lookups."""

    ids: np.ndarray
    whole: np.ndarray
    keys: np.ndarray
    key_rows: np.ndarray
    p_ids: np.ndarray
    p_first: np.ndarray
    passages: np.ndarray
    p_keys: np.ndarray
    p_key_groups: np.ndarray

    @staticmethod
    def empty(dim: int, dtype: type = np.float32) -> Layer:
        none = np.empty(0, np.int64)
        return Layer(none, np.empty((0, dim), dtype), none, none, none, np.zeros(1, np.int64), np.empty((0, dim), dtype), none, none)

    def __len__(self) -> int:
        return len(self.ids)

    def rows_of(self, pids: np.ndarray) -> np.ndarray:
        """Row of each paper id in ``whole`` (-1: not in this layer)."""
        at = _find(self.keys, pids)
        return np.where(at >= 0, np.asarray(self.key_rows)[np.maximum(at, 0)] if len(self.keys) else -1, -1)

    def groups_of(self, pids: np.ndarray) -> np.ndarray:
        """Passage group of each paper id (-1: this layer says nothing of its passages)."""
        at = _find(self.p_keys, pids)
        return np.where(at >= 0, np.asarray(self.p_key_groups)[np.maximum(at, 0)] if len(self.p_keys) else -1, -1)


def _find(sorted_ids: np.ndarray, pids: np.ndarray) -> np.ndarray:
    """Position of each of ``pids`` in ``sorted_ids`` (-1: absent)."""
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
    return Layer(ids, matrix, ids, np.arange(len(ids)), p_ids, p_first, p_matrix, p_ids, np.arange(len(p_ids)))


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

    def layer(prefix: str) -> Layer:
        return Layer(*(np.load(path / f"{prefix}{a}.npy", mmap_mode="r") for a in ARRAYS))

    ivf = None
    if (path / "ivf.faiss").exists():
        import faiss

        ivf = faiss.read_index(str(path / "ivf.faiss"), faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)
    return Generation(layer(""), ivf, layer("d_"), path)


def write_delta(tmp: Path, delta: Layer) -> None:
    """Write a generation's delta files into ``tmp`` (float32: a delta is small)."""
    for a in ARRAYS:
        arr = getattr(delta, a)
        np.save(tmp / f"d_{a}.npy", np.asarray(arr, np.float32) if a in ("whole", "passages") else np.asarray(arr, np.int64))


def link_base(old: Path, tmp: Path) -> None:
    """Hard-link the base files of the generation at ``old`` into ``tmp`` (a delta generation
    shares them; a file lives while any generation, or any process's mapping, holds it)."""
    for name in BASE_FILES:
        if (old / name).exists():
            os.link(old / name, tmp / name)


@dataclass(frozen=True)
class Source:
    """Where a base reads its vectors: ``load(model, after_id, upto_id, limit)`` as
    ``VectorStore.load_range``, and ``size(model, upto_id)``: (rows, bytes) of what it will read."""

    load: Callable[[str, int, int, int], tuple[int, np.ndarray, np.ndarray, np.ndarray]]
    size: Callable[[str, int], tuple[int, int]]


def build_base(
    tmp: Path, source: Source, model: str, passages_model: str, dim: int, upto: int, p_upto: int,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Write a base into ``tmp`` from the database rows of ``model`` up to row ``upto`` (and of
    ``passages_model`` up to ``p_upto``), plus an empty delta. Returns counts for the manifest."""
    from numpy.lib.format import open_memmap

    report = progress or (lambda stage, done, total: None)
    rows, _ = source.size(model, upto)
    ids = open_memmap(tmp / "ids.npy", "w+", np.int64, (rows,))
    whole = open_memmap(tmp / "whole.npy", "w+", np.float16, (rows, dim))
    n, after = 0, 0
    while n < rows:
        after, pids, _, matrix = source.load(model, after, upto, BUILD_CHUNK)
        if not len(pids):
            break
        k = min(len(pids), rows - n)  # a whole-paper row holds one vector
        ids[n : n + k] = pids[:k]
        whole[n : n + k] = matrix[:k]
        n += k
        report("vectors", n, rows)
    ids.flush(), whole.flush()
    del ids, whole
    if n < rows:  # rows replaced while building (their new rows come in with the next delta)
        _truncate(tmp, "ids.npy", n), _truncate(tmp, "whole.npy", n)
    _write_keys(tmp, "ids.npy", "keys.npy", "key_rows.npy")

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
    _write_keys(tmp, "p_ids.npy", "p_keys.npy", "p_key_groups.npy")

    nlist = 0
    if n >= ANN_MIN:
        nlist = _build_ivf(tmp, dim, n, report)
    write_delta(tmp, Layer.empty(dim))
    return {"vectors": n, "passage_papers": g, "passages": at, "nlist": nlist}


def _write_keys(tmp: Path, ids_name: str, keys_name: str, rows_name: str) -> None:
    """The ids sorted, and where each is: the lookup arrays of a layer (a paper is once in ids)."""
    ids = np.load(tmp / ids_name, mmap_mode="r")
    order = np.argsort(ids, kind="stable")
    np.save(tmp / keys_name, np.asarray(ids)[order])
    np.save(tmp / rows_name, order.astype(np.int64))


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
