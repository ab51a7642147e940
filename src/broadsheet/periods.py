"""Feed periods: a day, an ISO week or a month, parsed from and written to URLs (pure).

parse_period("week", "2024-W20")  ->  Period("week", date(2024, 5, 13), date(2024, 5, 19))
period_containing("month", date(2024, 5, 17)).slug  ->  "2024-05"

Pages served for a period also need the day after it (half-open ranges, the trending as-of time)
and the week and month around it (links), which run past Python's last day (9999-12-31) in the
last weeks of year 9999: so periods are served for years ``FIRST_YEAR`` to ``LAST_YEAR``.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from .exceptions import InvalidInputError
from .types import Period

KINDS = ("date", "week", "month")
_WEEK_RE = re.compile(r"^(\d{4})-W(\d{2})$")
_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")
_DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
FIRST_YEAR, LAST_YEAR = 1, 9998


def period_containing(kind: str, day: date) -> Period:
    """The day, ISO week (Monday to Sunday) or month that ``day`` falls in; InvalidInputError when
    it runs past the calendar (the last week of 9999)."""
    try:
        return _containing(kind, day)
    except OverflowError:
        raise InvalidInputError(f"the {kind} of {day.isoformat()} runs past the end of the calendar") from None


def _containing(kind: str, day: date) -> Period:
    if kind == "date":
        return Period("date", day, day)
    if kind == "week":
        monday = day - timedelta(days=day.weekday())
        return Period("week", monday, monday + timedelta(days=6))
    if kind == "month":
        first = day.replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
        return Period("month", first, following - timedelta(days=1))
    raise InvalidInputError(
        f"unknown period kind {kind!r}: use one of {', '.join(KINDS)}"
    )


def parse_period(kind: str, slug: str) -> Period:
    """The period a URL names: ``YYYY-MM-DD``, ``YYYY-Www`` or ``YYYY-MM``; InvalidInputError else."""
    examples = {"date": "2024-05-17", "week": "2024-W20", "month": "2024-05"}
    if kind in KINDS and slug[:4].isascii() and slug[:4].isdigit() and not FIRST_YEAR <= int(slug[:4]) <= LAST_YEAR:
        raise InvalidInputError(
            f"no {kind} {slug!r}: pages cover the years {FIRST_YEAR:04d} to {LAST_YEAR} "
            f"(for example {examples[kind]})"
        )
    try:
        if kind == "date" and _DAY_RE.match(slug):
            return period_containing("date", date.fromisoformat(slug))
        if kind == "week" and (m := _WEEK_RE.match(slug)):
            return period_containing(
                "week", date.fromisocalendar(int(m[1]), int(m[2]), 1)
            )
        if kind == "month" and (m := _MONTH_RE.match(slug)):
            return period_containing("month", date(int(m[1]), int(m[2]), 1))
    except ValueError:
        pass
    raise InvalidInputError(
        f"not a {kind}: {slug!r} (for example {examples.get(kind, '2024-05-17')})"
    )
