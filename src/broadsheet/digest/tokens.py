"""Signed links for email: confirm a subscription, unsubscribe without logging in (pure).

A token is ``payload.issued.mac``: the payload (base64url), the issue time (seconds, base 36) and
an HMAC-SHA256 over a purpose, both and the site's secret key (the key that signs CSRF tokens).
The purpose keeps a token for one link from working for another; ``max_age`` makes a confirmation
link expire, while unsubscribe links work for as long as the subscription exists.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from ..exceptions import InvalidInputError


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, purpose: str, body: str) -> str:
    return _b64(hmac.new(secret, f"{purpose}|{body}".encode(), hashlib.sha256).digest()[:20])


def sign(secret: bytes, purpose: str, payload: str, now: float) -> str:
    body = f"{_b64(payload.encode('utf-8'))}.{_base36(int(now))}"
    return f"{body}.{_mac(secret, purpose, body)}"


def verify(
    secret: bytes, purpose: str, token: str, now: float, max_age: float | None = None,
    expired: str = "this link has expired: subscribe again to get a new one",
) -> str:  # fmt: skip
    """The payload of a token this site signed for ``purpose``; InvalidInputError when it was
    not, was changed, or is older than ``max_age`` seconds (then with the message ``expired``)."""
    try:
        payload, issued, mac = token.split(".")
        if not hmac.compare_digest(_mac(secret, purpose, f"{payload}.{issued}"), mac):
            raise ValueError
        age = now - int(issued, 36)
        text = _unb64(payload).decode("utf-8")
    except ValueError:  # also binascii.Error and UnicodeDecodeError
        raise InvalidInputError("this link is not valid: copy the whole link from the email") from None
    if max_age is not None and age > max_age:
        raise InvalidInputError(expired)
    return text


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if not n:
            return out
