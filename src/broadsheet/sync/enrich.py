"""arXiv metadata for papers that came without it.

A Hugging Face daily-papers record has a title, an abstract, authors and upvotes, but no
categories, comments, DOI, journal reference or version: a hub loaded from the HF archive has
empty category pages and ``cat:`` filters that find nothing. This asks the arXiv export API for
those papers, ``batch`` ids per ``id_list`` request (paced like every other arXiv API request), and
stores what it answers through the ordinary ingest (a stated field replaces the stored one, a
missing one erases nothing: upvotes, code links and listings stay).

Every id asked about is marked (``papers.arxiv_checked``), found or not, so a paper arXiv does not
know (withdrawn, or an HF id that is no arXiv paper) is not asked for again and again. A request
that fails stops the run: its ids stay unmarked, and the next run asks again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from ..exceptions import SourceError
from ..ids import is_arxiv_id
from ..sources.arxiv_atom import SOURCE
from ..types import Notice, PaperData, SyncProgress, SyncReport
from ._run import OnProgress, PageSink, Tally
from .arxiv import PAGE_MAX, fetch_ids
from .http import HttpEdge

DEFAULT_BATCH = 100  # ids per request: a few hundred kB of Atom, well under the API's limits


def batches(arxiv_ids: Sequence[str], size: int) -> list[list[str]]:
    """The ids worth asking about (arXiv ids, each once), ``size`` to a request (1..PAGE_MAX)."""
    size = max(1, min(size, PAGE_MAX))
    ids = [a for a in dict.fromkeys(arxiv_ids) if is_arxiv_id(a)]
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def enrich(
    edge: HttpEdge,
    url: str,
    arxiv_ids: Sequence[str],
    store: PageSink,
    mark_checked: Callable[[Sequence[str]], None],
    *,
    batch: int = DEFAULT_BATCH,
    on_progress: OnProgress = None,
) -> SyncReport:
    """Ask arXiv for ``arxiv_ids`` in batches; store what it knows, mark every id asked about.
    The report's ``updated`` counts the papers that got metadata, its notices the ids arXiv did
    not know; ``problems`` says why a run stopped early."""
    tally = Tally(SOURCE, edge, _as_enriching(on_progress))
    todo = batches(arxiv_ids, batch)
    tally.expected = sum(len(b) for b in todo)
    problems: list[str] = []
    for ids in todo:
        try:
            page = fetch_ids(edge, url, ids)
        except SourceError as e:
            left = tally.expected - tally.records
            problems.append(f"arXiv metadata: {e}; {left} papers still lack it (`broadsheet enrich` asks again)")
            break
        wanted = set(ids)
        found = [i for i in page.items if isinstance(i, PaperData) and i.arxiv_id in wanted]
        tally.store(store, found)
        missing = wanted - {p.arxiv_id for p in found}
        tally.records += len(missing)  # asked about: counted as done for the progress bar
        tally.notices.extend(Notice(f"{url}?id_list={a}", f"arXiv has no paper {a}") for a in sorted(missing))
        mark_checked(ids)
        tally.progress()
    return tally.report(complete=not problems, problems=problems)


def with_enrichment(sync: SyncReport, enriched: SyncReport) -> SyncReport:
    """A sync's report with the enrichment that followed it: its requests, faults and problems
    (the sync itself stays complete or not), and ``enriched``, the papers that got metadata."""
    return dataclasses.replace(
        sync,
        enriched=enriched.updated,
        requests=sync.requests + enriched.requests,
        retried=sync.retried + enriched.retried,
        problems=sync.problems + enriched.problems,
        changed_ids=tuple(dict.fromkeys(sync.changed_ids + enriched.changed_ids)),
    )


def _as_enriching(on_progress: OnProgress) -> OnProgress:
    if on_progress is None:
        return None

    def show(p: SyncProgress) -> None:
        on_progress(SyncProgress(p.source, p.pages, p.records, p.expected, p.added, p.updated, phase="enriching", note=p.note))

    return show
