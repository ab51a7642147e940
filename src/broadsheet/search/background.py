"""Embedding in the background: what `serve` and `worker` run so that semantic search works
without a separate `broadsheet index`.

A daemon thread runs passes: each pass embeds every paper that has no up-to-date vector, a few
papers at a time, then the thread waits and looks again (papers arrive from ingests, syncs and
other processes). It yields to the server's real work:

- the thread lowers its own priority (``nice`` 10: on Linux a thread's niceness is its own);
- a pass embeds ``batch`` papers per step, and the embedder runs a batch that small on the
  calling thread (``MiniLMOnnx`` only spreads larger ones over its pool), so the niceness applies;
- between steps it rests ``rest`` times the CPU time the step used, so it holds at most
  1 / (1 + rest) of a core (and of the GIL, which niceness does not share out) even when the
  machine is otherwise idle.

What a pass does is given as a callable (the Hub's ``index_embeddings`` under the embedding
lock): this module knows nothing of storage, and the Hub knows nothing of threads but start
and stop.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

log = logging.getLogger("broadsheet.embedding")

NICE = 10  # added to the thread's niceness
BATCH = 4  # papers per step: MiniLMOnnx's batch, embedded on this thread
REST = 1.0  # rest after a step, in multiples of the step's duration
IDLE_SECONDS = 60.0  # between two looks for new papers when there is nothing to embed

# One pass: embed what is missing, calling ``step_done(papers)`` after each step and stopping
# when it returns False; return the papers embedded, or None when another process holds the
# embedding lock (it does the work; look again later).
Pass = Callable[[Callable[[int], bool], int], int | None]


class BackgroundEmbedder:
    """A thread that runs embedding passes until ``stop()``; ``state``, ``rate`` and ``error``
    say what it does (for `broadsheet info` and the admin status page)."""

    def __init__(
        self,
        run_pass: Pass,
        *,
        batch: int = BATCH,
        rest: float = REST,
        idle_seconds: float = IDLE_SECONDS,
        nice: int = NICE,
    ) -> None:
        self._run_pass = run_pass
        self._batch = batch
        self._rest = rest
        self._idle = idle_seconds
        self._nice = nice
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.state = "idle"
        self.rate: float | None = None  # papers per second while embedding (rests included)
        self.error: str | None = None
        self.embedded = 0  # papers embedded since start

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="broadsheet-embed", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop after the step in progress (a few papers: about a second)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.state = "stopped"

    def wake(self) -> None:
        """Look for papers to embed now rather than at the end of the idle wait."""
        self._wake.set()

    def _run(self) -> None:
        lower_priority(self._nice)
        while not self._stop.is_set():
            try:
                self.state = "embedding"
                done = self._one_pass()
                self.state = "waiting" if done is None else "idle"
                self.error = None
            except Exception as e:  # noqa: BLE001 - keep serving; say what failed, retry later
                log.warning("background embedding failed: %s", e)
                self.state, self.error = "idle", f"{type(e).__name__}: {e}"
            self._wake.wait(self._idle)
            self._wake.clear()

    def _one_pass(self) -> int | None:
        started = time.monotonic()
        last = [time.thread_time()]
        count = [0]

        def step_done(papers: int) -> bool:
            now, cpu = time.monotonic(), time.thread_time()
            count[0] += papers
            self.embedded += papers
            self.rate = count[0] / (now - started) if now > started else None
            took, last[0] = cpu - last[0], cpu
            # Rest in proportion to the CPU the step used (not its wall time: on a busy machine a
            # low-priority step waits long for a core, and resting that long again would starve
            # it twice); the stop event ends a rest at once.
            return not self._stop.wait(self._rest * took) if self._rest > 0 else not self._stop.is_set()

        return self._run_pass(step_done, self._batch)


def lower_priority(nice: int) -> None:
    """Raise the calling thread's niceness by ``nice`` (Linux: per thread; elsewhere, or when not
    allowed, nothing happens)."""
    if nice <= 0 or not hasattr(os, "setpriority"):
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + nice))
    except OSError:
        pass
