"""Emails from templates (``templates/``): a digest, a confirmation request, a password reset. Each has a plain
text and an HTML part, absolute links from ``base_url``, and (digests) the RFC 8058 one-click
unsubscribe headers. The message is rendered once and stored in the outbox, so a retry sends the
same bytes with the same Message-ID.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.charset import QP, Charset
from email.policy import compat32
from email.utils import format_datetime, formataddr, parseaddr
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from ..types import Digest, Paper

TEMPLATES = Path(__file__).with_name("templates")
_QP = Charset("utf-8")
_QP.body_encoding = QP  # readable text in the raw message (the default for utf-8 is base64)
_WIRE = compat32.clone(linesep="\r\n", max_line_length=998)  # no folding of long URLs in headers


@dataclass(frozen=True, slots=True)
class MailSite:
    """What every email needs to know about the site."""

    name: str
    base_url: str  # no trailing slash
    mail_from: str  # "Name <address>"

    @property
    def domain(self) -> str:
        return urlsplit(self.base_url).hostname or "localhost"

    @classmethod
    def of(cls, site_name: str, base_url: str, mail_from: str) -> MailSite:
        base = base_url.rstrip("/")
        host = urlsplit(base).hostname or "localhost"
        return cls(site_name, base, mail_from or formataddr((site_name, f"broadsheet@{host}")))

    @property
    def from_address(self) -> str:
        return parseaddr(self.mail_from)[1]


@lru_cache(maxsize=2)
def _env(html: bool) -> Any:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=html, undefined=StrictUndefined,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )  # fmt: skip
    env.filters["short"] = _short
    return env


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def message_id_for(key: str, site: MailSite) -> str:
    """A stable Message-ID: the same digest always has the same one (receivers may drop repeats)."""
    return f"<{quote(key, safe='')}@{site.domain}>"


def _build(
    site: MailSite, to: str, subject: str, template: str, context: dict[str, Any], message_id: str,
    now: datetime, headers: dict[str, str] | None = None,
) -> bytes:  # fmt: skip
    # The legacy (compat32) MIME classes: the modern EmailMessage parses every header it is given
    # through the header registry, which made rendering 3x slower (bench/digest.py).
    from email.header import Header
    from email.mime.multipart import MIMEMultipart
    from email.mime.text import MIMEText

    context = {"site": site, **context}
    msg = MIMEMultipart("alternative")
    name, address = parseaddr(site.mail_from)
    msg["From"] = formataddr((name, address), charset="utf-8")
    msg["To"] = to
    msg["Subject"] = Header(subject, "utf-8") if not subject.isascii() else subject
    msg["Date"] = _date(now)
    msg["Message-ID"] = message_id
    msg["MIME-Version"] = "1.0"
    msg["Auto-Submitted"] = "auto-generated"
    for key, value in (headers or {}).items():
        msg[key] = Header(value, "utf-8") if not value.isascii() else value
    for subtype, html in (("plain", False), ("html", True)):
        body = _env(html).get_template(f"{template}.{'html' if html else 'txt'}").render(context)
        msg.attach(MIMEText(body, subtype, _QP))
    return msg.as_bytes(policy=_WIRE)


def _date(now: datetime) -> str:
    from datetime import UTC

    return format_datetime(now.replace(tzinfo=UTC) if now.tzinfo is None else now)


def paper_url(site: MailSite, paper: Paper) -> str:
    return f"{site.base_url}/papers/{quote(paper.arxiv_id)}"


def render_digest(digest: Digest, site: MailSite, unsubscribe_url: str, message_id: str, now: datetime) -> bytes:
    """The digest email (RFC 5322 bytes)."""
    period = digest.period
    span = period.first.isoformat() if period.first == period.last else f"{period.first:%b %d} – {period.last:%b %d, %Y}"
    n = len(digest.papers)
    subject = f"{site.name} {period.frequency} digest, {span}: {n} paper{'s' if n != 1 else ''}"
    context = {
        "digest": digest, "span": span, "unsubscribe_url": unsubscribe_url,
        "paper_url": lambda p: paper_url(site, p),
        "search_url": lambda q: f"{site.base_url}/search?q={quote(q)}",
        "settings_url": f"{site.base_url}/settings",
    }  # fmt: skip
    headers = {
        "List-Id": f"{site.name} {period.frequency} digest <{period.frequency}.digest.{site.domain}>",
        "List-Unsubscribe": f"<{unsubscribe_url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "Precedence": "bulk",
    }
    return _build(site, digest.subscription.email, subject, "digest", context, message_id, now, headers)


def render_confirmation(
    site: MailSite, to: str, frequency: str, topics: tuple[str, ...], trending_top: int, confirm_url: str,
    message_id: str, now: datetime, days: int, *, for_you_top: int = 0, follow_alerts: bool = False,
) -> bytes:  # fmt: skip
    """The double opt-in email: nothing else is sent to ``to`` until its link is followed."""
    subject = f"Confirm your {site.name} {frequency} digest"
    context = {
        "frequency": frequency, "topics": topics, "trending_top": trending_top,
        "confirm_url": confirm_url, "days": days, "to": to,
        "for_you_top": for_you_top, "follow_alerts": follow_alerts,
    }  # fmt: skip
    return _build(site, to, subject, "confirm", context, message_id, now)


def render_reset(site: MailSite, to: str, name: str, reset_url: str, message_id: str, now: datetime, minutes: int) -> bytes:
    """The password reset email: a link that expires after ``minutes`` and works once."""
    subject = f"Set a new {site.name} password"
    context = {"name": name, "reset_url": reset_url, "minutes": minutes}
    return _build(site, to, subject, "reset", context, message_id, now)
