"""The arXiv export API (``/api/query``, Atom): searches paged within its limits, and papers by id.

A search asks for ``page_size`` results at a time (at most 2,000) and stops at ``max_results``
(at most 30,000: the API serves no more for one query; narrow it with dates). With a date range
it sorts by last update, oldest first, so that papers updated during the sync land at the end
instead of shifting the pages already read.

An error feed (status 400 and one entry whose id is an ``/api/errors`` URL) is reported, never
stored.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import httpx

from ..exceptions import InvalidInputError, SourceError
from ..sources.arxiv_atom import ERROR_PREFIX, SOURCE, feed_totals, parse_atom
from ..types import Notice, Rejected, SourceItem, SyncReport
from ._run import OnProgress, PageSink, Tally
from .http import HttpEdge

PAGE_MAX = 2000
QUERY_MAX = 30_000
_CATEGORY = re.compile(r"^[a-z-]+(\.[A-Za-z-]+)?$")


@dataclass(frozen=True, slots=True)
class ArxivSearch:
    """One search: the ``search_query`` and how to page it."""

    search_query: str
    sort_order: str = "descending"
    page_size: int = 1000
    max_results: int = QUERY_MAX

    def params(self, start: int) -> dict[str, str]:
        count = min(self.page_size, self.max_results - start)
        return {
            "search_query": self.search_query,
            "start": str(start),
            "max_results": str(count),
            "sortBy": "lastUpdatedDate",
            "sortOrder": self.sort_order,
        }


def build_search(
    categories: Sequence[str] = (),
    query: str | None = None,
    since: date | None = None,
    until: date | None = None,
    *,
    page_size: int = 1000,
    max_results: int = QUERY_MAX,
) -> ArxivSearch:
    """The search for papers in any of ``categories``, matching ``query`` (arXiv's own query
    syntax, e.g. ``ti:diffusion AND au:ho``), last updated between ``since`` and ``until``
    (inclusive days, UTC). Raises InvalidInputError for an empty search or out-of-range paging."""
    if not 1 <= page_size <= PAGE_MAX:
        raise InvalidInputError(f"page size must be between 1 and {PAGE_MAX} (the API's limit), not {page_size}")
    if not 1 <= max_results <= QUERY_MAX:
        raise InvalidInputError(f"max results must be between 1 and {QUERY_MAX} (the API's limit), not {max_results}")
    bad = [c for c in categories if not _CATEGORY.match(c)]
    if bad:
        raise InvalidInputError(f"not an arXiv category: {', '.join(bad)} (e.g. cs.LG, hep-th, math)")
    if until and not since:
        raise InvalidInputError("--until needs --since")
    if since and until and until < since:
        raise InvalidInputError(f"--until {until} is before --since {since}")
    parts = []
    if query and query.strip():
        parts.append(query.strip())
    if categories:
        cats = " OR ".join(f"cat:{c}" for c in dict.fromkeys(categories))
        parts.append(f"({cats})" if len(categories) > 1 else cats)
    if since:
        last = until or date.max
        parts.append(f"lastUpdatedDate:[{since:%Y%m%d}0000 TO {last:%Y%m%d}2359]")
    if not parts:
        raise InvalidInputError("say what to fetch: --category, --query and/or --since")
    if len(parts) > 1 and query and query.strip():
        parts[0] = f"({parts[0]})"
    order = "ascending" if since else "descending"
    return ArxivSearch(" AND ".join(parts), order, page_size, max_results)


def next_start(start: int, got: int, total: int | None, limit: int) -> int | None:
    """Where the next page starts, or None when the search is done.

    An empty page ends it (the API has nothing more, or is misbehaving: either way, do not spin);
    so does reaching ``totalResults`` or ``limit``. A short page that is not the last (the API
    sometimes returns fewer entries than asked) is followed by the next one from where it ended;
    without ``totalResults``, a short page is the last.
    """
    if got <= 0:
        return None
    after = start + got
    if after >= (min(total, limit) if total is not None else limit):
        return None
    return after


@dataclass(frozen=True, slots=True)
class AtomPage:
    items: tuple[SourceItem, ...]
    total: int | None
    errors: tuple[str, ...]  # messages of an error feed

    @property
    def entries(self) -> int:
        return len(self.items)


def read_page(body: bytes, name: str) -> AtomPage:
    """A whole feed parsed (so a cut-short body raises before anything is stored)."""
    items = tuple(parse_atom(body, name))
    total, _, _ = feed_totals(body)
    errors = tuple(
        r.reason.removeprefix(ERROR_PREFIX) for r in items if isinstance(r, Rejected) and r.reason.startswith(ERROR_PREFIX)
    )
    return AtomPage(items, total, errors)


def run_search(edge: HttpEdge, url: str, search: ArxivSearch, store: PageSink, on_progress: OnProgress = None) -> SyncReport:
    """Fetch and store every page of ``search``; the report says how it ended."""
    tally = Tally(SOURCE, edge, on_progress)
    start: int | None = 0
    problems: list[str] = []
    while start is not None:
        params = search.params(start)
        name = f"{url}?{httpx.QueryParams(params)}"
        try:
            page = edge.get(url, params, lambda body, name=name: read_page(body, name))
        except SourceError as exc:
            problems.append(str(exc))
            break
        if page.errors:
            problems.append("arXiv API error: " + "; ".join(page.errors))
            break
        if page.total is not None:
            tally.expected = min(page.total, search.max_results)
            if start == 0 and page.total > search.max_results:
                tally.notices.append(
                    Notice(name, f"{page.total} papers match; the sync stops at {search.max_results} (arXiv serves at most {QUERY_MAX} per query: narrow it with --since/--until)")
                )
        tally.store(store, page.items)
        following = next_start(start, page.entries, page.total, search.max_results)
        if following is None and page.entries == 0 and page.total is not None and start < min(page.total, search.max_results):
            problems.append(f"arXiv returned an empty page at {start} of {page.total} results; stopped there (re-run the sync)")
        start = following
    return tally.report(complete=not problems, problems=problems)


def fetch_ids(edge: HttpEdge, url: str, arxiv_ids: Sequence[str]) -> AtomPage:
    """The papers with these ids (the newest version of each, unless an id names a version).

    Raises SourceError when the API answers with an error feed or cannot be reached."""
    params = {"id_list": ",".join(arxiv_ids), "start": "0", "max_results": str(len(arxiv_ids))}
    name = f"{url}?{httpx.QueryParams(params)}"
    page = edge.get(url, params, lambda body: read_page(body, name))
    if page.errors:
        raise SourceError("arXiv API error: " + "; ".join(page.errors))
    return page
