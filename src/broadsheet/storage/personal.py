"""SQL for a member's own research feed: collections of saved papers, follows, mutes, dismissals
("not interested"), and the secret of their private feed URLs.

Papers are addressed by their row id here (the use-case modules resolve arXiv ids first). Every
add is an ``INSERT ... ON CONFLICT DO NOTHING``, so saving twice, following twice or two requests
racing leave one row.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from ..exceptions import ConflictError
from ..types import Collection, Interest, Signals
from .engine import chunks, insert_ignore, writer
from .schema import collection_papers, collections, dismissals, feed_tokens, follows, mutes, papers, users, votes

_INTERESTS = {"follow": follows, "mute": mutes}


def _collection(row: Any) -> Collection:
    return Collection(
        id=row.id,
        owner=row.owner,
        name=row.name,
        slug=row.slug,
        public=bool(row.is_public),
        created_at=row.created_at,
        papers=row.papers or 0,
    )


def _interest(row: Any) -> Interest:
    return Interest(id=row.id, kind=row.kind, value=row.value, created_at=row.created_at)


class PersonalStore:
    """A member's library, follows, mutes and dismissals."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._writer = writer(engine)

    # -- collections ----------------------------------------------------------------------------

    def _collections_query(self):  # noqa: ANN202 - a Select
        count = (
            select(func.count())
            .select_from(collection_papers)
            .where(collection_papers.c.collection_id == collections.c.id)
            .scalar_subquery()
        )
        return (
            select(
                collections.c.id,
                users.c.name.label("owner"),
                collections.c.name,
                collections.c.slug,
                collections.c.is_public,
                collections.c.created_at,
                count.label("papers"),
            )
            .join(users, users.c.id == collections.c.user_id)
            .order_by(collections.c.created_at, collections.c.id)
        )

    def collections(self, user_id: int) -> list[Collection]:
        """A member's collections, oldest first."""
        with self._engine.connect() as conn:
            rows = conn.execute(self._collections_query().where(collections.c.user_id == user_id))
            return [_collection(r) for r in rows]

    def collection(self, user_id: int, slug: str) -> Collection | None:
        with self._engine.connect() as conn:
            row = conn.execute(
                self._collections_query().where(collections.c.user_id == user_id, collections.c.slug == slug)
            ).first()
            return _collection(row) if row else None

    def collection_by_id(self, collection_id: int) -> tuple[int, Collection] | None:
        """(owner's user id, collection) for a collection id."""
        with self._engine.connect() as conn:
            row = conn.execute(
                self._collections_query()
                .add_columns(collections.c.user_id)
                .where(collections.c.id == collection_id)
            ).first()
            return (row.user_id, _collection(row)) if row else None

    def create_collection(self, user_id: int, name: str, slug: str, *, public: bool, now: datetime) -> Collection:
        """A new collection; ConflictError when the member has one with that slug already."""
        try:
            with self._writer.begin() as conn:
                conn.execute(
                    insert(collections).values(user_id=user_id, name=name, slug=slug, is_public=public, created_at=now)
                )
        except IntegrityError as e:
            raise ConflictError(f"you have a collection called {name!r} already") from e
        found = self.collection(user_id, slug)
        assert found is not None
        return found

    def ensure_collection(self, user_id: int, name: str, slug: str, *, now: datetime) -> Collection:
        """The member's collection ``slug``, made (private) if it does not exist yet."""
        with self._writer.begin() as conn:
            conn.execute(
                insert_ignore(conn, collections).values(
                    user_id=user_id, name=name, slug=slug, is_public=False, created_at=now
                )
            )
        found = self.collection(user_id, slug)
        assert found is not None
        return found

    def update_collection(
        self, collection_id: int, *, name: str | None = None, slug: str | None = None, public: bool | None = None
    ) -> None:
        values: dict[str, object] = {}
        if name is not None:
            values["name"] = name
        if slug is not None:
            values["slug"] = slug
        if public is not None:
            values["is_public"] = public
        if not values:
            return
        try:
            with self._writer.begin() as conn:
                conn.execute(update(collections).where(collections.c.id == collection_id).values(**values))
        except IntegrityError as e:
            raise ConflictError(f"you have a collection called {name!r} already") from e

    def delete_collection(self, collection_id: int) -> None:
        with self._writer.begin() as conn:
            conn.execute(delete(collection_papers).where(collection_papers.c.collection_id == collection_id))
            conn.execute(delete(collections).where(collections.c.id == collection_id))

    def add_to_collection(self, collection_id: int, paper_ids: Sequence[int], *, now: datetime) -> int:
        """Put papers into a collection; returns how many were not in it yet."""
        added = 0
        with self._writer.begin() as conn:
            for part in chunks(list(dict.fromkeys(paper_ids))):
                before = self._count_in(conn, collection_id, part)
                conn.execute(
                    insert_ignore(conn, collection_papers),
                    [{"collection_id": collection_id, "paper_id": pid, "added_at": now} for pid in part],
                )
                added += len(part) - before
        return added

    @staticmethod
    def _count_in(conn: Any, collection_id: int, paper_ids: Sequence[int]) -> int:
        return conn.execute(
            select(func.count())
            .select_from(collection_papers)
            .where(collection_papers.c.collection_id == collection_id, collection_papers.c.paper_id.in_(paper_ids))
        ).scalar_one()

    def remove_from_collection(self, collection_id: int, paper_id: int) -> bool:
        with self._writer.begin() as conn:
            gone = conn.execute(
                delete(collection_papers).where(
                    collection_papers.c.collection_id == collection_id, collection_papers.c.paper_id == paper_id
                )
            )
            return gone.rowcount > 0

    def collection_paper_ids(self, collection_id: int, *, limit: int | None = None, offset: int = 0) -> list[int]:
        """The papers of a collection, the most recently added first."""
        q = (
            select(collection_papers.c.paper_id)
            .where(collection_papers.c.collection_id == collection_id)
            .order_by(collection_papers.c.added_at.desc(), collection_papers.c.paper_id.desc())
            .offset(offset)
        )
        if limit is not None:
            q = q.limit(limit)
        with self._engine.connect() as conn:
            return list(conn.execute(q).scalars())

    def saved_in(self, user_id: int, paper_ids: Sequence[int]) -> dict[int, list[str]]:
        """For each of these papers the member saved: the slugs of the collections holding it."""
        out: dict[int, list[str]] = {}
        if not paper_ids:
            return out
        with self._engine.connect() as conn:
            for part in chunks(list(paper_ids)):
                rows = conn.execute(
                    select(collection_papers.c.paper_id, collections.c.slug)
                    .join(collections, collections.c.id == collection_papers.c.collection_id)
                    .where(collections.c.user_id == user_id, collection_papers.c.paper_id.in_(part))
                )
                for pid, slug in rows:
                    out.setdefault(pid, []).append(slug)
        return out

    def collection_entries(self, collection_id: int, *, limit: int | None = None, offset: int = 0) -> list[tuple[int, datetime]]:
        """(paper id, when it was added) for the papers of a collection, the most recently added first."""
        q = (
            select(collection_papers.c.paper_id, collection_papers.c.added_at)
            .where(collection_papers.c.collection_id == collection_id)
            .order_by(collection_papers.c.added_at.desc(), collection_papers.c.paper_id.desc())
            .offset(offset)
        )
        if limit is not None:
            q = q.limit(limit)
        with self._engine.connect() as conn:
            return [(pid, when) for pid, when in conn.execute(q)]

    def saved_among(self, user_id: int, arxiv_ids: Sequence[str]) -> dict[str, list[str]]:
        """For each of these papers (by arXiv id) the member saved: the slugs of the collections
        holding it. One query for a page of cards (papers joined by their arXiv id)."""
        out: dict[str, list[str]] = {}
        with self._engine.connect() as conn:
            for part in chunks(list(dict.fromkeys(arxiv_ids))):
                rows = conn.execute(
                    select(papers.c.arxiv_id, collections.c.slug)
                    .join(collection_papers, collection_papers.c.paper_id == papers.c.id)
                    .join(collections, collections.c.id == collection_papers.c.collection_id)
                    .where(collections.c.user_id == user_id, papers.c.arxiv_id.in_(part))
                    .order_by(collections.c.created_at, collections.c.id)
                )
                for arxiv_id, slug in rows:
                    out.setdefault(arxiv_id, []).append(slug)
        return out

    # -- follows and mutes ----------------------------------------------------------------------

    def interests(self, what: str, user_id: int) -> list[Interest]:
        """A member's follows (``what="follow"``) or mutes (``"mute"``), oldest first."""
        table = _INTERESTS[what]
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(table).where(table.c.user_id == user_id).order_by(table.c.created_at, table.c.id)
            )
            return [_interest(r) for r in rows]

    def add_interest(self, what: str, user_id: int, kind: str, value: str, *, now: datetime) -> Interest:
        """Follow or mute ``kind:value`` (once: adding it again returns the existing one)."""
        table = _INTERESTS[what]
        with self._writer.begin() as conn:
            conn.execute(
                insert_ignore(conn, table).values(user_id=user_id, kind=kind, value=value, created_at=now)
            )
            row = conn.execute(
                select(table).where(table.c.user_id == user_id, table.c.kind == kind, table.c.value == value)
            ).one()
            return _interest(row)

    def remove_interest(self, what: str, user_id: int, interest_id: int) -> bool:
        table = _INTERESTS[what]
        with self._writer.begin() as conn:
            gone = conn.execute(delete(table).where(table.c.user_id == user_id, table.c.id == interest_id))
            return gone.rowcount > 0

    # -- dismissals ("not interested") ----------------------------------------------------------

    def dismiss(self, user_id: int, paper_id: int, *, now: datetime) -> None:
        with self._writer.begin() as conn:
            conn.execute(insert_ignore(conn, dismissals).values(user_id=user_id, paper_id=paper_id, created_at=now))

    def undismiss(self, user_id: int, paper_id: int) -> bool:
        with self._writer.begin() as conn:
            gone = conn.execute(
                delete(dismissals).where(dismissals.c.user_id == user_id, dismissals.c.paper_id == paper_id)
            )
            return gone.rowcount > 0

    def dismissed_ids(self, user_id: int) -> set[int]:
        with self._engine.connect() as conn:
            return set(conn.execute(select(dismissals.c.paper_id).where(dismissals.c.user_id == user_id)).scalars())

    # -- what the recommendations learn from ----------------------------------------------------

    def signals(self, user_id: int) -> Signals:
        """Positives (saved in any collection, or upvoted; the earliest time if both), negatives
        (dismissed; a paper both saved and dismissed counts as saved), and follows."""
        with self._engine.connect() as conn:
            saved = conn.execute(
                select(collection_papers.c.paper_id, func.min(collection_papers.c.added_at))
                .join(collections, collections.c.id == collection_papers.c.collection_id)
                .where(collections.c.user_id == user_id)
                .group_by(collection_papers.c.paper_id)
            ).all()
            voted = conn.execute(
                select(votes.c.paper_id, votes.c.created_at).where(votes.c.user_id == user_id)
            ).all()
            dismissed = conn.execute(
                select(dismissals.c.paper_id, dismissals.c.created_at).where(dismissals.c.user_id == user_id)
            ).all()
        positives: dict[int, datetime] = {}
        for pid, when in [*saved, *voted]:
            positives[pid] = min(when, positives.get(pid, when))
        negatives = {pid: when for pid, when in dismissed if pid not in positives}
        newest = lambda pairs: tuple(sorted(pairs, key=lambda p: (p[1], p[0]), reverse=True))  # noqa: E731
        return Signals(
            positives=newest(positives.items()),
            negatives=newest(negatives.items()),
            follows=tuple(self.interests("follow", user_id)),
        )

    def saved_or_followed(self, user_id: int) -> bool:
        """Whether the member saved a paper or follows anything: one query of two index probes
        (what decides a member's home page, asked on every visit to ``/``)."""
        saved = (
            select(collection_papers.c.paper_id)
            .join(collections, collections.c.id == collection_papers.c.collection_id)
            .where(collections.c.user_id == user_id)
            .exists()
        )
        followed = select(follows.c.id).where(follows.c.user_id == user_id).exists()
        with self._engine.connect() as conn:
            return bool(conn.execute(select(or_(saved, followed))).scalar())

    def anyone_has_signals(self) -> bool:
        """Whether any member saved, followed or upvoted anything (else no one has a For you to
        show, and its windows need not be built): three index probes."""
        with self._engine.connect() as conn:
            return bool(
                conn.execute(
                    select(or_(select(collection_papers.c.paper_id).exists(), select(follows.c.id).exists(), select(votes.c.paper_id).exists()))
                ).scalar()
            )

    def signals_version(self, user_id: int) -> tuple[int, ...]:
        """Changes whenever the member's signals change (counts and newest times), so a cached
        model can be reused until then: one cheap query per table."""
        parts: list[int] = []
        with self._engine.connect() as conn:
            for table, when, owner in (
                (collection_papers, collection_papers.c.added_at, collections.c.user_id),
                (votes, votes.c.created_at, votes.c.user_id),
                (dismissals, dismissals.c.created_at, dismissals.c.user_id),
                (follows, follows.c.created_at, follows.c.user_id),
            ):
                q = select(func.count(), func.max(when)).select_from(table)
                if table is collection_papers:
                    q = q.join(collections, collections.c.id == collection_papers.c.collection_id)
                count, newest = conn.execute(q.where(owner == user_id)).one()
                parts += [count, int(newest.timestamp()) if newest else 0]
        return tuple(parts)

    # -- private feed tokens --------------------------------------------------------------------

    def set_feed_token(self, user_id: int, token_hash: str | None, *, now: datetime) -> None:
        """Keep a new feed token's hash (the old one stops working), or none (revoked)."""
        with self._writer.begin() as conn:
            conn.execute(delete(feed_tokens).where(feed_tokens.c.user_id == user_id))
            if token_hash is not None:
                conn.execute(insert(feed_tokens).values(user_id=user_id, token_hash=token_hash, created_at=now))

    def feed_token_user(self, token_hash: str) -> int | None:
        with self._engine.connect() as conn:
            return conn.execute(
                select(feed_tokens.c.user_id).where(feed_tokens.c.token_hash == token_hash)
            ).scalar_one_or_none()

    def has_feed_token(self, user_id: int) -> bool:
        with self._engine.connect() as conn:
            return (
                conn.execute(select(feed_tokens.c.user_id).where(feed_tokens.c.user_id == user_id)).first()
                is not None
            )
