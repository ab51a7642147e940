"""Follows and mutes on the site, in-process on both backends: the Follow / Mute buttons and the
/following page post with CSRF and come back; every list a member sees hides their muted papers
and says how many ("N papers hidden by your mutes — show"), ?show_muted=1 shows them marked;
pages and ranks stay the same for everyone; visitors are unaffected."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from helpers import Clock
from web_helpers import NOW, PASSWORD, csrf_of, site_hub

from broadsheet.hub import Hub
from broadsheet.web import create_app


class Client:
    def __init__(self, hub: Hub) -> None:
        self.http = TestClient(create_app(hub), follow_redirects=False)
        self.token = ""

    def get(self, url: str):
        page = self.http.get(url)
        if 'name="csrf_token"' in page.text:
            self.token = csrf_of(page.text)
        return page

    def post(self, url: str, data: dict[str, str], *, csrf: bool = True):
        if csrf and not self.token:
            self.get("/login")
        return self.http.post(url, data={"csrf_token": self.token, **data} if csrf else data)

    def login(self, name: str = "ada") -> None:
        self.get("/login")
        assert self.post("/login", {"login": name, "password": PASSWORD, "next": "/"}).status_code == 303
        self.get("/")


@pytest.fixture
def hub(db_url: str) -> Iterator[Hub]:
    h = site_hub(db_url, Clock(NOW), page_cache_seconds=30)
    yield h
    h.close()


def _titles(html: str) -> list[str]:
    return re.findall(r'<h2 class="title">(?:<span class="rank">\d+\.</span> )?<a href="[^"]+">([^<]+)</a>', html)


def _ranks(html: str) -> list[int]:
    return [int(r) for r in re.findall(r'<span class="rank">(\d+)\.</span>', html)]


NOTE = re.compile(r"(\d+) papers? hidden by your mutes")


def test_a_muted_word_hides_papers_on_every_list_and_show_reveals_them(hub: Hub) -> None:
    ada = Client(hub)
    ada.login()
    r = ada.post("/following/add", {"what": "mute", "kind": "word", "value": "diffusion", "next": "/"})
    assert r.status_code == 303 and r.headers["location"] == "/"

    home = ada.get("/").text  # the latest day: papers 1 (diffusion), 2, 3 and the XSS one
    assert NOTE.search(home).group(1) == "1"
    assert "Paper 1 about diffusion models" not in _titles(home)
    assert "Paper 2 about graph networks" in _titles(home)
    assert 'href="/?show_muted=1"' in home
    shown = ada.get("/?show_muted=1").text
    assert "Paper 1 about diffusion models" in _titles(shown)
    assert "muted (word: diffusion)" in shown and "is-muted" in shown
    assert "hide them" in shown

    week = ada.get("/papers/week/2026-W48").text  # 9 + 1 papers, 3 about diffusion
    assert NOTE.search(week).group(1) == "3"
    assert not any("diffusion" in t for t in _titles(week)) and len(_titles(week)) == 7
    assert "10 papers" in week  # the period's count is everyone's: the note says what is hidden

    trending = ada.get("/papers/trending").text
    assert int(NOTE.search(trending).group(1)) >= 3 and not any("diffusion" in t for t in _titles(trending))
    search = ada.get("/search?q=models&mode=lexical").text
    assert NOTE.search(search) and not any("diffusion" in t for t in _titles(search))
    author = ada.get("/authors/Ada%20Lovelace").text
    assert NOTE.search(author) and not any("diffusion" in t for t in _titles(author))
    category = ada.get("/categories/cs.LG").text
    assert NOTE.search(category) and not any("diffusion" in t for t in _titles(category))

    org = ada.get("/organizations/example-lab").text  # its one paper is about diffusion
    assert NOTE.search(org).group(1) == "1" and _titles(org) == []
    assert "Paper 1 about diffusion models" in _titles(ada.get("/organizations/example-lab?show_muted=1").text)
    similar = ada.get("/papers/2611.00002").text.split("Similar papers", 1)[1]  # the paper page's list
    assert "Paper " in similar and "diffusion" not in similar
    visitor_similar = TestClient(create_app(hub)).get("/papers/2611.00002").text.split("Similar papers", 1)[1]
    assert "diffusion" in visitor_similar  # so the member's list did hide some

    # a visitor, and another member, see everything
    visitor = TestClient(create_app(hub)).get("/papers/week/2026-W48").text
    assert len(_titles(visitor)) == 10 and not NOTE.search(visitor)
    hub.create_user("bob", PASSWORD)
    bob = Client(hub)
    bob.login("bob")
    assert len(_titles(bob.get("/papers/week/2026-W48").text)) == 10


def test_pages_and_ranks_stay_everyones(db_url: str) -> None:
    hub = site_hub(db_url, Clock(NOW), page_size=4)
    ada = Client(hub)
    ada.login()
    everyone = [_titles(ada.get(f"/papers/week/2026-W48?page={n}").text) for n in (1, 2, 3)]
    ranks = [_ranks(ada.get(f"/papers/week/2026-W48?page={n}").text) for n in (1, 2, 3)]
    ada.post("/following/add", {"what": "mute", "kind": "word", "value": "graph networks"})
    for n in (1, 2, 3):
        page = ada.get(f"/papers/week/2026-W48?page={n}").text
        kept = [t for t in everyone[n - 1] if "graph networks" not in t]
        assert _titles(page) == kept  # the same papers as everyone's page, less the muted ones
        assert set(_ranks(page)) <= set(ranks[n - 1])  # each keeps its rank in the whole list
        hidden = len(everyone[n - 1]) - len(kept)
        assert (NOTE.search(page).group(1) if NOTE.search(page) else "0") == str(hidden)
        assert f"Page {n} of 3" in page
        if n < 3:
            assert f"page={n + 1}" in page
    assert "show_muted=1&amp;page=2" in ada.get("/papers/week/2026-W48?show_muted=1").text  # the pager keeps it
    hub.close()


def test_follow_and_mute_buttons_on_author_category_search_and_paper_pages(hub: Hub) -> None:
    visitor = TestClient(create_app(hub))
    author_page = visitor.get("/authors/Ada%20Lovelace").text
    assert "Log in to follow or mute" in author_page and 'name="csrf_token"' not in author_page

    ada = Client(hub)
    ada.login()
    page = ada.get("/authors/Ada%20Lovelace").text
    assert '<button class="button small ghost" aria-pressed="false"' in page
    r = ada.post("/following/add", {"what": "follow", "kind": "author", "value": "Ada Lovelace", "next": "/authors/Ada%20Lovelace"})
    assert r.status_code == 303 and r.headers["location"] == "/authors/Ada%20Lovelace"
    assert ">Following</button>" in ada.get("/authors/Ada%20Lovelace").text
    assert [(f.kind, f.value) for f in hub.get_follows(hub.get_user("ada"))] == [("author", "Ada Lovelace")]

    assert ">Follow</button>" in ada.get("/categories/cs").text  # a whole archive
    ada.post("/following/add", {"what": "follow", "kind": "category", "value": "cs", "next": "/categories/cs"})
    ada.post("/following/add", {"what": "mute", "kind": "category", "value": "stat.ML", "next": "/categories/stat.ML"})
    cat = ada.get("/categories/stat.ML").text
    assert ">Muted</button>" in cat and NOTE.search(cat)  # every paper here is muted now

    search = ada.get("/search?q=protein&since=2026-11-01&mode=lexical").text
    assert "Follow this search" in search
    ada.post("/following/add", {"what": "follow", "kind": "search", "value": "protein since:2026-11-01"})
    assert "Following this search" in ada.get("/search?q=protein&since=2026-11-01&mode=lexical").text

    paper = ada.get("/papers/2611.00001").text
    assert 'value="author:Alan Turing"' in paper and "Your mutes hide this paper" in paper  # stat.ML
    ada.post("/following/add", {"what": "mute", "target": "author:Alan Turing", "next": "/papers/2611.00001"})
    mutes = [(m.kind, m.value) for m in hub.get_mutes(hub.get_user("ada"))]
    assert mutes == [("category", "stat.ML"), ("author", "Alan Turing")]

    listing = ada.get("/following").text
    for text in ("Ada Lovelace", "protein since:2026-11-01", "stat.ML", "Alan Turing", "Computer Science"):
        assert text in listing
    # unmute by value (the page's toggle) and by id (the /following page)
    r = ada.post("/following/remove", {"what": "mute", "kind": "category", "value": "stat.ML", "next": "/categories/stat.ML"})
    assert r.status_code == 303
    turing = hub.get_mutes(hub.get_user("ada"))[0]
    assert ada.post("/following/remove", {"what": "mute", "id": str(turing.id)}).headers["location"] == "/following?done=removed"
    assert hub.get_mutes(hub.get_user("ada")) == []
    assert ada.post("/following/remove", {"what": "mute", "id": str(turing.id)}).status_code == 404


def test_bad_values_come_back_with_the_reason_and_forms_need_csrf(hub: Hub) -> None:
    ada = Client(hub)
    ada.login()
    r = ada.post("/following/add", {"what": "follow", "kind": "category", "value": "cs.NOPE"})
    assert r.status_code == 400
    assert "is not an arXiv category" in r.text and 'value="cs.NOPE"' in r.text
    r = ada.post("/following/add", {"what": "follow", "kind": "search", "value": 'author:"open'})
    assert r.status_code == 400 and "Saved search" in r.text and "unbalanced quote" in r.text
    r = ada.post("/following/add", {"what": "like", "kind": "author", "value": "x"})
    assert r.status_code == 400
    r = ada.post("/following/add", {"what": "mute", "kind": "word", "value": "<script>x</script>"})
    assert r.status_code == 303
    assert "<script>x</script>" not in ada.get("/following").text  # escaped
    assert ada.post("/following/add", {"what": "mute", "kind": "word", "value": "gan"}, csrf=False).status_code == 403
    anon = TestClient(create_app(hub), follow_redirects=False)
    assert anon.post("/following/add", data={"what": "mute", "kind": "word", "value": "gan"}).status_code == 303  # to log in
    assert anon.get("/following").headers["location"].startswith("/login")
    assert [m.value for m in hub.get_mutes(hub.get_user("ada"))] == ["<script>x</script>"]
