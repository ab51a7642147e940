"""Cold start: a member with nothing saved gives For you a few seed papers (arXiv ids or URLs,
saved into their "Saved" collection) or topics (followed as saved searches). Each line that
cannot be used is reported with its line number and why; the rest lands.

The parsing is pure (:func:`seed_lines`); :func:`plant` does the saving through the store and
the Hub's own lookups (passed in: imports point downward).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from ..exceptions import BroadsheetError, InvalidArxivIdError
from ..ids import parse_paper_id
from ..storage import Storage
from ..types import Interest, Paper, User

MAX_SEEDS = 50  # lines of each box
SAVED = ("Saved", "saved")  # the default collection (name, slug)


@dataclass(frozen=True, slots=True)
class SeedReport:
    saved: tuple[str, ...]  # arXiv ids saved
    followed: tuple[str, ...]  # topics followed
    problems: tuple[str, ...]  # "papers line 2: not an arXiv id: 'foo'"


def seed_lines(text: str) -> list[tuple[int, str]]:
    """Non-empty lines with their numbers (1-based); commas and spaces separate ids too."""
    out = []
    for n, line in enumerate(text.replace("\r", "").split("\n"), 1):
        out += [(n, part) for part in line.replace(",", " ").split() if part]
    return out


def plant(
    storage: Storage,
    now: Callable[[], datetime],
    user: User,
    papers: str,
    topics: str,
    *,
    lookup: Callable[[str], Paper],
    follow: Callable[[str], Interest],
) -> SeedReport:
    """Save the seed papers (``lookup`` finds a paper by id, raising PaperNotFoundError) into
    the member's "Saved" collection, and follow each topic line as a search (``follow``
    checks it)."""
    saved: list[str] = []
    followed: list[str] = []
    problems: list[str] = []
    ids: list[int] = []
    for n, token in seed_lines(papers)[:MAX_SEEDS]:
        try:
            aid, _ = parse_paper_id(token)
            paper = lookup(aid)
        except InvalidArxivIdError:
            problems.append(f"papers line {n}: not an arXiv id or URL: {token[:80]!r}")
            continue
        except BroadsheetError as e:
            problems.append(f"papers line {n}: {e}")
            continue
        pid = storage.papers.ids_of([paper.arxiv_id]).get(paper.arxiv_id)
        if pid is not None and pid not in ids:
            ids.append(pid)
            saved.append(paper.arxiv_id)
    if ids:
        collection = storage.personal.ensure_collection(user.id, *SAVED, now=now())
        storage.personal.add_to_collection(collection.id, ids, now=now())
    lines = [(n, line.strip()) for n, line in enumerate(topics.replace("\r", "").split("\n"), 1) if line.strip()]
    for n, topic in lines[:MAX_SEEDS]:
        try:
            followed.append(follow(topic).value)
        except BroadsheetError as e:
            problems.append(f"topics line {n}: {e}")
    return SeedReport(tuple(saved), tuple(followed), tuple(problems))


def has_signals(storage: Storage, user: User) -> bool:
    """Whether the member saved or followed anything: For you is then their home page (an upvote
    alone does not move anyone's home)."""
    parts = storage.personal.signals_version(user.id)  # (count, newest) per saved, votes, dismissals, follows
    return bool(parts[0] or parts[6])
