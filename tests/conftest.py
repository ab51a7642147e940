"""Shared fixtures.

Tests that read ``../shared/data`` use the ``shared_data`` fixture: it skips with a reason when the
folder is absent, and fails instead when ``BROADSHEET_REQUIRE_SHARED=1`` (as in CI).

Every test that opens a database takes it from ``db_url`` (or ``module_db_url``), which runs the
test once per backend: SQLite (a file in the test's folder, copied from a migrated template) and
PostgreSQL (a fresh database, copied from a migrated template, on the server named by
``BROADSHEET_TEST_POSTGRES_URL``; ``.ci/postgres`` starts one). Without that variable the
PostgreSQL runs skip with the reason, or fail under ``BROADSHEET_REQUIRE_SHARED=1`` (CI).
``-m "not postgresql"`` runs SQLite alone. The slow tier (``@pytest.mark.slow``) is left out unless
asked for (``-m slow``; pyproject.toml's ``addopts``)."""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("BROADSHEET_SHARED_DIR", REPO.parent / "shared"))


def _need(path: Path) -> Path:
    if not path.exists():
        msg = f"{path} is absent (the project's shared test data; see README)"
        if os.environ.get("BROADSHEET_REQUIRE_SHARED") == "1":
            pytest.fail(msg + " and BROADSHEET_REQUIRE_SHARED=1")
        pytest.skip(msg)
    return path


POSTGRES_URL = os.environ.get("BROADSHEET_TEST_POSTGRES_URL", "")
BACKENDS = ("sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql))


class PostgresDatabases:
    """Throwaway databases on the test server, each a copy of one migrated template (CREATE
    DATABASE ... TEMPLATE takes ~0.1 s; migrating afresh would take longer)."""

    def __init__(self, url: str) -> None:
        from sqlalchemy import create_engine
        from sqlalchemy.engine import make_url

        from broadsheet.storage import open_storage

        self._url = make_url(url).set(drivername="postgresql+psycopg")
        self._admin = create_engine(self._url, isolation_level="AUTOCOMMIT", poolclass=_null_pool())
        self._prefix = f"bs_test_{os.getpid()}"
        self._names = (f"{self._prefix}_{n}" for n in itertools.count())
        self.template = f"{self._prefix}_template"
        self._sql(f"DROP DATABASE IF EXISTS {self.template}")
        self._sql(f"CREATE DATABASE {self.template}")
        open_storage(self.url_of(self.template)).close()  # migrated once

    def _sql(self, sql: str) -> None:
        from sqlalchemy import text

        with self._admin.connect() as conn:
            conn.execute(text(sql))

    def url_of(self, name: str) -> str:
        return self._url.set(database=name).render_as_string(hide_password=False)

    def create(self) -> str:
        """A new migrated, empty database; its URL."""
        name = next(self._names)
        self._sql(f"CREATE DATABASE {name} TEMPLATE {self.template}")
        return self.url_of(name)

    def drop(self, url: str) -> None:
        """Drop a database made by ``create`` (connections a test left open are ended)."""
        from sqlalchemy.engine import make_url

        name = make_url(url).database
        assert name and name.startswith(self._prefix), url
        self._sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def close(self) -> None:
        self._sql(f"DROP DATABASE IF EXISTS {self.template} WITH (FORCE)")
        self._admin.dispose()


def _null_pool():  # noqa: ANN202 - a pool class
    from sqlalchemy.pool import NullPool

    return NullPool


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresDatabases]:
    """The PostgreSQL test server; skips (fails in CI) when none is configured."""
    if not POSTGRES_URL:
        msg = "BROADSHEET_TEST_POSTGRES_URL is not set: no PostgreSQL server to test on (.ci/postgres starts one)"
        if os.environ.get("BROADSHEET_REQUIRE_SHARED") == "1":
            pytest.fail(msg + " and BROADSHEET_REQUIRE_SHARED=1")
        pytest.skip(msg)
    databases = PostgresDatabases(POSTGRES_URL)
    yield databases
    databases.close()


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """``sqlite`` or ``postgresql``: tests that use it run once on each (grouped by module)."""
    if request.param == "postgresql":
        request.getfixturevalue("postgres")
    return request.param


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated, empty SQLite database, made once: each test's SQLite database is a copy of it
    (copying takes a millisecond; migrating afresh takes 0.2-0.5 s, and ~600 tests open one)."""
    from broadsheet.storage import open_storage

    path = tmp_path_factory.mktemp("sqlite-template") / "hub.sqlite3"
    open_storage(f"sqlite:///{path}").close()
    leftovers = [p.name for p in path.parent.iterdir() if p != path]
    assert not leftovers, f"the template's journal was left beside it: {leftovers}"
    return path


def _new_database(backend: str, folder: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        path = folder / "hub.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    return request.getfixturevalue("postgres").create()


def _drop_database(backend: str, url: str, request: pytest.FixtureRequest) -> None:
    if backend == "postgresql":
        from helpers import close_hubs

        close_hubs(url)
        request.getfixturevalue("postgres").drop(url)


@pytest.fixture
def db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A new, empty, migrated database of the test's backend, for this test."""
    url = _new_database(backend, tmp_path, request)
    yield url
    _drop_database(backend, url, request)


@pytest.fixture(scope="module")
def module_db_url(backend: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[str]:
    """Like ``db_url``, shared by the tests of a module."""
    url = _new_database(backend, tmp_path_factory.mktemp("db"), request)
    yield url
    _drop_database(backend, url, request)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (read-only)."""
    return _need(SHARED / "data")


@pytest.fixture(scope="session")
def fixtures_dir(shared_data: Path) -> Path:
    """``../shared/data/fixtures``: real recorded API responses."""
    return _need(shared_data / "fixtures")


@pytest.fixture(scope="session")
def seed_page() -> Path:
    """``../shared/seed/daily-papers-page.txt``: the page the user gave."""
    return _need(SHARED / "seed" / "daily-papers-page.txt")


@pytest.fixture
def replay(fixtures_dir: Path):
    """A replay server of the recorded arXiv API, OAI-PMH and HF responses, with faults on demand
    (``tests/replay.py``)."""
    from replay import Replay

    with Replay(fixtures_dir) as server:
        yield server


@pytest.fixture(autouse=True, scope="session")
def private_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The user's data directory (where a Hub on PostgreSQL keeps its generated secret key) is
    a temporary one: tests never write into the home directory."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("xdg-data")))
        yield


@pytest.fixture(autouse=True, scope="session")
def cheap_password_hashing() -> Iterator[None]:
    """Argon2 at its real cost takes 0.5-1 s a hash on two busy cores; every test but the one that
    checks the real parameters (test_hub_community) hashes with the cheapest ones instead."""
    from argon2 import PasswordHasher

    from broadsheet import accounts

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(accounts, "_hasher", lambda: PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
        yield
