"""arXiv metadata for papers loaded from Hugging Face records (which carry no categories), from
the recorded arXiv export API answers replayed over HTTP (tests/replay.py)."""

from __future__ import annotations

import json
from datetime import date, datetime
from itertools import pairwise
from pathlib import Path

import pytest
from helpers import Clock, hub_at
from replay import Fault, Replay
from typer.testing import CliRunner

from broadsheet.cli import app

API = "/api/query"
HF = "/api/daily_papers"
# The recorded id_list answer for these two ids: arXiv knows 1707.08567 (cs.IT, with comments),
# not 0808.05394 (no entry).
KNOWN, UNKNOWN = "1707.08567", "0808.05394"


@pytest.fixture
def hf_fixtures(fixtures_dir: Path, tmp_path: Path) -> Path:
    """The recorded fixtures, with the HF day 2024-05-27 cut to its first two records and their
    ids set to the two of the recorded arXiv id_list answer: a day of HF records whose arXiv
    metadata can be fetched from recordings. (Everything else is the real recordings.)"""
    root = tmp_path / "fixtures"
    root.mkdir()
    (root / "arxiv-api").symlink_to(fixtures_dir / "arxiv-api")
    (root / "hf-daily-papers").mkdir()
    day = json.loads((fixtures_dir / "hf-daily-papers" / "daily_papers_2024-05-27.json").read_bytes())[:2]
    for record, arxiv_id in zip(day, (UNKNOWN, KNOWN), strict=True):
        record["paper"]["id"] = arxiv_id
    (root / "hf-daily-papers" / "daily_papers_2024-05-27.json").write_text(json.dumps(day))
    return root


@pytest.fixture
def server(hf_fixtures: Path):
    with Replay(hf_fixtures) as replay:
        yield replay


def _cli(*args: str, db: str, **env: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["--db", db, *args], env={"BROADSHEET_DATABASE_URL": "", **env})
    return result.exit_code, " ".join(result.stdout.split()), " ".join(result.stderr.split())


def test_batches() -> None:
    from broadsheet.sync.enrich import batches

    assert batches(["1", "2301.00001", "2301.00002", "demo-01", "2301.00001", "hep-th/9901001"], 2) == [
        ["2301.00001", "2301.00002"], ["hep-th/9901001"],
    ]  # fmt: skip
    assert batches([], 100) == []
    assert len(batches([f"2301.{n:05d}" for n in range(5000)], 5000)[0]) == 2000  # the API's page limit


def test_hf_archive_hub_gets_categories_from_arxiv(tmp_path: Path, server: Replay, hf_fixtures: Path) -> None:
    """As the user met it: HF records ingested, then `/categories/cs.IT` and `cat:` find nothing;
    `broadsheet enrich` fills them in, once."""
    db = str(tmp_path / "hub.sqlite3")
    day = hf_fixtures / "hf-daily-papers" / "daily_papers_2024-05-27.json"
    code, out, _ = _cli("ingest", str(day), db=db, BROADSHEET_EMBEDDER="none")
    assert code == 0 and "2 papers have no arXiv metadata" in out and "broadsheet enrich" in out
    code, out, _ = _cli("search", "cat:cs.IT", db=db, BROADSHEET_EMBEDDER="none")
    assert "no papers match" in out
    assert server.requests(API) == []  # ingest stays offline unless ingest_enrich is on

    code, out, err = _cli("enrich", "--base-url", server.url + API, "--delay", "0", db=db, BROADSHEET_EMBEDDER="none")
    assert code == 0, err
    assert "enrich: 0 added, 1 updated" in out and "1 requests" in out
    assert f"arXiv has no paper {UNKNOWN}" in err
    assert server.requests(API) == [{"id_list": f"{UNKNOWN},{KNOWN}", "start": "0", "max_results": "2"}]

    hub = hub_at(f"sqlite:///{db}", embedder="none")
    paper = hub.get_paper(KNOWN)
    assert paper.categories == ("cs.IT",) and paper.primary_category == "cs.IT"
    assert paper.comments and paper.comments.startswith("44 pages") and paper.version == 1
    assert paper.external_upvotes > 0  # what HF said stays
    assert hub.get_listings(date(2024, 5, 27))  # and so do the listings
    assert [p.arxiv_id for p in hub.get_papers_in_category("cs.IT")] == [KNOWN]
    assert [h.paper.arxiv_id for h in hub.search("cat:cs.IT").hits] == [KNOWN]
    assert hub.count_lacking_arxiv_metadata() == 0  # the unknown one is not asked for again
    code, out, _ = _cli("enrich", "--base-url", server.url + API, "--delay", "0", db=db, BROADSHEET_EMBEDDER="none")
    assert code == 0 and "0 updated" in out and len(server.requests(API)) == 1


def test_sync_hf_daily_enriches_what_it_brought_in_paced_batches(db_url: str, server: Replay) -> None:
    hub = hub_at(
        db_url, Clock(datetime(2024, 5, 28)), embedder="none", hf_delay=0.0,
        arxiv_api_url=server.url + API, arxiv_api_delay=0.3, arxiv_enrich_batch=1,
    )  # fmt: skip
    server.fail(Fault("reset", path=API, when=lambda p: p.get("id_list") == KNOWN))  # survived
    report = hub.sync_hf_daily(date(2024, 5, 27), base_url=server.url + HF)
    assert report.complete and not report.problems, report.problems
    assert (report.added, report.enriched) == (2, 1)
    asked = [(e.params.get("id_list"), e.at) for e in server.log if e.path == API]
    assert [a for a, _ in asked] == [UNKNOWN, KNOWN, KNOWN]  # one id a request here; the reset retried
    assert all(b - a >= 0.25 for (_, a), (_, b) in pairwise(asked)), [b - a for (_, a), (_, b) in pairwise(asked)]  # paced
    assert all("Broadsheet" in e.user_agent or "broadsheet" in e.user_agent for e in server.log if e.path == API)
    assert hub.get_paper(KNOWN).categories == ("cs.IT",)
    assert hub.get_papers_in_category("cs") == [hub.get_paper(KNOWN)]

    off = hub_at(db_url, embedder="none", hf_delay=0.0, arxiv_enrich=False)
    assert off.sync_hf_daily(date(2024, 5, 27), base_url=server.url + HF).enriched == 0


def test_a_failed_request_is_reported_and_asked_again_next_time(db_url: str, server: Replay, hf_fixtures: Path) -> None:
    hub = hub_at(db_url, embedder="none", arxiv_api_url=server.url + API, arxiv_api_delay=0.0, sync_retries=1)
    hub.ingest_paths([hf_fixtures / "hf-daily-papers" / "daily_papers_2024-05-27.json"])
    server.fail(Fault("503", path=API, retry_after="0", times=2))  # a try and its one retry
    report = hub.enrich_arxiv()
    assert not report.complete and "2 papers still lack it" in report.problems[0]
    assert hub.count_lacking_arxiv_metadata() == 2  # nothing was marked
    report = hub.enrich_arxiv()
    assert report.complete and report.updated == 1 and hub.count_lacking_arxiv_metadata() == 0


def test_ingest_enriches_when_live_fetching_is_on(tmp_path: Path, server: Replay, hf_fixtures: Path) -> None:
    db = str(tmp_path / "live.sqlite3")
    day = hf_fixtures / "hf-daily-papers" / "daily_papers_2024-05-27.json"
    env = {"BROADSHEET_EMBEDDER": "none", "BROADSHEET_INGEST_ENRICH": "true",
           "BROADSHEET_ARXIV_API_URL": server.url + API, "BROADSHEET_ARXIV_API_DELAY": "0"}  # fmt: skip
    code, out, err = _cli("ingest", str(day), db=db, **env)
    assert code == 0, err
    assert "arXiv metadata fetched for 1 of 2 papers that lacked it (1 unknown to arXiv)" in out
    assert hub_at(f"sqlite:///{db}", embedder="none").get_paper(KNOWN).categories == ("cs.IT",)
