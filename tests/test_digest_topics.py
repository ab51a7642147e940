"""Digest topics are search queries: one the query parser refuses (or that leaves nothing to
search for) is refused with the reason, through the API, the CLI and the web forms."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from helpers import Clock
from test_web_pages import Client
from typer.testing import CliRunner
from web_helpers import NOW, site_hub

from broadsheet.cli import app as cli
from broadsheet.hub import Hub
from broadsheet.web import create_app


@pytest.fixture
def hub(db_url: str) -> Iterator[Hub]:
    h = site_hub(db_url, Clock(NOW), secret_key="s" * 40, base_url="http://testserver")
    yield h
    h.close()


def test_the_api_refuses_a_bad_topic_with_the_reason(hub: Hub) -> None:
    http = TestClient(create_app(hub))
    token = {"Authorization": f"Bearer {hub.new_api_token(hub.get_user('ada'))}"}
    for topic, says in (('"', "unbalanced quote"), ("!!", "nothing to search for")):
        r = http.post("/api/v1/subscriptions", json={"topics": ["graph networks", topic]}, headers=token)
        assert r.status_code == 400, r.text
        assert says in r.json()["error"] and repr(topic) in r.json()["error"]
    assert hub.get_subscriptions(hub.get_user("ada")) == []
    ok = http.post("/api/v1/subscriptions", json={"topics": ['"graph networks"', "cat:cs.LG"]}, headers=token)
    assert ok.status_code == 201, ok.text


def test_the_cli_refuses_a_bad_topic_with_the_reason(hub: Hub) -> None:
    env = {"BROADSHEET_DATABASE_URL": hub.settings.database_url, "BROADSHEET_SECRET_KEY": "s" * 40,
           "BROADSHEET_EMBEDDER": "none", "BROADSHEET_SMTP_HOST": "127.0.0.1", "BROADSHEET_SMTP_PORT": "9"}  # fmt: skip
    result = CliRunner().invoke(cli, ["subscription", "add", "x@example.org", "--topic", '"', "--confirmed"], env=env)
    assert result.exit_code != 0
    assert "unbalanced quote" in result.stdout + result.stderr
    assert hub.get_subscriptions() == []


def test_the_web_forms_refuse_a_bad_topic_with_the_reason(hub: Hub) -> None:
    c = Client(hub)
    c.login("ada")
    c.get("/settings")
    r = c.post("/settings/digests", {"frequency": "daily", "trending": "0", "topics": 'graph\n"'})
    assert r.status_code == 400 and "unbalanced quote" in r.text
    anon = Client(hub)
    anon.get("/digest/subscribe")
    r = anon.post("/digest/subscribe", {"email": "y@example.org", "trending": "0", "topics": "-transformer"})
    assert r.status_code == 400 and "besides exclusions" in r.text
