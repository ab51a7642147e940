"""Open a database: create the engine, run migrations; and the few dialect differences that are
not SQL text (how a writer takes its lock, upserts that ignore a duplicate).

SQLite and PostgreSQL run the same storage code. Where they differ, the difference is here (engine
set-up, writer locking, insert-or-ignore) or in a ``*_pg`` module beside its SQLite twin
(``fulltext_pg``, ``vectors_pg``, ``locks``). docs/dev.md "Storage" says why each one exists.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, create_engine, event, inspect
from sqlalchemy.engine import URL, make_url
from sqlalchemy.sql import Insert

from ..exceptions import StorageError

MIGRATIONS = Path(__file__).with_name("migrations")


# Every writing transaction on PostgreSQL first takes this transaction-level advisory lock: writers
# queue one after another as SQLite's BEGIN IMMEDIATE makes them, so code that reads and then
# writes in one transaction (is this listing there? then insert it) stays correct across processes
# and machines. Reads never wait for it. (A constant key: any 64-bit number unlikely to collide.)
PG_WRITER_LOCK = 0x62735F7772697465  # "bs_write"


def normalise_url(url: str) -> URL:
    """``url`` parsed; PostgreSQL URLs without a driver use psycopg (version 3), which Broadsheet
    depends on (SQLAlchemy's default, psycopg2, is not installed)."""
    try:
        parsed = make_url(url)
    except Exception as e:  # noqa: BLE001 - SQLAlchemy raises ArgumentError and ValueError
        raise StorageError(f"not a database URL: {url!r} ({e})") from e
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise StorageError(f"unsupported database {backend!r} in {url!r}: use sqlite:/// or postgresql://")
    return parsed


def create_db_engine(url: str) -> Engine:
    """An Engine for ``url``; for SQLite, the file's folder is created and WAL mode is set."""
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "postgresql":
        engine = create_engine(
            parsed, pool_pre_ping=True, pool_size=10, max_overflow=20, connect_args={"client_encoding": "utf8"}
        )
        event.listen(engine, "connect", _pg_text_without_nul)
        event.listen(engine, "begin", _pg_begin)
        from .vectors_pg import register_vector_type  # PostgreSQL-only modules load only here

        register_vector_type()
        return engine
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            _private_file(Path(parsed.database).expanduser())
        # A file's pool never makes a request wait: with SQLAlchemy's default (5 + 10 overflow)
        # 16 concurrent requests, some holding two connections at once (a paper and its extras),
        # emptied the pool and every further request waited 30 s for one (bench/web.py, 16
        # connections: 0 requests/s, then 500s). SQLite connections are cheap file handles; 20
        # are kept, more are opened when needed and closed when given back.
        pool = {"pool_size": 20, "max_overflow": -1} if parsed.database and parsed.database != ":memory:" else {}
        engine = create_engine(url, connect_args={"timeout": 30}, **pool)
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling is off (see _sqlite_pragmas): we emit BEGIN, as the
        # SQLAlchemy docs recommend. Writers ask for BEGIN IMMEDIATE (see `writer`) so that two
        # writers queue on busy_timeout instead of failing when a read lock is upgraded.
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    raise AssertionError(parsed)  # normalise_url refused other backends


def _private_file(path: Path) -> None:
    """Create the database file (empty: SQLite fills it) and any missing folders above it, readable
    by their owner only (0600, 0700): SQLite gives its -wal and -shm files the database file's mode.
    An existing file or folder keeps the mode it has."""
    missing = [p for p in [path.parent, *path.parent.parents] if not p.exists()]
    for folder in reversed(missing):
        folder.mkdir(mode=0o700, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    except OSError as e:
        raise StorageError(f"cannot create the database file {path}: {e}") from e


def writer(engine: Engine) -> Engine:
    """The same engine, but its transactions take the database's write lock up front: SQLite's
    BEGIN IMMEDIATE, PostgreSQL's writer advisory lock (``PG_WRITER_LOCK``)."""
    return engine.execution_options(immediate=True)


def _pg_text_without_nul(dbapi_conn, _record) -> None:  # noqa: ANN001 - a psycopg connection
    """PostgreSQL's text cannot hold U+0000 (SQLite's can): psycopg refuses the whole statement.
    Ingest replaces it already (sources.collapse_ws); this catches whatever else a user may type
    (a comment, a search, an email address) and stores U+FFFD instead, as for a lone surrogate."""
    for dumper in _nul_safe_dumpers():
        dbapi_conn.adapters.register_dumper(str, dumper)


@functools.cache
def _nul_safe_dumpers() -> tuple[type, type]:
    from psycopg.adapt import Dumper
    from psycopg.pq import Format

    class NulSafeText(Dumper):
        def dump(self, obj: str) -> bytes:
            return (obj.replace("\x00", "\ufffd") if "\x00" in obj else obj).encode()  # utf8: see connect_args

    class NulSafeTextBinary(NulSafeText):
        format = Format.BINARY
        oid = 25  # text

    return NulSafeText, NulSafeTextBinary


def _pg_begin(conn) -> None:  # noqa: ANN001 - a Connection
    if conn.get_execution_options().get("immediate"):
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%s)" % PG_WRITER_LOCK)


def insert_ignore(conn, table: Table) -> Insert:  # noqa: ANN001 - a Connection
    """``INSERT ... ON CONFLICT DO NOTHING`` in the connection's dialect: a row whose key exists
    already is skipped, in one statement (no read first, so no race between processes)."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table).on_conflict_do_nothing()


def is_postgres(engine) -> bool:  # noqa: ANN001 - an Engine or a Connection
    return engine.dialect.name == "postgresql"


def _sqlite_begin(conn) -> None:  # noqa: ANN001 - a Connection
    immediate = conn.get_execution_options().get("immediate")
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001 - DB-API connection
    dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (see create_db_engine)
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA cache_size=-65536")  # 64 MiB page cache: index inserts stay in memory
    cur.close()


def _alembic_config(connection):  # noqa: ANN001, ANN202 - Alembic types stay local
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (idempotent)."""
    heads = _head_revisions()
    if heads and _current_revisions(engine) == heads:
        return  # up to date: Alembic (a quarter of a second to import) is not needed
    from alembic import command

    try:
        with engine.begin() as conn:
            command.upgrade(_alembic_config(conn), "head")
    except Exception as e:  # Alembic wraps driver errors in many types
        raise StorageError(f"cannot migrate {engine.url!r}: {e}") from e


def schema_version(engine: Engine) -> str | None:
    """The current Alembic revision, or None for an empty database."""
    current = _current_revisions(engine)
    return ", ".join(sorted(current)) if current else None


def _current_revisions(engine: Engine) -> set[str]:
    """The revisions in Alembic's table (none for an empty database)."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return set()
        return {r[0] for r in conn.exec_driver_sql("SELECT version_num FROM alembic_version")}


@functools.cache
def _head_revisions() -> frozenset[str]:
    """The newest revisions of migrations/versions, read from the files as Alembic reads them
    (``revision = "0005"``, ``down_revision = "0004"``); empty when a file says it otherwise."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in (MIGRATIONS / "versions").glob("*.py"):
        source = script.read_text(encoding="utf-8")
        revision = re.search(r"^revision\s*=\s*['\"]([^'\"]+)['\"]\s*$", source, re.M)
        down = re.search(r"^down_revision\s*=\s*(.*)$", source, re.M)
        if not revision or not down:
            return frozenset()
        revisions.add(revision.group(1))
        parents.update(re.findall(r"['\"]([^'\"]+)['\"]", down.group(1)))
    return frozenset(revisions - parents)


def bulk_insert(conn, table: Table | str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:  # noqa: ANN001 - a Connection
    """Insert many rows straight through the driver: bulk rows skip SQLAlchemy's per-row
    compilation, which was a third of ingest time (docs/benchmarks.md). Column types still
    convert values. SQLite: executemany. PostgreSQL: COPY, which also parses text into the
    column's type (a tsvector, a pgvector), in a fraction of executemany's round trips."""
    if not rows:
        return
    if isinstance(table, Table):
        procs = [table.c[c].type.bind_processor(conn.dialect) for c in columns]
        if any(procs):
            rows = [tuple(v if f is None or v is None else f(v) for f, v in zip(procs, r)) for r in rows]
        table = table.name
    if is_postgres(conn):
        with conn.connection.driver_connection.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"
    conn.exec_driver_sql(sql, rows)


IN_CHUNK = 500  # ids per IN (...) clause: well under SQLite's variable limit


def chunks(seq: Sequence[Any], n: int = IN_CHUNK) -> Iterator[Sequence[Any]]:
    """``seq`` in slices of ``n``, for ``IN (...)`` lists."""
    for i in range(0, len(seq), n):
        yield seq[i : i + n]
