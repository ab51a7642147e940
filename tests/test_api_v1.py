"""Broadsheet's /api/v1 with Bearer API tokens, JSON errors, the anonymous rate limit, the OpenAPI
document and its docs page."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from helpers import Clock
from web_helpers import NOW, site_hub

from broadsheet.hub import Hub
from broadsheet.web import create_app


@pytest.fixture
def hub(db_url: str) -> Iterator[Hub]:
    h = site_hub(
        db_url, Clock(NOW), rate_api_anonymous="5/minute", rate_comments="3/minute",
        base_url="https://papers.example.org",  # subscribing sends a confirmation email with a link
    )
    yield h
    h.close()


@pytest.fixture
def http(hub: Hub) -> TestClient:
    return TestClient(create_app(hub))


@pytest.fixture
def token(hub: Hub) -> dict[str, str]:
    return {"Authorization": f"Bearer {hub.new_api_token(hub.get_user('ada'))}"}


def test_writes_need_a_valid_token(http: TestClient, hub: Hub) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer nope"},
        {"Authorization": "Basic abc"},
    ):
        r = http.put("/api/v1/papers/2611.00001/vote", headers=headers)
        assert r.status_code == 401
        assert r.headers["www-authenticate"] == "Bearer"
        assert "token" in r.json()["error"]
    token = hub.new_api_token(hub.get_user("ada"))
    hub.revoke_api_token(hub.get_user("ada"))
    assert (
        http.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code
        == 401
    )


def test_me(http: TestClient, token: dict[str, str]) -> None:
    r = http.get("/api/v1/me", headers=token)
    assert r.status_code == 200
    assert r.json()["name"] == "ada" and r.json()["isAdmin"] is False


def test_vote_and_withdraw(http: TestClient, hub: Hub, token: dict[str, str]) -> None:
    before = hub.get_paper("2611.00002").upvotes
    r = http.put("/api/v1/papers/2611.00002/vote", headers=token)
    assert r.json() == {"id": "2611.00002", "upvotes": before + 1, "voted": True}
    assert (
        http.put("/api/v1/papers/2611.00002/vote", headers=token).json()["upvotes"]
        == before + 1
    )
    assert http.get("/api/papers/2611.00002").json()["upvotes"] == before + 1
    r = http.delete("/api/v1/papers/2611.00002/vote", headers=token)
    assert r.json() == {"id": "2611.00002", "upvotes": before, "voted": False}
    assert http.put("/api/v1/papers/2612.99999/vote", headers=token).status_code == 404


def test_comments(http: TestClient, token: dict[str, str]) -> None:
    r = http.post(
        "/api/v1/papers/2611.00001/comments",
        json={"body": "**Good** paper"},
        headers=token,
    )
    assert r.status_code == 201
    top = r.json()
    assert (
        top["author"] == "ada"
        and top["body"] == "**Good** paper"
        and top["parentId"] is None
    )
    r = http.post(
        "/api/v1/papers/2611.00001/comments",
        json={"body": "Agreed", "parentId": top["id"]},
        headers=token,
    )
    assert r.status_code == 201
    listed = http.get("/api/v1/papers/2611.00001/comments").json()
    assert [(c["body"], c["parentId"]) for c in listed] == [
        ("**Good** paper", None),
        ("Agreed", top["id"]),
    ]
    assert http.get("/api/v1/papers/2611.00001").json()["numComments"] == 2
    # reply to a reply, empty, missing body, wrong type: 400, never 500
    bad = [
        {"body": "x", "parentId": r.json()["id"]},
        {"body": "   "},
        {},
        {"body": 3},
        [1],
    ]
    for body in bad:
        resp = http.post("/api/v1/papers/2611.00001/comments", json=body, headers=token)
        assert resp.status_code in (400, 429), body
        assert "error" in resp.json()
    assert (
        http.post(
            "/api/v1/papers/2611.00001/comments", content=b"{not json", headers=token
        ).status_code
        == 400
    )


def test_comments_are_rate_limited_per_user(
    http: TestClient, token: dict[str, str]
) -> None:
    codes = [
        http.post(
            "/api/v1/papers/2611.00001/comments", json={"body": f"c{i}"}, headers=token
        ).status_code
        for i in range(4)
    ]
    assert codes == [201, 201, 201, 429]


def test_submissions(http: TestClient, hub: Hub, token: dict[str, str]) -> None:
    r = http.post("/api/v1/submissions", json={"arxivId": "2611.00013"}, headers=token)
    assert r.status_code == 201
    assert (
        r.json()["status"] == "listed"
        and r.json()["listedOn"] == NOW.date().isoformat()
    )
    r = http.post(
        "/api/v1/submissions", json={"arxivId": "2611.00013v2"}, headers=token
    )
    assert r.status_code == 200 and r.json()["status"] == "already_listed"
    r = http.post("/api/v1/submissions", json={"arxivId": "2612.99999"}, headers=token)
    assert r.status_code == 404 and r.json()["status"] == "not_found"
    assert http.post(
        "/api/v1/submissions", json={"arxivId": "not an id"}, headers=token
    ).status_code in (400, 404)
    mine = http.get("/api/daily_papers", params={"submitter": "ada"}).json()
    assert [i["paper"]["id"] for i in mine] == ["2611.00013"]


def test_anonymous_rate_limit(http: TestClient, token: dict[str, str]) -> None:
    codes = [http.get("/api/daily_papers").status_code for _ in range(5)]
    assert codes == [200] * 5
    for url in ("/api/daily_papers", "/feeds/daily.atom", "/papers/2611.00001.md"):
        r = http.get(url)
        assert r.status_code == 429
        assert 0 < int(r.headers["retry-after"]) <= 60
        assert r.headers["ratelimit"].startswith('"api";r=0;t=')
        assert "q=5;w=60" in r.headers["ratelimit-policy"]
        assert "error" in r.json()
    # a valid token is not anonymous; the HTML pages are not limited by it
    assert http.get("/api/daily_papers", headers=token).status_code == 200
    assert (
        http.get(
            "/api/daily_papers", headers={"Authorization": "Bearer hf_someone"}
        ).status_code
        == 429
    )
    assert http.get("/papers/2611.00001").status_code == 200


def test_openapi_and_docs(http: TestClient) -> None:
    spec = http.get("/openapi.json").json()
    paths = spec["paths"]
    for path in ("/api/daily_papers", "/api/papers/search", "/api/papers/{arxiv_id}", "/papers/{arxiv_id}.md",
                 "/api/v1/papers/{arxiv_id}/vote", "/api/v1/papers/{arxiv_id}/comments", "/api/v1/submissions",
                 "/feeds/search.atom", "/feeds/categories/{code}.rss", "/papers/date/{slug}.bib"):  # fmt: skip
        assert path in paths, path
    assert "/search" not in paths and "/login" not in paths  # HTML pages stay out
    assert paths["/api/v1/papers/{arxiv_id}/vote"]["put"]["security"]
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    page = http.get("/api/docs")
    assert page.status_code == 200
    assert (
        "GET /api/daily_papers" in page.text
        and "<script" not in page.text.split("</head>")[1]
    )


def test_pages_announce_their_feeds(http: TestClient) -> None:
    home = http.get("/").text
    assert '<link rel="alternate" type="application/atom+xml"' in home
    assert 'href="/feeds/daily.atom"' in home and 'href="/feeds/trending.rss"' in home
    assert 'href="/feeds/categories/cs.LG.atom"' in http.get("/categories/cs.LG").text
    assert (
        'href="/feeds/search.rss?q=protein+folding"'
        in http.get("/search", params={"q": "protein folding"}).text
    )


def test_subscriptions(http: TestClient, hub: Hub, token: dict[str, str]) -> None:
    assert http.get("/api/v1/subscriptions").status_code == 401
    r = http.post(
        "/api/v1/subscriptions",
        json={"frequency": "weekly", "topics": ["diffusion models"]},
        headers=token,
    )
    assert r.status_code == 201, r.text
    sub = r.json()
    assert (
        sub["email"] == "ada@example.org"
        and sub["frequency"] == "weekly"
        and sub["confirmed"] is False
    )
    assert [
        s["id"] for s in http.get("/api/v1/subscriptions", headers=token).json()
    ] == [sub["id"]]
    bad = http.post(
        "/api/v1/subscriptions", json={"frequency": "hourly"}, headers=token
    )
    assert bad.status_code == 400 and "error" in bad.json()
    assert (
        http.delete(f"/api/v1/subscriptions/{sub['id']}", headers=token).status_code
        == 204
    )
    assert (
        http.delete(f"/api/v1/subscriptions/{sub['id']}", headers=token).status_code
        == 404
    )
    assert http.get("/api/v1/subscriptions", headers=token).json() == []
