"""SQL for email digests: subscriptions, the outbox (``digests`` + ``digest_papers``), and job
leases (``jobs``).

The outbox is what makes delivery exactly-once across crashes: a digest is composed, rendered and
stored with its papers in one transaction, then sent, then marked sent. See docs/dev.md "Digests".
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from ..types import OutboxMessage, Subscription
from .engine import writer
from .schema import digest_papers, digests, jobs, papers, subscriptions

# Written into last_error when an attempt starts, replaced by its outcome when it ends. A row that
# still says this on the next run was being sent when its sender died (see docs/dev.md "Digests").
IN_FLIGHT = "attempt interrupted: the sender stopped during SMTP; may have been delivered, resent with the same Message-ID"


def _subscription(row: Any) -> Subscription:
    return Subscription(
        id=row.id,
        email=row.email,
        frequency=row.frequency,
        trending_top=row.trending_top,
        topics=tuple(json.loads(row.topics or "[]")),
        confirmed_at=row.confirmed_at,
        created_at=row.created_at,
        user_id=row.user_id,
        for_you_top=row.for_you_top or 0,
        follow_alerts=bool(row.follow_alerts),
    )


def _message(row: Any) -> OutboxMessage:
    return OutboxMessage(
        id=row.id,
        subscription_id=row.subscription_id,
        email=row.email,
        period=row.period,
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
        message_id=row.message_id,
        message=row.message or b"",
        created_at=row.created_at,
        sent_at=row.sent_at,
    )


class DigestStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._writer = writer(engine)

    # -- subscriptions ----------------------------------------------------------------------

    def add_subscription(
        self,
        email: str,
        frequency: str,
        trending_top: int,
        topics: Sequence[str],
        *,
        user_id: int | None,
        now: datetime,
        confirmed: bool,
        for_you_top: int = 0,
        follow_alerts: bool = False,
    ) -> tuple[Subscription, bool]:
        """The subscription of (email, frequency), and whether it was created or changed. An
        unconfirmed one takes the new content; a confirmed one is left as it is (nobody but its
        owner, logged in or holding a signed link, changes it)."""
        values = {
            "trending_top": trending_top, "topics": json.dumps(list(topics)),
            "for_you_top": for_you_top, "follow_alerts": follow_alerts,
        }  # fmt: skip
        with self._writer.begin() as conn:
            row = conn.execute(
                select(subscriptions).where(subscriptions.c.email == email, subscriptions.c.frequency == frequency)
            ).first()
            if row is None:
                sid = conn.execute(
                    insert(subscriptions)
                    .values(
                        email=email, frequency=frequency, user_id=user_id, created_at=now,
                        confirmed_at=now if confirmed else None, **values,
                    )
                    .returning(subscriptions.c.id)
                ).scalar_one()  # fmt: skip
                changed = True
            else:
                sid = row.id
                changed = row.confirmed_at is None or confirmed or (user_id is not None and row.user_id == user_id)
                if changed:
                    extra: dict[str, Any] = {"user_id": user_id or row.user_id}
                    if confirmed and row.confirmed_at is None:
                        extra["confirmed_at"] = now
                    conn.execute(update(subscriptions).where(subscriptions.c.id == sid).values(**values, **extra))
            found = conn.execute(select(subscriptions).where(subscriptions.c.id == sid)).one()
        return _subscription(found), changed

    def get_subscription(self, sid: int) -> Subscription | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(subscriptions).where(subscriptions.c.id == sid)).first()
        return _subscription(row) if row else None

    def subscriptions(
        self, *, frequency: str | None = None, confirmed: bool | None = None, user_id: int | None = None
    ) -> list[Subscription]:
        q = select(subscriptions).order_by(subscriptions.c.id)
        if frequency:
            q = q.where(subscriptions.c.frequency == frequency)
        if confirmed is not None:
            q = q.where(subscriptions.c.confirmed_at.is_not(None) if confirmed else subscriptions.c.confirmed_at.is_(None))
        if user_id is not None:
            q = q.where(subscriptions.c.user_id == user_id)
        with self._engine.connect() as conn:
            return [_subscription(r) for r in conn.execute(q)]

    def confirm(self, sid: int, email: str, now: datetime) -> Subscription | None:
        with self._writer.begin() as conn:
            conn.execute(
                update(subscriptions)
                .where(subscriptions.c.id == sid, subscriptions.c.email == email, subscriptions.c.confirmed_at.is_(None))
                .values(confirmed_at=now)
            )
        found = self.get_subscription(sid)
        return found if found and found.email == email else None

    def delete_subscription(self, sid: int, *, email: str | None = None, user_id: int | None = None) -> bool:
        q = delete(subscriptions).where(subscriptions.c.id == sid)
        if email is not None:
            q = q.where(subscriptions.c.email == email)
        if user_id is not None:
            q = q.where(subscriptions.c.user_id == user_id)
        with self._writer.begin() as conn:
            return conn.execute(q).rowcount > 0

    # -- the outbox -------------------------------------------------------------------------

    def sent_arxiv_ids(self, sid: int) -> set[str]:
        """Papers already in a digest for this subscription (sent, or waiting in the outbox)."""
        q = (
            select(papers.c.arxiv_id)
            .select_from(digest_papers.join(digests, digests.c.id == digest_papers.c.digest_id).join(papers, papers.c.id == digest_papers.c.paper_id))
            .where(digests.c.subscription_id == sid, digests.c.status != "failed")
        )
        with self._engine.connect() as conn:
            return set(conn.execute(q).scalars())

    def periods_queued(self, period: str) -> set[int]:
        """Subscriptions that have a message for this period in the outbox (in any state)."""
        with self._engine.connect() as conn:
            return set(conn.execute(select(digests.c.subscription_id).where(digests.c.period == period)).scalars())

    def enqueue(
        self, sid: int, period: str, message_id: str, message: bytes, arxiv_ids: Sequence[str], now: datetime
    ) -> int | None:
        """Store a rendered message and the papers it carries, in one transaction; its id, or
        None when this subscription already has a message for this period."""
        with self._writer.begin() as conn:
            try:
                with conn.begin_nested():
                    did = conn.execute(
                        insert(digests)
                        .values(subscription_id=sid, period=period, status="pending", attempts=0,
                                message_id=message_id, message=message, created_at=now)
                        .returning(digests.c.id)
                    ).scalar_one()  # fmt: skip
            except IntegrityError:
                return None
            if arxiv_ids:
                pids = conn.execute(select(papers.c.id).where(papers.c.arxiv_id.in_(list(arxiv_ids)))).scalars().all()
                conn.execute(insert(digest_papers), [{"digest_id": did, "paper_id": p} for p in pids])
        return did

    def enqueue_to(self, recipient: str, key: str, message_id: str, message: bytes, now: datetime) -> int:
        """Store a rendered message to an address without a subscription (a password reset)."""
        with self._writer.begin() as conn:
            return conn.execute(
                insert(digests)
                .values(recipient=recipient, period=key, status="pending", attempts=0,
                        message_id=message_id, message=message, created_at=now)
                .returning(digests.c.id)
            ).scalar_one()  # fmt: skip

    def latest(self, *, subscription_id: int, kind: str) -> OutboxMessage | None:
        """The newest message of a subscription whose key starts with ``kind:`` (``confirm``)."""
        q = (
            self._outbox_query()
            .where(digests.c.subscription_id == subscription_id, digests.c.period.startswith(kind + ":"))
            .order_by(digests.c.id.desc())
            .limit(1)
        )
        with self._engine.connect() as conn:
            row = conn.execute(q).first()
        return _message(row) if row else None

    def note_error(self, did: int, error: str) -> None:
        """Why a message is still waiting, when no attempt was made (the server was unusable)."""
        self._set(did, last_error=error[:1000])

    def _outbox_query(self) -> Any:
        email = func.coalesce(digests.c.recipient, subscriptions.c.email).label("email")
        return select(digests, email).outerjoin(subscriptions, subscriptions.c.id == digests.c.subscription_id)

    def due(self, now: datetime, limit: int, after: int = 0) -> list[OutboxMessage]:
        """Pending messages whose next attempt is due, oldest first (ids above ``after``)."""
        q = (
            self._outbox_query()
            .where(
                digests.c.status == "pending",
                digests.c.id > after,
                or_(digests.c.next_attempt_at.is_(None), digests.c.next_attempt_at <= now),
            )
            .order_by(digests.c.id)
            .limit(limit)
        )
        with self._engine.connect() as conn:
            return [_message(r) for r in conn.execute(q)]

    def messages(self, *, status: str | None = None, limit: int = 50) -> list[OutboxMessage]:
        q = self._outbox_query().order_by(digests.c.id.desc()).limit(limit)
        if status:
            q = q.where(digests.c.status == status)
        with self._engine.connect() as conn:
            return [_message(r) for r in conn.execute(q)]

    def status_counts(self, now: datetime) -> dict[str, int]:
        """Messages per status, plus ``due`` (pending and due now) and ``interrupted``."""
        with self._engine.connect() as conn:
            counts = {s: n for s, n in conn.execute(select(digests.c.status, func.count()).group_by(digests.c.status))}
            counts["due"] = conn.execute(
                select(func.count()).where(
                    digests.c.status == "pending",
                    or_(digests.c.next_attempt_at.is_(None), digests.c.next_attempt_at <= now),
                )
            ).scalar_one()
            counts["interrupted"] = conn.execute(
                select(func.count()).where(digests.c.status == "pending", digests.c.last_error == IN_FLIGHT)
            ).scalar_one()
        return {"pending": 0, "sent": 0, "failed": 0, **counts}

    def _set(self, did: int, **values: Any) -> None:
        with self._writer.begin() as conn:
            conn.execute(update(digests).where(digests.c.id == did).values(**values))

    def mark_attempt(self, did: int) -> None:
        """Committed before the message goes out: a crash from here on leaves the row saying so."""
        self._set(did, attempts=digests.c.attempts + 1, last_error=IN_FLIGHT)

    def mark_sent(self, did: int, now: datetime) -> None:
        self._set(did, status="sent", sent_at=now, last_error=None, next_attempt_at=None)

    def mark_retry(self, did: int, error: str, next_attempt_at: datetime) -> None:
        self._set(did, last_error=error[:1000], next_attempt_at=next_attempt_at)

    def mark_failed(self, did: int, error: str) -> None:
        self._set(did, status="failed", last_error=error[:1000], next_attempt_at=None)

    def retry_failed(self) -> int:
        """Put failed messages back in the queue (after fixing what made them fail)."""
        with self._writer.begin() as conn:
            return conn.execute(
                update(digests).where(digests.c.status == "failed").values(status="pending", attempts=0, next_attempt_at=None)
            ).rowcount

    # -- leases and schedules ---------------------------------------------------------------

    def acquire_lease(
        self, name: str, holder: str, now: datetime, until: datetime, *, dead: Callable[[str], bool] = lambda h: False
    ) -> bool:
        """Take the lease called ``name`` for ``holder`` until ``until``: when nobody holds it, it
        expired, ``holder`` already has it, or its holder is ``dead``. True when taken.

        SQLite's lock (storage/locks.py ``LeaseLock``): the write transaction (BEGIN IMMEDIATE)
        serialises it. PostgreSQL uses advisory locks instead (``AdvisoryLock``)."""
        with self._writer.begin() as conn:
            row = conn.execute(select(jobs).where(jobs.c.name == name).with_for_update()).first()
            if row is None:
                try:
                    with conn.begin_nested():
                        conn.execute(insert(jobs).values(name=name, holder=holder, lease_until=until))
                except IntegrityError:  # another process inserted it first: theirs
                    return False
                return True
            free = row.holder is None or row.lease_until is None or row.lease_until <= now
            if not (free or row.holder == holder or dead(row.holder)):
                return False
            conn.execute(
                update(jobs)
                .where(jobs.c.name == name)  # the row is ours to change: locked above
                .values(holder=holder, lease_until=until)
            )
            return True

    def renew_lease(self, name: str, holder: str, until: datetime) -> bool:
        """Extend a lease this holder has; False when it lost it (it expired and was taken)."""
        with self._writer.begin() as conn:
            return conn.execute(
                update(jobs).where(jobs.c.name == name, jobs.c.holder == holder).values(lease_until=until)
            ).rowcount == 1

    def release_lease(self, name: str, holder: str) -> None:
        with self._writer.begin() as conn:
            conn.execute(update(jobs).where(jobs.c.name == name, jobs.c.holder == holder).values(holder=None, lease_until=None))

    def set_holder(self, name: str, holder: str | None, *, only: str | None = None) -> None:
        """Record who holds the lock ``name`` where the lock itself is elsewhere (PostgreSQL's
        advisory locks, storage/locks.py); ``only``: clear it only if this holder has it."""
        with self._writer.begin() as conn:
            q = update(jobs).where(jobs.c.name == name).values(holder=holder, lease_until=None)
            if only is not None:
                q = q.where(jobs.c.holder == only)
            if conn.execute(q).rowcount == 0 and only is None:
                conn.execute(insert(jobs).values(name=name, holder=holder))

    def recorded_holder(self, name: str) -> str | None:
        with self._engine.connect() as conn:
            return conn.execute(select(jobs.c.holder).where(jobs.c.name == name)).scalar()

    def lease_holder(self, name: str, now: datetime) -> str | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(jobs).where(jobs.c.name == name)).first()
        return row.holder if row and row.holder and row.lease_until and row.lease_until > now else None

    def claim_slot(self, name: str, slot: str, now: datetime) -> bool:
        """Record that job ``name`` runs for the scheduled time ``slot`` (ISO text, so later slots
        compare greater); False when this slot (or a later one) was already claimed."""
        with self._writer.begin() as conn:
            row = conn.execute(select(jobs.c.last_slot).where(jobs.c.name == name).with_for_update()).first()
            if row is None:
                conn.execute(insert(jobs).values(name=name, last_slot=slot, last_started_at=now))
                return True
            if row.last_slot is not None and row.last_slot >= slot:
                return False
            conn.execute(update(jobs).where(jobs.c.name == name).values(last_slot=slot, last_started_at=now))
            return True

    def finish_job(self, name: str, now: datetime, error: str | None) -> None:
        with self._writer.begin() as conn:
            conn.execute(update(jobs).where(jobs.c.name == name).values(last_finished_at=now, last_error=error))

    def job_rows(self) -> list[dict[str, Any]]:
        with self._engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(jobs).order_by(jobs.c.name))]


__all__ = ["IN_FLIGHT", "DigestStore"]
