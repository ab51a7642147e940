"""The SMTP edge and the outbox loop.

``SmtpMailer.send`` raises ``TemporaryFailure`` (connection refused or dropped, timeouts, 4xx:
retry later) or ``PermanentFailure`` (5xx for this message: give up on it). ``ServerUnusable``
(the server is down, or refuses our login or TLS) ends a run: every message stays pending.

``deliver_outbox`` sends what is due: for each message it first commits the attempt (so a crash
leaves a trace), sends, then marks it sent, to retry (backoff) or failed. See docs/dev.md
"Digests" for what exactly-once means here, and the one window where it cannot be.
"""

from __future__ import annotations

import logging
import smtplib
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parseaddr
from typing import Protocol

from ..storage.digests import DigestStore

log = logging.getLogger("broadsheet.digest")


class TemporaryFailure(Exception):
    """Try this message again later."""


class PermanentFailure(Exception):
    """The server refused this message for good (5xx)."""


class ServerUnusable(TemporaryFailure):
    """No message can go through now (server down, login or TLS refused): stop this run."""


class Mailer(Protocol):
    def open(self) -> None: ...

    def send(self, from_addr: str, to_addr: str, message: bytes) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    host: str
    port: int
    security: str = "none"  # none | starttls | tls
    user: str = ""
    password: str = ""
    timeout: float = 30.0


SECURITIES = ("none", "starttls", "tls")


class SmtpMailer:
    """One SMTP connection, opened on first use and reused for every message of a run."""

    def __init__(self, config: SmtpConfig, *, ssl_context: ssl.SSLContext | None = None) -> None:
        if config.security not in SECURITIES:
            raise ValueError(f"smtp_security must be one of {', '.join(SECURITIES)}, not {config.security!r}")
        self.config = config
        self._ssl = ssl_context
        self._conn: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        c = self.config
        if not c.host:
            raise ServerUnusable("this server has no mail server configured (smtp_host is empty)")
        context = self._ssl or ssl.create_default_context()
        try:
            if c.security == "tls":
                conn: smtplib.SMTP = smtplib.SMTP_SSL(c.host, c.port, timeout=c.timeout, context=context)
            else:
                conn = smtplib.SMTP(c.host, c.port, timeout=c.timeout)
            conn.ehlo_or_helo_if_needed()
            if c.security == "starttls":
                conn.starttls(context=context)
                conn.ehlo()
            if c.user:
                conn.login(c.user, c.password)
        except smtplib.SMTPAuthenticationError as e:
            raise ServerUnusable(f"the SMTP server refused the login: {_reply(e.smtp_code, e.smtp_error)}") from None
        except (smtplib.SMTPException, OSError) as e:  # refused, unreachable, TLS, timeouts
            raise ServerUnusable(f"cannot use the SMTP server {c.host}:{c.port}: {_describe(e)}") from None
        return conn

    def open(self) -> None:
        """Connect (and log in) unless connected: ServerUnusable when that fails."""
        if self._conn is None:
            self._conn = self._connect()

    def send(self, from_addr: str, to_addr: str, message: bytes) -> None:
        self.open()
        assert self._conn is not None
        try:
            refused = self._conn.sendmail(from_addr, [to_addr], message)
        except smtplib.SMTPRecipientsRefused as e:
            code, text = next(iter(e.recipients.values()))
            raise _classify(code, text) from None
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as e:
            raise _classify(e.smtp_code, e.smtp_error) from None
        except (smtplib.SMTPServerDisconnected, OSError) as e:
            self._drop()
            raise TemporaryFailure(f"connection lost: {_describe(e)}") from None
        except smtplib.SMTPResponseException as e:
            raise _classify(e.smtp_code, e.smtp_error) from None
        if refused:  # one recipient only, so sendmail raised instead; kept for completeness
            code, text = next(iter(refused.values()))
            raise _classify(code, text)

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except OSError:
                pass

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.quit()
            except (smtplib.SMTPException, OSError):
                pass
        self._drop()


def _reply(code: int, text: bytes | str) -> str:
    return f"{code} {text.decode('utf-8', 'replace') if isinstance(text, bytes) else text}".strip()


def _classify(code: int, text: bytes | str) -> Exception:
    reply = _reply(code, text)
    return PermanentFailure(reply) if 500 <= code < 600 else TemporaryFailure(reply)


def _describe(e: BaseException) -> str:
    if isinstance(e, socket.timeout):
        return "timed out"
    return str(e) or type(e).__name__


@dataclass(slots=True)
class DeliveryCounts:
    sent: int = 0
    retry_later: int = 0
    failed: int = 0
    stopped: str | None = None  # why the run stopped early (server unusable, lease lost)


def backoff(attempts: int, base_seconds: float) -> timedelta:
    """Wait before attempt ``attempts + 1``: base, 2 x base, 4 x base, ... (at most a day)."""
    return timedelta(seconds=min(base_seconds * 2 ** max(attempts - 1, 0), 86400))


def deliver_outbox(
    store: DigestStore,
    mailer: Mailer,
    from_addr: str,
    now: Callable[[], datetime],
    *,
    max_attempts: int,
    retry_seconds: float,
    keep_lease: Callable[[], bool] = lambda: True,
    only: set[int] | None = None,
    on_message: Callable[[str, str], None] | None = None,
    batch: int = 200,
) -> DeliveryCounts:
    """Send every due pending message (only ids in ``only``, when given), oldest first."""
    counts = DeliveryCounts()
    envelope_from = parseaddr(from_addr)[1] or from_addr
    after = 0
    while rows := store.due(now(), batch, after):
        for row in rows:
            after = row.id
            if only is not None and row.id not in only:
                continue
            if not keep_lease():
                counts.stopped = "another sender took over the outbox (this one was too slow to renew its lease)"
                return counts
            try:
                mailer.open()  # before the attempt is recorded: a server that is down costs no attempt
            except ServerUnusable as e:
                counts.stopped = str(e)
                store.note_error(row.id, str(e))  # why it waits (digest status, the admin's page)
                log.warning("outbox: not sent to %s (%s): %s", row.email, row.period, e)
                return counts
            store.mark_attempt(row.id)
            attempts = row.attempts + 1
            try:
                mailer.send(envelope_from, row.email, row.message)
            except TemporaryFailure as e:
                log.warning("outbox: SMTP failed for %s (%s), attempt %d: %s", row.email, row.period, attempts, e)
                if attempts >= max_attempts:
                    store.mark_failed(row.id, f"{e} (after {attempts} attempts)")
                    counts.failed += 1
                else:
                    store.mark_retry(row.id, str(e), now() + backoff(attempts, retry_seconds))
                    counts.retry_later += 1
                outcome = "retry"
            except PermanentFailure as e:
                log.warning("outbox: SMTP refused %s (%s) for good: %s", row.email, row.period, e)
                store.mark_failed(row.id, str(e))
                counts.failed += 1
                outcome = "failed"
            else:
                store.mark_sent(row.id, now())
                counts.sent += 1
                outcome = "sent"
            if on_message:
                on_message(row.email, outcome)
    return counts
