"""The JSON Lines paper dump (``arxiv-100k.jsonl.gz``): one JSON object a line.

Fields: ``arxiv_id`` (no version), ``title``, ``abstract``, ``authors`` (list of names),
``categories``, ``primary_category``, ``published``/``updated`` (YYYY-MM-DD or null), ``doi``,
``journal_ref``, ``comments``, ``source``, ``hf_upvotes`` (sometimes). Unknown fields are ignored.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from ..ids import parse_paper_id
from ..types import PaperData, Rejected, SourceItem
from ._common import collapse_ws, or_none, parse_day

SOURCE = "arxiv-jsonl"


def _str_list(value: Any, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{what} must be a list of strings")
    return tuple(s for s in (collapse_ws(v) for v in value) if s)


def _opt_str(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{key} must be a string")
    return or_none(value)


def paper_from_json(obj: Any, ref: str) -> PaperData:
    """A PaperData from one decoded line; ValueError (with the reason) when it cannot be."""
    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")
    arxiv_id, version = parse_paper_id(obj.get("arxiv_id") or "")
    title = collapse_ws(_opt_str(obj, "title"))
    abstract = collapse_ws(_opt_str(obj, "abstract"))
    if not title:
        raise ValueError("missing title")
    categories = _str_list(obj.get("categories"), "categories")
    primary = _opt_str(obj, "primary_category") or (categories[0] if categories else None)
    if primary and primary in categories:
        categories = (primary, *(c for c in categories if c != primary))
    upvotes = obj.get("hf_upvotes")
    return PaperData(
        arxiv_id=arxiv_id,
        version=version,
        title=title,
        abstract=abstract,
        authors=_str_list(obj.get("authors"), "authors"),
        categories=categories,
        primary_category=primary,
        published=parse_day(_opt_str(obj, "published")),
        updated=parse_day(_opt_str(obj, "updated")),
        doi=_opt_str(obj, "doi"),
        journal_ref=_opt_str(obj, "journal_ref"),
        comments=_opt_str(obj, "comments"),
        external_upvotes=upvotes if isinstance(upvotes, int) and not isinstance(upvotes, bool) else None,
        source=SOURCE,
        source_ref=ref,
    )


def parse_jsonl(lines: Iterable[bytes | str], name: str) -> Iterator[SourceItem]:
    """Papers from JSON lines; a bad line is rejected with its line number, blank lines skipped."""
    for lineno, line in enumerate(lines, 1):
        if line.strip():
            yield parse_line(line, f"{name}:{lineno}")


def parse_line(line: bytes | str, ref: str) -> PaperData | Rejected:
    """The paper on one JSON line, or why it cannot be read."""
    try:
        return paper_from_json(json.loads(line), ref)
    except ValueError as e:  # JSONDecodeError, InvalidInputError and our own are ValueErrors
        return Rejected(ref, str(e))
