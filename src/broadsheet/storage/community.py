"""SQL for what members do: votes, comments, submissions to the daily list, and moderation."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine, delete, insert, select, update

from ..types import Comment
from .engine import chunks, insert_ignore, writer
from .schema import comments, listings, papers, users, votes



def _comment(row: Any) -> Comment:
    return Comment(
        id=row.id,
        arxiv_id=row.arxiv_id,
        author=row.author,
        body=row.body,
        created_at=row.created_at,
        parent_id=row.parent_id,
        hidden=row.hidden,
    )


_COMMENT_COLUMNS = (
    comments.c.id,
    papers.c.arxiv_id,
    users.c.name.label("author"),
    comments.c.body,
    comments.c.created_at,
    comments.c.parent_id,
    comments.c.hidden,
)


class CommunityStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._writer = writer(engine)

    # -- votes --------------------------------------------------------------------------------

    def set_vote(self, user_id: int, paper_id: int, on: bool, now: datetime) -> None:
        """Idempotent: voting twice leaves one vote, withdrawing a missing vote does nothing.

        One statement, so it needs no writer lock: votes from many servers do not queue behind an
        ingest batch on PostgreSQL."""
        with self._engine.begin() as conn:
            if not on:
                conn.execute(
                    delete(votes).where(
                        votes.c.user_id == user_id, votes.c.paper_id == paper_id
                    )
                )
            else:
                conn.execute(insert_ignore(conn, votes).values(user_id=user_id, paper_id=paper_id, created_at=now))

    def voted_arxiv_ids(self, user_id: int, arxiv_ids: Sequence[str]) -> set[str]:
        """Which of these papers (by arXiv id) the member upvoted: one query for a page of cards."""
        found: set[str] = set()
        with self._engine.connect() as conn:
            for chunk in chunks(list(dict.fromkeys(arxiv_ids))):
                found.update(
                    conn.execute(
                        select(papers.c.arxiv_id)
                        .join(votes, votes.c.paper_id == papers.c.id)
                        .where(votes.c.user_id == user_id, papers.c.arxiv_id.in_(chunk))
                    ).scalars()
                )
        return found

    def voted_among(self, user_id: int, paper_ids: Sequence[int]) -> set[int]:
        found: set[int] = set()
        with self._engine.connect() as conn:
            for chunk in chunks(paper_ids):
                found.update(
                    conn.execute(
                        select(votes.c.paper_id).where(
                            votes.c.user_id == user_id, votes.c.paper_id.in_(chunk)
                        )
                    ).scalars()
                )
        return found

    # -- comments -----------------------------------------------------------------------------

    def add_comment(
        self,
        paper_id: int,
        user_id: int,
        body: str,
        parent_id: int | None,
        now: datetime,
    ) -> int:
        with self._writer.begin() as conn:
            return conn.execute(
                insert(comments)
                .values(
                    paper_id=paper_id,
                    user_id=user_id,
                    parent_id=parent_id,
                    body=body,
                    created_at=now,
                )
                .returning(comments.c.id)
            ).scalar_one()

    def get_comment(self, comment_id: int) -> Comment | None:
        with self._engine.connect() as conn:
            row = conn.execute(
                self._comments_query().where(comments.c.id == comment_id)
            ).first()
        return _comment(row) if row else None

    def comments_of(self, paper_id: int) -> list[Comment]:
        """Every comment on a paper, hidden ones included, oldest first."""
        with self._engine.connect() as conn:
            rows = conn.execute(
                self._comments_query()
                .where(comments.c.paper_id == paper_id)
                .order_by(comments.c.created_at, comments.c.id)
            ).all()
        return [_comment(r) for r in rows]

    @staticmethod
    def _comments_query() -> Any:
        return (
            select(*_COMMENT_COLUMNS)
            .join(papers, papers.c.id == comments.c.paper_id)
            .join(users, users.c.id == comments.c.user_id)
        )

    def set_comment_hidden(self, comment_id: int, hidden: bool) -> bool:
        with self._writer.begin() as conn:
            return (
                conn.execute(
                    update(comments)
                    .where(comments.c.id == comment_id)
                    .values(hidden=hidden)
                ).rowcount
                > 0
            )

    # -- papers and listings ------------------------------------------------------------------

    def set_paper_hidden(self, paper_id: int, hidden: bool) -> None:
        with self._writer.begin() as conn:
            conn.execute(
                update(papers).where(papers.c.id == paper_id).values(hidden=hidden)
            )

    def add_listing(
        self, paper_id: int, day: date, user_id: int, user_name: str, now: datetime
    ) -> bool:
        """List a paper on ``day`` as submitted by a local user; False if it is already listed there."""
        with self._writer.begin() as conn:
            exists = conn.execute(
                select(listings.c.id).where(
                    listings.c.paper_id == paper_id, listings.c.listed_on == day
                )
            ).first()
            if exists:
                return False
            conn.execute(
                insert(listings).values(
                    paper_id=paper_id,
                    listed_on=day,
                    submitted_by=user_id,
                    source="submit",
                    source_ref=f"user:{user_name}",
                    created_at=now,
                )
            )
            return True
