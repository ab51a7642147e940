"""The extras' use cases behind the Hub's one-line methods: thumbnails, keywords, summaries,
GitHub stars, trend charts, and the background pass that makes the first three."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..config import Settings
from ..types import Paper, SearchFilters, Trend
from .background import BackgroundExtras
from .github import sync_github
from .keywords import extract_keywords
from .summaries import SummaryReport, make_summaries, summaries_on
from .thumbnails import Picture, ThumbnailReport, make_thumbnails, picture_for, thumbnail_mode

if TYPE_CHECKING:
    from .trends import MonthTable
    from ..search.embedders import Embedder
    from ..search.engine import SearchEngine
    from ..storage import Storage
    from ..sync.github import GithubReport
    from ..sync.http import HttpEdge, Pacer

EXTRAS_LOCK = "extras-background"  # held by the one process making thumbnails, keywords, summaries
ROUND = 20  # thumbnails and keywords a background round makes (summaries: half)


class Extras:
    def __init__(
        self,
        settings: Settings,
        storage: Storage,
        now: Callable[[], datetime],
        *,
        edge: Callable[[str, float], HttpEdge],
        pacers: Callable[[], dict[str, Pacer]],
        engine: Callable[[], SearchEngine],
        embedder: Callable[[], Embedder | None],
        exclusive: Callable[[str], AbstractContextManager[Any]],
        paper_id: Callable[[str], tuple[Paper, int]],
        changed: Callable[[], None],
    ) -> None:
        self.settings, self._storage, self._now = settings, storage, now
        self._edge, self._pacers, self._engine, self._embedder = edge, pacers, engine, embedder
        self._exclusive, self._paper_id, self._changed = exclusive, paper_id, changed
        self._months: MonthTable | None = None
        self._months_lock = threading.Lock()
        self._background: BackgroundExtras | None = None
        self._preloads: list[threading.Thread] = []

    def close(self) -> None:
        if self._background is not None:
            self._background.stop()
        for thread in self._preloads:
            # Before the Hub closes the storage: a preload still running would otherwise open a
            # connection on the closed engine and leave it to the garbage collector.
            thread.join()

    # -- thumbnails ----------------------------------------------------------------------------

    def mode(self) -> str:
        return thumbnail_mode(self.settings)

    def thumbnail(self, arxiv_id: str, *, card: bool = False) -> Picture:
        paper, pid = self._paper_id(arxiv_id)
        return picture_for(self._storage, pid, paper, card=card or self.mode() == "off")

    def make_thumbnails(
        self, *, since: date | None = None, arxiv_ids: Sequence[str] | None = None, limit: int = 100, retry: bool = False,
        keep_going: Callable[[ThumbnailReport], bool] | None = None,
    ) -> ThumbnailReport:  # fmt: skip
        if retry:
            self._storage.thumbnails.forget_failed()
        edge = lambda: self._edge("arxiv-api", self.settings.arxiv_api_delay)  # noqa: E731 - the API's pacer
        return make_thumbnails(
            self._storage, self.settings, edge, self._now, since=since, arxiv_ids=arxiv_ids, limit=limit,
            keep_going=keep_going or (lambda _: True),
        )  # fmt: skip

    # -- keywords, summaries, stars ------------------------------------------------------------

    def extract_keywords(self, *, arxiv_ids: Sequence[str] | None = None, limit: int = 100, listed_only: bool = False) -> int:
        engine = self._engine()
        embedder = self._embedder() if engine.semantic_available and engine.semantic_ready() else None
        return extract_keywords(self._storage, embedder, self._now, arxiv_ids=arxiv_ids, limit=limit, listed_only=listed_only)

    def make_summaries(self, *, arxiv_ids: Sequence[str] | None = None, limit: int = 20) -> SummaryReport:
        from ..sync._run import make_edge
        from ..sync.http import Pacer

        pacer = self._pacers().setdefault("summarizer", Pacer())
        timed = self.settings.replace(sync_timeout=self.settings.summarizer_timeout)
        return make_summaries(self._storage, self.settings, lambda: make_edge(timed, 0.0, pacer), self._now, arxiv_ids=arxiv_ids, limit=limit)

    def sync_github(self, *, base_url: str | None = None, everything: bool = False, on_repo: Callable[[int, int], None] | None = None) -> GithubReport:
        edge = lambda: self._edge("github", self.settings.github_delay)  # noqa: E731
        return sync_github(
            self._storage, self.settings, edge, self._now, base_url=base_url, older_than_hours=0 if everything else 20, on_repo=on_repo
        )

    # -- trend charts --------------------------------------------------------------------------

    def month_table(self) -> MonthTable:
        with self._months_lock:
            if self._months is None:
                from .trends import MonthTable  # numpy: loaded with the first chart, not at start-up

                self._months = MonthTable(self._storage)
            return self._months

    def warm_up(self, *, wait: bool = False) -> None:
        """Load the trend charts' month table (about a tenth of a second per 100k papers), in a thread unless ``wait``."""
        months = self.month_table()
        if wait:
            months.refresh()
        else:
            thread = threading.Thread(target=months.preload, name="broadsheet-months", daemon=True)
            self._preloads.append(thread)
            thread.start()

    def trend(self, query: str, filters: SearchFilters | None = None) -> Trend:
        from .trends import query_trend

        return query_trend(self._storage, self.month_table(), query, filters, self._engine().matching_ids)

    def author_trend(self, name: str) -> Trend:
        from .trends import author_trend

        return author_trend(self._storage, self.month_table(), name)

    def organization_trend(self, name: str) -> Trend:
        from .trends import organization_trend

        return organization_trend(self._storage, self.month_table(), name)

    def category_trend(self, code: str) -> Trend:
        from .trends import category_trend

        return category_trend(self._storage, self.month_table(), code)

    # -- the background pass -------------------------------------------------------------------

    def start_background(self) -> bool:
        if self._background is None:
            self._background = BackgroundExtras(self._one_round)
            self._background.start()
        return True

    def wake(self) -> None:
        """Something new to work on (a submission): start a round now, if the thread runs."""
        if self._background is not None:
            self._background.wake()

    def _one_round(self, keep_going: Callable[[], bool]) -> bool:
        """Thumbnails of recent listings, keywords, summaries: ``ROUND`` of each at most; True
        when there is more to do."""
        with self._exclusive(EXTRAS_LOCK) as lock:
            if lock is None:
                return False  # another process does it
            more = changed = False
            if self.mode() == "local":
                since = self._now().date() - timedelta(days=self.settings.thumbnail_days)
                made = self.make_thumbnails(since=since, limit=ROUND, keep_going=lambda _: keep_going())
                more = made.complete and made.made + made.missing + made.broken >= ROUND
                changed = made.made + made.missing + made.broken > 0
            if keep_going() and self.settings.extract_keywords:
                extracted = self.extract_keywords(limit=ROUND, listed_only=True)
                more, changed = extracted >= ROUND or more, changed or extracted > 0
            if keep_going() and summaries_on(self.settings):
                done = self.make_summaries(limit=ROUND // 2)
                more = (not done.problems and done.made >= ROUND // 2) or more
                changed = changed or done.made > 0
            if changed:  # a round that made nothing leaves every page's caches as they are
                self._changed()
            return more and keep_going()
