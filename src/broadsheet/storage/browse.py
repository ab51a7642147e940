"""SQL for browsing: the listings of a span of days (light rows, ranked by the Hub), the nearest
listed days around a span, an author's or a category's papers, and what search results sort by."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Engine, Select, func, or_, select

from .schema import listings, organizations, paper_authors, paper_categories, papers, users, votes


@dataclass(frozen=True, slots=True)
class ListingRow:
    """What ranking a listing needs, without loading the paper."""

    paper_id: int
    listed_on: date
    upvotes: int
    published: date | None
    submitter: str | None
    submitter_fullname: str | None = None  # an external submitter's (a member's are drawn locally)
    submitter_avatar: str | None = None
    author_participating: bool | None = None


class BrowseStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def listing_rows(self, first: date, last: date) -> list[ListingRow]:
        """One row per visible paper listed in ``[first, last]`` (its latest listing there)."""
        return self._listing_rows(listings.c.listed_on.between(first, last))

    def organization_listing_rows(self, name: str) -> list[ListingRow]:
        """One row per visible listed paper of the organization ``name`` (its latest listing)."""
        return self._listing_rows(papers.c.organization == name)

    def _listing_rows(self, cond: Any) -> list[ListingRow]:
        nvotes = (
            select(func.count())
            .where(votes.c.paper_id == papers.c.id)
            .scalar_subquery()
        )
        local = users.c.name.is_(None)
        q = (
            select(
                listings.c.paper_id,
                listings.c.listed_on,
                (papers.c.external_upvotes + nvotes).label("upvotes"),
                papers.c.published,
                func.coalesce(users.c.name, listings.c.submitter_name).label(
                    "submitter"
                ),
                listings.c.submitter_fullname,
                listings.c.submitter_avatar,
                listings.c.author_participating,
                local.label("external"),
                papers.c.hidden,
            )
            .join(papers, papers.c.id == listings.c.paper_id)
            .outerjoin(users, users.c.id == listings.c.submitted_by)
            # hidden papers are skipped below, not here: with ``hidden IS 0`` in the WHERE clause
            # SQLite (no ANALYZE statistics) walks every visible paper through ix_papers_hidden
            # and probes its listings — 50 ms for a day of 17 papers instead of 1 ms
            .where(cond)
            .order_by(listings.c.listed_on.desc(), listings.c.id)
        )
        seen: dict[int, ListingRow] = {}
        with self._engine.connect() as conn:
            for r in conn.execute(q):
                if not r.hidden and r.paper_id not in seen:
                    seen[r.paper_id] = ListingRow(
                        r.paper_id, r.listed_on, r.upvotes, r.published, r.submitter,
                        r.submitter_fullname if r.external else None,
                        r.submitter_avatar if r.external else None,
                        r.author_participating,
                    )  # fmt: skip
        return list(seen.values())

    def organization(self, name: str) -> tuple[str, str | None, str | None] | None:
        """``(name, fullname, avatar_url)`` of the organization called ``name`` in any case."""
        q = select(organizations.c.name, organizations.c.fullname, organizations.c.avatar_url).where(
            organizations.c.name_key == name.casefold()
        )
        with self._engine.connect() as conn:
            row = conn.execute(q.order_by(organizations.c.name).limit(1)).first()
        return tuple(row) if row else None  # type: ignore[return-value]

    def of_organization(self, name: str, limit: int, offset: int) -> list[int]:
        """Ids of the visible papers of the organization ``name`` (exact), newest first."""
        return self._newest(select(papers.c.id).where(papers.c.organization == name), limit, offset)

    def sort_keys(self, ids: Sequence[int]) -> dict[int, tuple[date | None, int]]:
        """``(published, upvotes)`` of each of these papers: what search results sort by."""
        nvotes = (
            select(func.count())
            .where(votes.c.paper_id == papers.c.id)
            .scalar_subquery()
        )
        q = select(
            papers.c.id, papers.c.published, (papers.c.external_upvotes + nvotes)
        ).where(papers.c.id.in_(list(ids)))
        with self._engine.connect() as conn:
            return {pid: (published, upvotes) for pid, published, upvotes in conn.execute(q)}

    def listed_days_around(
        self, first: date, last: date
    ) -> tuple[date | None, date | None]:
        """The last listed day before ``first`` and the first one after ``last``."""
        with self._engine.connect() as conn:
            before = conn.execute(
                select(func.max(listings.c.listed_on)).where(
                    listings.c.listed_on < first
                )
            ).scalar()
            after = conn.execute(
                select(func.min(listings.c.listed_on)).where(
                    listings.c.listed_on > last
                )
            ).scalar()
        return before, after

    def by_author(self, key: str, limit: int, offset: int) -> list[int]:
        """Ids of visible papers with an author whose ``name_key`` is ``key``, newest first."""
        among = select(paper_authors.c.paper_id).where(paper_authors.c.name_key == key)
        return self._newest(among, limit, offset)

    def in_category(self, code: str, limit: int, offset: int) -> list[int]:
        """Ids of visible papers filed under ``code`` (an archive such as ``cs`` takes in its
        subject classes), newest first."""
        cond = paper_categories.c.category == code
        if "." not in code:
            cond = or_(cond, paper_categories.c.category.like(code + ".%"))
        return self._newest(
            select(paper_categories.c.paper_id).where(cond), limit, offset
        )

    def _newest(self, among: Select[Any], limit: int, offset: int) -> list[int]:
        """Ids of the visible papers among ``among`` (a query of paper ids), newest first."""
        q = (
            select(papers.c.id)
            .where(papers.c.id.in_(among), papers.c.hidden.is_(False))
            .order_by(papers.c.published.desc().nulls_last(), papers.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        with self._engine.connect() as conn:
            return list(conn.execute(q).scalars())
