"""Digest pieces that need no database: compose (pure), periods, schedules, signed tokens."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from broadsheet.digest.compose import check_content, compose, digest_period
from broadsheet.digest.deliver import backoff
from broadsheet.digest.tokens import sign, verify
from broadsheet.exceptions import InvalidInputError
from broadsheet.schedule import When, last_slot, parse_schedule
from broadsheet.types import Paper, Subscription

NOW = datetime(2026, 11, 28, 12)


def _paper(aid: str, hidden: bool = False) -> Paper:
    return Paper(aid, f"Title {aid}", "Abstract.", ("A",), 1, ("cs.LG",), "cs.LG", None, None, None, None, None,
                 None, None, 0, 0, 0, "t", "t", NOW, NOW, hidden)  # fmt: skip


def _sub(top: int = 2, topics: tuple[str, ...] = ()) -> Subscription:
    return Subscription(1, "a@example.org", "daily", top, topics, NOW, NOW)


def test_compose_takes_the_new_papers_once_and_says_nothing_when_empty() -> None:
    period = digest_period("daily", date(2026, 11, 28))
    trending = [_paper("1"), _paper("2"), _paper("3"), _paper("4", hidden=True)]
    topics = {"graphs": [_paper("2"), _paper("5"), _paper("6")]}
    d = compose(_sub(2, ("graphs",)), period, trending, topics, {"1"}, per_topic=1)
    assert d is not None
    assert [(s.title, [p.arxiv_id for p in s.papers]) for s in d.sections] == [("Trending", ["2", "3"]), ("graphs", ["5"])]
    assert compose(_sub(2), period, trending, {}, {"1", "2", "3"}) is None  # hidden 4 never goes out
    assert compose(_sub(0, ("none",)), period, trending, {}, set()) is None


def test_periods() -> None:
    assert digest_period("daily", date(2026, 11, 28)).key == "daily:2026-11-27"
    week = digest_period("weekly", date(2026, 11, 30))  # a Monday: the week before
    assert (week.first, week.last, week.key) == (date(2026, 11, 23), date(2026, 11, 29), "weekly:2026-W48")
    assert digest_period("weekly", date(2026, 12, 1)).key == "weekly:2026-W49"
    with pytest.raises(InvalidInputError):
        digest_period("hourly", date(2026, 11, 28))
    with pytest.raises(InvalidInputError):
        check_content(0, ["  "])


def test_schedule() -> None:
    plan = parse_schedule("digest-daily=07:00; digest-weekly=mon 07:30; sync-oai=off")
    assert plan == {"digest-daily": When(7, 0), "digest-weekly": When(7, 30, 0), "sync-oai": None}
    assert last_slot(When(7, 0), datetime(2026, 11, 28, 9)) == datetime(2026, 11, 28, 7)
    assert last_slot(When(7, 0), datetime(2026, 11, 28, 6)) == datetime(2026, 11, 27, 7)
    assert last_slot(When(7, 30, 0), datetime(2026, 11, 28, 9)) == datetime(2026, 11, 23, 7, 30)
    for bad in ("digest-daily=25:00", "mail=07:00", "digest-daily"):
        with pytest.raises(InvalidInputError):
            parse_schedule(bad)


def test_tokens_are_signed_for_one_purpose_and_expire() -> None:
    key = b"k" * 40
    token = sign(key, "confirm", "7:a@example.org", 1000)
    assert verify(key, "confirm", token, 1100, max_age=3600) == "7:a@example.org"
    for bad_key, purpose, text in [(b"x" * 40, "confirm", token), (key, "unsubscribe", token), (key, "confirm", token[:-2] + "AA"), (key, "confirm", "junk")]:
        with pytest.raises(InvalidInputError, match="not valid"):
            verify(bad_key, purpose, text, 1100)
    with pytest.raises(InvalidInputError, match="expired"):
        verify(key, "confirm", token, 1000 + 7200, max_age=3600)


def test_backoff_doubles() -> None:
    assert [backoff(n, 60).total_seconds() for n in (1, 2, 3)] == [60, 120, 240]
    assert backoff(30, 60).total_seconds() == 86400
