"""Digests through a real SMTP server (aiosmtpd on 127.0.0.1): both parts and the headers,
exactly once, failures, leases, the schedule."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta

import pytest
from helpers import Clock
from smtp_helpers import SmtpServer, free_port
from web_helpers import NOW, site_hub

from broadsheet.hub import Hub, make_hub

SEND_DAY = date(2026, 11, 28)  # a daily digest covers 2026-11-27
BASE = "https://papers.example.org"


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


def _hub(db_url: str, port: int, clock: Clock | None = None, **settings: object) -> Hub:
    settings = {"smtp_host": "127.0.0.1", "smtp_port": port, "secret_key": "s" * 40, "base_url": BASE,
                "digest_trending_top": 2, **settings}  # fmt: skip
    return site_hub(db_url, clock, **settings)


def test_a_digest_arrives_with_both_parts_headers_and_absolute_links(db_url: str, smtp: SmtpServer) -> None:
    hub = _hub(db_url, smtp.port)
    hub.subscribe("reader@example.org", topics=["graph networks"], trending_top=1, confirmed=True)
    run = hub.send_digests("daily", SEND_DAY)
    assert (run.queued, run.sent, run.failed, run.pending) == (1, 1, 0, 0)
    [msg] = smtp.recorder.to("reader@example.org")
    assert msg["Subject"].startswith("Broadsheet daily digest, 2026-11-27")
    assert msg["Message-ID"] == "<daily%3A2026-11-27%3A1@papers.example.org>"
    unsubscribe = re.fullmatch(r"<(https://papers\.example\.org/digest/unsubscribe/[\w.-]+)>", msg["List-Unsubscribe"])
    assert unsubscribe and msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "== Trending ==" in text and "== graph networks ==" in text
    assert f"{BASE}/papers/2611.0000" in text and unsubscribe[1] in text
    assert f'href="{BASE}/papers/2611.0000' in html and "&lt;script&gt;" in html or "<script>" not in html
    # Re-running changes nothing; the next day never repeats a paper.
    again = hub.send_digests("daily", SEND_DAY)
    assert (again.queued, again.already, again.sent) == (0, 1, 0)
    assert len(smtp.recorder.messages) == 1
    first_ids = set(re.findall(r"/papers/(2611\.\d{5})", text))
    hub.send_digests("daily", SEND_DAY + timedelta(days=1))
    if len(smtp.recorder.messages) == 2:
        later = smtp.recorder.messages[1].get_body(("plain",)).get_content()
        assert not first_ids & set(re.findall(r"/papers/(2611\.\d{5})", later))


def test_nothing_goes_to_an_unconfirmed_address_but_the_confirmation(db_url: str, smtp: SmtpServer) -> None:
    hub = _hub(db_url, smtp.port)
    sub = hub.subscribe("new@example.org", frequency="daily")
    assert sub.confirmed_at is None
    [confirm] = smtp.recorder.to("new@example.org")
    assert "Confirm your Broadsheet daily digest" == confirm["Subject"]
    link = re.search(r"https://papers\.example\.org/digest/confirm/([\w.-]+)", confirm.get_body(("plain",)).get_content())
    assert link
    run = hub.send_digests("daily", SEND_DAY)
    assert (run.queued, run.sent) == (0, 0) and len(smtp.recorder.messages) == 1
    hub.confirm_subscription(link[1])
    assert hub.send_digests("daily", SEND_DAY).sent == 1


def test_server_down_then_451_then_550(db_url: str) -> None:
    clock = Clock(NOW)
    port = free_port()
    hub = _hub(db_url, port, clock, digest_retry_seconds=60.0, digest_max_attempts=3)
    for who in ("ok", "later", "never"):
        hub.subscribe(f"{who}@example.org", confirmed=True)
    down = hub.send_digests("daily", SEND_DAY)
    assert (down.queued, down.sent, down.pending) == (3, 0, 3)
    assert "cannot use the SMTP server" in down.errors[0]
    assert hub.digest_status()["outbox"]["due"] == 3  # nothing was attempted: all due again
    server = SmtpServer(port).start()
    try:
        server.recorder.reply_rcpt = {"later@example.org": "451 4.7.1 greylisted", "never@example.org": "550 5.1.1 no such user"}
        run = hub.send_digests("daily", SEND_DAY)
        assert (run.sent, run.retry_later, run.failed, run.pending) == (1, 1, 1, 1)
        status = hub.digest_status()
        assert status["outbox"] | {} == status["outbox"] and status["outbox"]["failed"] == 1
        assert "550 5.1.1" in status["failed"][0].last_error
        assert "451 4.7.1" in status["waiting"][0].last_error
        assert hub.deliver_digests().sent == 0  # not due before the backoff
        server.recorder.reply_rcpt = {}
        clock.now += timedelta(seconds=61)
        assert hub.deliver_digests().sent == 1
        assert server.recorder.per_recipient() == {"ok@example.org": 1, "later@example.org": 1}
        assert hub.digest_status()["outbox"] | {} == {**hub.digest_status()["outbox"], "sent": 2, "pending": 0, "failed": 1}
    finally:
        server.stop()


def test_a_temporary_failure_fails_after_max_attempts(db_url: str, smtp: SmtpServer) -> None:
    clock = Clock(NOW)
    hub = _hub(db_url, smtp.port, clock, digest_retry_seconds=1.0, digest_max_attempts=2)
    hub.subscribe("later@example.org", confirmed=True)
    smtp.recorder.reply_rcpt = {"later@example.org": "421 4.3.2 busy"}
    assert hub.send_digests("daily", SEND_DAY).retry_later == 1
    clock.now += timedelta(seconds=5)
    assert hub.deliver_digests().failed == 1
    assert "after 2 attempts" in hub.digest_status()["failed"][0].last_error


def test_one_sender_at_a_time_and_a_dead_holder_is_replaced(db_url: str, smtp: SmtpServer) -> None:
    hub = _hub(db_url, smtp.port)
    hub.subscribe("a@example.org", confirmed=True)
    other = make_hub(hub.settings, now=hub._now)
    try:
        assert other._hold_outbox()
        assert hub.send_digests("daily", SEND_DAY).busy
        assert smtp.recorder.messages == []
        other._release_outbox()
        store = hub._storage.digests
        import socket

        assert store.acquire_lease(hub.OUTBOX, f"{socket.gethostname()}:999999999:dead", NOW, NOW + timedelta(hours=1))
        assert hub.send_digests("daily", SEND_DAY).sent == 1  # pid 999999999 is not running: taken over
    finally:
        other.close()


def test_worker_runs_each_slot_once_across_workers(db_url: str, smtp: SmtpServer) -> None:
    clock = Clock(datetime(2026, 11, 28, 9, 0))
    hub = _hub(db_url, smtp.port, clock, schedule="digest-daily=07:00; digest-weekly=mon 07:30")
    other = make_hub(hub.settings, now=clock)  # a second worker on the same database
    try:
        hub.subscribe("a@example.org", confirmed=True)
        ran = hub.run_due_jobs()
        assert [name for name, _ in ran] == ["digest-daily", "digest-weekly"]
        assert "1 sent" in ran[0][1] and ran[0][1].startswith("digest-daily daily:2026-11-27")
        assert other.run_due_jobs() == [] and hub.run_due_jobs() == []
        clock.now += timedelta(days=1)
        assert [name for name, _ in other.run_due_jobs()] == ["digest-daily"]
        assert len(smtp.recorder.to("a@example.org")) >= 1
        assert hub.run_job("sync-arxiv") == "sync-arxiv: no sync_arxiv_categories set: nothing to do"
        assert hub.run_job("sync-oai").startswith("sync-oai: no sync_oai_set set")  # all of arXiv only when asked
    finally:
        other.close()
