"""Account rules: user names, emails, passwords (argon2id) and opaque tokens.

Passwords are hashed with argon2id (``argon2-cffi``, its default parameters: RFC 9106's low-memory
profile). Session and API tokens are 256 random bits; the database keeps only their SHA-256, which
is enough for a secret that is not guessable (a slow hash protects guessable passwords only).
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from .exceptions import InvalidInputError

if TYPE_CHECKING:
    from argon2 import PasswordHasher

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{1,31}$")
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 8
MAX_PASSWORD = 1024  # argon2 takes any length; this only stops absurd request bodies


def check_name(name: str) -> str:
    name = name.strip()
    if not NAME_RE.match(name):
        raise InvalidInputError(
            "a user name has 2-32 characters: letters, digits, '-' or '_', starting with a letter or digit"
        )
    return name


def check_email(email: str) -> str:
    email = email.strip()
    if len(email) > 320 or not EMAIL_RE.match(email):
        raise InvalidInputError(f"not an email address: {email!r}")
    return email


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise InvalidInputError(f"a password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise InvalidInputError(f"a password has at most {MAX_PASSWORD} characters")
    return password


@cache
def _hasher() -> PasswordHasher:
    from argon2 import PasswordHasher

    return PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(stored_hash: str | None, password: str) -> tuple[bool, bool]:
    """``(matches, needs_rehash)``. With no stored hash a dummy one is checked, so that an
    unknown user takes as long to refuse as a wrong password."""
    from argon2.exceptions import InvalidHashError, VerificationError

    hasher = _hasher()
    try:
        hasher.verify(stored_hash or _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return False, False
    if stored_hash is None:
        return False, False
    return True, hasher.check_needs_rehash(stored_hash)


@cache
def _dummy_hash() -> str:
    return _hasher().hash(secrets.token_urlsafe(16))


def new_token() -> str:
    """An opaque token: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


SECRET_FILE = "secret_key"


def load_secret(secret_key: str, data_dir: Path) -> bytes:
    """The ``secret_key`` setting, else the key in the data folder, made on first use (mode 600).

    Two processes starting at once agree on one key: it is written to a temporary file and
    hard-linked into place, and the loser reads the winner's."""
    if secret_key:
        return secret_key.encode("utf-8")
    path = data_dir / SECRET_FILE
    if path.exists():
        return _read_key(path)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{SECRET_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(secrets.token_urlsafe(48) + "\n")
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return _read_key(path)


def _read_key(path: Path) -> bytes:
    key = path.read_bytes().strip()
    if len(key) < 32:
        raise InvalidInputError(
            f"{path}: the secret key is too short (at least 32 characters)"
        )
    return key
