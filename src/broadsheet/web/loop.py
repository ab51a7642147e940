"""Pages served on the event loop when their data is in memory, in the thread pool when it is not.

A page handler is plain (synchronous) code that reads the Hub, and FastAPI runs such a handler in
its thread pool, so that a database query does not stop the event loop. But once a page's data
is cached (web/cache.py: feeds, cards, search results, a member's marks, kept per data version),
building it is a few hundred microseconds of Python, and handing it to a thread and back (waking
a worker, passing the GIL both ways, waking the loop) cost as much again (wrk at 4 connections
on the 100k bench copy: the day page went from 1,650 to 2,150 requests/s when run on the loop;
docs/benchmarks.md "Pages on the event loop" has the whole bench).

``loop_first(handler)`` runs the handler on the loop with ``ON_LOOP`` set. Anything that would
wait there raises ``Cold`` instead: a cache miss (``cache.cached``) and, as a safety net for
code that reads the database without a cache, any database connection taken (the Hub's
``guard_database``). The wrapper then runs the handler again from the start in the thread pool,
where nothing is refused. Handlers wrapped so must not write anything before they read: a page
(GET) only reads.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

log = logging.getLogger(__name__)
MOVED: dict[str, int] = {}  # handler name -> times it was moved to a thread (tests, /admin/status)

ON_LOOP: ContextVar[bool] = ContextVar("broadsheet_on_loop", default=False)


class Cold(Exception):  # noqa: N818 - not an error: a signal to move to a thread
    """What a page needs is not in memory: build it in a thread."""


def refuse_on_loop() -> None:
    """Raise ``Cold`` when called on the event loop inside ``loop_first`` (the database guard)."""
    if ON_LOOP.get():
        raise Cold


def loop_first(handler: Callable[..., Any]) -> Callable[..., Any]:
    """``handler`` as an async endpoint: on the loop if its data is cached, else in a thread."""

    @functools.wraps(handler)  # FastAPI reads the handler's parameters through __wrapped__
    async def endpoint(*args: Any, **kwargs: Any) -> Any:
        request = next((a for a in (*args, *kwargs.values()) if isinstance(a, Request)), None)
        if request is not None:
            from .cache import page_version

            page_version(request.scope)  # read before: on PostgreSQL it is a query
        token = ON_LOOP.set(True)
        try:
            return handler(*args, **kwargs)
        except Cold:
            name = getattr(handler, "__name__", "?")
            MOVED[name] = MOVED.get(name, 0) + 1
            log.debug("%s: not cached, built in a thread", name)
        finally:
            ON_LOOP.reset(token)
        return await run_in_threadpool(handler, *args, **kwargs)

    return endpoint
