"""Stored embeddings: which papers need one, writing them, and reading them back incrementally."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, and_, delete, func, insert, or_, select

from .engine import chunks, is_postgres, writer
from .schema import embeddings, papers
from .vectors_pg import put_rows

if TYPE_CHECKING:
    import numpy as np  # imported where used: `broadsheet info` needs no numpy


@dataclass(frozen=True, slots=True)
class ToEmbed:
    paper_id: int
    content_hash: str
    title: str
    abstract: str


class VectorStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._writer = writer(engine)

    def _stale_where(self, model: str):  # noqa: ANN202 - a SQLAlchemy clause
        e = embeddings.alias("e")
        join = papers.outerjoin(e, and_(e.c.paper_id == papers.c.id, e.c.model == model))
        return join, or_(e.c.id.is_(None), e.c.content_hash != papers.c.content_hash)

    def count_stale(self, model: str) -> int:
        """Papers with no vector from ``model``, or one made from text that has since changed."""
        join, where = self._stale_where(model)
        with self._engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(join).where(where)).scalar_one()

    def has_any(self, model: str) -> bool:
        """Whether any paper has a vector from ``model`` (one index probe)."""
        with self._engine.connect() as conn:
            return conn.execute(select(embeddings.c.id).where(embeddings.c.model == model).limit(1)).first() is not None

    def stale(
        self,
        model: str,
        limit: int,
        after_id: int = 0,
        among: Sequence[int] | None = None,
        until_id: int | None = None,
    ) -> list[ToEmbed]:
        """The next ``limit`` papers that need a vector, by paper id (resumable by ``after_id``);
        only those ``among`` the given ids if any are given, and up to ``until_id`` if given."""
        join, where = self._stale_where(model)
        stmt = (
            select(papers.c.id, papers.c.content_hash, papers.c.title, papers.c.abstract)
            .select_from(join)
            .where(where, papers.c.id > after_id)
            .order_by(papers.c.id)
            .limit(limit)
        )
        if among is not None:
            stmt = stmt.where(papers.c.id.in_(list(among)))
        if until_id is not None:
            stmt = stmt.where(papers.c.id <= until_id)
        with self._engine.connect() as conn:
            rows = conn.execute(stmt).all()
        return [ToEmbed(*r) for r in rows]

    def put(self, model: str, items: Sequence[tuple[int, str, np.ndarray]]) -> None:
        """Store ``(paper_id, content_hash, vector)`` rows, replacing older vectors of those papers.
        A row may hold several vectors (a k×dim array: a paper's passages; k may be 0)."""
        if not items:
            return
        with self._writer.begin() as conn:
            put_in(conn, model, items)

    def stale_ranges(self, model: str, size: int) -> list[tuple[int, int, int]]:
        """The papers that need a vector of ``model`` cut into runs of ``size`` by id: ``(first
        id, last id, papers)`` each (what a backfill plans). Counted in the database (a window
        over the ids), so a plan of millions of papers does not bring their ids into Python."""
        join, where = self._stale_where(model)
        ids = select(papers.c.id, ((func.row_number().over(order_by=papers.c.id) - 1) // size).label("run"))
        runs = ids.select_from(join).where(where).subquery()
        with self._engine.connect() as conn:
            return [
                (first, last, n)
                for first, last, n in conn.execute(
                    select(func.min(runs.c.id), func.max(runs.c.id), func.count()).group_by(runs.c.run).order_by(runs.c.run)
                )
            ]

    def blobs(self, models: Sequence[str], paper_ids: Sequence[int]) -> dict[str, dict[int, bytes]]:
        """The stored float32 blobs of these papers, per model (papers without one are left out):
        one query for a paper's whole vector and its passages."""
        found: dict[str, dict[int, bytes]] = {m: {} for m in models}
        with self._engine.connect() as conn:
            for chunk in chunks(list(paper_ids)):
                for model, pid, blob in conn.execute(
                    select(embeddings.c.model, embeddings.c.paper_id, embeddings.c.vector).where(
                        embeddings.c.model.in_(list(models)), embeddings.c.paper_id.in_(chunk)
                    )
                ):
                    found[model][pid] = blob
        return found

    def load_groups_since(
        self, model: str, after_id: int, dim: int, limit: int | None = None
    ) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
        """Like ``load_since`` for rows that hold several vectors each (passages, maybe none):
        (last id seen, paper ids, vectors per paper, matrix of all their vectors)."""
        import numpy as np

        with self._engine.connect() as conn:
            rows = conn.execute(
                select(embeddings.c.id, embeddings.c.paper_id, embeddings.c.vector)
                .where(embeddings.c.model == model, embeddings.c.id > after_id)
                .order_by(embeddings.c.id)
                .limit(limit)
            ).all()
        if not rows:
            return after_id, np.empty(0, np.int64), np.empty(0, np.int64), np.empty((0, dim), np.float32)
        pids = np.fromiter((r[1] for r in rows), np.int64, len(rows))
        counts = np.fromiter((len(r[2]) // (4 * dim) for r in rows), np.int64, len(rows))
        matrix = np.frombuffer(b"".join(r[2] for r in rows), dtype="<f4").reshape(-1, dim)
        return rows[-1][0], pids, counts, matrix

    def load_since(
        self, model: str, after_id: int, dim: int, limit: int | None = None
    ) -> tuple[int, np.ndarray, np.ndarray]:
        """Vectors stored after ``after_id``, at most ``limit`` of them: (last id seen, paper ids,
        matrix n×dim float32)."""
        import numpy as np

        with self._engine.connect() as conn:
            rows = conn.execute(
                select(embeddings.c.id, embeddings.c.paper_id, embeddings.c.vector)
                .where(embeddings.c.model == model, embeddings.c.id > after_id)
                .order_by(embeddings.c.id)
                .limit(limit)
            ).all()
        if not rows:
            return after_id, np.empty(0, np.int64), np.empty((0, dim), np.float32)
        pids = np.fromiter((r[1] for r in rows), np.int64, len(rows))
        matrix = np.frombuffer(b"".join(r[2] for r in rows), dtype="<f4").reshape(len(rows), dim)
        return rows[-1][0], pids, matrix


def put_in(conn: Connection, model: str, items: Sequence[tuple[int, str, np.ndarray]]) -> None:
    """``VectorStore.put`` inside the caller's (writing) transaction: the paper's older vector of
    ``model`` is deleted first, so a paper embedded again (a re-done batch) still has one row
    (the ``(paper_id, model)`` key would refuse a second one anyway)."""
    import numpy as np

    if not items:
        return
    conn.execute(delete(embeddings).where(embeddings.c.model == model, embeddings.c.paper_id.in_([pid for pid, _, _ in items])))
    if is_postgres(conn):
        put_rows(conn, model, items)
        return
    conn.execute(
        insert(embeddings),
        [{"paper_id": pid, "model": model, "content_hash": h, "vector": np.asarray(v, "<f4").tobytes()} for pid, h, v in items],
    )
