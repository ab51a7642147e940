"""Pages are built from caches keyed by the data version (web/cache.py): a write through any
process shows on the next request, and cards shared between viewers carry each member's own
marks (upvoted, saved, muted) and CSRF token.

Two apps over two Hubs on one database stand for two `serve --workers` processes (or a server and
a `broadsheet ingest`): the version is read from the database, not from the process."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from helpers import Clock, hub_at, paper
from web_helpers import DAYS, NOW, PASSWORD, csrf_of, site_hub

from broadsheet.hub import Hub
from broadsheet.types import ListingData
from broadsheet.web import create_app

TOP = "2611.00003"  # the latest day's most upvoted paper (external_upvotes 20): first on `/`


class Client:
    def __init__(self, hub: Hub) -> None:
        self.http = TestClient(create_app(hub), follow_redirects=False)
        self.token = ""

    def get(self, url: str) -> str:
        r = self.http.get(url)
        assert r.status_code == 200, r.text
        if 'name="csrf_token"' in r.text:
            self.token = csrf_of(r.text)
        return r.text

    def post(self, url: str, data: dict[str, str]) -> None:
        if not self.token:
            self.get("/login")
        r = self.http.post(url, data={"csrf_token": self.token, **data})
        assert r.status_code in (200, 303), r.text

    def login(self, name: str) -> None:
        self.get("/login")
        self.post("/login", {"login": name, "password": PASSWORD, "next": "/"})
        self.get("/papers/daily")


@pytest.fixture(params=[0.0, 10.0], ids=["uncached", "page-cache"])
def hubs(request: pytest.FixtureRequest, db_url: str) -> Iterator[tuple[Hub, Hub]]:
    """Two Hubs on one database, as two processes have: the first made the site."""
    first = site_hub(db_url, Clock(NOW), page_cache_seconds=request.param)
    first.create_user("bob", PASSWORD)
    second = hub_at(db_url, Clock(NOW), embedder="none", page_cache_seconds=request.param)
    yield first, second
    second.close()
    first.close()


def upvotes(html: str, arxiv_id: str) -> int:
    m = re.search(r'<span class="count" data-paper="' + re.escape(arxiv_id) + r'">(\d+)</span>', html)
    assert m, f"no card for {arxiv_id}"
    return int(m.group(1))


def card(html: str, arxiv_id: str) -> str:
    m = re.search(r'<article class="entry[^"]*" id="p-' + re.escape(arxiv_id) + r'">.*?</article>', html, re.S)
    assert m, f"no card for {arxiv_id}"
    return m.group(0)


def test_a_vote_through_one_process_shows_at_once_in_another(backend: str, hubs: tuple[Hub, Hub]) -> None:
    one, two = hubs
    voter = Client(one)
    voter.login("ada")
    visitor = Client(two)
    before = upvotes(visitor.get("/"), TOP)
    assert upvotes(visitor.get("/"), TOP) == before  # now served from the caches
    voter.post(f"/papers/{TOP}/vote", {"on": "1", "next": "/"})
    assert upvotes(visitor.get("/"), TOP) == before + 1
    assert upvotes(visitor.get("/papers/trending"), TOP) == before + 1
    reader = Client(two)
    reader.login("bob")
    assert upvotes(reader.get("/papers/daily"), TOP) == before + 1


def test_an_ingest_by_another_process_shows_at_once(backend: str, hubs: tuple[Hub, Hub]) -> None:
    one, two = hubs
    visitor = Client(two)
    assert "A paper ingested elsewhere" not in visitor.get("/")
    visitor.get("/api/daily_papers")
    one.add_papers([paper("2611.07777", title="A paper ingested elsewhere"), ListingData("2611.07777", DAYS[0])])
    assert "A paper ingested elsewhere" in visitor.get("/")
    assert "A paper ingested elsewhere" in visitor.get("/api/daily_papers")
    assert "A paper ingested elsewhere" in visitor.get("/feeds/daily.rss")


def test_search_results_are_kept_until_the_data_changes(backend: str, hubs: tuple[Hub, Hub]) -> None:
    one, two = hubs
    visitor = Client(two)
    assert "Zebrafish" not in visitor.get("/search?q=zebrafish")
    one.add_papers([paper("2611.07778", title="Zebrafish regeneration"), ListingData("2611.07778", DAYS[0])])
    assert "Zebrafish" in visitor.get("/search?q=zebrafish")


def test_shared_cards_carry_each_members_own_marks_and_token(backend: str, hubs: tuple[Hub, Hub]) -> None:
    one, two = hubs
    ada, bob, visitor = Client(one), Client(two), Client(two)
    ada.login("ada")
    bob.login("bob")
    page = "/papers/date/" + DAYS[0].isoformat()
    visitor.get(page)  # the card bodies are made for a visitor first
    bob.get(page)
    ada.post(f"/papers/{TOP}/vote", {"on": "1", "next": page})
    ada.post("/papers/2611.00002/save", {"collection": "saved", "on": "1", "next": page})

    mine = Client(two)  # ada again, on the other process
    mine.login("ada")
    html = mine.get(page)
    assert 'aria-pressed="true" title="Withdraw your upvote"' in card(html, TOP)
    assert ">★ Saved</button>" in card(html, "2611.00002") and ">★ Saved</button>" not in card(html, TOP)
    assert set(re.findall(r'name="csrf_token" value="([^"]+)"', html)) == {mine.token}

    theirs = bob.get(page)
    assert 'aria-pressed="true"' not in theirs  # bob upvoted and saved nothing
    assert set(re.findall(r'name="csrf_token" value="([^"]+)"', theirs)) == {bob.token} != {mine.token}
    assert upvotes(theirs, TOP) == upvotes(html, TOP)  # the same count for everyone

    anonymous = visitor.get(page)
    assert "csrf_token" not in anonymous and "<form class=\"vote" not in anonymous  # log-in links, no forms
    assert 'class="votebox"' in card(anonymous, TOP)

    ada.post(f"/papers/{TOP}/vote", {"on": "0", "next": page})  # withdrawn: shows at once
    assert 'aria-pressed="true" title="Withdraw your upvote"' not in card(mine.get(page), TOP)


def test_a_mute_marks_only_that_members_cards(backend: str, hubs: tuple[Hub, Hub]) -> None:
    one, two = hubs
    ada, bob = Client(one), Client(two)
    ada.login("ada")
    bob.login("bob")
    page = "/papers/date/" + DAYS[0].isoformat()
    shown = bob.get(page)
    ada.post("/following/add", {"what": "mute", "kind": "author", "value": "Ada Lovelace", "next": page})
    assert "hidden by your mutes" in ada.get(page)
    assert bob.get(page) == shown  # bob's page is unchanged
    assert "hidden by your mutes" not in shown


@pytest.fixture
def cached_hubs(db_url: str) -> Iterator[tuple[Hub, Hub]]:
    first = site_hub(db_url, Clock(NOW), page_cache_seconds=10.0)
    first.create_user("bob", PASSWORD)
    second = hub_at(db_url, Clock(NOW), embedder="none", page_cache_seconds=10.0)
    yield first, second
    second.close()
    first.close()


def _rename_behind_the_caches(hub: Hub, name: str, new: str) -> None:
    """A member renamed straight in the database (no data version bump): the session lookup of a
    page built now finds the new name, a kept page still shows the old one."""
    from sqlalchemy import update

    from broadsheet.storage.schema import users

    with hub._storage.engine.begin() as conn:  # noqa: SLF001
        conn.execute(update(users).where(users.c.name == name).values(name=new))


def test_a_members_page_is_kept_for_that_member_only(backend: str, cached_hubs: tuple[Hub, Hub]) -> None:
    one, two = cached_hubs
    ada, bob = Client(two), Client(two)
    ada.login("ada")
    bob.login("bob")
    assert 'class="who">ada' in ada.get("/")
    theirs = bob.get("/")
    assert 'class="who">bob' in theirs and 'class="who">ada' not in theirs
    _rename_behind_the_caches(one, "ada", "adelaide")
    assert 'class="who">ada<' in ada.get("/")  # ada's page came from memory, and who her session
    assert 'class="who">ada<' in ada.get("/papers/trending")  # is, is kept by data version too
    theirs = bob.get("/")
    assert 'class="who">bob' in theirs and "ada" not in theirs.split("</header>")[0]
    one.add_papers([paper("2611.07779", title="Anything new"), ListingData("2611.07779", DAYS[0])])
    assert 'class="who">adelaide' in ada.get("/")  # a write: built afresh


def test_a_kept_member_page_carries_each_sessions_token_and_ends_with_the_session(
    backend: str, cached_hubs: tuple[Hub, Hub]
) -> None:
    _, two = cached_hubs
    first, second = Client(two), Client(two)
    first.login("ada")
    second.login("ada")
    one_page, other_page = first.get("/papers/trending"), second.get("/papers/trending")
    assert set(re.findall(r'name="csrf_token" value="([^"]+)"', one_page)) == {first.token}
    assert set(re.findall(r'name="csrf_token" value="([^"]+)"', other_page)) == {second.token} != {first.token}
    first.get("/papers/trending")
    session = first.http.cookies.get("bs_session")
    first.post("/logout", {})
    stale = TestClient(create_app(two), follow_redirects=False)
    stale.cookies.set("bs_session", session)
    stale.cookies.set("bs_csrf", second.http.cookies.get("bs_csrf"))
    html = stale.get("/papers/trending").text
    assert "Log out" not in html and "Log in" in html  # the ended session gets no member's page
    assert "Log out" in second.get("/papers/trending")  # the other session lives on
