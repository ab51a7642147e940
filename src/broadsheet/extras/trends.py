"""Trend charts' data: papers and upvotes per month of a search, an author, a category.

The database gives the matching ids from its indexes (``storage/trends.py``); ``MonthTable``, a
compact in-memory copy of every paper's publication day and upvotes (16 bytes a paper: 1.6 MB
per 100k), turns them into counts per month with two ``np.bincount``. It is loaded
on first use (about a tenth of a second per 100k papers, 1.0 s at 1M against 2.3 s with a Python date per row) and brought up to date before each
chart with the papers changed since (``papers.last_changed``, an index lookup), as the search's
in-memory index is. Hidden papers (an index on ``papers.hidden``) and local votes (one grouped
scan of ``votes``) are read per chart: neither touches ``last_changed``.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING

import numpy as np

from ..exceptions import InvalidInputError
from ..text import name_key
from ..trends import make_trend, month_name
from ..types import Query, SearchFilters, Trend

if TYPE_CHECKING:
    from ..storage import Storage

NO_DAY = np.iinfo(np.int32).min  # storage/trends.py's NO_DAY
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
# Query filters this module does not look up itself (an organization's papers): the ids that pass
# them come from the full-text index's ``allowed_ids``, which every filter of the search obeys.
OTHER_FILTERS = ("organizations",)
log = logging.getLogger("broadsheet.web")


class MonthTable:
    """Every paper's day (an ordinal), month (year * 12 + month - 1) and upvotes, by paper id."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self._lock = threading.Lock()
        self._seen: datetime | None = None  # the newest last_changed loaded
        self._loaded = False
        self.day = np.full(0, NO_DAY, dtype=np.int32)
        self.month = np.full(0, -1, dtype=np.int32)
        self.upvotes = np.zeros(0, dtype=np.int64)

    def refresh(self) -> None:
        """Load what changed since the last look (everything, the first time)."""
        store = self._storage.trends
        with self._lock:
            last = store.last_change()  # read first: what changes during the scan is read again next time
            if self._loaded and (last is None or (self._seen is not None and last <= self._seen)):
                return  # nothing written since (each batch's time is read under the writer lock)
            # From the newest time seen on, that time included: a batch written at that time may
            # have committed after the last look (one batch read twice at most).
            for ids, days, upvotes in store.dated_papers(self._seen if self._loaded else None):
                self._put(ids, days, upvotes)
            self._seen, self._loaded = last, True

    def preload(self) -> None:
        """``refresh`` for a background thread at a server's start: a failure (the database
        closing under it) is logged; the first chart loads the table then."""
        try:
            self.refresh()
        except Exception as e:  # noqa: BLE001
            log.warning("loading the trend charts' table failed: %s", e)

    def _put(self, ids: np.ndarray, days: np.ndarray, upvotes: np.ndarray) -> None:
        if not len(ids):
            return
        if ids.max() >= len(self.day):
            size = max(int(ids.max()) + 1, int(len(self.day) * 1.25))
            self.day = np.concatenate([self.day, np.full(size - len(self.day), NO_DAY, dtype=np.int32)])
            self.month = np.concatenate([self.month, np.full(size - len(self.month), -1, dtype=np.int32)])
            self.upvotes = np.concatenate([self.upvotes, np.zeros(size - len(self.upvotes), dtype=np.int64)])
        known = days != NO_DAY
        # year * 12 + month - 1, from the ordinal: days since 1970-01-01 as numpy dates, to months
        since_1970 = np.where(known, days - EPOCH_ORDINAL, 0).astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
        self.day[ids] = days
        self.month[ids] = np.where(known, since_1970 + 1970 * 12, -1)
        self.upvotes[ids] = upvotes

    def counts(self, ids: list[int] | np.ndarray | None, since: date | None = None, until: date | None = None) -> list[tuple[str, int, int]]:
        """``(YYYY-MM, papers, upvotes)`` of the visible, dated papers among ``ids`` (None: all)."""
        self.refresh()
        chosen = np.arange(len(self.day)) if ids is None else np.asarray(ids, dtype=np.int64)
        chosen = chosen[(chosen >= 0) & (chosen < len(self.day))]
        keep = self.month[chosen] >= 0
        hidden = self._storage.trends.hidden_ids()
        if hidden:
            keep &= ~np.isin(chosen, np.asarray(hidden, dtype=np.int64))
        if since is not None:
            keep &= self.day[chosen] >= since.toordinal()
        if until is not None:
            keep &= self.day[chosen] <= until.toordinal()
        chosen = chosen[keep]
        if not len(chosen):
            return []
        months = self.month[chosen]
        first = int(months.min())
        papers = np.bincount(months - first)
        weights = self.upvotes[chosen].astype(np.float64)
        local = dict(self._storage.trends.local_votes())
        if local:
            weights += np.fromiter((local.get(int(i), 0) for i in chosen), dtype=np.float64, count=len(chosen))
        upvotes = np.bincount(months - first, weights=weights)
        return [(month_name(first + i), int(n), int(upvotes[i])) for i, n in enumerate(papers) if n]


def _with_filters(parsed: Query, filters: SearchFilters | None) -> Query:
    if not filters:
        return parsed
    return dataclasses.replace(  # as Hub.search adds the form's fields to the query's own
        parsed,
        categories=parsed.categories + filters.categories,
        authors=parsed.authors + filters.authors,
        since=filters.since or parsed.since,
        until=filters.until or parsed.until,
    )


def query_trend(
    storage: Storage, table: MonthTable, query: str, filters: SearchFilters | None = None,
    in_memory: Callable[[Query], np.ndarray | None] = lambda _: None,
) -> Trend:  # fmt: skip
    """Every visible paper the query matches (any of its words, as the search's word side finds
    them; its phrases, authors, exclusions and filters), per month. ``in_memory(query)``: the ids
    of a words-only query from the search's in-memory index, or None. InvalidInputError for an
    empty query."""
    from ..search.query import parse_query

    parsed = _with_filters(parse_query(query), filters)
    if parsed.is_empty:
        raise InvalidInputError("empty query: type some words, or use filters such as cat:cs.LG")
    # The search's in-memory word index knows the matches of plain words at once; else the database.
    ids: np.ndarray | list[int] | None = in_memory(parsed)
    if ids is None:
        ids = storage.trends.text_ids(parsed)
    if parsed.categories:
        in_cats = np.asarray(storage.trends.category_ids(parsed.categories), dtype=np.int64)
        ids = in_cats if ids is None else np.intersect1d(np.asarray(ids, dtype=np.int64), in_cats)
    if any(getattr(parsed, name, ()) for name in OTHER_FILTERS):  # the search's own filter, slower
        allowed = np.fromiter(storage.fulltext.allowed_ids(parsed) or (), dtype=np.int64)
        ids = allowed if ids is None else np.intersect1d(np.asarray(ids, dtype=np.int64), allowed)
    return make_trend(query.strip(), table.counts(ids, parsed.since, parsed.until))


def author_trend(storage: Storage, table: MonthTable, name: str) -> Trend:
    return make_trend(name, table.counts(storage.trends.author_ids(name_key(name))))


def organization_trend(storage: Storage, table: MonthTable, name: str) -> Trend:
    return make_trend(name.strip(), table.counts(storage.trends.organization_ids(name.strip().casefold())))


def category_trend(storage: Storage, table: MonthTable, code: str) -> Trend:
    return make_trend(code.strip(), table.counts(storage.trends.category_ids((code.strip(),))))
