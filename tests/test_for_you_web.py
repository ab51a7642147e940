"""The For you page on the site (both backends): reasons on every card, "Not interested" removes a
paper and lowers the ones like it, the cold-start form, the mutes line, For you as a member's
home, the windows."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from helpers import Clock
from test_web_pages import Client
from web_helpers import NOW, site_hub

from broadsheet.hub import Hub

GRAPH = ["2611.00005", "2611.00008", "2611.00011", "2611.00014"]  # "graph networks" papers of the month
PROTEIN = ["2611.00006", "2611.00009", "2611.00012", "2611.00015"]


@pytest.fixture
def hub(db_url: str) -> Iterator[Hub]:
    h = site_hub(db_url, Clock(NOW), page_cache_seconds=0.0)
    yield h
    h.close()


def _save(hub: Hub, name: str, *arxiv_ids: str) -> None:
    user = hub.get_user(name)
    for arxiv_id in arxiv_ids:
        hub.save_paper(user, arxiv_id)


def _order(html: str) -> list[str]:
    return re.findall(r'<article class="entry[^"]*" id="p-([\w.-]+)"', html)


def test_reasons_on_every_card(hub: Hub) -> None:
    _save(hub, "ada", "2611.00002", "2611.00003")
    hub.follow(hub.get_user("ada"), "author", "Ada Lovelace")
    member = Client(hub)
    member.login()
    page = member.get("/for-you?window=month")
    assert page.status_code == 200
    order = _order(page.text)
    assert set(order[:8]) == set(GRAPH + PROTEIN)  # like what was saved, first
    assert "2611.00002" not in order and "2611.00003" not in order  # saved papers are not recommended
    first = page.text.split('id="p-' + order[0])[1].split("</article>")[0]
    assert "Close to what you saved:" in first and re.search(r'href="/papers/2611\.0000[23]"', first)
    assert "You follow author" in first and 'href="/authors/Ada%20Lovelace"' in first
    assert "Words that weighed most:" in first and '<span class="word">' in first
    assert first.count("Not interested") == 1
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text and "<script>alert(1)" not in page.text


def test_not_interested_removes_the_paper_and_lowers_those_like_it(hub: Hub) -> None:
    _save(hub, "ada", "2611.00002", "2611.00003")
    member = Client(hub)
    member.login()
    ada = hub.get_user("ada")

    def gap() -> float:  # graph paper 8's score minus protein paper 6's: equal while both were saved alike
        scores = {r.paper.arxiv_id: r.score for r in hub.recommend(ada, window="month").items}
        return scores["2611.00008"] - scores["2611.00006"]

    before = gap()
    assert "2611.00005" in _order(member.get("/for-you?window=month").text)
    done = member.post("/papers/2611.00005/dismiss", {"on": "1", "next": "/for-you?window=month"})
    assert done.status_code == 303 and done.headers["location"] == "/for-you?window=month&dismissed=2611.00005"
    after_page = member.get(done.headers["location"])
    after = _order(after_page.text)
    assert "2611.00005" not in after and "Not interested: Paper 5 about graph networks" in after_page.text
    assert gap() < before - 0.1  # papers like the dismissed one sink
    assert max(after.index(a) for a in PROTEIN) < min(after.index(a) for a in GRAPH if a in after)
    # undo puts it back; JSON for the script
    member.post("/papers/2611.00005/dismiss", {"on": "0", "next": "/for-you?window=month"})
    assert "2611.00005" in _order(member.get("/for-you?window=month").text)
    js = member.post("/papers/2611.00008/dismiss", {"on": "1"}, headers={"Accept": "application/json"})
    assert js.json() == {"arxiv_id": "2611.00008", "dismissed": True}
    assert hub.dismissed(hub.get_user("ada")) == {"2611.00008"}


def test_dismissing_needs_csrf_and_a_login(hub: Hub) -> None:
    anon = Client(hub)
    assert anon.post("/papers/2611.00005/dismiss", {"on": "1"}).status_code == 303  # to the log-in page
    member = Client(hub)
    member.login()
    assert member.post("/papers/2611.00005/dismiss", {"on": "1", "csrf_token": "forged"}).status_code == 403
    assert member.post("/papers/9999.99999/dismiss", {"on": "1"}).status_code == 404
    assert hub.dismissed(hub.get_user("ada")) == set()


def test_cold_start_asks_for_seeds_then_for_you_is_home(hub: Hub) -> None:
    member = Client(hub)
    member.login()
    home = member.get("/")
    assert "Daily papers" in home.text and "Tell For you" not in home.text  # nothing saved: today's home
    page = member.get("/for-you")
    assert "Tell For you what you read" in page.text and 'action="/for-you/seeds"' in page.text
    r = member.post("/for-you/seeds", {"papers": "2611.00003\nnot-an-id!\nhttps://arxiv.org/abs/2611.00006v2\n9999.99999",
                                       "topics": "protein folding\n\"unbalanced"})  # fmt: skip
    assert r.status_code == 200
    assert "Saved 2 papers into Saved" in r.text and "Following protein folding" in r.text
    assert "Papers line 2: not an arXiv id or URL" in r.text and "Papers line 4:" in r.text and "Topics line 2:" in r.text
    ada = hub.get_user("ada")
    assert [f.value for f in hub.get_follows(ada)] == ["protein folding"]
    home = member.get("/")
    assert "<span class=\"kicker\">For you</span>" in home.text and "Tell For you" not in home.text
    assert member.get("/papers/daily").text.count("Daily papers") >= 1  # the list is one click away
    assert 'href="/for-you"' in home.text  # the nav link
    anon = Client(hub)
    assert "For you" not in anon.get("/").text  # visitors keep today's home
    assert anon.get("/for-you").status_code == 303


def test_trending_in_followed_categories_before_anything_is_saved(hub: Hub) -> None:
    hub.follow(hub.get_user("ada"), "search", "protein folding")
    member = Client(hub)
    member.login()
    page = member.get("/for-you?window=month")
    order = _order(page.text)
    assert order and set(order) <= {*PROTEIN, "2611.00003"} and "Trending in what you follow" in page.text
    assert "Tell For you what you read" in page.text  # still asks for seeds


def test_mutes_line_and_windows(hub: Hub) -> None:
    _save(hub, "ada", "2611.00002")
    hub.mute(hub.get_user("ada"), "word", "protein")
    member = Client(hub)
    member.login()
    page = member.get("/for-you?window=month")
    assert not set(_order(page.text)) & set(PROTEIN)
    m = re.search(r"(\d+) papers? hidden by your mutes —\s*<a class=\"show-muted\" href=\"([^\"]+)\"", page.text)
    assert m and int(m[1]) == 5 and m[2].endswith("?show_muted=1")  # papers 3, 6, 9, 12, 15
    assert member.get("/for-you?window=today").status_code == 200
    assert member.get("/for-you?window=year").status_code == 400
