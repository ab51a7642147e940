"""Private feeds: Atom feeds of a member's For you and of each of their follows, at URLs holding a
secret token, for feed readers that cannot log in.

The token is random (``accounts.new_token``) and only its SHA-256 is stored
(``PersonalStore.set_feed_token``): a copy of the database gives nobody the URLs, and the member
sees the token once, when it is made. One token per member opens all of their private feeds;
making a new one or revoking it stops every URL holding the old one (404, as for a token that
never existed: a guess learns nothing).

What a follow's feed holds (:func:`follow_query`): an author's or a category's newest papers, or a
saved search's matches of the last ``FOLLOW_DAYS`` days, newest first. The member's mutes apply
to every private feed, as to every list they see.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from .. import accounts
from ..exceptions import InvalidInputError, NotFoundError
from ..storage import Storage
from ..taxonomy import category_name
from ..types import Interest, Paper, User

FEED_SIZE = 50  # entries in a private feed
FOLLOW_DAYS = 30  # a followed search's feed: matches published in this many days


@dataclass(frozen=True, slots=True)
class PrivateFeed:
    """One private feed's content: what the feed writer needs, nothing about the token."""

    title: str
    subtitle: str
    page: str  # the site path it mirrors (the feed's alternate link)
    papers: tuple[Paper, ...]
    reasons: tuple[str, ...] = ()  # why each paper is there, in the same order


def follow_query(follow: Interest) -> str:
    """A follow in the search query language: ``author:"Name"``, ``cat:cs.LG``, or the saved
    search itself. Digest alerts search with it; so does the feed of a followed search."""
    if follow.kind == "author":
        return f'author:"{follow.value.replace(chr(34), "")}"'
    if follow.kind == "category":
        return f"cat:{follow.value}"
    return follow.value


def follow_title(follow: Interest) -> str:
    """How a follow is named to its member (feed titles, digest sections)."""
    if follow.kind == "author":
        return f"New papers by {follow.value}"
    if follow.kind == "category":
        name = category_name(follow.value)
        return f"New in {name} ({follow.value})" if name != follow.value else f"New in {follow.value}"
    return f"New matches for {follow.value}"


def follow_reason(kind: str, value: str) -> str:
    """Why a follow's paper is shown to its member."""
    if kind == "author":
        return f"by {value}, whom you follow"
    if kind == "category":
        return f"in {value}, which you follow"
    return f"matches your saved search {value}"


def follow_page(follow: Interest) -> str:
    from urllib.parse import quote, urlencode

    if follow.kind == "author":
        return "/authors/" + quote(follow.value, safe="")
    if follow.kind == "category":
        return "/categories/" + quote(follow.value, safe="")
    return "/search?" + urlencode({"q": follow.value, "sort": "newest"})


class PrivateFeeds:
    """Feed tokens and the feeds they open. What it needs from the rest of the Hub comes in as
    callables (imports point downward): ``by_author`` / ``in_category`` (newest papers),
    ``search`` (lexical matches of a query since a day), ``recommend`` (the member's For you
    papers, best first, each with its reason) and ``hide_muted`` (a list without the papers the member's mutes hide)."""

    def __init__(
        self,
        storage: Storage,
        now: Callable[[], datetime],
        *,
        by_author: Callable[[str, int], Sequence[Paper]],
        in_category: Callable[[str, int], Sequence[Paper]],
        search: Callable[[str, datetime, int], Sequence[Paper]],
        recommend: Callable[[User, int], Sequence[tuple[Paper, str]]],
        hide_muted: Callable[[User, Sequence[Paper]], Sequence[Paper]],
    ) -> None:
        self._store = storage.personal
        self._users = storage.users
        self._now = now
        self._by_author = by_author
        self._in_category = in_category
        self._search = search
        self._recommend = recommend
        self._hide_muted = hide_muted

    # -- the token ------------------------------------------------------------------------------

    def new_token(self, user: User) -> str:
        """A new feed token for ``user`` (the old one stops working); shown once, only its hash
        is kept."""
        token = accounts.new_token()
        self._store.set_feed_token(user.id, accounts.token_hash(token), now=self._now())
        return token

    def revoke(self, user: User) -> None:
        self._store.set_feed_token(user.id, None, now=self._now())

    def has_token(self, user: User) -> bool:
        return self._store.has_feed_token(user.id)

    def owner(self, token: str) -> User:
        """The member a feed token belongs to; NotFoundError for a revoked, replaced or unknown
        one (the same answer, so that a guess learns nothing)."""
        user_id = self._store.feed_token_user(accounts.token_hash(token)) if 20 <= len(token) <= 200 else None
        found = self._users.by_id(user_id) if user_id is not None else None
        if found is None:
            raise NotFoundError("there is no feed at this address (its link may have been revoked)")
        return found[0]

    # -- the feeds ------------------------------------------------------------------------------

    def for_you(self, user: User) -> PrivateFeed:
        recs = list(self._recommend(user, FEED_SIZE))
        kept = {p.arxiv_id for p in self._hide_muted(user, [p for p, _ in recs])}
        recs = [(p, why) for p, why in recs if p.arxiv_id in kept][:FEED_SIZE]
        return PrivateFeed(
            title=f"For {user.name}",
            subtitle="New papers chosen for you from what you saved, dismissed and follow, best first.",
            page="/for-you",
            papers=tuple(p for p, _ in recs),
            reasons=tuple(why for _, why in recs),
        )

    def follow(self, user: User, follow_id: int) -> PrivateFeed:
        """The feed of one of ``user``'s follows; NotFoundError when they do not follow it (any
        more)."""
        follow = next((f for f in self._store.interests("follow", user.id) if f.id == follow_id), None)
        if follow is None:
            raise NotFoundError(f"you follow nothing with id {follow_id} (any more)")
        papers = tuple(self._hide_muted(user, self.follow_papers(follow))[:FEED_SIZE])
        return PrivateFeed(
            title=follow_title(follow),
            subtitle=f"Newest first, for {user.name}.",
            page=follow_page(follow),
            papers=papers,
            reasons=(follow_reason(follow.kind, follow.value),) * len(papers),
        )

    def follow_papers(self, follow: Interest, limit: int = FEED_SIZE) -> list[Paper]:
        """A follow's newest papers (the muted ones still in)."""
        if follow.kind == "author":
            return list(self._by_author(follow.value, limit))
        if follow.kind == "category":
            return list(self._in_category(follow.value, limit))
        since = self._now() - timedelta(days=FOLLOW_DAYS)
        try:
            found = list(self._search(follow.value, since, limit * 2))
        except InvalidInputError:  # a search saved before the query language changed
            return []
        newest = sorted(found, key=lambda p: p.published or p.first_seen.date(), reverse=True)
        return newest[:limit]

    def follows(self, user: User) -> list[Interest]:
        return self._store.interests("follow", user.id)
