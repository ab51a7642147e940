"""The data version of a SQLite database is also kept in a memory-mapped file beside it
(storage/version.py): a bump by another process shows on the next read, a process that only
writes leaves no file, and where the file cannot be made the database row is read instead."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from pathlib import Path

from broadsheet.storage import open_storage

BUMP = """
import sys
from datetime import datetime
from broadsheet.storage import open_storage
s = open_storage(sys.argv[1]); s.version.bump(datetime(2026, 1, 1)); s.close()
"""


def _bump_in_another_process(url: str) -> None:
    src = Path(__file__).resolve().parents[1] / "src"
    subprocess.run([sys.executable, "-c", BUMP, url], check=True, env={"PYTHONPATH": str(src)}, timeout=60)


def test_a_bump_by_another_process_shows_at_the_next_read(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hub.sqlite3'}"
    _bump_in_another_process(url)  # nobody reads yet: no file made for it
    assert not (tmp_path / "hub.sqlite3-version").exists()
    storage = open_storage(url)
    try:
        first = storage.version.read()
        assert (tmp_path / "hub.sqlite3-version").stat().st_size == 8
        _bump_in_another_process(url)
        assert storage.version.read() == first + 1
        storage.version.bump(datetime(2026, 1, 2))
        assert storage.version.read() == first + 2
        assert storage.version.read_row() == 3  # the row counts every bump, made before or after
    finally:
        storage.close()


def test_without_the_file_the_row_is_read(tmp_path: Path) -> None:
    (tmp_path / "hub.sqlite3-version").mkdir()  # cannot be opened as the counter's file
    storage = open_storage(f"sqlite:///{tmp_path / 'hub.sqlite3'}")
    try:
        assert storage.version.read() == 0
        storage.version.bump(datetime(2026, 1, 1))
        assert storage.version.read() == 1 == storage.version.read_row()
    finally:
        storage.close()


def test_the_file_has_the_databases_permissions(tmp_path: Path) -> None:
    """An account that may write the database (a group sharing it, `broadsheet ingest` run by
    another user) may bump the counter too: else its writes would not show on running servers."""
    db = tmp_path / "hub.sqlite3"
    open_storage(f"sqlite:///{db}").close()
    db.chmod(0o660)
    storage = open_storage(f"sqlite:///{db}")
    try:
        storage.version.read()
        assert (tmp_path / "hub.sqlite3-version").stat().st_mode & 0o777 == 0o660
    finally:
        storage.close()
