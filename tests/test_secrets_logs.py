"""Secrets are masked wherever they are shown (``broadsheet settings``, CLI errors, log lines,
error pages), ``--show-secrets`` shows them to the owner; the server logs one line per request
(no tokens), as ``broadsheet serve`` writes it."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from helpers import Clock
from smtp_helpers import free_port
from typer.testing import CliRunner
from web_helpers import NOW, site_hub

from broadsheet.cli import app as cli
from broadsheet.config import MASK, load_settings
from broadsheet.exceptions import InvalidInputError
from broadsheet.hub import Hub
from broadsheet.logs import configure_logging
from broadsheet.web import create_app
from broadsheet.web.access_log import scrubbed

SMTP_PASSWORD = "smtp-pass-4f7a1c"
SECRET_KEY = "site-key-9d2e5b8c0a1f"
DB_PASSWORD = "db-pass-6b3e"
SECRETS = {"BROADSHEET_SMTP_PASSWORD": SMTP_PASSWORD, "BROADSHEET_SECRET_KEY": SECRET_KEY}


def test_settings_command_masks_secrets_unless_asked(tmp_path: Path) -> None:
    env = {**SECRETS, "BROADSHEET_DATABASE_URL": f"postgresql://broadsheet:{DB_PASSWORD}@127.0.0.1:5432/papers"}
    shown = CliRunner().invoke(cli, ["settings"], env=env)
    assert shown.exit_code == 0, shown.stderr
    for secret in (SMTP_PASSWORD, SECRET_KEY, DB_PASSWORD):
        assert secret not in shown.stdout
    assert f"smtp_password = '{MASK}'" in shown.stdout and f"secret_key = '{MASK}'" in shown.stdout
    assert f"postgresql://broadsheet:{MASK}@127.0.0.1:5432/papers" in shown.stdout
    assert "smtp_user = ''" in shown.stdout  # what is not secret is shown as it is
    owner = CliRunner().invoke(cli, ["settings", "--show-secrets"], env=env)
    assert owner.exit_code == 0
    for secret in (SMTP_PASSWORD, SECRET_KEY, DB_PASSWORD):
        assert secret in owner.stdout
    empty = CliRunner().invoke(cli, ["settings"], env={})
    assert "smtp_password = ''" in empty.stdout  # an unset secret is not shown as set


def test_cli_errors_mask_the_database_password() -> None:
    url = f"mysql://broadsheet:{DB_PASSWORD}@127.0.0.1:1/papers"  # refused, and the message names the URL
    result = CliRunner().invoke(cli, ["--db", url, "info"], env={})
    assert result.exit_code == 2 and "error:" in result.stderr
    assert DB_PASSWORD not in result.stderr and MASK in result.stderr


def test_log_lines_mask_secrets_in_messages_and_tracebacks() -> None:
    settings = load_settings(env=SECRETS)
    stream = io.StringIO()
    handler = configure_logging(settings, stream=stream)
    try:
        log = logging.getLogger("broadsheet.web")
        log.warning("cannot log in to smtp.example.org as broadsheet with %s", SMTP_PASSWORD)
        try:
            raise RuntimeError(f"signing failed with key {SECRET_KEY}")
        except RuntimeError:
            log.exception("unhandled error on GET /")
    finally:
        for name in ("broadsheet", "uvicorn"):
            logging.getLogger(name).removeHandler(handler)
    text = stream.getvalue()
    assert SMTP_PASSWORD not in text and SECRET_KEY not in text
    assert f"as broadsheet with {MASK}" in text and f"signing failed with key {MASK}" in text
    assert "Traceback" in text


@pytest.fixture
def hub(db_url: str) -> Iterator[Hub]:
    h = site_hub(db_url, Clock(NOW), smtp_password=SMTP_PASSWORD, secret_key=SECRET_KEY)
    yield h
    h.close()


def test_error_pages_mask_secrets(hub: Hub) -> None:
    app = create_app(hub)

    def fails() -> None:  # any error whose message came to carry a secret
        raise InvalidInputError(f"the SMTP server said: 535 bad credentials {SMTP_PASSWORD}")

    app.add_api_route("/fails", fails)
    client = TestClient(app)
    page = client.get("/fails")
    assert page.status_code == 400 and "bad credentials" in page.text
    assert SMTP_PASSWORD not in page.text and MASK in page.text
    api = client.get("/fails", headers={"accept": "application/json"})
    assert SMTP_PASSWORD not in api.text and MASK in api.text


def test_the_access_log_has_one_line_per_request_without_tokens(hub: Hub, caplog: pytest.LogCaptureFixture) -> None:
    client = TestClient(create_app(hub))
    with caplog.at_level(logging.INFO, logger="broadsheet.access"):
        client.get("/search?q=graph+networks&page=2")
        client.get("/no/such/page")
        client.get("/digest/confirm/eyJzZWNyZXQiOjF9.abc.MAC123?utm=x")
        client.get("/api/papers/search?q=x&token=hf_abcdef123456&api_key=k123")
    lines = [r.getMessage() for r in caplog.records if r.name == "broadsheet.access"]
    assert len(lines) == 4, lines
    assert lines[0].startswith('testclient "GET /search?q=graph+networks&page=2" 200 ') and lines[0].endswith(" ms")
    assert '"GET /no/such/page" 404' in lines[1]
    assert f'"GET /digest/confirm/{MASK}?utm=x"' in lines[2]
    assert "hf_abcdef123456" not in lines[3] and "k123" not in lines[3]
    assert f"token={MASK}" in lines[3] and f"api_key={MASK}" in lines[3] and "q=x" in lines[3]


def test_scrubbed() -> None:
    assert scrubbed("/reset-password/abc.def.ghi", "") == f"/reset-password/{MASK}"
    assert scrubbed("/digest/unsubscribe/t.1.m", "") == f"/digest/unsubscribe/{MASK}"
    assert scrubbed("/papers/2401.00001", "password=hunter2&x=1") == f"/papers/2401.00001?password={MASK}&x=1"
    assert scrubbed("/search", "q=a%20b") == "/search?q=a+b"


def test_serve_writes_the_access_log_and_masks_secrets(tmp_path: Path) -> None:
    """The real `broadsheet serve`: a line per request on stderr, a token in a query string and a
    secret that reached a path both masked."""
    db = tmp_path / "site.sqlite3"
    site_hub(f"sqlite:///{db}", Clock(NOW)).close()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BROADSHEET_")}
    env.update({**SECRETS, "BROADSHEET_EMBEDDER": "none", "BROADSHEET_SUBMIT_FETCH": "false"})
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "broadsheet", "--db", str(db), "serve", "--port", str(port)],
                                stdout=subprocess.DEVNULL, stderr=err, env=env)  # fmt: skip
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                try:
                    httpx.get(base + "/healthz", timeout=2)
                    break
                except httpx.TransportError:
                    assert proc.poll() is None and time.monotonic() < deadline, log_path.read_text()
                    time.sleep(0.1)
            httpx.get(base + "/feeds/daily.atom?token=tok-secret-77")
            httpx.get(base + f"/papers/{SECRET_KEY}")
        finally:
            proc.terminate()
            proc.wait(20)
    text = log_path.read_text()
    assert '"GET /healthz" 200' in text
    assert f'"GET /feeds/daily.atom?token={MASK}" 200' in text and "tok-secret-77" not in text
    assert f'"GET /papers/{MASK}" 404' in text and SECRET_KEY not in text
