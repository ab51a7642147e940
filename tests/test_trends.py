"""Trend charts: papers and upvotes per month of a search, an author, a category, as SVG on the
pages (well-formed, hostile text escaped, a text alternative) and as JSON at /api/v1/trends."""

from __future__ import annotations

import re
from datetime import date, timedelta
from xml.etree import ElementTree

import pytest
from fastapi.testclient import TestClient
from helpers import hub_at, paper

from broadsheet.pictures.chart import describe, trend_svg
from broadsheet.search.query import parse_query
from broadsheet.trends import make_trend
from broadsheet.types import ListingData, Organization
from broadsheet.web import create_app

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '</title><script>alert(1)</script> & "x" <b>'


def test_months_without_papers_are_filled_and_the_window_ends_at_the_last_month() -> None:
    t = make_trend("q", [("2024-03", 2, 5), ("2024-01", 1, 0), ("2021-06", 4, 1)], window=4)
    assert [(m.month, m.papers, m.upvotes) for m in t.months] == [
        ("2023-12", 0, 0), ("2024-01", 1, 0), ("2024-02", 0, 0), ("2024-03", 2, 5),
    ]  # fmt: skip
    assert (t.total_papers, t.total_upvotes, t.first_month) == (7, 6, "2021-06")
    assert make_trend("q", []).months == () and make_trend("q", [("2024-01", 0, 0)]).total_papers == 0


def test_the_svg_is_well_formed_escapes_hostile_text_and_describes_itself() -> None:
    trend = make_trend(HOSTILE, [("2023-11", 3, 7), ("2024-02", 9, 0)])
    svg = trend_svg(trend, ident="t1")
    root = ElementTree.fromstring(svg)
    assert "<script>" not in svg
    title = root.find(f"{SVG}title")
    assert title is not None and HOSTILE in (title.text or "")
    desc = root.find(f"{SVG}desc")
    assert desc is not None and desc.text == describe(trend)
    assert "12 papers from Nov 2023 to Feb 2024, most in Feb 2024 (9)" in desc.text
    assert root.get("aria-labelledby") == "t1-title" and root.get("role") == "img"
    bars = root.findall(f"{SVG}rect")
    assert len(bars) == 4  # Nov, Dec, Jan, Feb
    heights = [float(b.get("height", 0)) for b in bars]
    assert heights[0] == pytest.approx(heights[3] * 3 / 9, abs=0.1) and heights[1] == heights[2] == 0
    assert root.find(f"{SVG}polyline") is not None  # upvotes
    ElementTree.fromstring(trend_svg(make_trend("nothing", [])))


@pytest.fixture
def hub(db_url: str):  # noqa: ANN201
    h = hub_at(db_url, embedder="none")
    items: list[object] = []
    months = [date(2024, 1, 10), date(2024, 1, 20), date(2024, 3, 5), date(2024, 4, 1), date(2024, 4, 2)]
    for n, day in enumerate(months, 1):
        aid = f"2401.{n:05d}"
        items.append(paper(aid, title=f"Diffusion model number {n}", abstract="We study diffusion.", published=day,
                           organization=Organization("example-lab", "Example Lab") if n <= 2 else None,
                           external_upvotes=n, authors=("Grace Hopper", f"Other {n}"),
                           categories=("cs.LG",) if n % 2 else ("math.ST",), primary_category="cs.LG" if n % 2 else "math.ST"))  # fmt: skip
        items.append(ListingData(aid, day))
    items.append(paper("2401.00099", title=HOSTILE, abstract="Graph networks.", published=date(2024, 2, 2), authors=(HOSTILE,)))
    h.add_papers(items)  # type: ignore[arg-type]
    return h


def test_counts_per_month_of_a_query_an_author_and_a_category(hub) -> None:  # noqa: ANN001
    t = hub.trend("diffusion")
    assert [(m.month, m.papers, m.upvotes) for m in t.months] == [
        ("2024-01", 2, 3), ("2024-02", 0, 0), ("2024-03", 1, 3), ("2024-04", 2, 9),
    ]  # fmt: skip
    assert hub.trend("diffusion -number").total_papers == 0
    assert hub.trend("graph").total_papers == 1
    assert hub.trend("cat:math.ST").total_papers == 2
    assert hub.trend("diffusion since:2024-03-01").total_papers == 3
    assert hub.author_trend("grace hopper").total_papers == 5
    assert hub.category_trend("cs").total_papers == 4  # cs.LG papers: 1, 3, 5 and the hostile one
    assert hub.organization_trend("Example-Lab").total_papers == 2  # papers 1 and 2, any case of the handle
    # Local votes count with the source's upvotes.
    user = hub.create_user("ada", "correct horse battery")
    hub.set_vote(user, "2401.00001")
    assert hub.trend("diffusion").months[0].upvotes == 4


def test_pages_show_the_chart_with_a_text_alternative_and_the_api_answers(hub) -> None:  # noqa: ANN001
    client = TestClient(create_app(hub))
    for url in ("/search?q=diffusion", "/authors/Grace%20Hopper", "/categories/cs.LG", "/organizations/example-lab"):
        html = client.get(url).text
        figure = re.search(r"<figure class='trendchart'>.*?</figure>", html, re.S)
        assert figure, url
        root = ElementTree.fromstring(figure.group(0))  # the whole figure is well-formed too
        assert root.find(f"{SVG}svg") is not None
        hidden = root.find("div")
        assert hidden is not None and hidden.get("class") == "sr"  # visually hidden, read aloud
        table = hidden.find("table")
        assert table is not None and len(table.findall("tr")) >= 2
    hostile = client.get("/search", params={"q": "graph " + HOSTILE}).text
    assert "<script>alert(1)" not in hostile
    author = client.get("/authors/" + HOSTILE.replace("/", "%2F")).text
    assert "<script>alert(1)" not in author

    got = client.get("/api/v1/trends", params={"q": "diffusion"}).json()
    assert got["totalPapers"] == 5 and got["totalUpvotes"] == 15 and got["firstMonth"] == "2024-01"
    assert got["months"][-1] == {"month": "2024-04", "papers": 2, "upvotes": 9}
    assert client.get("/api/v1/trends", params={"author": "Grace Hopper"}).json()["totalPapers"] == 5
    assert client.get("/api/v1/trends", params={"category": "math"}).json()["totalPapers"] == 2
    assert client.get("/api/v1/trends").status_code == 400
    assert client.get("/api/v1/trends", params={"org": "EXAMPLE-LAB"}).json()["totalPapers"] == 2
    assert client.get("/api/v1/trends", params={"q": "a", "author": "b"}).status_code == 400


def test_the_counts_follow_new_changed_and_hidden_papers(hub) -> None:  # noqa: ANN001
    assert hub.trend("diffusion").total_papers == 5  # loads the in-memory table
    hub._now.now += timedelta(seconds=1)  # time passes between writes
    hub.add_papers([paper("2401.00050", title="Diffusion again", published=date(2024, 4, 9), external_upvotes=100)])
    after = hub.trend("diffusion")
    assert after.total_papers == 6 and after.months[-1].upvotes == 109
    hub._now.now += timedelta(microseconds=1)
    hub.add_papers([paper("2401.00050", title="Diffusion again", published=date(2024, 4, 9), external_upvotes=200)])
    assert hub.trend("diffusion").months[-1].upvotes == 209
    admin = hub.create_user("root", "correct horse battery", is_admin=True)
    hub.set_paper_hidden(admin, "2401.00050")
    assert hub.trend("diffusion").total_papers == 5 and hub.category_trend("cs.LG").total_papers == 4


def test_the_search_index_in_memory_and_the_database_count_the_same(hub, db_url: str) -> None:  # noqa: ANN001
    hub.warm_up(wait=True)  # the in-memory BM25 index: plain words are counted from its postings
    in_db = hub_at(db_url, embedder="none", lexical_index="database")
    queries = ["diffusion", "graph networks", "Diffusion number", "studying", "diffusion cat:cs.LG", "nothing-here", '"diffusion model"', "diffusion -graph"]
    for q in queries:
        assert hub.trend(q) == in_db.trend(q), q
    assert hub._search_engine().matching_ids(parse_query("diffusion")) is not None  # the memory path was taken


def test_the_month_table_reads_days_and_months_as_python_dates_give_them(db_url: str) -> None:
    """The day ordinals and months are computed by the database and numpy (no Python date per
    paper): they must be what ``date.toordinal`` and the calendar say, on both backends."""
    from sqlalchemy import select

    from broadsheet.extras.trends import NO_DAY, MonthTable
    from broadsheet.storage.schema import papers

    h = hub_at(db_url, embedder="none")
    days = [date(1991, 8, 14), date(1999, 12, 31), date(2000, 2, 29), date(2000, 3, 1), date(2024, 12, 31), date(2025, 1, 1)]
    h.add_papers([paper(f"2501.{n:05d}", published=d, external_upvotes=n) for n, d in enumerate(days, 1)])
    h.add_papers([paper("2501.00099", published=None)])
    with h._storage.engine.connect() as conn:  # noqa: SLF001
        ids = dict(conn.execute(select(papers.c.arxiv_id, papers.c.id)).all())
    table = MonthTable(h._storage)  # noqa: SLF001
    table.refresh()
    for n, d in enumerate(days, 1):
        i = ids[f"2501.{n:05d}"]
        assert (table.day[i], table.month[i], table.upvotes[i]) == (d.toordinal(), d.year * 12 + d.month - 1, n)
    undated = ids["2501.00099"]
    assert (table.day[undated], table.month[undated]) == (NO_DAY, -1)
    h.close()
