"""Shared fixtures.

Tests that read ``../shared/data`` use the ``shared_data`` fixture: it skips with a reason when the
folder is absent, and fails instead when ``BROADSHEET_REQUIRE_SHARED=1`` (as in CI).
"""

from __future__ import annotations

import os
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
def cheap_password_hashing() -> Iterator[None]:
    """Argon2 at its real cost takes 0.5-1 s a hash on two busy cores; every test but the one that
    checks the real parameters (test_hub_community) hashes with the cheapest ones instead."""
    from argon2 import PasswordHasher

    from broadsheet import accounts

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(accounts, "_hasher", lambda: PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
        yield
