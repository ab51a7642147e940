"""Private feeds: a member's For you and follows as Atom at URLs holding a secret token, made and
revoked on the settings page; read by feedparser without any cookie; both backends."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import feedparser
import pytest
from fastapi.testclient import TestClient
from helpers import Clock, paper
from test_web_pages import Client
from web_helpers import NOW, site_hub

from broadsheet.hub import Hub
from broadsheet.types import ListingData
from broadsheet.web import create_app
from broadsheet.web.access_log import scrubbed

BASE = "https://papers.example.org"
URL = re.compile(re.escape(BASE) + r"(/feeds/private/[^<\s]+\.atom)")


@pytest.fixture
def hub(db_url: str) -> Iterator[Hub]:
    h = site_hub(db_url, Clock(NOW), base_url=BASE, secret_key="s" * 40, page_cache_seconds=0.0)
    day = NOW.date()
    h.add_papers([
        paper("2611.20001", title="Compilers for everyone", abstract="A compiler study.", authors=("Grace Hopper",),
              categories=("cs.PL",), primary_category="cs.PL", published=day - timedelta(days=2)),
        paper("2611.20002", title="Sea slugs and their enzymes", abstract="Enzymes of sea slugs.", authors=("Rosalind Franklin",),
              categories=("q-bio.BM",), primary_category="q-bio.BM", published=day - timedelta(days=1)),
        ListingData("2611.20001", day), ListingData("2611.20002", day),
    ])  # type: ignore[list-item]  # fmt: skip
    yield h
    h.close()


def _follow(hub: Hub, name: str, kind: str, value: str) -> int:
    return hub.follow(hub.get_user(name), kind, value).id


def _make_links(hub: Hub, name: str = "ada") -> tuple[Client, list[str]]:
    member = Client(hub, base_url="https://testserver")
    member.login(name)
    member.get("/settings")
    page = member.post("/settings/feeds", {"action": "new"})
    assert page.status_code == 200, page.text
    return member, URL.findall(page.text)


def _parse(http: TestClient, path: str):
    r = http.get(path)
    assert r.status_code == 200, (path, r.text)
    assert r.headers["content-type"].startswith("application/atom+xml")
    assert r.headers["cache-control"] == "private, no-store"
    parsed = feedparser.parse(r.content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    return parsed


def test_follow_feeds_parse_and_stop_after_revoke(hub: Hub) -> None:
    _follow(hub, "ada", "author", "Grace Hopper")
    _follow(hub, "ada", "category", "q-bio")
    _follow(hub, "ada", "search", "protein folding")
    member, urls = _make_links(hub)
    assert len(urls) == 4 and urls[0].endswith("/for-you.atom")  # For you, then one per follow
    reader = TestClient(create_app(hub))  # a feed reader: no cookie, no login
    by_author, in_category, search = (_parse(reader, u) for u in urls[1:])
    assert [e.link for e in by_author.entries] == [f"{BASE}/papers/2611.20001"]
    assert "Grace Hopper" in by_author.feed.title
    assert "whom you follow" in by_author.entries[0].summary
    assert [e.link for e in in_category.entries] == [f"{BASE}/papers/2611.20002"]
    assert search.entries and all("protein folding" in e.title for e in search.entries)
    assert _parse(reader, urls[0]).feed.title.endswith("For ada")
    # the settings page does not show the token again, and revoking stops every URL
    assert not URL.search(member.get("/settings").text)
    member.post("/settings/feeds", {"action": "revoke"})
    for u in urls:
        gone = reader.get(u)
        assert gone.status_code == 404 and "private, no-store" not in gone.headers.get("cache-control", "")


def test_new_links_replace_the_old_ones(hub: Hub) -> None:
    _follow(hub, "ada", "author", "Grace Hopper")
    member, old = _make_links(hub)
    page = member.post("/settings/feeds", {"action": "new"})
    new = URL.findall(page.text)
    reader = TestClient(create_app(hub))
    assert new != old and all(reader.get(u).status_code == 404 for u in old)
    assert all(reader.get(u).status_code == 200 for u in new)


def test_another_members_token_never_opens_your_feeds(hub: Hub) -> None:
    ada_follow = _follow(hub, "ada", "author", "Grace Hopper")
    _, ada_urls = _make_links(hub, "ada")
    _, root_urls = _make_links(hub, "root")
    reader = TestClient(create_app(hub))
    root_token = root_urls[0].split("/")[3]
    assert reader.get(f"/feeds/private/{root_token}/follows/{ada_follow}.atom").status_code == 404
    assert _parse(reader, root_urls[0]).feed.title.endswith("For root")
    assert reader.get("/feeds/private/not-a-real-token-at-all-000000/for-you.atom").status_code == 404
    assert reader.get("/feeds/private/x/for-you.atom").status_code == 404
    assert ada_urls[0] != root_urls[0]


def test_making_links_needs_a_login_and_a_csrf_token(hub: Hub) -> None:
    anon = Client(hub, base_url="https://testserver")
    assert anon.post("/settings/feeds", {"action": "new"}).status_code == 303  # to the log-in page
    member = Client(hub, base_url="https://testserver")
    member.login()
    assert member.post("/settings/feeds", {"action": "new", "csrf_token": "forged"}).status_code == 403
    assert not hub.has_feed_token(hub.get_user("ada"))


def test_only_the_hash_is_stored_and_the_log_masks_the_token(hub: Hub) -> None:
    token = hub.new_feed_token(hub.get_user("ada"))
    from sqlalchemy import text

    with hub._storage.engine.connect() as conn:
        stored = conn.execute(text("SELECT token_hash FROM feed_tokens")).scalars().all()
    assert stored and token not in stored[0] and len(stored[0]) == 64
    assert token not in scrubbed(f"/feeds/private/{token}/for-you.atom", "")


def test_for_you_feed_carries_the_recommendations_and_their_reasons(hub: Hub) -> None:
    ada = hub.get_user("ada")
    hub.save_paper(ada, "2611.00003")
    hub.mute(ada, "author", "Grace Hopper")
    _, urls = _make_links(hub)
    feed = _parse(TestClient(create_app(hub)), urls[0])
    expected = [r.paper.arxiv_id for r in hub.recommend(ada, window="week").items]
    got = [e.link.rsplit("/", 1)[1] for e in feed.entries]
    assert expected and set(got) == set(expected) and got[:2] == expected[:2]  # the like of what was saved first
    assert "2611.20001" not in expected  # muted
    top = feed.entries[0]
    assert top.summary.startswith("Why: close to Paper 3 about protein folding (2611.00003)")
