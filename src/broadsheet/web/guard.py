"""Searches under load: a per-address limit for anonymous ``/search``, and a bounded number of
searches at once.

A search costs far more than any other page, and random queries never hit the page cache. So:

- visitors who are not logged in may run ``rate_search_anonymous`` searches per client address
  (the API, feed and BibTeX searches count against ``rate_api_anonymous`` instead); over it, a
  429 page with Retry-After;
- at most ``search_concurrency`` searches (pages, API, feeds, BibTeX) run at once; the next ones
  wait in line, first come first served, for at most ``search_queue_seconds``, then get 503 with
  Retry-After. Waiting costs no thread, so the rest of the site (and ``/healthz``) stays quick.

``SearchGuard`` sits inside the page cache: a cached answer skips both.
"""

from __future__ import annotations

import asyncio
import math
import os
import threading
from collections import deque
from collections.abc import Callable

from fastapi import Request
from fastapi.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from ..hub import Hub
from .cache import session_member
from .security import SESSION_COOKIE, RateLimited, RateLimiter

SEARCH_PATHS = frozenset(
    {"/search", "/search.bib", "/api/papers/search", "/feeds/search.atom", "/feeds/search.rss"}
)
LIMITED_PATH = "/search"  # the others are limited with the API (rate_api_anonymous)


def slots_for(setting: int) -> int:
    """``search_concurrency``: 0 means twice the CPU cores."""
    return setting if setting > 0 else 2 * (os.cpu_count() or 1)


class SearchSlots:
    """At most ``size`` holders at once; the others wait in line (first come, first served) for
    up to ``wait`` seconds. Thread-safe, and usable from any event loop."""

    def __init__(self, size: int, wait: float) -> None:
        self.size, self.wait = max(1, size), max(0.0, wait)
        self._held = 0
        self._line: deque[asyncio.Future[None]] = deque()
        self._lock = threading.Lock()

    @property
    def held(self) -> int:
        return self._held

    def try_take(self) -> bool:
        """Take a free slot without waiting; False when none is free (or others wait for one)."""
        with self._lock:
            if self._held < self.size and not self._line:
                self._held += 1
                return True
            return False

    async def take(self) -> bool:
        """Hold a slot (True), after waiting in line at most ``wait`` seconds; False if none
        came free. The caller gives it back with ``give_back``."""
        if self.try_take():
            return True
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        with self._lock:
            if self._held < self.size and not self._line:  # freed meanwhile
                self._held += 1
                return True
            self._line.append(waiter)
        try:
            await asyncio.wait_for(asyncio.shield(waiter), self.wait)
            return True
        except BaseException as e:  # timed out, or the client went away (cancelled)
            with self._lock:
                queued = waiter in self._line
                if queued:
                    self._line.remove(waiter)
            timed_out = isinstance(e, TimeoutError)
            if queued:  # still in line: nothing held
                if timed_out:
                    return False
                raise
            if timed_out:  # the slot was handed over just as the wait ran out: keep it
                return True
            self.give_back()
            raise

    def give_back(self) -> None:
        """Free a slot: it passes to the first in line, if anyone waits."""
        with self._lock:
            while self._line:
                waiter = self._line.popleft()
                if not waiter.done():
                    waiter.get_loop().call_soon_threadsafe(_wake, waiter)
                    return  # the slot passes on: as many are held
            self._held -= 1


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


ErrorPage = Callable[[Request, int, str, dict[str, str]], Response]


class SearchGuard:
    """ASGI middleware for ``SEARCH_PATHS``: the anonymous limit on ``/search``, then a slot from
    ``SearchSlots`` for the whole request. ``error_page`` renders the 429 and 503 answers in the
    site's style (JSON for the API)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        hub: Hub,
        limiter: RateLimiter,
        slots: SearchSlots,
        error_page: ErrorPage,
    ) -> None:
        self.app, self._hub, self._limiter, self._slots = app, hub, limiter, slots
        self._error_page = error_page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in SEARCH_PATHS:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        if scope["path"] == LIMITED_PATH and await self._anonymous(request):
            try:
                self._limiter.hit("searches", request.client.host if request.client else "unknown")
            except RateLimited as e:
                wait = f"{e.retry_after} seconds" if e.retry_after < 120 else f"{e.retry_after // 60} minutes"
                message = (
                    f"You have made too many searches in a short time. Please wait {wait} and try "
                    "again (members who are logged in are not limited)."
                )
                await self._answer(request, 429, message, e.retry_after, send)
                return
        if not await self._slots.take():
            message = "The server is busy with other searches. Please try again in a moment."
            await self._answer(request, 503, message, 1 + math.ceil(self._slots.wait), send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self._slots.give_back()

    async def _anonymous(self, request: Request) -> bool:
        """Whether no one is logged in; the viewer is kept for the page (``deps.get_viewer``)."""
        token = request.cookies.get(SESSION_COOKIE, "")
        viewer = session_member(request.scope, token)  # kept by data version (cache.py)
        request.state.viewer = viewer
        return viewer is None

    async def _answer(self, request: Request, status: int, message: str, retry: int, send: Send) -> None:
        if not hasattr(request.state, "viewer"):
            request.state.viewer = None  # a busy server does not look up who is asking
        response = self._error_page(request, status, message, {"Retry-After": str(retry)})
        await response(request.scope, request.receive, send)
