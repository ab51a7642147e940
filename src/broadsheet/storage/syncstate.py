"""Where resumable syncs stand: one JSON object per key in ``sync_state``.

An OAI-PMH harvest saves its next resumption token here after each page it has stored, so a killed
harvest resumes from the page after the last one it stored (``broadsheet.sync.oai``).

It also keeps the database's random id (``database_id``): index files kept beside or away from the
database record it, and are rebuilt when they find another (a different database).
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from .engine import writer
from .schema import sync_state


DATABASE_ID = "database-id"


class SyncStateStore:
    """``get`` / ``put`` / ``delete`` of small JSON states by key."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._writer = writer(engine)

    def get(self, key: str) -> dict[str, Any] | None:
        with self._engine.connect() as conn:
            raw = conn.execute(select(sync_state.c.state).where(sync_state.c.key == key)).scalar_one_or_none()
        return None if raw is None else json.loads(raw)

    def put(self, key: str, state: dict[str, Any], now: datetime) -> None:
        """Insert or replace the state of ``key`` (one short transaction)."""
        raw = json.dumps(state, sort_keys=True)
        with self._writer.begin() as conn:
            done = conn.execute(update(sync_state).where(sync_state.c.key == key).values(state=raw, updated_at=now))
            if done.rowcount == 0:
                conn.execute(insert(sync_state).values(key=key, state=raw, updated_at=now))

    def delete(self, key: str) -> None:
        with self._writer.begin() as conn:
            conn.execute(delete(sync_state).where(sync_state.c.key == key))

    def database_id(self, now: datetime) -> str:
        """This database's random id, made on first use (two processes making it at once: the
        first insert wins, the other reads it)."""
        state = self.get(DATABASE_ID)
        if state is None:
            try:
                with self._writer.begin() as conn:
                    conn.execute(insert(sync_state).values(key=DATABASE_ID, state=json.dumps({"id": secrets.token_hex(16)}), updated_at=now))
            except IntegrityError:
                pass
            state = self.get(DATABASE_ID)
        assert state is not None
        return str(state["id"])
