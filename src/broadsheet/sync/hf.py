"""Hugging Face daily papers (``GET /api/daily_papers?date=YYYY-MM-DD``): listings with their
upvotes, submitters, GitHub repositories and project pages.

A day is asked for ``PAGE_LIMIT`` items at a time (``limit``, page ``p`` from 0); the busiest days
of the 2024-2026 archive hold 50 (the API's default page). A short page, an empty one or one that
brings no paper not already seen that day ends the day, so a server that ignores ``p`` cannot make
the loop spin. Each day's listings carry the day asked for (``parse_hf_daily(..., day)``), the most
reliable listing date (see ``broadsheet.sources.hf_daily``).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, timedelta

import httpx

from ..exceptions import InvalidInputError, SourceError
from ..sources.hf_daily import SOURCE, parse_hf_daily
from ..types import PaperData, Rejected, SourceItem, SyncReport
from ._run import OnProgress, PageSink, Tally
from .http import HttpEdge

PAGE_LIMIT = 100
MAX_PAGES_A_DAY = 20
MAX_DAYS = 3660  # ten years in one run


def days_to_fetch(
    day: date | None, since: date | None, until: date | None, *, today: date, default_days: int
) -> list[date]:
    """The days a run fetches, oldest first: ``day`` alone; or ``since`` .. ``until`` (default
    today); or, given neither, the last ``default_days`` days up to today."""
    if day and (since or until):
        raise InvalidInputError("give --date, or --since (and --until), not both")
    if day:
        return [day]
    if until and not since:
        raise InvalidInputError("--until needs --since")
    last = until or today
    first = since or last - timedelta(days=max(default_days, 1) - 1)
    if first > last:
        raise InvalidInputError(f"--since {first} is after {last}")
    if (last - first).days >= MAX_DAYS:
        raise InvalidInputError(f"{first} .. {last} is more than {MAX_DAYS} days: split the run")
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def more_pages(items: int, limit: int, new_papers: int, page: int) -> bool:
    """Whether a day has another page after this one (pure): only after a full page that brought
    papers not seen earlier that day, and never past ``MAX_PAGES_A_DAY``."""
    return items >= limit and new_papers > 0 and page + 1 < MAX_PAGES_A_DAY


def read_day(body: bytes, name: str, day: date) -> tuple[SourceItem, ...]:
    """A whole day's page parsed: cut-short JSON raises before anything is stored."""
    return tuple(parse_hf_daily(body, name, day))


def sync_days(edge: HttpEdge, url: str, days: Collection[date], store: PageSink, on_progress: OnProgress = None) -> SyncReport:
    """Fetch and store each day; a day that cannot be fetched stops the run (the days before it
    are stored; the report says which day failed)."""
    tally = Tally(SOURCE, edge, on_progress)
    problems: list[str] = []
    for day in days:
        seen: set[str] = set()
        page = 0
        while True:
            params = {"date": day.isoformat(), "limit": str(PAGE_LIMIT), "p": str(page)}
            name = f"{url}?{httpx.QueryParams(params)}"
            try:
                items = edge.get(url, params, lambda body, name=name, day=day: read_day(body, name, day))
            except SourceError as exc:
                problems.append(str(exc))
                break
            tally.store(store, items)
            papers = {i.arxiv_id for i in items if isinstance(i, PaperData)}
            count = len(papers) + sum(isinstance(i, Rejected) for i in items)
            if not more_pages(count, PAGE_LIMIT, len(papers - seen), page):
                break
            seen |= papers
            page += 1
        if problems:
            break
    return tally.report(complete=not problems, problems=problems)
