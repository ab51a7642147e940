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
by SQL, and whenever this index does not hold every change the database has (before it is
built: ~20-40 s per 100k papers; while it catches up with an ingest; after a failed refresh)
search uses the database, which ranks the same (FTS5) or nearly (PostgreSQL's ts_rank).

Incremental: a refresh asks storage for papers changed since it last looked (an index lookup
on ``papers.last_changed``) and adds them to a small *delta* segment; the old entry of a changed
paper is masked out. Delta impacts use the statistics (N, avgdl, df) of the last full build:
once the delta holds more than ``REBUILD_SHARE`` of the corpus, a full rebuild replaces both.

Concurrency: searches read a ``_Snapshot``, which is never changed once published; a refresh or
rebuild makes a new one and swaps one reference. Every refresh and rebuild runs in one
background thread under one lock (searches never wait for it, nor do its work); a rebuild
encodes with a vocabulary of its own, so nothing a reader or the delta uses is rewritten. A
refresh that fails is logged, counted in ``LexicalIndex.status()`` and retried, and search
answers from the database meanwhile.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from ..storage.fulltext import DEFAULT_WEIGHTS, FullTextIndex, IndexedText
from ..text import index_term, index_words

log = logging.getLogger("broadsheet.search")

K1, B = 1.2, 0.75
REBUILD_SHARE = 0.2
CATCH_UP_PAUSE = 0.05  # seconds between rounds of catching up at least: an ingest's batches come together
RETRY_FIRST, RETRY_MAX = 1.0, 60.0  # seconds before a failed refresh is tried again (doubling)
# A writer that took its timestamp before another's may commit after it: look back this far.
LOOKBACK = timedelta(seconds=30)


class Vocabulary:
    """Term → id, with a cache from surface word to term id (most words repeat).

    Append-only: an id never changes once given, so a snapshot's readers may look words up while
    a refresh adds new ones (a newer id is past the snapshot's postings: no paper of it has it).
    """

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self._word: dict[str, int] = {}
        self._lock = threading.Lock()  # one writer at a time already; a reader may look up meanwhile

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
        return idf_of(df, self.n)


def idf_of(df: np.ndarray, n: int) -> np.ndarray:
    """FTS5's idf of terms in ``df`` of ``n`` documents (1e-6 where not positive)."""
    idf = np.log((n - df + 0.5) / (df + 0.5))
    return np.where(idf > 0, idf, 1e-6)


def bm25_impacts(idf: np.ndarray, tf: np.ndarray, dl: np.ndarray, avgdl: float) -> np.ndarray:
    """Each posting's BM25 contribution from its term's idf, its weighted tf and its document's length."""
    norm = K1 * (1 - B + B * dl / avgdl)
    return (idf * tf * (K1 + 1) / (tf + norm)).astype(np.float32)


def encode(
    vocab: Vocabulary, docs: Sequence[IndexedText], first_slot: int, weights: Sequence[float]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(term ids, slots, weighted tf) per distinct (slot, term), and each document's length."""
    terms, slots, wts = array("i"), array("i"), array("f")
    lengths = np.zeros(len(docs), np.float32)
    for j, d in enumerate(docs):
        n = 0
        for text, w in zip((d.title, d.abstract, d.authors), weights, strict=True):
            ids = vocab.encode(text)
            n += len(ids)
            terms.extend(ids)
            slots.extend([first_slot + j] * len(ids))
            wts.extend([w] * len(ids))
        lengths[j] = n
    t = np.frombuffer(terms, np.int32) if terms else np.empty(0, np.int32)
    s = np.frombuffer(slots, np.int32) if slots else np.empty(0, np.int32)
    w = np.frombuffer(wts, np.float32) if wts else np.empty(0, np.float32)
    base = len(vocab) + 1  # read once: (slot, term) pairs are packed and unpacked with it
    key = s.astype(np.int64) * base + t
    uniq, inverse = np.unique(key, return_inverse=True)
    tf = np.bincount(inverse, weights=w).astype(np.float32)
    return (uniq % base).astype(np.int32), (uniq // base).astype(np.int32), tf, lengths


@dataclass(frozen=True)
class _Snapshot:
    """What searches read; never changed once published (a refresh or rebuild publishes another)."""

    vocab: Vocabulary
    stats: _Stats
    main: _Postings
    delta: _Postings
    ids: np.ndarray  # slot → paper id
    alive: np.ndarray  # slot → still the paper's current text
    papers: int
    delta_docs: int
    watermark: datetime | None


def _no_postings() -> _Postings:
    return _Postings(np.zeros(1, np.int64), np.empty(0, np.int32), np.empty(0, np.float32))


def _empty_snapshot() -> _Snapshot:
    empty = _no_postings()
    return _Snapshot(Vocabulary(), _Stats(0, 1.0, np.empty(0, np.int64)), empty, empty, np.empty(0, np.int64), np.empty(0, bool), 0, 0, None)


@dataclass(frozen=True)
class _Built:
    """A full build, ready to install: the snapshot and the writer's tables that go with it."""

    snapshot: _Snapshot
    slot_of: dict[int, int]
    hash_of: dict[int, str]


class BM25Index:
    """BM25 over (title, abstract, authors) with column weights, held in memory.

    One writer at a time (``build``, ``install``, ``update``: ``LexicalIndex`` serialises them);
    any number of readers (``search``) at once, each on the snapshot current when it started.
    """

    def __init__(self, weights: Sequence[float] = DEFAULT_WEIGHTS) -> None:
        self.weights = tuple(float(w) for w in weights)
        self._snap = _empty_snapshot()
        # The writer's own tables (readers never look at them): paper id → slot, → content hash.
        self._slot_of: dict[int, int] = {}
        self._hash_of: dict[int, str] = {}

    def __len__(self) -> int:
        return self._snap.papers

    @property
    def watermark(self) -> datetime | None:
        return self._snap.watermark

    @property
    def delta_share(self) -> float:
        snap = self._snap
        return snap.delta_docs / max(1, snap.papers)

    # -- building ------------------------------------------------------------------------------

    def _encode(
        self, vocab: Vocabulary, docs: Sequence[IndexedText], first_slot: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        return encode(vocab, docs, first_slot, self.weights)

    def _impacts(
        self, terms: np.ndarray, slots: np.ndarray, tf: np.ndarray, dl: np.ndarray, stats: _Stats
    ) -> np.ndarray:
        return bm25_impacts(stats.idf(terms), tf, dl[slots], stats.avgdl)

    @staticmethod
    def _group(terms: np.ndarray, slots: np.ndarray, impacts: np.ndarray, n_terms: int) -> _Postings:
        order = np.argsort(terms, kind="stable")
        counts = np.bincount(terms, minlength=n_terms)
        if len(counts) != n_terms:  # a term id past the vocabulary: never install such postings
            raise ValueError(f"postings name term {len(counts) - 1} of a vocabulary of {n_terms}")
        starts = np.zeros(n_terms + 1, np.int64)
        np.cumsum(counts, out=starts[1:])
        return _Postings(starts, slots[order], impacts[order])

    def prepare(self, docs: Iterable[IndexedText], chunk: int = 20_000) -> _Built:
        """A full build from every paper's text, with a vocabulary of its own (touches nothing
        searches or ``update`` use, so it may run while they do)."""
        vocab = Vocabulary()
        parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        lengths, ids, hashes, watermark = [], [], [], None
        batch: list[IndexedText] = []

        def flush() -> None:
            t, s, tf, dl = self._encode(vocab, batch, len(ids))
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
        n_terms = len(vocab)
        terms = np.concatenate([p[0] for p in parts]) if parts else np.empty(0, np.int32)
        slots = np.concatenate([p[1] for p in parts]) if parts else np.empty(0, np.int32)
        tf = np.concatenate([p[2] for p in parts]) if parts else np.empty(0, np.float32)
        dl = np.concatenate(lengths) if lengths else np.empty(0, np.float32)
        stats = _Stats(len(ids), float(dl.mean()) if len(dl) else 1.0, np.bincount(terms, minlength=n_terms))
        main = self._group(terms, slots, self._impacts(terms, slots, tf, dl, stats), n_terms)
        snap = _Snapshot(vocab, stats, main, _no_postings(), np.array(ids, np.int64), np.ones(len(ids), bool), len(ids), 0, watermark)
        return _Built(snap, {pid: i for i, pid in enumerate(ids)}, dict(zip(ids, hashes, strict=True)))

    def install(self, built: _Built) -> None:
        """Make a prepared build the one searches read (one swap)."""
        self._slot_of, self._hash_of = built.slot_of, built.hash_of
        self._snap = built.snapshot

    def build(self, docs: Iterable[IndexedText], chunk: int = 20_000) -> None:
        """(Re)build from every paper's text. Searches keep using the old state until it is done."""
        self.install(self.prepare(docs, chunk))

    def update(self, docs: Sequence[IndexedText], seen_until: datetime | None = None) -> int:
        """Add new papers and the new text of changed ones (their old entries stop counting);
        ``seen_until``: the database's last change when ``docs`` were asked for (the new watermark
        if later than theirs).

        Builds the next snapshot beside the current one and publishes it at the end: if anything
        fails on the way, searches still read the current one, and the writer's tables are as before.
        """
        snap = self._snap
        todo = list({d.paper_id: d for d in docs if self._hash_of.get(d.paper_id) != d.content_hash}.values())
        times = [d.last_changed for d in docs] + [t for t in (snap.watermark, seen_until) if t is not None]
        watermark = max(times, default=None)
        if not todo:
            if watermark != snap.watermark:
                self._snap = dataclasses.replace(snap, watermark=watermark)
            return 0
        first = len(snap.ids)
        t, s, tf, dl = self._encode(snap.vocab, todo, first)
        dl_all = np.concatenate([np.zeros(first, np.float32), dl])
        impacts = self._impacts(t, s, tf, dl_all, snap.stats)
        old = snap.delta
        old_terms = np.repeat(np.arange(len(old.starts) - 1, dtype=np.int32), np.diff(old.starts))
        delta = self._group(
            np.concatenate([old_terms, t]),
            np.concatenate([old.slots, s]),
            np.concatenate([old.impacts, impacts]),
            len(snap.vocab),
        )
        ids = np.concatenate([snap.ids, np.array([d.paper_id for d in todo], np.int64)])
        alive = np.concatenate([snap.alive, np.ones(len(todo), bool)])
        replaced = [slot for d in todo if (slot := self._slot_of.get(d.paper_id)) is not None]
        alive[replaced] = False
        new_papers = len(todo) - len(replaced)
        self._snap = dataclasses.replace(
            snap, delta=delta, ids=ids, alive=alive, papers=snap.papers + new_papers,
            delta_docs=snap.delta_docs + len(todo), watermark=watermark,
        )  # fmt: skip
        for i, d in enumerate(todo):
            self._slot_of[d.paper_id] = first + i
            self._hash_of[d.paper_id] = d.content_hash
        return len(todo)

    # -- searching -----------------------------------------------------------------------------

    def term_ids(self, words: Iterable[str]) -> list[int]:
        """Distinct term ids of query words; words no paper contains are dropped."""
        vocab = self._snap.vocab
        return list(dict.fromkeys(t for w in words if (t := vocab.lookup(w)) is not None))

    def search(self, words: Iterable[str], limit: int, allowed: set[int] | None = None) -> list[tuple[int, float]]:
        """``(paper_id, bm25)`` best first for an OR of ``words`` (only ``allowed`` ids if given)."""
        snap = self._snap  # one read: everything below is of the same state
        tids = list(dict.fromkeys(t for w in words if (t := snap.vocab.lookup(w)) is not None))
        main, delta, ids, alive = snap.main, snap.delta, snap.ids, snap.alive
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


    def matching_ids(self, words: Iterable[str]) -> np.ndarray:
        """Ids of the papers holding any of ``words`` (what an OR of them matches): the union of
        their postings, for trend charts (a few ms where FTS5 and the driver take tens)."""
        snap = self._snap
        tids = list(dict.fromkeys(t for w in words if (t := snap.vocab.lookup(w)) is not None))
        if not tids or not len(snap.ids):
            return np.empty(0, np.int64)
        slots = np.unique(np.concatenate([p.slice(t)[0] for p in (snap.main, snap.delta) for t in tids]))
        slots = slots[snap.alive[slots]]
        return snap.ids[slots]


@dataclass(frozen=True)
class IndexStatus:
    """How the in-memory lexical index stands (``Hub.search_index_status``)."""

    ready: bool  # built once
    current: bool  # holds every change the database had when last asked, and its last refresh worked
    papers: int
    delta_share: float
    failures: int  # refreshes and rebuilds that failed since start (each logged, then retried)
    last_error: str | None


class LexicalIndex:
    """A ``BM25Index`` kept in step with storage by one background thread.

    ``search`` answers from memory only when the index holds every change the database has;
    otherwise it starts a catch-up and returns None, and the caller asks the database.
    """

    def __init__(self, fulltext: FullTextIndex, weights: Sequence[float] = DEFAULT_WEIGHTS) -> None:
        self._fulltext = fulltext
        self._index = BM25Index(weights)
        self._ready = threading.Event()
        self._lock = threading.Lock()  # every write to the index: build, refresh, rebuild
        self._thread: threading.Thread | None = None
        self._thread_guard = threading.Lock()  # one background thread at a time
        self._failures = 0
        self._last_error: str | None = None
        self._failed = False
        self._retry_at = 0.0
        self._current = threading.Condition()  # notified after every round of the background thread
        self._closed = threading.Event()

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    def start(self, *, wait: bool = False) -> None:
        """Build in a background thread; with ``wait``, return when it is built (or raise why not)."""
        self._kick()
        while wait and not self._ready.wait(0.1):
            if self._failed:
                raise RuntimeError(f"the in-memory search index could not be built: {self._last_error}")

    def _kick(self) -> None:
        """Start the background thread unless it runs, or a failure's retry is not due yet."""
        if self._closed.is_set() or (self._failed and time.monotonic() < self._retry_at):
            return
        with self._thread_guard:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._catch_up, name="broadsheet-bm25", daemon=True)
                self._thread.start()

    def _catch_up(self) -> None:
        try:
            while not self._closed.is_set():
                start = time.monotonic()
                if not self.refresh():
                    break
                # More may have arrived meanwhile (an ingest): take it in after a pause as long as
                # this round, so catching up takes at most half a core from the requests.
                self._closed.wait(max(CATCH_UP_PAUSE, time.monotonic() - start))
        except Exception:  # noqa: BLE001 - logged, counted and retried; search uses the database meanwhile
            log.exception("in-memory search index: refresh failed (search uses the database until a retry works)")
        finally:
            with self._current:
                self._current.notify_all()

    def close(self, timeout: float = 30.0) -> None:
        """Stop the background thread (after the round it is in: it holds a database connection
        until then) and start no other; before the database goes away."""
        self._closed.set()
        with self._thread_guard:
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def refresh(self) -> int:
        """Bring the index up to date now, in this thread (a full build first, a rebuild when the
        delta is big); return how many papers were taken in. Failures are recorded, then raised."""
        with self._lock:
            try:
                added = self._refresh()
            except Exception as e:
                self._failures += 1
                self._last_error = f"{type(e).__name__}: {e}"
                delay = min(RETRY_MAX, RETRY_FIRST * 2 ** min(self._failures - 1, 10))
                self._failed, self._retry_at = True, time.monotonic() + delay
                raise
            self._failed = False
            return added

    def _refresh(self) -> int:
        index = self._index
        if not self.ready:
            index.install(index.prepare(self._fulltext.documents()))
            self._ready.set()
            added = len(index)
        else:
            added = 0
        while True:
            last = self._fulltext.last_change()
            if last is None or (index.watermark is not None and last <= index.watermark):
                return added
            since = None if index.watermark is None else index.watermark - LOOKBACK
            added += index.update(list(self._fulltext.documents(changed_since=since)), seen_until=last)
            if index.delta_share <= REBUILD_SHARE:
                return added
            # Readers keep the current snapshot while the new one is made; then catch up again.
            index.install(index.prepare(self._fulltext.documents()))

    def is_current(self) -> bool:
        """Whether the index holds every change the database has now (one indexed query)."""
        if not self.ready or self._failed:
            return False
        watermark = self._index.watermark
        last = self._fulltext.last_change()
        return last is None or (watermark is not None and last <= watermark)

    def wait_until_current(self, timeout: float) -> bool:
        """Wait (starting catch-ups as needed) until the index is current (benchmarks and tests)."""
        deadline = time.monotonic() + timeout
        while not self.is_current():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            with self._current:
                self._kick()
                self._current.wait(min(left, 0.5))
        return True

    def status(self) -> IndexStatus:
        return IndexStatus(
            ready=self.ready,
            current=self.is_current(),
            papers=len(self._index),
            delta_share=self._index.delta_share,
            failures=self._failures,
            last_error=self._last_error,
        )

    def matching_ids(self, words: Iterable[str]) -> np.ndarray | None:
        """``BM25Index.matching_ids``; None when the index is not current (ask the database)."""
        if not self.is_current():
            self._kick()
            return None
        return self._index.matching_ids(words)

    def search(self, words: Iterable[str], limit: int, allowed: set[int] | None = None) -> list[tuple[int, float]] | None:
        """``(paper_id, bm25)`` best first from memory; None when the index is not current (it
        catches up in the background: ask the database meanwhile)."""
        if not self.is_current():
            self._kick()
            return None
        return self._index.search(words, limit, allowed)
