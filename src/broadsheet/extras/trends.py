"""Trend charts' data: papers and upvotes per month of a search, an author, a category."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from ..exceptions import InvalidInputError
from ..text import name_key
from ..trends import make_trend
from ..types import SearchFilters, Trend

if TYPE_CHECKING:
    from ..storage import Storage


def query_trend(storage: Storage, query: str, filters: SearchFilters | None = None) -> Trend:
    """Every visible paper the query matches (any of its words, as the search's word side finds
    them; its filters, phrases, authors), per month. InvalidInputError for an empty query."""
    from ..search.query import parse_query

    parsed = parse_query(query)
    if filters:  # as Hub.search adds the form's fields to the query's own
        parsed = dataclasses.replace(
            parsed,
            categories=parsed.categories + filters.categories,
            authors=parsed.authors + filters.authors,
            since=filters.since or parsed.since,
            until=filters.until or parsed.until,
        )
    if parsed.is_empty:
        raise InvalidInputError("empty query: type some words, or use filters such as cat:cs.LG")
    return make_trend(query.strip(), storage.trends.for_query(parsed))


def author_trend(storage: Storage, name: str) -> Trend:
    return make_trend(name, storage.trends.for_author(name_key(name)))


def category_trend(storage: Storage, code: str) -> Trend:
    return make_trend(code.strip(), storage.trends.for_category(code.strip()))
