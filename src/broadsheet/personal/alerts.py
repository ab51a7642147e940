"""The personal sections of a member's email digest: "For you" (the top N recommendations of the
period, each with its reason) and follow alerts (a section per follow: new papers by an author
they follow, new in a followed category, new matches for a saved search).

They travel in the same outbox as the rest of the digest (``digest.compose`` takes them as
candidates and drops what the subscription had before), so the exactly-once delivery, the
"never a paper twice" rule (``digest_papers``) and the unsubscribe link are the digest's own.
Only a subscription that belongs to a member (``user_id``) gets them; the member's mutes apply.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

from ..storage import Storage
from ..types import DigestPeriod, DigestSection, Paper, RecommendationPage, Subscription, User
from .private_feeds import follow_query, follow_reason, follow_title

FOR_YOU = "For you"
MAX_FOR_YOU = 50  # the most recommendations one digest may carry (digest.compose checks it)

# (member, window, its last day, how many) -> their recommendations, best first, with a reason each
Recommend = Callable[[User, str, date, int], Sequence[tuple[Paper, str]]]
# For you in a digest: the papers new on the period's day (daily) or in its seven days (weekly)
WINDOW_OF = {"daily": "today", "weekly": "week"}


def reasoned(page: RecommendationPage) -> list[tuple[Paper, str]]:
    """A page of recommendations as (paper, its reasons on one line), best first."""
    return [(r.paper, "; ".join(r.reasons)) for r in page.items]


class PersonalDigest:
    """Gathers a subscription's personal candidates. ``recommend`` is the Hub's recommender for a
    period; ``hide_muted`` drops what the member's mutes hide; ``topic_papers`` (per call: bound
    to the period and the run's cache) finds a query's new papers as a digest topic does."""

    def __init__(
        self,
        storage: Storage,
        *,
        recommend: Recommend,
        hide_muted: Callable[[User, Sequence[Paper]], Sequence[Paper]],
    ) -> None:
        self._storage = storage
        self._recommend = recommend
        self._hide_muted = hide_muted

    def sections(
        self, sub: Subscription, period: DigestPeriod, topic_papers: Callable[[str], Sequence[Paper]], per_topic: int
    ) -> list[tuple[DigestSection, int]]:
        """(candidates, how many to take) for each personal section of ``sub``; none for a
        subscription without a member or without personal options."""
        if sub.user_id is None or not (sub.for_you_top or sub.follow_alerts):
            return []
        found = self._storage.users.by_id(sub.user_id)
        if found is None:
            return []
        user = found[0]
        out: list[tuple[DigestSection, int]] = []
        if sub.for_you_top:
            # more than needed: some were sent before, some are muted
            wanted = min(MAX_FOR_YOU * 2, sub.for_you_top * 3)
            recs = list(self._recommend(user, WINDOW_OF[period.frequency], period.last, wanted))
            kept = {p.arxiv_id for p in self._hide_muted(user, [p for p, _ in recs])}
            recs = [(p, why) for p, why in recs if p.arxiv_id in kept]
            out.append((DigestSection(FOR_YOU, tuple(p for p, _ in recs), reasons=tuple(w for _, w in recs)), sub.for_you_top))
        if sub.follow_alerts:
            for follow in self._storage.personal.interests("follow", user.id):
                query = follow_query(follow)
                papers = tuple(self._hide_muted(user, topic_papers(query)))
                why = follow_reason(follow.kind, follow.value)
                section = DigestSection(follow_title(follow), papers, topic=query, reasons=(why,) * len(papers))
                out.append((section, per_topic))
        return out
