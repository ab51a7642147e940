"""Organizations (Hugging Face's ``organization`` of a paper): one organization, and its papers as
a feed page (newest, trending or top), for ``/organizations/{name}``.

An organization is only ever named by a Hugging Face daily-papers record, so every paper of one
is listed: the page ranks the organization's listings with the same rules as a day's feed
(``trending.rank``), as of now or the end of its last listed day (an archive keeps a meaningful
trending tab).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from .exceptions import NotFoundError
from .storage import Storage
from .storage.browse import ListingRow
from .trending import age_hours, as_of_time, rank
from .types import Feed, FeedEntry, Organization, Paper


def get(storage: Storage, name: str) -> Organization:
    """The organization called ``name`` (any case); NotFoundError when no paper names it."""
    found = storage.browse.organization(name.strip())
    if found is None:
        raise NotFoundError(f"no organization {name.strip()[:128]!r}")
    return Organization(*found)


def entries(rows: Sequence[tuple[ListingRow, float]], papers: dict[int, Paper], as_of: datetime) -> tuple[FeedEntry, ...]:
    """Feed entries for ranked listing rows whose papers are loaded (others are left out)."""
    return tuple(
        FeedEntry(
            papers[r.paper_id], r.listed_on, r.submitter, score, age_hours(r.listed_on, as_of),
            r.submitter_fullname, r.submitter_avatar, r.author_participating,
        )  # fmt: skip
        for r, score in rows
        if r.paper_id in papers
    )


def feed(
    storage: Storage, name: str, *, sort: str, limit: int, offset: int, now: datetime, gravity: float
) -> tuple[Organization, Feed]:
    """The organization and one page of its papers sorted by ``sort`` (``trending.SORTS``)."""
    org = get(storage, name)
    rows = storage.browse.organization_listing_rows(org.name)
    if not rows:
        return org, Feed((), 0, now.date(), now.date(), sort, now)
    first, last = min(r.listed_on for r in rows), max(r.listed_on for r in rows)
    as_of = as_of_time(now, last)
    ranked = rank(rows, as_of, gravity, sort)
    page = ranked[offset : offset + limit]
    papers = storage.papers.by_ids([r.paper_id for r, _ in page])
    return org, Feed(entries(page, papers, as_of), len(ranked), first, last, sort, as_of)
