"""One-line summaries from the configured model (``summarizer_url``; off when empty), for listed
papers, by the worker's background pass or ``broadsheet summarize``; a page never waits for one."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from ..config import Settings
from ..exceptions import SourceError

if TYPE_CHECKING:
    from ..storage import Storage
    from ..sync.http import HttpEdge


@dataclass(slots=True)
class SummaryReport:
    made: int = 0
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return f"summaries: {self.made} made" + ("; stopped: " + "; ".join(self.problems) if self.problems else "")


def summaries_on(settings: Settings) -> bool:
    return bool(settings.summarizer_url.strip() and settings.summarizer_model.strip())


def make_summaries(
    storage: Storage,
    settings: Settings,
    edge: Callable[[], HttpEdge],
    now: Callable[[], datetime],
    *,
    arxiv_ids: Sequence[str] | None = None,
    limit: int = 20,
) -> SummaryReport:
    """Ask the model for the summaries listed papers (or ``arxiv_ids``) lack, up to ``limit``; the
    first failure stops the run (the next run asks again)."""
    from ..sync.summarize import summarize

    report = SummaryReport()
    if not summaries_on(settings):
        return report
    rows = storage.extras.lacking_summary(limit, arxiv_ids)
    if not rows:
        return report
    with edge() as client:
        for pid, title, abstract, content_hash in rows:
            try:
                line = summarize(client, settings.summarizer_url, settings.summarizer_model, settings.summarizer_key, title, abstract)
            except SourceError as e:
                report.problems.append(str(e))
                break
            storage.extras.put_summary(pid, line, settings.summarizer_model, content_hash, now())
            report.made += 1
    return report
