"""Live sources as a use case: sync arXiv (export API, OAI-PMH) and Hugging Face daily papers,
enrich papers with arXiv metadata, fetch one paper. ``Hub`` delegates here, one line each.

Each sync stores page by page through ``add_papers`` (the Hub's: it bumps the data version) and
returns a SyncReport; with ``embed`` (default: the ``sync_embed`` setting) the papers it added or
changed are embedded right after (``index_embeddings``, the Hub's). The HTTP edge of each source
is paced across calls and threads by one ``Pacer`` per source.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING

from ..config import Settings
from ..exceptions import BroadsheetError, PaperNotFoundError
from ..storage import Storage
from ..types import BatchPlan, IndexProgress, IngestReport, Paper, PaperData, SourceItem, SyncProgress, SyncReport

if TYPE_CHECKING:
    from .http import HttpEdge, Pacer

OPTIMIZE_AFTER = 10_000  # papers written by one ingest before the full-text index is compacted
SYNC_EMBED_CHUNK = 1000  # papers a sync embeds per index_embeddings call


class Sync:
    """Syncs into one database. ``add_papers(items, on_batch=...)`` stores, ``index_embeddings(
    arxiv_ids=..., on_progress=...)`` embeds, ``get_paper`` reads back: the Hub's methods."""

    def __init__(
        self,
        settings: Settings,
        storage: Storage,
        now: Callable[[], datetime],
        add_papers: Callable[..., IngestReport],
        index_embeddings: Callable[..., int],
        get_paper: Callable[[str], Paper],
    ) -> None:
        self.settings = settings
        self._storage = storage
        self._now = now
        self._add_papers = add_papers
        self._index_embeddings = index_embeddings
        self._get_paper = get_paper
        self.pacers: dict[str, Pacer] = {}  # one per live source: spaces requests across calls and threads

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
        """See ``Hub.sync_arxiv``."""
        from .arxiv import build_search, run_search

        s = self.settings
        search = build_search(
            categories, query, since, until,
            page_size=page_size or s.arxiv_page_size, max_results=max_results or s.arxiv_max_results,
        )  # fmt: skip
        with self.edge("arxiv-api", s.arxiv_api_delay if delay is None else delay) as edge:
            report = run_search(edge, base_url or s.arxiv_api_url, search, self.sink, on_progress)
        return self.after_sync(report, embed, on_progress)

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
        """See ``Hub.sync_oai``."""
        from ._run import ClockedState
        from .oai import Harvest, default_from, harvest

        s = self.settings
        state = ClockedState(self._storage.sync_state, self._now)
        job = Harvest(base_url or s.oai_url, metadata_prefix, set_spec, from_, until)
        if from_ is None and not full:
            job = dataclasses.replace(job, from_=default_from(state.get(job.done_key)))
        with self.edge("oai-pmh", s.oai_delay if delay is None else delay) as edge:
            report = harvest(edge, job, state, self.sink, on_progress)
        return self.after_sync(report, embed, on_progress)

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
        """See ``Hub.sync_hf_daily``."""
        from .hf import days_to_fetch, sync_days

        s = self.settings
        days = days_to_fetch(day, since, until, today=self._now().date(), default_days=s.hf_days)
        with self.edge("hf-daily", s.hf_delay if delay is None else delay) as edge:
            report = sync_days(edge, base_url or s.hf_api_url, days, self.sink, on_progress)
        if report.changed_ids and (s.arxiv_enrich if enrich is None else enrich):
            from .enrich import with_enrichment

            report = with_enrichment(report, self.enrich_arxiv(report.changed_ids, embed=False, on_progress=on_progress))
        return self.after_sync(report, embed, on_progress)

    def enrich_arxiv(
        self,
        arxiv_ids: Sequence[str] | None = None,
        *,
        base_url: str | None = None,
        delay: float | None = None,
        embed: bool | None = None,
        on_progress: Callable[[SyncProgress], None] | None = None,
    ) -> SyncReport:
        """See ``Hub.enrich_arxiv``."""
        from .enrich import enrich

        s = self.settings
        ids = self._storage.papers.lacking_arxiv_metadata(arxiv_ids)
        with self.edge("arxiv-api", s.arxiv_api_delay if delay is None else delay) as edge:
            report = enrich(
                edge, base_url or s.arxiv_api_url, ids, self.sink,
                lambda asked: self._storage.papers.mark_arxiv_checked(asked, self._now()),
                batch=s.arxiv_enrich_batch, on_progress=on_progress,
            )  # fmt: skip
        return self.after_sync(report, embed, on_progress)

    def fetch_arxiv_papers(self, arxiv_ids: Sequence[str], interactive: bool) -> SyncReport:
        """Ask arXiv for papers that are not in the database (a library import's), store what it
        knows and mark every id asked. ``interactive`` (someone waits: the web, the API): one
        ``id_list`` request for them all, one try, and the background thread embeds them; else
        ``arxiv_enrich_batch`` ids a request with a sync's retries, embedded at once."""
        from .enrich import enrich

        s = self.settings
        with self.edge("arxiv-api", s.arxiv_api_delay, interactive) as edge:
            report = enrich(
                edge, s.arxiv_api_url, arxiv_ids, self.sink,
                lambda asked: self._storage.papers.mark_arxiv_checked(asked, self._now()),
                batch=len(arxiv_ids) if interactive else s.arxiv_enrich_batch,
            )  # fmt: skip
        return self.after_sync(report, False if interactive else None, None)

    def count_lacking_arxiv_metadata(self) -> int:
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
        """See ``Hub.fetch_arxiv_paper``."""
        from ..ids import parse_arxiv_id
        from .arxiv import fetch_ids

        key, _ = parse_arxiv_id(arxiv_id)
        if not refresh and (stored := self._storage.papers.get(key)) is not None:
            return stored
        s = self.settings
        with self.edge("arxiv-api", s.arxiv_api_delay if delay is None else delay, interactive) as edge:
            page = fetch_ids(edge, base_url or s.arxiv_api_url, [key])
        found = [i for i in page.items if isinstance(i, PaperData) and i.arxiv_id == key]
        if not found:
            raise PaperNotFoundError(key)
        _, changed = self.sink(found[:1])
        if changed and (s.sync_embed if embed is None else embed):
            self._index_embeddings(arxiv_ids=[key])
        return self._get_paper(key)

    def edge(self, source: str, delay: float, interactive: bool = False) -> HttpEdge:
        """The HTTP edge to ``source``, paced with every other request of this Hub to it."""
        from ._run import make_edge
        from .http import Pacer

        pacer = self.pacers.setdefault(source, Pacer())
        return make_edge(self.settings, delay, pacer, interactive=interactive)

    def sink(self, items: Sequence[SourceItem]) -> tuple[IngestReport, list[str]]:
        """Store one page; return the report and the arXiv ids it added or changed."""
        changed: list[str] = []

        def collect(plan: BatchPlan) -> None:
            changed.extend(p.arxiv_id for p in (*plan.new, *plan.changed))

        return self._add_papers(items, on_batch=collect), changed

    def after_sync(
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
                done += self._index_embeddings(arxiv_ids=ids[start : start + SYNC_EMBED_CHUNK], on_progress=show)
        except BroadsheetError as e:
            problem = f"embedding stopped: {e} (`broadsheet index` finishes it)"
            return dataclasses.replace(report, embedded=done, problems=(*report.problems, problem))
        return dataclasses.replace(report, embedded=done)
