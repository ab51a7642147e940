"""Members as a use case: accounts, logging in and out (sessions), passwords, emails and API
tokens. The rules for names, passwords and tokens are pure functions in ``accounts.py``; this
module applies them to the users table. ``Hub`` delegates here, one line each.

Password reset by email lives with the other signed email links in ``digest/`` (``digest.reset``,
wired in ``digest/service.py``): it needs the outbox and the signing key.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime, timedelta

from . import accounts
from .config import Settings
from .exceptions import AuthenticationError, UserNotFoundError
from .storage import Storage
from .types import User


class Members:
    def __init__(self, settings: Settings, storage: Storage, now: Callable[[], datetime]) -> None:
        self.settings = settings
        self._users = storage.users
        self._now = now

    def create_user(self, name: str, password: str, *, email: str | None = None, is_admin: bool = False) -> User:
        name = accounts.check_name(name)
        email = accounts.check_email(email) if email else None
        password_hash = accounts.hash_password(accounts.check_password(password))
        return self._users.create(name, email, password_hash, is_admin=is_admin, now=self._now())

    def get_user(self, name: str) -> User:
        found = self._users.by_name(name)
        if found is None:
            raise UserNotFoundError(name)
        return found[0]

    def set_admin(self, name: str, is_admin: bool) -> User:
        user = self.get_user(name)
        self._users.set_admin(user.id, is_admin)
        return dataclasses.replace(user, is_admin=is_admin)

    def log_in(self, login: str, password: str) -> tuple[User, str]:
        found = self._users.by_login(login.strip()) if login.strip() else None
        ok, rehash = accounts.verify_password(found[1] if found else None, password)
        if not ok or found is None:
            raise AuthenticationError("wrong user name or password")
        user = found[0]
        if rehash:
            self._users.set_password_hash(user.id, accounts.hash_password(password))
        token = accounts.new_token()
        now = self._now()
        self._users.add_session(user.id, accounts.token_hash(token), now, now + timedelta(days=self.settings.session_days))
        return user, token

    def user_for_session(self, token: str) -> User | None:
        if not token:
            return None
        return self._users.user_for_session(accounts.token_hash(token), self._now())

    def log_out(self, token: str) -> None:
        self._users.delete_session(accounts.token_hash(token))

    def change_password(self, user: User, current: str, new: str, *, keep_session: str | None = None) -> None:
        found = self._users.by_name(user.name)
        ok, _ = accounts.verify_password(found[1] if found else None, current)
        if not ok:
            raise AuthenticationError("the current password is wrong")
        self._users.set_password_hash(user.id, accounts.hash_password(accounts.check_password(new)))
        self._users.delete_sessions(user.id, keep=accounts.token_hash(keep_session) if keep_session else None)

    def set_password(self, name: str, new: str) -> User:
        user = self.get_user(name)
        self._users.set_password_hash(user.id, accounts.hash_password(accounts.check_password(new)))
        self._users.delete_sessions(user.id)
        return user

    def set_email(self, user: User, email: str) -> User:
        email = accounts.check_email(email) if email.strip() else ""
        self._users.set_email(user.id, email or None)
        return dataclasses.replace(user, email=email or None)

    def new_api_token(self, user: User) -> str:
        token = accounts.new_token()
        self._users.set_api_token_hash(user.id, accounts.token_hash(token))
        return token

    def revoke_api_token(self, user: User) -> None:
        self._users.set_api_token_hash(user.id, None)

    def has_api_token(self, user: User) -> bool:
        return self._users.has_api_token(user.id)

    def user_for_api_token(self, token: str) -> User | None:
        return self._users.by_api_token_hash(accounts.token_hash(token)) if token else None
