"""Hugging Face Papers API shapes, built from our frozen dataclasses (pure functions).

The field names and nesting are those of ``huggingface.co/api/daily_papers`` and
``/api/papers/{id}`` (see the recorded responses in ``../shared/data/fixtures/hf-daily-papers``)
as ``huggingface_hub.hf_api.PaperInfo`` parses them:

- a *paper* object: ``id``, ``authors[].name``, ``publishedAt``, ``title``, ``summary``,
  ``upvotes``, and when known ``submittedOnDailyAt``, ``submittedOnDailyBy``, ``projectPage``,
  ``githubRepo``, ``ai_summary``, ``ai_keywords``, ``githubStars``, ``organization`` (``name``,
  ``fullname``, ``avatar``), in huggingface.co's order;
- a *daily item* (daily papers, search results): ``{"paper": {...}, "publishedAt", "title",
  "summary", "thumbnail", "numComments", "submittedBy", "organization", "isAuthorParticipating"}``;
  its ``publishedAt`` is when the paper was put on the daily list (``PaperInfo.submitted_at``), the
  paper's own ``publishedAt`` its publication.

A user object (``submittedBy``, ``submittedOnDailyBy``) carries the submitter's ``fullname`` and
``avatarUrl`` as the source gave them; for a local member, or an external one the source gave no
avatar for, ``avatarUrl`` is this server's generated ``/avatars/NAME.svg``. An organization's
``avatar`` is left out when unknown, as huggingface.co does.

Times are UTC in HF's format, ``2024-05-27T00:00:00.000Z``. A listing is a day: its time is the
day's start, as HF writes ``submittedOnDailyAt`` today.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from ..ids import is_arxiv_id
from ..types import FeedEntry, Listing, Organization, Paper, SearchHit
from .avatars import avatar_path

# Keys huggingface.co puts only inside ``paper`` that ``PaperInfo`` reads only at the item's top
# level: copied there too, so that ``list_daily_papers`` and ``list_papers`` fill them.
EXTRA_ITEM_KEYS = ("githubRepo", "projectPage", "ai_summary", "ai_keywords", "githubStars")


def hf_time(value: date | datetime | None) -> str | None:
    """``2024-05-27T03:50:58.348Z`` (a date is midnight UTC); naive datetimes are UTC."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime.combine(value, time())
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def hf_user(name: str, fullname: str | None = None, avatar: str | None = None) -> dict[str, Any]:
    """A user object as HF nests it (``submittedOnDailyBy``, ``submittedBy``)."""
    return {
        "user": name,
        "name": name,
        "fullname": fullname or name,
        "type": "user",
        "avatarUrl": avatar or avatar_path(name),
        "isPro": False,
    }


def hf_organization(org: Organization) -> dict[str, Any]:
    """``organization`` as huggingface.co writes it (no ``_id``: ours has none)."""
    out: dict[str, Any] = {"name": org.name, "fullname": org.fullname or org.name}
    if org.avatar_url:
        out["avatar"] = org.avatar_url
    return out


def _by(listing: Listing | FeedEntry | None) -> dict[str, Any] | None:
    """The user object of a listing's submitter, or None."""
    if listing is None or not listing.submitter:
        return None
    return hf_user(listing.submitter, listing.submitter_fullname, listing.submitter_avatar)


def paper_object(
    paper: Paper,
    *,
    listed_on: date | None = None,
    submitter: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The paper as ``/api/papers/{id}`` returns it (and as ``paper`` inside a daily item)."""
    out: dict[str, Any] = {
        "id": paper.arxiv_id,
        "authors": [{"name": a, "hidden": False} for a in paper.authors],
        "publishedAt": hf_time(paper.published or paper.first_seen),
    }
    if listed_on is not None:
        out["submittedOnDailyAt"] = hf_time(listed_on)
    out["title"] = paper.title
    if submitter:
        out["submittedOnDailyBy"] = submitter
    out["summary"] = paper.abstract
    out["upvotes"] = paper.upvotes
    if paper.project_page:
        out["projectPage"] = paper.project_page
    if paper.github_repo:
        out["githubRepo"] = paper.github_repo
    if paper.ai_summary:
        out["ai_summary"] = paper.ai_summary
    if paper.ai_keywords:
        out["ai_keywords"] = list(paper.ai_keywords)
    if paper.github_stars is not None:
        out["githubStars"] = paper.github_stars
    if paper.organization:
        out["organization"] = hf_organization(paper.organization)
    return out


def paper_info(paper: Paper, listing: Listing | None) -> dict[str, Any]:
    """``GET /api/papers/{id}``: the paper object, with its first daily listing when it has one
    (and ``numComments``, which ``PaperInfo`` reads at the top level)."""
    if listing is None:
        out = paper_object(paper)
    else:
        out = paper_object(paper, listed_on=listing.listed_on, submitter=_by(listing))
    out["numComments"] = paper.num_comments
    return out


def daily_item(paper: Paper, entry: FeedEntry | None) -> dict[str, Any]:
    """One item of ``/api/daily_papers`` (or of a search): the paper, and the listing around it."""
    listed_on = entry.listed_on if entry else None
    by = _by(entry)
    item: dict[str, Any] = {
        "paper": paper_object(paper, listed_on=listed_on, submitter=by),
    }
    if listed_on is not None:
        item["publishedAt"] = hf_time(listed_on)
    item["title"] = paper.title
    item["summary"] = paper.abstract
    if paper.thumbnail_url:
        item["thumbnail"] = paper.thumbnail_url
    item["numComments"] = paper.num_comments
    if by:
        item["submittedBy"] = by
    if paper.organization:
        item["organization"] = hf_organization(paper.organization)
    item["isAuthorParticipating"] = bool(entry and entry.author_participating)
    # Not at this level in HF's answers (only inside ``paper``), but PaperInfo reads them only
    # here: with them, huggingface_hub fills ``github_repo`` / ``project_page`` for list items too.
    for key in EXTRA_ITEM_KEYS:
        if key in item["paper"]:
            item[key] = item["paper"][key]
    return item


def feed_items(
    entries: tuple[FeedEntry, ...] | list[FeedEntry],
) -> list[dict[str, Any]]:
    return [daily_item(e.paper, e) for e in entries]


def search_items(hits: tuple[SearchHit, ...] | list[SearchHit]) -> list[dict[str, Any]]:
    """``/api/papers/search``: daily items without a listing (search does not say when one was)."""
    return [daily_item(h.paper, None) for h in hits]


def paper_markdown(paper: Paper, listing: Listing | None, base_url: str) -> str:
    """``GET /papers/{id}.md``: the paper page as markdown (what ``HfApi.read_paper`` returns)."""
    lines = [f"# {' '.join(paper.title.split())}", ""]
    if paper.authors:
        lines += [f"**Authors:** {', '.join(paper.authors)}", ""]
    facts = []
    if paper.published:
        facts.append(f"- Published: {paper.published.isoformat()}")
    if listing is not None:
        who = listing.submitter_fullname or listing.submitter
        by = f" by {who}" if who else ""
        facts.append(
            f"- Listed on the daily papers: {listing.listed_on.isoformat()}{by}"
        )
    if paper.categories:
        facts.append(f"- Categories: {', '.join(paper.categories)}")
    facts.append(f"- Upvotes: {paper.upvotes}")
    facts.append(f"- Comments: {paper.num_comments}")
    if is_arxiv_id(paper.arxiv_id):
        facts.append(f"- arXiv: https://arxiv.org/abs/{paper.arxiv_id}")
        facts.append(f"- PDF: https://arxiv.org/pdf/{paper.arxiv_id}")
    if paper.doi:
        facts.append(f"- DOI: https://doi.org/{paper.doi}")
    if paper.journal_ref:
        facts.append(f"- Journal reference: {paper.journal_ref}")
    if paper.organization:
        facts.append(f"- Organization: {paper.organization.fullname or paper.organization.name}")
    if paper.github_repo:
        stars = f" ({paper.github_stars} stars)" if paper.github_stars is not None else ""
        facts.append(f"- Code: {paper.github_repo}{stars}")
    if paper.project_page:
        facts.append(f"- Project page: {paper.project_page}")
    facts.append(f"- Page: {base_url.rstrip('/')}/papers/{paper.arxiv_id}")
    if paper.ai_keywords:
        facts.append(f"- Keywords: {', '.join(paper.ai_keywords)}")
    lines += facts
    if paper.ai_summary:
        lines += ["", "## AI summary", "", " ".join(paper.ai_summary.split())]
    lines += ["", "## Abstract", "", " ".join(paper.abstract.split()), ""]
    if paper.comments:
        lines += ["## Author comments", "", " ".join(paper.comments.split()), ""]
    return "\n".join(lines)
