"""SQL for papers and listings: batch upserts for ingest, and the reads the Hub needs."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Select, delete, func, insert, or_, select, update

from ..text import content_hash, delatex, name_key
from ..types import NO_EXTRAS, BatchPlan, Listing, Organization, Paper, PaperData, PaperExtras
from .engine import bulk_insert, chunks, writer
from .fulltext import FullTextIndex
from .schema import (
    comments,
    listings,
    organizations,
    paper_authors,
    paper_categories,
    papers,
    users,
    votes,
)

_PAPER_FIELDS = (
    "arxiv_id", "version", "title", "abstract", "primary_category", "published", "updated", "doi",
    "journal_ref", "comments", "github_repo", "project_page", "source", "source_ref",
    "thumbnail_url", "ai_summary", "github_stars",
)  # fmt: skip


def _row_values(p: PaperData) -> dict[str, Any]:
    values = {name: getattr(p, name) for name in _PAPER_FIELDS}
    values["external_upvotes"] = p.external_upvotes or 0
    values["content_hash"] = content_hash(p.title, p.abstract, p.authors)
    values["ai_keywords"] = json.dumps(list(p.ai_keywords), ensure_ascii=False) if p.ai_keywords else None
    values["organization"] = p.organization.name if p.organization else None
    return values


def _keywords(stored: str | None) -> tuple[str, ...]:
    return tuple(json.loads(stored)) if stored else ()


def _stored_fields(r: Any, authors: dict[int, tuple[str, ...]], cats: dict[int, tuple[str, ...]]) -> dict[str, Any]:
    """The fields a stored row (of ``_paper_rows``) shares between ``PaperData`` and ``Paper``."""
    fields = {name: getattr(r, name) for name in _PAPER_FIELDS}
    org = Organization(r.organization, r.org_fullname, r.org_avatar) if r.organization else None
    return {
        **fields, "authors": authors.get(r.id, ()), "categories": cats.get(r.id, ()),
        "external_upvotes": r.external_upvotes, "ai_keywords": _keywords(r.ai_keywords), "organization": org,
    }  # fmt: skip


def _org_columns() -> tuple[Any, Any]:
    """The paper's organization's full name and avatar (scalar subqueries on its primary key)."""
    fullname = select(organizations.c.fullname).where(organizations.c.name == papers.c.organization)
    avatar = select(organizations.c.avatar_url).where(organizations.c.name == papers.c.organization)
    return fullname.scalar_subquery().label("org_fullname"), avatar.scalar_subquery().label("org_avatar")


def _paper_rows() -> Select[Any]:
    """``papers`` rows with their vote and (visible) comment counts and their organization."""
    n_votes = select(func.count()).where(votes.c.paper_id == papers.c.id).scalar_subquery()
    n_comments = (
        select(func.count()).where(comments.c.paper_id == papers.c.id, comments.c.hidden.is_(False)).scalar_subquery()
    )
    return select(papers, n_votes.label("n_votes"), n_comments.label("n_comments"), *_org_columns())


def _put_organizations(conn: Connection, named: Sequence[Organization], now: datetime) -> None:
    """Store the organizations a batch names: a new one is added; a known one takes the full
    name and avatar a record states (one it leaves out keeps the stored value)."""
    latest = {o.name: o for o in named}
    if not latest:
        return
    stored = {
        r.name: r
        for chunk in chunks(sorted(latest))
        for r in conn.execute(select(organizations).where(organizations.c.name.in_(chunk)))
    }
    for name, org in latest.items():
        row = stored.get(name)
        if row is None:
            conn.execute(
                insert(organizations).values(
                    name=name, name_key=name.casefold(), fullname=org.fullname, avatar_url=org.avatar_url, updated_at=now
                )
            )
            continue
        changes = {
            key: value
            for key, value in (("fullname", org.fullname), ("avatar_url", org.avatar_url))
            if value is not None and value != getattr(row, key)
        }
        if changes:
            conn.execute(update(organizations).where(organizations.c.name == name).values(**changes, updated_at=now))


# Listing columns a record may state; one it leaves out (None) keeps the stored value.
_LISTING_STATED = (listings.c.submitter_name, listings.c.submitter_fullname, listings.c.submitter_avatar, listings.c.author_participating)


def _listing_stated(item: Any) -> dict[str, Any]:
    """What a ``ListingData`` states about its listing, by column (absent: left out)."""
    values = {
        "submitter_name": item.submitter, "submitter_fullname": item.submitter_fullname,
        "submitter_avatar": item.submitter_avatar, "author_participating": item.author_participating,
    }  # fmt: skip
    return {k: v for k, v in values.items() if v is not None}


_LISTING_COLUMNS = (
    listings.c.listed_on, listings.c.submitter_name, listings.c.created_at.label("listed_at"),
    users.c.name.label("user_name"), listings.c.submitter_fullname, listings.c.submitter_avatar,
    listings.c.author_participating,
)  # fmt: skip


def _listing(paper: Paper, r: Any) -> Listing:
    """A listing from a row with ``_LISTING_COLUMNS``; a local member's has no display name or
    avatar address (pages draw their avatar)."""
    local = r.user_name is not None
    return Listing(
        paper=paper, listed_on=r.listed_on, submitter=r.user_name or r.submitter_name, submitted_at=r.listed_at,
        submitter_fullname=None if local else r.submitter_fullname,
        submitter_avatar=None if local else r.submitter_avatar, author_participating=r.author_participating,
    )  # fmt: skip


class PaperStore:
    """Papers, their authors and categories, listings, and the full-text index."""

    def __init__(self, engine: Engine, fulltext: FullTextIndex) -> None:
        self._engine = engine
        self._writer = writer(engine)
        self._fulltext = fulltext  # FTS5 or tsvector: written in the same transaction as the papers
        # What Broadsheet made for papers (thumbnails, keywords, ...; storage/extras.py), by paper id.
        self.extras_for: Callable[[Sequence[int]], dict[int, PaperExtras]] = lambda pids: {}

    # -- ingest -------------------------------------------------------------------------------

    def load_for_merge(self, arxiv_ids: Iterable[str]) -> dict[str, PaperData]:
        """The stored papers among ``arxiv_ids``, as PaperData, for ``ingest.merge``."""
        ids = sorted(set(arxiv_ids))
        if not ids:
            return {}
        with self._engine.connect() as conn:
            rows = []
            for chunk in chunks(ids):
                rows += conn.execute(select(papers, *_org_columns()).where(papers.c.arxiv_id.in_(chunk))).all()
            authors, cats = self._children(conn, [r.id for r in rows])
        return {r.arxiv_id: PaperData(**_stored_fields(r, authors, cats)) for r in rows}

    def apply(self, plan: BatchPlan, clock: Callable[[], datetime]) -> int:
        """Write one batch's plan in one transaction; return the number of listings added.

        The time is read once the writer lock is held, so ``last_changed`` grows in commit order
        whatever the other writers do (the search indexes catch up from the newest one they saw)."""
        with self._writer.begin() as conn:
            now = clock()
            _put_organizations(conn, plan.organizations, now)
            new_ids = self._insert_new(conn, plan.new, now)
            self._replace_children(conn, plan.new, new_ids, fresh=True)
            changed_ids = self._update_changed(conn, plan.changed, now)
            self._replace_children(conn, plan.changed, changed_ids, fresh=False)
            return self._add_listings(conn, plan, now)

    def _insert_new(self, conn: Connection, new: Sequence[PaperData], now: datetime) -> dict[str, int]:
        if not new:
            return {}
        rows = [{**_row_values(p), "first_seen": now, "last_changed": now} for p in new]
        columns = list(rows[0])
        bulk_insert(conn, papers, columns, [tuple(r[c] for c in columns) for r in rows])
        ids: dict[str, int] = {}
        for chunk in chunks([p.arxiv_id for p in new]):
            ids.update(conn.execute(select(papers.c.arxiv_id, papers.c.id).where(papers.c.arxiv_id.in_(chunk))).all())
        return ids

    def _update_changed(self, conn: Connection, changed: Sequence[PaperData], now: datetime) -> dict[str, int]:
        ids: dict[str, int] = {}
        for p in changed:
            pid = conn.execute(
                update(papers)
                .where(papers.c.arxiv_id == p.arxiv_id)
                .values(**_row_values(p), last_changed=now)
                .returning(papers.c.id)
            ).scalar_one()
            ids[p.arxiv_id] = pid
        return ids

    def _replace_children(
        self, conn: Connection, written: Sequence[PaperData], ids: dict[str, int], *, fresh: bool
    ) -> None:
        """Authors, categories and the full-text row of each written paper, rewritten whole.

        ``fresh`` papers were just inserted: they have nothing to delete.
        """
        if not written:
            return
        if not fresh:
            pids = [ids[p.arxiv_id] for p in written]
            for chunk in chunks(pids):
                conn.execute(delete(paper_authors).where(paper_authors.c.paper_id.in_(chunk)))
                conn.execute(delete(paper_categories).where(paper_categories.c.paper_id.in_(chunk)))
                self._fulltext.remove(conn, chunk)
        bulk_insert(
            conn,
            paper_authors,
            ("paper_id", "position", "name", "name_key"),
            [(ids[p.arxiv_id], i, a, name_key(a)) for p in written for i, a in enumerate(p.authors)],
        )
        bulk_insert(
            conn,
            paper_categories,
            ("paper_id", "position", "category"),
            [(ids[p.arxiv_id], i, c) for p in written for i, c in enumerate(p.categories)],
        )
        self._fulltext.put(
            conn,
            [(ids[p.arxiv_id], delatex(p.title), delatex(p.abstract), delatex(", ".join(p.authors))) for p in written],
        )

    def _add_listings(self, conn: Connection, plan: BatchPlan, now: datetime) -> int:
        if not plan.listings:
            return 0
        wanted = sorted({item.arxiv_id for item in plan.listings})
        pid_of: dict[str, int] = {}
        for chunk in chunks(wanted):
            pid_of.update(
                conn.execute(select(papers.c.arxiv_id, papers.c.id).where(papers.c.arxiv_id.in_(chunk))).all()
            )
        # What is listed already, for the batch's papers: one query, not one per listing.
        existing: dict[tuple[int, date], dict[str, Any]] = {}
        for chunk in chunks(sorted(set(pid_of.values()))):
            for r in conn.execute(
                select(listings.c.id, listings.c.paper_id, listings.c.listed_on, *_LISTING_STATED).where(
                    listings.c.paper_id.in_(chunk)
                )
            ):
                existing[(r.paper_id, r.listed_on)] = {"id": r.id, **{c.name: getattr(r, c.name) for c in _LISTING_STATED}}
        new: dict[tuple[int, date], dict[str, Any]] = {}
        for item in plan.listings:
            key = (pid_of[item.arxiv_id], item.listed_on)
            stated = _listing_stated(item)
            if key in existing:
                row = existing[key]
                changes = {k: v for k, v in stated.items() if row[k] != v}
                if changes:
                    conn.execute(update(listings).where(listings.c.id == row["id"]).values(**changes))
                    row.update(changes)
            elif key not in new:
                new[key] = {
                    "paper_id": key[0], "listed_on": item.listed_on, "submitter_name": None, "submitter_fullname": None,
                    "submitter_avatar": None, "author_participating": None, "source": item.source,
                    "source_ref": item.source_ref, "created_at": now, **stated,
                }  # fmt: skip
            else:  # listed twice in one batch: what the later one states wins, as before
                new[key].update(stated)
        if new:
            conn.execute(insert(listings), list(new.values()))
        return len(new)

    def optimize_fulltext(self) -> None:
        """Compact the full-text index after a big ingest."""
        self._fulltext.optimize()

    # -- reads --------------------------------------------------------------------------------

    def _children(
        self, conn: Connection, pids: Sequence[int]
    ) -> tuple[dict[int, tuple[str, ...]], dict[int, tuple[str, ...]]]:
        authors: dict[int, list[str]] = defaultdict(list)
        cats: dict[int, list[str]] = defaultdict(list)
        for chunk in chunks(list(pids)):
            for pid, name in conn.execute(
                select(paper_authors.c.paper_id, paper_authors.c.name)
                .where(paper_authors.c.paper_id.in_(chunk))
                .order_by(paper_authors.c.paper_id, paper_authors.c.position)
            ):
                authors[pid].append(name)
            for pid, cat in conn.execute(
                select(paper_categories.c.paper_id, paper_categories.c.category)
                .where(paper_categories.c.paper_id.in_(chunk))
                .order_by(paper_categories.c.paper_id, paper_categories.c.position)
            ):
                cats[pid].append(cat)
        return ({k: tuple(v) for k, v in authors.items()}, {k: tuple(v) for k, v in cats.items()})

    def _papers(self, conn: Connection, rows: Sequence[Any]) -> list[Paper]:
        """Paper objects for rows of ``_paper_rows()`` (in the given order), with their children."""
        authors, cats = self._children(conn, [r.id for r in rows])
        extras = self.extras_for([r.id for r in rows]) if rows else {}
        return [
            Paper(
                **_stored_fields(r, authors, cats),
                upvotes=r.external_upvotes + r.n_votes,
                num_comments=r.n_comments,
                first_seen=r.first_seen,
                last_changed=r.last_changed,
                hidden=r.hidden,
                extras=extras.get(r.id, NO_EXTRAS),
            )
            for r in rows
        ]

    def get(self, arxiv_id: str) -> Paper | None:
        with self._engine.connect() as conn:
            row = conn.execute(_paper_rows().where(papers.c.arxiv_id == arxiv_id)).first()
            return self._papers(conn, [row])[0] if row else None

    def by_ids(self, pids: Sequence[int]) -> dict[int, Paper]:
        """Papers by internal id (missing ids are left out)."""
        if not pids:
            return {}
        with self._engine.connect() as conn:
            rows = []
            for chunk in chunks(list(pids)):
                rows += conn.execute(_paper_rows().where(papers.c.id.in_(chunk))).all()
            return dict(zip((r.id for r in rows), self._papers(conn, rows), strict=True))

    def ids_of(self, arxiv_ids: Sequence[str]) -> dict[str, int]:
        """Internal ids of papers by arXiv id (unknown ids are left out)."""
        out: dict[str, int] = {}
        with self._engine.connect() as conn:
            for chunk in chunks(list(arxiv_ids)):
                out.update(conn.execute(select(papers.c.arxiv_id, papers.c.id).where(papers.c.arxiv_id.in_(chunk))).all())
        return out

    # -- arXiv metadata for papers that came without it (sync/enrich.py) -----------------------

    def lacking_arxiv_metadata(self, among: Sequence[str] | None = None) -> list[str]:
        """arXiv ids (in row order) of papers that have no categories (a Hugging Face record
        carries none) and that the arXiv export API was never asked about; only those ``among``
        the given ids if any are given. Local ids (``demo-07``) have no '.' or '/' and never match."""
        has_cats = select(paper_categories.c.paper_id).where(paper_categories.c.paper_id == papers.c.id).exists()
        stmt = (
            select(papers.c.arxiv_id)
            .where(~has_cats, papers.c.arxiv_checked.is_(None))
            .where(or_(papers.c.arxiv_id.like("%.%"), papers.c.arxiv_id.like("%/%")))
            .order_by(papers.c.id)
        )
        with self._engine.connect() as conn:
            if among is None:
                return list(conn.execute(stmt).scalars())
            found = set()
            for chunk in chunks(list(among)):
                found.update(conn.execute(stmt.where(papers.c.arxiv_id.in_(chunk))).scalars())
        return [a for a in dict.fromkeys(among) if a in found]

    def mark_arxiv_checked(self, arxiv_ids: Sequence[str], now: datetime) -> None:
        """Record that arXiv was asked about these papers (whether or not it knew them)."""
        with self._writer.begin() as conn:
            for chunk in chunks(list(arxiv_ids)):
                conn.execute(update(papers).where(papers.c.arxiv_id.in_(chunk)).values(arxiv_checked=now))

    def newest(self, limit: int, offset: int = 0) -> list[Paper]:
        """Visible papers, most recently published first."""
        with self._engine.connect() as conn:
            rows = conn.execute(
                _paper_rows()
                .where(papers.c.hidden.is_(False))
                .order_by(papers.c.published.desc().nulls_last(), papers.c.id.desc())
                .limit(limit)
                .offset(offset)
            ).all()
            return self._papers(conn, rows)

    def listed_between(self, first: date, last: date) -> list[Listing]:
        """Listings of visible papers with ``first <= listed_on <= last``, newest day first."""
        with self._engine.connect() as conn:
            rows = conn.execute(
                _paper_rows()
                .add_columns(*_LISTING_COLUMNS)
                .join(listings, listings.c.paper_id == papers.c.id)
                .outerjoin(users, users.c.id == listings.c.submitted_by)
                .where(listings.c.listed_on.between(first, last), papers.c.hidden.is_(False))
                .order_by(listings.c.listed_on.desc(), papers.c.external_upvotes.desc(), papers.c.id)
            ).all()
            found = self._papers(conn, rows)
        return [_listing(p, r) for p, r in zip(found, rows, strict=True)]

    def first_listing(self, arxiv_id: str) -> Listing | None:
        """The earliest listing of a paper (hidden or not), or None."""
        with self._engine.connect() as conn:
            rows = conn.execute(
                _paper_rows()
                .add_columns(*_LISTING_COLUMNS)
                .join(listings, listings.c.paper_id == papers.c.id)
                .outerjoin(users, users.c.id == listings.c.submitted_by)
                .where(papers.c.arxiv_id == arxiv_id)
                .order_by(listings.c.listed_on, listings.c.id)
                .limit(1)
            ).all()
            if not rows:
                return None
            r, p = rows[0], self._papers(conn, rows)[0]
        return _listing(p, r)

    def latest_listing_day(self) -> date | None:
        with self._engine.connect() as conn:
            return conn.execute(select(func.max(listings.c.listed_on))).scalar()
