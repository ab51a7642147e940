"""SQL for what Broadsheet adds to a paper itself: thumbnails, extracted keywords, generated
summaries, GitHub stars (migration 0010).

Thumbnails have two twins with the same methods: on PostgreSQL the picture is a row's ``image``, so
every app server behind a load balancer sees it; on a SQLite file it is a file in the database's
folder (``thumbnails/<paper id>.<ext>``), which keeps the database small and backups of it quick.
The row says which papers have one (or why not) on both.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, and_, delete, func, or_, select, update

from ..types import PaperExtras
from .engine import chunks, insert_ignore, writer
from .schema import embeddings, github_repos, listings, paper_extracts, papers, thumbnails

EXTENSIONS = {"image/webp": "webp", "image/png": "png"}


def repo_key(repo: str) -> str:
    """A GitHub ``owner/name`` (or its URL) folded to the key of ``github_repos``."""
    repo = repo.strip().removesuffix("/").removesuffix(".git")
    for prefix in ("https://github.com/", "http://github.com/", "https://www.github.com/", "github.com/"):
        if repo.lower().startswith(prefix):
            repo = repo[len(prefix) :]
    return "/".join(repo.split("/")[:2]).lower()


class ThumbnailStore:
    """Thumbnails in the database (PostgreSQL, or SQLite without a file)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._writer = writer(engine)

    # -- which papers need one ---------------------------------------------------------------

    def lacking(self, *, since: date | None = None, arxiv_ids: Sequence[str] | None = None, limit: int = 100) -> list[tuple[int, str]]:
        """``(paper id, arXiv id)`` of listed papers (or of ``arxiv_ids``) without a thumbnail row,
        the most recently listed first; ``since``: listed on that day or later."""
        q = select(papers.c.id, papers.c.arxiv_id).where(~select(thumbnails.c.paper_id).where(thumbnails.c.paper_id == papers.c.id).exists())
        if arxiv_ids is not None:
            q = q.where(papers.c.arxiv_id.in_(list(arxiv_ids)))
        else:
            last = select(listings.c.paper_id, func.max(listings.c.listed_on).label("day")).group_by(listings.c.paper_id)
            if since is not None:
                last = last.where(listings.c.listed_on >= since)
            sub = last.subquery()
            q = q.join(sub, sub.c.paper_id == papers.c.id).order_by(sub.c.day.desc(), papers.c.id.desc())
        with self._engine.connect() as conn:
            return [(int(i), a) for i, a in conn.execute(q.limit(limit))]

    def statuses(self, pids: Sequence[int]) -> dict[int, str]:
        out: dict[int, str] = {}
        with self._engine.connect() as conn:
            for chunk in chunks(list(pids)):
                out.update((r[0], r[1]) for r in conn.execute(select(thumbnails.c.paper_id, thumbnails.c.status).where(thumbnails.c.paper_id.in_(chunk))))
        return out

    def failures(self) -> dict[str, int]:
        """Rows per status, for `broadsheet thumbnails`."""
        with self._engine.connect() as conn:
            return dict(conn.execute(select(thumbnails.c.status, func.count()).group_by(thumbnails.c.status)).all())

    # -- the pictures ------------------------------------------------------------------------

    def put(self, paper_id: int, now: datetime, *, image: bytes | None = None, media_type: str | None = None,
            status: str = "ok", detail: str | None = None) -> None:  # fmt: skip
        """Store a paper's thumbnail (``status`` ok) or why it has none (missing, broken)."""
        row = {"paper_id": paper_id, "status": status, "media_type": media_type, "detail": detail, "made_at": now}
        row["image"] = self._keep(paper_id, image, media_type) if image is not None else None
        with self._writer.begin() as conn:
            conn.execute(delete(thumbnails).where(thumbnails.c.paper_id == paper_id))
            conn.execute(thumbnails.insert().values(**row))

    def get(self, paper_id: int) -> tuple[str, bytes] | None:
        """``(media type, bytes)`` of a paper's rendered thumbnail, or None."""
        with self._engine.connect() as conn:
            row = conn.execute(
                select(thumbnails.c.media_type, thumbnails.c.image).where(thumbnails.c.paper_id == paper_id, thumbnails.c.status == "ok")
            ).first()
        if row is None or row.media_type not in EXTENSIONS:
            return None
        image = row.image if row.image is not None else self._load(paper_id, row.media_type)
        return (row.media_type, image) if image else None

    def forget_failed(self) -> int:
        """Drop the rows of papers that had no PDF or a broken one, so they are tried again."""
        with self._writer.begin() as conn:
            return conn.execute(delete(thumbnails).where(thumbnails.c.status != "ok")).rowcount

    def forget(self, paper_ids: Sequence[int] | None = None) -> int:
        """Drop thumbnails (all, or of these papers) so they are made again."""
        with self._writer.begin() as conn:
            q = delete(thumbnails)
            if paper_ids is not None:
                q = q.where(thumbnails.c.paper_id.in_(list(paper_ids)))
            return conn.execute(q).rowcount

    def with_pictures(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Rows of ``thumbnails`` with their pictures in ``image`` (for copy-db)."""
        for r in rows:
            if r["image"] is None and r["status"] == "ok":
                r["image"] = self._load(r["paper_id"], r["media_type"])
        return rows

    def stored_form(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Rows with pictures in ``image`` as this store keeps them (files: written, ``image`` NULL)."""
        for r in rows:
            if r["image"] is not None:
                r["image"] = self._keep(r["paper_id"], r["image"], r["media_type"])
        return rows

    def _keep(self, paper_id: int, image: bytes, media_type: str | None) -> bytes | None:
        return image  # in the row

    def _load(self, paper_id: int, media_type: str) -> bytes | None:
        return None


class FileThumbnailStore(ThumbnailStore):
    """Thumbnails of a SQLite database: the picture is a file beside the database."""

    def __init__(self, engine: Engine, folder: Path) -> None:
        super().__init__(engine)
        self.folder = folder

    def _path(self, paper_id: int, media_type: str | None) -> Path:
        return self.folder / f"{paper_id:d}.{EXTENSIONS.get(media_type or '', 'bin')}"

    def _keep(self, paper_id: int, image: bytes, media_type: str | None) -> bytes | None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self._path(paper_id, media_type)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(image)
        os.replace(tmp, path)  # readers see the old file or the new, never half of one
        return None

    def _load(self, paper_id: int, media_type: str) -> bytes | None:
        try:
            return self._path(paper_id, media_type).read_bytes()
        except OSError:
            return None


class ExtrasStore:
    """Extracted keywords, generated summaries and GitHub stars."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._writer = writer(engine)

    def for_papers(self, pids: Sequence[int], thumbs: dict[int, str]) -> dict[int, PaperExtras]:
        """The extras of these papers (papers with none are left out)."""
        out: dict[int, PaperExtras] = {}
        found: dict[int, dict[str, Any]] = {pid: {"thumbnail": True} for pid, s in thumbs.items() if s == "ok"}
        with self._engine.connect() as conn:
            for chunk in chunks(list(pids)):
                for pid, kw, summary in conn.execute(
                    select(paper_extracts.c.paper_id, paper_extracts.c.keywords, paper_extracts.c.summary).where(paper_extracts.c.paper_id.in_(chunk))
                ):
                    found.setdefault(pid, {}).update(keywords=tuple(json.loads(kw)) if kw else (), summary=summary)
                for pid, repo in conn.execute(
                    select(papers.c.id, papers.c.github_repo).where(papers.c.id.in_(chunk), papers.c.github_repo.is_not(None))
                ):
                    found.setdefault(pid, {})["_repo"] = repo_key(repo)
            repos = {f["_repo"] for f in found.values() if "_repo" in f}
            stars: dict[str, int] = {}
            for chunk in chunks(sorted(repos)):
                stars.update(conn.execute(select(github_repos.c.repo, github_repos.c.stars).where(github_repos.c.repo.in_(chunk), github_repos.c.status == "ok")).all())
        for pid, f in found.items():
            repo = f.pop("_repo", None)
            f["github_stars"] = stars.get(repo) if repo else None
            if f.get("thumbnail") or f.get("keywords") or f.get("summary") or f["github_stars"] is not None:
                out[pid] = PaperExtras(**f)
        return out

    # -- keywords and summaries --------------------------------------------------------------

    def lacking_keywords(
        self, model: str, limit: int, arxiv_ids: Sequence[str] | None = None, *, listed_only: bool = False
    ) -> list[tuple[int, str, str, str, bytes]]:
        """``(paper id, title, abstract, content hash, vector)`` of papers whose extracted keywords
        are missing or were made from other text, and which have an up-to-date vector of ``model``
        (the keywords are ranked against it: papers without one wait), newest first; ``listed_only``:
        papers on the daily lists (what the background pass does; the command does the rest)."""
        q = (
            select(papers.c.id, papers.c.title, papers.c.abstract, papers.c.content_hash, embeddings.c.vector)
            .join(embeddings, and_(embeddings.c.paper_id == papers.c.id, embeddings.c.model == model,
                                   embeddings.c.content_hash == papers.c.content_hash))
            .outerjoin(paper_extracts, paper_extracts.c.paper_id == papers.c.id)
            .where(or_(paper_extracts.c.keywords_hash.is_(None), paper_extracts.c.keywords_hash != papers.c.content_hash))
            .order_by(papers.c.id.desc())
            .limit(limit)
        )  # fmt: skip
        if arxiv_ids is not None:
            q = q.where(papers.c.arxiv_id.in_(list(arxiv_ids)))
        if listed_only:
            q = q.where(select(listings.c.id).where(listings.c.paper_id == papers.c.id).exists())
        with self._engine.connect() as conn:
            return [tuple(r) for r in conn.execute(q)]  # type: ignore[misc]

    def lacking_summary(self, limit: int, arxiv_ids: Sequence[str] | None = None) -> list[tuple[int, str, str, str]]:
        """``(paper id, title, abstract, content hash)`` of listed papers (or of ``arxiv_ids``)
        without a summary of their current text, the most recently listed first."""
        q = (
            select(papers.c.id, papers.c.title, papers.c.abstract, papers.c.content_hash)
            .outerjoin(paper_extracts, paper_extracts.c.paper_id == papers.c.id)
            .where(or_(paper_extracts.c.summary_hash.is_(None), paper_extracts.c.summary_hash != papers.c.content_hash), ~papers.c.hidden)
            .limit(limit)
        )
        if arxiv_ids is not None:
            q = q.where(papers.c.arxiv_id.in_(list(arxiv_ids))).order_by(papers.c.id.desc())
        else:
            last = select(listings.c.paper_id, func.max(listings.c.listed_on).label("day")).group_by(listings.c.paper_id).subquery()
            q = q.join(last, last.c.paper_id == papers.c.id).order_by(last.c.day.desc(), papers.c.id.desc())
        with self._engine.connect() as conn:
            return [tuple(r) for r in conn.execute(q)]  # type: ignore[misc]

    def put_keywords(self, rows: Sequence[tuple[int, Sequence[str], str]], now: datetime) -> None:
        """Store ``(paper id, keywords, content hash)``."""
        self._put([{"paper_id": pid, "keywords": json.dumps(list(kw)), "keywords_hash": h} for pid, kw, h in rows], now)

    def put_summary(self, paper_id: int, summary: str, model: str, content_hash: str, now: datetime) -> None:
        self._put([{"paper_id": paper_id, "summary": summary, "summary_model": model, "summary_hash": content_hash}], now)

    def _put(self, rows: list[dict[str, Any]], now: datetime) -> None:
        if not rows:
            return
        with self._writer.begin() as conn:
            conn.execute(insert_ignore(conn, paper_extracts), [{"paper_id": r["paper_id"], "updated_at": now} for r in rows])
            for r in rows:
                values = {k: v for k, v in r.items() if k != "paper_id"}
                conn.execute(update(paper_extracts).where(paper_extracts.c.paper_id == r["paper_id"]).values(**values, updated_at=now))

    # -- GitHub ------------------------------------------------------------------------------

    def github_repos_to_check(self, checked_before: datetime | None, limit: int) -> list[str]:
        """Repositories named by papers, never checked or last checked before ``checked_before``
        (None: all of them), the least recently checked first."""
        with self._engine.connect() as conn:
            named = {repo_key(r) for (r,) in conn.execute(select(papers.c.github_repo).where(papers.c.github_repo.is_not(None)).distinct())}
            checked = dict(conn.execute(select(github_repos.c.repo, github_repos.c.checked_at)).all())
        due = [r for r in named if r.count("/") == 1 and all(r.split("/")) and (
            r not in checked or checked_before is None or checked[r] < checked_before)]  # fmt: skip
        return sorted(due, key=lambda r: (r in checked, checked.get(r) or datetime.min, r))[:limit]

    def put_github(self, repo: str, stars: int | None, now: datetime) -> None:
        """Stars of a repository (None: GitHub does not know it)."""
        with self._writer.begin() as conn:
            conn.execute(delete(github_repos).where(github_repos.c.repo == repo))
            conn.execute(github_repos.insert().values(repo=repo, stars=stars, status="ok" if stars is not None else "missing", checked_at=now))

    def github_stars(self, repo: str) -> int | None:
        with self._engine.connect() as conn:
            return conn.execute(select(github_repos.c.stars).where(and_(github_repos.c.repo == repo_key(repo)))).scalar()
