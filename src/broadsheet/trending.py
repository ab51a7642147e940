"""Ranking listings: trending (votes with time decay, a pure function), top (most upvoted), newest.

    score = (upvotes + 1) / (hours since the start of the listing day + 2) ** gravity

The Hacker News formula, with the listing day as the paper's birth: a paper listed today needs
far fewer votes than one listed a week ago to rank above it. ``+ 1`` lets papers without votes
still order by freshness; ``+ 2`` keeps the first hours from dividing by almost zero. The
gravity (``trending_gravity``, 1.5 by default) sets how fast old papers sink. Scores are computed
at an *as-of* time: now, or the end of the last listed day when the database has no listing
since (a demo or an archive), so an old archive still has a meaningful trending page.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Protocol, TypeVar

from .exceptions import InvalidInputError

FORMULA = "(upvotes + 1) / (hours since listed + 2)^{gravity}"


def age_hours(listed_on: date, as_of: datetime) -> float:
    """Hours from the start of ``listed_on`` (UTC) to ``as_of``; never negative."""
    return max(
        0.0, (as_of - datetime.combine(listed_on, time())).total_seconds() / 3600
    )


def trending_score(
    upvotes: int, listed_on: date, as_of: datetime, gravity: float
) -> float:
    return (max(upvotes, 0) + 1) / (age_hours(listed_on, as_of) + 2) ** gravity


def as_of_time(now: datetime, last_day: date | None) -> datetime:
    """The time scores are computed at: ``now``, or the end of ``last_day`` if that is earlier."""
    if last_day is None:
        return now
    return min(now, datetime.combine(last_day + timedelta(days=1), time()))


def formula(gravity: float) -> str:
    """The formula as one line of text, with the gravity in force."""
    return FORMULA.format(gravity=f"{gravity:g}")


class Rankable(Protocol):
    """What ranking needs of a listing (``storage.browse.ListingRow`` is one)."""

    paper_id: int
    listed_on: date
    upvotes: int
    published: date | None


R = TypeVar("R", bound=Rankable)
# top: most upvoted first (as Hugging Face ranks a day, a week or a month); trending: the formula;
# newest: the latest listed first.
SORTS = ("top", "trending", "newest")


def default_sort(period_kind: str) -> str:
    """The sort a period's page opens with: ``trending`` for a day, ``top`` for a week or a month
    (over a month the formula would rank the last days' papers first, whatever their votes)."""
    return "trending" if period_kind == "date" else "top"


def check_sort(sort: str) -> str:
    """``sort`` if it is one of ``SORTS``; InvalidInputError that names them otherwise."""
    if sort not in SORTS:
        raise InvalidInputError(f"there is no sort {sort[:40]!r}: use one of {', '.join(SORTS)}")
    return sort


def rank(
    rows: Iterable[R], as_of: datetime, gravity: float, sort: str = "trending"
) -> list[tuple[R, float]]:
    """``(row, score)`` pairs, best first: by trending score (ties: more votes, then lower id);
    ``top``: most upvotes (ties: the trending score, which favours the later listed); or
    ``newest``: latest listing day, then latest publication."""
    scored = [(r, trending_score(r.upvotes, r.listed_on, as_of, gravity)) for r in rows]
    if sort == "trending":
        scored.sort(key=lambda rs: (-rs[1], -rs[0].upvotes, rs[0].paper_id))
    elif sort == "top":
        scored.sort(key=lambda rs: (-rs[0].upvotes, -rs[1], rs[0].paper_id))
    elif sort == "newest":
        scored.sort(
            key=lambda rs: (
                rs[0].listed_on,
                rs[0].published or date.min,
                rs[0].paper_id,
            ),
            reverse=True,
        )
    else:
        check_sort(sort)
    return scored


# -- search results -------------------------------------------------------------------------------

SEARCH_SORTS = ("relevance", "date", "upvotes")


def order_results(ids: Sequence[int], keys: Mapping[int, tuple[date | None, int]], sort: str) -> list[int]:
    """Search results (paper ids, most relevant first) in the order ``sort`` asks: ``relevance``
    as they are, ``date`` newest published first, ``upvotes`` most upvoted first; ties keep their
    relevance order. ``keys``: each paper's ``(published, upvotes)``."""
    if sort not in SEARCH_SORTS:
        raise InvalidInputError(f"there is no sort {sort[:40]!r} for search: use one of {', '.join(SEARCH_SORTS)}")
    if sort == "relevance":
        return list(ids)
    at = {pid: n for n, pid in enumerate(ids)}

    def key(pid: int) -> tuple[int, int]:
        published, upvotes = keys.get(pid, (None, 0))
        first = -(published or date.min).toordinal() if sort == "date" else -upvotes
        return first, at[pid]

    return sorted(ids, key=key)
