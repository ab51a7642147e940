"""Logging for the long-running commands (``serve``, ``worker``): one line per record on stderr,
with every secret in force masked, in the message and in tracebacks alike.

Loggers: ``broadsheet.access`` (one line per request, ``web/access_log.py``), ``broadsheet.web``
(errors), ``broadsheet.sync`` (one line per failed outbound request), ``broadsheet.digest`` (one
line per message the SMTP server did not take), and uvicorn's own.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from typing import TextIO

from .config import Settings, mask_secrets, secret_values

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
FORMAT_PIDS = "%(asctime)s [%(process)d] %(levelname)s %(name)s: %(message)s"  # `serve --workers N`
LOGGERS = ("broadsheet", "uvicorn")


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """A handler writing to whatever ``sys.stderr`` is at the time (a command run in-process, as
    tests do, leaves no handler on a closed stream behind)."""

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


class MaskingFormatter(logging.Formatter):
    """A formatter that replaces each of ``secrets`` by ``config.MASK`` in what it writes."""

    def __init__(self, secrets: Iterable[str], fmt: str = FORMAT) -> None:
        super().__init__(fmt)
        self.secrets = tuple(secrets)

    def format(self, record: logging.LogRecord) -> str:
        return mask_secrets(super().format(record), self.secrets)


def configure_logging(
    settings: Settings, *, stream: TextIO | None = None, level: int = logging.INFO, process_ids: bool = False
) -> logging.Handler:
    """Send Broadsheet's and uvicorn's records to ``stream`` (else stderr), secrets masked. Calling
    it again replaces the handler it installed before. Records still reach the root logger's
    handlers, if an embedding program set any. ``process_ids``: each line says which process
    wrote it (several worker processes share one stderr)."""
    handler: logging.Handler = logging.StreamHandler(stream) if stream is not None else _Stderr()
    handler.setFormatter(MaskingFormatter(secret_values(settings), FORMAT_PIDS if process_ids else FORMAT))
    handler.set_name("broadsheet")
    for name in LOGGERS:
        logger = logging.getLogger(name)
        for old in [h for h in logger.handlers if h.get_name() == "broadsheet"]:
            logger.removeHandler(old)
        logger.addHandler(handler)
        logger.setLevel(level)
    logging.getLogger("uvicorn.access").disabled = True  # broadsheet.access logs each request
    return handler

