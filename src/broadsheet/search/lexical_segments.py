"""The BM25 index's files: segments of numpy arrays, memory-mapped by every process that searches.

A generation (``index_files.IndexFiles``) is a folder of segments plus one list of masked entries::

    lexical-000007/
      s000001.terms.npy     uint8: the segment's terms (utf-8), sorted and concatenated
      s000001.offsets.npy   int64: where each term starts in ``terms`` (terms + 1)
      s000001.starts.npy    int64: where each term's postings start (terms + 1)
      s000001.slots.npy     int32: the postings' documents (the segment's own numbering)
      s000001.impacts.npy   float32: the postings' BM25 contributions (FTS5's formula)
      s000001.ids.npy       int64: the segment's documents' paper ids, ascending
      s000001.hashes.npy    uint64: a hash of each document's content hash (what changed)
      s000001.df.npy        int64: documents per term (the base segment only: the statistics)
      s000004.*.npy         a small segment: papers that arrived or changed since the base was built
      dead.npy              int64: global slots of entries a later segment replaced, ascending

The first segment is the *base* (a full build, whose N, avgdl and df every later segment's
impacts use, as the in-memory delta does); later ones are small segments written while catching
up. A segment never changes once written: a new generation hard-links the files of the segments it
keeps, so publishing one costs the new segment and ``dead.npy``. Global slots number the documents
of the segments in manifest order.

The vocabulary is never a Python dict in a searching process: a query word's term is found by
binary search over the memory-mapped sorted terms (a few dozen page reads). A full build holds a
dict of its terms (a few hundred MB at 1M papers: see docs/benchmarks.md) and writes its postings
in bounded passes: chunks of papers are tokenized into temporary files, then the postings are
grouped by term a range of terms at a time, so memory does not grow with the corpus.
"""

from __future__ import annotations

import bisect
import hashlib
import os
import shutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from ..storage.fulltext import IndexedText
from ..text import index_term
from .lexical import Vocabulary, bm25_impacts, encode, idf_of

BUILD_CHUNK = 10_000  # papers tokenized per temporary chunk of a full build (~80 MB)
PASS_POSTINGS = 4_000_000  # postings grouped per pass when a full build writes them (~100 MB)
_POSTING = np.dtype([("r", "<i4"), ("s", "<i4"), ("i", "<f4")])  # a build's temporary buckets
FIELDS = ("terms", "offsets", "starts", "slots", "impacts", "ids", "hashes")


def content_key(content_hash: str) -> int:
    """64 bits of a paper's content hash: the writer compares them to skip unchanged papers."""
    return int.from_bytes(hashlib.blake2b(content_hash.encode(), digest_size=8).digest(), "little")


def _load(path: Path) -> np.ndarray:
    """A read-only memory map of an .npy file (an empty array cannot be mapped: read it)."""
    try:
        return np.load(path, mmap_mode="r")
    except ValueError:
        return np.load(path)


class Terms:
    """A segment's sorted vocabulary, looked up by binary search over the memory map."""

    def __init__(self, blob: np.ndarray, offsets: np.ndarray) -> None:
        self._blob, self._offsets = blob, offsets

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def __getitem__(self, i: int) -> bytes:
        return self._blob[int(self._offsets[i]) : int(self._offsets[i + 1])].tobytes()

    def find(self, term: bytes) -> int | None:
        i = bisect.bisect_left(self, term)
        return i if i < len(self) and self[i] == term else None

    def all(self) -> list[str]:
        """Every term, decoded (small segments only: merges)."""
        blob, offsets = bytes(self._blob), self._offsets.tolist()
        return [blob[a:b].decode() for a, b in zip(offsets, offsets[1:])]


@dataclass(frozen=True)
class Segment:
    name: str
    terms: Terms
    starts: np.ndarray
    slots: np.ndarray
    impacts: np.ndarray
    ids: np.ndarray
    hashes: np.ndarray
    df: np.ndarray | None

    @classmethod
    def open(cls, folder: Path, name: str) -> Segment:
        a = {f: _load(folder / f"{name}.{f}.npy") for f in FIELDS}
        df = folder / f"{name}.df.npy"
        return cls(name, Terms(a["terms"], a["offsets"]), a["starts"], a["slots"], a["impacts"], a["ids"], a["hashes"], _load(df) if df.exists() else None)

    def __len__(self) -> int:
        return len(self.ids)

    def postings(self, tid: int) -> tuple[np.ndarray, np.ndarray]:
        a, b = int(self.starts[tid]), int(self.starts[tid + 1])
        return self.slots[a:b], self.impacts[a:b]

    def files(self, folder: Path) -> list[Path]:
        return [p for p in (folder / f"{self.name}.{f}.npy" for f in (*FIELDS, "df")) if p.exists()]


# -- writing -----------------------------------------------------------------------------------


def _save(folder: Path, name: str, field: str, arr: np.ndarray) -> None:
    np.save(folder / f"{name}.{field}.npy", np.ascontiguousarray(arr))


def _save_terms(folder: Path, name: str, terms: Sequence[str]) -> None:
    encoded = [t.encode() for t in terms]
    offsets = np.zeros(len(encoded) + 1, np.int64)
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    _save(folder, name, "terms", np.frombuffer(b"".join(encoded), np.uint8))
    _save(folder, name, "offsets", offsets)


def _sorted_ranks(terms: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """The terms sorted (by code point = utf-8 byte order) and each term id's rank among them."""
    order = sorted(range(len(terms)), key=terms.__getitem__)
    rank = np.empty(len(terms), np.int32)
    rank[order] = np.arange(len(terms), dtype=np.int32)
    return [terms[i] for i in order], rank


def _write_grouped(folder: Path, name: str, ranks: np.ndarray, slots: np.ndarray, impacts: np.ndarray, n_terms: int) -> None:
    """Postings (term rank, slot, impact) of a small segment, grouped by term."""
    order = np.lexsort((slots, ranks))
    starts = np.zeros(n_terms + 1, np.int64)
    np.cumsum(np.bincount(ranks, minlength=n_terms), out=starts[1:])
    _save(folder, name, "starts", starts)
    _save(folder, name, "slots", slots[order].astype(np.int32))
    _save(folder, name, "impacts", impacts[order].astype(np.float32))


@dataclass(frozen=True)
class BaseStats:
    """The statistics every later segment's impacts use: those of the base's build."""

    n: int
    avgdl: float


def write_small(
    folder: Path, name: str, docs: Sequence[IndexedText], weights: Sequence[float], base: Segment | None, stats: BaseStats
) -> int:
    """A segment of a few papers (sorted by id here) with the base's statistics; returns its size."""
    docs = sorted(docs, key=lambda d: d.paper_id)
    vocab = Vocabulary()
    t, s, tf, dl = encode(vocab, docs, 0, weights)
    sorted_terms, rank = _sorted_ranks(list(vocab.ids))
    df = np.zeros(len(sorted_terms), np.int64)
    if base is not None and base.df is not None:
        for i, term in enumerate(sorted_terms):
            if (j := base.terms.find(term.encode())) is not None:
                df[i] = base.df[j]
    r = rank[t]
    impacts = bm25_impacts(idf_of(df, stats.n)[r], tf, dl[s], stats.avgdl)
    _save_terms(folder, name, sorted_terms)
    _write_grouped(folder, name, r, s, impacts, len(sorted_terms))
    _save(folder, name, "ids", np.array([d.paper_id for d in docs], np.int64))
    _save(folder, name, "hashes", np.array([content_key(d.content_hash) for d in docs], np.uint64))
    return len(docs)


def merge(folder: Path, name: str, segments: Sequence[Segment], dead: Sequence[np.ndarray]) -> int:
    """One segment from several small ones, without their masked entries (``dead``: each one's
    masked local slots); impacts are kept (they use the base's statistics either way)."""
    per_terms = [s.terms.all() for s in segments]
    union = sorted(set().union(*per_terms))
    where = {t: i for i, t in enumerate(union)}
    ranks, slots, impacts, ids, hashes = [], [], [], [], []
    first = 0
    for seg, terms, gone in zip(segments, per_terms, dead, strict=True):
        alive = np.ones(len(seg), bool)
        alive[gone] = False
        renumber = np.cumsum(alive) - 1 + first
        term_rank = np.array([where[t] for t in terms], np.int32)
        r = np.repeat(term_rank, np.diff(np.asarray(seg.starts)))
        s = np.asarray(seg.slots)
        keep = alive[s]
        ranks.append(r[keep])
        slots.append(renumber[s[keep]])
        impacts.append(np.asarray(seg.impacts)[keep])
        ids.append(np.asarray(seg.ids)[alive])
        hashes.append(np.asarray(seg.hashes)[alive])
        first += int(alive.sum())
    all_ids = np.concatenate(ids) if ids else np.empty(0, np.int64)
    by_id = np.argsort(all_ids, kind="stable")  # a segment's ids ascend: lookups bisect them
    new_slot = np.empty(len(all_ids), np.int64)
    new_slot[by_id] = np.arange(len(all_ids))
    r = np.concatenate(ranks) if ranks else np.empty(0, np.int32)
    s = new_slot[np.concatenate(slots)] if slots else np.empty(0, np.int64)
    _save_terms(folder, name, union)
    _write_grouped(folder, name, r, s, np.concatenate(impacts) if impacts else np.empty(0, np.float32), len(union))
    _save(folder, name, "ids", all_ids[by_id])
    _save(folder, name, "hashes", (np.concatenate(hashes) if hashes else np.empty(0, np.uint64))[by_id])
    return len(all_ids)


class _NpyWriter:
    """Appends to a 1-D .npy file whose length is known in advance (numpy's own header)."""

    def __init__(self, path: Path, dtype: Any, length: int) -> None:
        self._f = open(path, "wb")  # noqa: SIM115 - closed in close()
        self._dtype = np.dtype(dtype)
        self._left = length
        header = {"descr": np.lib.format.dtype_to_descr(self._dtype), "fortran_order": False, "shape": (length,)}
        np.lib.format.write_array_header_1_0(self._f, header)

    def write(self, arr: np.ndarray) -> None:
        self._f.write(np.ascontiguousarray(arr, self._dtype).tobytes())
        self._left -= len(arr)

    def close(self) -> None:
        self._f.close()
        if self._left != 0:
            raise RuntimeError(f"{self._f.name}: {self._left} entries short")


def write_base(
    folder: Path,
    name: str,
    docs: Iterable[IndexedText],
    weights: Sequence[float],
    on_progress: Callable[[int], None] | None = None,
) -> tuple[int, BaseStats, datetime | None]:
    """A full build in bounded memory; returns (papers, statistics, latest change among them).

    Pass 1 tokenizes ``BUILD_CHUNK`` papers at a time into temporary files (term id, slot,
    weighted tf) and counts df; then the vocabulary is sorted, and each chunk's postings get their
    impacts and go to the bucket of their range of terms (``PASS_POSTINGS`` postings a bucket);
    pass 2 sorts one bucket at a time by term and appends it to the segment's files.
    """
    work = folder / f"{name}.work"
    work.mkdir()
    try:
        return _write_base(folder, work, name, docs, weights, on_progress)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _write_base(
    folder: Path, work: Path, name: str, docs: Iterable[IndexedText], weights: Sequence[float], on_progress: Callable[[int], None] | None
) -> tuple[int, BaseStats, datetime | None]:
    vocab = Vocabulary()
    df = np.zeros(0, np.int64)
    ids: list[np.ndarray] = []
    hashes: list[np.ndarray] = []
    lengths: list[np.ndarray] = []
    chunks = n = 0
    watermark: datetime | None = None
    batch: list[IndexedText] = []
    dl_sum = 0.0

    def flush() -> None:
        nonlocal df, chunks, dl_sum, n
        first = n
        t, s, tf, dl = encode(vocab, batch, first, weights)
        np.save(work / f"{chunks}.t.npy", t)
        np.save(work / f"{chunks}.s.npy", s)
        np.save(work / f"{chunks}.tf.npy", tf)
        counts = np.bincount(t, minlength=len(vocab))
        df = np.concatenate([df, np.zeros(len(counts) - len(df), np.int64)]) + counts
        lengths.append(dl)
        dl_sum += float(dl.sum(dtype=np.float64))
        ids.append(np.array([d.paper_id for d in batch], np.int64))
        hashes.append(np.array([content_key(d.content_hash) for d in batch], np.uint64))
        n += len(batch)
        chunks += 1
        batch.clear()
        if on_progress is not None:
            on_progress(n)

    for d in docs:
        batch.append(d)
        watermark = d.last_changed if watermark is None else max(watermark, d.last_changed)
        if len(batch) == BUILD_CHUNK:
            flush()
    if batch:
        flush()
    stats = BaseStats(n, dl_sum / n if n else 1.0)
    sorted_terms, rank = _sorted_ranks(list(vocab.ids))
    del vocab
    _save_terms(folder, name, sorted_terms)
    n_terms = len(sorted_terms)
    del sorted_terms
    df_sorted = np.zeros(n_terms, np.int64)
    df_sorted[rank] = df[: len(rank)] if len(df) >= len(rank) else np.concatenate([df, np.zeros(len(rank) - len(df), np.int64)])
    del df
    _save(folder, name, "df", df_sorted)
    starts = np.zeros(n_terms + 1, np.int64)
    np.cumsum(df_sorted, out=starts[1:])
    _save(folder, name, "starts", starts)
    idf = idf_of(df_sorted, n)
    dl_all = np.concatenate(lengths) if lengths else np.empty(0, np.float32)
    del lengths
    # Ranges of terms holding about PASS_POSTINGS postings each (at least one term each).
    bounds = [0]
    while bounds[-1] < n_terms:
        lo = bounds[-1]
        hi = int(np.searchsorted(starts, starts[lo] + PASS_POSTINGS, side="right")) - 1
        bounds.append(min(n_terms, max(lo + 1, hi)))
    # Each chunk: impacts with the global statistics, sorted by term, appended to the bucket of
    # its range (buckets get the chunks in slot order, so slots ascend within a term).
    buckets = [open(work / f"bucket{k}", "wb") for k in range(len(bounds) - 1)]  # noqa: SIM115
    try:
        for c in range(chunks):
            t = np.load(work / f"{c}.t.npy")
            s = np.load(work / f"{c}.s.npy")
            tf = np.load(work / f"{c}.tf.npy")
            r = rank[t]
            posting = np.empty(len(r), _POSTING)
            posting["r"], posting["s"] = r, s
            posting["i"] = bm25_impacts(idf[r], tf, dl_all[s], stats.avgdl)
            del t, s, tf, r
            posting = posting[np.argsort(posting["r"], kind="stable")]
            cuts = np.searchsorted(posting["r"], bounds)
            for k, f in enumerate(buckets):
                f.write(posting[cuts[k] : cuts[k + 1]].tobytes())
            for part in ("t", "s", "tf"):
                os.unlink(work / f"{c}.{part}.npy")
    finally:
        for f in buckets:
            f.close()
    del rank, idf, dl_all
    total = int(starts[-1])
    slots_out = _NpyWriter(folder / f"{name}.slots.npy", np.int32, total)
    impacts_out = _NpyWriter(folder / f"{name}.impacts.npy", np.float32, total)
    for k in range(len(bounds) - 1):
        posting = np.fromfile(work / f"bucket{k}", _POSTING)
        os.unlink(work / f"bucket{k}")
        posting = posting[np.argsort(posting["r"], kind="stable")]
        slots_out.write(posting["s"])
        impacts_out.write(posting["i"])
        del posting
    slots_out.close()
    impacts_out.close()
    _save(folder, name, "ids", np.concatenate(ids) if ids else np.empty(0, np.int64))
    _save(folder, name, "hashes", np.concatenate(hashes) if hashes else np.empty(0, np.uint64))
    return n, stats, watermark


def link_segment(src: Path, dst: Path, name: str) -> None:
    """Put a kept segment's files into a new generation: hard links (copies where the file system
    has none)."""
    for p in src.glob(f"{name}.*.npy"):
        try:
            os.link(p, dst / p.name)
        except OSError:
            shutil.copy2(p, dst / p.name)


# -- reading -----------------------------------------------------------------------------------


class Generation:
    """One published generation, memory-mapped: what searches read (never changed once open)."""

    def __init__(self, path: Path, generation: int, meta: dict[str, Any]) -> None:
        self.path = path
        self.generation = generation
        self.meta = meta
        self.segments = [Segment.open(path, s["name"]) for s in meta["segments"]]
        sizes = [len(s) for s in self.segments]
        self.offsets = np.zeros(len(sizes) + 1, np.int64)
        np.cumsum(sizes, out=self.offsets[1:])
        self.dead = np.asarray(_load(path / "dead.npy"))
        self.papers = int(meta["papers"])
        self.watermark = datetime.fromisoformat(meta["watermark"]) if meta.get("watermark") else None
        self.stats = BaseStats(int(meta["n"]), float(meta["avgdl"]))

    @property
    def slots(self) -> int:
        return int(self.offsets[-1])

    @property
    def base(self) -> Segment | None:
        return self.segments[0] if self.segments else None

    @property
    def delta_docs(self) -> int:
        return self.slots - (len(self.segments[0]) if self.segments else 0)

    def _postings(self, words: Iterable[str]) -> tuple[np.ndarray, np.ndarray]:
        terms = list(dict.fromkeys(index_term(w.lower()).encode() for w in words))
        slots, impacts = [], []
        for seg, off in zip(self.segments, self.offsets.tolist(), strict=False):
            for term in terms:
                if (tid := seg.terms.find(term)) is not None:
                    s, i = seg.postings(tid)
                    slots.append(s + off if off else s)
                    impacts.append(i)
        if not slots:
            return np.empty(0, np.int64), np.empty(0, np.float32)
        return np.concatenate(slots), np.concatenate(impacts)

    def ids_of(self, slots: np.ndarray) -> np.ndarray:
        """Paper ids of global slots."""
        if len(self.segments) == 1 or (len(slots) and int(slots.max()) < self.offsets[1]):
            return np.asarray(self.segments[0].ids[slots]) if self.segments else np.empty(0, np.int64)
        out = np.empty(len(slots), np.int64)
        seg_of = np.searchsorted(self.offsets, slots, side="right") - 1
        for k, seg in enumerate(self.segments):
            mask = seg_of == k
            if mask.any():
                out[mask] = seg.ids[slots[mask] - self.offsets[k]]
        return out

    def slots_of(self, paper_ids: np.ndarray) -> np.ndarray:
        """Global slots holding these papers (live or masked: the caller's scores mask the dead)."""
        found = []
        for k, seg in enumerate(self.segments):
            if not len(seg):
                continue
            pos = np.minimum(np.searchsorted(seg.ids, paper_ids), len(seg) - 1)
            hit = np.asarray(seg.ids[pos]) == paper_ids
            found.append(pos[hit] + self.offsets[k])
        return np.concatenate(found) if found else np.empty(0, np.int64)

    def search(self, words: Iterable[str], limit: int, allowed: set[int] | None) -> list[tuple[int, float]]:
        """As ``BM25Index.search``: the best first, ties by paper id; paper ids only for the top."""
        slots, impacts = self._postings(words)
        if not len(slots) or limit <= 0:
            return []
        scores = np.bincount(slots, weights=impacts)
        if len(self.dead):
            scores[self.dead[self.dead < len(scores)]] = 0.0
        hits = np.flatnonzero(scores > 0)
        if allowed is not None:
            keep = self.slots_of(np.fromiter(allowed, np.int64, len(allowed)))
            hits = hits[np.isin(hits, keep)]
        if len(hits) > limit:
            hits = hits[np.argpartition(-scores[hits], limit - 1)[:limit]]
        top, ids = scores[hits], self.ids_of(hits)
        order = np.lexsort((ids, -top))
        return list(zip(ids[order].tolist(), top[order].tolist(), strict=True))

    def matching_ids(self, words: Iterable[str]) -> np.ndarray:
        slots, _ = self._postings(words)
        slots = np.unique(slots)
        if len(self.dead):
            slots = slots[~np.isin(slots, self.dead)]
        return self.ids_of(slots)

    def current_entries(self, paper_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each paper id: the global slot of its live entry (-1: none) and its content key."""
        slot = np.full(len(paper_ids), -1, np.int64)
        key = np.zeros(len(paper_ids), np.uint64)
        for k, seg in enumerate(self.segments):
            if not len(seg):
                continue
            pos = np.searchsorted(seg.ids, paper_ids)
            pos_c = np.minimum(pos, len(seg) - 1)
            found = np.asarray(seg.ids[pos_c]) == paper_ids
            glob = pos_c + self.offsets[k]
            if len(self.dead):
                found &= ~np.isin(glob, self.dead)
            slot[found] = glob[found]
            key[found] = np.asarray(seg.hashes[pos_c])[found]
        return slot, key

    def local_dead(self) -> list[np.ndarray]:
        """Each segment's masked entries, in its own numbering."""
        out = []
        for k in range(len(self.segments)):
            a, b = self.offsets[k], self.offsets[k + 1]
            d = self.dead[(self.dead >= a) & (self.dead < b)]
            out.append(d - a)
        return out
