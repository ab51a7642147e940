"""The Hub: every use case is one method. The CLI and the web app are thin shells over it.

    hub = make_hub(load_settings())
    report = hub.ingest_paths(["papers.jsonl.gz"])
    hub.get_paper("2104.12255")

The Hub owns the clock (``now``), so tests can set the time.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from .browse import Browse
from .community import Community, require_admin
from .config import Settings
from .digest.service import OUTBOX, Digests
from .exceptions import PaperNotFoundError
from .extras.service import Extras
from .ids import parse_paper_id
from .ingest import IngestProgress, ingest, ingest_files
from .jobs import Jobs
from .members import Members
from .personal import interests as _interests
from .personal import seeds as _seeds
from .personal.mutes import MuteFilter
from .personal.library import Library
from .search.service import EMBED_LOCK, Search
from .storage import Storage, open_storage
from .storage.locks import Lock, hold, holder_is_dead
from .sync.service import OPTIMIZE_AFTER, Sync
from .types import (
    BatchPlan,
    Collection,
    Comment,
    CopyProgress,
    Digest,
    DigestPeriod,
    DigestRun,
    EmbeddingStatus,
    Feed,
    IndexProgress,
    IngestReport,
    Interest,
    Listing,
    Organization,
    OutboxMessage,
    Paper,
    RecommendationPage,
    Rejected,
    SearchFilters,
    SearchHit,
    SearchPage,
    SourceItem,
    Stats,
    Submission,
    Subscription,
    SyncProgress,
    SyncReport,
    Trend,
    User,
)

T = TypeVar("T")  # an item of a list that mutes filter (a paper, a feed entry, a search hit)

if TYPE_CHECKING:
    from .personal.seeds import SeedReport
    from .personal.alerts import PersonalDigest
    from .personal.dismissals import Dismissals
    from .personal.private_feeds import PrivateFeed, PrivateFeeds
    from .digest.deliver import Mailer
    from .digest.render import MailSite
    from .personal.evaluate import RecsEvaluation
    from .personal.foryou import ForYou
    from .search.background import BackgroundEmbedder
    from .search.backfill import BackfillStatus
    from .search.embedders import Embedder
    from .search.engine import SearchEngine
    from .search.fusion import FusionParams
    from .search.lexical import IndexStatus
    from .search.service import LexicalFilesReport
    from .extras.summaries import SummaryReport
    from .extras.thumbnails import Picture, ThumbnailReport
    from .sync.github import GithubReport
    from .personal.library import CollectionPage, ImportReport, SaveResult
    from .sync.http import HttpEdge, Pacer

__all__ = ["EMBED_LOCK", "Hub", "IndexProgress", "IngestProgress", "PaperFetcher", "copy_database", "evaluate_beir", "make_hub"]

# What `submit_paper` calls for a paper that is not in the database: fetch it from a live source,
# store it and return it; raise PaperNotFoundError when the source has no such paper, SourceError
# when it cannot be reached. `broadsheet serve` passes `Hub.fetch_arxiv_paper` (unless the
# `submit_fetch` setting is off); without one a missing paper is reported as not found.
PaperFetcher = Callable[[str], Paper]


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Hub:
    """The facade: every use case is one method, most of them one line over a use-case module
    (``search/service.py``, ``sync/service.py``, ``browse.py``, ``members.py``, ``community.py``,
    ``digest/service.py``, ``jobs.py``, ``personal/library.py``; docs/dev.md "The Hub and its use-case modules"). The Hub builds those parts, owns the clock and the data
    version, and holds the locks in its own name."""

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
        # This Hub's name as the holder of a lock (the outbox's, a job's, background embedding's).
        self._holder = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        get_paper = lambda arxiv_id: self.get_paper(arxiv_id)  # noqa: E731 - looked up at call time
        self._search = Search(settings, storage, now, self.exclusive, self._holder)
        self._browse = Browse(settings, storage, now)
        self._sync = Sync(settings, storage, now, self.add_papers, self.index_embeddings, get_paper)
        self._members = Members(settings, storage, now)
        self._community = Community(storage, now, self._changed, get_paper, self.index_embeddings)
        self._digests = Digests(
            settings, storage, now, mailer=mailer, lock=self._lock, search=self.search, feed=self._feed,
            check_topic=_check_topic, changed=self._changed,
            personal=lambda sub, period, topic_papers, per_topic: self._personal_digest().sections(sub, period, topic_papers, per_topic),
        )  # fmt: skip
        self._library = Library(storage, now, self._changed, self._sync.fetch_arxiv_papers)
        self._jobs = Jobs(
            settings, storage, now, exclusive=self.exclusive, send_digests=self.send_digests,
            sync_arxiv=self.sync_arxiv, sync_oai=self.sync_oai, sync_hf_daily=self.sync_hf_daily,
        )  # fmt: skip
        self._extras = Extras(
            settings, storage, now, edge=self._sync_edge, pacers=lambda: self._pacers, engine=self._search_engine,
            embedder=lambda: self._embedder, exclusive=self.exclusive, paper_id=lambda a: self._paper_id(a, None), changed=self._changed,
        )  # fmt: skip
        self._foryou: ForYou | None = None  # made on first use: it imports numpy and scikit-learn

    def close(self) -> None:
        if self._foryou is not None:
            self._foryou.stop_warming()
        self._extras.close()
        self._search.close()
        self._storage.close()

    def guard_database(self, check: Callable[[], None] | None) -> None:
        """``check()`` runs before a database connection is taken, in the thread taking it, and
        may raise to refuse it (the web app: nothing waits for the database on its event loop)."""
        self._storage.guard = check

    @property
    def data_version(self) -> int:
        """Bumped by every write that changes what pages show, by any process on this database
        (storage/version.py): caches of pages built from the data compare it."""
        return self._storage.version.read()

    def _changed(self) -> None:
        self._storage.version.bump(self._now())

    def _and_changed(self, result: T) -> T:
        """``result``, after marking the data changed: for a member's own writes (follows, mutes,
        dismissals, admin rights), which change only their pages (kept per member: web/cache.py)."""
        self._changed()
        return result

    def now(self) -> datetime:
        """The Hub's clock (UTC, naive): what rankings are "as of" (tests set it)."""
        return self._now()

    # -- ingest -------------------------------------------------------------------------------

    def add_papers(
        self, items: Iterable[SourceItem], *, on_batch: Callable[[BatchPlan], None] | None = None, keep_rejected: int | None = None
    ) -> IngestReport:
        """Upsert papers and listings by arXiv id; bad records come back in ``report.rejected``
        (at most ``keep_rejected`` of them, the rest counted in ``report.rejected_more``)."""

        def stored(plan: BatchPlan) -> None:  # each stored batch shows on the next page, not at the end
            if plan.new or plan.changed or plan.listings:
                self._changed()
            if on_batch is not None:
                on_batch(plan)

        report = ingest(
            self._storage.papers,
            items,
            now=self._now,
            batch_size=self.settings.ingest_batch_size,
            on_batch=stored,
            keep_rejected=keep_rejected,
        )
        self._changed()
        if self._foryou is not None:
            self._foryou.wake()  # For you's windows, rebuilt in the background when warming
        return report

    def ingest_paths(
        self,
        paths: Sequence[str | Path],
        *,
        on_progress: Callable[[IngestProgress], None] | None = None,
        on_rejected: Callable[[Rejected], None] | None = None,
    ) -> IngestReport:
        """Ingest files of any supported format (see ``broadsheet.sources.files``). A file that cannot
        be read, at all or part-way, is one ``Rejected`` named after the file (what came before the
        damage lands), and the next file is read. The report keeps the first rejected records and
        counts the rest (``rejected_more``); ``on_rejected`` sees every one."""
        max_bytes = self.settings.ingest_max_document_mb * 2**20
        total = ingest_files(paths, self.add_papers, max_bytes=max_bytes, on_progress=on_progress, on_rejected=on_rejected)
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

    # -- search (search/service.py) -----------------------------------------------------------

    def _search_engine(self) -> SearchEngine:
        """Built on first use: loading the embedding model takes a second."""
        return self._search.engine()

    @property
    def _embedder(self) -> Embedder | None:
        return self._search.embedder

    @property
    def _background(self) -> BackgroundEmbedder | None:
        return self._search.background

    @property
    def _not_embedded(self) -> tuple[float, int] | None:
        return self._search.not_embedded

    @_not_embedded.setter
    def _not_embedded(self, value: tuple[float, int] | None) -> None:
        self._search.not_embedded = value

    @property
    def _search_lock(self) -> threading.Lock:
        return self._search.engine_lock

    def warm_up(self, *, wait: bool = False) -> None:
        """Get search ready for a long-running process: load the model and the vectors, map the
        BM25 index files (or build the in-memory index: ``lexical_index``), catching up in a
        background thread unless ``wait`` (until the index holds every change, search ranks with
        FTS5, the same scores, slower), and trend charts' month table. One-shot commands skip this."""
        self._search.warm_up(wait=wait)
        self._extras.warm_up(wait=wait)

    def search_index_status(self) -> IndexStatus | None:
        """The lexical index (files or in memory): ready, current, failures (None: the database ranks)."""
        return self._search.index_status()

    def update_lexical_index(self, on_progress: Callable[[int, int], None] | None = None) -> LexicalFilesReport:
        """Build or bring up to date the BM25 index files (``lexical_index = files``) now, in this
        process (waits for another writer); ``on_progress(done, total)`` during a full build."""
        return self._search.update_lexical_files(on_progress)

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
        return self._search.search(query, filters=filters, mode=mode, limit=limit, cursor=cursor, sort=sort)

    def similar(self, arxiv_id: str, limit: int = 10) -> list[SearchHit]:
        """Papers like this one: nearest by meaning, or by shared words until it has a vector."""
        return self._search.similar(self.get_paper(arxiv_id), limit)

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
        return self._search.index_embeddings(arxiv_ids=arxiv_ids, on_progress=on_progress, batch_size=batch_size, keep_going=keep_going)

    def update_vector_index(self, on_progress: Callable[[str, int, int], None] | None = None) -> dict | None:
        """Build the vector index files (``vector_index = files``) when missing or not matching the
        database, else publish the vectors stored since; ``on_progress(stage, done, total)``.
        Returns where they stand (generation, base/delta counts), None when vectors are not kept as files."""
        return self._search.update_vector_files(on_progress)

    def start_background_embedding(self) -> bool:
        """Embed what is missing in a low-priority background thread, now and as papers arrive,
        until ``close()``: what `serve` and `worker` do (unless ``background_embed`` is off or
        there is no embedder). One process at a time embeds (the ``embed-background`` lock)."""
        return self._search.start_background_embedding()

    def stop_background_embedding(self) -> None:
        self._search.stop_background_embedding()

    def backfill_status(self) -> BackfillStatus | None:
        """The embedding backfill across every process and machine on this database: papers with
        a current vector, the plan's batches, each worker's rate, the ETA (None: no embedder)."""
        return self._search.backfill_status()

    def embedding_status(self) -> EmbeddingStatus:
        """How many papers have an up-to-date vector, and what background embedding is doing:
        for `broadsheet info`, `ingest` and the admin status page."""
        return self._search.embedding_status()

    # -- live sources (sync/service.py; docs/dev.md "Live sources") ----------------------------
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
        return self._sync.sync_arxiv(
            categories, query, since, until, base_url=base_url, delay=delay, page_size=page_size,
            max_results=max_results, embed=embed, on_progress=on_progress,
        )  # fmt: skip

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
        return self._sync.sync_oai(
            set_spec, from_, until, metadata_prefix, full=full, base_url=base_url, delay=delay, embed=embed, on_progress=on_progress
        )

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
        return self._sync.sync_hf_daily(
            day, since, until, base_url=base_url, delay=delay, embed=embed, enrich=enrich, on_progress=on_progress
        )

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
        return self._sync.enrich_arxiv(arxiv_ids, base_url=base_url, delay=delay, embed=embed, on_progress=on_progress)

    def count_lacking_arxiv_metadata(self) -> int:
        """Papers ``enrich_arxiv`` would ask arXiv about."""
        return self._sync.count_lacking_arxiv_metadata()

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
        return self._sync.fetch_arxiv_paper(
            arxiv_id, refresh=refresh, base_url=base_url, delay=delay, embed=embed, interactive=interactive
        )

    # The parts of a sync, for use cases that fetch through the same paced edges.

    @property
    def _pacers(self) -> dict[str, Pacer]:
        return self._sync.pacers

    def _sync_edge(self, source: str, delay: float, interactive: bool = False) -> HttpEdge:
        return self._sync.edge(source, delay, interactive)

    def _sync_sink(self, items: Sequence[SourceItem]) -> tuple[IngestReport, list[str]]:
        """Store one page; return the report and the arXiv ids it added or changed."""
        return self._sync.sink(items)

    def _after_sync(self, report: SyncReport, embed: bool | None, on_progress: Callable[[SyncProgress], None] | None) -> SyncReport:
        """Compact the full-text index after a large sync, and embed what it changed."""
        return self._sync.after_sync(report, embed, on_progress)

    # -- what Broadsheet adds to papers (extras/service.py; docs/dev.md "Pictures, keywords...") -

    def thumbnail_mode(self) -> str:
        """``local``, ``source`` or ``off`` (the ``thumbnails`` setting, ``auto`` resolved)."""
        return self._extras.mode()

    def thumbnail(self, arxiv_id: str, *, card: bool = False) -> Picture:
        """A paper's picture: its rendered first page, else (or with ``card``) its generated card.
        PaperNotFoundError for an unknown (or hidden) paper."""
        return self._extras.thumbnail(arxiv_id, card=card)

    def make_thumbnails(
        self, *, since: date | None = None, arxiv_ids: Sequence[str] | None = None, limit: int = 100, retry: bool = False,
        keep_going: Callable[[ThumbnailReport], bool] | None = None,
    ) -> ThumbnailReport:  # fmt: skip
        """Render missing thumbnails of papers listed since ``since`` (all listed papers when None)
        or of ``arxiv_ids``, up to ``limit``, from their arXiv PDFs (paced with the arXiv API);
        ``retry``: first forget those that had no PDF or a broken one."""
        return self._extras.make_thumbnails(since=since, arxiv_ids=arxiv_ids, limit=limit, retry=retry, keep_going=keep_going)

    def thumbnail_counts(self) -> dict[str, int]:
        """Thumbnails stored, by status (ok, missing, broken)."""
        return self._storage.thumbnails.failures()

    def extract_keywords(self, *, arxiv_ids: Sequence[str] | None = None, limit: int = 100) -> int:
        """Extract keyphrases for up to ``limit`` embedded papers that need them; how many."""
        return self._extras.extract_keywords(arxiv_ids=arxiv_ids, limit=limit)

    def make_summaries(self, *, arxiv_ids: Sequence[str] | None = None, limit: int = 20) -> SummaryReport:
        """One-line summaries from ``summarizer_url`` for listed papers without one."""
        return self._extras.make_summaries(arxiv_ids=arxiv_ids, limit=limit)

    def sync_github(self, *, base_url: str | None = None, everything: bool = False, on_repo: Callable[[int, int], None] | None = None) -> GithubReport:
        """Refresh the GitHub stars of papers' repositories (``everything``: also those checked
        in the last 20 hours); stops at GitHub's rate limit."""
        return self._extras.sync_github(base_url=base_url, everything=everything, on_repo=on_repo)

    def trend(self, query: str, filters: SearchFilters | None = None) -> Trend:
        """Papers and upvotes per month of every paper the query matches."""
        return self._extras.trend(query, filters)

    def author_trend(self, name: str) -> Trend:
        return self._extras.author_trend(name)

    def organization_trend(self, name: str) -> Trend:
        return self._extras.organization_trend(name)

    def category_trend(self, code: str) -> Trend:
        return self._extras.category_trend(code)

    def start_background_extras(self) -> bool:
        """Thumbnails of recent listings, keywords and summaries in a low-priority thread until
        ``close()``: what `serve` and `worker` run (one process at a time does the work)."""
        return self._extras.start_background()

    # -- feeds (browse.py) --------------------------------------------------------------------

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
        return self._browse.get_feed(first, last, sort=sort, limit=limit, offset=offset, submitter=submitter)

    def get_trending(self, *, limit: int = 30, offset: int = 0) -> Feed:
        """The papers listed in the ``trending_days`` up to the last listed day, by trending score
        as of now (or the end of that day, for a database that nothing has been listed in since)."""
        return self._browse.get_trending(limit=limit, offset=offset)

    def _feed(
        self, first: date, last: date, as_of: datetime, sort: str, limit: int, offset: int, submitter: str | None = None
    ) -> Feed:
        return self._browse.feed(first, last, as_of, sort, limit, offset, submitter)

    def get_organization(self, name: str) -> Organization:
        """An organization by name (any case): NotFoundError when no paper names it."""
        return self._browse.organization(name)

    def get_organization_feed(self, name: str, *, sort: str = "newest", limit: int = 30, offset: int = 0) -> tuple[Organization, Feed]:
        """An organization and one page of its papers: ``newest``, ``trending`` or ``top``."""
        return self._browse.organization_feed(name, sort=sort, limit=limit, offset=offset)

    def get_papers_by_author(self, name: str, *, limit: int = 30, offset: int = 0) -> list[Paper]:
        """Papers with an author of this name (any case or accents), newest first."""
        return self._browse.by_author(name, limit=limit, offset=offset)

    def get_papers_in_category(self, code: str, *, limit: int = 30, offset: int = 0) -> list[Paper]:
        """Papers filed under an arXiv category (``cs.LG``) or a whole archive (``cs``), newest first."""
        return self._browse.in_category(code, limit=limit, offset=offset)

    # -- For you (personal/foryou.py) ----------------------------------------------------------

    @property
    def _for_you(self) -> ForYou:
        if self._foryou is None:
            from .personal.foryou import ForYou

            self._foryou = ForYou(self._storage, self._now, lambda: self.data_version, self._search.embedder_name)
        return self._foryou

    def recommend(self, user: User, *, window: str = "week", day: date | None = None, limit: int = 50) -> RecommendationPage:
        """``user``'s papers new in the window (``today``, ``week``, ``month``, ending on ``day``:
        default today, or the last day with papers), ranked by a model of what they saved,
        upvoted, dismissed and follow, each with why; mutes hide papers (counted)."""
        return self._for_you.recommend(user, window=window, day=day, limit=limit)

    def start_background_recommendations(self) -> bool:
        """Keep For you's current windows built in a low-priority thread (after each ingest or
        sync, and when another process adds papers) until ``close()``: what `serve` and `worker` run."""
        return self._for_you.start_warming()

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

        return evaluate(self._storage, interactions, cutoff, k=k, embedder=self._search.embedder_name(), allow_authors=allow_authors, on_user=on_user)

    # -- accounts (members.py) ----------------------------------------------------------------

    def create_user(self, name: str, password: str, *, email: str | None = None, is_admin: bool = False) -> User:
        """A new account; InvalidInputError for a bad name, email or password, ConflictError when the
        name or email is taken."""
        return self._members.create_user(name, password, email=email, is_admin=is_admin)

    def get_user(self, name: str) -> User:
        return self._members.get_user(name)

    def set_admin(self, name: str, is_admin: bool) -> User:
        return self._and_changed(self._members.set_admin(name, is_admin))

    def log_in(self, login: str, password: str) -> tuple[User, str]:
        """Check a name (or email) and password; return the user and a new session token.
        Raises AuthenticationError, whichever part was wrong."""
        return self._members.log_in(login, password)

    def user_for_session(self, token: str) -> User | None:
        """The user a session token belongs to, or None (unknown, expired or logged out)."""
        return self._members.user_for_session(token)

    # Writes to sessions and accounts move the data version: pages keep who a session is by it.
    def log_out(self, token: str) -> None:
        self._and_changed(self._members.log_out(token))

    def change_password(self, user: User, current: str, new: str, *, keep_session: str | None = None) -> None:
        """Set a new password after checking the current one; every other session is logged out."""
        self._and_changed(self._members.change_password(user, current, new, keep_session=keep_session))

    def set_password(self, name: str, new: str) -> User:
        """Set ``name``'s password without the current one (`broadsheet user set-password`); every
        session of the account ends."""
        return self._and_changed(self._members.set_password(name, new))

    def request_password_reset(self, login: str) -> bool:
        """Email a reset link (signed, single-use, expiring) through the outbox to the account named
        ``login`` (name or email). False when there is no such account with an address: callers
        must not tell the visitor which (see ``digest.reset``)."""
        return self._digests.request_password_reset(login)

    def password_reset_user(self, token: str) -> User:
        """The account a reset link is for; InvalidInputError when it is not valid, expired or used."""
        return self._digests.password_reset_user(token)

    def reset_password(self, token: str, new: str) -> User:
        """Set a new password through a reset link (which then stops working); sessions end."""
        return self._and_changed(self._digests.reset_password(token, new))

    def set_email(self, user: User, email: str) -> User:
        return self._and_changed(self._members.set_email(user, email))

    def new_api_token(self, user: User) -> str:
        """A new API token for ``user`` (the previous one stops working). Only its hash is kept:
        show it once."""
        return self._members.new_api_token(user)

    def revoke_api_token(self, user: User) -> None:
        self._members.revoke_api_token(user)

    def has_api_token(self, user: User) -> bool:
        return self._members.has_api_token(user)

    def user_for_api_token(self, token: str) -> User | None:
        return self._members.user_for_api_token(token)

    # -- community (community.py) -------------------------------------------------------------

    def _paper_id(self, arxiv_id: str, viewer: User | None) -> tuple[Paper, int]:
        """The paper and its internal id; a hidden paper is not found except by an admin."""
        return self._community.paper_id(arxiv_id, viewer)

    def set_vote(self, user: User, arxiv_id: str, on: bool = True) -> Paper:
        """Upvote a paper (``on``) or withdraw the vote; one vote per user and paper, so repeating
        either changes nothing. Returns the paper with its new count."""
        return self._community.set_vote(user, arxiv_id, on)

    def voted(self, user: User | None, arxiv_ids: Sequence[str]) -> set[str]:
        """Which of these papers ``user`` has upvoted."""
        return self._community.voted(user, arxiv_ids)

    def add_comment(self, user: User, arxiv_id: str, body: str, *, parent_id: int | None = None) -> Comment:
        """Comment on a paper (markdown), or reply to a top-level comment of the same paper."""
        return self._community.add_comment(user, arxiv_id, body, parent_id=parent_id)

    def get_comments(self, arxiv_id: str, *, include_hidden: bool = False) -> list[Comment]:
        """A paper's comments, oldest first (replies point to their parent with ``parent_id``).
        Without ``include_hidden``, a hidden comment keeps its place with no author or text, so
        that the replies under it still make sense."""
        return self._community.get_comments(arxiv_id, include_hidden=include_hidden)

    def submit_paper(self, user: User, arxiv_id: str) -> Submission:
        """Put a paper on today's list, submitted by ``user``, and embed it for search at once.

        A paper not in the database is fetched with ``fetch_paper`` when there is one (status
        ``not_on_arxiv`` when the source has no such paper, ``unreachable`` when it cannot be
        reached); without one the status is ``not_found``. InvalidArxivIdError for an id that is
        not an arXiv id (nor a local paper here)."""
        submission = self._community.submit_paper(user, arxiv_id, self.fetch_paper)
        if submission.status == "listed":
            self._extras.wake()  # its thumbnail, keywords and summary, in the background
        return submission

    # -- moderation ---------------------------------------------------------------------------

    @staticmethod
    def _require_admin(actor: User) -> None:
        require_admin(actor)

    def admin_status(self, actor: User) -> EmbeddingStatus:
        """What the admin status page shows; raises PermissionDeniedError for anyone but an admin."""
        require_admin(actor)
        return self.embedding_status()

    def set_paper_hidden(self, actor: User, arxiv_id: str, hidden: bool = True) -> Paper:
        """Hide a paper from every list, search and page (admins still see it), or show it again."""
        return self._community.set_paper_hidden(actor, arxiv_id, hidden)

    def set_comment_hidden(self, actor: User, comment_id: int, hidden: bool = True) -> Comment:
        return self._community.set_comment_hidden(actor, comment_id, hidden)

    # -- email digests (digest/service.py; docs/dev.md "Digests") -------------------------------

    def subscribe(
        self,
        email: str | None = None,
        *,
        frequency: str = "daily",
        trending_top: int | None = None,
        topics: Sequence[str] = (),
        user: User | None = None,
        confirmed: bool = False,
        for_you_top: int = 0,
        follow_alerts: bool = False,
    ) -> Subscription:
        """Subscribe ``email`` (or ``user``'s address) to a digest. Unless ``confirmed`` (admins),
        it starts unconfirmed and a confirmation email with a signed, expiring link goes out:
        nothing else is sent to the address until the link is followed. Subscribing an address
        again with the same frequency changes what an unconfirmed subscription gets and sends a
        new link; a confirmed one is changed only by its logged-in owner."""
        return self._digests.subscribe(email, frequency=frequency, trending_top=trending_top, topics=topics, user=user, confirmed=confirmed,
                                       for_you_top=for_you_top, follow_alerts=follow_alerts)  # fmt: skip

    def confirm_subscription(self, token: str) -> Subscription:
        """Follow a confirmation link: the subscription starts getting digests."""
        return self._digests.confirm_subscription(token)

    def subscription_for_token(self, token: str) -> Subscription | None:
        """The subscription an unsubscribe link names (None: already unsubscribed)."""
        return self._digests.subscription_for_token(token)

    def unsubscribe(self, token: str) -> Subscription | None:
        """Follow an unsubscribe link (no login needed): the subscription and its waiting
        messages are deleted. Returns what was deleted (None: it was already gone)."""
        return self._digests.unsubscribe(token)

    def get_subscriptions(self, user: User | None = None, *, frequency: str | None = None) -> list[Subscription]:
        """``user``'s subscriptions, or every subscription (admin CLI)."""
        return self._digests.get_subscriptions(user, frequency=frequency)

    def delete_subscription(self, user: User, subscription_id: int) -> None:
        self._digests.delete_subscription(user, subscription_id)

    def unsubscribe_url(self, sub: Subscription, *, site: MailSite | None = None) -> str:
        return self._digests.unsubscribe_url(sub, site=site)

    def confirmation_mail(self, sub: Subscription) -> OutboxMessage | None:
        """The newest confirmation email of ``sub`` in the outbox: sent, or why it waits."""
        return self._digests.confirmation_mail(sub)

    def compose_digest(self, sub: Subscription, day: date, *, cache: dict[str, object] | None = None) -> Digest | None:
        """What ``sub`` would get in the digest sent on ``day`` (see ``digest.compose``)."""
        return self._digests.compose_digest(sub, day, cache=cache)

    def _topic_papers(self, topic: str, period: DigestPeriod, cache: dict[str, object]) -> list[Paper]:
        return self._digests.topic_papers(topic, period, cache)

    def preview_digest(self, user: User, *, site_url: str = "") -> tuple[Digest | None, bytes]:
        """The next digest ``user`` would get (their first subscription, or the trending papers
        when they have none): the composed digest and the rendered email. ``site_url`` stands in
        for an unset ``base_url`` (a preview is shown, not mailed)."""
        return self._digests.preview_digest(user, site_url=site_url)

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
        return self._digests.send_digests(frequency, day, dry_run=dry_run, on_message=on_message)

    def deliver_digests(self, *, on_message: Callable[[str, str], None] | None = None) -> DigestRun:
        """Send what is due in the outbox (retries, confirmations), composing nothing."""
        return self._digests.deliver_digests(on_message=on_message)

    def digest_status(self) -> dict[str, object]:
        """Outbox counts (pending, due, interrupted, sent, failed), recent failures, subscriptions,
        the sender holding the outbox, and the scheduled jobs' last runs."""
        return self._digests.digest_status()

    def retry_failed_digests(self) -> int:
        """Put failed messages back in the outbox (after fixing what made them fail)."""
        return self._digests.retry_failed_digests()

    # One sender at a time: the outbox's lock (storage/locks.py), renewed while sending.
    OUTBOX = OUTBOX

    def _hold_outbox(self) -> bool:
        return self._digests.hold_outbox()

    def _release_outbox(self) -> None:
        self._digests.release_outbox()

    # -- locks (storage/locks.py) -------------------------------------------------------------

    def _lock(self, name: str) -> Lock:
        return self._storage.lock(
            name, self._holder, seconds=self.settings.digest_lease_seconds, now=self._now, dead=holder_is_dead
        )

    def exclusive(self, name: str) -> AbstractContextManager[Lock | None]:
        """Hold the lock ``name`` for the ``with`` block, across processes and machines sharing the
        database: yields the lock, or None when another holder has it, and the block should then
        leave the work to them. A thread renews it while the block runs (SQLite's lease would
        expire under a long job: a harvest takes hours)."""
        return hold(self._lock(name), self.settings.digest_lease_seconds / 4)

    # -- scheduled jobs (jobs.py: `broadsheet worker`; the same jobs run from cron) -------------

    def run_job(self, name: str) -> str:
        """Run one job by name now (see ``schedule.JOBS``); return a one-line summary."""
        return self._jobs.run_job(name)

    def run_due_jobs(self, *, only: Sequence[str] | None = None, on_job: Callable[[str, str], None] | None = None) -> list[tuple[str, str]]:
        """Run every scheduled job whose latest scheduled time has passed and that no worker ran
        for that time yet (each job claims its slot in the database first, so two workers never
        run one slot twice). Returns (job, summary) for the jobs run."""
        return self._jobs.run_due_jobs(only=only, on_job=on_job)

    # -- admin --------------------------------------------------------------------------------

    def stats(self) -> Stats:
        counts = self._storage.counts()
        return Stats(
            database=self._storage.engine.url.render_as_string(hide_password=True),
            schema_version=self._storage.schema_version(),
            **counts,
        )

    # -- personal feed: the library (personal/library.py) ----------------------------------------

    def collections(self, user: User) -> list[Collection]:
        return self._library.collections(user)

    def collection(self, user: User, slug: str) -> Collection:
        return self._library.collection(user, slug)

    def public_collection(self, viewer: User | None, owner: str, slug: str) -> Collection:
        return self._library.public_collection(viewer, owner, slug)

    def create_collection(self, user: User, name: str, *, public: bool = False) -> Collection:
        return self._library.create(user, name, public=public)

    def update_collection(self, user: User, slug: str, *, name: str | None = None, public: bool | None = None) -> Collection:
        return self._library.update(user, slug, name=name, public=public)

    def delete_collection(self, user: User, slug: str) -> None:
        return self._library.delete(user, slug)

    def save_paper(self, user: User, arxiv_id: str, collection: str | None = None, *, on: bool = True) -> SaveResult:
        return self._library.save(user, arxiv_id, collection, on=on)

    def saved(self, user: User | None, arxiv_ids: Sequence[str]) -> dict[str, tuple[str, ...]]:
        return self._library.saved(user, arxiv_ids)

    def collection_page(self, collection: Collection, *, offset: int = 0, limit: int | None = 50, viewer: User | None = None) -> CollectionPage:
        return self._library.page(collection, offset=offset, limit=limit, viewer=viewer)

    def import_library(self, user: User, data: bytes | str, *, collection: str | None = None, fetch: bool | None = None, interactive: bool = True) -> ImportReport:
        return self._library.import_library(user, data, collection, fetch=self.fetch_paper is not None if fetch is None else fetch, interactive=interactive)

    # -- personal feed: private feeds, personal digests, "not interested" ---------------------
    # (personal/private_feeds.py, personal/alerts.py, personal/dismissals.py)

    def new_feed_token(self, user: User) -> str:
        return self._private_feeds().new_token(user)

    def revoke_feed_token(self, user: User) -> None:
        self._private_feeds().revoke(user)

    def has_feed_token(self, user: User) -> bool:
        return self._private_feeds().has_token(user)

    def feed_token_owner(self, token: str) -> User:
        return self._private_feeds().owner(token)

    def private_feed(self, user: User, follow_id: int | None = None) -> PrivateFeed:
        return self._private_feeds().for_you(user) if follow_id is None else self._private_feeds().follow(user, follow_id)

    def private_feed_follows(self, user: User) -> list[Interest]:
        return self._private_feeds().follows(user)

    def dismiss(self, user: User, arxiv_id: str, on: bool = True) -> tuple[Paper, bool]:
        return self._and_changed(self._dismissals().set(user, arxiv_id, on))

    def dismissed(self, user: User) -> set[str]:
        return self._dismissals().arxiv_ids(user)

    def plant_seeds(self, user: User, papers: str = "", topics: str = "") -> SeedReport:
        return _seeds.plant(user, papers, topics, save=lambda aid: self.save_paper(user, aid).arxiv_id, follow=lambda q: self.follow(user, "search", q))

    def has_personal_signals(self, user: User) -> bool:
        return _seeds.has_signals(self._storage, user)

    def _dismissals(self) -> Dismissals:
        from .personal.dismissals import Dismissals

        return Dismissals(self._storage, self._now, self._paper_id)

    def _private_feeds(self) -> PrivateFeeds:
        from .personal.private_feeds import PrivateFeeds

        return PrivateFeeds(
            self._storage, self._now,
            by_author=lambda name, n: self.get_papers_by_author(name, limit=n),
            in_category=lambda code, n: self.get_papers_in_category(code, limit=n),
            search=lambda q, since, n: [h.paper for h in self.search(q, filters=SearchFilters(since=since.date()), mode="lexical", limit=n).hits],
            recommend=lambda user, n: self._recommended(user, "week", None, n),
            hide_muted=self._hide_muted,
        )  # fmt: skip

    def _personal_digest(self) -> PersonalDigest:
        from .personal.alerts import PersonalDigest

        return PersonalDigest(self._storage, recommend=self._recommended, hide_muted=self._hide_muted)

    def _recommended(self, user: User, window: str, day: date | None, limit: int) -> list[tuple[Paper, str]]:
        from .personal.alerts import reasoned

        return reasoned(self.recommend(user, window=window, day=day, limit=limit))

    def _hide_muted(self, user: User, papers: Sequence[Paper]) -> list[Paper]:
        return self.apply_mutes(user, papers)[0]

    # -- personal feed: follows and mutes (personal/interests.py, personal/mutes.py) -----------

    def follow(self, user: User, kind: str, value: str) -> Interest:
        return self._and_changed(_interests.add(self._storage, "follow", user, kind, value, now=self._now()))

    def mute(self, user: User, kind: str, value: str) -> Interest:
        return self._and_changed(_interests.add(self._storage, "mute", user, kind, value, now=self._now()))

    def get_follows(self, user: User, kind: str | None = None) -> list[Interest]:
        return _interests.listed(self._storage, "follow", user, kind)

    def get_mutes(self, user: User, kind: str | None = None) -> list[Interest]:
        return _interests.listed(self._storage, "mute", user, kind)

    def unfollow(self, user: User, follow_id: int) -> None:
        return self._and_changed(_interests.remove(self._storage, "follow", user, follow_id))

    def unmute(self, user: User, mute_id: int) -> None:
        return self._and_changed(_interests.remove(self._storage, "mute", user, mute_id))

    def unfollow_value(self, user: User, kind: str, value: str) -> bool:
        return self._and_changed(_interests.remove_value(self._storage, "follow", user, kind, value))

    def unmute_value(self, user: User, kind: str, value: str) -> bool:
        return self._and_changed(_interests.remove_value(self._storage, "mute", user, kind, value))

    def find_interest(self, what: str, user: User | None, kind: str, value: str) -> Interest | None:
        return _interests.find(self._storage, what, user, kind, value)

    def mute_filter(self, user: User | None) -> MuteFilter:
        return _interests.mute_filter(self._storage, user)

    def apply_mutes(self, user: User | None, items: Sequence[T], paper: Callable[[T], Paper] | None = None) -> tuple[list[T], int]:
        return _interests.apply_mutes(self._storage, user, items, paper)


def _check_topic(topic: str) -> object:
    """A digest topic is a query: the query language checks it."""
    from .search.query import check_query

    return check_query(topic, what="topic")


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
    from .storage.copy import copy_between

    return copy_between(from_url, to_url, replace=replace, on_progress=on_progress)


def evaluate_beir(
    settings: Settings, folder: Path, *, split: str = "test", mode: str = "hybrid", fusion: FusionParams | None = None
) -> dict[str, object]:
    """Load a BEIR collection into the (throwaway) database of ``settings`` through the normal
    ingest path, run every judged query through ``Hub.search``, and return nDCG@10 and recall@100
    (see ``search/evaluation.py``).

    ``fusion``: another way to combine the two sides than the default (to measure a baseline)."""
    from .search.evaluation import evaluate_beir as evaluate

    return evaluate(lambda: make_hub(settings), folder, split=split, mode=mode, fusion=fusion)
