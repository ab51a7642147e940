"""Paper identifiers: arXiv ids (parse, normalise, split off the version) and local ids.

New-style ids are ``YYMM.NNNN`` (2007-2014) or ``YYMM.NNNNN`` (2015-); old-style ids are
``archive(.SUBJ)/YYMMNNN``. A version suffix ``vN`` is split off; prefixes such as
``arXiv:``, ``oai:arXiv.org:`` and ``https://arxiv.org/abs/`` are accepted.

Papers that are not on arXiv (the built-in demo's, whose ids the seed page does not give) carry
a *local id*: lowercase letters, a hyphen, then letters, digits or hyphens (``demo-07``). A local id
never looks like an arXiv id, and nothing links it to arxiv.org.
"""

from __future__ import annotations

import re

from .exceptions import InvalidArxivIdError

_NEW = r"\d{4}\.\d{4,5}"
_OLD = r"[a-z]+(?:-[a-z]+)*(?:\.[A-Z]{2})?/\d{7}"
_ID_RE = re.compile(rf"^(?P<id>{_NEW}|{_OLD})(?:v(?P<version>\d+))?$")
_LOCAL_RE = re.compile(r"^[a-z]+-[a-z0-9-]+$")
_PREFIX_RE = re.compile(
    r"^(?:oai:arxiv\.org:|arxiv:|https?://(?:www\.|export\.)?arxiv\.org/(?:abs|pdf)/)",
    re.IGNORECASE,
)


def parse_arxiv_id(text: str) -> tuple[str, int | None]:
    """Return ``(id_without_version, version_or_None)``; raise InvalidArxivIdError."""
    if not isinstance(text, str):
        raise InvalidArxivIdError(f"arXiv id must be a string, not {type(text).__name__}")
    s = _PREFIX_RE.sub("", text.strip())
    if s.endswith(".pdf"):
        s = s[:-4]
    m = _ID_RE.match(s)
    if not m:
        raise InvalidArxivIdError(f"not an arXiv id: {text!r}")
    version = m.group("version")
    return m.group("id"), int(version) if version else None


def is_arxiv_id(text: str) -> bool:
    try:
        parse_arxiv_id(text)
    except InvalidArxivIdError:
        return False
    return True


def parse_paper_id(text: str) -> tuple[str, int | None]:
    """Like :func:`parse_arxiv_id`, but also accepts a local id (returned with no version)."""
    if isinstance(text, str) and _LOCAL_RE.match(text.strip()):
        return text.strip(), None
    return parse_arxiv_id(text)


MAX_ROW_ID = 2**31 - 1  # ids are INTEGER: 32 bits on PostgreSQL


def is_row_id(value: int) -> bool:
    """Whether a number from outside (a form, a URL) can be a row id at all: a larger one would
    make the database driver raise instead of finding nothing."""
    return 1 <= value <= MAX_ROW_ID
