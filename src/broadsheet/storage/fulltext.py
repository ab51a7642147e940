"""Full-text search on SQLite FTS5: BM25 over title, abstract and authors, with filters.

The FTS5 query syntax is built here, from a parsed ``Query``, and nowhere else: PostgreSQL has
its twin (a weighted tsvector) in ``fulltext_pg.py``, with the same methods.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, column, func, select, table, text

from ..text import STOPWORDS, fold
from ..types import Query
from .engine import bulk_insert, writer
from .schema import FTS_TABLE, papers

# BM25 weight per FTS column (title, abstract, authors), tuned on SciFact train (docs/benchmarks.md).
DEFAULT_WEIGHTS = (3.0, 1.0, 1.0)
_WORDS = re.compile(r"\w+")


def _quote(s: str) -> str:
    return '"' + s.replace('"', '""') + '"'


def query_terms(query: Query) -> list[str]:
    """The distinct, folded words of a query without stopwords (all words if only stopwords)."""
    words = list(dict.fromkeys(fold(w) for w in query.words))
    content = [w for w in words if w not in STOPWORDS]
    return content or words


def match_expression(query: Query, *, with_exclusions: bool = True) -> str | None:
    """The FTS5 MATCH expression for a query, or None when it has no text or author to match.

    Words are OR-ed (any may match; BM25 ranks), phrases and authors are required, exclusions NOT-ed.
    """
    required = [_quote(fold(p)) for p in query.phrases]
    required += [f"authors : {_quote(fold(a))}" for a in query.authors]
    terms = query_terms(query)
    if terms:
        required.insert(0, "(" + " OR ".join(_quote(t) for t in terms) + ")")
    if not required:
        return None
    expr = " AND ".join(required)
    if with_exclusions:
        for ex in query.excluded:
            expr = f"{expr} NOT {_quote(fold(ex))}"
    return expr


def filter_sql(query: Query, params: dict[str, Any], alias: str = "p", *, iso_dates: bool = True) -> list[str]:
    """SQL conditions on ``papers`` (aliased) for the query's categories, organizations and dates (portable SQL;
    SQLite compares dates as ISO text, ``iso_dates``; PostgreSQL takes date objects)."""
    where = [f"NOT {alias}.hidden"]
    if query.since:
        where.append(f"{alias}.published >= :since")
        params["since"] = query.since.isoformat() if iso_dates else query.since
    if query.until:
        where.append(f"{alias}.published <= :until")
        params["until"] = query.until.isoformat() if iso_dates else query.until
    if query.categories:
        ors = []
        for i, cat in enumerate(query.categories):
            params[f"cat{i}"] = cat
            ors.append(f"c.category = :cat{i}")
            if "." not in cat:  # an archive ("cs") means all its categories
                params[f"catp{i}"] = f"{cat}.%"
                ors.append(f"c.category LIKE :catp{i}")
        where.append(f"{alias}.id IN (SELECT c.paper_id FROM paper_categories c WHERE {' OR '.join(ors)})")
    if query.organizations:
        names = []
        for i, org in enumerate(query.organizations):
            params[f"org{i}"] = org.casefold()
            names.append(f":org{i}")
        where.append(f"{alias}.organization IN (SELECT o.name FROM organizations o WHERE o.name_key IN ({', '.join(names)}))")
    return where


@dataclass(frozen=True, slots=True)
class IndexedText:
    """A paper's searchable text as the full-text index holds it (LaTeX removed)."""

    paper_id: int
    content_hash: str
    title: str
    abstract: str
    authors: str
    last_changed: datetime


class FullTextIndex:
    """The FTS5 index: its reads, and the writes ``PaperStore`` makes in the transaction that
    writes the papers themselves (``put``, ``remove``)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    # -- writes (inside the caller's transaction) ---------------------------------------------

    def put(self, conn: Connection, rows: Sequence[tuple[int, str, str, str]]) -> None:
        """Index ``(paper_id, title, abstract, authors)`` rows of normalised text (new papers, or
        papers whose rows ``remove`` just took out)."""
        bulk_insert(conn, FTS_TABLE, ("rowid", "title", "abstract", "authors"), list(rows))

    def remove(self, conn: Connection, paper_ids: Sequence[int]) -> None:
        if paper_ids:
            conn.execute(text(f"DELETE FROM {FTS_TABLE} WHERE rowid IN ({','.join(str(int(i)) for i in paper_ids)})"))

    def remove_all(self, conn: Connection) -> None:
        conn.execute(text(f"DELETE FROM {FTS_TABLE}"))

    def optimize(self) -> None:
        """Merge the FTS5 index's segments into one (2 s for 100k papers; queries ~10 % faster)."""
        with writer(self._engine).begin() as conn:
            conn.execute(text(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES('optimize')"))

    # -- reads ---------------------------------------------------------------------------------

    def last_change(self) -> datetime | None:
        """When a paper last changed (an index lookup): in-memory indexes poll it."""
        with self._engine.connect() as conn:
            return conn.execute(select(func.max(papers.c.last_changed))).scalar_one_or_none()

    def paper_count(self) -> int:
        """How many papers there are (each has its text in the index)."""
        with self._engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(papers)).scalar_one()

    def documents(self, changed_since: datetime | None = None, chunk: int = 5000) -> Iterator[IndexedText]:
        """Every paper's indexed text in id order, or only those changed at or after a time.

        Read in one snapshot (a single read transaction), in chunks so memory stays flat.
        """
        fts = table(FTS_TABLE, column("rowid"), column("title"), column("abstract"), column("authors"))
        stmt: Any = (
            select(papers.c.id, papers.c.content_hash, fts.c.title, fts.c.abstract, fts.c.authors, papers.c.last_changed)
            .join_from(papers, fts, fts.c.rowid == papers.c.id)
            .order_by(papers.c.id)
        )
        if changed_since is not None:
            # The recent papers first (the index on last_changed), then their text by rowid: SQLite
            # otherwise scans the whole FTS table to join (1.4 s at 100k papers, 15 s at 1M, for
            # every catch-up of the in-memory and file indexes; this way 40 ms). CROSS JOIN fixes
            # the join order, ``+p.id`` keeps the sort from choosing the primary key's scan.
            stmt = text(
                f"SELECT p.id, p.content_hash, f.title, f.abstract, f.authors, p.last_changed "
                f"FROM papers p CROSS JOIN {FTS_TABLE} f ON f.rowid = p.id "
                "WHERE p.last_changed >= :since ORDER BY +p.id"
            ).bindparams(bindparam("since", changed_since, type_=papers.c.last_changed.type)).columns(
                column("id", papers.c.id.type), column("content_hash", papers.c.content_hash.type),
                column("title"), column("abstract"), column("authors"), column("last_changed", papers.c.last_changed.type),
            )  # fmt: skip
        with self._engine.connect() as conn:
            result = conn.execute(stmt)
            while rows := result.fetchmany(chunk):
                for r in rows:
                    yield IndexedText(r[0], r[1], r[2] or "", r[3] or "", r[4] or "", r[5])

    def search(
        self, query: Query, limit: int, weights: Sequence[float] = DEFAULT_WEIGHTS
    ) -> list[tuple[int, float]]:
        """``(paper_id, bm25)`` best first (bm25 > 0, higher is better); filters applied.

        A query with filters but no text returns the matching papers newest first, scored 0.
        """
        expr = match_expression(query)
        params: dict[str, Any] = {"limit": limit}
        where = filter_sql(query, params)
        if expr is None:
            if query.excluded:
                where.append(f"p.id NOT IN (SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :excl)")
                params["excl"] = " OR ".join(_quote(fold(e)) for e in query.excluded)
            sql = (
                f"SELECT p.id, 0.0 FROM papers p WHERE {' AND '.join(where)} "
                "ORDER BY p.published DESC, p.id DESC LIMIT :limit"
            )
        else:
            params["expr"] = expr
            w = ", ".join(f"{float(x)!r}" for x in weights)
            if len(where) == 1:  # no filters: skip the join, drop hidden papers afterwards
                sql = (
                    f"SELECT rowid, -bm25({FTS_TABLE}, {w}) AS s FROM {FTS_TABLE} "
                    f"WHERE {FTS_TABLE} MATCH :expr ORDER BY s DESC LIMIT :limit"
                )
            else:
                sql = (
                    f"SELECT f.rowid, -bm25({FTS_TABLE}, {w}) AS s FROM {FTS_TABLE} f "
                    f"JOIN papers p ON p.id = f.rowid WHERE {FTS_TABLE} MATCH :expr AND {' AND '.join(where)} "
                    "ORDER BY s DESC LIMIT :limit"
                )
        with self._engine.connect() as conn:
            return [(int(pid), float(score)) for pid, score in conn.execute(text(sql), params)]

    def bm25_for(self, query: Query, paper_ids: Sequence[int], weights: Sequence[float] = DEFAULT_WEIGHTS) -> dict[int, float]:
        """BM25 of the given papers for the query's text (papers that match no word are left out)."""
        expr = match_expression(query, with_exclusions=False)
        if expr is None or not paper_ids:
            return {}
        w = ", ".join(f"{float(x)!r}" for x in weights)
        sql = (
            f"SELECT rowid, -bm25({FTS_TABLE}, {w}) FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :expr "
            f"AND rowid IN ({','.join(str(int(i)) for i in paper_ids)})"
        )
        with self._engine.connect() as conn:
            return {int(pid): float(s) for pid, s in conn.execute(text(sql), {"expr": expr})}

    def allowed_ids(self, query: Query) -> set[int] | None:
        """Ids that pass the query's filters, phrases, authors and exclusions (what semantic search
        must obey); None when nothing filters."""
        if not query.filters:
            return None
        params: dict[str, Any] = {}
        where = filter_sql(query, params)
        if query.phrases:
            params["phr"] = " AND ".join(_quote(fold(p)) for p in query.phrases)
            where.append(f"p.id IN (SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :phr)")
        if query.authors:
            params["auth"] = " AND ".join(f"authors : {_quote(fold(a))}" for a in query.authors)
            where.append(f"p.id IN (SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :auth)")
        if query.excluded:
            params["excl"] = " OR ".join(_quote(fold(e)) for e in query.excluded)
            where.append(f"p.id NOT IN (SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :excl)")
        with self._engine.connect() as conn:
            return {pid for (pid,) in conn.execute(text(f"SELECT p.id FROM papers p WHERE {' AND '.join(where)}"), params)}

    def matching_ids(self, query: Query) -> list[int] | None:
        """Ids of the papers whose text the query matches (any of its words; its phrases and
        authors; none of its exclusions), from the index alone; None when the query has no text
        part (then its filters decide). Hidden papers are among them: the caller drops them."""
        expr = match_expression(query)
        params: dict[str, Any] = {}
        if expr is not None:
            sql, params["expr"] = f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :expr", expr
        elif query.excluded:
            params["excl"] = " OR ".join(_quote(fold(e)) for e in query.excluded)
            sql = f"SELECT id FROM papers WHERE id NOT IN (SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :excl)"
        else:
            return None
        with self._engine.connect() as conn:
            return conn.execute(text(sql), params).scalars().all()  # type: ignore[return-value]

    def _title(self, paper_id: int) -> str | None:
        """The indexed (normalised) title of a paper."""
        with self._engine.connect() as conn:
            return conn.execute(text(f"SELECT title FROM {FTS_TABLE} WHERE rowid = :id"), {"id": paper_id}).scalar()

    def more_like_this(self, paper_id: int, limit: int) -> list[tuple[int, float]]:
        """Papers sharing the most distinctive words of this paper's title (BM25)."""
        title = self._title(paper_id)
        if title is None:
            return []
        query = Query(words=tuple(_WORDS.findall(title)))
        return [(pid, s) for pid, s in self.search(query, limit + 1) if pid != paper_id][:limit]
