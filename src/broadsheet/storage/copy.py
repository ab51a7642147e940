"""Copy everything from one database to another, either way between SQLite and PostgreSQL
(``broadsheet copy-db``): every table of ``schema.py`` with its ids, the full-text index made anew
in the target's dialect, pgvector's column filled on PostgreSQL, sequences moved past the copied
ids, and per-table counts compared at the end.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import Connection, Table, delete, func, insert, select, text

from ..exceptions import InvalidInputError, StorageError
from ..types import CopyProgress
from . import Storage
from .engine import writer
from .schema import FTS_TABLE, embeddings, metadata, thumbnails
from .vectors_pg import put_copied

CHUNK = 2000  # rows per read and per target transaction
PICTURE_CHUNK = 50  # ...of thumbnails: a rendered page is tens of kB (2,000 of them ~100 MB in memory)
TABLES: tuple[Table, ...] = tuple(metadata.sorted_tables)  # parents before children
FULLTEXT = "papers_fts"  # how the index shows in counts and progress


def counts(storage: Storage) -> dict[str, int]:
    """Rows per table (and of the full-text index)."""
    with storage.engine.connect() as conn:
        found = {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in TABLES}
        found[FULLTEXT] = conn.execute(text(f"SELECT count(*) FROM {FTS_TABLE}")).scalar_one()
    return found


def _rows(storage: Storage, table: Table, chunk: int) -> Iterator[list[dict[str, Any]]]:
    """A table's rows in primary-key order (a comment's parent comes before it), in chunks."""
    with storage.engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=chunk).execute(
            select(table).order_by(*table.primary_key.columns)
        )
        while rows := result.fetchmany(chunk):
            yield [dict(r._mapping) for r in rows]


def _empty(storage: Storage) -> None:
    with writer(storage.engine).begin() as conn:
        storage.fulltext.remove_all(conn)
        for table in reversed(TABLES):
            conn.execute(delete(table))


def _insert(target: Storage, conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    if table is embeddings and target.is_postgres:
        put_copied(conn, rows)  # with each whole vector's pgvector twin
    else:
        conn.execute(insert(table), rows)


def _fix_sequences(conn: Connection) -> None:
    """PostgreSQL: next ids continue after the copied ones (SQLite needs nothing)."""
    for table in TABLES:
        pk = list(table.primary_key.columns)
        if len(pk) == 1 and pk[0].autoincrement in (True, "auto") and pk[0].type.python_type is int:
            conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', '{pk[0].name}'), "
                    f"COALESCE(max({pk[0].name}), 1), max({pk[0].name}) IS NOT NULL) FROM {table.name}"
                )
            )


def copy_database(
    source: Storage,
    target: Storage,
    *,
    replace: bool = False,
    chunk: int = CHUNK,
    picture_chunk: int = PICTURE_CHUNK,
    on_progress: Callable[[CopyProgress], None] | None = None,
) -> dict[str, int]:
    """Copy ``source`` into ``target`` (both migrated to the newest schema); return the rows per
    table. The target must be empty unless ``replace`` (then its rows are deleted first). Raises
    StorageError when the counts differ afterwards.

    Memory stays flat whatever the size: every table is read as a stream (a server-side cursor on
    PostgreSQL) ``chunk`` rows at a time, thumbnails (pictures) ``picture_chunk`` at a time, and
    each chunk is written in its own transaction."""
    if source.engine.url == target.engine.url:
        raise InvalidInputError("copy-db: the source and the target are the same database")
    wanted = counts(source)
    present = {k: v for k, v in counts(target).items() if v}
    if present and not replace:
        raise InvalidInputError(
            "copy-db: the target is not empty ("
            + ", ".join(f"{n} {k}" for k, n in present.items())
            + "); use --replace to delete its contents first"
        )
    if present:
        _empty(target)
    for table in TABLES:
        done = 0
        if on_progress:
            on_progress(CopyProgress(table.name, 0, wanted[table.name]))
        for rows in _rows(source, table, min(chunk, picture_chunk) if table is thumbnails else chunk):
            if table is thumbnails:  # files beside a SQLite database, rows on PostgreSQL
                rows = target.thumbnails.stored_form(source.thumbnails.with_pictures(rows))
            with writer(target.engine).begin() as conn:
                _insert(target, conn, table, rows)
            done += len(rows)
            if on_progress:
                on_progress(CopyProgress(table.name, done, wanted[table.name]))
    # The full-text index: the source's normalised text, indexed the target's way.
    done = 0
    if on_progress:
        on_progress(CopyProgress(FULLTEXT, 0, wanted[FULLTEXT]))
    batch: list[tuple[int, str, str, str]] = []
    for doc in source.fulltext.documents(chunk=chunk):
        batch.append((doc.paper_id, doc.title, doc.abstract, doc.authors))
        if len(batch) == chunk:
            done += _put_fulltext(target, batch)
            batch = []
            if on_progress:
                on_progress(CopyProgress(FULLTEXT, done, wanted[FULLTEXT]))
    done += _put_fulltext(target, batch)
    if on_progress:
        on_progress(CopyProgress(FULLTEXT, done, wanted[FULLTEXT]))
    if target.is_postgres:
        with writer(target.engine).begin() as conn:
            _fix_sequences(conn)
    target.papers.optimize_fulltext()
    copied = counts(target)
    wrong = {k: (n, copied.get(k)) for k, n in wanted.items() if copied.get(k) != n}
    if wrong:
        raise StorageError(
            "copy-db: counts differ after the copy: " + ", ".join(f"{k} {a} in the source, {b} in the target" for k, (a, b) in wrong.items())
        )
    return copied


def _put_fulltext(target: Storage, rows: list[tuple[int, str, str, str]]) -> int:
    if rows:
        with writer(target.engine).begin() as conn:
            target.fulltext.put(conn, rows)
    return len(rows)


def copy_between(
    from_url: str, to_url: str, *, replace: bool = False, on_progress: Callable[[CopyProgress], None] | None = None
) -> dict[str, int]:
    """``copy_database`` between two database URLs, each opened (and migrated) for the copy."""
    from . import open_storage

    source = open_storage(from_url)
    try:
        target = open_storage(to_url)
        try:
            return copy_database(source, target, replace=replace, on_progress=on_progress)
        finally:
            target.close()
    finally:
        source.close()
