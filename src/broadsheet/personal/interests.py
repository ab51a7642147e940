"""Follows and mutes as a use case: what a member follows (authors, categories or whole
archives, saved searches) and mutes (authors, categories, words or phrases). ``Hub`` delegates
here, one line each; the SQL is ``storage/personal.py``, the matching ``personal/mutes.py``.

Values are checked and put in one form before they are kept, so that following the same thing
twice (``Ada  Lovelace`` and ``ada lovelace``, ``CS.lg`` and ``cs.LG``) leaves one row, and a bad
value is refused with what is wrong with it: an unknown category, a query the search language
does not accept, a word with no letters.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TypeVar

from ..exceptions import InvalidInputError, NotFoundError
from ..ids import is_row_id
from ..search.query import MAX_QUERY_LENGTH, check_query
from ..storage import Storage
from ..taxonomy import CATEGORY_NAMES
from ..text import name_key
from ..types import Interest, Paper, User
from .mutes import MuteFilter, words_of

FOLLOW_KINDS = ("author", "category", "search")
MUTE_KINDS = ("author", "category", "word")
KINDS = {"follow": FOLLOW_KINDS, "mute": MUTE_KINDS}
MAX_NAME = 200  # characters of an author's name
MAX_WORDS = 100  # characters of a muted word or phrase
MAX_PHRASE_WORDS = 8
MAX_SEARCH = min(500, MAX_QUERY_LENGTH)  # the column holds 500
MAX_PER_MEMBER = 500  # follows (and, separately, mutes) per member

T = TypeVar("T")
_SPACE = re.compile(r"\s+")
_BY_FOLDED_CODE = {code.casefold(): code for code in CATEGORY_NAMES}


def check_kind(what: str, kind: str) -> str:
    kinds = KINDS[what]
    if kind not in kinds:
        raise InvalidInputError(f"{what} kind must be one of {', '.join(kinds)}, not {kind!r}")
    return kind


def check_category(value: str) -> str:
    """An arXiv category code (``cs.LG``) or archive (``cs``, ``astro-ph``) in its canonical
    case; InvalidInputError for anything arXiv does not have."""
    code = _BY_FOLDED_CODE.get(value.strip().casefold())
    if code is None:
        raise InvalidInputError(
            f"category {value.strip()[:60]!r} is not an arXiv category or archive (such as cs.LG, cs, astro-ph)"
        )
    return code


def check_value(what: str, kind: str, value: str) -> str:
    """The value in the form it is kept in; InvalidInputError naming what is wrong."""
    check_kind(what, kind)
    if not isinstance(value, str):
        raise InvalidInputError(f"the {kind} to {what} must be text")
    value = _SPACE.sub(" ", value).strip()
    if not value:
        raise InvalidInputError(f"give the {kind} to {what}")
    if kind == "category":
        return check_category(value)
    if kind == "author":
        if len(value) > MAX_NAME:
            raise InvalidInputError(f"an author's name is at most {MAX_NAME} characters")
        if not name_key(value):
            raise InvalidInputError(f"author {value[:60]!r} has no letters")
        return value
    if kind == "search":
        if len(value) > MAX_SEARCH:
            raise InvalidInputError(f"a saved search is at most {MAX_SEARCH} characters")
        check_query(value, what="saved search")
        return value
    # a muted word or phrase
    if len(value) > MAX_WORDS:
        raise InvalidInputError(f"a muted word or phrase is at most {MAX_WORDS} characters")
    words = words_of(value)
    if not words:
        raise InvalidInputError(f"muted word {value[:60]!r} has no letters or digits")
    if len(words) > MAX_PHRASE_WORDS:
        raise InvalidInputError(f"a muted phrase is at most {MAX_PHRASE_WORDS} words")
    return value


def same(kind: str, a: str, b: str) -> bool:
    """Whether two kept values mean the same follow or mute (names by their key, words by their
    words, queries and codes as written)."""
    if kind == "author":
        return name_key(a) == name_key(b)
    if kind == "word":
        return words_of(a) == words_of(b)
    return a == b


def add(storage: Storage, what: str, user: User, kind: str, value: str, *, now: datetime) -> Interest:
    """Follow (``what="follow"``) or mute ``kind: value``. Doing it again returns the one kept
    the first time, also when the value is written differently but means the same."""
    value = check_value(what, kind, value)
    existing = storage.personal.interests(what, user.id)
    for i in existing:
        if i.kind == kind and same(kind, i.value, value):
            return i
    if len(existing) >= MAX_PER_MEMBER:
        raise InvalidInputError(f"you can {what} at most {MAX_PER_MEMBER} things; remove some first")
    return storage.personal.add_interest(what, user.id, kind, value, now=now)


def listed(storage: Storage, what: str, user: User, kind: str | None = None) -> list[Interest]:
    """A member's follows or mutes (of one kind, if given), oldest first."""
    found = storage.personal.interests(what, user.id)
    return [i for i in found if kind is None or i.kind == check_kind(what, kind)]


def remove(storage: Storage, what: str, user: User, interest_id: int) -> None:
    """Stop following or muting; NotFoundError when the member has no such follow or mute."""
    if not is_row_id(interest_id) or not storage.personal.remove_interest(what, user.id, interest_id):
        raise NotFoundError(f"you have no {what} with id {interest_id}")


def remove_value(storage: Storage, what: str, user: User, kind: str, value: str) -> bool:
    """Stop following or muting ``kind: value`` (the unfollow / unmute buttons of author and
    category pages, which know the value, not the id); False when it was not followed/muted."""
    check_kind(what, kind)
    for i in storage.personal.interests(what, user.id):
        if i.kind == kind and same(kind, i.value, _SPACE.sub(" ", value).strip()):
            return storage.personal.remove_interest(what, user.id, i.id)
    return False


def find(storage: Storage, what: str, user: User | None, kind: str, value: str) -> Interest | None:
    """The member's follow or mute of ``kind: value``, if any (for a page's Follow/Unfollow button)."""
    if user is None:
        return None
    for i in storage.personal.interests(what, user.id):
        if i.kind == kind and same(kind, i.value, _SPACE.sub(" ", value).strip()):
            return i
    return None


def mute_filter(storage: Storage, user: User | None) -> MuteFilter:
    """What hides papers from this member's lists; nothing for a visitor who is not logged in."""
    if user is None:
        return MuteFilter.none()
    return MuteFilter.of(storage.personal.interests("mute", user.id))


def apply_mutes(
    storage: Storage, user: User | None, items: Sequence[T], paper: Callable[[T], Paper] | None = None
) -> tuple[list[T], int]:
    """The items of a list this member's mutes keep, in order, and how many they hide. For
    callers that only need the kept ones (a digest, a feed); pages use ``mute_filter(...).split``
    to show the hidden ones on request, marked with why."""
    kept, hidden = mute_filter(storage, user).split(items, paper)
    return kept, len(hidden)
