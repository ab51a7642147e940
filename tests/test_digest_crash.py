"""SIGKILL of `broadsheet digest send` mid-run, then a re-run: every subscriber gets exactly one
digest. A real SMTP server (aiosmtpd) holds the sender at a chosen point while the test kills it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from smtp_helpers import SmtpServer
from web_helpers import site_hub

from broadsheet.config import load_settings
from broadsheet.hub import make_hub

SUBSCRIBERS = 12


def _setup(db_url: str, port: int) -> dict[str, str]:
    hub = site_hub(db_url, embedder="none")
    for n in range(SUBSCRIBERS):
        hub.subscribe(f"s{n:02d}@example.org", confirmed=True)
    url = hub.settings.database_url
    hub.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BROADSHEET_")}
    env.update({
        "BROADSHEET_DATABASE_URL": url, "BROADSHEET_SMTP_HOST": "127.0.0.1", "BROADSHEET_SMTP_PORT": str(port),
        "BROADSHEET_SECRET_KEY": "s" * 40, "BROADSHEET_EMBEDDER": "none", "BROADSHEET_BASE_URL": "https://papers.example.org",
    })  # fmt: skip
    return env


def _send(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "broadsheet", "digest", "send", "--date", "2026-11-28"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


def _kill_when_held(proc: subprocess.Popen[bytes], server: SmtpServer) -> None:
    assert server.recorder.held.wait(60), proc.communicate(timeout=5)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=10)
    server.recorder.release.set()


def test_sigkill_mid_run_then_rerun_delivers_each_digest_once(db_url: str) -> None:
    server = SmtpServer().start()
    try:
        env = _setup(db_url, server.port)
        server.recorder.hold_rcpt = 6  # killed while the 6th message waits for RCPT: not accepted
        _kill_when_held(_send(env), server)
        assert len(server.recorder.messages) == 5
        server.recorder.hold_rcpt = None
        rerun = _send(env)
        out, err = rerun.communicate(timeout=60)
        assert rerun.returncode == 0, err.decode()
        assert b"0 queued" in out and b"7 sent" in out  # composed once, by the killed run
        counts = server.recorder.per_recipient()
        assert set(counts) == {f"s{n:02d}@example.org" for n in range(SUBSCRIBERS)}
        assert set(counts.values()) == {1}
    finally:
        server.stop()


def test_killed_after_the_server_accepted_resends_with_the_same_message_id(db_url: str) -> None:
    """The one window exactly-once cannot close (RFC 1047): the server accepted the message and
    the sender died before it could record that. The message is resent, with the same
    Message-ID, and `digest status` showed it as interrupted meanwhile."""
    server = SmtpServer().start()
    try:
        env = _setup(db_url, server.port)
        server.recorder.hold_data = 3  # the 3rd message is accepted, its reply held
        _kill_when_held(_send(env), server)
        hub = make_hub(load_settings(env=env))
        assert hub.digest_status()["outbox"]["interrupted"] == 1
        hub.close()
        server.recorder.hold_data = None
        rerun = _send(env)
        rerun.communicate(timeout=60)
        assert rerun.returncode == 0
        counts = server.recorder.per_recipient()
        assert len(counts) == SUBSCRIBERS and sorted(counts.values()) == [1] * (SUBSCRIBERS - 1) + [2]
        [twice] = [a for a, n in counts.items() if n == 2]
        assert len({m["Message-ID"] for m in server.recorder.to(twice)}) == 1
    finally:
        server.stop()
