""""Not interested": a member dismisses a paper. It leaves their For you at once and becomes a
negative example of their recommendation model (``PersonalStore.signals``), so papers like it
rank lower from the next request on (the model follows ``signals_version``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ..storage import Storage
from ..types import Paper, User


class Dismissals:
    """``paper_id(arxiv_id, user)`` is the Hub's lookup: the paper and its row id, raising
    PaperNotFoundError for an unknown or hidden one."""

    def __init__(
        self, storage: Storage, now: Callable[[], datetime], paper_id: Callable[[str, User], tuple[Paper, int]]
    ) -> None:
        self._store = storage.personal
        self._papers = storage.papers
        self._now = now
        self._paper_id = paper_id

    def set(self, user: User, arxiv_id: str, on: bool = True) -> tuple[Paper, bool]:
        """Dismiss a paper (``on``) or take the dismissal back; the paper, and whether anything
        changed (dismissing twice changes nothing)."""
        paper, pid = self._paper_id(arxiv_id, user)
        if on:
            before = pid in self._store.dismissed_ids(user.id)
            self._store.dismiss(user.id, pid, now=self._now())
            return paper, not before
        return paper, self._store.undismiss(user.id, pid)

    def arxiv_ids(self, user: User) -> set[str]:
        """The papers ``user`` dismissed."""
        pids = list(self._store.dismissed_ids(user.id))
        return {p.arxiv_id for p in self._papers.by_ids(pids).values()} if pids else set()
