"""Where resumable syncs stand: one JSON object per key in ``sync_state``.

An OAI-PMH harvest saves its next resumption token here after each page it has stored, so a killed
harvest resumes from the page after the last one it stored (``broadsheet.sync.oai``).

It also holds the database's identity (``database_id``): a random id made once, which the search
indexes kept as files record, so files built from another database are noticed and rebuilt.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from .engine import writer
from .schema import sync_state


DATABASE_ID_KEY = "database-id"


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

    def database_id(self) -> str:
        """This database's random identity, made on first use (a copy of the database file shares
        it; a restored older backup is told apart by the index's own watermark checks)."""
        found = self.get(DATABASE_ID_KEY)
        if found and found.get("id"):
            return str(found["id"])
        made = uuid.uuid4().hex
        try:
            with self._writer.begin() as conn:
                conn.execute(
                    insert(sync_state).values(
                        key=DATABASE_ID_KEY, state=json.dumps({"id": made}), updated_at=datetime.now(timezone.utc).replace(tzinfo=None)
                    )
                )
        except IntegrityError:  # another process made it first: theirs stands
            pass
        found = self.get(DATABASE_ID_KEY)
        return str(found["id"]) if found else made
