"""An in-memory BM25 index: FTS5's own ranking formula, evaluated with numpy in a few milliseconds.

Why: FTS5 computes ``bm25()`` for every document that matches any query word before it can sort,
which costs 25-40 ms for a typical OR query over 100k abstracts. Hybrid search needs the BM25
of a thousand candidates on top of that. Here the per-(term, document) BM25 contributions
("impacts") are computed once, stored term by term, and a query adds up a few slices of them
(``np.bincount``): 1-2 ms at 100k papers.

The formula is FTS5's (``fts5_aux.c``): a document's weighted term frequency
``tf = Σ_column weight · hits`` and its length in tokens over all columns ``dl`` give
``idf · tf · (k1 + 1) / (tf + k1 · (1 - b + b · dl / avgdl))`` with ``k1 = 1.2``, ``b = 0.75`` and
``idf = log((N - df + 0.5) / (df + 0.5))`` (1e-6 when not positive). The tokenizer is FTS5's
``porter unicode61 remove_diacritics 2`` redone in Python (letters and digits, lowercased,
accents removed, Porter stems: ``text.index_terms``, which PostgreSQL's tsvector is built from
too), so scores equal FTS5's (``tests/test_search_lexical.py``).

FTS5 stays the source of truth and the fallback: filters, phrases and exclusions are answered
by SQL, and until this index is built (in a background thread: ~20-40 s per 100k papers) search
uses FTS5 and ranks the same.

Incremental: ``refresh()`` asks storage for papers changed since it last looked (an index lookup
on ``papers.last_changed``) and adds them to a small *delta* segment; the old entry of a changed
paper is masked out. Delta impacts use the statistics (N, avgdl, df) of the last full build:
once the delta holds more than ``REBUILD_SHARE`` of the corpus, a full rebuild runs in the
background and replaces both.
"""

from __future__ import annotations

import threading
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from ..storage.fulltext import DEFAULT_WEIGHTS, FullTextIndex, IndexedText
from ..text import index_term, index_words

K1, B = 1.2, 0.75
REBUILD_SHARE = 0.2
SMALL = 10_000  # papers: below this a rebuild is quick enough to run in the searching thread
# A writer that took its timestamp before another's may commit after it: look back this far.
LOOKBACK = timedelta(seconds=30)


class _Vocabulary:
    """Term → id, with a cache from surface word to term id (most words repeat)."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self._word: dict[str, int] = {}
        self._lock = threading.Lock()  # a build and a refresh may add words at the same time

    def __len__(self) -> int:
        return len(self.ids)

    def _add(self, word: str) -> int:
        term = index_term(word)
        with self._lock:
            tid = self.ids.setdefault(term, len(self.ids))
        self._word[word] = tid
        return tid

    def encode(self, text: str) -> list[int]:
        words = index_words(text)
        cache = self._word
        try:
            return [cache[w] for w in words]
        except KeyError:
            return [cache[w] if w in cache else self._add(w) for w in words]

    def lookup(self, word: str) -> int | None:
        """The id of a query word's term, None if no document has it (does not grow the vocabulary)."""
        return self.ids.get(index_term(word.lower()))


@dataclass(frozen=True)
class _Postings:
    """Impacts grouped by term: term ``t``'s are ``slots[starts[t]:starts[t+1]]``."""

    starts: np.ndarray  # int64, len = terms + 1
    slots: np.ndarray  # int32
    impacts: np.ndarray  # float32

    def slice(self, tid: int) -> tuple[np.ndarray, np.ndarray]:
        if tid + 1 >= len(self.starts):
            return self.slots[:0], self.impacts[:0]
        a, b = self.starts[tid], self.starts[tid + 1]
        return self.slots[a:b], self.impacts[a:b]


@dataclass(frozen=True)
class _Stats:
    n: int
    avgdl: float
    df: np.ndarray  # per term id, at build time

    def idf(self, tids: np.ndarray) -> np.ndarray:
        df = np.zeros(len(tids))
        known = tids < len(self.df)  # terms new since the build: as rare as can be
        df[known] = self.df[tids[known]]
        idf = np.log((self.n - df + 0.5) / (df + 0.5))
        return np.where(idf > 0, idf, 1e-6)


class BM25Index:
    """BM25 over (title, abstract, authors) with column weights, held in memory."""

    def __init__(self, weights: Sequence[float] = DEFAULT_WEIGHTS) -> None:
        self.weights = tuple(float(w) for w in weights)
        self._vocab = _Vocabulary()
        self._lock = threading.Lock()  # guards the delta and slot tables against concurrent refreshes
        self._ids = np.empty(0, np.int64)  # slot → paper id
        self._alive = np.empty(0, bool)
        self._slot_of: dict[int, int] = {}
        self._hash_of: dict[int, str] = {}
        self._main = _Postings(np.zeros(1, np.int64), np.empty(0, np.int32), np.empty(0, np.float32))
        self._delta = self._main
        self._delta_docs = 0
        self._stats = _Stats(0, 1.0, np.empty(0, np.int64))
        self.watermark: datetime | None = None

    def __len__(self) -> int:
        return len(self._slot_of)

    @property
    def delta_share(self) -> float:
        return self._delta_docs / max(1, len(self._slot_of))

    # -- building ------------------------------------------------------------------------------

    def _encode(
        self, docs: Sequence[IndexedText], first_slot: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(term ids, slots, weighted tf) per distinct (slot, term), and each document's length."""
        terms, slots, wts = array("i"), array("i"), array("f")
        lengths = np.zeros(len(docs), np.float32)
        for j, d in enumerate(docs):
            n = 0
            for text, w in zip((d.title, d.abstract, d.authors), self.weights, strict=True):
                ids = self._vocab.encode(text)
                n += len(ids)
                terms.extend(ids)
                slots.extend([first_slot + j] * len(ids))
                wts.extend([w] * len(ids))
            lengths[j] = n
        t = np.frombuffer(terms, np.int32) if terms else np.empty(0, np.int32)
        s = np.frombuffer(slots, np.int32) if slots else np.empty(0, np.int32)
        w = np.frombuffer(wts, np.float32) if wts else np.empty(0, np.float32)
        key = s.astype(np.int64) * (len(self._vocab) + 1) + t
        uniq, inverse = np.unique(key, return_inverse=True)
        tf = np.bincount(inverse, weights=w).astype(np.float32)
        return (
            (uniq % (len(self._vocab) + 1)).astype(np.int32),
            (uniq // (len(self._vocab) + 1)).astype(np.int32),
            tf,
            lengths,
        )

    def _impacts(
        self, terms: np.ndarray, slots: np.ndarray, tf: np.ndarray, dl: np.ndarray, stats: _Stats
    ) -> np.ndarray:
        norm = K1 * (1 - B + B * dl[slots] / stats.avgdl)
        return (stats.idf(terms) * tf * (K1 + 1) / (tf + norm)).astype(np.float32)

    @staticmethod
    def _group(terms: np.ndarray, slots: np.ndarray, impacts: np.ndarray, n_terms: int) -> _Postings:
        order = np.argsort(terms, kind="stable")
        starts = np.zeros(n_terms + 1, np.int64)
        np.cumsum(np.bincount(terms, minlength=n_terms), out=starts[1:])
        return _Postings(starts, slots[order], impacts[order])

    def build(self, docs: Iterable[IndexedText], chunk: int = 20_000) -> None:
        """(Re)build from every paper's text. Searches keep using the old state until it is done."""
        parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        lengths, ids, hashes, watermark = [], [], [], None
        batch: list[IndexedText] = []

        def flush() -> None:
            t, s, tf, dl = self._encode(batch, len(ids))
            parts.append((t, s, tf))
            lengths.append(dl)
            ids.extend(d.paper_id for d in batch)
            hashes.extend(d.content_hash for d in batch)
            batch.clear()

        for d in docs:
            batch.append(d)
            watermark = d.last_changed if watermark is None else max(watermark, d.last_changed)
            if len(batch) == chunk:
                flush()
        if batch:
            flush()
        n_terms = len(self._vocab)
        terms = np.concatenate([p[0] for p in parts]) if parts else np.empty(0, np.int32)
        slots = np.concatenate([p[1] for p in parts]) if parts else np.empty(0, np.int32)
        tf = np.concatenate([p[2] for p in parts]) if parts else np.empty(0, np.float32)
        dl = np.concatenate(lengths) if lengths else np.empty(0, np.float32)
        stats = _Stats(len(ids), float(dl.mean()) if len(dl) else 1.0, np.bincount(terms, minlength=n_terms))
        main = self._group(terms, slots, self._impacts(terms, slots, tf, dl, stats), n_terms)
        with self._lock:
            self._ids = np.array(ids, np.int64)
            self._alive = np.ones(len(ids), bool)
            self._slot_of = {pid: i for i, pid in enumerate(ids)}
            self._hash_of = dict(zip(ids, hashes, strict=True))
            self._stats, self._main = stats, main
            self._delta = _Postings(np.zeros(1, np.int64), np.empty(0, np.int32), np.empty(0, np.float32))
            self._delta_docs = 0
            self.watermark = watermark

    def update(self, docs: Sequence[IndexedText]) -> int:
        """Add new papers and the new text of changed ones (their old entries stop counting)."""
        with self._lock:
            todo = [d for d in docs if self._hash_of.get(d.paper_id) != d.content_hash]
            for d in docs:
                if self.watermark is None or d.last_changed > self.watermark:
                    self.watermark = d.last_changed
            if not todo:
                return 0
            first = len(self._ids)
            t, s, tf, dl = self._encode(todo, first)
            dl_all = np.concatenate([np.zeros(first, np.float32), dl])
            impacts = self._impacts(t, s, tf, dl_all, self._stats)
            old = self._delta
            old_terms = np.repeat(np.arange(len(old.starts) - 1, dtype=np.int32), np.diff(old.starts))
            self._delta = self._group(
                np.concatenate([old_terms, t]),
                np.concatenate([old.slots, s]),
                np.concatenate([old.impacts, impacts]),
                len(self._vocab),
            )
            self._ids = np.concatenate([self._ids, [d.paper_id for d in todo]]).astype(np.int64)
            self._alive = np.concatenate([self._alive, np.ones(len(todo), bool)])
            for i, d in enumerate(todo):
                old_slot = self._slot_of.get(d.paper_id)
                if old_slot is not None:
                    self._alive[old_slot] = False
                self._slot_of[d.paper_id] = first + i
                self._hash_of[d.paper_id] = d.content_hash
            self._delta_docs += len(todo)
            return len(todo)

    # -- searching -----------------------------------------------------------------------------

    def term_ids(self, words: Iterable[str]) -> list[int]:
        """Distinct term ids of query words; words no paper contains are dropped."""
        return list(dict.fromkeys(t for w in words if (t := self._vocab.lookup(w)) is not None))

    def search(self, words: Iterable[str], limit: int, allowed: set[int] | None = None) -> list[tuple[int, float]]:
        """``(paper_id, bm25)`` best first for an OR of ``words`` (only ``allowed`` ids if given)."""
        tids = self.term_ids(words)
        with self._lock:
            main, delta, ids, alive = self._main, self._delta, self._ids, self._alive
        n = len(ids)
        if not tids or n == 0 or limit <= 0:
            return []
        pieces = [main.slice(t) for t in tids] + [delta.slice(t) for t in tids]
        slots = np.concatenate([p[0] for p in pieces])
        if not len(slots):
            return []
        scores = np.bincount(slots, weights=np.concatenate([p[1] for p in pieces]), minlength=n)
        if not alive.all():
            scores[~alive] = 0.0
        if allowed is not None:
            scores[~np.isin(ids, np.fromiter(allowed, np.int64, len(allowed)))] = 0.0
        hits = np.flatnonzero(scores > 0)
        if len(hits) > limit:
            hits = hits[np.argpartition(-scores[hits], limit - 1)[:limit]]
        hits = hits[np.lexsort((ids[hits], -scores[hits]))]
        return list(zip(ids[hits].tolist(), scores[hits].tolist(), strict=True))


class LexicalIndex:
    """A ``BM25Index`` kept in step with storage: built in the background, refreshed before use."""

    def __init__(self, fulltext: FullTextIndex, weights: Sequence[float] = DEFAULT_WEIGHTS) -> None:
        self._fulltext = fulltext
        self._index = BM25Index(weights)
        self._ready = threading.Event()
        self._building = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    def start(self, *, wait: bool = False) -> None:
        """Build in a background thread (once); with ``wait``, return when it is built."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._build, name="broadsheet-bm25", daemon=True)
            self._thread.start()
        if wait:
            self._ready.wait()

    def _build(self) -> None:
        with self._building:
            self._index.build(self._fulltext.documents())
            self._ready.set()

    def refresh(self) -> int:
        """Take in papers changed since the last look; rebuild in the background when the delta is big."""
        index = self._index
        last = self._fulltext.last_change()
        if last is None or (index.watermark is not None and last <= index.watermark):
            return 0
        since = None if index.watermark is None else index.watermark - LOOKBACK
        added = index.update(list(self._fulltext.documents(changed_since=since)))
        if index.delta_share > REBUILD_SHARE and not self._building.locked():
            if len(index) <= SMALL:
                self._build()
            else:
                threading.Thread(target=self._build, name="broadsheet-bm25-rebuild", daemon=True).start()
        return added

    def search(self, words: Iterable[str], limit: int, allowed: set[int] | None = None) -> list[tuple[int, float]]:
        self.refresh()
        return self._index.search(words, limit, allowed)
