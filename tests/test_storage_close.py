"""Closing the storage while another thread still holds a connection (a background round that
has not yet seen the Hub close) must not leave that connection to the garbage collector: with
psycopg that is a ResourceWarning at some unrelated later moment (it failed a CI run)."""

from __future__ import annotations

from sqlalchemy import text

from broadsheet.storage import open_storage


def test_a_connection_given_back_after_close_is_closed(db_url: str) -> None:
    storage = open_storage(db_url)
    late = storage.engine.connect()  # checked out before close, given back after
    late.execute(text("SELECT 1"))
    raw = late.connection.dbapi_connection
    storage.close()
    late.close()
    assert raw.closed if hasattr(raw, "closed") and isinstance(raw.closed, bool) else _sqlite_closed(raw)


def test_a_connection_opened_after_close_is_closed_when_given_back(db_url: str) -> None:
    storage = open_storage(db_url)
    storage.close()
    with storage.engine.connect() as conn:  # a straggler opens one on the disposed engine
        conn.execute(text("SELECT 1"))
        raw = conn.connection.dbapi_connection
    assert raw.closed if hasattr(raw, "closed") and isinstance(raw.closed, bool) else _sqlite_closed(raw)


def _sqlite_closed(raw: object) -> bool:
    import sqlite3

    try:
        raw.execute("SELECT 1")  # type: ignore[attr-defined]
    except sqlite3.ProgrammingError:
        return True
    return False
