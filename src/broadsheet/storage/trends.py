"""Papers and upvotes per month for a set of papers (a search, an author, a category): one
``GROUP BY`` in the database, so the cost is the matching, not the papers' rows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, text

from ..types import Query
from .fulltext import FullTextIndex


class TrendStore:
    def __init__(self, engine: Engine, fulltext: FullTextIndex) -> None:
        self._engine = engine
        self._fulltext = fulltext

    def for_query(self, query: Query) -> list[tuple[str, int, int]]:
        """``(YYYY-MM, papers, upvotes)`` of the visible papers the query matches, by publication month."""
        params: dict[str, Any] = {}
        return self._months(self._fulltext.match_conditions(query, params), params)

    def for_author(self, key: str) -> list[tuple[str, int, int]]:
        """The same for the papers of an author (``name_key``), as the author's page lists them."""
        return self._months(["NOT p.hidden", "p.id IN (SELECT a.paper_id FROM paper_authors a WHERE a.name_key = :key)"], {"key": key})

    def for_category(self, code: str) -> list[tuple[str, int, int]]:
        """The same for a category (an archive such as ``cs`` takes in its subject classes)."""
        cond = "c.category = :code" + (" OR c.category LIKE :prefix" if "." not in code else "")
        return self._months(
            ["NOT p.hidden", f"p.id IN (SELECT c.paper_id FROM paper_categories c WHERE {cond})"], {"code": code, "prefix": code + ".%"}
        )

    def _months(self, where: list[str], params: dict[str, Any]) -> list[tuple[str, int, int]]:
        month = self._fulltext.month_sql
        cond = " AND ".join([*where, "p.published IS NOT NULL"])
        papers_sql = f"SELECT {month} AS m, count(*), sum(p.external_upvotes) FROM papers p WHERE {cond} GROUP BY m"
        votes_sql = f"SELECT {month} AS m, count(*) FROM votes v JOIN papers p ON p.id = v.paper_id WHERE {cond} GROUP BY m"
        with self._engine.connect() as conn:
            counts = {m: [int(n), int(u or 0)] for m, n, u in conn.execute(text(papers_sql), params)}
            for m, n in conn.execute(text(votes_sql), params):
                if m in counts:
                    counts[m][1] += int(n)
        return sorted((m, n, u) for m, (n, u) in counts.items())
