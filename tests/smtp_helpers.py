"""A real SMTP server (aiosmtpd) on 127.0.0.1 for the digest tests, with failure injection."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections import Counter
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Recorder:
    """Keeps every accepted message. ``reply_rcpt[address]`` answers RCPT for that address with
    another reply (``"451 ..."``, ``"550 ..."``); ``hold_rcpt`` / ``hold_data`` make the n-th
    RCPT (before it is accepted) or DATA (after the message is kept) wait until ``release``."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.reply_rcpt: dict[str, str] = {}
        self.hold_rcpt: int | None = None
        self.hold_data: int | None = None
        self.held = threading.Event()
        self.release = threading.Event()
        self._rcpts = 0
        self.lock = threading.Lock()

    async def _hold(self) -> None:
        self.held.set()
        while not self.release.is_set():
            await asyncio.sleep(0.01)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self._rcpts += 1
        if self.hold_rcpt is not None and self._rcpts == self.hold_rcpt:
            await self._hold()
            return "451 4.3.0 try again"  # the client is gone by now
        if address in self.reply_rcpt:
            return self.reply_rcpt[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        msg = message_from_bytes(envelope.original_content or envelope.content, policy=default)
        with self.lock:
            self.messages.append(msg)  # type: ignore[arg-type]
            n = len(self.messages)
        if self.hold_data is not None and n == self.hold_data:
            await self._hold()
        return "250 2.0.0 accepted"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]

    def per_recipient(self) -> Counter[str]:
        return Counter(str(m["To"]) for m in self.messages)


class SmtpServer:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.recorder = Recorder()
        self._controller: Controller | None = None

    def start(self) -> SmtpServer:
        self._controller = Controller(self.recorder, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self.recorder.release.set()
            self._controller.stop()
            self._controller = None
