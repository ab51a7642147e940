"""Storage: SQL over SQLAlchemy Core, one store per domain, one dialect-aware engine.

``open_storage(url)`` creates the engine and migrates the schema; the Hub is the only caller.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, func, select

from .browse import BrowseStore
from .community import CommunityStore
from .digests import DigestStore
from .embed_queue import EmbedQueue
from .engine import create_db_engine, is_postgres, migrate, schema_version
from .extras import ExtrasStore, FileThumbnailStore, ThumbnailStore
from .fulltext import FullTextIndex
from .fulltext_pg import PgFullTextIndex
from .locks import AdvisoryLock, LeaseLock, Lock
from .papers import PaperStore
from .personal import PersonalStore
from .recs import RecsStore
from .users import UserStore
from .vectors import VectorStore
from .vectors_pg import PgVectorSearch
from .schema import comments, listings, papers, subscriptions, users, votes
from .syncstate import SyncStateStore
from .trends import TrendStore
from .version import DataVersion

__all__ = ["Storage", "open_storage"]


class Storage:
    """All stores over one engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.is_postgres = is_postgres(engine)
        self._closed = False
        # The pool's events carry over to the pool that dispose() leaves behind.
        event.listen(engine, "checkin", self._close_if_closed)
        # Called before a connection is taken; may raise to refuse it (see ``guard``).
        self.guard: Callable[[], None] | None = None
        event.listen(engine, "checkout", self._check_guard)
        # The dialect's full-text index (FTS5 or tsvector), written with the papers themselves.
        self.fulltext = PgFullTextIndex(engine) if self.is_postgres else FullTextIndex(engine)
        self.papers = PaperStore(engine, self.fulltext)
        self.vectors = VectorStore(engine)
        self.embed_queue = EmbedQueue(engine)  # the backfill's batches, claimed by workers anywhere
        # Nearest neighbours in the database: pgvector's HNSW (SQLite has no vector index).
        self.vector_search = PgVectorSearch(engine) if self.is_postgres else None
        self.sync_state = SyncStateStore(engine)
        self.version = DataVersion(engine)  # what page caches compare (storage/version.py)
        self.users = UserStore(engine)
        self.community = CommunityStore(engine)
        self.browse = BrowseStore(engine)
        self.digests = DigestStore(engine)
        self.personal = PersonalStore(engine)
        self.recs = RecsStore(engine)  # what recommendations read: candidates, text, facets
        # Thumbnails: files beside a SQLite database, rows on PostgreSQL (every server sees them).
        db_file = engine.url.database if not self.is_postgres else None
        self.thumbnails = (
            FileThumbnailStore(engine, Path(db_file).expanduser().resolve().parent / "thumbnails")
            if db_file and db_file != ":memory:"
            else ThumbnailStore(engine)
        )
        self.extras = ExtrasStore(engine)
        self.trends = TrendStore(engine, self.fulltext)
        self.papers.extras_for = lambda pids: self.extras.for_papers(pids, self.thumbnails.statuses(pids))

    def lock(self, name: str, holder: str, *, seconds: float, now: Callable[[], datetime], dead: Callable[[str], bool]) -> Lock:
        """The lock called ``name`` for ``holder`` (not taken yet; see storage/locks.py): an
        advisory lock on PostgreSQL, a lease of ``seconds`` on SQLite (``dead`` tells a holder
        process of this host that has ended)."""
        if self.is_postgres:
            return AdvisoryLock(self.engine, self.digests, name, holder)
        return LeaseLock(self.digests, name, holder, seconds, now, dead)

    def lock_holder(self, name: str, now: datetime) -> str | None:
        """Who holds the lock ``name``, or None."""
        if self.is_postgres:
            return AdvisoryLock.holder_of(self.engine, self.digests, name)
        return LeaseLock.holder_of(self.digests, name, now)

    def counts(self) -> dict[str, int]:
        """Rows per domain table, for ``broadsheet info``."""
        tables = {
            "papers": papers,
            "listings": listings,
            "users": users,
            "votes": votes,
            "comments": comments,
            "subscriptions": subscriptions,
        }
        with self.engine.connect() as conn:
            return {name: conn.execute(select(func.count()).select_from(t)).scalar_one() for name, t in tables.items()}

    def counts_of_papers(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(papers)).scalar_one()

    def schema_version(self) -> str | None:
        return schema_version(self.engine)

    def close(self) -> None:
        """Close the pooled connections. A thread still working then (a background round that has
        not noticed the Hub closing) has its connection closed when it gives it back, rather than
        left to the garbage collector, which closes it at some later moment with a warning."""
        self._closed = True
        self.engine.dispose()

    def _check_guard(self, *_: Any) -> None:
        if self.guard is not None:
            self.guard()

    def _close_if_closed(self, dbapi_connection: Any, _record: Any) -> None:
        if self._closed and dbapi_connection is not None:
            try:
                dbapi_connection.close()
            except Exception:  # noqa: BLE001, S110 - closing a connection of a closed store: nothing to keep
                pass


def open_storage(url: str, *, migrate_schema: bool = True) -> Storage:
    engine = create_db_engine(url)
    if migrate_schema:
        migrate(engine)
    return Storage(engine)
