"""The HTTP edge of every sync: pacing, User-Agent, bounded retries, ``Retry-After``.

``HttpEdge.get(url, params, read)`` fetches and hands the body to ``read`` (a parser). It retries
connection errors, timeouts, 429/5xx answers and bodies the parser finds cut short (not well-formed
XML or JSON); it waits ``Retry-After`` when the server sends one (up to ``max_wait``), else
``delay`` × 2^(n-1). Other answers (an arXiv error feed with status 400, an OAI-PMH error) are
handed to ``read`` or raised as they are: retrying them would get the same answer.

An *interactive* edge (``Politeness.budget``: a web request waiting on it) has no retries and one
deadline for everything: its turn among the requests to that server, connecting, the answer.
Every failed request is logged (``broadsheet.sync``, one warning line: the URL and the cause),
whether it is retried or not.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Generic, Self, TypeVar

import httpx
from lxml import etree

from ..config import Settings
from ..exceptions import SourceError

T = TypeVar("T")
log = logging.getLogger("broadsheet.sync")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# What a parser's SourceError wraps when the body is cut short or garbled: worth another try.
_UNREADABLE = (etree.XMLSyntaxError, json.JSONDecodeError, UnicodeDecodeError)


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """A ``Retry-After`` header as seconds from ``now``: delta-seconds or an HTTP date; None when
    absent or unreadable."""
    if not value or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def retry_wait(attempt: int, *, retries: int, base: float, max_wait: float, retry_after: float | None = None) -> float | None:
    """Seconds to wait before retry number ``attempt`` (1-based), or None to give up.

    The server's ``Retry-After`` wins when it sent one, unless it is longer than ``max_wait``
    (then we give up and report: a re-run later is better than a process asleep for hours).
    """
    if attempt > retries:
        return None
    if retry_after is not None:
        return retry_after if retry_after <= max_wait else None
    return min(max_wait, base * 2 ** (attempt - 1))


def is_unreadable(exc: BaseException) -> bool:
    """Whether a parser's error comes from a body that is not well-formed (cut short, garbled)."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, _UNREADABLE):
            return True
        cause = cause.__cause__
    return False


def user_agent(settings: Settings) -> str:
    """``Broadsheet/VERSION (+SITE; mailto:CONTACT)``: arXiv asks harvesters to say who they are."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        own = version("broadsheet")
    except PackageNotFoundError:  # running from a source tree that was never installed
        own = "dev"
    about = "; ".join(
        part
        for part in (settings.base_url and f"+{settings.base_url}", settings.contact_email and f"mailto:{settings.contact_email}")
        if part
    )
    return f"Broadsheet/{own}" + (f" ({about})" if about else "")


@dataclass(frozen=True, slots=True)
class Politeness:
    """How an edge treats one server."""

    delay: float  # seconds from the start of one request to the start of the next, at least
    retries: int
    timeout: float
    max_wait: float
    # Interactive: seconds for the whole request, its turn included, and no retries (a person waits).
    budget: float | None = None


def interactive(delay: float, budget: float) -> Politeness:
    """How a request that a person waits for treats the server: one try within ``budget`` seconds."""
    return Politeness(delay=delay, retries=0, timeout=budget, max_wait=0.0, budget=budget)


class Pacer:
    """Spaces the requests to one server, across every edge (and thread) that shares it: the Hub
    keeps one per source, so web submissions and a running sync together stay within arXiv's
    one request per 3 seconds."""

    def __init__(self, *, sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._next_at = float("-inf")
        self._sleep, self._clock = sleep, clock

    def wait_turn(self, delay: float, limit: float | None = None) -> bool:
        """Block until this request may start; the next may start ``delay`` seconds after it.
        With ``limit``: False, without taking a turn, when it would come later than that."""
        asked = time.monotonic()
        if not self._lock.acquire(timeout=-1 if limit is None else max(limit, 0.0)):
            return False
        try:  # held while sleeping: callers queue in order
            wait = self._next_at - self._clock()
            if limit is not None and wait > limit - (time.monotonic() - asked):
                return False
            if wait > 0:
                self._sleep(wait)
            self._next_at = self._clock() + delay
            return True
        finally:
            self._lock.release()

    def defer(self, seconds: float) -> None:
        """No request before ``seconds`` from now (a server's Retry-After, a back-off)."""
        with self._lock:
            self._next_at = max(self._next_at, self._clock() + seconds)


class HttpEdge:
    """One server's client for one run (not thread-safe; the Pacer it is given is)."""

    def __init__(
        self,
        user_agent: str,
        politeness: Politeness,
        *,
        pacer: Pacer | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.politeness = politeness
        self._client = httpx.Client(
            headers={"User-Agent": user_agent},
            timeout=politeness.timeout,
            follow_redirects=True,
            transport=transport,
        )
        self.pacer = pacer or Pacer()
        self.on_retry: Callable[[str], None] | None = None  # told each fault survived, as it happens
        self.requests = 0
        self.retried: list[str] = []  # one line per fault survived

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def get(self, url: str, params: Mapping[str, str], read: Callable[[bytes], T]) -> T:
        """``read(body)`` of a GET, after bounded retries; raises SourceError when it gives up."""
        return self.get_response(url, params, lambda response: read(response.content))

    def get_response(
        self, url: str, params: Mapping[str, str], read: Callable[[httpx.Response], T], headers: Mapping[str, str] | None = None
    ) -> T:
        """``get``, for a reader that needs the status and headers too (GitHub's rate-limit
        headers); ``headers`` are sent with the request."""
        p = self.politeness
        what = f"{url}?{httpx.QueryParams(params)}" if params else url
        if p.budget is not None:
            return self._get_once(url, params, read, what, p.budget)
        attempt = 0
        while True:
            self.pacer.wait_turn(p.delay)
            failure, retry_after = self._attempt(url, params, read, headers=headers)
            if not isinstance(failure, str):
                return failure.value
            attempt += 1
            wait = retry_wait(attempt, retries=p.retries, base=p.delay, max_wait=p.max_wait, retry_after=retry_after)
            if wait is None:
                why = (
                    f"the server asks to wait {retry_after:.0f} s, more than sync_max_wait ({p.max_wait:.0f} s)"
                    if retry_after is not None and retry_after > p.max_wait and attempt <= p.retries
                    else f"gave up after {attempt - 1} retries"
                )
                raise SourceError(f"{what}: {failure}; {why}")
            line = f"{what}: {failure}; retry {attempt} of {p.retries} after {wait:.1f} s"
            self.retried.append(line)
            if self.on_retry:
                self.on_retry(line)
            self.pacer.defer(wait)

    def _get_once(self, url: str, params: Mapping[str, str], read: Callable[[httpx.Response], T], what: str, budget: float) -> T:
        """An interactive request: half the budget at most for its turn, the rest for connecting
        (a third of it) and the answer; any failure is raised at once."""
        start = time.monotonic()
        if not self.pacer.wait_turn(self.politeness.delay, limit=budget / 2):
            raise SourceError(f"{what}: the server is busy with this site's other requests; not tried")
        left = max(0.1, budget - (time.monotonic() - start))
        timeout = httpx.Timeout(left * 2 / 3, connect=left / 3)
        failure, _ = self._attempt(url, params, read, timeout)
        if isinstance(failure, str):
            if "Timeout" in failure:
                failure = f"no answer within {budget:g} s ({failure})"
            raise SourceError(f"{what}: {failure}")
        return failure.value

    def _attempt(
        self, url: str, params: Mapping[str, str], read: Callable[[httpx.Response], T], timeout: httpx.Timeout | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[_Ok[T] | str, float | None]:
        """One request: ``(_Ok(value), None)``, or ``(what went wrong, Retry-After)`` when worth a
        retry; raises SourceError when it is not. Every failure is logged, one line."""
        what = f"{url}?{httpx.QueryParams(params)}" if params else url
        try:
            response = self._client.get(url, params=params, headers=headers, timeout=timeout or httpx.USE_CLIENT_DEFAULT)
        except (httpx.UnsupportedProtocol, httpx.LocalProtocolError) as exc:
            log.warning("GET %s failed: %s", what, exc)
            raise SourceError(f"{url}: {exc}") from exc
        except (httpx.TransportError, httpx.DecodingError) as exc:
            log.warning("GET %s failed: %s (%s)", what, type(exc).__name__, exc)
            return f"{type(exc).__name__} ({exc})", None
        finally:
            self.requests += 1
        status = response.status_code
        if status in RETRY_STATUSES:
            header = response.headers.get("Retry-After")
            log.warning("GET %s failed: HTTP %d%s", what, status, f" (Retry-After: {header})" if header else "")
            return f"HTTP {status}", retry_after_seconds(header, datetime.now(UTC))
        try:
            return _Ok(read(response)), None
        except SourceError as exc:
            if status >= 400:
                log.warning("GET %s failed: HTTP %d: %s", what, status, exc)
                raise SourceError(f"HTTP {status} from {response.url}: {exc}") from exc
            if is_unreadable(exc):
                log.warning("GET %s failed: unreadable body, %d bytes (%s)", what, len(response.content), exc)
                return f"unreadable body, {len(response.content)} bytes ({exc})", None
            log.warning("GET %s failed: %s", what, exc)
            raise


    def post_json(self, url: str, payload: object, read: Callable[[bytes], T], headers: Mapping[str, str] | None = None) -> T:
        """``read(body)`` of one JSON POST (an OpenAI-compatible endpoint), in its turn; no retries
        (the background job that calls it asks again on its next pass). SourceError on failure."""
        self.pacer.wait_turn(self.politeness.delay)
        try:
            response = self._client.post(url, json=payload, headers=headers)
        except httpx.HTTPError as exc:
            log.warning("POST %s failed: %s (%s)", url, type(exc).__name__, exc)
            raise SourceError(f"POST {url}: {type(exc).__name__} ({exc})") from exc
        finally:
            self.requests += 1
        if response.status_code >= 400:
            log.warning("POST %s failed: HTTP %d", url, response.status_code)
            raise SourceError(f"POST {url}: HTTP {response.status_code}: {response.text[:200]}")
        return read(response.content)


@dataclass(frozen=True, slots=True)
class _Ok(Generic[T]):
    value: T
