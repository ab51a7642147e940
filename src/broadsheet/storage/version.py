"""The data version: a counter in the database that every write which changes what pages show
bumps (``Hub._changed``), so that every process serving pages — `serve --workers N`, a second
server on PostgreSQL, a `broadsheet ingest` beside a running server — sees a change on its next
request and no cache keyed by the version serves what was true before it.

It is one row of ``sync_state`` (key ``data_version``, the number as its JSON state): no table of
its own, so no migration. Pages read it once per request (``web/cache.py``). On PostgreSQL that
read is one primary-key lookup (a round trip: app servers may be on other machines). A SQLite
database has all its processes on one machine, so there the version pages compare is also kept
in a memory-mapped file beside the database (``DATABASE-version``, 8 bytes) that every bump
increments after its commit: reading it is a memory load instead of a pool checkout, a statement
and a rollback (measured alone, the day page went from 1,243 to 1,266 requests/s with wrk: a
small part of a page). The file gets the database file's permission bits, so any account that
can write the database can bump it. If it cannot be made (a read-only folder), the database row
is read as on PostgreSQL.
"""

from __future__ import annotations

import fcntl
import logging
import mmap
import os
from datetime import datetime
from pathlib import Path

from sqlalchemy import BigInteger, Engine, Text, cast, update

from .engine import insert_ignore, writer
from .schema import sync_state

log = logging.getLogger(__name__)

KEY = "data_version"
_READ = f"SELECT state FROM sync_state WHERE key = '{KEY}'"  # a constant: no parameters to bind


class SharedCounter:
    """A 64-bit counter in a file that every process on the machine maps into memory: ``read`` is
    a memory load; ``increment`` takes the file's lock (increments from two processes both count).

    The file is made by the first ``read`` (a serving process), not by ``increment``: a command
    that only writes leaves no file behind; a process that starts reading later has nothing
    cached from before, so it has missed nothing."""

    def __init__(self, path: Path, mode: int = 0o600) -> None:
        self.path, self._mode = path, mode
        self._map: mmap.mmap | None = None

    def read(self) -> int:
        if self._map is None:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, self._mode)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                if os.fstat(fd).st_size < 8:  # a new file: zeros, and the mode asked for
                    os.ftruncate(fd, 8)
                    os.fchmod(fd, self._mode)  # (not what the umask leaves of it)
                self._map = mmap.mmap(fd, 8)  # keeps its own duplicate of fd, so:
                fcntl.flock(fd, fcntl.LOCK_UN)  # (the lock belongs to the file description, which the duplicate keeps open)
            finally:
                os.close(fd)
        return int.from_bytes(self._map[:8], "little")

    def increment(self) -> None:
        try:
            fd = os.open(self.path, os.O_RDWR)
        except FileNotFoundError:
            return  # no process has read it yet: nothing to tell
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            value = int.from_bytes(os.pread(fd, 8, 0).ljust(8, b"\0"), "little")
            os.pwrite(fd, (value + 1).to_bytes(8, "little"), 0)  # the same pages every mapping sees
        finally:
            os.close(fd)


def _shared_counter(engine: Engine) -> SharedCounter | None:
    """The counter beside a SQLite database file; None on PostgreSQL or for an in-memory database."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:" or database.startswith("file:"):
        return None
    path = Path(database).expanduser().resolve()
    try:
        mode = path.stat().st_mode & 0o666  # as SQLite gives its -wal and -shm files
    except OSError:
        mode = 0o600
    return SharedCounter(path.with_name(path.name + "-version"), mode)


class DataVersion:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._writer = writer(engine)
        self._shared = _shared_counter(engine)

    def read(self) -> int:
        """The current version: the shared counter beside a SQLite file, else the database row (0
        before the first write)."""
        if self._shared is not None:
            try:
                return self._shared.read()
            except OSError:  # cannot be made here (a read-only folder): the database's row
                self._shared = None
        return self.read_row()

    def read_row(self) -> int:
        """The database row. It goes straight to the driver: on SQLite one statement in autocommit
        mode, without the BEGIN and ROLLBACK a SQLAlchemy connection wraps it in (9 µs, not 43)."""
        conn = self._engine.raw_connection()
        try:
            cursor = conn.cursor()
            cursor.execute(_READ)
            row = cursor.fetchone()
            cursor.close()
        finally:
            conn.close()  # back to the pool (which rolls back whatever the driver began)
        return int(row[0]) if row is not None and row[0] is not None else 0

    def bump(self, now: datetime) -> None:
        """Add one, in one short transaction (atomic across processes: the row is updated in
        place, so two bumps at once give two increments); then the shared counter, once the change
        is committed (a page built from the data before the commit is keyed by the old value)."""
        self._bump_row(now)
        if self._shared is not None:
            try:
                self._shared.increment()
            except OSError as e:  # servers reading the file would not see this write: say so
                log.warning(
                    "data version: could not bump %s (%s); running servers may show pages from before this write until the next one",
                    self._shared.path, e,
                )

    def _bump_row(self, now: datetime) -> int:
        with self._writer.begin() as conn:
            conn.execute(insert_ignore(conn, sync_state).values(key=KEY, state="0", updated_at=now))
            conn.execute(
                update(sync_state)
                .where(sync_state.c.key == KEY)
                .values(state=cast(cast(sync_state.c.state, BigInteger) + 1, Text), updated_at=now)
            )
            return int(conn.exec_driver_sql(_READ).scalar_one())
