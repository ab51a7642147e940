"""`broadsheet sync arxiv` and Hub.fetch_arxiv_paper against the replayed arXiv export API."""

from __future__ import annotations

from datetime import date
from itertools import pairwise
from pathlib import Path

import pytest
from helpers import hub_at
from replay import Fault
from typer.testing import CliRunner

from broadsheet.cli import app
from broadsheet.exceptions import (
    InvalidArxivIdError,
    InvalidInputError,
    PaperNotFoundError,
)
from broadsheet.sources.arxiv_atom import parse_atom
from broadsheet.sync.arxiv import build_search, next_start
from broadsheet.types import PaperData

API = "/api/query"


@pytest.fixture
def hub(db_url: str):
    h = hub_at(db_url, embedder="none", arxiv_api_delay=0.0)
    yield h
    h.close()


def test_search_query_is_built_from_the_options() -> None:
    assert build_search(query="testing").search_query == "testing"
    assert build_search(["cs.LG"]).search_query == "cat:cs.LG"
    both = build_search(["cs.LG", "stat.ML"], "ti:diffusion", date(2026, 11, 1), date(2026, 11, 27))
    assert both.search_query == "(ti:diffusion) AND (cat:cs.LG OR cat:stat.ML) AND lastUpdatedDate:[202611010000 TO 202611272359]"
    assert both.sort_order == "ascending"  # with dates: oldest first, so new updates land at the end
    assert build_search(["math"]).sort_order == "descending"
    params = build_search(query="x", page_size=2000, max_results=2500).params(2000)
    assert params["start"] == "2000" and params["max_results"] == "500"  # the last page asks only for what is left


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "say what to fetch"),
        ({"query": "x", "page_size": 2001}, "2000"),
        ({"query": "x", "max_results": 30_001}, "30000"),
        ({"categories": ["cs LG"]}, "not an arXiv category"),
        ({"query": "x", "until": date(2026, 1, 1)}, "needs --since"),
        ({"query": "x", "since": date(2026, 2, 1), "until": date(2026, 1, 1)}, "before"),
    ],
)
def test_bad_searches_are_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        build_search(**kwargs)


@pytest.mark.parametrize(
    ("start", "got", "total", "limit", "expected"),
    [
        (0, 10, 214_881, 60, 10),
        (50, 10, 214_881, 60, None),  # reached the limit
        (0, 10, 24, 1000, 10),
        (20, 4, 24, 1000, None),  # short final page
        (10, 0, 24, 1000, None),  # empty page: stop, never spin
        (0, 7, 24, 1000, 7),  # short page that is not the last: go on from where it ended
        (0, 7, None, 1000, 7),
        (0, 0, None, 1000, None),
    ],
)
def test_next_start(start: int, got: int, total: int | None, limit: int, expected: int | None) -> None:
    assert next_start(start, got, total, limit) == expected


def _recorded_ids(fixtures_dir: Path) -> set[str]:
    folder = fixtures_dir / "arxiv-api" / "arxivpy_2026"
    ids = set()
    for start in range(0, 60, 10):
        path = next(folder.glob(f"q_testing_s{start}_m10_*.xml"))
        ids |= {i.arxiv_id for i in parse_atom(path.read_bytes(), path.name) if isinstance(i, PaperData)}
    return ids


def test_query_sync_pages_through_faults_and_reruns_add_nothing(hub, replay, fixtures_dir: Path) -> None:
    expected = _recorded_ids(fixtures_dir)
    replay.fail(
        Fault("503", path=API, when=lambda p: p.get("start") == "10", retry_after="0"),
        Fault("cut", path=API, when=lambda p: p.get("start") == "20"),
        Fault("truncate", path=API, when=lambda p: p.get("start") == "30"),
        Fault("reset", path=API, when=lambda p: p.get("start") == "40"),
    )
    seen = []
    report = hub.sync_arxiv(query="testing", page_size=10, max_results=60, base_url=replay.url + API, on_progress=seen.append)
    assert report.complete and not report.problems and not report.rejected
    assert (report.pages, report.requests, len(report.retried)) == (6, 10, 4)
    assert report.added == len(expected) == len(report.changed_ids)
    assert {hub.get_paper(i).arxiv_id for i in expected} == expected
    assert [p["start"] for p in replay.requests(API)] == ["0", "10", "10", "20", "20", "30", "30", "40", "40", "50"]
    assert {p["max_results"] for p in replay.requests(API)} == {"10"}
    assert any("214881 papers match" in n.message for n in report.notices)  # the 30,000 cap, said
    assert seen[-1].records == 60 and seen[-1].expected == 60

    again = hub.sync_arxiv(query="testing", page_size=10, max_results=60, base_url=replay.url + API)
    assert again.complete and (again.added, again.updated) == (0, 0) and again.changed_ids == ()


def test_error_feed_is_reported_not_stored(hub, replay) -> None:
    replay.fail(Fault("error_feed", path=API))
    report = hub.sync_arxiv(query="testing", page_size=10, max_results=20, base_url=replay.url + API)
    assert not report.complete and report.added == 0 and report.pages == 0
    assert report.problems == ("arXiv API error: incorrect id format for abc",)
    assert hub.stats().papers == 0


def test_unreachable_page_stops_and_keeps_earlier_pages(db_url: str, replay) -> None:
    hub = hub_at(db_url, embedder="none", sync_retries=1)
    try:
        replay.fail(Fault("reset", path=API, when=lambda p: p.get("start") == "10", times=5))
        report = hub.sync_arxiv(query="testing", page_size=10, max_results=30, base_url=replay.url + API, delay=0)
    finally:
        hub.close()
    assert not report.complete and report.pages == 1 and report.added == 10
    assert "gave up after 1 retries" in report.problems[0]


def test_fetch_one_missing_paper(hub, replay) -> None:
    url = replay.url + API
    paper = hub.fetch_arxiv_paper("arXiv:1605.08386v1", base_url=url)
    assert paper.arxiv_id == "1605.08386" and paper.title and paper.source == "arxiv-api"
    assert replay.requests(API) == [{"id_list": "1605.08386", "start": "0", "max_results": "1"}]
    assert hub.fetch_arxiv_paper("1605.08386", base_url=url) == paper  # stored: no request
    assert len(replay.requests(API)) == 1
    hub.fetch_arxiv_paper("1605.08386", base_url=url, refresh=True)
    assert len(replay.requests(API)) == 2
    assert hub.fetch_arxiv_paper("astro-ph/0601001", base_url=url).arxiv_id == "astro-ph/0601001"
    with pytest.raises(PaperNotFoundError):
        hub.fetch_arxiv_paper("0808.05394", base_url=url)  # arXiv answers with no entry
    with pytest.raises(InvalidArxivIdError):
        hub.fetch_arxiv_paper("abc", base_url=url)  # refused before any request
    assert len(replay.requests(API)) == 4


def test_fetched_paper_is_embedded(db_url: str, replay) -> None:
    hub = hub_at(db_url)  # the real embedder
    try:
        hub.fetch_arxiv_paper("1605.08386", base_url=replay.url + API, delay=0)
        assert hub.index_embeddings() == 0  # nothing left to embed: the fetch did it
    finally:
        hub.close()


def test_paced_at_the_configured_delay(hub, replay) -> None:
    hub.sync_arxiv(query="testing", page_size=10, max_results=30, base_url=replay.url + API, delay=0.3)
    times = [e.at for e in replay.log]
    assert len(times) == 3 and all(b - a >= 0.25 for a, b in pairwise(times))


def test_cli_sync_arxiv(tmp_path: Path, replay) -> None:
    args = ["--db", str(tmp_path / "c.sqlite3"), "sync", "arxiv", "-q", "testing", "--page-size", "10", "--max-results", "20",
            "--base-url", replay.url + API, "--delay", "0", "--no-embed"]  # fmt: skip
    result = CliRunner().invoke(app, args, env={"BROADSHEET_DATABASE_URL": ""})
    assert result.exit_code == 0, result.stderr
    assert "arxiv: 20 added" in result.stdout and "2 pages in 2 requests" in result.stdout
    bad = CliRunner().invoke(app, [*args[:4], "--page-size", "2001"], env={"BROADSHEET_DATABASE_URL": ""})
    assert bad.exit_code == 2 and "2000" in bad.stderr
