"""Pure pieces of the web's decisions: the trending formula, feed periods, BibTeX."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import pytest
from helpers import paper as paper_data

from broadsheet.bibtex import cite_key, to_bibtex
from broadsheet.exceptions import InvalidInputError
from broadsheet.periods import parse_period, period_containing
from broadsheet.trending import age_hours, as_of_time, formula, rank, trending_score
from broadsheet.types import Period


@dataclass
class Row:
    paper_id: int
    listed_on: date
    upvotes: int
    published: date | None = None


NOON = datetime(2026, 11, 28, 12)


def test_score_decays_with_age_and_grows_with_votes() -> None:
    today, yesterday = date(2026, 11, 28), date(2026, 11, 27)
    assert age_hours(today, NOON) == 12 and age_hours(yesterday, NOON) == 36
    assert trending_score(10, today, NOON, 1.5) == pytest.approx(11 / 14**1.5)
    assert trending_score(10, today, NOON, 1.5) > trending_score(
        10, yesterday, NOON, 1.5
    )
    assert trending_score(11, today, NOON, 1.5) > trending_score(10, today, NOON, 1.5)
    # a fresh paper needs fewer votes: 10 today beats 20 yesterday at gravity 1.5
    assert trending_score(10, today, NOON, 1.5) > trending_score(
        20, yesterday, NOON, 1.5
    )
    assert (
        trending_score(0, date(2026, 11, 29), NOON, 1.5) == 1 / 2**1.5
    )  # future listing: age 0


def test_as_of_is_now_or_the_end_of_the_last_listed_day() -> None:
    assert as_of_time(NOON, date(2026, 11, 28)) == NOON
    assert as_of_time(NOON, date(2025, 8, 26)) == datetime(2025, 8, 27)
    assert as_of_time(NOON, None) == NOON


def test_rank_trending_and_newest() -> None:
    rows = [
        Row(1, date(2026, 11, 27), 20, date(2026, 11, 1)),
        Row(2, date(2026, 11, 28), 10, date(2026, 10, 1)),
        Row(3, date(2026, 11, 28), 10),
    ]
    assert [r.paper_id for r, _ in rank(rows, NOON, 1.5)] == [
        2,
        3,
        1,
    ]  # ties: lower id first
    assert [r.paper_id for r, _ in rank(rows, NOON, 1.5, "newest")] == [2, 3, 1]
    assert [r.paper_id for r, _ in rank(rows, NOON, 0.0)] == [
        1,
        2,
        3,
    ]  # no decay: votes decide
    with pytest.raises(InvalidInputError):
        rank(rows, NOON, 1.5, "best")


def test_formula_line() -> None:
    assert formula(1.5) == "(upvotes + 1) / (hours since listed + 2)^1.5"
    assert formula(2.0) == "(upvotes + 1) / (hours since listed + 2)^2"


@pytest.mark.parametrize(
    ("kind", "slug", "first", "last"),
    [
        ("date", "2024-02-29", date(2024, 2, 29), date(2024, 2, 29)),
        ("week", "2024-W01", date(2024, 1, 1), date(2024, 1, 7)),
        ("week", "2026-W53", date(2026, 12, 28), date(2027, 1, 3)),
        ("month", "2024-02", date(2024, 2, 1), date(2024, 2, 29)),
        ("month", "2024-12", date(2024, 12, 1), date(2024, 12, 31)),
    ],
)
def test_parse_period(kind: str, slug: str, first: date, last: date) -> None:
    period = parse_period(kind, slug)
    assert (period.first, period.last) == (first, last)
    assert period.slug == slug
    assert period_containing(kind, last) == period


@pytest.mark.parametrize(
    ("kind", "slug"),
    [
        ("date", "2024-02-30"),
        ("week", "2025-W53"),
        ("week", "2024-1"),
        ("month", "2024-13"),
        ("month", "24-01"),
        ("year", "2024"),
    ],
)
def test_bad_periods(kind: str, slug: str) -> None:
    with pytest.raises(InvalidInputError):
        parse_period(kind, slug)


def test_period_slug_of_a_week_spanning_years() -> None:
    assert Period("week", date(2024, 12, 30), date(2025, 1, 5)).slug == "2025-W01"


def _stored(**fields: object):
    from broadsheet.types import Paper

    data = paper_data(**fields)  # type: ignore[arg-type]
    now = datetime(2026, 1, 1)
    values = {
        f: getattr(data, f) for f in data.__slots__ if f not in {"external_upvotes", "cleared"}
    }  # type: ignore[attr-defined]
    return Paper(
        **values,
        external_upvotes=0,
        upvotes=0,
        num_comments=0,
        first_seen=now,
        last_changed=now,
    )


def test_bibtex() -> None:
    p = _stored(
        arxiv_id="1706.03762",
        title="Attention Is All You Need",
        authors=("Ashish Vaswani", "Noam Shazeer"),
        published=date(2017, 6, 12),
        primary_category="cs.CL",
    )
    assert cite_key(p) == "vaswani2017attention"
    assert to_bibtex(p) == (
        "@misc{vaswani2017attention,\n"
        "  title = {Attention Is All You Need},\n"
        "  author = {Ashish Vaswani and Noam Shazeer},\n"
        "  year = {2017},\n"
        "  eprint = {1706.03762},\n"
        "  archivePrefix = {arXiv},\n"
        "  primaryClass = {cs.CL},\n"
        "  url = {https://arxiv.org/abs/1706.03762}\n"
        "}"
    )


def test_bibtex_keeps_balanced_braces_and_drops_unbalanced() -> None:
    assert "title = {The {BERT} model}" in to_bibtex(_stored(title="The {BERT} model"))
    assert "title = {Broken brace}" in to_bibtex(_stored(title="Broken} brace{"))
    local = to_bibtex(_stored(arxiv_id="demo-07", authors=()))
    assert "eprint" not in local and "author" not in local
