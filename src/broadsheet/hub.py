"""The Hub: every use case is one method. The CLI and the web app are thin shells over it.

    hub = make_hub(load_settings())
    report = hub.ingest_paths(["papers.jsonl.gz"])
    hub.get_paper("2104.12255")

The Hub owns the clock (``now``), so tests can set the time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from .config import Settings
from .exceptions import PaperNotFoundError
from .ids import parse_paper_id
from .ingest import ingest
from .storage import Storage, open_storage
from .types import BatchPlan, IngestReport, Listing, Paper, SourceItem, Stats


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True, slots=True)
class IngestProgress:
    """Where a running ingest is: for progress bars."""

    path: str
    bytes_done: int
    bytes_total: int
    papers_seen: int
    rejected: int


class Hub:
    """The facade over storage, ingest and (later) search and digests."""

    def __init__(self, settings: Settings, storage: Storage, *, now: Callable[[], datetime] = _utcnow) -> None:
        self.settings = settings
        self._storage = storage
        self._now = now

    def close(self) -> None:
        self._storage.close()

    # -- ingest -------------------------------------------------------------------------------

    def add_papers(self, items: Iterable[SourceItem], *, on_batch: Callable[[BatchPlan], None] | None = None) -> IngestReport:
        """Upsert papers and listings by arXiv id; bad records come back in ``report.rejected``."""
        return ingest(
            self._storage.papers,
            items,
            now=self._now,
            batch_size=self.settings.ingest_batch_size,
            on_batch=on_batch,
        )

    def ingest_paths(
        self,
        paths: Sequence[str | Path],
        *,
        on_progress: Callable[[IngestProgress], None] | None = None,
    ) -> IngestReport:
        """Ingest files of any supported format (see ``broadsheet.sources.files``)."""
        from .sources.files import read_file

        total = IngestReport()
        for path in paths:
            path = Path(path)
            size = path.stat().st_size
            seen = rejected = 0
            with path.open("rb") as raw:

                def progress(plan: BatchPlan) -> None:
                    nonlocal seen, rejected
                    seen += len(plan.new) + len(plan.changed) + plan.unchanged
                    rejected += len(plan.rejected)
                    if on_progress:
                        on_progress(IngestProgress(str(path), min(raw.tell(), size), size, seen, rejected))

                report = self.add_papers(read_file(raw, path.name), on_batch=progress)
            total = _add_reports(total, report)
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

    # -- admin --------------------------------------------------------------------------------

    def stats(self) -> Stats:
        counts = self._storage.counts()
        return Stats(
            database=self._storage.engine.url.render_as_string(hide_password=True),
            schema_version=self._storage.schema_version(),
            **counts,
        )


def _add_reports(a: IngestReport, b: IngestReport) -> IngestReport:
    return IngestReport(
        a.added + b.added,
        a.updated + b.updated,
        a.unchanged + b.unchanged,
        a.listings_added + b.listings_added,
        a.rejected + b.rejected,
    )


def make_hub(settings: Settings, *, now: Callable[[], datetime] = _utcnow) -> Hub:
    """Open (and migrate) the configured database and return a Hub over it."""
    return Hub(settings, open_storage(settings.resolved_database_url()), now=now)
