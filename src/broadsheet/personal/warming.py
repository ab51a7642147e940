"""Building For you's window features in the background, so that no member waits for them.

The first request of a window after new papers arrive would otherwise fit TF-IDF on some
5,000 texts and read their vectors and categories (seconds at 100k papers). `serve` and `worker`
start a :class:`Warmer`: a daemon thread at low priority (``nice`` 10, as the background
embedder) that builds the current windows one at a time when woken (after an ingest or a sync
through this Hub) and otherwise looks every ``idle_seconds`` (another process may have ingested:
``RecsStore.fingerprint`` notices it). What a pass does is a callable (``ForYou.warm``): this
module knows nothing of features or storage.

A build holds the GIL for most of its seconds (tokenising is Python), so requests served
meanwhile are slower, not blocked; a request for a window being built waits for that build
instead of starting a second one (``ForYou.pool``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from ..search.background import lower_priority

log = logging.getLogger("broadsheet.recommend")

NICE = 10


class Warmer:
    """A thread that runs ``warm()`` when woken and every ``idle_seconds`` until ``stop()``;
    ``passes``, ``built`` and ``error`` say what it did (for tests and diagnostics)."""

    def __init__(self, warm: Callable[[], int], *, idle_seconds: float = 60.0, nice: int = NICE) -> None:
        self._warm = warm
        self._idle = idle_seconds
        self._nice = nice
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.passes = 0
        self.built = 0
        self.error: str | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="broadsheet-foryou-warm", daemon=True)
            self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop after the build in progress (a few seconds at most)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        lower_priority(self._nice)
        while not self._stop.is_set():
            self._wake.clear()  # a wake from now on (new data during this pass) means one more pass
            try:
                self.built += self._warm()
                self.error = None
            except Exception as e:  # noqa: BLE001 - keep serving; a request builds what is missing
                log.warning("building For you's windows in the background failed: %s", e)
                self.error = f"{type(e).__name__}: {e}"
            self.passes += 1
            self._wake.wait(self._idle)
