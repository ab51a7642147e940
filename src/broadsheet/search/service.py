"""Search as a use case: the engine built on first use, a search page with its explanations,
similar papers, embedding what has no vector (at once, or in the background), and how far
embedding has come. ``Hub`` delegates its search methods here, one line each.

The engine (``engine.py``), the query language (``query.py``), the fusion (``fusion.py``) and the
explanations (``explain.py``) are the parts; this module only wires them to storage and the settings.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING

from ..config import Settings
from ..exceptions import InvalidInputError
from ..storage import Storage
from ..storage.locks import Lock, holder_is_dead
from ..types import EmbeddingStatus, IndexProgress, Paper, Query, SearchFilters, SearchHit, SearchPage
from .backfill import Backfill, BackfillStatus

if TYPE_CHECKING:
    from .background import BackgroundEmbedder
    from .embedders import Embedder
    from .engine import SearchEngine
    from .fusion import Fused
    from .lexical import IndexStatus
    from .lexical_files import FileLexicalIndex
    from ..storage.vectors import VectorStore
    from .vectors_db import DatabaseVectorIndex
    from .vectors_mapped import MappedVectorIndex

EMBED_LOCK = "embed-background"  # held by the one process embedding in the background
NOT_EMBEDDED_TTL = 10.0  # seconds a search reuses its count of papers without a vector
SEARCH_COUNT = 100  # results a search counts at least (= the fusion's depth: the ranking stays the same)
SEARCH_SORT_POOL = 1000  # the best results that a search sorted by date or upvotes orders


@dataclasses.dataclass(frozen=True)
class LexicalFilesReport:
    """What ``broadsheet index --lexical`` did."""

    folder: str
    written: int  # papers written (a build counts them all)
    built: bool  # a full build happened
    papers: int
    segments: int
    disk_bytes: int
    seconds: float


class Search:
    """Search over one database. ``exclusive(name)`` holds a lock across processes (``Hub.exclusive``):
    one process at a time embeds in the background. ``worker`` names this process in the
    embedding backfill (``host:pid:random``)."""

    def __init__(
        self,
        settings: Settings,
        storage: Storage,
        now: Callable[[], datetime],
        exclusive: Callable[[str], AbstractContextManager[Lock | None]],
        worker: str,
    ) -> None:
        self.settings = settings
        self._storage = storage
        self.backfill = Backfill(settings, storage, now, worker)  # embedding shared with other processes
        self._now = now
        self._exclusive = exclusive
        self.engine_built: SearchEngine | None = None
        self.embedder: Embedder | None = None
        self.engine_lock = threading.Lock()  # held while the engine is built
        self.background: BackgroundEmbedder | None = None
        self.not_embedded: tuple[float, int] | None = None  # (when counted, count)

    def close(self) -> None:
        self.stop_background_embedding()
        if self.engine_built is not None:
            self.engine_built.close()

    def engine(self) -> SearchEngine:
        """Built on first use: loading the embedding model takes a second."""
        with self.engine_lock:
            if self.engine_built is None:
                from .embedders import make_embedder
                from .engine import LazyVectors, SearchEngine

                self.embedder = make_embedder(self.settings.embedder)
                lexical_in_db, where = self._in_database()
                vectors: LazyVectors | DatabaseVectorIndex | None = None
                if self.embedder and where == "database" and self._storage.vector_search is not None:
                    from .vectors_db import DatabaseVectorIndex  # noqa: F811 - imported for use

                    vectors = DatabaseVectorIndex(
                        self._storage.vectors, self._storage.vector_search, self.embedder.name, self.embedder.dim
                    )
                elif self.embedder:
                    vectors = LazyVectors(
                        self._storage.vectors, self.embedder.name, self.embedder.dim,
                        self._mapped_vectors if where == "files" else None,
                    )
                # In the database: the full-text index ranks every query (FTS5's bm25(), ts_rank).
                self.engine_built = SearchEngine(
                    self._storage.fulltext, vectors, self.embedder,
                    bm25_in_memory=self.settings.lexical_index == "memory",
                    make_lexical=self.lexical_files if self.settings.lexical_index == "files" else None,
                )  # fmt: skip
            return self.engine_built

    def _in_database(self) -> tuple[bool, str]:
        """Whether lexical ranking happens in the database (the setting ``lexical_index``), and
        where semantic search looks (``vector_index``: files, memory or database)."""
        lexical, vectors = self.settings.lexical_index, self.settings.vector_index
        if lexical not in ("memory", "files", "database"):
            raise InvalidInputError(f"setting lexical_index: {lexical!r} is not memory, files or database")
        if vectors not in ("auto", "files", "memory", "database"):
            raise InvalidInputError(f"setting vector_index: {vectors!r} is not auto, files, memory or database")
        if vectors == "database" and not self._storage.is_postgres:
            raise InvalidInputError("setting vector_index = database needs PostgreSQL (SQLite has no vector index)")
        if vectors == "auto":
            vectors = "database" if self._storage.is_postgres else "files" if self._on_disk() else "memory"
        return lexical == "database", vectors

    def _on_disk(self) -> bool:
        """Whether the database is a SQLite file (an in-memory one gets no index files)."""
        url = self.settings.resolved_database_url()
        return url.startswith("sqlite:///") and url.removeprefix("sqlite:///") not in ("", ":memory:")

    def _mapped_vectors(
        self, store: VectorStore, model: str, dim: int, progress: Callable[[str, int, int], None] | None = None
    ) -> MappedVectorIndex:
        """The vector index kept as files in ``index_dir`` (``vector_index = files``)."""
        from .index_files import IndexFiles
        from .vectors_mapped import MappedVectorIndex  # noqa: F811 - imported for use

        sync_state = self._storage.sync_state
        return MappedVectorIndex(
            store, lambda: sync_state.database_id(self._now()), IndexFiles(self.settings.resolved_index_dir()), model, dim,
            progress=progress,
        )

    def update_vector_files(self, on_progress: Callable[[str, int, int], None] | None = None) -> dict | None:
        """See ``Hub.update_vector_index``."""
        if self.embedder is None:
            self.engine()
        if self.embedder is None or self._in_database()[1] != "files":
            return None
        index = self._mapped_vectors(self._storage.vectors, self.embedder.name, self.embedder.dim, on_progress)
        try:
            return index.update()
        finally:
            index.close()

    def warm_up(self, *, wait: bool = False) -> None:
        self.engine().warm_up(wait=wait)

    def lexical_files(self) -> FileLexicalIndex:
        """The BM25 index kept as files in the ``index_dir`` folder (``lexical_files.py``)."""
        from .index_files import IndexFiles
        from .lexical_files import FileLexicalIndex

        storage = self._storage
        return FileLexicalIndex(storage.fulltext, IndexFiles(self.settings.resolved_index_dir()), lambda: storage.sync_state.database_id(self._now()))

    def update_lexical_files(self, on_progress: Callable[[int, int], None] | None = None) -> LexicalFilesReport:
        """See ``Hub.update_lexical_index``."""
        started = time.monotonic()
        index = self.lexical_files()
        index.on_progress = on_progress
        try:
            added = index.update()
            gen = index.generation
            return LexicalFilesReport(
                str(index.files.root), added, index.builds > 0, gen.papers if gen else 0,
                len(gen.segments) if gen else 0, index.disk_bytes(), time.monotonic() - started,
            )  # fmt: skip
        finally:
            index.close()

    def index_status(self) -> IndexStatus | None:
        return self.engine().lexical_status()

    def search(
        self,
        query: str,
        *,
        filters: SearchFilters | None = None,
        mode: str = "hybrid",
        limit: int = 20,
        cursor: str | None = None,
        sort: str = "relevance",
    ) -> SearchPage:
        """See ``Hub.search``."""
        from ..trending import order_results
        from .query import parse_query

        if not 1 <= limit <= 100:
            raise InvalidInputError(f"limit must be between 1 and 100, not {limit}")
        offset = decode_cursor(cursor)
        parsed = parse_query(query)
        if filters:
            parsed = dataclasses.replace(
                parsed,
                categories=parsed.categories + filters.categories,
                authors=parsed.authors + filters.authors,
                organizations=parsed.organizations + filters.organizations,
                since=filters.since or parsed.since,
                until=filters.until or parsed.until,
            )
        if parsed.is_empty:
            raise InvalidInputError("empty query: type some words, or use filters such as cat:cs.LG")
        engine = self.engine()
        asked = SEARCH_SORT_POOL if sort != "relevance" else max(SEARCH_COUNT, offset + limit + 1)
        order_results([], {}, sort)  # a bad sort is refused before the search runs
        ranked = engine.rank(parsed, mode, asked)
        by_id = {f.paper_id: f for f in ranked}
        keys = self._storage.browse.sort_keys(list(by_id)) if sort != "relevance" else {}
        ranked = [by_id[pid] for pid in order_results(list(by_id), keys, sort)]
        page, more = ranked[offset : offset + limit], len(ranked) > offset + limit
        hits = self._hits(parsed, page)
        semantic = engine.semantic_available
        # What meaning search cannot see yet: counted for a search by meaning alone, when a hit
        # shows it, or when no paper has a vector yet (the search then ran on words alone, without
        # loading the model); a hybrid search on a fully embedded database counts nothing.
        unseen = mode == "semantic" or any(h.semantic_imputed for h in hits) or (mode != "lexical" and not engine.semantic_ready())
        waiting = self._count_not_embedded() if semantic and parsed.has_text and unseen else 0
        return SearchPage(
            tuple(hits), mode, str(offset + limit) if more else None,
            total=len(ranked), total_capped=len(ranked) >= asked, not_embedded=waiting, semantic=semantic,
        )  # fmt: skip

    def _count_not_embedded(self) -> int:
        """Papers without an up-to-date vector, counted at most every few seconds (a count at
        1M papers takes a moment); the background embedder makes it count again."""
        if (cached := self.not_embedded) and time.monotonic() - cached[0] < NOT_EMBEDDED_TTL:
            return cached[1]
        assert self.embedder is not None
        n = self._storage.vectors.count_stale(self.embedder.name)
        self.not_embedded = (time.monotonic(), n)
        return n

    def _hits(self, parsed: Query, page: Sequence[Fused]) -> list[SearchHit]:
        from .explain import best_window, mark, matched_terms, query_stems

        stems = query_stems(parsed)
        papers = self._storage.papers.by_ids([f.paper_id for f in page])
        hits = []
        for f in page:
            paper = papers.get(f.paper_id)
            if paper is None or paper.hidden:
                continue
            title, snippet = mark(paper.title, stems), best_window(paper.abstract, stems)
            hits.append(
                SearchHit(
                    paper=paper,
                    score=f.score,
                    title=title,
                    snippet=snippet,
                    matched_terms=matched_terms(title, snippet),
                    lexical_rank=f.lexical_rank,
                    lexical_score=f.bm25,
                    semantic_rank=f.semantic_rank,
                    semantic_score=f.cosine,
                    lexical_share=f.lexical / f.score if f.score else float(f.lexical_rank is not None),
                    semantic_imputed=f.cosine is None and f.semantic != 0.0,
                )
            )
        return hits

    def similar(self, paper: Paper, limit: int = 10) -> list[SearchHit]:
        """Papers like ``paper``: nearest by meaning, or by shared words until it has a vector."""
        from .explain import lead

        pid = self._storage.papers.ids_of([paper.arxiv_id])[paper.arxiv_id]
        ranked = self.engine().similar(pid, limit)
        found = self._storage.papers.by_ids([p for p, _ in ranked])
        return [
            SearchHit(paper=found[p], score=s, title=((found[p].title, False),), snippet=lead(found[p].abstract), semantic_score=s)
            for p, s in ranked
            if p in found and not found[p].hidden
        ]

    def index_embeddings(
        self,
        *,
        arxiv_ids: Sequence[str] | None = None,
        on_progress: Callable[[IndexProgress], None] | None = None,
        batch_size: int | None = None,
        keep_going: Callable[[int], bool] | None = None,
    ) -> int:
        """See ``Hub.index_embeddings``. Every paper: a share of the backfill (``backfill.py``),
        which any number of processes on any machines run together; given papers: at once."""
        engine = self.engine()
        embedder = self.embedder
        if embedder is None or not engine.semantic_available:
            return 0
        if arxiv_ids is None:
            return self.backfill.run(embedder, batch_size=batch_size, on_progress=on_progress, keep_going=keep_going)
        from .backfill import DistinctIds, embed_items
        from .embedders import passages_key

        store = self._storage.vectors
        among = list(self._storage.papers.ids_of(arxiv_ids).values())
        if among == []:
            return 0
        kinds = (embedder.name, passages_key(embedder.name))  # whole papers, then their long tails
        total = 2 * len(among)
        size = batch_size or self.settings.index_batch_size
        embedded = DistinctIds()
        steps = 0
        for kind in kinds:
            after = 0
            while batch := store.stale(kind, size, after, among):
                vectors = embed_items(embedder, kind, batch, size)
                store.put(kind, [(b.paper_id, b.content_hash, v) for b, v in zip(batch, vectors, strict=True)])
                embedded.update(b.paper_id for b in batch)
                steps, after = steps + len(batch), batch[-1].paper_id
                if on_progress:
                    on_progress(IndexProgress(steps, max(total, steps)))
                if keep_going is not None and not keep_going(len(batch)):
                    return len(embedded)
        return len(embedded)

    def backfill_status(self) -> BackfillStatus | None:
        """See ``Hub.backfill_status``."""
        model = self.embedder_name()
        return None if model is None else self.backfill.status(model)

    # -- embedding in the background (background.py) -------------------------------------------

    def start_background_embedding(self) -> bool:
        """See ``Hub.start_background_embedding``."""
        from .background import BackgroundEmbedder

        if self.background is not None or not self.settings.background_embed or self.embedder_name() is None:
            return False
        self.background = BackgroundEmbedder(self._embedding_pass)
        self.background.start()
        return True

    def stop_background_embedding(self) -> None:
        background, self.background = self.background, None
        if background is not None:
            background.stop()

    def _embedding_pass(self, step_done: Callable[[int], bool], batch: int) -> int | None:
        def counted(papers: int) -> bool:
            self.not_embedded = None  # searches count again
            return step_done(papers)

        with self._exclusive(EMBED_LOCK) as lock:
            if lock is None:
                return None  # another process embeds
            engine = self.engine()
            if self.embedder is None or not engine.semantic_available:
                return 0
            # A worker of the backfill like `broadsheet index`, but one that leaves the batches
            # other workers hold to them instead of waiting for them.
            return self.backfill.run(self.embedder, batch_size=batch, wait=False, keep_going=counted)

    def embedder_name(self) -> str | None:
        from .embedders import embedder_name

        return embedder_name(self.settings.embedder)

    def embedding_status(self) -> EmbeddingStatus:
        """See ``Hub.embedding_status``."""
        model = self.embedder_name()
        papers = self._storage.counts_of_papers()
        if model is None:
            return EmbeddingStatus(None, papers, 0, background="disabled")
        embedded = papers - self._storage.vectors.count_stale(model)
        bg = self.background
        holder = self._storage.lock_holder(EMBED_LOCK, self._now())
        holder = None if holder and holder_is_dead(holder) else holder  # killed: its lease is void
        if bg is None:
            return EmbeddingStatus(model, papers, embedded, background="off", holder=holder)
        return EmbeddingStatus(model, papers, embedded, bg.state, holder, bg.rate, bg.error)


def decode_cursor(cursor: str | None) -> int:
    if cursor is None or cursor == "":
        return 0
    if not cursor.isdigit() or int(cursor) > 10_000:
        raise InvalidInputError(f"invalid cursor {cursor!r}")
    return int(cursor)
