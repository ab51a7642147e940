"""SQL for accounts: users, their password and API-token hashes, and login sessions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from ..exceptions import ConflictError
from ..types import User
from .engine import writer
from .schema import sessions, users


def _user(row: Any) -> User:
    return User(
        id=row.id,
        name=row.name,
        email=row.email,
        is_admin=row.is_admin,
        created_at=row.created_at,
    )


class UserStore:
    """Users and sessions. Names are unique regardless of case; emails too."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._writer = writer(engine)

    def create(
        self,
        name: str,
        email: str | None,
        password_hash: str | None,
        *,
        is_admin: bool,
        now: datetime,
    ) -> User:
        with self._writer.begin() as conn:
            self._check_free(conn, name=name, email=email)
            try:
                uid = conn.execute(
                    insert(users)
                    .values(
                        name=name,
                        email=email,
                        password_hash=password_hash,
                        is_admin=is_admin,
                        created_at=now,
                    )
                    .returning(users.c.id)
                ).scalar_one()
            except (
                IntegrityError
            ) as e:  # a race with another writer: same answer as the check
                raise ConflictError(f"the name {name!r} or that email is taken") from e
        return User(id=uid, name=name, email=email, is_admin=is_admin, created_at=now)

    def _check_free(
        self,
        conn: Any,
        *,
        name: str | None = None,
        email: str | None = None,
        but: int | None = None,
    ) -> None:
        for column, value, taken in (
            (users.c.name, name, f"the name {name!r} is taken"),
            (users.c.email, email, "an account with that email exists"),
        ):
            if value is None:
                continue
            q = select(users.c.id).where(func.lower(column) == value.lower())
            if but is not None:
                q = q.where(users.c.id != but)
            if conn.execute(q).first():
                raise ConflictError(taken)

    def by_name(self, name: str) -> tuple[User, str | None] | None:
        """The user (any case of the name) and their password hash."""
        with self._engine.connect() as conn:
            row = conn.execute(
                select(users).where(func.lower(users.c.name) == name.lower())
            ).first()
        return (_user(row), row.password_hash) if row else None

    def by_login(self, login: str) -> tuple[User, str | None] | None:
        """The user whose name or email is ``login`` (any case), and their password hash."""
        key = login.lower()
        with self._engine.connect() as conn:
            row = conn.execute(
                select(users).where(
                    or_(
                        func.lower(users.c.name) == key,
                        func.lower(users.c.email) == key,
                    )
                )
            ).first()
        return (_user(row), row.password_hash) if row else None

    def by_id(self, user_id: int) -> tuple[User, str | None] | None:
        """The user with this id and their password hash."""
        with self._engine.connect() as conn:
            row = conn.execute(select(users).where(users.c.id == user_id)).first()
        return (_user(row), row.password_hash) if row else None

    def replace_password_hash(self, user_id: int, old: str | None, new: str) -> bool:
        """Set the hash only if it is still ``old`` (one statement: of two uses of one password
        reset link, one wins). Whether it was set."""
        with self._writer.begin() as conn:
            return (
                conn.execute(
                    update(users)
                    .where(users.c.id == user_id, users.c.password_hash.is_(None) if old is None else users.c.password_hash == old)
                    .values(password_hash=new)
                ).rowcount
                == 1
            )

    def set_password_hash(self, user_id: int, password_hash: str) -> None:
        with self._writer.begin() as conn:
            conn.execute(
                update(users)
                .where(users.c.id == user_id)
                .values(password_hash=password_hash)
            )

    def set_email(self, user_id: int, email: str | None) -> None:
        with self._writer.begin() as conn:
            if email is not None:
                self._check_free(conn, email=email, but=user_id)
            conn.execute(update(users).where(users.c.id == user_id).values(email=email))

    def set_admin(self, user_id: int, is_admin: bool) -> None:
        with self._writer.begin() as conn:
            conn.execute(
                update(users).where(users.c.id == user_id).values(is_admin=is_admin)
            )

    def set_api_token_hash(self, user_id: int, token_hash: str | None) -> None:
        with self._writer.begin() as conn:
            conn.execute(
                update(users)
                .where(users.c.id == user_id)
                .values(api_token_hash=token_hash)
            )

    def has_api_token(self, user_id: int) -> bool:
        with self._engine.connect() as conn:
            return (
                conn.execute(
                    select(users.c.api_token_hash).where(users.c.id == user_id)
                ).scalar()
                is not None
            )

    def by_api_token_hash(self, token_hash: str) -> User | None:
        with self._engine.connect() as conn:
            row = conn.execute(
                select(users).where(users.c.api_token_hash == token_hash)
            ).first()
        return _user(row) if row else None

    # -- sessions -----------------------------------------------------------------------------

    def add_session(
        self, user_id: int, token_hash: str, now: datetime, expires_at: datetime
    ) -> None:
        """Store a new login, and drop the expired ones of everyone (cheap: an indexless scan of a
        small table, once per login)."""
        with self._writer.begin() as conn:
            conn.execute(delete(sessions).where(sessions.c.expires_at <= now))
            conn.execute(
                insert(sessions).values(
                    token_hash=token_hash,
                    user_id=user_id,
                    created_at=now,
                    expires_at=expires_at,
                )
            )

    def user_for_session(self, token_hash: str, now: datetime) -> User | None:
        with self._engine.connect() as conn:
            row = conn.execute(
                select(users)
                .join(sessions, sessions.c.user_id == users.c.id)
                .where(sessions.c.token_hash == token_hash, sessions.c.expires_at > now)
            ).first()
        return _user(row) if row else None

    def delete_session(self, token_hash: str) -> None:
        with self._writer.begin() as conn:
            conn.execute(delete(sessions).where(sessions.c.token_hash == token_hash))

    def delete_sessions(self, user_id: int, *, keep: str | None = None) -> None:
        """Log a user out everywhere (but the session whose hash is ``keep``)."""
        with self._writer.begin() as conn:
            q = delete(sessions).where(sessions.c.user_id == user_id)
            if keep is not None:
                q = q.where(sessions.c.token_hash != keep)
            conn.execute(q)
