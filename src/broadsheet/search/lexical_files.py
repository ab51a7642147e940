"""The BM25 index as files, shared by every process on a machine (``lexical_index = files``).

Why: the in-memory index (``lexical.py``) is rebuilt by every server process at every start (most
of 2.5 minutes at 1M papers) and each process holds its own GBs. Here the same postings are kept
as numpy files (``lexical_segments.py``) in ``IndexFiles`` generations: a server maps them at start
in milliseconds, and all processes share one copy through the page cache.

Roles: whichever process holds the writer lock (``IndexFiles.writer``, a flock: one per machine)
builds and catches up; it takes the lock only for a round of work, so when it stops another
process takes over. Every other process is a reader: it looks at the manifest at most every
``RECHECK`` seconds (one ``stat``) and maps a new generation when there is one. Scores are those of
the in-memory index (the same formula, statistics and float32 impacts).

While the files do not hold every change the database has (before the first build, while a
round catches up, after a failure), ``search`` returns None and the caller ranks in the database
(FTS5 or PostgreSQL), as with the in-memory index during its warm-up.

The files must belong to this database: the manifest records the database's random id (kept in
``sync_state``), the latest change it holds (``watermark``) and the number of papers. A generation
of another database, of a version of the format or weights other than this one's, or newer than
the database (a restored backup), or one holding a different number of papers than a database
with no newer change, is not used: the writer rebuilds it while search answers from the database.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from itertools import islice
from typing import Any

import numpy as np

from ..storage.fulltext import DEFAULT_WEIGHTS, FullTextIndex, IndexedText
from . import lexical
from .index_files import IndexFiles
from .lexical import LOOKBACK, IndexStatus, LexicalIndex
from .lexical_segments import Generation, Segment, content_key, link_segment, merge, write_base, write_small

log = logging.getLogger("broadsheet.search")

NAME = "lexical"
FORMAT = 1  # of the files and of the manifest's meta; another one is rebuilt
RECHECK = 0.5  # seconds between two looks at the manifest
SEGMENT_DOCS = 20_000  # papers per small segment written while catching up
MAX_SEGMENTS = 8  # small segments before the smallest are merged
MERGE_MAX_DOCS = 100_000  # a merge makes a segment of at most this many papers


def _batched(items: Iterable[IndexedText], n: int) -> Iterator[list[IndexedText]]:
    it = iter(items)
    while batch := list(islice(it, n)):
        yield batch


class FileLexicalIndex(LexicalIndex):
    """``LexicalIndex``'s interface (``start``, ``search``, ``status``...) over memory-mapped files.

    ``database_id`` gives the database's random id (made on first use); ``on_progress`` is told
    the papers a full build has read so far and how many there are.
    """

    def __init__(
        self,
        fulltext: FullTextIndex,
        files: IndexFiles,
        database_id: Callable[[], str],
        weights: Sequence[float] = DEFAULT_WEIGHTS,
    ) -> None:
        super().__init__(fulltext, weights)
        self.files = files
        self._database_id = database_id
        self.weights = tuple(float(w) for w in weights)
        self._gen: Generation | None = None  # the generation searches read (matches the database)
        self._stat: tuple[int, int, int] | None = None  # of the manifest when last looked at
        self._checked_at = 0.0
        self._reopen_lock = threading.Lock()
        self.on_progress: Callable[[int, int], None] | None = None
        self.builds = 0  # full builds this process made (tests, status)

    # -- reading ---------------------------------------------------------------------------------

    @property
    def generation(self) -> Generation | None:
        return self._gen

    def start(self, *, wait: bool = False) -> None:
        """Map the published files (fast), then catch up in a background thread; with ``wait``,
        return when the files match the database (built if they did not)."""
        self._look(force=True)
        super().start(wait=wait)

    def _manifest_stat(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.files.root / f"{NAME}.json")
        except OSError:
            return None
        return st.st_ino, st.st_mtime_ns, st.st_size

    def _look(self, *, force: bool = False) -> None:
        """Map the current generation if the manifest changed (looked at every ``RECHECK`` s)."""
        now = time.monotonic()
        if not force and now - self._checked_at < RECHECK:
            return
        if not self._reopen_lock.acquire(blocking=force):
            return  # another thread is looking
        try:
            self._checked_at = now
            stat = self._manifest_stat()
            if stat == self._stat and not force:
                return
            self._stat = stat
            for _ in range(3):  # a writer may remove a generation between the manifest and its files
                manifest = self.files.current(NAME)
                if manifest is None:
                    return
                if self._gen is not None and manifest.generation == self._gen.generation:
                    return
                try:
                    gen = Generation(manifest.path, manifest.generation, manifest.meta)
                except (OSError, ValueError, KeyError, TypeError):
                    continue
                if self._matches(gen):
                    self._gen = gen
                    self._ready.set()
                else:
                    log.info("lexical index files in %s do not match the database: rebuilt", self.files.root)
                return
        finally:
            self._reopen_lock.release()

    def _matches(self, gen: Generation, last: datetime | None | object = ...) -> bool:
        """Whether a generation holds this database's papers (see the module's docstring)."""
        meta = gen.meta
        if meta.get("format") != FORMAT or [float(w) for w in meta.get("weights", ())] != list(self.weights):
            return False
        if meta.get("database") != self._database_id():
            return False
        db_last = self._fulltext.last_change() if last is ... else last
        if db_last is None:
            return gen.papers == 0
        if gen.watermark is None or db_last < gen.watermark:
            return False  # built empty (rebuilt: no statistics to add to), or a restored backup
        if db_last == gen.watermark:
            return self._fulltext.paper_count() == gen.papers
        return True

    def is_current(self) -> bool:
        """Whether the mapped files hold every change the database has now."""
        self._look()
        gen = self._gen
        if gen is None or self._failed:
            return False
        last = self._fulltext.last_change()
        return last is None or (gen.watermark is not None and last <= gen.watermark)

    def search(self, words: Iterable[str], limit: int, allowed: set[int] | None = None) -> list[tuple[int, float]] | None:
        if not self.is_current():
            self._kick()
            return None
        assert self._gen is not None
        return self._gen.search(words, limit, allowed)

    def matching_ids(self, words: Iterable[str]) -> np.ndarray | None:
        if not self.is_current():
            self._kick()
            return None
        assert self._gen is not None
        return self._gen.matching_ids(words)

    def status(self) -> IndexStatus:
        gen = self._gen
        return IndexStatus(
            ready=self.ready,
            current=self.is_current(),
            papers=gen.papers if gen else 0,
            delta_share=gen.delta_docs / max(1, gen.papers) if gen else 0.0,
            failures=self._failures,
            last_error=self._last_error,
        )

    # -- writing -----------------------------------------------------------------------------------

    def _refresh(self) -> int:
        """One round: map what is published; if behind, write when this process gets the writer
        lock, else wait a moment for the process that has it."""
        self._look(force=True)
        if self._gen is not None and self.is_current():
            return 0
        with self.files.writer(NAME) as mine:
            if not mine:
                self._closed.wait(2 * RECHECK)
                self._look(force=True)
                return 0
            written, again = self._write()
            return max(written, int(again))

    def update(self, *, wait: bool = True) -> int:
        """Bring the files up to date now, in this thread (``broadsheet index --lexical``): waits
        for the writer lock; returns the papers written."""
        added = 0
        with self._lock, self.files.writer(NAME, wait=wait) as mine:
            if not mine:
                return 0
            again = True
            while again:
                written, again = self._write()
                added += written
        return added

    def _write(self) -> tuple[int, bool]:
        """Under the writer lock: build if the published files are missing or do not match,
        else take in the papers changed since (a small segment), merging or rebuilding as needed.
        Returns the papers written and whether to go round again (more may have arrived)."""
        manifest = self.files.current(NAME)
        last = self._fulltext.last_change()
        gen = None
        if manifest is not None:
            try:
                gen = Generation(manifest.path, manifest.generation, manifest.meta)
            except (OSError, ValueError, KeyError, TypeError):
                gen = None
        if gen is None or not self._matches(gen, last):
            return self._build(), True  # then catch up with what arrived meanwhile
        self._install(gen)
        added = self._take_in(gen, last)
        gen = self._gen
        assert gen is not None
        if gen.delta_docs > lexical.REBUILD_SHARE * max(1, len(gen.segments[0]) if gen.segments else 1):
            self._build()  # fresh statistics; readers keep the current generation meanwhile
            return added, True
        return added, added > 0

    def _install(self, gen: Generation) -> None:
        self._gen = gen
        self._stat = self._manifest_stat()
        self._ready.set()

    def _meta(self, **fields: Any) -> dict[str, Any]:
        return {"format": FORMAT, "database": self._database_id(), "weights": list(self.weights), **fields}

    def _build(self) -> int:
        """A full build from the database, published as a new generation; returns its papers."""
        started = time.monotonic()
        total = self._fulltext.paper_count()
        progress = self.on_progress
        with self.files.new_generation(NAME) as tmp:
            n, stats, watermark = write_base(
                tmp, "s000001", self._fulltext.documents(), self.weights,
                None if progress is None else (lambda done: progress(done, max(done, total))),
            )  # fmt: skip
            np.save(tmp / "dead.npy", np.empty(0, np.int64))
            meta = self._meta(
                n=n, avgdl=stats.avgdl, papers=n, watermark=watermark.isoformat() if watermark else None,
                segments=[{"name": "s000001", "docs": n}], next_segment=2,
            )  # fmt: skip
            manifest = self.files.publish(NAME, tmp, meta)
        self.files.remove_old(NAME)
        self._install(Generation(manifest.path, manifest.generation, manifest.meta))
        self.builds += 1
        log.info("lexical index files: built %d papers in %.1f s (%s)", n, time.monotonic() - started, manifest.path)
        return n

    def _take_in(self, gen: Generation, last: datetime | None) -> int:
        """Papers changed since the generation's watermark, as small segments; publish."""
        since = None if gen.watermark is None else gen.watermark - LOOKBACK
        watermark = gen.watermark
        papers, added = gen.papers, 0
        next_segment = int(gen.meta.get("next_segment", len(gen.segments) + 1))
        replaced: list[np.ndarray] = []
        written: list[tuple[str, int]] = []
        with self.files.new_generation(NAME) as tmp:
            for batch in _batched(self._fulltext.documents(changed_since=since), SEGMENT_DOCS):
                newest = max(d.last_changed for d in batch)
                watermark = newest if watermark is None else max(watermark, newest)
                ids = np.array([d.paper_id for d in batch], np.int64)
                keys = np.array([content_key(d.content_hash) for d in batch], np.uint64)
                slot, key = gen.current_entries(ids)
                todo = (slot < 0) | (key != keys)
                if not todo.any():
                    continue
                old = slot[todo & (slot >= 0)]
                replaced.append(old)
                name = f"s{next_segment:06d}"
                next_segment += 1
                written.append((name, write_small(tmp, name, [d for d, t in zip(batch, todo, strict=True) if t], self.weights, gen.base, gen.stats)))
                added += int(todo.sum())
                papers += int(todo.sum()) - len(old)
            if last is not None:
                watermark = last if watermark is None else max(watermark, last)
            if not added and watermark == gen.watermark:
                return 0
            # Every segment with its masked entries (own numbering), the new ones last.
            dead = dict(zip((s.name for s in gen.segments), gen.local_dead(), strict=True))
            gone = np.concatenate(replaced) if replaced else np.empty(0, np.int64)
            for k, seg in enumerate(gen.segments):
                a, b = gen.offsets[k], gen.offsets[k + 1]
                mine = gone[(gone >= a) & (gone < b)] - a
                if len(mine):
                    dead[seg.name] = np.union1d(dead[seg.name], mine)
            order: list[tuple[str, int, bool]] = [(s.name, len(s), False) for s in gen.segments]  # (name, docs, new)
            order += [(name, n, True) for name, n in written]
            for name, _ in written:
                dead[name] = np.empty(0, np.int64)
            order, next_segment = self._merge_small(tmp, gen, order, dead, next_segment)
            for name, _, new in order:
                if not new:
                    link_segment(gen.path, tmp, name)
            offsets = np.cumsum([0] + [n for _, n, _ in order])
            np.save(tmp / "dead.npy", np.concatenate([dead[name] + off for (name, _, _), off in zip(order, offsets, strict=False)]).astype(np.int64))
            meta = self._meta(
                n=gen.stats.n, avgdl=gen.stats.avgdl, papers=papers,
                watermark=watermark.isoformat() if watermark else None,
                segments=[{"name": name, "docs": n} for name, n, _ in order], next_segment=next_segment,
            )  # fmt: skip
            manifest = self.files.publish(NAME, tmp, meta)
        self.files.remove_old(NAME)
        self._install(Generation(manifest.path, manifest.generation, manifest.meta))
        return added

    def _merge_small(
        self, tmp: Any, gen: Generation, order: list[tuple[str, int, bool]], dead: dict[str, np.ndarray], next_segment: int
    ) -> tuple[list[tuple[str, int, bool]], int]:
        """When there are more than ``MAX_SEGMENTS`` small segments, merge the smallest (up to
        ``MERGE_MAX_DOCS`` papers together) into one, leaving their masked entries out."""
        small = order[1:]
        if len(small) <= MAX_SEGMENTS:
            return order, next_segment
        chosen, size = [], 0
        for entry in sorted(small, key=lambda e: e[1]):
            if len(chosen) >= 2 and size + entry[1] > MERGE_MAX_DOCS:
                break
            chosen.append(entry)
            size += entry[1]
        names = {name for name, _, _ in chosen}
        segments = [Segment.open(tmp if new else gen.path, name) for name, _, new in chosen]
        merged = f"s{next_segment:06d}"
        docs = merge(tmp, merged, segments, [dead[name] for name, _, _ in chosen])
        for name, _, new in chosen:
            if new:
                for p in tmp.glob(f"{name}.*.npy"):
                    p.unlink()
        dead[merged] = np.empty(0, np.int64)
        kept = [e for e in order if e[0] not in names]
        return kept + [(merged, docs, True)], next_segment + 1

    def disk_bytes(self) -> int:
        """Bytes the published generation's files take."""
        gen = self._gen
        return 0 if gen is None else sum(p.stat().st_size for p in gen.path.iterdir())
