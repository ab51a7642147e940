"""Schedules for `broadsheet worker` (pure): the ``schedule`` setting, and when a job last fell due.

    parse_schedule("digest-daily=07:00; digest-weekly=mon 07:30; sync-oai=off")
    last_slot(When(7, 0), datetime(2026, 11, 28, 9, 15))  ->  2026-11-28 07:00

Times are UTC. A worker runs a job once per slot: the latest scheduled time that has passed, so a
worker started late (or after downtime) catches up once, not once per missed slot.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from .exceptions import InvalidInputError

JOBS = ("digest-daily", "digest-weekly", "sync-hf-daily", "sync-oai", "sync-arxiv")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WHEN = re.compile(r"^(?:(mon|tue|wed|thu|fri|sat|sun)\s+)?(\d{1,2}):(\d{2})$")


@dataclass(frozen=True, slots=True)
class When:
    hour: int
    minute: int
    weekday: int | None = None  # 0 = Monday; None = every day


def parse_schedule(text: str) -> dict[str, When | None]:
    """``JOB=HH:MM`` (daily), ``JOB=mon HH:MM`` (weekly) or ``JOB=off``, separated by ``;``.
    Jobs not named are off."""
    found: dict[str, When | None] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        name, sep, value = (x.strip().lower() for x in part.partition("="))
        if not sep or name not in JOBS:
            raise InvalidInputError(f"schedule: {part!r}: use JOB=HH:MM, JOB=mon HH:MM or JOB=off; jobs: {', '.join(JOBS)}")
        if value == "off":
            found[name] = None
            continue
        m = _WHEN.match(value)
        if not m or int(m[2]) > 23 or int(m[3]) > 59:
            raise InvalidInputError(f"schedule: {part!r}: the time must be HH:MM (UTC), optionally after a weekday (mon ... sun)")
        found[name] = When(int(m[2]), int(m[3]), WEEKDAYS.index(m[1]) if m[1] else None)
    return found


def last_slot(when: When, now: datetime) -> datetime:
    """The latest time at or before ``now`` that ``when`` names."""
    slot = datetime.combine(now.date(), time(when.hour, when.minute))
    if when.weekday is None:
        return slot if slot <= now else slot - timedelta(days=1)
    slot -= timedelta(days=(now.weekday() - when.weekday) % 7)
    return slot if slot <= now else slot - timedelta(days=7)
