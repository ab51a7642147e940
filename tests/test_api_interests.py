"""/api/v1/follows and /api/v1/mutes, on both backends: token auth, idempotent adds (201, then
200), JSON errors naming the fault, one member cannot remove another's, the OpenAPI document."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from helpers import Clock
from web_helpers import NOW, PASSWORD, site_hub

from broadsheet.hub import Hub
from broadsheet.web import create_app


@pytest.fixture
def hub(db_url: str) -> Iterator[Hub]:
    h = site_hub(db_url, Clock(NOW), rate_votes="20/minute")
    yield h
    h.close()


@pytest.fixture
def http(hub: Hub) -> TestClient:
    return TestClient(create_app(hub))


def _token(hub: Hub, name: str = "ada") -> dict[str, str]:
    return {"Authorization": f"Bearer {hub.new_api_token(hub.get_user(name))}"}


@pytest.mark.parametrize("plural", ["follows", "mutes"])
def test_need_a_token(http: TestClient, plural: str) -> None:
    for method, url in (("GET", f"/api/v1/{plural}"), ("POST", f"/api/v1/{plural}"), ("DELETE", f"/api/v1/{plural}/1")):
        r = http.request(method, url, json={"kind": "author", "value": "x"})
        assert r.status_code == 401 and "token" in r.json()["error"]
        assert r.headers["www-authenticate"] == "Bearer"


def test_follows(http: TestClient, hub: Hub) -> None:
    token = _token(hub)
    r = http.post("/api/v1/follows", json={"kind": "author", "value": "Ada  Lovelace"}, headers=token)
    assert r.status_code == 201
    made = r.json()
    assert made["kind"] == "author" and made["value"] == "Ada Lovelace" and made["createdAt"].endswith("Z")
    again = http.post("/api/v1/follows", json={"kind": "author", "value": "ada lovelace"}, headers=token)
    assert again.status_code == 200 and again.json()["id"] == made["id"]
    assert http.post("/api/v1/follows", json={"kind": "category", "value": "CS"}, headers=token).json()["value"] == "cs"
    http.post("/api/v1/follows", json={"kind": "search", "value": "protein cat:cs.LG"}, headers=token)
    listed = http.get("/api/v1/follows", headers=token).json()
    assert [(f["kind"], f["value"]) for f in listed] == [("author", "Ada Lovelace"), ("category", "cs"), ("search", "protein cat:cs.LG")]
    assert [f["value"] for f in http.get("/api/v1/follows?kind=search", headers=token).json()] == ["protein cat:cs.LG"]
    assert http.get("/api/v1/mutes", headers=token).json() == []
    r = http.get("/api/v1/follows?kind=word", headers=token)
    assert r.status_code == 400 and "follow kind must be one of" in r.json()["error"].lower()

    # another member sees none of them and cannot remove them
    hub.create_user("bob", PASSWORD)
    bob = _token(hub, "bob")
    assert http.get("/api/v1/follows", headers=bob).json() == []
    r = http.delete(f"/api/v1/follows/{made['id']}", headers=bob)
    assert r.status_code == 404 and "no follow" in r.json()["error"]
    assert http.delete(f"/api/v1/follows/{made['id']}", headers=token).status_code == 204
    assert http.delete(f"/api/v1/follows/{made['id']}", headers=token).status_code == 404
    assert http.delete("/api/v1/follows/99999999999", headers=token).status_code == 404
    assert len(http.get("/api/v1/follows", headers=token).json()) == 2


@pytest.mark.parametrize(
    ("plural", "body", "error"),
    [
        ("follows", {"kind": "category", "value": "cs.NOPE"}, "'cs.NOPE' is not an arXiv category"),
        ("follows", {"kind": "search", "value": 'author:"x'}, "saved search"),
        ("follows", {"kind": "word", "value": "gan"}, "follow kind must be one of author, category, search"),
        ("mutes", {"kind": "search", "value": "gan"}, "mute kind must be one of author, category, word"),
        ("mutes", {"kind": "word", "value": "!!"}, "has no letters or digits"),
        ("mutes", {"kind": "word"}, "value"),
        ("mutes", {"kind": "author", "value": "x" * 501}, "value"),
    ],
)
def test_bad_values_are_json_400s(http: TestClient, hub: Hub, plural: str, body: dict[str, str], error: str) -> None:
    r = http.post(f"/api/v1/{plural}", json=body, headers=_token(hub))
    assert r.status_code == 400 and error.lower() in r.json()["error"].lower()


def test_mutes_hide_papers_on_the_members_pages(http: TestClient, hub: Hub) -> None:
    token = _token(hub)
    r = http.post("/api/v1/mutes", json={"kind": "word", "value": "protein folding"}, headers=token)
    assert r.status_code == 201
    assert [m["value"] for m in http.get("/api/v1/mutes?kind=word", headers=token).json()] == ["protein folding"]
    kept, hidden = hub.apply_mutes(hub.get_user("ada"), hub.get_newest_papers(100))
    assert hidden == 5 and not any("protein" in p.title for p in kept)
    assert http.delete(f"/api/v1/mutes/{r.json()['id']}", headers=token).status_code == 204
    assert hub.apply_mutes(hub.get_user("ada"), hub.get_newest_papers(100))[1] == 0


def test_rate_limited(http: TestClient, hub: Hub) -> None:
    token = _token(hub)
    codes = [http.post("/api/v1/mutes", json={"kind": "word", "value": f"w{i}"}, headers=token).status_code for i in range(22)]
    assert codes[:20] == [201] * 20 and codes[-1] == 429


def test_in_the_openapi_document(http: TestClient) -> None:
    paths = http.get("/openapi.json").json()["paths"]
    for plural in ("follows", "mutes"):
        assert set(paths[f"/api/v1/{plural}"]) == {"get", "post"}
        assert set(paths[f"/api/v1/{plural}/{{interest_id}}"]) == {"delete"}
        assert "401" in paths[f"/api/v1/{plural}"]["get"]["responses"]
        assert "400" in paths[f"/api/v1/{plural}"]["post"]["responses"]
        assert "404" in paths[f"/api/v1/{plural}/{{interest_id}}"]["delete"]["responses"]
    assert "/api/v1/follows" in http.get("/api/docs").text
