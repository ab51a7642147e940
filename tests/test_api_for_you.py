"""/api/v1 for For you: recommendations with their reasons, dismissals, private feed links;
token auth and JSON errors as the rest of the API; in the OpenAPI document. Both backends."""

from __future__ import annotations

from collections.abc import Iterator

import feedparser
import pytest
from fastapi.testclient import TestClient
from helpers import Clock
from web_helpers import NOW, site_hub

from broadsheet.hub import Hub
from broadsheet.web import create_app


@pytest.fixture
def hub(db_url: str) -> Iterator[Hub]:
    h = site_hub(db_url, Clock(NOW), page_cache_seconds=0.0, base_url="https://papers.example.org", secret_key="s" * 40)
    h.save_paper(h.get_user("ada"), "2611.00003")
    yield h
    h.close()


@pytest.fixture
def http(hub: Hub) -> TestClient:
    return TestClient(create_app(hub))


def _auth(hub: Hub, name: str = "ada") -> dict[str, str]:
    return {"Authorization": f"Bearer {hub.new_api_token(hub.get_user(name))}"}


def test_recommendations_with_reasons(hub: Hub, http: TestClient) -> None:
    r = http.get("/api/v1/recommendations?window=month&limit=5", headers=_auth(hub))
    assert r.status_code == 200
    body = r.json()
    assert body["window"] == "month" and body["coldStart"] is False and len(body["items"]) == 5
    top = body["items"][0]
    assert "protein folding" in top["paper"]["title"]
    assert top["closest"] == [{"id": "2611.00003", "title": "Paper 3 about protein folding"}]
    assert "protein" in top["words"] and top["why"][0].startswith("close to Paper 3")
    assert http.get("/api/v1/recommendations").status_code == 401
    bad = http.get("/api/v1/recommendations?window=year", headers=_auth(hub))
    assert bad.status_code == 400 and "window" in bad.json()["error"]


def test_dismissals(hub: Hub, http: TestClient) -> None:
    auth = _auth(hub)
    top = http.get("/api/v1/recommendations?window=month", headers=auth).json()["items"][0]["paper"]["id"]
    assert http.post(f"/api/v1/dismissals/{top}", headers=auth).status_code == 201
    assert http.post(f"/api/v1/dismissals/{top}", headers=auth).status_code == 200
    assert http.get("/api/v1/dismissals", headers=auth).json() == [top]
    ids = [i["paper"]["id"] for i in http.get("/api/v1/recommendations?window=month", headers=auth).json()["items"]]
    assert top not in ids
    assert http.delete(f"/api/v1/dismissals/{top}", headers=auth).status_code == 204
    gone = http.delete(f"/api/v1/dismissals/{top}", headers=auth)
    assert gone.status_code == 404 and "not dismissed" in gone.json()["error"]
    assert http.post("/api/v1/dismissals/9999.99999", headers=auth).status_code == 404
    assert http.post(f"/api/v1/dismissals/{top}").status_code == 401
    assert http.get("/api/v1/dismissals", headers=_auth(hub, "root")).json() == []  # each member's own


def test_feed_token(hub: Hub, http: TestClient) -> None:
    auth = _auth(hub)
    made = http.post("/api/v1/feed-token", headers=auth)
    assert made.status_code == 201
    url = made.json()["feeds"][0]["url"]
    path = url.split("papers.example.org", 1)[1]
    parsed = feedparser.parse(http.get(path).content)
    assert not parsed.bozo and parsed.entries
    assert http.delete("/api/v1/feed-token", headers=auth).status_code == 204
    assert http.get(path).status_code == 404


def test_in_the_openapi_document(http: TestClient) -> None:
    paths = http.get("/openapi.json").json()["paths"]
    assert {"get"} <= set(paths["/api/v1/recommendations"])
    assert {"post", "delete"} <= set(paths["/api/v1/dismissals/{arxiv_id}"])
    assert {"post", "delete"} <= set(paths["/api/v1/feed-token"])
    assert "401" in paths["/api/v1/recommendations"]["get"]["responses"]


def test_subscriptions_take_the_personal_options(hub: Hub, http: TestClient) -> None:
    auth = _auth(hub)
    made = http.post("/api/v1/subscriptions", json={"frequency": "weekly", "trendingTop": 0, "forYouTop": 5, "followAlerts": True}, headers=auth)
    assert made.status_code == 201, made.text
    assert made.json()["forYouTop"] == 5 and made.json()["followAlerts"] is True
    assert http.get("/api/v1/subscriptions", headers=auth).json()[0]["forYouTop"] == 5
    bad = http.post("/api/v1/subscriptions", json={"frequency": "daily", "forYouTop": 99}, headers=auth)
    assert bad.status_code == 400 and "error" in bad.json()
