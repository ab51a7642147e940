"""One holder at a time for a named job, across processes and machines (``Hub.exclusive``).

- **PostgreSQL: a session advisory lock** (``pg_try_advisory_lock``) on a connection of its own,
  kept open while the lock is held. The server frees it when that connection ends, however the
  holder ended (exit, SIGKILL, a machine that vanished): nothing expires, nothing to clean up,
  and it works across machines, which a process id cannot.
- **SQLite: a lease** in the ``jobs`` table (``DigestStore.acquire_lease``): every process is on
  one machine, so a holder that died is recognised by its process id (``dead``), and otherwise
  the lease expires after ``seconds`` unless renewed (``keep``).

Both record the holder in the ``jobs`` row, so ``broadsheet digest status`` can say who holds it.
"""

from __future__ import annotations

import hashlib
import os
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import Connection, Engine, text

from .digests import DigestStore


class Lock(Protocol):
    name: str
    holder: str

    def acquire(self) -> bool:
        """Take the lock if it is free (or this holder has it); True when held."""

    def keep(self) -> bool:
        """Renew it while working; False when it was lost (its lease expired and was taken)."""

    def release(self) -> None: ...


def advisory_key(name: str) -> int:
    """A lock name's 64-bit advisory lock key (signed, as PostgreSQL's bigint)."""
    digest = hashlib.blake2b(f"broadsheet:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class LeaseLock:
    """A lease in ``jobs`` (SQLite, or any database without advisory locks)."""

    def __init__(
        self,
        store: DigestStore,
        name: str,
        holder: str,
        seconds: float,
        now: Callable[[], datetime],
        dead: Callable[[str], bool],
    ) -> None:
        self._store, self.name, self.holder = store, name, holder
        self._seconds, self._now, self._dead = seconds, now, dead

    def acquire(self) -> bool:
        now = self._now()
        return self._store.acquire_lease(self.name, self.holder, now, now + timedelta(seconds=self._seconds), dead=self._dead)

    def keep(self) -> bool:
        return self._store.renew_lease(self.name, self.holder, self._now() + timedelta(seconds=self._seconds))

    def release(self) -> None:
        self._store.release_lease(self.name, self.holder)

    @staticmethod
    def holder_of(store: DigestStore, name: str, now: datetime) -> str | None:
        return store.lease_holder(name, now)


class AdvisoryLock:
    """A PostgreSQL session advisory lock, held on its own (autocommit) connection."""

    def __init__(self, engine: Engine, store: DigestStore, name: str, holder: str) -> None:
        self._engine, self._store, self.name, self.holder = engine, store, name, holder
        self._key = advisory_key(name)
        self._conn: Connection | None = None

    def acquire(self) -> bool:
        if self._conn is not None:
            return self.keep()
        conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self._key}).scalar())
        except Exception:
            conn.close()
            raise
        if not got:
            conn.close()
            return False
        self._conn = conn
        self._store.set_holder(self.name, self.holder)  # for `digest status`; the lock decides
        return True

    def keep(self) -> bool:
        """Still held while its connection is alive (a server restart or a cut network ends it)."""
        if self._conn is None:
            return False
        try:
            self._conn.execute(text("SELECT 1"))
            return True
        except Exception:  # noqa: BLE001 - any driver error means the session, and the lock, are gone
            self._drop()
            return False

    def release(self) -> None:
        if self._conn is None:
            return
        try:
            self._store.set_holder(self.name, None, only=self.holder)
            self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self._key})
        finally:
            self._drop()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    @staticmethod
    def holder_of(engine: Engine, store: DigestStore, name: str) -> str | None:
        """Who holds the lock (as its holder recorded), or None when nobody does."""
        key = advisory_key(name) & 0xFFFFFFFFFFFFFFFF  # a bigint key shows as two oids
        with engine.connect() as conn:
            held = conn.execute(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                    "AND classid = CAST(:hi AS oid) AND objid = CAST(:lo AS oid) AND objsubid = 1"
                ),
                {"hi": key >> 32, "lo": key & 0xFFFFFFFF},
            ).scalar()
        return store.recorded_holder(name) if held else None


def holder_is_dead(holder: str) -> bool:
    """Whether a lease holder (``host:pid:nonce``) is a process of this host that has ended."""
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


@contextmanager
def hold(lock: Lock, renew_every: float) -> Iterator[Lock | None]:
    """Hold ``lock`` for the ``with`` block: yields it, or None when another holder has it (the
    block should then leave the work to them). A thread renews it every ``renew_every`` seconds
    while the block runs (SQLite's lease would expire under a long job: a harvest takes hours)."""
    if not lock.acquire():
        yield None
        return
    done = threading.Event()

    def renew() -> None:
        while not done.wait(renew_every):
            lock.keep()

    keeper = threading.Thread(target=renew, name=f"broadsheet-lock-{lock.name}", daemon=True)
    keeper.start()
    try:
        yield lock
    finally:
        done.set()
        keeper.join()
        lock.release()
