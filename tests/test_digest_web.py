"""Digests on the site: the confirmation flow end to end (form → email → link → confirmed →
digest), RFC 8058 one-click unsubscribe without login or CSRF, settings, preview."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from helpers import Clock
from smtp_helpers import SmtpServer
from test_web_pages import Client
from web_helpers import NOW, site_hub

from broadsheet.hub import Hub
from broadsheet.web import create_app

BASE = "https://papers.example.org"


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def hub(db_url: str, smtp: SmtpServer, clock: Clock) -> Iterator[Hub]:
    h = site_hub(db_url, clock, smtp_host="127.0.0.1", smtp_port=smtp.port, secret_key="s" * 40, base_url=BASE,
                 page_cache_seconds=0.0)  # fmt: skip
    yield h
    h.close()


def _link(msg, kind: str) -> str:
    m = re.search(rf"{BASE}(/digest/{kind}/[\w.-]+)", msg.get_body(("plain",)).get_content())
    assert m, msg.get_body(("plain",)).get_content()
    return m[1]


def test_subscribe_form_email_link_confirmed_then_digest(hub: Hub, smtp: SmtpServer, clock: Clock) -> None:
    anon = Client(hub, base_url="https://testserver")
    page = anon.get("/digest/subscribe")
    assert page.status_code == 200 and "Trending papers in your inbox" in page.text
    r = anon.post("/digest/subscribe", {"email": "Reader@Example.org", "frequency": "daily", "trending": "3", "topics": "graph networks\n"})
    assert r.status_code == 200 and "Request received for reader@example.org" in r.text and "we sent" not in r.text
    [confirm] = smtp.recorder.to("reader@example.org")
    link = _link(confirm, "confirm")
    assert hub.send_digests("daily", date(2026, 11, 28)).queued == 0  # not confirmed yet
    shown = anon.get(link)  # a GET (a mail scanner's) confirms nothing
    assert shown.status_code == 200 and 'method="post"' in shown.text
    assert hub.get_subscriptions()[0].confirmed_at is None
    done = anon.http.post(link)
    assert done.status_code == 200 and "Subscribed" in done.text
    assert hub.get_subscriptions()[0].confirmed_at == NOW
    assert hub.send_digests("daily", date(2026, 11, 28)).sent == 1
    [digest] = [m for m in smtp.recorder.to("reader@example.org") if m is not confirm]
    assert "graph networks" in digest.get_body(("plain",)).get_content()


def test_confirmation_links_expire_and_cannot_be_forged(hub: Hub, smtp: SmtpServer, clock: Clock) -> None:
    hub.subscribe("late@example.org")
    link = _link(smtp.recorder.to("late@example.org")[0], "confirm")
    anon = Client(hub, base_url="https://testserver")
    assert anon.http.post(link[:-3] + "xyz").status_code == 400
    clock.now += timedelta(days=8)
    r = anon.http.post(link)
    assert r.status_code == 400 and "expired" in r.text
    assert hub.get_subscriptions()[0].confirmed_at is None


def test_one_click_unsubscribe_needs_no_login_or_csrf(hub: Hub, smtp: SmtpServer) -> None:
    hub.subscribe("leaver@example.org", confirmed=True)
    hub.send_digests("daily", date(2026, 11, 28))
    [msg] = smtp.recorder.to("leaver@example.org")
    url = msg["List-Unsubscribe"].strip("<>")
    assert url.startswith(BASE + "/digest/unsubscribe/")
    path = url.removeprefix(BASE)
    fresh = TestClient(create_app(hub), follow_redirects=False, base_url="https://testserver")  # no cookies at all
    page = fresh.get(path)
    assert page.status_code == 200 and "Unsubscribe?" in page.text and hub.get_subscriptions()
    r = fresh.post(path, content=b"List-Unsubscribe=One-Click", headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 200 and "Unsubscribed" in r.text
    assert hub.get_subscriptions() == []
    assert fresh.post(path).status_code == 200  # again: already gone, still fine
    assert hub.send_digests("daily", date(2026, 11, 29)).queued == 0


def test_settings_manage_subscriptions_and_preview(hub: Hub, smtp: SmtpServer) -> None:
    member = Client(hub, base_url="https://testserver")
    member.login("ada")
    assert "Email digests" in member.get("/settings").text
    r = member.post("/settings/digests", {"frequency": "weekly", "trending": "5", "topics": "diffusion models"})
    assert r.status_code == 303
    [sub] = hub.get_subscriptions()
    assert (sub.email, sub.frequency, sub.topics, sub.confirmed_at) == ("ada@example.org", "weekly", ("diffusion models",), None)
    assert smtp.recorder.to("ada@example.org")  # double opt-in for members too
    page = member.get("/settings")
    assert "waiting for confirmation" in page.text
    preview = member.get("/digest/preview")
    assert preview.status_code == 200
    assert "style-src 'unsafe-inline'" in preview.headers["content-security-policy"]
    assert "<h2" in preview.text and BASE + "/papers/" in preview.text
    assert member.post(f"/settings/digests/{sub.id}/delete").status_code == 303
    assert hub.get_subscriptions() == []
    other = Client(hub, base_url="https://testserver")
    other.login("root")
    sub = hub.subscribe("x@example.org", confirmed=True)
    assert other.post(f"/settings/digests/{sub.id}/delete").status_code == 404  # not theirs
    assert Client(hub, base_url="https://testserver").get("/digest/preview").status_code == 303  # log in first


FORM = {"frequency": "daily", "trending": "3", "topics": ""}


def test_without_a_mail_server_visitors_are_not_told_it_was_sent_and_admins_see_why(db_url: str) -> None:
    """No smtp_host: the confirmation waits in the outbox. A visitor's page claims nothing was sent
    (and reads the same as for an address already subscribed); an admin's says what happened."""
    hub = site_hub(db_url, Clock(NOW), secret_key="s" * 40, base_url=BASE, page_cache_seconds=0.0)
    try:
        anon = Client(hub, base_url="https://testserver")
        anon.get("/digest/subscribe")
        r = anon.post("/digest/subscribe", {"email": "v@example.org", **FORM})
        assert r.status_code == 200 and "Request received for v@example.org" in r.text
        assert "we sent" not in r.text.lower() and "Outbox" not in r.text
        again = anon.post("/digest/subscribe", {"email": "v@example.org", **FORM})  # nothing new to send
        assert re.sub(r'value="[^"]*"', "", again.text) == re.sub(r'value="[^"]*"', "", r.text)

        admin = Client(hub, base_url="https://testserver")
        admin.login("root")
        admin.get("/digest/subscribe")
        r = admin.post("/digest/subscribe", {"email": "w@example.org", **FORM})
        assert r.status_code == 200
        assert "Confirmation email queued, not sent; this server has no mail server configured" in r.text
        assert "Outbox: 2 pending (2 due now), 0 sent, 0 failed" in r.text
        status = hub.digest_status()
        assert status["outbox"]["pending"] == 2  # type: ignore[index]
    finally:
        hub.close()


def test_admins_see_a_confirmation_that_went_out(hub: Hub, smtp: SmtpServer) -> None:
    admin = Client(hub, base_url="https://testserver")
    admin.login("root")
    admin.get("/digest/subscribe")
    r = admin.post("/digest/subscribe", {"email": "x@example.org", **FORM})
    assert "Confirmation email sent: the mail server accepted it" in r.text
    assert "Outbox: 0 pending (0 due now), 1 sent, 0 failed" in r.text
    assert len(smtp.recorder.to("x@example.org")) == 1


def test_every_subscription_gets_its_confirmation(hub: Hub, smtp: SmtpServer) -> None:
    """From the 10th subscription on, the outbox key of a confirmation was longer than its column
    (PostgreSQL refused it: a 500 on the subscribe form)."""
    for n in range(12):
        hub.subscribe(f"reader{n}@example.org")
    assert len(smtp.recorder.messages) == 12
