"""Search indexes as files: generations published atomically, one writer per machine.

The lexical and vector indexes are kept in a directory (beside the SQLite database by default, see
the ``index_dir`` setting) so that a server starts by memory-mapping them instead of rebuilding,
and every process on a machine shares one copy through the page cache::

    index_dir/
      lexical.json            the manifest: which generation is current, and what it holds
      lexical-000012/         one generation's files (numpy .npy, an ANN index file, ...)
      lexical.lock            flock: held by the one process that writes this index

A writer makes a new generation in a temporary directory, syncs its files, renames the directory
into place and only then replaces the manifest (``os.replace``, then syncs the directory). A process
killed at any point leaves the previous manifest naming complete files: the index opens at its last
committed state and catches up from the database. Readers in other processes notice a new manifest
(``Manifest.generation`` changes) and map the new files; files of an old generation are removed
only when no manifest names them, and a process that still maps them keeps reading them (POSIX
keeps a removed file's pages while it is mapped).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MANIFEST_VERSION = 1


@dataclass(frozen=True)
class Manifest:
    """What a published generation holds. ``meta`` is the index's own (database identity,
    watermark, model, counts...): the index decides from it whether the files match the database."""

    name: str
    generation: int
    path: Path
    meta: dict[str, Any] = field(default_factory=dict)


class IndexFiles:
    """The index directory: read the current manifest, publish a generation, hold the writer lock."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _manifest_path(self, name: str) -> Path:
        return self.root / f"{name}.json"

    def current(self, name: str) -> Manifest | None:
        """The published generation of ``name``; None when there is none or it is unreadable (a
        manifest naming a missing directory is treated as none: the index is rebuilt)."""
        try:
            raw = json.loads(self._manifest_path(name).read_text("utf-8"))
            generation = int(raw["generation"])
            meta = dict(raw.get("meta") or {})
            if raw.get("version") != MANIFEST_VERSION:
                return None
        except (OSError, ValueError, KeyError, TypeError):
            return None
        path = self.root / f"{name}-{generation:06d}"
        if not path.is_dir():
            return None
        return Manifest(name, generation, path, meta)

    @contextlib.contextmanager
    def new_generation(self, name: str) -> Iterator[Path]:
        """A temporary directory to write a generation's files into; removed if the block fails.
        Pass it to ``publish`` inside the block."""
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", suffix=".tmp", dir=self.root))
        try:
            yield tmp
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)

    def publish(self, name: str, tmp: Path, meta: dict[str, Any]) -> Manifest:
        """Make ``tmp``'s files the current generation of ``name`` (call under the writer lock)."""
        old = self.current(name)
        generation = max(self._generations(name) + [old.generation if old else 0]) + 1
        for f in tmp.iterdir():
            _fsync(f)
        final = self.root / f"{name}-{generation:06d}"
        os.rename(tmp, final)
        _fsync(self.root)
        body = json.dumps({"version": MANIFEST_VERSION, "generation": generation, "meta": meta}, sort_keys=True)
        fd, staged = tempfile.mkstemp(prefix=f".{name}-", suffix=".json.tmp", dir=self.root)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(body)
            f.flush()
            os.fsync(f.fileno())
        os.replace(staged, self._manifest_path(name))
        _fsync(self.root)
        return Manifest(name, generation, final, meta)

    def remove_old(self, name: str) -> None:
        """Remove generations (and temporary directories left by killed writers) that the manifest
        does not name. Call under the writer lock."""
        now = self.current(name)
        for path in self.root.glob(f"{name}-*"):
            if path.is_dir() and (now is None or path != now.path):
                shutil.rmtree(path, ignore_errors=True)
        for path in self.root.glob(f".{name}-*.tmp"):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)

    def _generations(self, name: str) -> list[int]:
        found = []
        for path in self.root.glob(f"{name}-*"):
            suffix = path.name[len(name) + 1 :]
            if suffix.isdigit():
                found.append(int(suffix))
        return found

    @contextlib.contextmanager
    def writer(self, name: str, *, wait: bool = False) -> Iterator[bool]:
        """Hold the writer lock of ``name``: yields True when this process holds it, False when another
        does (``wait=False``). The lock goes with the process: a killed writer releases it."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
