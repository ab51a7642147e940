"""The access log: one line per request on ``broadsheet.access``: client, method, path, status,
time taken. Signed tokens in link paths (``/digest/confirm/TOKEN``, ``/reset-password/TOKEN``,
private feeds' ``/feeds/private/TOKEN/...``)
and query parameters that may carry a credential (``token``, ``password``, ``key``, ...) are
written as ``********``: a log is read by more people than the mailbox a link went to.
"""

from __future__ import annotations

import logging
import re
import time
from urllib.parse import parse_qsl, urlencode

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..config import MASK

log = logging.getLogger("broadsheet.access")

# Paths whose last segment is a credential (a signed link from an email).
TOKEN_PATHS = re.compile(r"^(/digest/confirm/|/digest/unsubscribe/|/reset-password/|/feeds/private/)[^/]+")
SECRET_PARAM = re.compile(r"token|password|passwd|secret|key|sig|auth|code|session|csrf", re.IGNORECASE)


def scrubbed(path: str, query: str) -> str:
    """``path?query`` as it may be logged: tokens in link paths and credential-like parameters
    replaced by ``MASK`` (pure)."""
    path = TOKEN_PATHS.sub(lambda m: m[1] + MASK, path)
    if not query:
        return path
    pairs = parse_qsl(query, keep_blank_values=True)
    clean = [(k, MASK if SECRET_PARAM.search(k) else v) for k, v in pairs]
    return f"{path}?{urlencode(clean, safe='*')}"


class AccessLog:
    """ASGI middleware (outermost): logs each HTTP request once its response has started, or as
    a 500 when the app raised before answering."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not log.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record)
        finally:
            client = scope.get("client")
            where = scrubbed(scope.get("path", ""), scope.get("query_string", b"").decode("latin-1"))
            log.info(
                '%s "%s %s" %d %.1f ms',
                client[0] if client else "-",
                scope.get("method", "-"),
                where,
                status,
                (time.perf_counter() - started) * 1000,
            )
