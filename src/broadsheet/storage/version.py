"""The data version: a counter in the database that every write which changes what pages show
bumps (``Hub._changed``), so that every process serving pages — `serve --workers N`, a second
server on PostgreSQL, a `broadsheet ingest` beside a running server — sees a change on its next
request and no cache keyed by the version serves what was true before it.

It is one row of ``sync_state`` (key ``data_version``, the number as its JSON state): no table of
its own, so no migration. Reading it is one primary-key lookup (a few tens of microseconds on
SQLite); pages read it once per request (``web/cache.py``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Engine, Text, cast, update

from .engine import insert_ignore, writer
from .schema import sync_state

KEY = "data_version"
_READ = f"SELECT state FROM sync_state WHERE key = '{KEY}'"  # a constant: no parameters to bind


class DataVersion:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._writer = writer(engine)

    def read(self) -> int:
        """The current version (0 before the first write). Every page asks, so it goes straight to
        the driver: on SQLite one statement in autocommit mode, without the BEGIN and ROLLBACK a
        SQLAlchemy connection wraps it in (9 µs instead of 43)."""
        conn = self._engine.raw_connection()
        try:
            cursor = conn.cursor()
            cursor.execute(_READ)
            row = cursor.fetchone()
            cursor.close()
        finally:
            conn.close()  # back to the pool (which rolls back whatever the driver began)
        return int(row[0]) if row is not None and row[0] is not None else 0

    def bump(self, now: datetime) -> int:
        """Add one, in one short transaction (atomic across processes: the row is updated in
        place, so two bumps at once give two increments)."""
        with self._writer.begin() as conn:
            conn.execute(insert_ignore(conn, sync_state).values(key=KEY, state="0", updated_at=now))
            conn.execute(
                update(sync_state)
                .where(sync_state.c.key == KEY)
                .values(state=cast(cast(sync_state.c.state, BigInteger) + 1, Text), updated_at=now)
            )
            return int(conn.exec_driver_sql(_READ).scalar_one())
