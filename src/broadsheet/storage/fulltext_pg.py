"""Full-text search on PostgreSQL: a weighted ``tsvector`` with a GIN index, the twin of the FTS5
index in ``fulltext.py`` (same methods, same answers to filters, phrases, authors, exclusions).

The table ``papers_fts`` (migration 0005) keeps, per paper, the normalised title, abstract and
authors (what FTS5 keeps: the in-memory BM25 index reads them from either backend) and ``terms``,
a tsvector whose lexemes are made in Python by ``text.index_terms``, the tokenizer FTS5's
``porter unicode61 remove_diacritics 2`` is. PostgreSQL's own ``english`` configuration stems
with Snowball's English stemmer and drops stopwords; making the lexemes here instead means both
backends index, stem and match exactly the same words, and highlighting (Porter stems) agrees
with both. Positions carry a weight per field: title ``A``, authors ``B``, abstract ``C``.

Queries are tsquery text built from the parsed ``Query`` (what ``websearch_to_tsquery`` would do
for plain words, plus the query language's authors and phrases): words are OR-ed, phrases are
``<->`` chains and required, an author is a phrase of ``B`` (author) lexemes, exclusions are
``!``. Ranking is ``ts_rank`` with the field weights (``RANK_WEIGHTS``) and length normalisation;
a server ranks with the in-memory BM25 index instead (``lexical_index = "memory"``, the default),
as on SQLite.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, text

from ..text import delatex, fold, index_terms
from ..types import Query
from .engine import bulk_insert, writer
from .fulltext import DEFAULT_WEIGHTS, FullTextIndex, IndexedText, filter_sql, query_terms
from .schema import FTS_TABLE

# ts_rank's weights for lexemes labelled {D, C, B, A}: abstract C, authors B, title A. Tuned on
# SciFact train lexical nDCG@10 (docs/benchmarks.md "PostgreSQL").
RANK_WEIGHTS = (0.0, 0.8, 0.9, 1.0)
RANK_NORMALISATION = 1  # divide by 1 + log(document length), as BM25 discounts long documents
MAX_POSITION = 16383  # PostgreSQL's largest tsvector position
MAX_POSITIONS = 256  # positions kept per lexeme
MAX_LEXEME = 2046  # bytes
FIELD_WEIGHTS = ("A", "B", "C")  # title, authors, abstract


def tsvector(title: str, abstract: str, authors: str) -> str:
    """The tsvector literal of a paper's normalised text: ``'term':1A,7A 'other':3B ...``.

    Fields follow each other with a gap of one position, so a phrase never spans two fields.
    """
    positions: dict[str, list[str]] = {}
    pos = 1
    for field, weight in zip((title, authors, abstract), FIELD_WEIGHTS, strict=True):
        for term in index_terms(field):
            seen = positions.setdefault(term, [])
            if len(seen) < MAX_POSITIONS:
                seen.append(f"{min(pos, MAX_POSITION)}{weight}")
            pos += 1
        pos += 1
    return " ".join(f"'{t}':{','.join(p)}" for t, p in positions.items() if len(t.encode()) <= MAX_LEXEME)


def _chain(words: str, weight: str = "") -> str | None:
    """A tsquery phrase (``'a' <-> 'b'``) of a text's terms, each restricted to ``weight`` if given."""
    terms = [t for t in index_terms(fold(words)) if len(t.encode()) <= MAX_LEXEME]
    if not terms:
        return None
    suffix = f":{weight}" if weight else ""
    chain = " <-> ".join(f"'{t}'{suffix}" for t in terms)
    return f"({chain})" if len(terms) > 1 else chain


def _tsquery(query: Query, *, words: bool = True, phrases: bool = True, authors: bool = True, excluded: bool = True) -> str | None:
    """tsquery text for the chosen parts of a query; None when those parts have no term."""
    required: list[str] = []
    if words:
        ors = list(dict.fromkeys(c for w in query_terms(query) if (c := _chain(w))))
        if ors:
            required.append("(" + " | ".join(ors) + ")")
    if phrases:
        required += [c for p in query.phrases if (c := _chain(p))]
    if authors:
        required += [c for a in query.authors if (c := _chain(a, "B"))]
    if excluded and required:
        required += [f"!{c}" for e in query.excluded if (c := _chain(e))]
    return " & ".join(required) if required else None


def _excluded_any(query: Query) -> str | None:
    """tsquery matching papers that have any excluded word or phrase."""
    parts = [c for e in query.excluded if (c := _chain(e))]
    return " | ".join(parts) if parts else None


def _insert(conn: Connection, rows: Sequence[tuple[int, str, str, str]]) -> None:
    bulk_insert(
        conn,
        FTS_TABLE,
        ("paper_id", "title", "abstract", "authors", "terms"),
        [(pid, t, a, au, tsvector(t, a, au)) for pid, t, a, au in rows],
    )


def index_missing(conn: Connection, chunk: int = 2000) -> int:
    """Index the papers that have no ``papers_fts`` row (stored on PostgreSQL before migration
    0005); return how many."""
    missing = text(
        f"SELECT p.id, p.title, p.abstract, (SELECT string_agg(a.name, ', ' ORDER BY a.position) "
        f"FROM paper_authors a WHERE a.paper_id = p.id) FROM papers p "
        f"WHERE p.id > :after AND NOT EXISTS (SELECT 1 FROM {FTS_TABLE} f WHERE f.paper_id = p.id) "
        f"ORDER BY p.id LIMIT :n"
    )
    done, after = 0, 0
    while rows := conn.execute(missing, {"after": after, "n": chunk}).all():
        _insert(conn, [(pid, delatex(t), delatex(a), delatex(au or "")) for pid, t, a, au in rows])
        done, after = done + len(rows), rows[-1][0]
    return done


class PgFullTextIndex(FullTextIndex):
    """``papers_fts`` on PostgreSQL: a tsvector per paper, GIN-indexed."""

    # -- writes (inside the caller's transaction) ---------------------------------------------

    def put(self, conn: Connection, rows: Sequence[tuple[int, str, str, str]]) -> None:
        _insert(conn, rows)

    def remove(self, conn: Connection, paper_ids: Sequence[int]) -> None:
        if paper_ids:
            conn.execute(text(f"DELETE FROM {FTS_TABLE} WHERE paper_id = ANY(:ids)"), {"ids": [int(i) for i in paper_ids]})

    def optimize(self) -> None:
        """Move the GIN index's pending entries into the index proper and refresh the planner's
        statistics (a big ingest changes them)."""
        with writer(self._engine).begin() as conn:
            conn.execute(text("SELECT gin_clean_pending_list('ix_papers_fts_terms'::regclass)"))
            conn.execute(text(f"ANALYZE papers, {FTS_TABLE}"))

    # -- reads ---------------------------------------------------------------------------------

    def documents(self, changed_since: Any = None, chunk: int = 5000) -> Iterator[IndexedText]:
        sql = (
            f"SELECT p.id, p.content_hash, f.title, f.abstract, f.authors, p.last_changed "
            f"FROM papers p JOIN {FTS_TABLE} f ON f.paper_id = p.id"
            + (" WHERE p.last_changed >= :since" if changed_since is not None else "")
            + " ORDER BY p.id"
        )
        with self._engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=chunk).execute(text(sql), {"since": changed_since})
            while rows := result.fetchmany(chunk):
                for r in rows:
                    yield IndexedText(r[0], r[1], r[2], r[3], r[4], r[5])

    def _rank_sql(self) -> str:
        """ts_rank by the query's positive part (``:rq``): ts_rank scores a ``!`` near zero."""
        return "ts_rank(CAST(:w AS real[]), f.terms, CAST(:rq AS tsquery), %d)" % RANK_NORMALISATION

    def search(self, query: Query, limit: int, weights: Sequence[float] = DEFAULT_WEIGHTS) -> list[tuple[int, float]]:
        """``(paper_id, ts_rank)`` best first; filters applied. A query with filters but no text
        returns the matching papers newest first, scored 0. (``weights`` are FTS5's BM25 column
        weights; the tsvector's are ``RANK_WEIGHTS``.)"""
        params: dict[str, Any] = {"limit": limit, "w": list(RANK_WEIGHTS)}
        where = filter_sql(query, params, iso_dates=False)
        q = _tsquery(query)
        if q is None:
            if (ex := _excluded_any(query)) is not None:
                params["ex"] = ex
                where.append(f"p.id NOT IN (SELECT paper_id FROM {FTS_TABLE} WHERE terms @@ CAST(:ex AS tsquery))")
            sql = f"SELECT p.id, 0.0 FROM papers p WHERE {' AND '.join(where)} ORDER BY p.published DESC NULLS LAST, p.id DESC LIMIT :limit"
        else:
            params["q"], params["rq"] = q, _tsquery(query, excluded=False)
            sql = (
                f"SELECT f.paper_id, {self._rank_sql()} AS s FROM {FTS_TABLE} f JOIN papers p ON p.id = f.paper_id "
                f"WHERE f.terms @@ CAST(:q AS tsquery) AND {' AND '.join(where)} ORDER BY s DESC, f.paper_id LIMIT :limit"
            )
        with self._engine.connect() as conn:
            return [(int(pid), float(score)) for pid, score in conn.execute(text(sql), params)]

    def bm25_for(self, query: Query, paper_ids: Sequence[int], weights: Sequence[float] = DEFAULT_WEIGHTS) -> dict[int, float]:
        """The rank of the given papers for the query's text (papers that match no word are left out)."""
        q = _tsquery(query, excluded=False)
        if q is None or not paper_ids:
            return {}
        sql = (
            f"SELECT f.paper_id, {self._rank_sql()} FROM {FTS_TABLE} f "
            "WHERE f.paper_id = ANY(:ids) AND f.terms @@ CAST(:q AS tsquery)"
        )
        params = {"q": q, "rq": q, "w": list(RANK_WEIGHTS), "ids": [int(i) for i in paper_ids]}
        with self._engine.connect() as conn:
            return {int(pid): float(s) for pid, s in conn.execute(text(sql), params)}

    def allowed_ids(self, query: Query) -> set[int] | None:
        if not query.filters:
            return None
        params: dict[str, Any] = {}
        where = filter_sql(query, params, iso_dates=False)
        must = _tsquery(query, words=False)
        if query.phrases or query.authors:
            if must is None:  # phrases and authors without any term: nothing can match them
                return set()
            params["must"] = must
            where.append(f"p.id IN (SELECT paper_id FROM {FTS_TABLE} WHERE terms @@ CAST(:must AS tsquery))")
        elif (ex := _excluded_any(query)) is not None:
            params["ex"] = ex
            where.append(f"p.id NOT IN (SELECT paper_id FROM {FTS_TABLE} WHERE terms @@ CAST(:ex AS tsquery))")
        with self._engine.connect() as conn:
            return {pid for (pid,) in conn.execute(text(f"SELECT p.id FROM papers p WHERE {' AND '.join(where)}"), params)}

    def matching_ids(self, query: Query) -> list[int] | None:
        params: dict[str, Any] = {}
        if (q := _tsquery(query)) is not None:
            sql, params["q"] = f"SELECT paper_id FROM {FTS_TABLE} WHERE terms @@ CAST(:q AS tsquery)", q
        elif (ex := _excluded_any(query)) is not None:
            params["ex"] = ex
            sql = f"SELECT id FROM papers WHERE id NOT IN (SELECT paper_id FROM {FTS_TABLE} WHERE terms @@ CAST(:ex AS tsquery))"
        elif query.phrases or query.authors:
            return []  # phrases or authors made of no indexable term: nothing can match them
        else:
            return None
        with self._engine.connect() as conn:
            return conn.execute(text(sql), params).scalars().all()  # type: ignore[return-value]

    def _title(self, paper_id: int) -> str | None:
        with self._engine.connect() as conn:
            return conn.execute(text(f"SELECT title FROM {FTS_TABLE} WHERE paper_id = :id"), {"id": paper_id}).scalar()
