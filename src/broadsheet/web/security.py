"""Sessions, CSRF and rate limits for the web app.

- **Sessions** live in the database (``Hub.log_in``): the ``bs_session`` cookie carries a random
  token, so logging out (or changing a password) really ends a session, on every server.
- **CSRF**: signed double-submit, bound to the login session. Every visitor gets a random
  ``bs_csrf`` cookie; forms carry HMAC(secret key, cookie + session cookie) in a hidden
  ``csrf_token`` field (JavaScript may send it as the ``X-CSRF-Token`` header). Another site can
  neither read the cookies nor forge the HMAC, and a cookie and token pair taken from one login
  (or from no login) is worthless with another session. The CSRF cookie is replaced at log-in and
  log-out, so a token never outlives the login it was made for.
- Both cookies are HttpOnly and SameSite=Lax (and Secure when ``base_url`` is https).
- **Rate limits**: a sliding window per action and key (user id, or client address for sign-ups,
  log-ins and anonymous searches), in memory: a process restart forgets them, and two server
  processes count apart.
- **Log-in delay per account** (``LoginThrottle``): after ``login_failures_allowed`` failed
  log-ins for one account name, from any addresses, each further attempt must wait 2, 4, 8 …
  seconds (at most ``login_delay_max_seconds``) after the previous one, or gets 429; a successful
  log-in resets it. Guessing stays slow however many addresses an attacker has, and the owner is
  never locked out for longer than the cap.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import Response

from .. import accounts
from ..config import Settings
from ..exceptions import InvalidInputError

SESSION_COOKIE = "bs_session"
CSRF_COOKIE = "bs_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SECRET_FILE = "secret_key"


class CsrfError(Exception):
    """A state-changing request without a valid CSRF token."""


class RateLimited(Exception):
    def __init__(self, action: str, retry_after: int) -> None:
        super().__init__(f"too many {action}")
        self.action = action
        self.retry_after = retry_after


def load_secret(settings: Settings) -> bytes:
    """The ``secret_key`` setting, else the key in the data folder, made on first use (mode 600);
    see ``accounts.load_secret`` (the Hub signs email links with the same key)."""
    return accounts.load_secret(settings.secret_key, settings.data_dir())


class Csrf:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def token_for(self, cookie: str, session: str = "") -> str:
        """The token for a CSRF cookie within a login session (``session``: the session cookie's
        value, empty for a visitor who is not logged in)."""
        message = f"csrf:{len(cookie)}:{cookie}:{session}".encode("utf-8", "surrogatepass")
        mac = hmac.new(self._secret, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")

    def check(self, cookie: str | None, token: str | None, session: str = "") -> None:
        if (
            not cookie
            or not token
            or not hmac.compare_digest(
                self.token_for(cookie, session).encode(),
                token.encode("utf-8", "surrogatepass"),
            )
        ):
            raise CsrfError("the form expired or came from another site")


def csrf_cookie(request: Request) -> str:
    """This visitor's CSRF cookie value; a new one (set on the response by ``set_cookies``) if
    they have none yet or it was just replaced."""
    value = getattr(request.state, "new_csrf", None) or request.cookies.get(CSRF_COOKIE)
    if not value or not re.fullmatch(r"[A-Za-z0-9_-]{20,100}", value):
        value = secrets.token_urlsafe(24)
        request.state.new_csrf = value
    return value


def renew_csrf(request: Request) -> None:
    """Give the visitor a new CSRF cookie (at log-in and log-out)."""
    request.state.new_csrf = secrets.token_urlsafe(24)


def set_cookies(
    request: Request,
    response: Response,
    *,
    secure: bool,
    session: str | None = None,
    session_days: int = 30,
) -> None:
    """Write the cookies this request changed: a new CSRF cookie, a new or ended session."""
    if new := getattr(request.state, "new_csrf", None):
        response.set_cookie(
            CSRF_COOKIE,
            new,
            max_age=400 * 86400,
            httponly=True,
            samesite="lax",
            secure=secure,
        )
    if session == "":
        response.delete_cookie(
            SESSION_COOKIE, httponly=True, samesite="lax", secure=secure
        )
    elif session is not None:
        response.set_cookie(
            SESSION_COOKIE,
            session,
            max_age=session_days * 86400,
            httponly=True,
            samesite="lax",
            secure=secure,
        )


# -- rate limits -------------------------------------------------------------------------------

_PERIODS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


@dataclass(frozen=True, slots=True)
class Rate:
    count: int
    seconds: int


_RATE_RE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*(second|minute|hour|day)s?\s*$")


def parse_rate(text: str) -> Rate:
    """``"10/minute"`` → Rate(10, 60); ``"500/5minutes"`` → Rate(500, 300); ``"0/hour"`` forbids
    the action."""
    m = _RATE_RE.match(text)
    if not m or m[2] == "0":
        raise InvalidInputError(
            f"not a rate: {text!r} (for example 10/minute or 500/5minutes; periods: {', '.join(_PERIODS)})"
        )
    return Rate(int(m[1]), int(m[2] or 1) * _PERIODS[m[3]])


class RateLimiter:
    """Sliding-window counters per ``(action, key)``; thread-safe; memory bounded by pruning."""

    MAX_KEYS = 50_000

    def __init__(
        self, rates: dict[str, Rate], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._rates = rates
        self._clock = clock
        self._hits: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, action: str, key: str) -> None:
        """Count one ``action`` by ``key``; raise RateLimited when it goes over the rate."""
        rate = self._rates[action]
        now = self._clock()
        with self._lock:
            window = self._hits.setdefault((action, key), deque())
            while window and window[0] <= now - rate.seconds:
                window.popleft()
            if len(window) >= rate.count:
                retry = (
                    int(window[0] + rate.seconds - now) + 1 if window else rate.seconds
                )
                raise RateLimited(action, retry)
            window.append(now)
            if len(self._hits) > self.MAX_KEYS:
                self._prune(now)

    def _prune(self, now: float) -> None:
        longest = max(r.seconds for r in self._rates.values())
        for k in [k for k, w in self._hits.items() if not w or w[-1] <= now - longest]:
            del self._hits[k]


# -- log-in delay per account ------------------------------------------------------------------


def login_delay(failures: int, allowed: int, longest: int) -> int:
    """Seconds the next log-in for an account must wait after its last attempt, given its
    ``failures`` in a row: none for the first ``allowed``, then 2, 4, 8 … up to ``longest``."""
    if failures < allowed:
        return 0
    return min(longest, 2 ** min(failures - allowed + 1, 30))


class LoginThrottle:
    """Failed log-ins per account name (whatever the client address), in memory; thread-safe.

    ``attempt`` counts an attempt as failed before the password is checked (so that parallel
    attempts cannot slip past the count); ``succeeded`` forgets the account. An account's count is
    also forgotten a day after its last attempt."""

    FORGET_SECONDS = 86400
    MAX_KEYS = 50_000

    def __init__(
        self, allowed: int, longest: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.allowed, self.longest, self._clock = allowed, longest, clock
        self._state: dict[str, tuple[int, float]] = {}  # key -> (failures, last attempt)
        self._lock = threading.Lock()

    @staticmethod
    def key(login: str) -> str:
        return login.strip().casefold()

    def attempt(self, login: str) -> None:
        """Raise RateLimited if this account must wait; else count the attempt as a failure."""
        key, now = self.key(login), self._clock()
        with self._lock:
            failures, last = self._state.get(key, (0, -math.inf))
            if now - last >= self.FORGET_SECONDS:
                failures = 0  # the first attempt, or none for a day
            wait = login_delay(failures, self.allowed, self.longest) - (now - last)
            if failures and wait > 0:
                raise RateLimited("log-in attempts for this account", math.ceil(wait))
            self._state[key] = (failures + 1, now)
            if len(self._state) > self.MAX_KEYS:
                self._prune(now)

    def _prune(self, now: float) -> None:
        """Forget counts a day old; if that is not enough, the oldest half."""
        old = now - self.FORGET_SECONDS
        for k in [k for k, (_, t) in self._state.items() if t <= old]:
            del self._state[k]
        if len(self._state) > self.MAX_KEYS:
            by_age = sorted(self._state, key=lambda k: self._state[k][1])
            for k in by_age[: len(by_age) // 2]:
                del self._state[k]

    def succeeded(self, login: str) -> None:
        with self._lock:
            self._state.pop(self.key(login), None)
