"""The vector index kept as files (``vector_index = files``): memory-mapped, shared by every process.

The twin of ``vectors.VectorIndex`` (same methods, same scores) that holds almost nothing of its
own: a server maps the current generation (``vector_files.py``: a float16 base with a faiss IVF
of 8-bit codes, and a small float32 delta) and keeps in memory only the *tail*, the vectors stored
since that generation (by ``broadsheet index``, the background embedder, other machines). Before
each search it checks the manifest (one ``stat``) and asks the database for rows newer than what
it holds (one indexed query), so a new vector is findable at once, in every process.

    tail (this process, float32)  ─┐ newest wins: a paper re-embedded is looked up in the
    delta (files, float32)         ─┤ tail, then the delta, then the base
    base (files, float16 + IVF)    ─┘

Who writes: any process may, one at a time (``IndexFiles.writer``, an flock). When a process's
tail reaches ``PUBLISH_MIN`` vectors (or has waited ``PUBLISH_AGE`` seconds) it publishes the
delta plus its tail as a new generation that hard-links the base; every process then re-opens
(the manifest's generation changed) and drops its tail. When the delta outgrows
``max(FOLD_MIN, FOLD_SHARE × base)`` the writer rebuilds the base from the database (streamed in
chunks, the IVF trained on a sample) in a background thread, and publishes it the same way.

Crash safety and identity: a generation is published by replacing the manifest last, so a killed
writer leaves the previous one, and the tail catches up from the database. A manifest that does
not match the database (another database id in ``sync_state``, another model or dimension, a
watermark row that holds another paper or lies beyond the database's newest row: a restored
backup) is rebuilt; meanwhile ``has_vectors()`` is False and search goes by words, as during any
warm-up. A small index (``SYNC_BUILD_MAX`` vectors) is built at once instead.

Searching: unfiltered, the IVF's nearest ``2 · limit`` base rows (``nprobe`` of its lists) plus the
exact nearest of the delta and tail are re-scored exactly from their stored vectors with the
passages (``VectorIndex._blend``'s formula). Filtered, up to ``EXACT_MAX`` allowed papers are
scored exactly; more go through the IVF with the filter as a faiss selector (exact if it comes
back short).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..storage.vectors import VectorStore
from .embedders import passages_key
from .index_files import IndexFiles, Manifest
from .vector_files import (
    Generation, Layer, Progress, Source, build_base, layer_from, layer_items, link_base, open_generation, write_delta,
)
from .vectors import PASSAGE_WEIGHT

log = logging.getLogger("broadsheet.search")

NAME = "vectors"  # the index's name in the index folder (vectors.json, vectors-000007/)
FORMAT = 1  # of the files; a manifest of another format is rebuilt
PUBLISH_MIN = 1_000  # tail vectors from which the writer publishes them as a delta generation
PUBLISH_AGE = 30.0  # seconds a tail waits at most before it is published
FOLD_MIN = 20_000  # delta vectors from which the base is rebuilt ...
FOLD_SHARE = 0.05  # ... or this share of the base, whichever is more
SYNC_BUILD_MAX = 20_000  # vectors of an index built at once (more: in the background, search by words meanwhile)
EXACT_MAX = 50_000  # allowed base papers scored exactly (more: the IVF with the filter)
# Share of the IVF lists scanned per query (read at search time, so a change applies to built files):
# 0.3 found 0.986 of the exact top-10 after re-scoring on the 100k stand-ins and 0.99 of the distinct
# top-10 on the 1M, in 15 ms; 0.15 found 0.975, 0.06 0.946 (bench/ivf_probes.py, docs/benchmarks.md).
NPROBE_SHARE = 0.3
LOAD_CHUNK = 10_000
SCORE_CHUNK = 65_536  # rows converted from float16 at a time by an exact scan


@dataclass(frozen=True)
class _State:
    """What a search reads: swapped whole by refreshes, never changed in place."""

    gen: Generation | None
    manifest: Manifest | None
    tail: Layer

    def layers(self) -> tuple[Layer, ...]:
        """Newest first."""
        return (self.tail,) if self.gen is None else (self.tail, self.gen.delta, self.gen.base)


class MappedVectorIndex:
    """Semantic scores of papers from the index files (see the module's docstring)."""

    def __init__(
        self, store: VectorStore, database_id: Callable[[], str], files: IndexFiles, model: str, dim: int,
        *, progress: Progress | None = None,
    ) -> None:
        self._store, self._database_id, self._files = store, database_id, files
        self.model, self.dim = model, dim
        self._passages_model = passages_key(model)
        self._progress = progress
        self._lock = threading.RLock()
        self._state = _State(None, None, Layer.empty(dim))
        self._manifest_key: tuple[int, int, int] | None = None
        self._db_id: str | None = None
        self._tail_whole: dict[int, np.ndarray] = {}
        self._tail_passages: dict[int, np.ndarray] = {}
        self._marks = (0, 0, 0, 0)  # (last row id, its paper, last passage row id, its paper) held
        self._tail_since = 0.0  # when the tail's oldest vector arrived (monotonic)
        self._work: threading.Thread | None = None
        self._closed = False
        self.problem = ""  # why the files cannot serve, while they are rebuilt ("" once they serve)
        self.problem_seen = ""  # the last such reason, kept (tests, benchmarks)
        self._unreadable = 0  # a published generation that failed to open (rebuilt)
        self._nprobe = 0  # IVF lists a query scans; 0: NPROBE_SHARE of them (bench/ivf_probes.py sets it)

    # ---- opening and following the files -------------------------------------------------

    def has_vectors(self) -> bool:
        """A generation matching the database is open (until then search goes by words)."""
        self.refresh()
        return self._state.gen is not None

    def refresh(self) -> int:
        """Follow the files (re-open on a new generation; build if missing or mismatched) and load
        vectors stored since; return how many arrived."""
        if self._closed:
            return 0
        with self._lock:
            self._follow_manifest()
            if self._state.gen is None:
                self._ensure_built()
                if self._state.gen is None:
                    return 0
            arrived = self._load_tail()
            self._maybe_maintain()
            return arrived

    def _follow_manifest(self) -> None:
        path = self._files.root / f"{NAME}.json"
        try:
            st = os.stat(path)
            key = (st.st_ino, st.st_mtime_ns, st.st_size)
        except OSError:
            key = None
        if key == self._manifest_key and (key is None or self._state.gen is not None or self.problem):
            return
        manifest = self._files.current(NAME)
        if manifest is None:
            self._manifest_key = key
            return
        if self._state.manifest is not None and manifest.generation == self._state.manifest.generation:
            self._manifest_key = key
            return
        problem = self._mismatch(manifest)
        if problem:
            if problem != self.problem:
                log.warning("vector index files at %s: %s; rebuilding them", manifest.path, problem)
            self.problem = self.problem_seen = problem
            self._manifest_key = key
            self._state = _State(None, None, Layer.empty(self.dim))
            return
        try:
            gen = open_generation(manifest.path)
        except (OSError, ValueError) as e:
            again = self._files.current(NAME)
            if again is None or again.generation != manifest.generation:  # replaced meanwhile: next time
                log.info("vector index files: could not open %s (%s); trying again", manifest.path, e)
                return
            self._unreadable = manifest.generation  # damaged (or another build's layout): rebuilt
            problem = self._mismatch(manifest)
            log.warning("vector index files at %s: %s; rebuilding them", manifest.path, problem)
            self.problem = self.problem_seen = problem
            self._manifest_key = key
            self._state = _State(None, None, Layer.empty(self.dim))
            return
        self._manifest_key, self.problem = key, ""
        meta = manifest.meta
        self._marks = (meta["last_id"], meta["last_paper"], meta["p_last_id"], meta["p_last_paper"])
        self._tail_whole, self._tail_passages = {}, {}
        self._state = _State(gen, manifest, Layer.empty(self.dim))
        self._load_tail()

    def _mismatch(self, manifest: Manifest) -> str:
        """Why these files cannot serve this database ("" when they can)."""
        meta = manifest.meta
        if manifest.generation == self._unreadable:
            return f"generation {manifest.generation} cannot be opened (a file missing or damaged)"
        if self._db_id is None:
            self._db_id = self._database_id()
        if meta.get("format") != FORMAT:
            return f"format {meta.get('format')!r}, not {FORMAT}"
        if meta.get("database_id") != self._db_id:
            return "built from another database (its id in sync_state differs)"
        if meta.get("model") != self.model or meta.get("dim") != self.dim:
            return f"built for model {meta.get('model')!r} ({meta.get('dim')} dimensions), not {self.model!r} ({self.dim})"
        for model, last, paper in (
            (self.model, meta.get("last_id", 0), meta.get("last_paper", 0)),
            (self._passages_model, meta.get("p_last_id", 0), meta.get("p_last_paper", 0)),
        ):
            if last and self._store.watermark(model)[0] < last:
                return f"the files hold rows of {model!r} up to {last}, newer than the database's: a restored backup?"
            at = self._store.paper_at(model, last) if last else None
            if at is not None and at != paper:
                return f"row {last} of {model!r} holds paper {at}, the files say {paper}: another database"
        return ""

    def _ensure_built(self) -> None:
        """Build the files when missing or mismatched: at once when small, else in the background
        (unless another process builds them: its manifest will be followed)."""
        if self._work is not None and self._work.is_alive():
            return
        upto, _ = self._store.watermark(self.model)
        if upto == 0:
            return  # no vector yet: nothing to build
        rows, _ = self._store.size_upto(self.model, upto)
        if rows <= SYNC_BUILD_MAX:
            self._rebuild(wait=True)
            self._manifest_key = None
            self._follow_manifest()
        else:
            self._start(lambda: self._rebuild(wait=False), "broadsheet-vector-files")

    def _load_tail(self) -> int:
        """Load rows newer than the marks into the tail; publish a new state if any arrived."""
        last, last_paper, p_last, p_last_paper = self._marks
        arrived, changed = 0, False
        while True:
            last_seen, pids, vecs = self._store.load_since(self.model, last, self.dim, limit=LOAD_CHUNK)
            if not len(pids):
                break
            for pid, vec in zip(pids.tolist(), vecs, strict=True):
                self._tail_whole[pid] = vec.copy()
            last, last_paper, arrived = last_seen, int(pids[-1]), arrived + len(pids)
        while True:
            last_seen, pids, counts, vecs = self._store.load_groups_since(self._passages_model, p_last, self.dim, limit=LOAD_CHUNK)
            if not len(pids):
                break
            ends = np.cumsum(counts)
            for pid, end, k in zip(pids.tolist(), ends.tolist(), counts.tolist(), strict=True):
                self._tail_passages[pid] = vecs[end - k : end].copy()
            p_last, p_last_paper, changed = last_seen, int(pids[-1]), True
        if arrived or changed:
            if not self._state.tail.ids.size and not self._state.tail.p_ids.size:
                self._tail_since = time.monotonic()
            self._marks = (last, last_paper, p_last, p_last_paper)
            tail = layer_from(self._tail_whole, self._tail_passages, self.dim)
            self._state = _State(self._state.gen, self._state.manifest, tail)
        return arrived

    # ---- writing (one process at a time) -------------------------------------------------

    def _maybe_maintain(self) -> None:
        tail = len(self._tail_whole) + len(self._tail_passages)
        if not tail or (self._work is not None and self._work.is_alive()):
            return
        if tail >= PUBLISH_MIN or time.monotonic() - self._tail_since >= PUBLISH_AGE:
            self._start(self._publish_tail, "broadsheet-vector-delta")

    def _start(self, work: Callable[[], None], name: str) -> None:
        def run() -> None:
            try:
                work()
            except Exception:  # noqa: BLE001 - search serves on from what is open; the next refresh tries again
                if not self._closed:
                    log.exception("vector index files: %s failed", name)

        self._work = threading.Thread(target=run, name=name, daemon=True)
        self._work.start()

    def _meta(self, marks: tuple[int, int, int, int], counts: dict[str, int]) -> dict:
        return {
            "format": FORMAT, "database_id": self._db_id or self._database_id(), "model": self.model, "dim": self.dim,
            "last_id": marks[0], "last_paper": marks[1], "p_last_id": marks[2], "p_last_paper": marks[3], **counts,
        }

    def _rebuild(self, *, wait: bool) -> None:
        """Build a new base from the database and publish it (under the writer lock)."""
        with self._files.writer(NAME, wait=wait) as mine:
            if not mine:
                return  # another process writes: its manifest will be followed
            current = self._files.current(NAME)
            if current is not None and not self._mismatch(current) and (self._state.gen is None or (
                self._state.manifest is not None and current.generation != self._state.manifest.generation
            )):
                return  # someone else made a good one meanwhile
            last, last_paper = self._store.watermark(self.model)
            p_last, p_last_paper = self._store.watermark(self._passages_model)
            source = Source(
                lambda model, after, upto, limit: self._store.load_range(model, after, upto, self.dim, limit),
                self._store.size_upto,
            )
            started = time.monotonic()
            with self._files.new_generation(NAME) as tmp:
                counts = build_base(
                    tmp, source, self.model, self._passages_model, self.dim, last, p_last, self._report
                )
                counts["delta"] = 0
                published = self._files.publish(NAME, tmp, self._meta((last, last_paper, p_last, p_last_paper), counts))
            self._files.remove_old(NAME)
            log.info(
                "vector index files: generation %d built from %d vectors in %.1f s",
                published.generation, counts["vectors"], time.monotonic() - started,
            )

    def _report(self, stage: str, done: int, total: int) -> None:
        if self._closed:
            raise RuntimeError("closed while building the vector index files")
        if self._progress is not None:
            self._progress(stage, done, total)

    def update(self) -> dict:
        """Bring the files up to date now, in this thread (``broadsheet index``): build them when
        missing or mismatched (whatever their size), else publish what is newer. Returns ``status()``."""
        with self._lock:
            self._follow_manifest()
            if self._state.gen is None:
                if self._store.watermark(self.model)[0]:
                    self._rebuild(wait=True)
                    self._manifest_key = None
                    self._follow_manifest()
            else:
                self._load_tail()
        if self._state.gen is not None and (len(self._tail_whole) or len(self._tail_passages)):
            self._publish_tail(wait=True)
            self.refresh()
        return self.status()

    def _publish_tail(self, *, wait: bool = False) -> None:
        """Publish the delta plus this process's tail as a new generation (or rebuild the base
        when the delta has outgrown it)."""
        with self._lock:
            state, marks = self._state, self._marks
            tail_whole, tail_passages = dict(self._tail_whole), dict(self._tail_passages)
        if state.gen is None or state.manifest is None:
            return
        if len(state.gen.delta) + len(tail_whole) > max(FOLD_MIN, FOLD_SHARE * len(state.gen.base)):
            self._rebuild(wait=wait)
            return
        with self._files.writer(NAME, wait=wait) as mine:
            if not mine:
                return
            current = self._files.current(NAME)
            if current is None or current.generation != state.manifest.generation:
                return  # another process published first: follow it
            whole, passages = layer_items(state.gen.delta)
            whole.update(tail_whole)
            passages.update(tail_passages)
            delta = layer_from(whole, passages, self.dim)
            with self._files.new_generation(NAME) as tmp:
                link_base(state.gen.path, tmp)
                write_delta(tmp, delta)
                counts = {k: v for k, v in current.meta.items() if k in ("vectors", "passage_papers", "passages", "nlist")}
                counts["delta"] = len(delta)
                self._files.publish(NAME, tmp, self._meta(marks, counts))
            self._files.remove_old(NAME)

    def wait_for_ann(self, timeout: float | None = None) -> bool:
        """Block until no build or publish runs, then follow the files (benchmarks, tests, and
        ``Hub.warm_up(wait=True)``); True if an IVF index serves."""
        work = self._work
        if work is not None:
            work.join(timeout)
        self.refresh()
        gen = self._state.gen
        return gen is not None and gen.ivf is not None

    def close(self) -> None:
        """Stop a build in progress (at its next chunk) before the database closes."""
        self._closed = True
        work = self._work
        if work is not None:
            work.join(10)

    def status(self) -> dict:
        """Where the files stand (for ``broadsheet info`` and benchmarks)."""
        st = self._state
        return {
            "generation": None if st.manifest is None else st.manifest.generation,
            "base": 0 if st.gen is None else len(st.gen.base),
            "delta": 0 if st.gen is None else len(st.gen.delta),
            "tail": len(st.tail),
            "ivf": st.gen is not None and st.gen.ivf is not None,
            "building": self._work is not None and self._work.is_alive(),
            "problem": self.problem,
        }

    def __len__(self) -> int:
        st = self._state
        layers = st.layers()
        base = layers[-1]
        newer = np.unique(np.concatenate([layer.ids for layer in layers[:-1]])) if len(layers) > 1 else np.empty(0, np.int64)
        return len(base) + int((base.rows_of(newer) < 0).sum()) if len(layers) > 1 else len(base)

    # ---- searching -----------------------------------------------------------------------

    def search(
        self, vector: np.ndarray, limit: int, allowed: set[int] | None = None, exclude: int | None = None
    ) -> list[tuple[int, float]]:
        """``(paper_id, semantic score)`` of the nearest papers, best first; only ``allowed`` ids if given."""
        self.refresh()
        st = self._state
        if st.gen is None or limit <= 0:
            return self._exact(st, vector, limit, allowed, exclude) if limit > 0 else []
        v = np.asarray(vector, np.float32)
        wanted = None if allowed is None else np.unique(np.fromiter(allowed, np.int64, len(allowed)))
        ivf, base = st.gen.ivf, st.gen.base
        if ivf is None:
            return self._exact(st, v, limit, wanted, exclude)
        import faiss

        params = faiss.SearchParametersIVF()
        nlist = int(st.manifest.meta.get("nlist") or 1) if st.manifest else 1
        params.nprobe = self._nprobe or max(1, round(NPROBE_SHARE * nlist))
        bits = None
        if wanted is not None:
            rows = base.rows_of(wanted)
            rows = rows[rows >= 0]
            if len(rows) <= EXACT_MAX:
                return self._exact(st, v, limit, wanted, exclude)
            mask = np.zeros(len(base), bool)
            mask[rows] = True
            bits = np.packbits(mask, bitorder="little")
            params.sel = faiss.IDSelectorBitmap(len(base), faiss.swig_ptr(bits))
        k = 2 * limit + (exclude is not None)
        _, found = ivf.search(v.reshape(1, -1), k, params=params)
        rows = found[0][found[0] >= 0]
        newer = self._exact(st, v, k, wanted, None, newer_only=True)
        pids = np.unique(np.concatenate([np.asarray(base.ids[np.sort(rows)], np.int64), np.array([p for p, _ in newer], np.int64)]))
        if exclude is not None:
            pids = pids[pids != exclude]
        scores = self._scores(st, v, pids)
        ranked = _top(pids, scores, limit)
        if wanted is not None and len(ranked) < limit:
            return self._exact(st, v, limit, wanted, exclude)  # the filter left the probed lists short
        return ranked

    def exact_search(
        self, vector: np.ndarray, limit: int, allowed: set[int] | None = None, exclude: int | None = None
    ) -> list[tuple[int, float]]:
        """Like ``search``, always scoring every vector (the IVF's recall is measured against it)."""
        wanted = None if allowed is None else np.unique(np.fromiter(allowed, np.int64, len(allowed)))
        return self._exact(self._state, np.asarray(vector, np.float32), limit, wanted, exclude)

    def _exact(
        self, st: _State, v: np.ndarray, limit: int, wanted: np.ndarray | None, exclude: int | None,
        *, newer_only: bool = False,
    ) -> list[tuple[int, float]]:
        layers = st.layers()[:-1] if newer_only and st.gen is not None else st.layers()
        if limit <= 0:
            return []
        if wanted is None:
            pids = np.unique(np.concatenate([np.asarray(layer.ids) for layer in layers]))
        else:
            found = np.zeros(len(wanted), bool)
            for layer in layers:
                found |= layer.rows_of(wanted) >= 0
            pids = wanted[found]
        if exclude is not None:
            pids = pids[pids != exclude]
        if not len(pids):
            return []
        v = np.asarray(v, np.float32)
        scores = np.concatenate([self._scores(st, v, pids[i : i + SCORE_CHUNK], layers) for i in range(0, len(pids), SCORE_CHUNK)])
        return _top(pids, scores, limit)

    def _scores(self, st: _State, v: np.ndarray, pids: np.ndarray, layers: tuple[Layer, ...] | None = None) -> np.ndarray:
        """The blended semantic score of each paper id (NaN: no vector), newest layer first."""
        layers = layers or st.layers()
        n = len(pids)
        whole = np.full(n, np.nan, np.float32)
        done = np.zeros(n, bool)
        for layer in layers:
            rows = layer.rows_of(pids)
            hit = (rows >= 0) & ~done
            if hit.any():
                whole[hit] = np.asarray(layer.whole[rows[hit]], np.float32) @ v
                done |= hit
        best = whole.copy()
        done = np.zeros(n, bool)
        for layer in layers:
            groups = layer.groups_of(pids)
            hit = np.flatnonzero((groups >= 0) & ~done)
            if not len(hit):
                continue
            done[hit] = True
            starts = np.asarray(layer.p_first[groups[hit]])
            lengths = np.asarray(layer.p_first[groups[hit] + 1]) - starts
            if lengths.sum():
                rows = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(lengths.sum())
                at = np.repeat(hit, lengths)
                np.fmax.at(best, at, np.asarray(layer.passages[rows], np.float32) @ v)
        return (1 - PASSAGE_WEIGHT) * whole + PASSAGE_WEIGHT * np.fmax(whole, best)

    def scores_for(self, vector: np.ndarray, paper_ids: Sequence[int]) -> dict[int, float]:
        """Semantic scores of the given papers (papers without a vector are left out)."""
        if not paper_ids:
            return {}
        pids = np.asarray(list(dict.fromkeys(paper_ids)), np.int64)
        scores = self._scores(self._state, np.asarray(vector, np.float32), pids)
        return {int(p): float(s) for p, s in zip(pids.tolist(), scores.tolist(), strict=True) if s == s}

    def vector_of(self, paper_id: int) -> np.ndarray | None:
        self.refresh()
        pid = np.array([paper_id], np.int64)
        for layer in self._state.layers():
            row = layer.rows_of(pid)[0]
            if row >= 0:
                return np.asarray(layer.whole[row], np.float32).copy()
        return None


def _top(pids: np.ndarray, scores: np.ndarray, limit: int) -> list[tuple[int, float]]:
    """The best ``limit`` (paper id, score), best first, ties by paper id; NaN scores left out."""
    ok = ~np.isnan(scores)
    pids, scores = pids[ok], scores[ok]
    if not len(pids):
        return []
    k = min(limit, len(pids))
    top = np.argpartition(-scores, k - 1)[:k]
    top = top[np.lexsort((pids[top], -scores[top]))]
    return [(int(pids[i]), float(scores[i])) for i in top]
