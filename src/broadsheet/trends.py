"""Trend series (pure): papers and upvotes per month, from the database's counts of the months
that have papers to a series without gaps over the last ``WINDOW`` months."""

from __future__ import annotations

from collections.abc import Sequence

from .types import Trend, TrendMonth

WINDOW = 24  # months a chart shows: two years read at a glance; the totals count every month


def month_index(month: str) -> int:
    year, m = month.split("-")
    return int(year) * 12 + int(m) - 1


def month_name(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def make_trend(label: str, counts: Sequence[tuple[str, int, int]], window: int = WINDOW) -> Trend:
    """A Trend from ``(YYYY-MM, papers, upvotes)`` rows in any order (months without papers left
    out): the last ``window`` months up to the last month with a paper, gaps filled with zeros."""
    by_month = {month_index(m): (n, u) for m, n, u in counts if n}
    if not by_month:
        return Trend(label, (), 0, 0, None)
    last, first = max(by_month), min(by_month)
    start = max(first, last - window + 1)
    months = tuple(TrendMonth(month_name(i), *by_month.get(i, (0, 0))) for i in range(start, last + 1))
    return Trend(
        label, months, sum(n for n, _ in by_month.values()), sum(u for _, u in by_month.values()), month_name(first)
    )
