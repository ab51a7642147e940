"""Hugging Face Daily Papers: responses of ``GET /api/daily_papers?date=YYYY-MM-DD``.

A response is a JSON array with one item per paper on that day's page::

    {"paper": {"id", "title", "summary", "authors": [{"name", ...}], "publishedAt", "upvotes",
               "githubRepo"?, "projectPage"?, "submittedOnDailyAt"?, "submittedOnDailyBy"?, ...},
     "title", "summary"?, "publishedAt", "numComments", "submittedBy"?, ...}

Where things live, from the 2024-05 .. 2026-08 archive:

- ``paper.title`` is arXiv's title; ``item.title`` is Hugging Face's edited copy (sometimes with
  LaTeX such as ``$\\textit{...}$``), so the paper's is preferred. Likewise ``paper.summary``.
- ``paper.upvotes`` is always there; ``githubRepo`` and ``projectPage`` sit in ``paper`` (from
  2025-03) and are absent before; a few project pages carry stray whitespace.
- The submitter's user name is ``item.submittedBy.name`` (from 2024-06) and
  ``paper.submittedOnDailyBy.user`` (from 2025-03; some also repeat it as ``name``). ``fullname``
  is a display name, not a user name. The first days (2024-05) name no submitter.
- What the page shows beside the text, kept as given: the picture ``item.thumbnail`` (the first
  days, 2024-05, call it ``item.mediaUrl``); from 2025-03 ``paper.ai_keywords`` and
  ``item.isAuthorParticipating``; from 2025-12 ``paper.ai_summary``, ``paper.githubStars`` (when
  there is a repository) and ``organization`` (``name``, ``fullname``, ``avatar`` when it has one;
  the same object in ``item`` and in ``paper``). The submitter's ``fullname`` and ``avatarUrl``
  sit beside their user name (``avatarUrl`` is sometimes relative: ``/avatars/<hash>.svg``).
  HF leaves a field out when it has nothing; an explicit ``null`` for one of the fields above is
  recorded in ``PaperData.cleared`` so that a re-sync clears it (see ``ingest.merge``).
- ``paper.submittedOnDailyAt`` (from 2025-03) always falls on the page's day. ``item.publishedAt``
  is when the item was posted until 2025-02 (often the evening before, in UTC) and after that the
  paper's own publication time shifted by some hours, so it is only a last resort for the listing
  date: callers that know the day (see :func:`day_from_name`) should pass it.

Real malformed documents, handled on purpose:

- 22 files of 2024-12 .. 2025-01 are arrays of Python ``repr()`` strings of the item dicts. Each is
  decoded with ``ast.literal_eval``, which reads literals only and never runs code.
- 2025-01-10 is wrapped in an object ``{"status", "date", "count", "data": [...]}``.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from datetime import date
from typing import Any

from ..exceptions import InvalidInputError, SourceError
from ..ids import parse_arxiv_id
from ..types import ListingData, Notice, Organization, PaperData, Rejected, SourceItem
from ._common import or_none, parse_day

SOURCE = "hf-daily"

_DAY_RE = re.compile(r"(?<!\d)(\d{4}-\d{2}-\d{2})(?!\d)")


def day_from_name(name: str) -> date | None:
    """The date a file or archive member is named after (``.../2024-05-27.json``), or None.

    The archive names each day's file by its date, and that date is the most reliable listing day
    (see the module docstring). The last ``YYYY-MM-DD`` in the name wins, so a dated folder does
    not shadow the file's own date; an impossible date (``2024-13-01``) gives None.
    """
    matches = _DAY_RE.findall(name)
    if not matches:
        return None
    try:
        return date.fromisoformat(matches[-1])
    except ValueError:
        return None


def parse_hf_daily(data: bytes, name: str, day: date | None = None) -> Iterator[SourceItem]:
    """Yield a PaperData then its ListingData for each readable item, a Rejected for each other.

    ``day`` is the page's date when the caller knows it; without it, each item's own dates are used
    (``paper.submittedOnDailyAt``, else ``item.publishedAt``). ``source_ref`` is
    ``f"{name}:{position}"`` with 1-based positions in the array. Raises SourceError when the
    document is not JSON or not an array of items (bare or wrapped in ``{"data": [...]}``).
    """
    items, wrapped = _items(data, name)
    if wrapped:
        yield Notice(name, "a JSON object wrapping the day's array in 'data'; read its 'data'")
    reprs = sum(isinstance(raw, str) for raw in items)
    if reprs:
        yield Notice(name, f"{reprs} items are Python repr() strings; decoded with ast.literal_eval")
    for position, raw in enumerate(items, start=1):
        ref = f"{name}:{position}"
        try:
            paper, listing = _read_item(_decode_item(raw), ref, day)
        except InvalidInputError as exc:
            yield Rejected(ref, str(exc))
            continue
        yield paper
        yield listing


def _items(data: bytes, name: str) -> tuple[list[Any], bool]:
    """The document's list of raw items, and whether it came wrapped in an object; SourceError
    when there is none to be had."""
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SourceError(f"{name}: not JSON: {exc}") from exc
    if isinstance(doc, dict) and isinstance(doc.get("data"), list):
        return doc["data"], True  # the 2025-01-10 wrapper {status, date, count, data}
    if isinstance(doc, list):
        return doc, False
    raise SourceError(f"{name}: expected a JSON array of daily-paper items, got {type(doc).__name__}")


def _decode_item(raw: Any) -> dict[str, Any]:
    """An item as a dict: JSON objects as they are, ``repr()`` strings through ``literal_eval``."""
    if isinstance(raw, str):
        try:
            raw = ast.literal_eval(raw)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError) as exc:
            raise InvalidInputError(f"repr string does not literal_eval: {exc}") from exc
    if not isinstance(raw, dict):
        raise InvalidInputError(f"item is not an object but {type(raw).__name__}")
    return raw


def _read_item(item: dict[str, Any], ref: str, day: date | None) -> tuple[PaperData, ListingData]:
    """The paper and its listing; InvalidInputError says why an item cannot be read."""
    paper = _mapping(item, "paper")
    arxiv_id, version = parse_arxiv_id(paper.get("id"))
    title = _text(paper, "title") or _text(item, "title")
    if not title:
        raise InvalidInputError(f"missing title for {arxiv_id}")
    listed_on = day or _date(paper, "submittedOnDailyAt") or _date(item, "publishedAt")
    if listed_on is None:
        raise InvalidInputError(f"no listing date for {arxiv_id}")
    record = PaperData(
        arxiv_id=arxiv_id,
        version=version,
        title=title,
        abstract=_text(paper, "summary") or _text(item, "summary") or "",
        authors=_authors(paper),
        published=_date(paper, "publishedAt"),
        github_repo=_text(paper, "githubRepo"),
        project_page=_text(paper, "projectPage"),
        external_upvotes=_count(paper, "upvotes"),
        thumbnail_url=_text(item, "thumbnail") or _text(item, "mediaUrl"),
        ai_summary=_text(paper, "ai_summary"),
        ai_keywords=_keywords(paper),
        github_stars=_count(paper, "githubStars"),
        organization=_organization(item, paper),
        cleared=_cleared(item, paper),
        source=SOURCE,
        source_ref=ref,
    )
    by_item = _mapping(item, "submittedBy", required=False)
    by_paper = _mapping(paper, "submittedOnDailyBy", required=False)
    participating = item.get("isAuthorParticipating")
    listing = ListingData(
        arxiv_id=arxiv_id,
        listed_on=listed_on,
        submitter=_text(by_item, "name") or _text(by_paper, "user") or _text(by_paper, "name"),
        submitter_fullname=_text(by_item, "fullname") or _text(by_paper, "fullname"),
        submitter_avatar=_text(by_item, "avatarUrl") or _text(by_paper, "avatarUrl"),
        author_participating=participating if isinstance(participating, bool) else None,
        source=SOURCE,
        source_ref=ref,
    )
    return record, listing


# Where each clearable PaperData field is in a record: (object, key); "item" or "paper".
_CLEARABLE = {
    "thumbnail_url": (("item", "thumbnail"),),
    "ai_summary": (("paper", "ai_summary"),),
    "ai_keywords": (("paper", "ai_keywords"),),
    "github_stars": (("paper", "githubStars"),),
    "organization": (("item", "organization"), ("paper", "organization")),
}


def _cleared(item: dict[str, Any], paper: dict[str, Any]) -> tuple[str, ...]:
    """The fields the record states as an explicit ``null`` (present, None) and nowhere else."""
    where = {"item": item, "paper": paper}
    out = []
    for name, places in _CLEARABLE.items():
        present = [where[obj][key] for obj, key in places if key in where[obj]]
        if present and all(v is None for v in present):
            out.append(name)
    return tuple(out)


def _organization(item: dict[str, Any], paper: dict[str, Any]) -> Organization | None:
    """``organization`` (the paper's copy, else the item's), when it names one."""
    for obj in (paper, item):
        org = _mapping(obj, "organization", required=False)
        name = _text(org, "name")
        if name:
            return Organization(name, _text(org, "fullname"), _text(org, "avatar") or _text(org, "avatarUrl"))
    return None


def _keywords(paper: dict[str, Any]) -> tuple[str, ...]:
    """``paper.ai_keywords``: the non-blank strings, in order, repeats kept (as served)."""
    value = paper.get("ai_keywords")
    if not isinstance(value, list):
        return ()
    words = (or_none(w) for w in value if isinstance(w, str))
    return tuple(w for w in words if w)


def _authors(paper: dict[str, Any]) -> tuple[str, ...]:
    """Author names in the order given, skipping entries without a name."""
    authors = paper.get("authors") or []
    if not isinstance(authors, list):
        raise InvalidInputError("authors is not a list")
    names = (_text(a, "name") if isinstance(a, dict) else None for a in authors)
    return tuple(n for n in names if n)


def _mapping(obj: dict[str, Any], key: str, *, required: bool = True) -> dict[str, Any]:
    """``obj[key]`` as a dict; an empty dict when absent and not required."""
    value = obj.get(key)
    if isinstance(value, dict):
        return value
    if value is None and not required:
        return {}
    raise InvalidInputError(f"{key} is missing or not an object")


def _text(obj: dict[str, Any], key: str) -> str | None:
    """``obj[key]`` whitespace-collapsed, or None when absent or blank."""
    value = obj.get(key)
    if value is None or isinstance(value, str):
        return or_none(value)
    raise InvalidInputError(f"{key} is not text but {type(value).__name__}")


def _date(obj: dict[str, Any], key: str) -> date | None:
    """The date of the timestamp ``obj[key]``, or None when absent."""
    value = obj.get(key)
    if value is not None and not isinstance(value, str):
        raise InvalidInputError(f"bad {key}: {value!r}")
    try:
        return parse_day(value)
    except ValueError as exc:
        raise InvalidInputError(f"bad {key}: {value!r}") from exc


def _count(obj: dict[str, Any], key: str) -> int | None:
    """``obj[key]`` when it is a whole number (not a bool), else None."""
    value = obj.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None

