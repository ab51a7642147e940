"""What every sync loop shares: the page sink it stores through, and the tally that becomes its report."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from ..config import Settings
from ..exceptions import InvalidInputError
from ..types import IngestReport, Notice, Rejected, SourceItem, SyncProgress, SyncReport
from .http import HttpEdge, Pacer, Politeness, user_agent
from .http import interactive as interactive_politeness

# Stores one page of items (one transaction per ingest batch) and says what it changed: the
# report, and the arXiv ids it added or changed. The Hub passes one built on ``add_papers``.
PageSink = Callable[[Sequence[SourceItem]], tuple[IngestReport, Sequence[str]]]
OnProgress = Callable[[SyncProgress], None] | None


class StateStore(Protocol):
    """Where a resumable sync keeps its place (``broadsheet.storage.syncstate.SyncStateStore``)."""

    def get(self, key: str) -> dict[str, Any] | None: ...

    def put(self, key: str, state: dict[str, Any]) -> None: ...

    def delete(self, key: str) -> None: ...


def make_edge(settings: Settings, delay: float, pacer: Pacer | None = None, *, interactive: bool = False) -> HttpEdge:
    """An edge with the settings' User-Agent, timeout and retry bounds, and this source's delay;
    ``interactive`` (a person waits for it): one try within ``submit_fetch_timeout`` seconds."""
    if delay < 0:
        raise InvalidInputError(f"delay must be 0 or more seconds, not {delay}")
    politeness = (
        interactive_politeness(delay, settings.submit_fetch_timeout)
        if interactive
        else Politeness(
            delay=delay, retries=settings.sync_retries, timeout=settings.sync_timeout, max_wait=settings.sync_max_wait
        )
    )
    return HttpEdge(user_agent(settings), politeness, pacer=pacer)


class Tally:
    """Counts of one sync run, page by page."""

    def __init__(self, source: str, edge: HttpEdge, on_progress: OnProgress = None) -> None:
        self.source = source
        self.edge = edge
        edge.on_retry = self.progress  # a long Retry-After wait shows on the progress line
        self.pages = self.records = 0
        self.added = self.updated = self.unchanged = self.listings = 0
        self.rejected: list[Rejected] = []
        self.notices: list[Notice] = []
        self.changed: dict[str, None] = {}  # ordered set
        self.expected: int | None = None
        self._on_progress = on_progress

    def store(self, sink: PageSink, items: Sequence[SourceItem]) -> None:
        """Store one page through ``sink`` and count it."""
        report, changed = sink(items)
        self.pages += 1
        self.records += report.seen + len(report.rejected)
        self.added += report.added
        self.updated += report.updated
        self.unchanged += report.unchanged
        self.listings += report.listings_added
        self.rejected.extend(report.rejected)
        self.notices.extend(report.notices)
        self.changed.update(dict.fromkeys(changed))
        self.progress()

    def progress(self, note: str = "") -> None:
        if self._on_progress:
            self._on_progress(
                SyncProgress(self.source, self.pages, self.records, self.expected, self.added, self.updated, note=note)
            )

    def report(self, *, complete: bool, problems: Sequence[str] = (), resumed_from: str | None = None) -> SyncReport:
        edge = self.edge
        return SyncReport(
            source=self.source,
            complete=complete,
            pages=self.pages,
            requests=edge.requests,
            added=self.added,
            updated=self.updated,
            unchanged=self.unchanged,
            listings_added=self.listings,
            rejected=tuple(self.rejected),
            notices=tuple(self.notices),
            retried=tuple(edge.retried),
            problems=tuple(problems),
            changed_ids=tuple(self.changed),
            resumed_from=resumed_from,
        )


class ClockedState:
    """A ``StateStore`` over ``SyncStateStore``, stamping each write with the Hub's clock."""

    def __init__(self, store: Any, now: Callable[[], Any]) -> None:
        self._store, self._now = store, now

    def get(self, key: str) -> dict[str, Any] | None:
        return self._store.get(key)

    def put(self, key: str, state: dict[str, Any]) -> None:
        self._store.put(key, state, self._now())

    def delete(self, key: str) -> None:
        self._store.delete(key)
