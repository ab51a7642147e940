"""Atom and RSS feeds, parsed by feedparser (no bozo), and BibTeX files for lists."""

from __future__ import annotations

import re
from collections.abc import Iterator

import feedparser
import pytest
from fastapi.testclient import TestClient
from helpers import Clock, paper
from web_helpers import NOW, XSS_TITLE, site_hub

from broadsheet.bibtex import to_bibtex_list
from broadsheet.hub import Hub
from broadsheet.types import ListingData
from broadsheet.web import create_app

FEEDS = [
    "/feeds/daily",
    "/feeds/trending",
    "/feeds/categories/cs.LG",
    "/feeds/categories/cs",
    "/feeds/search?q=protein+folding",
]


@pytest.fixture(scope="module")
def hub(module_db_url: str) -> Iterator[Hub]:
    h = site_hub(module_db_url,
        Clock(NOW),
        base_url="https://papers.example.org",
    )
    nasty = "Control \x01\x08 chars & <b>markup</b> and ünïcode ∑"
    h.add_papers(
        [
            paper("2611.08888", title=nasty, abstract=nasty, authors=("Zoë \x02 Ñ",)),
            ListingData("2611.08888", NOW.date()),
        ]
    )  # type: ignore[list-item]
    yield h
    h.close()


@pytest.fixture(scope="module")
def http(hub: Hub) -> TestClient:
    return TestClient(create_app(hub))


def _get(http: TestClient, url: str, fmt: str):
    path, _, query = url.partition("?")
    r = http.get(f"{path}.{fmt}" + (f"?{query}" if query else ""))
    assert r.status_code == 200, (url, r.text)
    assert r.headers["content-type"].startswith(f"application/{fmt}+xml")
    parsed = feedparser.parse(r.content)
    assert not parsed.bozo, (url, fmt, parsed.get("bozo_exception"))
    return parsed


@pytest.mark.parametrize("fmt", ["atom", "rss"])
@pytest.mark.parametrize("url", FEEDS)
def test_feeds_parse_without_bozo(http: TestClient, url: str, fmt: str) -> None:
    parsed = _get(http, url, fmt)
    assert parsed.version == ("atom10" if fmt == "atom" else "rss20")
    assert parsed.feed.title.startswith("Broadsheet: ")
    assert parsed.entries
    for e in parsed.entries:
        assert e.link.startswith("https://papers.example.org/papers/")
        assert e.title and e.summary and e.id == e.link


def test_daily_feed_lists_the_recent_days_newest_first(
    http: TestClient, hub: Hub
) -> None:
    parsed = _get(http, "/feeds/daily", "atom")
    ids = [e.link.rsplit("/", 1)[1] for e in parsed.entries]
    assert set(ids[:5]) == {
        "2611.00001",
        "2611.00002",
        "2611.00003",
        "2611.09999",
        "2611.08888",
    }
    assert set(ids) == {f"2611.{n:05d}" for n in range(1, 10)} | {
        "2611.09999",
        "2611.08888",
    }  # 7 days
    first = next(e for e in parsed.entries if e.link.endswith("2611.00001"))
    assert [a.name for a in first.authors] == ["Ada Lovelace", "Alan Turing"]
    assert {t.term for t in first.tags} == {"cs.LG", "stat.ML"}
    assert first.published_parsed[:3] == (2026, 11, 28)


def test_trending_feed_is_in_trending_order(http: TestClient, hub: Hub) -> None:
    parsed = _get(http, "/feeds/trending", "rss")
    expected = [e.paper.arxiv_id for e in hub.get_trending(limit=50).entries]
    assert [e.link.rsplit("/", 1)[1] for e in parsed.entries] == expected


def test_search_feed(http: TestClient) -> None:
    parsed = _get(http, "/feeds/search?q=protein+folding", "atom")
    assert "protein folding" in parsed.feed.title
    assert all("protein folding" in e.title for e in parsed.entries[:5])
    assert http.get("/feeds/search.atom").status_code == 400
    assert http.get("/feeds/search.rss", params={"q": "cat:"}).status_code in (200, 400)


def test_text_is_escaped_and_cleaned(http: TestClient) -> None:
    for fmt in ("atom", "rss"):
        parsed = _get(http, "/feeds/daily", fmt)
        titles = {e.title for e in parsed.entries}
        assert XSS_TITLE in titles  # escaped in the XML, the same text once parsed
        nasty = next(e for e in parsed.entries if e.link.endswith("2611.08888"))
        assert nasty.title == "Control  chars & <b>markup</b> and ünïcode ∑"


def test_unknown_category_is_404(http: TestClient) -> None:
    assert http.get("/feeds/categories/xx.YY.atom").status_code == 404


def test_bibtex_for_a_paper_and_lists(http: TestClient, hub: Hub) -> None:
    one = http.get("/papers/2611.00001.bib")
    assert one.status_code == 200 and one.headers["content-type"].startswith(
        "application/x-bibtex"
    )
    assert one.text.startswith("@misc{") and "eprint = {2611.00001}" in one.text
    day = http.get("/papers/date/2026-11-28.bib").text
    week = http.get("/papers/week/2026-W48.bib").text
    month = http.get("/papers/month/2026-11.bib").text
    keys = re.findall(r"^@misc\{([^,]+),", month, re.MULTILINE)
    assert len(keys) == len(set(keys)) == 17
    assert day.count("@misc{") == 5 and week.count("@misc{") == 11
    assert http.get("/papers/trending.bib").text.count("@misc{") == 11
    search = http.get("/search.bib", params={"q": "graph networks"}).text
    assert "Paper 2 about graph networks" in search
    assert http.get("/papers/date/2026-13-01.bib").status_code == 400
    assert http.get("/papers/2612.99999.bib").status_code == 404
    assert http.get("/search.bib").status_code == 400


def test_bibtex_list_keys_are_unique() -> None:
    from datetime import date, datetime

    from broadsheet.types import Paper

    def p(aid: str) -> Paper:
        t = datetime(2024, 1, 1)
        return Paper(aid, "Attention", "", ("A. Vaswani",), 1, (), None, date(2017, 1, 1), None, None, None,
                     None, None, None, 0, 0, 0, "", "", t, t)  # fmt: skip

    text = to_bibtex_list(
        [p("1706.03762"), p("1706.03763"), p("1706.03762"), p("1706.03764")]
    )
    assert re.findall(r"^@misc\{([^,]+),", text, re.MULTILINE) == [
        "vaswani2017attention",
        "vaswani2017attentiona",
        "vaswani2017attentionb",
    ]
    assert to_bibtex_list([]) == ""
