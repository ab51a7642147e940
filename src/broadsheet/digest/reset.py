"""Password reset by email: a signed link that expires and works once.

The link carries ``user id : binding`` signed for the purpose ``reset`` (``tokens.py``, the site's
secret key) and its issue time. The binding is an HMAC of the account's current password hash:
once the password changes (through this link or any other way) every earlier link stops working,
with no table of used tokens. Setting the password is a compare-and-set on the hash, so of two
uses of one link at once, one wins. The email goes through the outbox like every other.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from datetime import UTC, datetime

from .. import accounts
from ..exceptions import InvalidInputError
from ..storage import Storage
from ..types import User
from .render import MailSite, message_id_for, render_reset
from .tokens import sign, verify

PURPOSE = "reset"
USED = "this link was already used, or the password has changed since it was sent: ask for a new one"
EXPIRED = "this link has expired: ask for a new one"


def _binding(secret: bytes, password_hash: str | None) -> str:
    return hmac.new(secret, b"reset-binding|" + (password_hash or "").encode(), hashlib.sha256).hexdigest()[:20]


def _stamp(now: datetime) -> float:
    return now.replace(tzinfo=UTC).timestamp() if now.tzinfo is None else now.timestamp()


def make_token(secret: bytes, user_id: int, password_hash: str | None, now: datetime) -> str:
    return sign(secret, PURPOSE, f"{user_id}:{_binding(secret, password_hash)}", _stamp(now))


def request_reset(
    storage: Storage,
    site: MailSite,
    secret: bytes,
    login: str,
    now: datetime,
    minutes: int,
    deliver: Callable[[int], object],
) -> bool:
    """Queue a reset email for the account whose name or email is ``login``, and try to send it
    (``deliver(outbox id)``). False when there is no such account or it has no email address;
    callers must not tell the visitor which."""
    found = storage.users.by_login(login.strip()) if login.strip() else None
    if found is None or not found[0].email:
        return False
    user, password_hash = found
    url = f"{site.base_url}/reset-password/{make_token(secret, user.id, password_hash, now)}"
    key = f"reset:{secrets.token_hex(8)}"
    message_id = message_id_for(key, site)
    message = render_reset(site, user.email, user.name, url, message_id, now, minutes)
    deliver(storage.digests.enqueue_to(user.email, key, message_id, message, now))
    return True


def check_token(storage: Storage, secret: bytes, token: str, now: datetime, minutes: int) -> tuple[User, str | None]:
    """The account a reset link is for and its password hash; InvalidInputError when the link is
    not ours, has expired, or was used (the password changed since)."""
    payload = verify(secret, PURPOSE, token, _stamp(now), minutes * 60, expired=EXPIRED)
    uid, _, binding = payload.partition(":")
    found = storage.users.by_id(int(uid)) if uid.isdigit() and int(uid) < 2**31 else None
    if found is None or not hmac.compare_digest(binding, _binding(secret, found[1])):
        raise InvalidInputError(USED)
    return found


def reset_password(storage: Storage, secret: bytes, token: str, new_password: str, now: datetime, minutes: int) -> User:
    """Set a new password through a reset link; every session of the account ends."""
    user, old_hash = check_token(storage, secret, token, now, minutes)
    new_hash = accounts.hash_password(accounts.check_password(new_password))
    if not storage.users.replace_password_hash(user.id, old_hash, new_hash):
        raise InvalidInputError(USED)
    storage.users.delete_sessions(user.id)
    return user
