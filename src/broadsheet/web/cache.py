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

import hashlib
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .loop import refuse_on_loop
from .security import CSRF_COOKIE, SESSION_COOKIE

V = TypeVar("V")
DATA_TTL = 3600.0  # entries keyed by the data version: the time-to-live only makes room


def page_version(scope: Scope) -> tuple[int, object]:
    """The data version for this request, read once per request (storage/version.py; every cache
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
        self._making: dict[Hashable, list[Any]] = {}  # key -> [its lock, threads holding or waiting]

    def get(self, key: Hashable, version: int, default: Any = None) -> V | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return default
            made, made_version, value = entry
            if made_version != version or self._clock() - made >= self.ttl:
                del self._entries[key]
                return default
            self._entries.move_to_end(key)
            return value

    @contextmanager
    def making(self, key: Hashable) -> Iterator[None]:
        """Held while ``key`` is made: when its entry dies (a write, the minute turning), sixteen
        requests for one page would otherwise all build it at once, each slower for the others
        (bench/web.py: p99 of hundreds of ms at 16 connections). If making fails, the next waiter
        tries."""
        with self._lock:
            entry = self._making.get(key)
            if entry is None:
                entry = self._making[key] = [threading.Lock(), 0]
            entry[1] += 1
        try:
            with entry[0]:
                yield
        finally:
            with self._lock:
                entry[1] -= 1
                if entry[1] == 0:
                    del self._making[key]

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
    value = cache.get(key, at, _MISSING)
    if value is not _MISSING:
        return value  # type: ignore[return-value]
    refuse_on_loop()  # on the event loop (web/loop.py): made in a thread instead
    with cache.making(key):  # one thread makes it; the others asking meanwhile wait, then take it
        value = cache.get(key, at, _MISSING)
        if value is _MISSING:
            value = make()
            cache.put(key, at, value)  # None too: "not following this" is worth keeping
    return value  # type: ignore[return-value]


_MISSING: Any = object()


def session_member(scope: Scope, token: str) -> Any:
    """The member a session token belongs to, or None; kept by data version and minute (every
    log-out, password or account change moves the version; a session that simply runs out is
    refused from the next minute on)."""
    if not token:
        return None
    hub = scope["app"].state.hub
    key = ("session", hashlib.sha256(token.encode()).digest())
    return cached(scope["app"].state.data_cache, key, lambda: page_version(scope), lambda: hub.user_for_session(token))


def members_own(request: Any, viewer: Any, key: tuple[Hashable, ...], make: Callable[[], V]) -> V:
    """``make()`` for a member (what they upvoted or saved among a page's papers, their mutes,
    whether they have a For you), kept until the data version moves: each of their own writes
    moves it (``Hub._changed``, ``Hub._and_changed``). For a visitor, ``make()`` each time."""
    if viewer is None:
        return make()
    return cached(request.app.state.data_cache, ("member", viewer.id, *key), lambda: page_version(request.scope), make)


CACHEABLE_PREFIXES = ("/papers/", "/authors/", "/categories/", "/search")
Page = tuple[int, list[tuple[bytes, bytes]], tuple[bytes, ...]]  # the body as the parts around its CSRF token
_COOKIE_VALUE = re.compile(r"[A-Za-z0-9_-]{20,100}")


class PageCache:
    """ASGI middleware: GET pages served whole from memory, for ``ttl`` seconds and while the data
    version (and the minute: rankings are "as of now") is the one they were built at.

    A page for a visitor who is not logged in is the same for every such visitor (it carries no
    CSRF token: nothing an anonymous visitor can post from it is done without logging in first).
    A member's page is kept per member: the session is checked on every request (a lookup, as
    the page itself would make; the viewer found is handed on to it), and the page's CSRF token,
    which is the same for a session and CSRF cookie, is cut out when the page is kept and put back for
    the session asking. Everything a member does that changes their pages (votes, saves, follows,
    mutes, dismissals) bumps the data version, so their next page is built afresh. Only 200
    responses that set no cookie are kept, and none a handler marks ``no_page_cache`` (For you,
    which changes as its models warm up).
    """

    def __init__(self, app: ASGIApp, *, ttl: float, size: int = 2000) -> None:
        self.app = app
        self.cache: TtlCache[Page] = TtlCache(size, ttl)

    @staticmethod
    def _cookies(scope: Scope) -> dict[str, str] | None:
        """The request's cookies, or None if it is not a cacheable page request."""
        if scope["type"] != "http" or scope["method"] != "GET":
            return None
        path = scope["path"]
        if path != "/" and not path.startswith(CACHEABLE_PREFIXES):
            return None
        cookies: dict[str, str] = {}
        for name, value in scope["headers"]:
            if name == b"cookie":
                for part in value.decode("latin-1").split(";"):
                    key, _, val = part.strip().partition("=")
                    cookies[key] = val
        return cookies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        cookies = None if self.cache.ttl <= 0 else self._cookies(scope)
        if cookies is None:
            await self.app(scope, receive, send)
            return
        token = b""
        member = None
        session = cookies.get(SESSION_COOKIE, "")
        if session:
            csrf = cookies.get(CSRF_COOKIE, "")
            if not _COOKIE_VALUE.fullmatch(csrf):
                await self.app(scope, receive, send)  # the page gives them a CSRF cookie: not kept
                return
            app_state = scope["app"].state
            viewer = session_member(scope, session)
            scope.setdefault("state", {})["viewer"] = viewer  # deps.get_viewer: no second lookup
            if viewer is None:
                await self.app(scope, receive, send)
                return
            member = viewer.id
            token = app_state.csrf.token_for(csrf, session).encode()
        # The host is part of the key: without base_url a page's absolute links follow it.
        host = next((v for k, v in scope["headers"] if k == b"host"), b"")
        key = (scope.get("scheme", "http"), host, scope["path"], scope["query_string"], member)
        version = page_version(scope)  # read first: a write during rendering makes the entry stale
        hit = self.cache.get(key, version)
        if hit is not None:
            status, headers, parts = hit
            body = token.join(parts)
            if len(parts) > 1:
                headers = [(k, str(len(body)).encode() if k == b"content-length" else v) for k, v in headers]
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        start: dict[str, object] = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body") and start.get("status") == 200 and not scope["state"].get("no_page_cache"):
                    headers = list(start.get("headers", []))  # type: ignore[call-overload]
                    if not any(name.lower() == b"set-cookie" for name, _ in headers):
                        body = b"".join(chunks)
                        self.cache.put(key, version, (200, headers, tuple(body.split(token)) if token else (body,)))
            await send(message)

        await self.app(scope, receive, capture)


class FragmentCache:
    """Rendered pieces of pages (a card's body, a list) by key and data version, kept as UTF-8
    bytes: made once per change of the data and shared by every viewer, anonymous or member. A
    piece holds nothing personal; a member's CSRF token, should one be in it, is cut out when the
    piece is kept and put back per page (kept as the parts around it: joining them is ~1 µs for
    a list page, where ``bytes.replace`` of a placeholder took ~50)."""

    def __init__(self, size: int = 4096) -> None:
        self.cache: TtlCache[tuple[bytes, ...]] = TtlCache(size, DATA_TTL)

    def get_or_render(self, key: Hashable, version: Hashable, render: Callable[[], str], token: Callable[[], str] | None) -> bytes:
        parts = self.cache.get(key, version)
        if parts is None:
            piece = str(render()).encode()
            t = token().encode() if token is not None else b""
            parts = tuple(piece.split(t)) if t else (piece,)
            self.cache.put(key, version, parts)
        if len(parts) == 1:
            return parts[0]
        return (token().encode() if token is not None else b"").join(parts)  # a token's place: members' pieces
