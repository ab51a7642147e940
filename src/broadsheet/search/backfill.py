"""Embedding every paper that needs a vector, shared by any number of processes on any number of
machines over one database: what `broadsheet index` (and background embedding) runs.

Each worker (one ``Backfill.run``) loops:

1. claim the next open batch of the plan (``storage/embed_queue.py``: a range of paper ids,
   ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), with a lease that a
   thread renews while the worker lives;
2. embed the papers of that range that still need a vector (looked up now, so a paper another
   worker did already is not done again) and write them in transactions that check the claim is
   still this worker's;
3. when nothing is left to claim: make a new plan if no batch is open (papers that arrived or
   changed meanwhile), else wait for the batches other workers hold (``wait``), taking over
   those whose lease expires (a killed worker's) or whose holder is a dead process of this host.

It ends when a new plan finds nothing to do. A paper is embedded by one worker: batches are
disjoint, a claim is exclusive, and a worker that lost its claim (its lease expired and another
took it) writes nothing more of that batch.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ..config import Settings
from ..storage import Storage
from ..storage.embed_queue import Claim, LostClaim
from ..storage.locks import holder_is_dead
from ..types import IndexProgress

if TYPE_CHECKING:
    import numpy as np

    from ..storage.vectors import ToEmbed
    from .embedders import Embedder

log = logging.getLogger("broadsheet.embedding")

LIVE = ("working", "waiting")  # worker states that mean "still running" (if seen within the lease)


@dataclass(frozen=True, slots=True)
class WorkerStatus:
    """One worker of the current (or last) backfill: ``rate`` is vectors per second over its run."""

    worker: str
    state: str  # working, waiting, finished, stopped, failed, died; "gone" when not seen within the lease
    live: bool
    written: int
    started_at: datetime
    last_seen: datetime
    rate: float | None


@dataclass(frozen=True, slots=True)
class BackfillStatus:
    """How far embedding is, across every worker: ``embedded`` of ``papers`` have a current whole
    vector, ``passages`` a current passages row; ``remaining`` vectors (both kinds) are missing;
    ``rate`` is the live workers' vectors per second together, ``eta_seconds`` remaining / rate."""

    model: str
    papers: int
    embedded: int
    passages: int
    remaining: int
    batches_done: int
    batches_claimed: int
    batches_waiting: int
    workers: tuple[WorkerStatus, ...]
    rate: float | None
    eta_seconds: float | None

    @property
    def live_workers(self) -> int:
        return sum(1 for w in self.workers if w.live)


class DistinctIds:
    """How many distinct paper ids were added, in a bit per id: a set of a million ints holds
    ~60 MB, this ~125 KB (ids are row ids, dense from 1)."""

    def __init__(self) -> None:
        self._bits = bytearray()
        self._count = 0

    def update(self, ids: Iterable[int]) -> None:
        bits = self._bits
        for i in ids:
            byte, bit = divmod(i, 8)
            if byte >= len(bits):
                bits.extend(bytes(max(byte + 1 - len(bits), len(bits))))
            if not bits[byte] >> bit & 1:
                bits[byte] |= 1 << bit
                self._count += 1

    def __len__(self) -> int:
        return self._count


def embed_items(embedder: Embedder, kind: str, batch: Sequence[ToEmbed], size: int) -> list[np.ndarray]:
    """The vectors of ``batch`` for ``kind``: the embedder's name (a vector a paper), or its
    passages key (k passages a paper, often none: embedded together, ``size`` texts a call, and
    stored as one k×dim row a paper)."""
    import numpy as np

    from .embedders import document_text

    if kind == embedder.name:
        return list(embedder.embed([document_text(b.title, b.abstract) for b in batch]))
    texts = [embedder.tail_passages(b.title, b.abstract) for b in batch]
    every = [t for ts in texts for t in ts]
    flat = np.concatenate([embedder.embed(every[i : i + size]) for i in range(0, len(every), size)]) if every else None
    ends = np.cumsum([len(ts) for ts in texts])
    return [
        flat[end - len(ts) : end] if flat is not None else np.empty((0, embedder.dim), np.float32)
        for ts, end in zip(texts, ends, strict=True)
    ]


class Backfill:
    """The backfill over one database, as the worker called ``worker`` (``host:pid:random``)."""

    def __init__(self, settings: Settings, storage: Storage, now: Callable[[], datetime], worker: str) -> None:
        self._settings = settings
        self._storage = storage
        self._now = now
        self.worker = worker

    def _lease(self) -> timedelta:
        return timedelta(seconds=self._settings.index_lease_seconds)

    def run(
        self,
        embedder: Embedder,
        *,
        batch_size: int | None = None,
        wait: bool = True,
        on_progress: Callable[[IndexProgress], None] | None = None,
        keep_going: Callable[[int], bool] | None = None,
    ) -> int:
        """Take part in the backfill until nothing is left (or ``keep_going(vectors)`` says stop);
        return the papers this worker embedded. ``batch_size`` papers are embedded at a time (the
        claim is ``index_batch_size`` papers); without ``wait`` it returns when every open batch is
        someone else's instead of waiting for them (background embedding)."""
        from .embedders import passages_key

        queue, vectors = self._storage.embed_queue, self._storage.vectors
        models = (embedder.name, passages_key(embedder.name))  # whole papers first, then long tails
        claim_size = self._settings.index_batch_size
        size = batch_size or claim_size
        lease = self._lease()
        poll = min(0.5, max(0.05, lease.total_seconds() / 4))  # how often a waiting worker looks again
        total = sum(vectors.count_stale(m) for m in models) if on_progress else 0
        queue.join(self.worker, embedder.name, self._now())
        before = queue.written(embedder.name)  # by the other workers: the progress shown is everyone's
        embedded = DistinctIds()  # the papers this worker embedded
        mine = 0
        stop = threading.Event()
        heart = threading.Thread(target=self._heartbeat, args=(stop, lease), name="broadsheet-embed-lease", daemon=True)
        heart.start()
        state = "failed"
        try:
            while True:
                claim = queue.claim(models, self.worker, self._now(), self._now() + lease)
                if claim is None:
                    if queue.release_dead(models, self._now(), holder_is_dead):
                        continue
                    if queue.open_batches(models) == 0:
                        if self._plan(models, claim_size):
                            continue
                        state = "finished"
                        return len(embedded)
                    if not wait:
                        state = "finished"
                        return len(embedded)
                    queue.set_state(self.worker, "waiting", self._now())
                    time.sleep(poll)
                    continue
                done, going = self._embed_batch(claim, embedder, size, lease, embedded, keep_going)
                mine += done
                if on_progress:
                    everyone = max(mine, queue.written(embedder.name) - before)
                    on_progress(IndexProgress(everyone, max(total, everyone)))
                if not going:
                    state = "stopped"
                    return len(embedded)
        finally:
            stop.set()
            heart.join()
            try:
                queue.release(self.worker)  # a batch left half done goes to another worker at once
                queue.set_state(self.worker, state, self._now())
            except Exception as e:  # noqa: BLE001 - the database may be what failed: keep that error
                log.warning("%s: could not give back its claims (their lease will expire): %s", self.worker, e)

    def _embed_batch(
        self,
        claim: Claim,
        embedder: Embedder,
        size: int,
        lease: timedelta,
        embedded: DistinctIds,
        keep_going: Callable[[int], bool] | None,
    ) -> tuple[int, bool]:
        """Embed what the claimed range still needs, ``size`` papers a transaction; returns the
        vectors written and whether to go on. A claim lost on the way (this worker stalled past
        its lease and another took the batch) ends the batch: the rest is the other's."""
        queue, vectors = self._storage.embed_queue, self._storage.vectors
        after, written = claim.first_id - 1, 0
        try:
            while items := vectors.stale(claim.model, size, after, until_id=claim.last_id):
                found = embed_items(embedder, claim.model, items, size)
                last = items[-1].paper_id >= claim.last_id
                rows = [(i.paper_id, i.content_hash, v) for i, v in zip(items, found, strict=True)]
                queue.write(claim, self.worker, rows, self._now(), self._now() + lease, done=last)
                embedded.update(i.paper_id for i in items)
                written, after = written + len(items), items[-1].paper_id
                if keep_going is not None and not keep_going(len(items)):
                    return written, False
                if last:
                    return written, True
            queue.finish(claim, self.worker, self._now())  # the rest was done by others meanwhile
        except LostClaim as e:
            log.warning("%s: %s; it goes on to the next", self.worker, e)
        return written, True

    def _plan(self, models: Sequence[str], size: int) -> int:
        """A new plan of what still needs a vector (read before the writer lock: planning takes it
        only to write the batches, and gives way when another worker planned first). Returns
        the open batches (0: nothing left to do)."""
        ranges = {m: self._storage.vectors.stale_ranges(m, size) for m in models}
        return self._storage.embed_queue.plan(ranges, self._now())

    def _heartbeat(self, stop: threading.Event, lease: timedelta) -> None:
        """Renew this worker's leases every third of the lease, until ``stop``."""
        every = lease.total_seconds() / 3
        while not stop.wait(every):
            try:
                self._storage.embed_queue.renew(self.worker, self._now(), self._now() + lease)
            except Exception as e:  # noqa: BLE001 - a missed renewal only risks the lease; say so
                log.warning("%s: could not renew its claims: %s", self.worker, e)

    def status(self, model: str) -> BackfillStatus:
        """See ``Hub.backfill_status``."""
        from .embedders import passages_key

        queue, vectors = self._storage.embed_queue, self._storage.vectors
        now, lease = self._now(), self._lease()
        papers = self._storage.counts_of_papers()
        stale_whole = vectors.count_stale(model)
        stale_passages = vectors.count_stale(passages_key(model))
        counts = queue.counts((model, passages_key(model)), now)
        workers = []
        for row in queue.workers(model):
            live = row.state in LIVE and row.last_seen >= now - lease
            seconds = (row.last_seen - row.started_at).total_seconds()
            workers.append(
                WorkerStatus(
                    row.worker,
                    row.state if live or row.state not in LIVE else "gone",
                    live,
                    row.written,
                    row.started_at,
                    row.last_seen,
                    row.written / seconds if seconds > 0 and row.written else None,
                )
            )
        remaining = stale_whole + stale_passages
        rates = [w.rate for w in workers if w.live and w.rate]
        rate = sum(rates) if rates else None
        return BackfillStatus(
            model=model,
            papers=papers,
            embedded=papers - stale_whole,
            passages=papers - stale_passages,
            remaining=remaining,
            batches_done=sum(c.done for c in counts),
            batches_claimed=sum(c.claimed for c in counts),
            batches_waiting=sum(c.waiting for c in counts),
            workers=tuple(workers),
            rate=rate,
            eta_seconds=remaining / rate if rate else None,
        )
