"""The exceptions Broadsheet raises.

    BroadsheetError
    ├── InvalidInputError (also a ValueError)   bad id, bad query, bad record, bad setting
    │   └── InvalidArxivIdError
    ├── NotFoundError (also a LookupError)
    │   ├── PaperNotFoundError
    │   └── UserNotFoundError
    ├── ConflictError                           e.g. a user name that is taken
    ├── PermissionDeniedError
    ├── AuthenticationError                     wrong user name or password, unknown session
    ├── StorageError                            the database refused or is too new/old
    └── SourceError                             a remote source or file could not be read
        └── OaiPmhError                         an OAI-PMH error response (``code``: badResumptionToken, ...)
"""

from __future__ import annotations


class BroadsheetError(Exception):
    """Base class of every error Broadsheet raises on purpose."""


class InvalidInputError(BroadsheetError, ValueError):
    """Input that cannot be accepted; the message says why."""


class InvalidArxivIdError(InvalidInputError):
    """A string that is not an arXiv identifier."""


class NotFoundError(BroadsheetError, LookupError):
    """Something asked for by key does not exist."""


class PaperNotFoundError(NotFoundError):
    def __init__(self, arxiv_id: str) -> None:
        super().__init__(f"no paper with arXiv id {arxiv_id!r}")
        self.arxiv_id = arxiv_id


class UserNotFoundError(NotFoundError):
    def __init__(self, name: str) -> None:
        super().__init__(f"no user named {name!r}")
        self.name = name


class ConflictError(BroadsheetError):
    """The change would break a uniqueness rule."""


class PermissionDeniedError(BroadsheetError):
    """The acting user may not do this."""


class AuthenticationError(BroadsheetError):
    """The credentials do not match an account (the message never says which part was wrong)."""


class StorageError(BroadsheetError):
    """The database could not be used."""


class SourceError(BroadsheetError):
    """A source (file or remote service) could not be read at all."""


class OaiPmhError(SourceError):
    """An OAI-PMH server answered with an ``<error code="...">``; ``code`` says which."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"OAI-PMH error {code}: {message}")
        self.code = code
