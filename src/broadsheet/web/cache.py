"""In-memory caches: anonymous visitors' pages, the data pages are built from, rendered cards,
and similar papers.

An entry is served while it is younger than its time-to-live *and* the data version is the one it
was made at. The version is the database's counter (``storage/version.py``), bumped by every write
that changes what pages show, by whichever process made it (another worker, `broadsheet ingest`):
so a vote, comment, save or ingest shows on the next request, whatever the time-to-live. A page
reads the version once (``page_version``) and keys everything it caches by it.

Caches keyed by the version alone (the data, the cards) are kept until it changes: what they
hold is work done once per change of the data, for every visitor. The time-to-live only matters
for the page cache (``page_cache_seconds``), which also skips the app and the session lookup.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from markupsafe import Markup
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .security import SESSION_COOKIE

V = TypeVar("V")
DATA_TTL = 3600.0  # entries keyed by the data version: the time-to-live only makes room


def page_version(scope: Scope) -> tuple[int, object]:
    """The data version for this request, read from the database once per request (every cache
    the page uses compares the same one), with the Hub's clock to the minute: rankings are "as
    of now", so what they give may change by the minute without a write."""
    state = scope.setdefault("state", {})
    version = state.get("data_version")
    if version is None:
        hub = scope["app"].state.hub
        version = state["data_version"] = (hub.data_version, hub.now().replace(second=0, microsecond=0))
    return version  # type: ignore[no-any-return]


class TtlCache(Generic[V]):
    """At most ``size`` entries (least recently used go first), each valid for ``ttl`` seconds
    and while the data version it was made at is current. Thread-safe."""

    def __init__(
        self, size: int, ttl: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.size, self.ttl, self._clock = size, ttl, clock
        self._entries: OrderedDict[Hashable, tuple[float, int, V]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, version: int) -> V | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            made, made_version, value = entry
            if made_version != version or self._clock() - made >= self.ttl:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return value

    def put(self, key: Hashable, version: int, value: V) -> None:
        if self.size <= 0 or self.ttl <= 0:
            return
        with self._lock:
            self._entries[key] = (self._clock(), version, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)


def cached(
    cache: TtlCache[V], key: Hashable, version: Callable[[], int], make: Callable[[], V]
) -> V:
    """``cache[key]``, made by ``make()`` when missing or stale. The data version is read before
    making, so a write that lands meanwhile leaves the entry stale rather than wrong."""
    at = version()
    value = cache.get(key, at)
    if value is None:
        value = make()
        cache.put(key, at, value)
    return value


CACHEABLE_PREFIXES = ("/papers/", "/authors/", "/categories/", "/search")
Page = tuple[int, list[tuple[bytes, bytes]], bytes]


class PageCache:
    """ASGI middleware: GET pages for visitors without a session, served from memory.

    Such pages are the same for every anonymous visitor (they carry no CSRF token: nothing an
    anonymous visitor can post from them is done without logging in first). Only 200 responses
    that set no cookie are kept.
    """

    def __init__(self, app: ASGIApp, *, ttl: float, size: int = 500) -> None:
        self.app = app
        self.cache: TtlCache[Page] = TtlCache(size, ttl)

    @staticmethod
    def _cacheable(scope: Scope) -> bool:
        if scope["type"] != "http" or scope["method"] != "GET":
            return False
        path = scope["path"]
        if path != "/" and not path.startswith(CACHEABLE_PREFIXES):
            return False
        for name, value in scope["headers"]:
            if name == b"cookie" and SESSION_COOKIE.encode() + b"=" in value:
                return False
        return True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.cache.ttl <= 0 or not self._cacheable(scope):
            await self.app(scope, receive, send)
            return
        # The host is part of the key: without base_url a page's absolute links follow it.
        host = next((v for k, v in scope["headers"] if k == b"host"), b"")
        key = (scope.get("scheme", "http"), host, scope["path"], scope["query_string"])
        version = page_version(scope)  # read first: a write during rendering makes the entry stale
        hit = self.cache.get(key, version)
        if hit is not None:
            status, headers, body = hit
            await send(
                {"type": "http.response.start", "status": status, "headers": headers}
            )
            await send({"type": "http.response.body", "body": body})
            return
        start: dict[str, object] = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body") and start.get("status") == 200:
                    headers = list(start.get("headers", []))  # type: ignore[call-overload]
                    if not any(name.lower() == b"set-cookie" for name, _ in headers):
                        self.cache.put(key, version, (200, headers, b"".join(chunks)))
            await send(message)

        await self.app(scope, receive, capture)


CSRF_PLACEHOLDER = "\x00csrf\x00"


class FragmentCache:
    """Rendered pieces of pages (a card's body) by key and data version: made once per change of
    the data and shared by every viewer, anonymous or member. A piece holds nothing personal;
    a member's CSRF token, should one be in it, is stored as a placeholder and put back per page."""

    def __init__(self, size: int = 4096) -> None:
        self.cache: TtlCache[str] = TtlCache(size, DATA_TTL)

    def get_or_render(self, key: Hashable, version: Hashable, render: Callable[[], str], token: Callable[[], str] | None) -> Markup:
        html = self.cache.get(key, version)
        if html is None:
            html = str(render())
            if token is not None and (t := token()) and t in html:
                html = html.replace(t, CSRF_PLACEHOLDER)
            self.cache.put(key, version, html)
        if token is not None and CSRF_PLACEHOLDER in html:
            html = html.replace(CSRF_PLACEHOLDER, token())
        return Markup(html)  # noqa: S704 - rendered by an autoescaping template
