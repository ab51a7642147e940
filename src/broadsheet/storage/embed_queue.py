"""The embedding backfill's work queue: batches of paper ids that processes on any number of
machines claim one at a time (``search/backfill.py`` runs the loop; docs/dev.md "Embedding
across processes and machines").

- **A plan** is a set of ``embed_batches`` rows, each a range of paper ids (``first_id`` ..
  ``last_id``) that needed a vector of one ``model`` when it was made. It is made when no batch of
  the model is open, under the writer lock, so two workers never plan the same papers twice.
- **A claim** takes the first open batch that nobody holds (or whose holder's lease expired):
  on PostgreSQL ``SELECT ... FOR UPDATE SKIP LOCKED`` in a transaction of its own (no writer lock,
  so claims never queue behind an ingest), on SQLite the same statements in a ``BEGIN IMMEDIATE``
  transaction, which runs one writer at a time.
- **Writing a batch's vectors is fenced**: the transaction that stores them first checks that the
  batch is still claimed by this worker and not done (an ``UPDATE ... WHERE worker = me``); a
  worker whose lease expired and was taken over writes nothing (``LostClaim``). So a paper is
  never stored twice by two workers, and what each worker wrote is counted in the same
  transaction as the rows themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Engine, and_, delete, func, insert, or_, select, update

from .engine import is_postgres, writer
from .schema import embed_batches as b
from .schema import embed_workers as w
from .vectors import put_in

if TYPE_CHECKING:
    import numpy as np

WORKERS_KEPT = timedelta(days=7)  # workers not seen for this long leave the status when a plan is made


class LostClaim(Exception):
    """The batch is no longer this worker's: its lease expired and another worker took it."""


@dataclass(frozen=True, slots=True)
class Claim:
    batch_id: int
    model: str
    first_id: int
    last_id: int


@dataclass(frozen=True, slots=True)
class BatchCounts:
    """The current plan of one model: batches ``done``, ``claimed`` (by a live lease) and
    ``waiting`` (nobody's, or a lease that expired); ``papers`` planned in all of them."""

    model: str
    done: int
    claimed: int
    waiting: int
    papers: int


@dataclass(frozen=True, slots=True)
class WorkerRow:
    worker: str
    model: str
    started_at: datetime
    last_seen: datetime
    written: int
    state: str


class EmbedQueue:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._writer = writer(engine)
        # Claims and renewals: SKIP LOCKED rows on PostgreSQL (no global writer lock), BEGIN
        # IMMEDIATE on SQLite (its one writer at a time is what makes them safe there).
        self._claimer = engine if is_postgres(engine) else self._writer

    # -- plans ----------------------------------------------------------------------------------

    def open_batches(self, models: Sequence[str]) -> int:
        with self._engine.connect() as conn:
            return conn.execute(
                select(func.count()).select_from(b).where(b.c.model.in_(list(models)), b.c.done_at.is_(None))
            ).scalar_one()

    def plan(self, ranges: Mapping[str, Iterable[tuple[int, int, int]]], now: datetime) -> int:
        """Make a new plan of ``(first_id, last_id, papers)`` ranges per model, unless a batch of
        those models is still open (another worker planned first): then that plan stands. The
        finished plan's batches are deleted (unless there is nothing new to plan). Returns the
        open batches: those made, or those of the plan that stands; 0 when there is nothing to do."""
        models = list(ranges)
        rows = [
            {"model": m, "first_id": first, "last_id": last, "papers": n}
            for m in models
            for first, last, n in ranges[m]
        ]
        with self._writer.begin() as conn:
            still_open = conn.execute(
                select(func.count()).select_from(b).where(b.c.model.in_(models), b.c.done_at.is_(None))
            ).scalar_one()
            if still_open:
                return still_open  # another worker planned first: that plan is the one to work on
            if not rows:
                return 0  # (an empty plan keeps the finished one for `index --status`)
            conn.execute(delete(b).where(b.c.model.in_(models)))
            conn.execute(delete(w).where(w.c.last_seen < now - WORKERS_KEPT))
            conn.execute(insert(b), rows)
        return len(rows)

    # -- claims ---------------------------------------------------------------------------------

    def claim(self, models: Sequence[str], worker: str, now: datetime, until: datetime) -> Claim | None:
        """The first open batch of ``models`` that nobody holds (or whose lease expired), now
        held by ``worker`` until ``until``; None when there is none to take."""
        with self._claimer.begin() as conn:
            row = conn.execute(
                select(b.c.id, b.c.model, b.c.first_id, b.c.last_id)
                .where(
                    b.c.model.in_(list(models)),
                    b.c.done_at.is_(None),
                    or_(b.c.expires_at.is_(None), b.c.expires_at < now),
                )
                .order_by(b.c.id)
                .limit(1)
                .with_for_update(skip_locked=True)  # PostgreSQL; SQLite has one writer at a time
            ).first()
            if row is None:
                return None
            conn.execute(update(b).where(b.c.id == row.id).values(worker=worker, claimed_at=now, expires_at=until))
            return Claim(row.id, row.model, row.first_id, row.last_id)

    def renew(self, worker: str, now: datetime, until: datetime) -> None:
        """Extend the leases of every batch ``worker`` holds, and say it is alive."""
        with self._claimer.begin() as conn:
            conn.execute(update(b).where(b.c.worker == worker, b.c.done_at.is_(None)).values(expires_at=until))
            conn.execute(update(w).where(w.c.worker == worker).values(last_seen=now))

    def release(self, worker: str) -> None:
        """Give back the batches ``worker`` holds and has not finished (it stops early): another
        worker takes them at once, and embeds only what is still missing in them."""
        with self._claimer.begin() as conn:
            conn.execute(
                update(b).where(b.c.worker == worker, b.c.done_at.is_(None)).values(worker=None, expires_at=None)
            )

    def release_dead(self, models: Sequence[str], now: datetime, is_dead: Callable[[str], bool]) -> int:
        """Give back the live-looking claims of holders ``is_dead`` says have ended (a process of
        this host that was killed: no need to wait for its lease). Returns how many holders."""
        with self._engine.connect() as conn:
            holders = conn.execute(
                select(b.c.worker)
                .where(b.c.model.in_(list(models)), b.c.done_at.is_(None), b.c.worker.is_not(None), b.c.expires_at >= now)
                .distinct()
            ).scalars().all()
        dead = [h for h in holders if is_dead(h)]
        for holder in dead:
            self.release(holder)
            self.set_state(holder, "died", None)
        return len(dead)

    # -- writing --------------------------------------------------------------------------------

    def write(
        self,
        claim: Claim,
        worker: str,
        items: Sequence[tuple[int, str, np.ndarray]],
        now: datetime,
        until: datetime,
        *,
        done: bool,
    ) -> None:
        """Store ``(paper_id, content_hash, vector)`` rows of the claimed batch, and count them,
        in one transaction that first checks the claim is still ``worker``'s (else ``LostClaim``,
        and nothing is written). ``done``: the batch is finished."""
        with self._writer.begin() as conn:
            self._fence(conn, claim, worker, len(items), now, until, done)
            put_in(conn, claim.model, items)
            conn.execute(
                update(w).where(w.c.worker == worker).values(written=w.c.written + len(items), last_seen=now, state="working")
            )

    def finish(self, claim: Claim, worker: str, now: datetime) -> None:
        """Mark the claimed batch done (nothing left in it); ``LostClaim`` if it is not ours."""
        with self._writer.begin() as conn:
            self._fence(conn, claim, worker, 0, now, now, True)

    @staticmethod
    def _fence(conn, claim: Claim, worker: str, written: int, now: datetime, until: datetime, done: bool) -> None:  # noqa: ANN001
        values: dict[str, object] = {"written": b.c.written + written}
        values.update(done_at=now) if done else values.update(expires_at=until)
        hit = conn.execute(
            update(b).where(b.c.id == claim.batch_id, b.c.worker == worker, b.c.done_at.is_(None)).values(**values)
        ).rowcount
        if hit != 1:
            raise LostClaim(f"batch {claim.batch_id} ({claim.model}, papers {claim.first_id}..{claim.last_id}) was taken over")

    # -- workers --------------------------------------------------------------------------------

    def join(self, worker: str, model: str, now: datetime) -> None:
        """Start ``worker``'s row afresh (a worker's row describes its current or last run)."""
        with self._claimer.begin() as conn:
            if conn.execute(update(w).where(w.c.worker == worker).values(
                model=model, started_at=now, last_seen=now, written=0, state="working"
            )).rowcount == 0:  # fmt: skip
                conn.execute(insert(w).values(worker=worker, model=model, started_at=now, last_seen=now, written=0, state="working"))

    def set_state(self, worker: str, state: str, now: datetime | None) -> None:
        values: dict[str, object] = {"state": state}
        if now is not None:
            values["last_seen"] = now
        with self._claimer.begin() as conn:
            conn.execute(update(w).where(w.c.worker == worker).values(**values))

    def workers(self, model: str) -> list[WorkerRow]:
        """The workers of ``model``, the most recently seen first."""
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(w.c.worker, w.c.model, w.c.started_at, w.c.last_seen, w.c.written, w.c.state)
                .where(w.c.model == model)
                .order_by(w.c.last_seen.desc(), w.c.worker)
            ).all()
        return [WorkerRow(*r) for r in rows]

    def written(self, model: str) -> int:
        """Vectors written by the workers of ``model`` in their current (or last) runs."""
        with self._engine.connect() as conn:
            return conn.execute(select(func.coalesce(func.sum(w.c.written), 0)).where(w.c.model == model)).scalar_one()

    def counts(self, models: Sequence[str], now: datetime) -> list[BatchCounts]:
        """The current plan of each model (models without one are left out)."""
        live = and_(b.c.done_at.is_(None), b.c.worker.is_not(None), b.c.expires_at >= now)
        found: dict[str, list[int]] = {}
        with self._engine.connect() as conn:
            for model, done, total, papers in conn.execute(
                select(b.c.model, func.count(b.c.done_at), func.count(), func.coalesce(func.sum(b.c.papers), 0))
                .where(b.c.model.in_(list(models)))
                .group_by(b.c.model)
            ):
                found[model] = [done, 0, total - done, papers]
            for model, claimed in conn.execute(
                select(b.c.model, func.count()).where(b.c.model.in_(list(models)), live).group_by(b.c.model)
            ):
                found[model][1] = claimed
                found[model][2] -= claimed
        return [BatchCounts(m, *found[m]) for m in models if m in found]
