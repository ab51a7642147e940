"""The query language (pure)."""

from __future__ import annotations

import re
from datetime import date

import pytest

from broadsheet.exceptions import InvalidInputError
from broadsheet.search.query import check_query, parse_query


def test_everything_at_once() -> None:
    q = parse_query('attention "state space" -transformer -"large language" author:"Albert Gu" cat:cs.LG since:2023-01 until:2024')
    assert q.words == ("attention",)
    assert q.phrases == ("state space",)
    assert q.excluded == ("transformer", "large language")
    assert q.authors == ("Albert Gu",)
    assert q.categories == ("cs.LG",)
    assert (q.since, q.until) == (date(2023, 1, 1), date(2024, 12, 31))
    assert q.text == "state space attention"


@pytest.mark.parametrize(
    ("raw", "since", "until"),
    [
        ("since:2024", date(2024, 1, 1), None),
        ("until:2024-02", None, date(2024, 2, 29)),
        ("since:2024-05-17 until:2024-05-17", date(2024, 5, 17), date(2024, 5, 17)),
    ],
)
def test_dates(raw: str, since: date | None, until: date | None) -> None:
    q = parse_query(raw)
    assert (q.since, q.until) == (since, until)


def test_colons_in_running_text_are_words() -> None:
    assert parse_query("ratio: 3:1 e.g.").words == ("ratio", "3", "1", "e", "g")


def test_field_names_are_case_insensitive() -> None:
    assert parse_query("Author:Turing CAT:cs.AI").authors == ("Turing",)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ('"open phrase', "unbalanced quote"),
        ("author:", "author: needs a value"),
        ('author:""', "author: needs a value"),
        ("since:2024-13", "not a real date"),
        ("since:yesterday", "expects a date"),
        ("since:2025 until:2024", "is after"),
        ("-only -exclusions", "besides exclusions"),
        ("-cat:cs.LG", "exclusion works on words"),
        ("x" * 1001, "too long"),
    ],
)
def test_bad_syntax_is_a_clear_error(raw: str, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        parse_query(raw)


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ('"', "topic '\"': unbalanced quote"),
        ('graph "networks', "unbalanced quote"),
        ("!!! ...", "nothing to search for"),
        ("-transformer", "besides exclusions"),
        ("since:2024-13", "is not a real date"),
        ("author:", "author: needs a value"),
    ],
)
def test_check_query_says_what_is_wrong(raw: str, says: str) -> None:
    with pytest.raises(InvalidInputError, match=re.escape(says)):
        check_query(raw, what="topic")


def test_check_query_accepts_what_search_accepts() -> None:
    for raw in ("diffusion models", '"state space"', "cat:cs.LG", 'author:"Ada Lovelace"', "since:2024", "e.g.: ratio"):
        assert check_query(raw) == parse_query(raw)
