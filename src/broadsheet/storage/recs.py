"""SQL the recommendations read: a window's candidate papers, their text and facets (authors,
categories), a background sample, and a cheap fingerprint of the data for caches."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from sqlalchemy import Engine, func, or_, select

from .engine import chunks
from .schema import listings, paper_authors, paper_categories, papers, votes

T = TypeVar("T")


STREAM_CHUNK = 5000  # rows fetched at a time from a streamed query


def evenly_spaced(items: Iterable[T], total: int, limit: int) -> Iterator[T]:
    """Up to ``limit`` of ``total`` items spread evenly over them (all when ``total <= limit``),
    picked as the items stream by: positions ``int(i * total / limit)``. Consumes ``items`` only
    up to the last pick, and holds none but the current one."""
    if total <= limit:
        yield from itertools.islice(items, total)
        return
    step = total / limit
    wanted = (int(i * step) for i in range(limit))
    target = next(wanted)
    for position, item in enumerate(items):
        if position == target:
            yield item
            target = next(wanted, None)
            if target is None:
                return


@dataclass(frozen=True, slots=True)
class CandidateRow:
    """A paper that is new in a window: first listed (or, never listed, published) on ``day``."""

    paper_id: int
    arxiv_id: str
    day: date
    upvotes: int


class RecsStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def fingerprint(self) -> tuple[object, ...]:
        """Changes when papers or listings are added or changed (by any process): the key of the
        cached candidate features."""
        with self._engine.connect() as conn:
            # one aggregate a query: each is then an index's last entry, not a table scan
            newest = conn.execute(select(func.max(papers.c.id))).scalar()
            changed = conn.execute(select(func.max(papers.c.last_changed))).scalar()
            listed = conn.execute(select(func.max(listings.c.id))).scalar()
        return (newest, str(changed), listed)

    def latest_day(self) -> date | None:
        """The last day anything was listed or published on."""
        with self._engine.connect() as conn:
            listed = conn.execute(select(func.max(listings.c.listed_on))).scalar()
            published = conn.execute(select(func.max(papers.c.published))).scalar()
        days = [d for d in (listed, published) if d is not None]
        return max(days) if days else None

    def candidates(self, first: date, last: date) -> list[CandidateRow]:
        """Visible papers new in ``[first, last]``: first listed there, or published there and
        never listed before ``first``. Ordered by paper id."""
        first_listed = (
            select(listings.c.paper_id, func.min(listings.c.listed_on).label("day"))
            .group_by(listings.c.paper_id)
            .subquery()
        )
        nvotes = select(func.count()).where(votes.c.paper_id == papers.c.id).scalar_subquery()
        q = (
            select(
                papers.c.id,
                papers.c.arxiv_id,
                first_listed.c.day,
                papers.c.published,
                (papers.c.external_upvotes + nvotes).label("upvotes"),
            )
            .outerjoin(first_listed, first_listed.c.paper_id == papers.c.id)
            .where(
                papers.c.hidden.is_(False),
                or_(
                    first_listed.c.day.between(first, last),
                    (first_listed.c.day.is_(None) & papers.c.published.between(first, last)),
                ),
            )
            .order_by(papers.c.id)
        )
        with self._engine.connect() as conn:
            return [CandidateRow(r.id, r.arxiv_id, r.day or r.published, r.upvotes) for r in conn.execute(q)]

    def texts(self, paper_ids: Sequence[int]) -> dict[int, tuple[str, str]]:
        """``(title, abstract)`` of these papers."""
        out: dict[int, tuple[str, str]] = {}
        with self._engine.connect() as conn:
            for part in chunks(list(paper_ids)):
                for pid, title, abstract in conn.execute(
                    select(papers.c.id, papers.c.title, papers.c.abstract).where(papers.c.id.in_(part))
                ):
                    out[pid] = (title, abstract)
        return out

    def facets(self, paper_ids: Sequence[int]) -> tuple[dict[int, list[str]], dict[int, list[str]]]:
        """(author name keys, categories) of these papers, in order."""
        authors: dict[int, list[str]] = {}
        cats: dict[int, list[str]] = {}
        with self._engine.connect() as conn:
            for part in chunks(list(paper_ids)):
                for pid, key in conn.execute(
                    select(paper_authors.c.paper_id, paper_authors.c.name_key)
                    .where(paper_authors.c.paper_id.in_(part))
                    .order_by(paper_authors.c.paper_id, paper_authors.c.position)
                ):
                    authors.setdefault(pid, []).append(key)
                for pid, code in conn.execute(
                    select(paper_categories.c.paper_id, paper_categories.c.category)
                    .where(paper_categories.c.paper_id.in_(part))
                    .order_by(paper_categories.c.paper_id, paper_categories.c.position)
                ):
                    cats.setdefault(pid, []).append(code)
        return authors, cats

    def background(self, before: date | None, limit: int) -> list[int]:
        """Up to ``limit`` visible papers (published before ``before`` if given), spread evenly
        over the id range: the "everything else" a member's positives are told apart from."""
        q = select(papers.c.id).where(papers.c.hidden.is_(False))
        if before is not None:
            q = q.where(or_(papers.c.published < before, papers.c.published.is_(None)))
        # Counted, then read in id order as a stream (a server-side cursor on PostgreSQL) keeping
        # only the picks: at a million papers a list of every id held ~40 MB per window build.
        with self._engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(q.subquery())).scalar_one()
            with conn.execution_options(stream_results=True, yield_per=STREAM_CHUNK).execute(q.order_by(papers.c.id)) as result:
                return list(evenly_spaced(result.scalars(), total, limit))  # closed: it stops at the last pick

    def ids_of(self, arxiv_ids: Sequence[str]) -> dict[str, int]:
        out: dict[str, int] = {}
        with self._engine.connect() as conn:
            for part in chunks(list(arxiv_ids)):
                out.update((a, p) for a, p in conn.execute(select(papers.c.arxiv_id, papers.c.id).where(papers.c.arxiv_id.in_(part))))
        return out

    def first_days(self, paper_ids: Sequence[int]) -> dict[int, date | None]:
        """The day each paper was first listed, or else published."""
        first_listed = (
            select(listings.c.paper_id, func.min(listings.c.listed_on).label("day")).group_by(listings.c.paper_id).subquery()
        )
        out: dict[int, date | None] = {}
        with self._engine.connect() as conn:
            for part in chunks(list(paper_ids)):
                for pid, day, published in conn.execute(
                    select(papers.c.id, first_listed.c.day, papers.c.published)
                    .outerjoin(first_listed, first_listed.c.paper_id == papers.c.id)
                    .where(papers.c.id.in_(part))
                ):
                    out[pid] = day or published
        return out
