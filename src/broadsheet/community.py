"""The community as a use case: upvotes, comments, submissions to the daily list, and the admins'
moderation (hiding papers and comments). ``Hub`` delegates here, one line each.

A hidden paper is not found except by an admin. Every write calls ``changed`` (the Hub bumps its
data version, which caches of pages compare).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import datetime

from .exceptions import (
    InvalidArxivIdError,
    InvalidInputError,
    NotFoundError,
    PaperNotFoundError,
    PermissionDeniedError,
    SourceError,
)
from .ids import is_arxiv_id, is_row_id, parse_paper_id
from .storage import Storage
from .types import Comment, Paper, Submission, User

MAX_COMMENT = 10_000  # characters of markdown in one comment


class Community:
    """``get_paper`` and ``index_embeddings`` are the Hub's; ``changed()`` marks the data changed."""

    def __init__(
        self,
        storage: Storage,
        now: Callable[[], datetime],
        changed: Callable[[], None],
        get_paper: Callable[[str], Paper],
        index_embeddings: Callable[..., int],
    ) -> None:
        self._storage = storage
        self._now = now
        self._changed = changed
        self._get_paper = get_paper
        self._index_embeddings = index_embeddings

    def paper_id(self, arxiv_id: str, viewer: User | None) -> tuple[Paper, int]:
        """The paper and its internal id; a hidden paper is not found except by an admin."""
        paper = self._get_paper(arxiv_id)
        if paper.hidden and not (viewer and viewer.is_admin):
            raise PaperNotFoundError(paper.arxiv_id)
        return paper, self._storage.papers.ids_of([paper.arxiv_id])[paper.arxiv_id]

    def set_vote(self, user: User, arxiv_id: str, on: bool = True) -> Paper:
        paper, pid = self.paper_id(arxiv_id, user)
        self._storage.community.set_vote(user.id, pid, on, self._now())
        self._changed()
        return self._get_paper(paper.arxiv_id)

    def voted(self, user: User | None, arxiv_ids: Sequence[str]) -> set[str]:
        if user is None or not arxiv_ids:
            return set()
        return self._storage.community.voted_arxiv_ids(user.id, arxiv_ids)

    def add_comment(self, user: User, arxiv_id: str, body: str, *, parent_id: int | None = None) -> Comment:
        body = body.strip()
        if not body:
            raise InvalidInputError("a comment cannot be empty")
        if len(body) > MAX_COMMENT:
            raise InvalidInputError(f"a comment has at most {MAX_COMMENT:,} characters")
        paper, pid = self.paper_id(arxiv_id, user)
        if parent_id is not None:
            parent = self._storage.community.get_comment(parent_id) if is_row_id(parent_id) else None
            if parent is None or parent.arxiv_id != paper.arxiv_id or parent.hidden:
                raise InvalidInputError("you can only reply to a visible comment on the same paper")
            if parent.parent_id is not None:
                raise InvalidInputError("replies are one level deep: reply to the comment above it")
        cid = self._storage.community.add_comment(pid, user.id, body, parent_id, self._now())
        self._changed()
        comment = self._storage.community.get_comment(cid)
        assert comment is not None
        return comment

    def get_comments(self, arxiv_id: str, *, include_hidden: bool = False) -> list[Comment]:
        paper = self._get_paper(arxiv_id)
        pid = self._storage.papers.ids_of([paper.arxiv_id])[paper.arxiv_id]
        found = self._storage.community.comments_of(pid)
        if include_hidden:
            return found
        return [dataclasses.replace(c, author="", body="") if c.hidden else c for c in found]

    def submit_paper(self, user: User, arxiv_id: str, fetch_paper: Callable[[str], Paper] | None) -> Submission:
        """See ``Hub.submit_paper``; ``fetch_paper`` is the Hub's (None: a missing paper is not found)."""
        key, _ = parse_paper_id(arxiv_id)
        today = self._now().date()
        try:
            paper, pid = self.paper_id(key, user)
        except PaperNotFoundError:
            if not is_arxiv_id(key):
                raise InvalidArxivIdError(f"not an arXiv id: {arxiv_id!r}") from None
            if fetch_paper is None:
                return Submission(key, "not_found", today)
            try:
                fetch_paper(key)
            except PaperNotFoundError:
                return Submission(key, "not_on_arxiv", today)
            except SourceError:
                return Submission(key, "unreachable", today)
            paper, pid = self.paper_id(key, user)
        added = self._storage.community.add_listing(pid, today, user.id, user.name, self._now())
        self._changed()
        if added:
            self._index_embeddings(arxiv_ids=[paper.arxiv_id])
        return Submission(paper.arxiv_id, "listed" if added else "already_listed", today, self._get_paper(key))

    # -- moderation ---------------------------------------------------------------------------

    def set_paper_hidden(self, actor: User, arxiv_id: str, hidden: bool = True) -> Paper:
        require_admin(actor)
        paper, pid = self.paper_id(arxiv_id, actor)
        self._storage.community.set_paper_hidden(pid, hidden)
        self._changed()
        return dataclasses.replace(paper, hidden=hidden)

    def set_comment_hidden(self, actor: User, comment_id: int, hidden: bool = True) -> Comment:
        require_admin(actor)
        if not is_row_id(comment_id) or not self._storage.community.set_comment_hidden(comment_id, hidden):
            raise NotFoundError(f"no comment {comment_id}")
        self._changed()
        comment = self._storage.community.get_comment(comment_id)
        assert comment is not None
        return comment


def require_admin(actor: User) -> None:
    if not actor.is_admin:
        raise PermissionDeniedError("only admins can do this")
