"""What a subscriber gets for a period (pure): the trending top N, then a section per topic,
never a paper sent to them before, never one paper twice; nothing new means no email.

    period = digest_period("daily", date(2026, 11, 28))  # covers 2026-11-27, key daily:2026-11-27
    digest = compose(subscription, period, trending, {"diffusion": [...]}, already_sent)
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import date, timedelta

from ..exceptions import InvalidInputError
from ..types import Digest, DigestPeriod, DigestSection, Paper, Subscription, User

FREQUENCIES = ("daily", "weekly")
MAX_TRENDING = 50
MAX_TOPICS = 10


def digest_period(frequency: str, day: date) -> DigestPeriod:
    """The period a digest sent on ``day`` covers: the day before (daily), or the seven days up
    to the day before (weekly, keyed by the ISO week of that last day, so a second weekly run in
    the same week finds the digest already made)."""
    last = day - timedelta(days=1)
    if frequency == "daily":
        return DigestPeriod("daily", last, last, f"daily:{last.isoformat()}")
    if frequency == "weekly":
        year, week, _ = last.isocalendar()
        return DigestPeriod("weekly", last - timedelta(days=6), last, f"weekly:{year}-W{week:02d}")
    raise InvalidInputError(f"unknown frequency {frequency!r}: use daily or weekly")


def check_frequency(frequency: str) -> str:
    if frequency not in FREQUENCIES:
        raise InvalidInputError(f"unknown frequency {frequency!r}: use daily or weekly")
    return frequency


MAX_FOR_YOU = 50  # the most recommendations one digest may carry


def check_personal(for_you_top: int, follow_alerts: bool, user: User | None) -> tuple[int, bool]:
    """A subscription's personal options (For you, follow alerts), checked: members only, For
    you between 0 and ``MAX_FOR_YOU``."""
    if not 0 <= for_you_top <= MAX_FOR_YOU:
        raise InvalidInputError(f"the number of For you papers must be between 0 and {MAX_FOR_YOU}")
    if (for_you_top or follow_alerts) and user is None:
        raise InvalidInputError("For you and follow alerts are for members: log in to subscribe to them")
    return for_you_top, bool(follow_alerts)


def check_content(
    trending_top: int,
    topics: Sequence[str],
    check_topic: Callable[[str], object] = lambda _: None,
    *,
    personal: bool = False,
) -> tuple[int, tuple[str, ...]]:
    """Clean a subscription's content; InvalidInputError when it would never say anything, or
    when ``check_topic`` (the search query parser's check) refuses a topic. ``personal``: the
    subscription has a For you or follow-alerts part, which is content enough."""
    if not 0 <= trending_top <= MAX_TRENDING:
        raise InvalidInputError(f"the number of trending papers must be between 0 and {MAX_TRENDING}")
    cleaned = tuple(dict.fromkeys(t.strip() for t in topics if t.strip()))
    if len(cleaned) > MAX_TOPICS:
        raise InvalidInputError(f"at most {MAX_TOPICS} topics per subscription")
    if any(len(t) > 200 for t in cleaned):
        raise InvalidInputError("a topic has at most 200 characters")
    for topic in cleaned:
        check_topic(topic)
    if trending_top == 0 and not cleaned and not personal:
        raise InvalidInputError("choose trending papers, topics, or both")
    return trending_top, cleaned


def compose(
    subscription: Subscription,
    period: DigestPeriod,
    trending: Sequence[Paper],
    topics: Mapping[str, Sequence[Paper]],
    already_sent: Collection[str],
    *,
    per_topic: int = 10,
    personal: Sequence[tuple[DigestSection, int]] = (),
) -> Digest | None:
    """The digest for one subscriber: first the ``personal`` sections (a member's For you and
    follow alerts: candidates with their reasons, and how many to take of each), then
    ``trending`` (best first; the first ``trending_top`` new ones) and, for each of the
    subscription's topics, up to ``per_topic`` new papers from ``topics[topic]``.
    ``already_sent``: arXiv ids this subscriber has had. None when empty."""
    seen = set(already_sent)
    sections = []

    def fresh_at(papers: Sequence[Paper], limit: int) -> list[int]:
        chosen: list[int] = []
        for i, p in enumerate(papers):
            if len(chosen) >= limit:
                break
            if p.hidden or p.arxiv_id in seen:
                continue
            seen.add(p.arxiv_id)
            chosen.append(i)
        return chosen

    def fresh(papers: Sequence[Paper], limit: int) -> tuple[Paper, ...]:
        return tuple(papers[i] for i in fresh_at(papers, limit))

    for candidates, limit in personal:
        if picked_at := fresh_at(candidates.papers, limit):
            reasons = tuple(candidates.reasons[i] if i < len(candidates.reasons) else "" for i in picked_at)
            papers = tuple(candidates.papers[i] for i in picked_at)
            sections.append(DigestSection(candidates.title, papers, topic=candidates.topic, reasons=reasons))

    if subscription.trending_top > 0 and (picked := fresh(trending, subscription.trending_top)):
        sections.append(DigestSection("Trending", picked))
    for topic in subscription.topics:
        if picked := fresh(topics.get(topic, ()), per_topic):
            sections.append(DigestSection(topic, picked, topic=topic))
    if not sections:
        return None
    return Digest(subscription, period, tuple(sections))
