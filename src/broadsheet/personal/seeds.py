"""Cold start: a member with nothing saved gives For you a few seed papers (arXiv ids or URLs,
saved into their "Saved" collection) or topics (followed as saved searches). Each line that
cannot be used is reported with its line number and why; the rest lands.

The parsing is pure (:func:`seed_lines`); :func:`plant` saves through the library and follows
through the follows' use case (both passed in by the Hub).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..exceptions import BroadsheetError, InvalidArxivIdError
from ..ids import parse_paper_id
from ..storage import Storage
from ..types import Interest, User

MAX_SEEDS = 50  # lines of each box


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
    user: User,
    papers: str,
    topics: str,
    *,
    save: Callable[[str], str],
    follow: Callable[[str], Interest],
) -> SeedReport:
    """Save the seed papers into the member's default collection ("Saved"; ``save`` is the
    library's, returning the arXiv id and raising PaperNotFoundError for an unknown paper) and
    follow each topic line as a search (``follow`` checks it)."""
    saved: list[str] = []
    followed: list[str] = []
    problems: list[str] = []
    for n, token in seed_lines(papers)[:MAX_SEEDS]:
        try:
            aid = save(parse_paper_id(token)[0])
        except InvalidArxivIdError:
            problems.append(f"papers line {n}: not an arXiv id or URL: {token[:80]!r}")
            continue
        except BroadsheetError as e:
            problems.append(f"papers line {n}: {e}")
            continue
        if aid not in saved:
            saved.append(aid)
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
    return storage.personal.saved_or_followed(user.id)
