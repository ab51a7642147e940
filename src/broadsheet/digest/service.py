"""Email digests as a use case: subscriptions (confirmed by a signed link), composing and sending
digests through the outbox, and the other signed email links (confirm, unsubscribe, password
reset). ``Hub`` delegates here, one line each; docs/dev.md "Digests" tells the whole story.

The parts are pure or nearly so: ``compose.py`` picks the papers, ``render.py`` writes the email,
``tokens.py`` signs links, ``deliver.py`` sends the outbox, ``reset.py`` handles reset links. What
this module needs from the rest of the Hub comes in as callables (it must not import the Hub, nor
search: imports point downward): ``search`` (``Hub.search``), ``feed`` (the trending feed of a
period), ``check_topic`` (the query language's check), ``lock(name)`` (a lock held by this Hub),
``changed()`` (the data changed: cached pages are out of date).

One sender at a time: the outbox's lock (storage/locks.py), renewed while sending; on SQLite a
lease whose holder on this host died is replaced at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from .. import accounts
from ..config import Settings
from ..exceptions import InvalidInputError, NotFoundError
from ..ids import is_row_id
from ..storage import Storage
from ..storage.locks import Lock
from ..trending import as_of_time
from ..types import Digest, DigestPeriod, DigestSection, DigestRun, Feed, OutboxMessage, Paper, SearchFilters, SearchPage, Subscription, User

if TYPE_CHECKING:
    from .deliver import Mailer
    from .render import MailSite

OUTBOX = "digest-outbox"  # the name of the outbox's lock

# A member's personal sections of a digest (personal/alerts.py, passed in by the Hub): for a
# subscription, its period, a query's new papers in the period, and the papers per topic, the
# (candidates with reasons, how many to take) that ``compose`` puts first.
PersonalSections = Callable[[Subscription, DigestPeriod, Callable[[str], Sequence[Paper]], int], Sequence[tuple[DigestSection, int]]]


class Digests:
    def __init__(
        self,
        settings: Settings,
        storage: Storage,
        now: Callable[[], datetime],
        *,
        mailer: Mailer | None,
        lock: Callable[[str], Lock],
        search: Callable[..., SearchPage],
        feed: Callable[[date, date, datetime, str, int, int], Feed],
        check_topic: Callable[[str], object],
        changed: Callable[[], None],
        personal: PersonalSections | None = None,
    ) -> None:
        self.settings = settings
        self._storage = storage
        self._now = now
        # The SMTP edge (tests pass a fake; None: SmtpMailer from the settings).
        self._mailer = mailer
        self._lock = lock
        self._search = search
        self._feed = feed
        self._check_topic = check_topic
        self._changed = changed
        self._personal = personal
        self._secret: bytes | None = None  # the key that signs email links, read on first use
        self._lease_renewed = 0.0
        self._outbox: Lock | None = None  # the outbox's lock while this Hub sends

    # -- subscriptions ------------------------------------------------------------------------

    def subscribe(
        self,
        email: str | None = None,
        *,
        frequency: str = "daily",
        trending_top: int | None = None,
        topics: Sequence[str] = (),
        user: User | None = None,
        confirmed: bool = False,
        for_you_top: int = 0,
        follow_alerts: bool = False,
    ) -> Subscription:
        """See ``Hub.subscribe``."""
        from .compose import check_content, check_frequency, check_personal

        address = email if email is not None else (user.email if user else None)
        if not address:
            raise InvalidInputError("an email address is needed: add one to your profile first" if user else "an email address is needed")
        address = accounts.check_email(address).lower()
        for_you_top, follow_alerts = check_personal(for_you_top, follow_alerts, user)
        personal = bool(for_you_top or follow_alerts)
        default_top = 0 if personal else self.settings.digest_trending_top
        top, cleaned = check_content(default_top if trending_top is None else trending_top, topics,
                                     self._check_topic, personal=personal)  # fmt: skip
        if not confirmed:
            self.mail_site()  # a confirmation email needs the site's address: say so before storing
        sub, changed = self._storage.digests.add_subscription(
            address, check_frequency(frequency), top, cleaned,
            user_id=user.id if user else None, now=self._now(), confirmed=confirmed,
            for_you_top=for_you_top, follow_alerts=follow_alerts,
        )  # fmt: skip
        if changed and sub.confirmed_at is None:
            self._send_confirmation(sub)
        return sub

    def _send_confirmation(self, sub: Subscription) -> None:
        from .render import message_id_for, render_confirmation

        now = self._now()
        key = f"confirm:{sub.id}:{now:%Y%m%dT%H%M%S.%f}"
        site = self.mail_site()
        url = f"{site.base_url}/digest/confirm/{self._sign('confirm', sub)}"
        message = render_confirmation(
            site, sub.email, sub.frequency, sub.topics, sub.trending_top, url, message_id_for(key, site), now,
            self.settings.digest_confirm_days, for_you_top=sub.for_you_top, follow_alerts=sub.follow_alerts,
        )  # fmt: skip
        did = self._storage.digests.enqueue(sub.id, key, message_id_for(key, site), message, (), now)
        self.deliver(only={did} if did else set())  # at once if the outbox is free; else the running sender sends it

    def confirm_subscription(self, token: str) -> Subscription:
        sid, email = self._unsign("confirm", token, self.settings.digest_confirm_days * 86400)
        sub = self._storage.digests.confirm(sid, email, self._now())
        self._changed()  # pages about this link, cached for visitors, are out of date
        if sub is None:
            raise NotFoundError("this subscription no longer exists: subscribe again")
        return sub

    def subscription_for_token(self, token: str) -> Subscription | None:
        sid, email = self._unsign("unsubscribe", token, None)
        sub = self._storage.digests.get_subscription(sid)
        return sub if sub and sub.email == email else None

    def unsubscribe(self, token: str) -> Subscription | None:
        sub = self.subscription_for_token(token)
        if sub is not None:
            self._storage.digests.delete_subscription(sub.id, email=sub.email)
            self._changed()
        return sub

    def get_subscriptions(self, user: User | None = None, *, frequency: str | None = None) -> list[Subscription]:
        return self._storage.digests.subscriptions(frequency=frequency, user_id=user.id if user else None)

    def delete_subscription(self, user: User, subscription_id: int) -> None:
        if not is_row_id(subscription_id) or not self._storage.digests.delete_subscription(subscription_id, user_id=user.id):
            raise NotFoundError(f"you have no subscription {subscription_id}")

    def unsubscribe_url(self, sub: Subscription, *, site: MailSite | None = None) -> str:
        return f"{(site or self.mail_site()).base_url}/digest/unsubscribe/{self._sign('unsubscribe', sub)}"

    def confirmation_mail(self, sub: Subscription) -> OutboxMessage | None:
        return self._storage.digests.latest(subscription_id=sub.id, kind="confirm")

    # -- signed links -------------------------------------------------------------------------

    def signing_key(self) -> bytes:
        if self._secret is None:
            self._secret = accounts.load_secret(self.settings.secret_key, self.settings.data_dir())
        return self._secret

    def _sign(self, purpose: str, sub: Subscription) -> str:
        from .tokens import sign

        return sign(self.signing_key(), purpose, f"{sub.id}:{sub.email}", self._now().replace(tzinfo=UTC).timestamp())

    def _unsign(self, purpose: str, token: str, max_age: float | None) -> tuple[int, str]:
        from .tokens import verify

        payload = verify(self.signing_key(), purpose, token, self._now().replace(tzinfo=UTC).timestamp(), max_age)
        sid, _, email = payload.partition(":")
        if not sid.isdigit():
            raise InvalidInputError("this link is not valid")
        return int(sid), email

    def mail_site(self, fallback_url: str = "") -> MailSite:
        from .render import MailSite

        s = self.settings
        if not s.base_url and fallback_url:  # shown in the browser, never mailed
            return MailSite.of(s.site_name, fallback_url, s.mail_from)
        if not s.base_url:
            raise InvalidInputError(
                "this site cannot send emails with links yet: its admin has to set the base_url setting "
                "to the site's public address"
            )
        return MailSite.of(s.site_name, s.base_url, s.mail_from)

    # -- password reset (reset.py) ------------------------------------------------------------

    def request_password_reset(self, login: str) -> bool:
        from .reset import request_reset

        return request_reset(self._storage, self.mail_site(), self.signing_key(), login, self._now(),
                             self.settings.password_reset_minutes, lambda did: self.deliver(only={did}))  # fmt: skip

    def password_reset_user(self, token: str) -> User:
        from .reset import check_token

        return check_token(self._storage, self.signing_key(), token, self._now(), self.settings.password_reset_minutes)[0]

    def reset_password(self, token: str, new: str) -> User:
        from .reset import reset_password

        return reset_password(self._storage, self.signing_key(), token, new, self._now(), self.settings.password_reset_minutes)

    # -- composing and sending ----------------------------------------------------------------

    def compose_digest(self, sub: Subscription, day: date, *, cache: dict[str, object] | None = None) -> Digest | None:
        from .compose import compose, digest_period

        cache = {} if cache is None else cache
        period = digest_period(sub.frequency, day)
        trending: list[Paper] = []
        if sub.trending_top:
            key = f"trending:{period.key}"
            if key not in cache:
                as_of = as_of_time(self._now(), period.last)
                cache[key] = [e.paper for e in self._feed(period.first, period.last, as_of, "trending", 100, 0).entries]
            trending = cache[key]  # type: ignore[assignment]
        topics: dict[str, list[Paper]] = {}
        for topic in sub.topics:
            key = f"topic:{period.key}:{topic}"
            if key not in cache:
                cache[key] = self.topic_papers(topic, period, cache)
            topics[topic] = cache[key]  # type: ignore[assignment]
        sent = self._storage.digests.sent_arxiv_ids(sub.id)
        per_topic = self.settings.digest_topic_papers
        personal = self._personal(sub, period, lambda q: self._topic_papers_cached(q, period, cache), per_topic) if self._personal else []
        return compose(sub, period, trending, topics, sent, per_topic=per_topic, personal=personal)

    def _topic_papers_cached(self, topic: str, period: DigestPeriod, cache: dict[str, object]) -> list[Paper]:
        key = f"topic:{period.key}:{topic}"
        if key not in cache:
            cache[key] = self.topic_papers(topic, period, cache)
        return cache[key]  # type: ignore[return-value]

    def topic_papers(self, topic: str, period: DigestPeriod, cache: dict[str, object]) -> list[Paper]:
        """Papers of a period on a topic (lexical search: a topic must match, not just be near):
        published in the period (or ``digest_topic_slack_days`` before it, as arXiv papers
        arrive late), then the best matches overall that were listed on the feed in the period."""
        listed_key = f"listed:{period.key}"
        if listed_key not in cache:
            pids = [r.paper_id for r in self._storage.browse.listing_rows(period.first, period.last)]
            cache[listed_key] = {p.arxiv_id for p in self._storage.papers.by_ids(pids).values()}
        listed: set[str] = cache[listed_key]  # type: ignore[assignment]
        since = period.first - timedelta(days=self.settings.digest_topic_slack_days)
        try:
            dated = self._search(topic, filters=SearchFilters(since=since, until=period.last), mode="lexical", limit=50).hits
            best = self._search(topic, mode="lexical", limit=100).hits if listed else ()
        except InvalidInputError:  # e.g. a topic saved before the query language changed
            return []
        found = {h.paper.arxiv_id: h for h in dated}
        found.update({h.paper.arxiv_id: h for h in best if h.paper.arxiv_id in listed and h.paper.arxiv_id not in found})
        return [h.paper for h in sorted(found.values(), key=lambda h: -h.score)]

    def preview_digest(self, user: User, *, site_url: str = "") -> tuple[Digest | None, bytes]:
        from .render import message_id_for, render_digest

        subs = self.get_subscriptions(user)
        now = self._now()
        sub = subs[0] if subs else Subscription(0, user.email or "you@example.org", "daily", self.settings.digest_trending_top or 10, (), None, now)
        digest = self.compose_digest(sub, now.date() + timedelta(days=1))
        if digest is None:
            return None, b""
        site = self.mail_site(site_url)
        url = self.unsubscribe_url(sub, site=site) if sub.id else f"{site.base_url}/settings"
        return digest, render_digest(digest, site, url, message_id_for(f"preview:{digest.period.key}", site), now)

    def send_digests(
        self,
        frequency: str = "daily",
        day: date | None = None,
        *,
        dry_run: bool = False,
        on_message: Callable[[str, str], None] | None = None,
    ) -> DigestRun:
        """See ``Hub.send_digests``."""
        from .compose import check_frequency, digest_period
        from .render import message_id_for, render_digest

        day = day or self._now().date()
        period = digest_period(check_frequency(frequency), day)
        if not dry_run and not self.hold_outbox():
            return DigestRun(period.key, busy=True)
        store = self._storage.digests
        try:
            done = store.periods_queued(period.key)
            site = self.mail_site()
            queued = empty = already = 0
            previews: list[Digest] = []
            cache: dict[str, object] = {}
            for sub in store.subscriptions(frequency=frequency, confirmed=True):
                if sub.id in done:
                    already += 1
                    continue
                digest = self.compose_digest(sub, day, cache=cache)
                if digest is None:
                    empty += 1
                    continue
                key = f"{period.key}:{sub.id}"
                message = render_digest(digest, site, self.unsubscribe_url(sub), message_id_for(key, site), self._now())
                if dry_run:
                    previews.append(digest)
                elif store.enqueue(sub.id, period.key, message_id_for(key, site), message, [p.arxiv_id for p in digest.papers], self._now()):
                    queued += 1
                else:
                    already += 1
                if not dry_run and not self.keep_outbox():
                    return DigestRun(period.key, queued, empty, already, errors=("lost the outbox lease while composing",))
            if dry_run:
                return DigestRun(period.key, len(previews), empty, already, previews=tuple(previews))
            counts = self.deliver(on_message=on_message, held=True)
        finally:
            if not dry_run:
                self.release_outbox()
        return DigestRun(
            period.key, queued, empty, already, counts.sent, counts.retry_later, counts.failed,
            store.status_counts(self._now())["pending"],
            errors=(counts.stopped,) if counts.stopped else (),
        )  # fmt: skip

    def deliver_digests(self, *, on_message: Callable[[str, str], None] | None = None) -> DigestRun:
        counts = self.deliver(on_message=on_message)
        if counts is None:
            return DigestRun("", busy=True)
        return DigestRun("", sent=counts.sent, retry_later=counts.retry_later, failed=counts.failed,
                         errors=(counts.stopped,) if counts.stopped else ())  # fmt: skip

    def deliver(self, *, only: set[int] | None = None, on_message: Callable[[str, str], None] | None = None, held: bool = False):
        """Send what is due in the outbox (``only``: those messages); None when another sender
        holds the outbox (``held``: this one already does)."""
        from .deliver import SmtpConfig, SmtpMailer, deliver_outbox
        from .render import MailSite

        if not held and not self.hold_outbox():
            return None
        s = self.settings
        mailer = self._mailer or SmtpMailer(
            SmtpConfig(s.smtp_host, s.smtp_port, s.smtp_security, s.smtp_user, s.smtp_password, s.smtp_timeout)
        )
        try:
            return deliver_outbox(
                self._storage.digests, mailer, MailSite.of(s.site_name, s.base_url, s.mail_from).mail_from, self._now,
                max_attempts=s.digest_max_attempts, retry_seconds=s.digest_retry_seconds,
                keep_lease=self.keep_outbox, only=only, on_message=on_message,
            )  # fmt: skip
        finally:
            mailer.close()
            if not held:
                self.release_outbox()

    # -- the outbox's lock --------------------------------------------------------------------

    def hold_outbox(self) -> bool:
        self._lease_renewed = time.monotonic()
        self._outbox = self._lock(OUTBOX)
        return self._outbox.acquire()

    def keep_outbox(self) -> bool:
        if self._outbox is None:
            return False
        if time.monotonic() - self._lease_renewed < self.settings.digest_lease_seconds / 4:
            return True
        self._lease_renewed = time.monotonic()
        return self._outbox.keep()

    def release_outbox(self) -> None:
        outbox, self._outbox = self._outbox, None
        if outbox is not None:
            outbox.release()

    def digest_status(self) -> dict[str, object]:
        store = self._storage.digests
        subs = store.subscriptions()
        return {
            "outbox": store.status_counts(self._now()),
            "failed": store.messages(status="failed", limit=20),
            "waiting": [m for m in store.messages(status="pending", limit=20) if m.attempts],
            "subscriptions": {"confirmed": sum(1 for s in subs if s.confirmed_at), "unconfirmed": sum(1 for s in subs if not s.confirmed_at)},
            "sender": self._storage.lock_holder(OUTBOX, self._now()),
            "jobs": store.job_rows(),
        }

    def retry_failed_digests(self) -> int:
        return self._storage.digests.retry_failed()
