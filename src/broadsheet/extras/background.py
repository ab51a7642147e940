"""The background pass that `serve` and `worker` run for the extras: thumbnails of the papers
listed in the last ``thumbnail_days`` days (a submission wakes it at once), extracted keywords of
embedded listed papers, and summaries when a model is configured. A daemon thread at low priority that rests as long as
each round used the CPU (as the background embedder does); a page never waits for it. What a pass does is the Hub's callable (under a lock, so one process of
several does the work)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from ..search.background import lower_priority

log = logging.getLogger("broadsheet.extras")

IDLE_SECONDS = 60.0


class BackgroundExtras:
    def __init__(self, run_pass: Callable[[Callable[[], bool]], bool], *, idle_seconds: float = IDLE_SECONDS, nice: int = 10) -> None:
        """``run_pass(keep_going)`` does one round of work and returns True when there may be
        more (then the next round starts at once)."""
        self._run_pass = run_pass
        self._idle = idle_seconds
        self._nice = nice
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: str | None = None
        self.passes = 0

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="broadsheet-extras", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def wake(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        lower_priority(self._nice)
        while not self._stop.is_set():
            more = False
            cpu = time.thread_time()
            try:
                more = self._run_pass(lambda: not self._stop.is_set())
                self.error = None
            except Exception as e:  # noqa: BLE001 - keep serving; say what failed, retry later
                log.warning("background extras failed: %s", e)
                self.error = f"{type(e).__name__}: {e}"
            self.passes += 1
            # Rest as long as the round used the CPU: half a core at most, whatever the machine.
            self._stop.wait(time.thread_time() - cpu)
            if not more:
                self._wake.wait(self._idle)
                self._wake.clear()
