"""Browsing as a use case: the daily feed of listed papers (trending or newest first), the
trending papers, the papers of an author or a category, and an organization and its papers. Trending scores are pure
(``trending.py``); the rows come from ``storage/browse.py``. ``Hub`` delegates here, one line each.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta

from .config import Settings
from .exceptions import NotFoundError
from .storage import Storage
from .storage.browse import ListingRow
from .trending import age_hours, as_of_time, rank
from .types import Feed, FeedEntry, Organization, Paper


class Browse:
    def __init__(self, settings: Settings, storage: Storage, now: Callable[[], datetime]) -> None:
        self.settings = settings
        self._storage = storage
        self._now = now

    def get_feed(
        self, first: date, last: date, *, sort: str = "trending", limit: int = 30, offset: int = 0, submitter: str | None = None
    ) -> Feed:
        """See ``Hub.get_feed``."""
        feed = self.feed(first, last, as_of_time(self._now(), last), sort, limit, offset, submitter)
        before, after = self._storage.browse.listed_days_around(first, last)
        return dataclasses.replace(feed, previous_day=before, next_day=after)

    def get_trending(self, *, limit: int = 30, offset: int = 0) -> Feed:
        """See ``Hub.get_trending``."""
        last = self._storage.papers.latest_listing_day()
        now = self._now()
        if last is None:
            return Feed((), 0, now.date(), now.date(), "trending", now)
        first = last - timedelta(days=max(1, self.settings.trending_days) - 1)
        return self.feed(first, last, as_of_time(now, last), "trending", limit, offset)

    def feed(
        self, first: date, last: date, as_of: datetime, sort: str, limit: int, offset: int, submitter: str | None = None
    ) -> Feed:
        """One page of the papers listed from ``first`` to ``last``, ranked as of ``as_of``."""
        rows = self._storage.browse.listing_rows(first, last)
        if submitter is not None:
            who = submitter.strip().casefold()
            rows = [r for r in rows if (r.submitter or "").casefold() == who]
        ranked = rank(rows, as_of, self.settings.trending_gravity, sort)
        page = ranked[offset : offset + limit]
        papers = self._storage.papers.by_ids([r.paper_id for r, _ in page])
        return Feed(_entries(page, papers, as_of), len(ranked), first, last, sort, as_of)

    def organization(self, name: str) -> Organization:
        """See ``Hub.get_organization``."""
        found = self._storage.browse.organization(name.strip())
        if found is None:
            raise NotFoundError(f"no organization {name.strip()[:128]!r}")
        return Organization(*found)

    def organization_feed(self, name: str, *, sort: str, limit: int, offset: int) -> tuple[Organization, Feed]:
        """The organization and one page of its papers sorted by ``sort`` (``trending.SORTS``).

        An organization only comes from Hugging Face records, so every paper of one is listed: its
        listings are ranked by the feed's rules, as of now or the end of its last listed day (an
        archive keeps a meaningful trending tab)."""
        org = self.organization(name)
        rows = self._storage.browse.organization_listing_rows(org.name)
        now = self._now()
        if not rows:
            return org, Feed((), 0, now.date(), now.date(), sort, now)
        first, last = min(r.listed_on for r in rows), max(r.listed_on for r in rows)
        as_of = as_of_time(now, last)
        ranked = rank(rows, as_of, self.settings.trending_gravity, sort)
        page = ranked[offset : offset + limit]
        papers = self._storage.papers.by_ids([r.paper_id for r, _ in page])
        return org, Feed(_entries(page, papers, as_of), len(ranked), first, last, sort, as_of)

    def by_author(self, name: str, *, limit: int = 30, offset: int = 0) -> list[Paper]:
        from .text import name_key

        return self._in_order(self._storage.browse.by_author(name_key(name), limit, offset))

    def in_category(self, code: str, *, limit: int = 30, offset: int = 0) -> list[Paper]:
        return self._in_order(self._storage.browse.in_category(code.strip(), limit, offset))

    def _in_order(self, pids: Sequence[int]) -> list[Paper]:
        found = self._storage.papers.by_ids(pids)
        return [found[p] for p in pids if p in found]


def _entries(rows: Sequence[tuple[ListingRow, float]], papers: dict[int, Paper], as_of: datetime) -> tuple[FeedEntry, ...]:
    """Feed entries for ranked listing rows whose papers are loaded (others are left out)."""
    return tuple(
        FeedEntry(
            papers[r.paper_id], r.listed_on, r.submitter, score, age_hours(r.listed_on, as_of),
            r.submitter_fullname, r.submitter_avatar, r.author_participating,
        )  # fmt: skip
        for r, score in rows
        if r.paper_id in papers
    )
