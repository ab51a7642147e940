"""`broadsheet serve --workers N`: N uvicorn worker processes on one port, one of them elected to
run the server's background work.

uvicorn's own multi-process mode starts each worker in a fresh (spawned) interpreter and builds
the app there by calling ``worker_app`` (an app factory). A worker cannot be handed the parent's
``Settings`` object, so the parent puts them in the environment (``SETTINGS_ENV``, JSON) and each
worker makes its own ``Hub`` from them. uvicorn restarts a worker that dies.

Background work (embedding what has no vector, thumbnails/keywords/summaries, For you's windows,
and any index catch-up the search indexes do in the background) must run once per machine, not
once per worker. ``BackgroundDuty`` elects the process that runs it with a file lock (``flock``
on ``serve-background.lock`` in the search indexes' folder, ``Settings.resolved_index_dir()``):
the lock goes with the process, so when the elected worker dies the kernel releases it, and the
other workers, which try again every ``RETRY_SECONDS``, take over. Embedding and the extras pass
also hold their own database locks, so a `broadsheet worker` beside the server still works once.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..config import Settings
from ..hub import Hub, make_hub
from ..logs import configure_logging
from ..search.index_files import IndexFiles
from .app import create_app

SETTINGS_ENV = "BROADSHEET_SERVE_SETTINGS"  # the parent's Settings, as JSON, for the workers
PID_HEADER_ENV = "BROADSHEET_SERVE_PID_HEADER"  # tests: answer with X-Broadsheet-Worker: <pid>
LOCK_NAME = "serve-background"
RETRY_SECONDS = 5.0

log = logging.getLogger("broadsheet.web")


def start_background_work(hub: Hub) -> None:
    """What one server process per machine runs beside serving: embedding what has no vector
    yet, thumbnails/keywords/summaries of new papers, For you's windows (all at low priority)."""
    hub.start_background_embedding()
    hub.start_background_extras()
    hub.start_background_recommendations()


class BackgroundDuty:
    """Run ``start(hub)`` in this process while it holds the machine's background lock: try now,
    and again every ``retry`` seconds until it is ours (another worker died) or ``stop()``."""

    def __init__(self, lock_dir: Path, start: Callable[[], None], *, retry: float = RETRY_SECONDS) -> None:
        self._files = IndexFiles(lock_dir)
        self._start = start
        self._retry = retry
        self._stop = threading.Event()
        self.elected = threading.Event()
        self._thread = threading.Thread(target=self._run, name="background-duty", daemon=True)

    def begin(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._files.writer(LOCK_NAME) as mine:
                if mine:
                    log.info("background work (embedding, extras, For you) runs in this process (pid %d)", os.getpid())
                    self.elected.set()
                    self._start()
                    self._stop.wait()  # hold the lock until shutdown (or death, which releases it)
                    return
            self._stop.wait(self._retry)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def settings_to_env(settings: Settings) -> str:
    """The settings as the workers read them back (``settings_from_env``)."""
    return json.dumps(dataclasses.asdict(settings))


def settings_from_env(raw: str) -> Settings:
    return Settings(**json.loads(raw))


class PidHeader:
    """ASGI middleware for tests: says which worker process answered."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_pid(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-broadsheet-worker", str(os.getpid()).encode())]
            await send(message)

        await self.app(scope, receive, with_pid if scope["type"] == "http" else send)


def worker_app() -> ASGIApp:
    """The app of one worker process (uvicorn calls it, ``factory=True``): its own Hub from the
    parent's settings, search warming up, and the background duty's election."""
    settings = settings_from_env(os.environ[SETTINGS_ENV])
    configure_logging(settings, process_ids=True)
    hub = make_hub(settings)
    hub.warm_up()  # each worker's own search indexes; FTS5 serves meanwhile
    if settings.submit_fetch and hub.fetch_paper is None:
        hub.fetch_paper = hub.fetch_arxiv_paper
    duty = BackgroundDuty(settings.resolved_index_dir(), lambda: start_background_work(hub))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        duty.begin()
        async with inner(app):
            yield
        duty.stop()
        hub.close()

    app = create_app(hub)
    inner = app.router.lifespan_context
    app.router.lifespan_context = lifespan
    if os.environ.get(PID_HEADER_ENV):
        return PidHeader(app)
    return app
