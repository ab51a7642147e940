"""The reads behind trend charts. Counting per month in SQL means reading each matching paper's
row (a random read into the wide ``papers`` table: 40 ms for 10k matches at 100k papers), so the
counting happens in memory (``extras/trends.py``) over a compact copy of every paper's date and
upvotes, and the database is asked only for ids, from indexes: the full-text index, the author
and category tables."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import chain
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine, Integer, String, func, literal_column, or_, select, type_coerce

from ..types import Query
from .engine import chunks

NO_DAY = -(2**31)  # a paper without a publication day (the month table's int32 minimum)
from .fulltext import FullTextIndex
from .schema import organizations, paper_authors, paper_categories, papers, votes


class TrendStore:
    def __init__(self, engine: Engine, fulltext: FullTextIndex) -> None:
        self._engine = engine
        self._fulltext = fulltext

    def text_ids(self, query: Query) -> list[int] | None:
        """Papers whose text the query matches (None: the query has no text part)."""
        return self._fulltext.matching_ids(query)

    def author_ids(self, key: str) -> list[int]:
        """Papers of the author whose ``name_key`` is ``key``."""
        return self._ids(select(paper_authors.c.paper_id).where(paper_authors.c.name_key == key))

    def organization_ids(self, key: str) -> list[int]:
        """Papers of the organization whose casefolded handle is ``key``."""
        names = select(organizations.c.name).where(organizations.c.name_key == key)
        return self._ids(select(papers.c.id).where(papers.c.organization.in_(names)))

    def category_ids(self, codes: tuple[str, ...]) -> list[int]:
        """Papers in any of ``codes`` (an archive such as ``cs`` takes in its subject classes)."""
        conds = []
        for code in codes:
            conds.append(paper_categories.c.category == code)
            if "." not in code:  # "cs." <= category < "cs/": a range of the index ("/" follows ".")
                conds.append((paper_categories.c.category >= code + ".") & (paper_categories.c.category < code + "/"))
        return self._ids(select(paper_categories.c.paper_id).where(or_(*conds)).distinct())

    def _ids(self, q: Any) -> list[int]:
        with self._engine.connect() as conn:
            return conn.execute(q).scalars().all()  # type: ignore[return-value]

    def hidden_ids(self) -> list[int]:
        """The hidden papers (an index scan: hiding a paper does not touch its ``last_changed``)."""
        return self._ids(select(papers.c.id).where(papers.c.hidden.is_(True)))

    def last_change(self) -> datetime | None:
        return self._fulltext.last_change()

    def dated_papers(self, changed_since: datetime | None = None, chunk: int = 50_000) -> Iterator[tuple[Any, Any, Any]]:
        """``(ids, days, upvotes)`` of every paper (or of those changed at or after
        ``changed_since``), in chunks of numpy arrays: the day as a proleptic ordinal
        (``date.toordinal``; ``NO_DAY`` when unknown) computed by the database, so a million
        papers load without a Python date each."""
        import numpy as np

        if self._engine.dialect.name == "sqlite":  # julianday('0001-01-01') is 1721425.5
            ordinal = "CAST(julianday(published) - 1721424.5 AS INTEGER)"
        else:
            ordinal = "(published - DATE '0001-01-01') + 1"
        day = literal_column(f"COALESCE({ordinal}, {NO_DAY})", Integer)
        q = select(papers.c.id, day, func.coalesce(papers.c.external_upvotes, 0))
        if changed_since is not None:
            # SQLite compares the stored text, written by the driver as str(datetime) ("12:00:00"
            # without microseconds when they are 0), so the bound value is that text too.
            bound: Any = str(changed_since) if self._engine.dialect.name == "sqlite" else changed_since
            q = q.where(type_coerce(papers.c.last_changed, String) >= bound if isinstance(bound, str) else papers.c.last_changed >= bound)
        # Straight from the driver's cursor: SQLAlchemy's rows cost more than the query here.
        compiled = q.compile(dialect=self._engine.dialect)
        params = compiled.construct_params()
        bound = tuple(params[k] for k in compiled.positiontup) if compiled.positional else params  # type: ignore[union-attr]
        with self._engine.connect() as conn:
            cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
            try:
                cursor.execute(str(compiled), bound)
                while part := cursor.fetchmany(chunk):
                    table = np.fromiter(chain.from_iterable(part), np.int64, 3 * len(part)).reshape(-1, 3)
                    yield table[:, 0], table[:, 1], table[:, 2]
            finally:
                cursor.close()

    def local_votes(self, among: list[int] | None = None) -> list[tuple[int, int]]:
        """``(paper id, local votes)`` of voted papers (of ``among`` when given)."""
        q = select(votes.c.paper_id, func.count()).group_by(votes.c.paper_id)
        if among is None:
            return [(r[0], r[1]) for r in self._rows(q)]
        out: list[tuple[int, int]] = []
        for part in chunks(among):
            out += [(r[0], r[1]) for r in self._rows(q.where(votes.c.paper_id.in_(part)))]
        return out

    def _rows(self, q: Any) -> list[Any]:
        with self._engine.connect() as conn:
            return conn.execute(q).all()
