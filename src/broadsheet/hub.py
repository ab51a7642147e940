"""The Hub: every use case is one method. The CLI and the web app are thin shells over it.

    hub = make_hub(load_settings())
    report = hub.ingest_paths(["papers.jsonl.gz"])
    hub.get_paper("2104.12255")

The Hub owns the clock (``now``), so tests can set the time.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from . import accounts
from .config import Settings
from .exceptions import (
    AuthenticationError,
    BroadsheetError,
    InvalidArxivIdError,
    InvalidInputError,
    NotFoundError,
    PaperNotFoundError,
    PermissionDeniedError,
    SourceError,
    UserNotFoundError,
)
from .ids import is_arxiv_id, parse_paper_id
from .ingest import ingest
from .storage import Storage, open_storage
from .storage.locks import Lock
from .trending import age_hours, as_of_time, rank
from .types import (
    BatchPlan,
    CopyProgress,
    Comment,
    Digest,
    DigestPeriod,
    DigestRun,
    EmbeddingStatus,
    Feed,
    FeedEntry,
    IngestReport,
    Listing,
    OutboxMessage,
    Paper,
    PaperData,
    Query,
    RecommendationPage,
    SearchFilters,
    SearchHit,
    SearchPage,
    SourceItem,
    Stats,
    SyncProgress,
    SyncReport,
    Submission,
    Subscription,
    User,
)

if TYPE_CHECKING:
    from .digest.deliver import Mailer
    from .digest.render import MailSite
    from .personal.evaluate import RecsEvaluation
    from .personal.foryou import ForYou
    from .search.embedders import Embedder
    from .search.background import BackgroundEmbedder
    from .search.engine import SearchEngine
    from .search.fusion import Fused, FusionParams
    from .search.lexical import IndexStatus
    from .sync.http import HttpEdge, Pacer
    from .search.vectors_db import DatabaseVectorIndex


OPTIMIZE_AFTER = 10_000  # papers written by one ingest before the full-text index is compacted
SYNC_EMBED_CHUNK = 1000  # papers a sync embeds per index_embeddings call
EMBED_LOCK = "embed-background"  # held by the one process embedding in the background
NOT_EMBEDDED_TTL = 10.0  # seconds a search reuses its count of papers without a vector
MAX_COMMENT = 10_000  # characters of markdown in one comment
SEARCH_COUNT = 100  # results a search counts at least (= the fusion's depth: the ranking stays the same)
SEARCH_SORT_POOL = 1000  # the best results that a search sorted by date or upvotes orders

# What `submit_paper` calls for a paper that is not in the database: fetch it from a live source,
# store it and return it; raise PaperNotFoundError when the source has no such paper, SourceError
# when it cannot be reached. `broadsheet serve` passes `Hub.fetch_arxiv_paper` (unless the
# `submit_fetch` setting is off); without one a missing paper is reported as not found.
PaperFetcher = Callable[[str], Paper]


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True, slots=True)
class IndexProgress:
    """Where a running `broadsheet index` is."""

    done: int
    total: int


@dataclass(frozen=True, slots=True)
class IngestProgress:
    """Where a running ingest is: for progress bars."""

    path: str
    bytes_done: int
    bytes_total: int
    papers_seen: int
    rejected: int


class Hub:
    """The facade over storage, ingest and search (digests and the rest join it, issue by issue)."""

    def __init__(
        self,
        settings: Settings,
        storage: Storage,
        *,
        now: Callable[[], datetime] = _utcnow,
        fetch_paper: PaperFetcher | None = None,
        mailer: Mailer | None = None,
    ) -> None:
        self.settings = settings
        self._storage = storage
        self._now = now
        self.fetch_paper = fetch_paper
        # Bumped by every write through this Hub: caches of pages built from the data compare it.
        self.data_version = 0
        self._engine: SearchEngine | None = None
        self._embedder: Embedder | None = None
        self._search_lock = threading.Lock()
        self._pacers: dict[str, Pacer] = {}  # one per live source: spaces requests across calls and threads
        # Digests: the SMTP edge (tests pass a fake; None: SmtpMailer from the settings), the key
        # that signs email links, and this Hub's name as a holder of the outbox lease.
        self._mailer: Mailer | None = mailer
        self._secret: bytes | None = None
        self._holder = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self._lease_renewed = 0.0
        self._outbox: Lock | None = None  # the outbox's lock while this Hub sends
        self._background: BackgroundEmbedder | None = None
        self._not_embedded: tuple[float, int] | None = None  # (when counted, count)
        self._foryou: ForYou | None = None  # made on first use: it imports numpy and scikit-learn

    def close(self) -> None:
        self.stop_background_embedding()
        if self._engine is not None:
            self._engine.close()
        self._storage.close()

    # -- ingest -------------------------------------------------------------------------------

    def add_papers(self, items: Iterable[SourceItem], *, on_batch: Callable[[BatchPlan], None] | None = None) -> IngestReport:
        """Upsert papers and listings by arXiv id; bad records come back in ``report.rejected``."""
        report = ingest(
            self._storage.papers,
            items,
            now=self._now,
            batch_size=self.settings.ingest_batch_size,
            on_batch=on_batch,
        )
        self.data_version += 1
        return report

    def ingest_paths(
        self,
        paths: Sequence[str | Path],
        *,
        on_progress: Callable[[IngestProgress], None] | None = None,
    ) -> IngestReport:
        """Ingest files of any supported format (see ``broadsheet.sources.files``). A file that cannot
        be read, at all or part-way, is one ``Rejected`` named after the file (what came before the
        damage lands), and the next file is read."""
        from .sources.files import read_file_reporting
        from .types import Rejected

        total = IngestReport()
        max_bytes = self.settings.ingest_max_document_mb * 2**20
        for path in paths:
            path = Path(path)
            try:  # a file that cannot be read is reported, and the next one read
                size = path.stat().st_size
                raw = path.open("rb")
            except OSError as e:
                total = _add_reports(total, IngestReport(rejected=(Rejected(path.name, f"cannot open: {e}"),)))
                continue
            seen = rejected = 0
            with raw:

                def progress(plan: BatchPlan) -> None:
                    nonlocal seen, rejected
                    seen += len(plan.new) + len(plan.changed) + plan.unchanged
                    rejected += len(plan.rejected)
                    if on_progress:
                        on_progress(IngestProgress(str(path), min(raw.tell(), size), size, seen, rejected))

                report = self.add_papers(read_file_reporting(raw, path.name, max_bytes=max_bytes), on_batch=progress)
            total = _add_reports(total, report)
        if total.added + total.updated >= OPTIMIZE_AFTER:
            self._storage.papers.optimize_fulltext()
        return total

    # -- papers -------------------------------------------------------------------------------

    def get_paper(self, arxiv_id: str) -> Paper:
        """The paper with this id (any version suffix is ignored); raises PaperNotFoundError."""
        key, _ = parse_paper_id(arxiv_id)
        paper = self._storage.papers.get(key)
        if paper is None:
            raise PaperNotFoundError(key)
        return paper

    def get_newest_papers(self, limit: int = 30, offset: int = 0) -> list[Paper]:
        return self._storage.papers.newest(limit, offset)

    def get_listings(self, first: date, last: date | None = None) -> list[Listing]:
        """The daily feed from ``first`` to ``last`` (inclusive; one day when ``last`` is None)."""
        return self._storage.papers.listed_between(first, last or first)

    def latest_listing_day(self) -> date | None:
        return self._storage.papers.latest_listing_day()

    def get_first_listing(self, arxiv_id: str) -> Listing | None:
        """When and by whom the paper was first put on the daily list, or None if it never was."""
        return self._storage.papers.first_listing(parse_paper_id(arxiv_id)[0])

    # -- search -------------------------------------------------------------------------------

    def _search_engine(self) -> SearchEngine:
        """Built on first use: loading the embedding model takes a second."""
        with self._search_lock:
            if self._engine is None:
                from .search.embedders import make_embedder
                from .search.engine import LazyVectors, SearchEngine

                self._embedder = make_embedder(self.settings.embedder)
                lexical_in_db, vectors_in_db = self._search_in_database()
                vectors: LazyVectors | DatabaseVectorIndex | None = None
                if self._embedder and vectors_in_db and self._storage.vector_search is not None:
                    from .search.vectors_db import DatabaseVectorIndex  # noqa: F811 - imported for use

                    vectors = DatabaseVectorIndex(
                        self._storage.vectors, self._storage.vector_search, self._embedder.name, self._embedder.dim
                    )
                elif self._embedder:
                    vectors = LazyVectors(self._storage.vectors, self._embedder.name, self._embedder.dim)
                # In the database: the full-text index ranks every query (FTS5's bm25(), ts_rank).
                self._engine = SearchEngine(self._storage.fulltext, vectors, self._embedder, bm25_in_memory=not lexical_in_db)
            return self._engine

    def _search_in_database(self) -> tuple[bool, bool]:
        """Whether lexical ranking, and semantic search, happen in the database (the settings
        ``lexical_index`` and ``vector_index``)."""
        lexical, vectors = self.settings.lexical_index, self.settings.vector_index
        if lexical not in ("memory", "database"):
            raise InvalidInputError(f"setting lexical_index: {lexical!r} is not memory or database")
        if vectors not in ("auto", "memory", "database"):
            raise InvalidInputError(f"setting vector_index: {vectors!r} is not auto, memory or database")
        if vectors == "database" and not self._storage.is_postgres:
            raise InvalidInputError("setting vector_index = database needs PostgreSQL (SQLite has no vector index)")
        return lexical == "database", vectors == "database" or (vectors == "auto" and self._storage.is_postgres)

    def warm_up(self, *, wait: bool = False) -> None:
        """Get search ready for a long-running process: load the model and the vectors, and build
        the in-memory BM25 index (in a background thread unless ``wait``; until it is built,
        search ranks with FTS5, the same scores, slower). One-shot commands skip this."""
        self._search_engine().warm_up(wait=wait)

    def search_index_status(self) -> IndexStatus | None:
        """The in-memory lexical index: built, current, failures (None: the database ranks)."""
        return self._search_engine().lexical_status()

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
        """Papers for a query (see ``broadsheet.search.query`` for the language), best first (or by
        ``sort``: ``date``, ``upvotes``, over the best ``SEARCH_SORT_POOL``), each with why it
        matched, and how many there are. InvalidInputError for a malformed query, mode, sort or cursor."""
        from .search.query import parse_query

        if not 1 <= limit <= 100:
            raise InvalidInputError(f"limit must be between 1 and 100, not {limit}")
        offset = _decode_cursor(cursor)
        parsed = parse_query(query)
        if filters:
            parsed = dataclasses.replace(
                parsed,
                categories=parsed.categories + filters.categories,
                authors=parsed.authors + filters.authors,
                since=filters.since or parsed.since,
                until=filters.until or parsed.until,
            )
        if parsed.is_empty:
            raise InvalidInputError("empty query: type some words, or use filters such as cat:cs.LG")
        from .trending import order_results

        engine = self._search_engine()
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
        if (cached := self._not_embedded) and time.monotonic() - cached[0] < NOT_EMBEDDED_TTL:
            return cached[1]
        assert self._embedder is not None
        n = self._storage.vectors.count_stale(self._embedder.name)
        self._not_embedded = (time.monotonic(), n)
        return n

    def _hits(self, parsed: Query, page: Sequence[Fused]) -> list[SearchHit]:
        from .search.explain import best_window, mark, matched_terms, query_stems

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

    def similar(self, arxiv_id: str, limit: int = 10) -> list[SearchHit]:
        """Papers like this one: nearest by meaning, or by shared words until it has a vector."""
        from .search.explain import lead

        paper = self.get_paper(arxiv_id)
        pid = self._storage.papers.ids_of([paper.arxiv_id])[paper.arxiv_id]
        ranked = self._search_engine().similar(pid, limit)
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
        """Embed papers that have no vector, or whose text changed since; return how many.

        Resumable: each batch is committed, and a re-run picks up what is still missing. With
        ``arxiv_ids``, only those papers (a just-submitted paper is embedded at once this way).
        ``batch_size`` papers are embedded at a time (default: the ``index_batch_size`` setting);
        ``keep_going(papers)`` is called after each batch, and stops the run when it returns False.
        """
        engine = self._search_engine()
        embedder = self._embedder
        if embedder is None or not engine.semantic_available:
            return 0
        import numpy as np

        from .search.embedders import document_text, passages_key

        store = self._storage.vectors
        among = list(self._storage.papers.ids_of(arxiv_ids).values()) if arxiv_ids is not None else None
        if among == []:
            return 0
        kinds = (embedder.name, passages_key(embedder.name))  # whole papers, then their long tails
        if on_progress is None:
            total = 0
        else:
            total = sum(store.count_stale(k) for k in kinds) if among is None else 2 * len(among)
        size = batch_size or self.settings.index_batch_size
        embedded: set[int] = set()
        steps = 0
        for kind in kinds:
            after = 0
            while batch := store.stale(kind, size, after, among):
                if kind == embedder.name:
                    vectors = list(embedder.embed([document_text(b.title, b.abstract) for b in batch]))
                else:  # k passages a paper (often none): embedded together, stored one row a paper
                    texts = [embedder.tail_passages(b.title, b.abstract) for b in batch]
                    every = [t for ts in texts for t in ts]  # at most ``size`` texts a call, like the papers
                    flat = np.concatenate([embedder.embed(every[i : i + size]) for i in range(0, len(every), size)]) if every else None
                    ends = np.cumsum([len(ts) for ts in texts])
                    vectors = [
                        flat[end - len(ts) : end] if flat is not None else np.empty((0, embedder.dim), np.float32)
                        for ts, end in zip(texts, ends, strict=True)
                    ]
                store.put(kind, [(b.paper_id, b.content_hash, v) for b, v in zip(batch, vectors, strict=True)])
                embedded.update(b.paper_id for b in batch)
                steps, after = steps + len(batch), batch[-1].paper_id
                if on_progress:
                    on_progress(IndexProgress(steps, max(total, steps)))
                if keep_going is not None and not keep_going(len(batch)):
                    return len(embedded)
        return len(embedded)

    # -- embedding in the background (search/background.py) ----------------------------------

    def start_background_embedding(self) -> bool:
        """Embed what is missing in a low-priority background thread, now and as papers arrive,
        until ``close()``: what `serve` and `worker` do (unless ``background_embed`` is off or
        there is no embedder). One process at a time embeds (the ``embed-background`` lock)."""
        from .search.background import BackgroundEmbedder

        if self._background is not None or not self.settings.background_embed or self._embedder_name() is None:
            return False
        self._background = BackgroundEmbedder(self._embedding_pass)
        self._background.start()
        return True

    def stop_background_embedding(self) -> None:
        background, self._background = self._background, None
        if background is not None:
            background.stop()

    def _embedding_pass(self, step_done: Callable[[int], bool], batch: int) -> int | None:
        def counted(papers: int) -> bool:
            self._not_embedded = None  # searches count again
            return step_done(papers)

        with self.exclusive(EMBED_LOCK) as lock:
            if lock is None:
                return None  # another process embeds
            return self.index_embeddings(batch_size=batch, keep_going=counted)

    def _embedder_name(self) -> str | None:
        from .search.embedders import embedder_name

        return embedder_name(self.settings.embedder)

    def embedding_status(self) -> EmbeddingStatus:
        """How many papers have an up-to-date vector, and what background embedding is doing:
        for `broadsheet info`, `ingest` and the admin status page."""
        model = self._embedder_name()
        papers = self._storage.counts_of_papers()
        if model is None:
            return EmbeddingStatus(None, papers, 0, background="disabled")
        embedded = papers - self._storage.vectors.count_stale(model)
        bg = self._background
        holder = self._storage.lock_holder(EMBED_LOCK, self._now())
        holder = None if holder and _holder_is_dead(holder) else holder  # killed: its lease is void
        if bg is None:
            return EmbeddingStatus(model, papers, embedded, background="off", holder=holder)
        return EmbeddingStatus(model, papers, embedded, bg.state, holder, bg.rate, bg.error)

    # -- live sources (broadsheet.sync; docs/dev.md "Live sources") ----------------------------
    # Each sync stores page by page through add_papers and returns a SyncReport; with ``embed``
    # (default: the sync_embed setting) the papers it added or changed are embedded right after.
    # A scheduler calls these methods as they are.

    def sync_arxiv(
        self,
        categories: Sequence[str] = (),
        query: str | None = None,
        since: date | None = None,
        until: date | None = None,
        *,
        base_url: str | None = None,
        delay: float | None = None,
        page_size: int | None = None,
        max_results: int | None = None,
        embed: bool | None = None,
        on_progress: Callable[[SyncProgress], None] | None = None,
    ) -> SyncReport:
        """Papers from the arXiv export API: in any of ``categories``, matching ``query`` (arXiv's
        query syntax), last updated from ``since`` to ``until``. Raises InvalidInputError for an
        empty or malformed search; network trouble ends up in ``report.problems``."""
        from .sync.arxiv import build_search, run_search

        s = self.settings
        search = build_search(
            categories, query, since, until,
            page_size=page_size or s.arxiv_page_size, max_results=max_results or s.arxiv_max_results,
        )  # fmt: skip
        with self._sync_edge("arxiv-api", s.arxiv_api_delay if delay is None else delay) as edge:
            report = run_search(edge, base_url or s.arxiv_api_url, search, self._sync_sink, on_progress)
        return self._after_sync(report, embed, on_progress)

    def sync_oai(
        self,
        set_spec: str | None = None,
        from_: date | None = None,
        until: date | None = None,
        metadata_prefix: str = "arXiv",
        *,
        full: bool = False,
        base_url: str | None = None,
        delay: float | None = None,
        embed: bool | None = None,
        on_progress: Callable[[SyncProgress], None] | None = None,
    ) -> SyncReport:
        """Harvest arXiv OAI-PMH ``ListRecords`` (format ``arXiv`` or ``oai_dc``), resumably: a run
        with the same arguments goes on from where an interrupted one stopped. Without ``from_``,
        it starts at the day the last finished harvest of this set began (``full``: from the
        beginning)."""
        from .sync._run import ClockedState
        from .sync.oai import Harvest, default_from, harvest

        s = self.settings
        state = ClockedState(self._storage.sync_state, self._now)
        job = Harvest(base_url or s.oai_url, metadata_prefix, set_spec, from_, until)
        if from_ is None and not full:
            job = dataclasses.replace(job, from_=default_from(state.get(job.done_key)))
        with self._sync_edge("oai-pmh", s.oai_delay if delay is None else delay) as edge:
            report = harvest(edge, job, state, self._sync_sink, on_progress)
        return self._after_sync(report, embed, on_progress)

    def sync_hf_daily(
        self,
        day: date | None = None,
        since: date | None = None,
        until: date | None = None,
        *,
        base_url: str | None = None,
        delay: float | None = None,
        embed: bool | None = None,
        enrich: bool | None = None,
        on_progress: Callable[[SyncProgress], None] | None = None,
    ) -> SyncReport:
        """Hugging Face daily papers of ``day``, or ``since`` .. ``until`` (default today), or the
        last ``hf_days`` days: papers with their listings, upvotes, submitters, repos, pages.
        With ``enrich`` (default: the ``arxiv_enrich`` setting), the papers it brought get their
        arXiv metadata (categories, ...) from the export API right after (``enrich_arxiv``)."""
        from .sync.hf import days_to_fetch, sync_days

        s = self.settings
        days = days_to_fetch(day, since, until, today=self._now().date(), default_days=s.hf_days)
        with self._sync_edge("hf-daily", s.hf_delay if delay is None else delay) as edge:
            report = sync_days(edge, base_url or s.hf_api_url, days, self._sync_sink, on_progress)
        if report.changed_ids and (s.arxiv_enrich if enrich is None else enrich):
            from .sync.enrich import with_enrichment

            report = with_enrichment(report, self.enrich_arxiv(report.changed_ids, embed=False, on_progress=on_progress))
        return self._after_sync(report, embed, on_progress)

    def enrich_arxiv(
        self,
        arxiv_ids: Sequence[str] | None = None,
        *,
        base_url: str | None = None,
        delay: float | None = None,
        embed: bool | None = None,
        on_progress: Callable[[SyncProgress], None] | None = None,
    ) -> SyncReport:
        """Fetch arXiv metadata (categories, comments, DOI, journal reference, version) for papers
        that lack it (Hugging Face records): all of them, or those among ``arxiv_ids``; batched
        ``id_list`` requests, paced with every other arXiv API request (``sync/enrich.py``)."""
        from .sync.enrich import enrich

        s = self.settings
        ids = self._storage.papers.lacking_arxiv_metadata(arxiv_ids)
        with self._sync_edge("arxiv-api", s.arxiv_api_delay if delay is None else delay) as edge:
            report = enrich(
                edge, base_url or s.arxiv_api_url, ids, self._sync_sink,
                lambda asked: self._storage.papers.mark_arxiv_checked(asked, self._now()),
                batch=s.arxiv_enrich_batch, on_progress=on_progress,
            )  # fmt: skip
        return self._after_sync(report, embed, on_progress)

    def count_lacking_arxiv_metadata(self) -> int:
        """Papers ``enrich_arxiv`` would ask arXiv about."""
        return len(self._storage.papers.lacking_arxiv_metadata())

    def fetch_arxiv_paper(
        self,
        arxiv_id: str,
        *,
        refresh: bool = False,
        base_url: str | None = None,
        delay: float | None = None,
        embed: bool | None = None,
        interactive: bool = True,
    ) -> Paper:
        """The paper with this arXiv id, fetched from the arXiv export API when it is not stored yet
        (or always, with ``refresh``), then stored and embedded: what a submission of a missing
        paper calls. One request, paced with every other arXiv API request of this Hub; someone
        waits for it, so one try within ``submit_fetch_timeout`` seconds (``interactive=False``:
        a sync's retries and timeouts).

        Raises InvalidArxivIdError for a malformed id, PaperNotFoundError when arXiv has no such
        paper, SourceError when arXiv cannot be reached."""
        from .ids import parse_arxiv_id
        from .sync.arxiv import fetch_ids

        key, _ = parse_arxiv_id(arxiv_id)
        if not refresh and (stored := self._storage.papers.get(key)) is not None:
            return stored
        s = self.settings
        with self._sync_edge("arxiv-api", s.arxiv_api_delay if delay is None else delay, interactive) as edge:
            page = fetch_ids(edge, base_url or s.arxiv_api_url, [key])
        found = [i for i in page.items if isinstance(i, PaperData) and i.arxiv_id == key]
        if not found:
            raise PaperNotFoundError(key)
        _, changed = self._sync_sink(found[:1])
        if changed and (s.sync_embed if embed is None else embed):
            self.index_embeddings(arxiv_ids=[key])
        return self.get_paper(key)

    def _sync_edge(self, source: str, delay: float, interactive: bool = False) -> HttpEdge:
        from .sync._run import make_edge
        from .sync.http import Pacer

        pacer = self._pacers.setdefault(source, Pacer())
        return make_edge(self.settings, delay, pacer, interactive=interactive)

    def _sync_sink(self, items: Sequence[SourceItem]) -> tuple[IngestReport, list[str]]:
        """Store one page; return the report and the arXiv ids it added or changed."""
        changed: list[str] = []

        def collect(plan: BatchPlan) -> None:
            changed.extend(p.arxiv_id for p in (*plan.new, *plan.changed))

        return self.add_papers(items, on_batch=collect), changed

    def _after_sync(
        self, report: SyncReport, embed: bool | None, on_progress: Callable[[SyncProgress], None] | None
    ) -> SyncReport:
        """Compact the full-text index after a large sync, and embed what it changed."""
        if report.added + report.updated >= OPTIMIZE_AFTER:
            self._storage.papers.optimize_fulltext()
        if not report.changed_ids or not (self.settings.sync_embed if embed is None else embed):
            return report
        ids, done = report.changed_ids, 0

        def show(p: IndexProgress) -> None:
            if on_progress:
                on_progress(SyncProgress(report.source, report.pages, done + p.done, len(ids), phase="embedding"))

        try:
            for start in range(0, len(ids), SYNC_EMBED_CHUNK):  # bounded IN (...) lists
                done += self.index_embeddings(arxiv_ids=ids[start : start + SYNC_EMBED_CHUNK], on_progress=show)
        except BroadsheetError as e:
            problem = f"embedding stopped: {e} (`broadsheet index` finishes it)"
            return dataclasses.replace(report, embedded=done, problems=(*report.problems, problem))
        return dataclasses.replace(report, embedded=done)

    # -- feeds --------------------------------------------------------------------------------

    def get_feed(
        self,
        first: date,
        last: date,
        *,
        sort: str = "trending",
        limit: int = 30,
        offset: int = 0,
        submitter: str | None = None,
    ) -> Feed:
        """One page of the papers listed from ``first`` to ``last``: by trending score as of the
        end of ``last`` (or now, if earlier), or newest first. See ``broadsheet.trending``.
        With ``submitter``, only the listings that user name (any case) submitted."""
        feed = self._feed(first, last, as_of_time(self._now(), last), sort, limit, offset, submitter)
        before, after = self._storage.browse.listed_days_around(first, last)
        return dataclasses.replace(feed, previous_day=before, next_day=after)

    def get_trending(self, *, limit: int = 30, offset: int = 0) -> Feed:
        """The papers listed in the ``trending_days`` up to the last listed day, by trending score
        as of now (or the end of that day, for a database that nothing has been listed in since)."""
        last = self._storage.papers.latest_listing_day()
        now = self._now()
        if last is None:
            return Feed((), 0, now.date(), now.date(), "trending", now)
        first = last - timedelta(days=max(1, self.settings.trending_days) - 1)
        return self._feed(first, last, as_of_time(now, last), "trending", limit, offset)

    def _feed(
        self, first: date, last: date, as_of: datetime, sort: str, limit: int, offset: int, submitter: str | None = None
    ) -> Feed:
        rows = self._storage.browse.listing_rows(first, last)
        if submitter is not None:
            who = submitter.strip().casefold()
            rows = [r for r in rows if (r.submitter or "").casefold() == who]
        ranked = rank(rows, as_of, self.settings.trending_gravity, sort)
        page = ranked[offset : offset + limit]
        papers = self._storage.papers.by_ids([r.paper_id for r, _ in page])
        entries = tuple(
            FeedEntry(papers[r.paper_id], r.listed_on, r.submitter, score, age_hours(r.listed_on, as_of))
            for r, score in page
            if r.paper_id in papers
        )
        return Feed(entries, len(ranked), first, last, sort, as_of)

    def get_papers_by_author(self, name: str, *, limit: int = 30, offset: int = 0) -> list[Paper]:
        """Papers with an author of this name (any case or accents), newest first."""
        from .text import name_key

        return self._papers_in_order(self._storage.browse.by_author(name_key(name), limit, offset))

    def get_papers_in_category(self, code: str, *, limit: int = 30, offset: int = 0) -> list[Paper]:
        """Papers filed under an arXiv category (``cs.LG``) or a whole archive (``cs``), newest first."""
        return self._papers_in_order(self._storage.browse.in_category(code.strip(), limit, offset))

    def _papers_in_order(self, pids: Sequence[int]) -> list[Paper]:
        found = self._storage.papers.by_ids(pids)
        return [found[p] for p in pids if p in found]

    # -- For you (personal/foryou.py) ----------------------------------------------------------

    @property
    def _for_you(self) -> ForYou:
        if self._foryou is None:
            from .personal.foryou import ForYou

            self._foryou = ForYou(self._storage, self._now, lambda: self.data_version, self._embedder_name)
        return self._foryou

    def recommend(self, user: User, *, window: str = "week", day: date | None = None, limit: int = 50) -> RecommendationPage:
        """``user``'s papers new in the window (``today``, ``week``, ``month``, ending on ``day``:
        default today, or the last day with papers), ranked by a model of what they saved,
        upvoted, dismissed and follow, each with why; mutes hide papers (counted)."""
        return self._for_you.recommend(user, window=window, day=day, limit=limit)

    def evaluate_recommendations(
        self,
        interactions: Path,
        cutoff: date,
        *,
        k: int = 20,
        allow_authors: bool = False,
        on_user: Callable[[int, int], None] | None = None,
    ) -> RecsEvaluation:
        """Recall@k and nDCG@k of the shipped model and the baselines on a file of interactions
        split at ``cutoff`` (see ``broadsheet.personal.evaluate``)."""
        from .personal.evaluate import evaluate

        return evaluate(self._storage, interactions, cutoff, k=k, embedder=self._embedder_name(), allow_authors=allow_authors, on_user=on_user)

    # -- accounts -----------------------------------------------------------------------------

    def create_user(self, name: str, password: str, *, email: str | None = None, is_admin: bool = False) -> User:
        """A new account; InvalidInputError for a bad name, email or password, ConflictError when the
        name or email is taken."""
        name = accounts.check_name(name)
        email = accounts.check_email(email) if email else None
        password_hash = accounts.hash_password(accounts.check_password(password))
        return self._storage.users.create(name, email, password_hash, is_admin=is_admin, now=self._now())

    def get_user(self, name: str) -> User:
        found = self._storage.users.by_name(name)
        if found is None:
            raise UserNotFoundError(name)
        return found[0]

    def set_admin(self, name: str, is_admin: bool) -> User:
        user = self.get_user(name)
        self._storage.users.set_admin(user.id, is_admin)
        return dataclasses.replace(user, is_admin=is_admin)

    def log_in(self, login: str, password: str) -> tuple[User, str]:
        """Check a name (or email) and password; return the user and a new session token.
        Raises AuthenticationError, whichever part was wrong."""
        found = self._storage.users.by_login(login.strip()) if login.strip() else None
        ok, rehash = accounts.verify_password(found[1] if found else None, password)
        if not ok or found is None:
            raise AuthenticationError("wrong user name or password")
        user = found[0]
        if rehash:
            self._storage.users.set_password_hash(user.id, accounts.hash_password(password))
        token = accounts.new_token()
        now = self._now()
        self._storage.users.add_session(
            user.id, accounts.token_hash(token), now, now + timedelta(days=self.settings.session_days)
        )
        return user, token

    def user_for_session(self, token: str) -> User | None:
        """The user a session token belongs to, or None (unknown, expired or logged out)."""
        if not token:
            return None
        return self._storage.users.user_for_session(accounts.token_hash(token), self._now())

    def log_out(self, token: str) -> None:
        self._storage.users.delete_session(accounts.token_hash(token))

    def change_password(self, user: User, current: str, new: str, *, keep_session: str | None = None) -> None:
        """Set a new password after checking the current one; every other session is logged out."""
        found = self._storage.users.by_name(user.name)
        ok, _ = accounts.verify_password(found[1] if found else None, current)
        if not ok:
            raise AuthenticationError("the current password is wrong")
        self._storage.users.set_password_hash(user.id, accounts.hash_password(accounts.check_password(new)))
        self._storage.users.delete_sessions(user.id, keep=accounts.token_hash(keep_session) if keep_session else None)

    def set_password(self, name: str, new: str) -> User:
        """Set ``name``'s password without the current one (`broadsheet user set-password`); every
        session of the account ends."""
        user = self.get_user(name)
        self._storage.users.set_password_hash(user.id, accounts.hash_password(accounts.check_password(new)))
        self._storage.users.delete_sessions(user.id)
        return user

    def request_password_reset(self, login: str) -> bool:
        """Email a reset link (signed, single-use, expiring) through the outbox to the account named
        ``login`` (name or email). False when there is no such account with an address: callers
        must not tell the visitor which (see ``digest.reset``)."""
        from .digest.reset import request_reset

        return request_reset(self._storage, self._mail_site(), self._signing_key(), login, self._now(),
                             self.settings.password_reset_minutes, lambda did: self._deliver(only={did}))  # fmt: skip

    def password_reset_user(self, token: str) -> User:
        """The account a reset link is for; InvalidInputError when it is not valid, expired or used."""
        from .digest.reset import check_token

        return check_token(self._storage, self._signing_key(), token, self._now(), self.settings.password_reset_minutes)[0]

    def reset_password(self, token: str, new: str) -> User:
        """Set a new password through a reset link (which then stops working); sessions end."""
        from .digest.reset import reset_password

        return reset_password(self._storage, self._signing_key(), token, new, self._now(), self.settings.password_reset_minutes)

    def set_email(self, user: User, email: str) -> User:
        email = accounts.check_email(email) if email.strip() else ""
        self._storage.users.set_email(user.id, email or None)
        return dataclasses.replace(user, email=email or None)

    def new_api_token(self, user: User) -> str:
        """A new API token for ``user`` (the previous one stops working). Only its hash is kept:
        show it once."""
        token = accounts.new_token()
        self._storage.users.set_api_token_hash(user.id, accounts.token_hash(token))
        return token

    def revoke_api_token(self, user: User) -> None:
        self._storage.users.set_api_token_hash(user.id, None)

    def has_api_token(self, user: User) -> bool:
        return self._storage.users.has_api_token(user.id)

    def user_for_api_token(self, token: str) -> User | None:
        return self._storage.users.by_api_token_hash(accounts.token_hash(token)) if token else None

    # -- community ----------------------------------------------------------------------------

    def _paper_id(self, arxiv_id: str, viewer: User | None) -> tuple[Paper, int]:
        """The paper and its internal id; a hidden paper is not found except by an admin."""
        paper = self.get_paper(arxiv_id)
        if paper.hidden and not (viewer and viewer.is_admin):
            raise PaperNotFoundError(paper.arxiv_id)
        return paper, self._storage.papers.ids_of([paper.arxiv_id])[paper.arxiv_id]

    def set_vote(self, user: User, arxiv_id: str, on: bool = True) -> Paper:
        """Upvote a paper (``on``) or withdraw the vote; one vote per user and paper, so repeating
        either changes nothing. Returns the paper with its new count."""
        paper, pid = self._paper_id(arxiv_id, user)
        self._storage.community.set_vote(user.id, pid, on, self._now())
        self.data_version += 1
        return self.get_paper(paper.arxiv_id)

    def voted(self, user: User | None, arxiv_ids: Sequence[str]) -> set[str]:
        """Which of these papers ``user`` has upvoted."""
        if user is None or not arxiv_ids:
            return set()
        ids = self._storage.papers.ids_of(list(arxiv_ids))
        mine = self._storage.community.voted_among(user.id, list(ids.values()))
        return {a for a, pid in ids.items() if pid in mine}

    def add_comment(self, user: User, arxiv_id: str, body: str, *, parent_id: int | None = None) -> Comment:
        """Comment on a paper (markdown), or reply to a top-level comment of the same paper."""
        body = body.strip()
        if not body:
            raise InvalidInputError("a comment cannot be empty")
        if len(body) > MAX_COMMENT:
            raise InvalidInputError(f"a comment has at most {MAX_COMMENT:,} characters")
        paper, pid = self._paper_id(arxiv_id, user)
        if parent_id is not None:
            parent = self._storage.community.get_comment(parent_id) if _is_row_id(parent_id) else None
            if parent is None or parent.arxiv_id != paper.arxiv_id or parent.hidden:
                raise InvalidInputError("you can only reply to a visible comment on the same paper")
            if parent.parent_id is not None:
                raise InvalidInputError("replies are one level deep: reply to the comment above it")
        cid = self._storage.community.add_comment(pid, user.id, body, parent_id, self._now())
        self.data_version += 1
        comment = self._storage.community.get_comment(cid)
        assert comment is not None
        return comment

    def get_comments(self, arxiv_id: str, *, include_hidden: bool = False) -> list[Comment]:
        """A paper's comments, oldest first (replies point to their parent with ``parent_id``).
        Without ``include_hidden``, a hidden comment keeps its place with no author or text, so
        that the replies under it still make sense."""
        paper = self.get_paper(arxiv_id)
        pid = self._storage.papers.ids_of([paper.arxiv_id])[paper.arxiv_id]
        found = self._storage.community.comments_of(pid)
        if include_hidden:
            return found
        return [dataclasses.replace(c, author="", body="") if c.hidden else c for c in found]

    def submit_paper(self, user: User, arxiv_id: str) -> Submission:
        """Put a paper on today's list, submitted by ``user``, and embed it for search at once.

        A paper not in the database is fetched with ``fetch_paper`` when there is one (status
        ``not_on_arxiv`` when the source has no such paper, ``unreachable`` when it cannot be
        reached); without one the status is ``not_found``. InvalidArxivIdError for an id that is
        not an arXiv id (nor a local paper here)."""
        key, _ = parse_paper_id(arxiv_id)
        today = self._now().date()
        try:
            paper, pid = self._paper_id(key, user)
        except PaperNotFoundError:
            if not is_arxiv_id(key):
                raise InvalidArxivIdError(f"not an arXiv id: {arxiv_id!r}") from None
            if self.fetch_paper is None:
                return Submission(key, "not_found", today)
            try:
                self.fetch_paper(key)
            except PaperNotFoundError:
                return Submission(key, "not_on_arxiv", today)
            except SourceError:
                return Submission(key, "unreachable", today)
            paper, pid = self._paper_id(key, user)
        added = self._storage.community.add_listing(pid, today, user.id, user.name, self._now())
        self.data_version += 1
        if added:
            self.index_embeddings(arxiv_ids=[paper.arxiv_id])
        return Submission(paper.arxiv_id, "listed" if added else "already_listed", today, self.get_paper(key))

    # -- moderation ---------------------------------------------------------------------------

    @staticmethod
    def _require_admin(actor: User) -> None:
        if not actor.is_admin:
            raise PermissionDeniedError("only admins can do this")

    def admin_status(self, actor: User) -> EmbeddingStatus:
        """What the admin status page shows; raises PermissionDeniedError for anyone but an admin."""
        self._require_admin(actor)
        return self.embedding_status()

    def set_paper_hidden(self, actor: User, arxiv_id: str, hidden: bool = True) -> Paper:
        """Hide a paper from every list, search and page (admins still see it), or show it again."""
        self._require_admin(actor)
        paper, pid = self._paper_id(arxiv_id, actor)
        self._storage.community.set_paper_hidden(pid, hidden)
        self.data_version += 1
        return dataclasses.replace(paper, hidden=hidden)

    def set_comment_hidden(self, actor: User, comment_id: int, hidden: bool = True) -> Comment:
        self._require_admin(actor)
        if not _is_row_id(comment_id) or not self._storage.community.set_comment_hidden(comment_id, hidden):
            raise NotFoundError(f"no comment {comment_id}")
        self.data_version += 1
        comment = self._storage.community.get_comment(comment_id)
        assert comment is not None
        return comment

    # -- email digests (broadsheet.digest; docs/dev.md "Digests") -------------------------------

    def subscribe(
        self,
        email: str | None = None,
        *,
        frequency: str = "daily",
        trending_top: int | None = None,
        topics: Sequence[str] = (),
        user: User | None = None,
        confirmed: bool = False,
    ) -> Subscription:
        """Subscribe ``email`` (or ``user``'s address) to a digest. Unless ``confirmed`` (admins),
        it starts unconfirmed and a confirmation email with a signed, expiring link goes out:
        nothing else is sent to the address until the link is followed. Subscribing an address
        again with the same frequency changes what an unconfirmed subscription gets and sends a
        new link; a confirmed one is changed only by its logged-in owner."""
        from .digest.compose import check_content, check_frequency
        from .search.query import check_query

        address = email if email is not None else (user.email if user else None)
        if not address:
            raise InvalidInputError("an email address is needed: add one to your profile first" if user else "an email address is needed")
        address = accounts.check_email(address).lower()
        top, cleaned = check_content(self.settings.digest_trending_top if trending_top is None else trending_top, topics,
                                     lambda topic: check_query(topic, what="topic"))  # fmt: skip
        if not confirmed:
            self._mail_site()  # a confirmation email needs the site's address: say so before storing
        sub, changed = self._storage.digests.add_subscription(
            address, check_frequency(frequency), top, cleaned,
            user_id=user.id if user else None, now=self._now(), confirmed=confirmed,
        )  # fmt: skip
        if changed and sub.confirmed_at is None:
            self._send_confirmation(sub)
        return sub

    def _send_confirmation(self, sub: Subscription) -> None:
        from .digest.render import message_id_for, render_confirmation

        now = self._now()
        key = f"confirm:{sub.id}:{now:%Y%m%dT%H%M%S.%f}"
        site = self._mail_site()
        url = f"{site.base_url}/digest/confirm/{self._sign('confirm', sub)}"
        message = render_confirmation(
            site, sub.email, sub.frequency, sub.topics, sub.trending_top, url, message_id_for(key, site), now,
            self.settings.digest_confirm_days,
        )  # fmt: skip
        did = self._storage.digests.enqueue(sub.id, key, message_id_for(key, site), message, (), now)
        self._deliver(only={did} if did else set())  # at once if the outbox is free; else the running sender sends it

    def confirm_subscription(self, token: str) -> Subscription:
        """Follow a confirmation link: the subscription starts getting digests."""
        sid, email = self._unsign("confirm", token, self.settings.digest_confirm_days * 86400)
        sub = self._storage.digests.confirm(sid, email, self._now())
        self.data_version += 1  # pages about this link, cached for visitors, are out of date
        if sub is None:
            raise NotFoundError("this subscription no longer exists: subscribe again")
        return sub

    def subscription_for_token(self, token: str) -> Subscription | None:
        """The subscription an unsubscribe link names (None: already unsubscribed)."""
        sid, email = self._unsign("unsubscribe", token, None)
        sub = self._storage.digests.get_subscription(sid)
        return sub if sub and sub.email == email else None

    def unsubscribe(self, token: str) -> Subscription | None:
        """Follow an unsubscribe link (no login needed): the subscription and its waiting
        messages are deleted. Returns what was deleted (None: it was already gone)."""
        sub = self.subscription_for_token(token)
        if sub is not None:
            self._storage.digests.delete_subscription(sub.id, email=sub.email)
            self.data_version += 1
        return sub

    def get_subscriptions(self, user: User | None = None, *, frequency: str | None = None) -> list[Subscription]:
        """``user``'s subscriptions, or every subscription (admin CLI)."""
        return self._storage.digests.subscriptions(frequency=frequency, user_id=user.id if user else None)

    def delete_subscription(self, user: User, subscription_id: int) -> None:
        if not _is_row_id(subscription_id) or not self._storage.digests.delete_subscription(subscription_id, user_id=user.id):
            raise NotFoundError(f"you have no subscription {subscription_id}")

    def unsubscribe_url(self, sub: Subscription, *, site: MailSite | None = None) -> str:
        return f"{(site or self._mail_site()).base_url}/digest/unsubscribe/{self._sign('unsubscribe', sub)}"

    def confirmation_mail(self, sub: Subscription) -> OutboxMessage | None:
        """The newest confirmation email of ``sub`` in the outbox: sent, or why it waits."""
        return self._storage.digests.latest(subscription_id=sub.id, kind="confirm")

    def _signing_key(self) -> bytes:
        if self._secret is None:
            self._secret = accounts.load_secret(self.settings.secret_key, self.settings.data_dir())
        return self._secret

    def _sign(self, purpose: str, sub: Subscription) -> str:
        from .digest.tokens import sign

        return sign(self._signing_key(), purpose, f"{sub.id}:{sub.email}", self._now().replace(tzinfo=UTC).timestamp())

    def _unsign(self, purpose: str, token: str, max_age: float | None) -> tuple[int, str]:
        from .digest.tokens import verify

        payload = verify(self._signing_key(), purpose, token, self._now().replace(tzinfo=UTC).timestamp(), max_age)
        sid, _, email = payload.partition(":")
        if not sid.isdigit():
            raise InvalidInputError("this link is not valid")
        return int(sid), email

    def _mail_site(self, fallback_url: str = "") -> MailSite:
        from .digest.render import MailSite

        s = self.settings
        if not s.base_url and fallback_url:  # shown in the browser, never mailed
            return MailSite.of(s.site_name, fallback_url, s.mail_from)
        if not s.base_url:
            raise InvalidInputError(
                "this site cannot send emails with links yet: its admin has to set the base_url setting "
                "to the site's public address"
            )
        return MailSite.of(s.site_name, s.base_url, s.mail_from)

    def compose_digest(self, sub: Subscription, day: date, *, cache: dict[str, object] | None = None) -> Digest | None:
        """What ``sub`` would get in the digest sent on ``day`` (see ``digest.compose``)."""
        from .digest.compose import compose, digest_period

        cache = {} if cache is None else cache
        period = digest_period(sub.frequency, day)
        trending: list[Paper] = []
        if sub.trending_top:
            key = f"trending:{period.key}"
            if key not in cache:
                as_of = as_of_time(self._now(), period.last)
                cache[key] = [e.paper for e in self._feed(period.first, period.last, as_of, "trending", 100, 0).entries]
            trending = cache[key]  # type: ignore[assignment]
        topics: dict[str, list[Paper]] = {}
        for topic in sub.topics:
            key = f"topic:{period.key}:{topic}"
            if key not in cache:
                cache[key] = self._topic_papers(topic, period, cache)
            topics[topic] = cache[key]  # type: ignore[assignment]
        sent = self._storage.digests.sent_arxiv_ids(sub.id)
        return compose(sub, period, trending, topics, sent, per_topic=self.settings.digest_topic_papers)

    def _topic_papers(self, topic: str, period: DigestPeriod, cache: dict[str, object]) -> list[Paper]:
        """Papers of a period on a topic (lexical search: a topic must match, not just be near):
        published in the period (or ``digest_topic_slack_days`` before it, as arXiv papers
        arrive late), then the best matches overall that were listed on the feed in the period."""
        listed_key = f"listed:{period.key}"
        if listed_key not in cache:
            pids = [r.paper_id for r in self._storage.browse.listing_rows(period.first, period.last)]
            cache[listed_key] = {p.arxiv_id for p in self._storage.papers.by_ids(pids).values()}
        listed: set[str] = cache[listed_key]  # type: ignore[assignment]
        since = period.first - timedelta(days=self.settings.digest_topic_slack_days)
        try:
            dated = self.search(topic, filters=SearchFilters(since=since, until=period.last), mode="lexical", limit=50).hits
            best = self.search(topic, mode="lexical", limit=100).hits if listed else ()
        except InvalidInputError:  # e.g. a topic saved before the query language changed
            return []
        found = {h.paper.arxiv_id: h for h in dated}
        found.update({h.paper.arxiv_id: h for h in best if h.paper.arxiv_id in listed and h.paper.arxiv_id not in found})
        return [h.paper for h in sorted(found.values(), key=lambda h: -h.score)]

    def preview_digest(self, user: User, *, site_url: str = "") -> tuple[Digest | None, bytes]:
        """The next digest ``user`` would get (their first subscription, or the trending papers
        when they have none): the composed digest and the rendered email. ``site_url`` stands in
        for an unset ``base_url`` (a preview is shown, not mailed)."""
        from .digest.render import message_id_for, render_digest

        subs = self.get_subscriptions(user)
        now = self._now()
        sub = subs[0] if subs else Subscription(0, user.email or "you@example.org", "daily", self.settings.digest_trending_top or 10, (), None, now)
        digest = self.compose_digest(sub, now.date() + timedelta(days=1))
        if digest is None:
            return None, b""
        site = self._mail_site(site_url)
        url = self.unsubscribe_url(sub, site=site) if sub.id else f"{site.base_url}/settings"
        return digest, render_digest(digest, site, url, message_id_for(f"preview:{digest.period.key}", site), now)

    def send_digests(
        self,
        frequency: str = "daily",
        day: date | None = None,
        *,
        dry_run: bool = False,
        on_message: Callable[[str, str], None] | None = None,
    ) -> DigestRun:
        """Compose the digests of ``frequency`` sent on ``day`` (default today) for every confirmed
        subscription, store each in the outbox with its papers (one transaction each), then send
        everything due in the outbox. Safe to re-run, after a crash too: a subscription gets one
        digest per period, and a stored message is sent until a server accepts it (see
        docs/dev.md "Digests"). ``dry_run``: compose and render, store and send nothing."""
        from .digest.compose import check_frequency, digest_period
        from .digest.render import message_id_for, render_digest

        day = day or self._now().date()
        period = digest_period(check_frequency(frequency), day)
        if not dry_run and not self._hold_outbox():
            return DigestRun(period.key, busy=True)
        store = self._storage.digests
        try:
            done = store.periods_queued(period.key)
            site = self._mail_site()
            queued = empty = already = 0
            previews: list[Digest] = []
            cache: dict[str, object] = {}
            for sub in store.subscriptions(frequency=frequency, confirmed=True):
                if sub.id in done:
                    already += 1
                    continue
                digest = self.compose_digest(sub, day, cache=cache)
                if digest is None:
                    empty += 1
                    continue
                key = f"{period.key}:{sub.id}"
                message = render_digest(digest, site, self.unsubscribe_url(sub), message_id_for(key, site), self._now())
                if dry_run:
                    previews.append(digest)
                elif store.enqueue(sub.id, period.key, message_id_for(key, site), message, [p.arxiv_id for p in digest.papers], self._now()):
                    queued += 1
                else:
                    already += 1
                if not dry_run and not self._keep_outbox():
                    return DigestRun(period.key, queued, empty, already, errors=("lost the outbox lease while composing",))
            if dry_run:
                return DigestRun(period.key, len(previews), empty, already, previews=tuple(previews))
            counts = self._deliver(on_message=on_message, held=True)
        finally:
            if not dry_run:
                self._release_outbox()
        return DigestRun(
            period.key, queued, empty, already, counts.sent, counts.retry_later, counts.failed,
            store.status_counts(self._now())["pending"],
            errors=(counts.stopped,) if counts.stopped else (),
        )  # fmt: skip

    def deliver_digests(self, *, on_message: Callable[[str, str], None] | None = None) -> DigestRun:
        """Send what is due in the outbox (retries, confirmations), composing nothing."""
        counts = self._deliver(on_message=on_message)
        if counts is None:
            return DigestRun("", busy=True)
        return DigestRun("", sent=counts.sent, retry_later=counts.retry_later, failed=counts.failed,
                         errors=(counts.stopped,) if counts.stopped else ())  # fmt: skip

    def _deliver(self, *, only: set[int] | None = None, on_message: Callable[[str, str], None] | None = None, held: bool = False):
        from .digest.deliver import SmtpConfig, SmtpMailer, deliver_outbox
        from .digest.render import MailSite

        if not held and not self._hold_outbox():
            return None
        s = self.settings
        mailer = self._mailer or SmtpMailer(
            SmtpConfig(s.smtp_host, s.smtp_port, s.smtp_security, s.smtp_user, s.smtp_password, s.smtp_timeout)
        )
        try:
            return deliver_outbox(
                self._storage.digests, mailer, MailSite.of(s.site_name, s.base_url, s.mail_from).mail_from, self._now,
                max_attempts=s.digest_max_attempts, retry_seconds=s.digest_retry_seconds,
                keep_lease=self._keep_outbox, only=only, on_message=on_message,
            )  # fmt: skip
        finally:
            mailer.close()
            if not held:
                self._release_outbox()

    # One sender at a time: the outbox's lock (storage/locks.py), renewed while sending; on
    # SQLite a lease whose holder on this host died is replaced at once.
    OUTBOX = "digest-outbox"

    def _lock(self, name: str) -> Lock:
        return self._storage.lock(
            name, self._holder, seconds=self.settings.digest_lease_seconds, now=self._now, dead=_holder_is_dead
        )

    @contextmanager
    def exclusive(self, name: str) -> Iterator[Lock | None]:
        """Hold the lock ``name`` for the ``with`` block, across processes and machines sharing the
        database: yields the lock, or None when another holder has it, and the block should then
        leave the work to them. A thread renews it while the block runs (SQLite's lease would
        expire under a long job: a harvest takes hours)."""
        lock = self._lock(name)
        if not lock.acquire():
            yield None
            return
        done = threading.Event()

        def renew() -> None:
            while not done.wait(self.settings.digest_lease_seconds / 4):
                lock.keep()

        keeper = threading.Thread(target=renew, name=f"broadsheet-lock-{name}", daemon=True)
        keeper.start()
        try:
            yield lock
        finally:
            done.set()
            keeper.join()
            lock.release()

    def _hold_outbox(self) -> bool:
        self._lease_renewed = time.monotonic()
        self._outbox = self._lock(self.OUTBOX)
        return self._outbox.acquire()

    def _keep_outbox(self) -> bool:
        if self._outbox is None:
            return False
        if time.monotonic() - self._lease_renewed < self.settings.digest_lease_seconds / 4:
            return True
        self._lease_renewed = time.monotonic()
        return self._outbox.keep()

    def _release_outbox(self) -> None:
        outbox, self._outbox = self._outbox, None
        if outbox is not None:
            outbox.release()

    def digest_status(self) -> dict[str, object]:
        """Outbox counts (pending, due, interrupted, sent, failed), recent failures, subscriptions,
        the sender holding the outbox, and the scheduled jobs' last runs."""
        store = self._storage.digests
        subs = store.subscriptions()
        return {
            "outbox": store.status_counts(self._now()),
            "failed": store.messages(status="failed", limit=20),
            "waiting": [m for m in store.messages(status="pending", limit=20) if m.attempts],
            "subscriptions": {"confirmed": sum(1 for s in subs if s.confirmed_at), "unconfirmed": sum(1 for s in subs if not s.confirmed_at)},
            "sender": self._storage.lock_holder(self.OUTBOX, self._now()),
            "jobs": store.job_rows(),
        }

    def retry_failed_digests(self) -> int:
        """Put failed messages back in the outbox (after fixing what made them fail)."""
        return self._storage.digests.retry_failed()

    # -- scheduled jobs (`broadsheet worker`; the same jobs run from cron) ----------------------

    def run_job(self, name: str) -> str:
        """Run one job by name now (see ``schedule.JOBS``); return a one-line summary."""
        from .schedule import JOBS

        if name not in JOBS:
            raise InvalidInputError(f"unknown job {name!r}: use one of {', '.join(JOBS)}")
        if name.startswith("digest-"):
            run = self.send_digests(name.removeprefix("digest-"))
            if run.busy:
                return f"{name}: another sender holds the outbox: nothing done"
            return (f"{name} {run.period}: {run.queued} queued, {run.empty} with nothing new, {run.sent} sent, "
                    f"{run.retry_later} to retry, {run.failed} failed" + "".join(f"; {e}" for e in run.errors))  # fmt: skip
        if name == "sync-arxiv":
            cats = [c.strip() for c in self.settings.sync_arxiv_categories.split(",") if c.strip()]
            if not cats:
                return "sync-arxiv: no sync_arxiv_categories set: nothing to do"
            report = self.sync_arxiv(cats, since=self._now().date() - timedelta(days=2))
        elif name == "sync-oai":
            if not self.settings.sync_oai_set:  # all of arXiv is a decision, not a default
                return "sync-oai: no sync_oai_set set (e.g. cs, or * for all of arXiv): nothing to do"
            report = self.sync_oai(None if self.settings.sync_oai_set == "*" else self.settings.sync_oai_set)
        else:
            report = self.sync_hf_daily()
        return (f"{name}: {report.added} added, {report.updated} updated, {report.listings_added} listings"
                + ("" if report.complete else "; stopped early: " + "; ".join(report.problems)))  # fmt: skip

    def run_due_jobs(self, *, only: Sequence[str] | None = None, on_job: Callable[[str, str], None] | None = None) -> list[tuple[str, str]]:
        """Run every scheduled job whose latest scheduled time has passed and that no worker ran
        for that time yet (each job claims its slot in the database first, so two workers never
        run one slot twice). Returns (job, summary) for the jobs run."""
        from .schedule import last_slot, parse_schedule

        store = self._storage.digests
        done = []
        for name, when in parse_schedule(self.settings.schedule).items():
            if when is None or (only and name not in only):
                continue
            slot = last_slot(when, self._now())
            with self.exclusive(f"job:{name}") as held:  # a run of this job elsewhere: leave it be
                if held is None or not store.claim_slot(name, slot.isoformat(timespec="minutes"), self._now()):
                    continue
                try:
                    summary, error = self.run_job(name), None
                except Exception as e:  # noqa: BLE001 - one job's failure must not stop the others
                    summary, error = f"{name}: failed: {e}", f"{type(e).__name__}: {e}"
                store.finish_job(name, self._now(), error)
            done.append((name, summary))
            if on_job:
                on_job(name, summary)
        return done

    # -- admin --------------------------------------------------------------------------------

    def stats(self) -> Stats:
        counts = self._storage.counts()
        return Stats(
            database=self._storage.engine.url.render_as_string(hide_password=True),
            schema_version=self._storage.schema_version(),
            **counts,
        )


MAX_ROW_ID = 2**31 - 1  # ids are INTEGER: 32 bits on PostgreSQL


def _is_row_id(value: int) -> bool:
    """Whether a number from outside (a form, a URL) can be a row id at all: a larger one would
    make the database driver raise instead of finding nothing."""
    return 1 <= value <= MAX_ROW_ID


def _holder_is_dead(holder: str) -> bool:
    """Whether a lease holder (``host:pid:nonce``) is a process of this host that has ended."""
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _decode_cursor(cursor: str | None) -> int:
    if cursor is None or cursor == "":
        return 0
    if not cursor.isdigit() or int(cursor) > 10_000:
        raise InvalidInputError(f"invalid cursor {cursor!r}")
    return int(cursor)


def _add_reports(a: IngestReport, b: IngestReport) -> IngestReport:
    return IngestReport(
        a.added + b.added,
        a.updated + b.updated,
        a.unchanged + b.unchanged,
        a.listings_added + b.listings_added,
        a.rejected + b.rejected,
        a.notices + b.notices,
    )


def make_hub(
    settings: Settings,
    *,
    now: Callable[[], datetime] = _utcnow,
    fetch_paper: PaperFetcher | None = None,
    mailer: Mailer | None = None,
) -> Hub:
    """Open (and migrate) the configured database and return a Hub over it."""
    return Hub(settings, open_storage(settings.resolved_database_url()), now=now, fetch_paper=fetch_paper, mailer=mailer)


def copy_database(
    from_url: str, to_url: str, *, replace: bool = False, on_progress: Callable[[CopyProgress], None] | None = None
) -> dict[str, int]:
    """Copy everything from one database into another, SQLite and PostgreSQL either way (see
    ``storage/copy.py``); both are migrated to the newest schema first. The target must be empty
    unless ``replace``. Returns the rows per table, checked equal on both sides."""
    from .storage.copy import copy_database as copy

    source = open_storage(from_url)
    try:
        target = open_storage(to_url)
        try:
            return copy(source, target, replace=replace, on_progress=on_progress)
        finally:
            target.close()
    finally:
        source.close()


def evaluate_beir(
    settings: Settings, folder: Path, *, split: str = "test", mode: str = "hybrid", fusion: FusionParams | None = None
) -> dict[str, object]:
    """Load a BEIR collection into the (throwaway) database of ``settings`` through the normal
    ingest path, run every judged query through ``Hub.search``, and return nDCG@10 and recall@100.

    ``fusion``: another way to combine the two sides than the default (to measure a baseline)."""
    import time

    from .search.evaluation import as_plain_query, ndcg_at, recall_at
    from .sources.beir import read_corpus, read_qrels, read_queries

    qrels = read_qrels(folder, split)
    queries = {q: t for q, t in read_queries(folder).items() if q in qrels}
    if not queries:
        raise InvalidInputError(f"{folder}: no queries with judgements in qrels/{split}.tsv")
    hub = make_hub(settings)
    try:
        ids: dict[str, str] = {}
        hub.add_papers(read_corpus(folder, ids))
        if mode != "lexical":
            hub.index_embeddings()
        if fusion is not None:
            hub._search_engine().params = fusion
        hub.warm_up(wait=True)  # rank as a server does (same scores as FTS5, faster)
        ndcg = recall = 0.0
        started = time.perf_counter()
        for qid, text in queries.items():
            plain = as_plain_query(text)
            page = hub.search(plain, mode=mode, limit=100) if plain else None
            ranking = [ids[h.paper.arxiv_id] for h in page.hits] if page else []
            ndcg += ndcg_at(ranking, qrels[qid])
            recall += recall_at(ranking, qrels[qid])
        elapsed = time.perf_counter() - started
    finally:
        hub.close()
    n = len(queries)
    return {
        "ndcg@10": round(ndcg / n, 4),
        "recall@100": round(recall / n, 4),
        "queries": n,
        "mode": mode,
        "split": split,
        "documents": len(ids),
        "ms_per_query": round(1000 * elapsed / n, 1),
    }
