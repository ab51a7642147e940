"""Password reset by email: in a real browser (Playwright + Debian's chromium) against a live
server, with the email read from a real SMTP server (aiosmtpd); then the rules one by one over
HTTP, and ``broadsheet user set-password``."""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from helpers import Clock
from smtp_helpers import SmtpServer, free_port
from test_web_browser import ARGS, CHROMIUM, _need_browser
from test_web_pages import Client
from typer.testing import CliRunner
from web_helpers import NOW, PASSWORD, Server, site_hub

from broadsheet.exceptions import AuthenticationError
from broadsheet.hub import Hub
from broadsheet.web import create_app

NEW_PASSWORD = "a brand new passphrase"


def _reset_link(smtp: SmtpServer, to: str, base: str) -> str:
    [msg] = smtp.recorder.to(to)
    assert msg["Subject"].startswith("Set a new")
    text = msg.get_body(("plain",)).get_content()
    m = re.search(rf"{re.escape(base)}/reset-password/[\w.-]+", text)
    assert m, text
    return m[0]


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


# -- in a browser -------------------------------------------------------------------------------


def test_reset_in_a_browser_with_the_link_from_a_real_email(tmp_path: Any, smtp: SmtpServer) -> None:
    """On SQLite only: the browser sees the same pages on either backend (the HTTP tests below run on both)."""
    _need_browser()
    from playwright.sync_api import sync_playwright

    clock = Clock(NOW)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    hub = site_hub(f"sqlite:///{tmp_path / 'site.sqlite3'}", clock, base_url=base, smtp_host="127.0.0.1",
                   smtp_port=smtp.port, secret_key="r" * 40)  # fmt: skip
    profile = tempfile.mkdtemp(prefix="broadsheet-chromium-")
    try:
        with Server(create_app(hub), port), sync_playwright() as pw:
            context = pw.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, headless=True, args=ARGS)
            context.set_default_timeout(15_000)
            page = context.new_page()
            # Forgot the password: from the log-in page, ask for a link by email address.
            page.goto(base + "/login")
            page.click("text=Set a new one")
            page.fill("#login", "ada@example.org")
            page.click("form.stack button")
            page.wait_for_selector(".flash.ok")
            assert "Request received" in page.inner_text(".flash.ok")
            link = _reset_link(smtp, "ada@example.org", base)

            # The link from the email: set a new password, then log in with it.
            page.goto(link)
            assert "ada" in page.inner_text("main")
            page.fill("#new", NEW_PASSWORD)
            page.click("form.stack button")
            page.wait_for_selector("text=is set")
            page.click("text=Log in >> nth=-1")
            page.fill("#login", "ada")
            page.fill("#password", NEW_PASSWORD)
            page.click("form.stack button")
            page.wait_for_url(base + "/")
            assert page.inner_text("nav.account .who") == "ada"

            # The same link a second time: refused, and the password stays the new one.
            context.clear_cookies()
            page.goto(link)
            assert "already used" in page.inner_text(".flash.error")
            assert page.locator("#new").count() == 0
            assert hub.log_in("ada", NEW_PASSWORD)

            # A fresh link, followed after it expired.
            page.goto(base + "/reset-password")
            page.fill("#login", "ada")
            page.click("form.stack button")
            page.wait_for_selector(".flash.ok")
            [late] = smtp.recorder.to("ada@example.org")[1:]
            late_link = re.search(rf"{re.escape(base)}/reset-password/[\w.-]+", late.get_body(("plain",)).get_content())[0]
            clock.now += timedelta(minutes=61)
            page.goto(late_link)
            assert "expired" in page.inner_text(".flash.error")
            assert page.locator("#new").count() == 0
            context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)
        hub.close()


# -- the rules, over HTTP ------------------------------------------------------------------------


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


BASE = "https://papers.example.org"


@pytest.fixture
def hub(db_url: str, smtp: SmtpServer, clock: Clock) -> Iterator[Hub]:
    h = site_hub(db_url, clock, base_url=BASE, smtp_host="127.0.0.1", smtp_port=smtp.port, secret_key="r" * 40)
    yield h
    h.close()


def _ask(client: Client, login: str) -> Any:
    client.get("/reset-password")
    return client.post("/reset-password", {"login": login})


def test_the_answer_does_not_tell_who_has_an_account(hub: Hub, smtp: SmtpServer) -> None:
    anon = Client(hub, base_url="https://testserver")
    known, unknown = _ask(anon, "ada"), _ask(anon, "nobody-here")
    assert known.status_code == unknown.status_code == 200
    strip = lambda html: re.sub(r'value="[^"]*"', "", html)  # noqa: E731 - the CSRF token differs
    assert strip(known.text) == strip(unknown.text)
    assert [str(m["To"]) for m in smtp.recorder.messages] == ["ada@example.org"]


def test_a_reset_ends_every_session_and_the_link_works_once(hub: Hub, smtp: SmtpServer) -> None:
    _, session = hub.log_in("ada", PASSWORD)
    assert hub.request_password_reset("ADA") is True
    path = _reset_link(smtp, "ada@example.org", BASE).removeprefix(BASE)
    anon = Client(hub, base_url="https://testserver")
    form = anon.get(path)
    assert form.status_code == 200 and 'name="new"' in form.text
    short = anon.post(path, {"new": "short"})
    assert short.status_code == 400 and "at least 8" in short.text  # the link still works after that
    done = anon.post(path, {"new": NEW_PASSWORD})
    assert done.status_code == 200 and "is set" in done.text
    assert hub.user_for_session(session) is None
    with pytest.raises(AuthenticationError):
        hub.log_in("ada", PASSWORD)
    again = anon.post(path, {"new": "yet another password"})
    assert again.status_code == 400 and "already used" in again.text
    assert hub.log_in("ada", NEW_PASSWORD)


def test_forged_or_expired_links_are_refused(hub: Hub, smtp: SmtpServer, clock: Clock) -> None:
    hub.request_password_reset("ada@example.org")
    path = _reset_link(smtp, "ada@example.org", BASE).removeprefix(BASE)
    anon = Client(hub, base_url="https://testserver")
    assert anon.get(path[:-3] + "abc").status_code == 400
    clock.now += timedelta(minutes=hub.settings.password_reset_minutes + 1)
    r = anon.get(path)
    assert r.status_code == 400 and "expired" in r.text


def test_without_base_url_the_site_says_it_cannot_email(db_url: str, smtp: SmtpServer) -> None:
    hub = site_hub(db_url, Clock(NOW), smtp_host="127.0.0.1", smtp_port=smtp.port, secret_key="r" * 40)
    try:
        anon = Client(hub, base_url="http://evil.example:8001")  # the request's host never goes into an email
        r = _ask(anon, "ada")
        assert r.status_code == 400 and "base_url" in r.text
        assert smtp.recorder.messages == []
    finally:
        hub.close()


def test_reset_mail_waits_in_the_outbox_without_a_mail_server(db_url: str) -> None:
    hub = site_hub(db_url, Clock(NOW), base_url=BASE, secret_key="r" * 40)  # smtp_host unset
    try:
        assert hub.request_password_reset("ada") is True
        outbox = hub.digest_status()["outbox"]
        assert outbox["pending"] == 1 and outbox["sent"] == 0  # type: ignore[index]
    finally:
        hub.close()


def test_cli_set_password(hub: Hub) -> None:
    from broadsheet.cli import app

    _, session = hub.log_in("ada", PASSWORD)
    env = {"BROADSHEET_DATABASE_URL": hub.settings.database_url, "BROADSHEET_EMBEDDER": "none"}
    result = CliRunner().invoke(app, ["user", "set-password", "ada"], input=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n", env=env)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "password of ada set" in result.stdout and NEW_PASSWORD not in result.stdout
    assert hub.user_for_session(session) is None
    assert hub.log_in("ada", NEW_PASSWORD)
    bad = CliRunner().invoke(app, ["user", "set-password", "nobody", "--password", NEW_PASSWORD], env=env)
    assert bad.exit_code == 2 and "no user named 'nobody'" in bad.stderr
    short = CliRunner().invoke(app, ["user", "set-password", "ada", "--password", "short"], env=env)
    assert short.exit_code == 2 and "at least 8" in short.stderr
