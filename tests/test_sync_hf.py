"""`broadsheet sync hf-daily` against the replayed Hugging Face daily papers API."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pytest
from helpers import Clock, hub_at
from replay import Fault
from typer.testing import CliRunner

from broadsheet.cli import app
from broadsheet.exceptions import InvalidInputError
from broadsheet.sources.hf_daily import parse_hf_daily
from broadsheet.sync.hf import days_to_fetch, more_pages
from broadsheet.types import ListingData, PaperData

HF = "/api/daily_papers"
DAYS = [date(2024, 5, 27), date(2024, 8, 2), date(2024, 12, 11), date(2025, 3, 17), date(2025, 12, 12), date(2026, 8, 21)]


@pytest.fixture
def hub(db_url: str):
    h = hub_at(db_url, Clock(datetime(2026, 8, 21, 18, 0)), embedder="none", hf_delay=0.0, arxiv_enrich=False)
    yield h
    h.close()


def test_days_to_fetch() -> None:
    today = date(2026, 8, 21)
    assert days_to_fetch(None, None, None, today=today, default_days=3) == [date(2026, 8, 19), date(2026, 8, 20), today]
    assert days_to_fetch(date(2024, 5, 27), None, None, today=today, default_days=3) == [date(2024, 5, 27)]
    assert len(days_to_fetch(None, date(2026, 8, 1), None, today=today, default_days=3)) == 21
    assert days_to_fetch(None, date(2026, 1, 1), date(2026, 1, 2), today=today, default_days=3) == [date(2026, 1, 1), date(2026, 1, 2)]
    for day, since, until in [(today, today, None), (None, None, today), (None, today, date(2026, 1, 1))]:
        with pytest.raises(InvalidInputError):
            days_to_fetch(day, since, until, today=today, default_days=3)


def test_more_pages_never_spins() -> None:
    assert more_pages(100, 100, 100, 0)
    assert not more_pages(50, 100, 50, 0)  # a short page is the day's last
    assert not more_pages(100, 100, 0, 1)  # a server ignoring `p` sends the same page again
    assert not more_pages(100, 100, 100, 19)  # bounded


def _expected(fixtures_dir: Path) -> tuple[set[str], int]:
    papers, listings = set(), 0
    for path in sorted((fixtures_dir / "hf-daily-papers").glob("*.json")):
        for item in parse_hf_daily(path.read_bytes(), path.name):
            papers |= {item.arxiv_id} if isinstance(item, PaperData) else set()
            listings += isinstance(item, ListingData)
    return papers, listings


def test_recorded_days_land_with_upvotes_and_submitters(hub, replay, fixtures_dir: Path) -> None:
    url = replay.url + HF
    papers, listings = _expected(fixtures_dir)
    replay.fail(
        Fault("truncate", path=HF, when=lambda p: p.get("date") == "2024-08-02"),
        Fault("cut", path=HF, when=lambda p: p.get("date") == "2025-03-17"),
        Fault("503", path=HF, when=lambda p: p.get("date") == "2025-12-12", retry_after="0"),
    )
    reports = [hub.sync_hf_daily(day, base_url=url) for day in DAYS]
    assert all(r.complete and not r.problems for r in reports)
    assert sum(r.added for r in reports) == len(papers) and sum(r.listings_added for r in reports) == listings
    assert sum(len(r.retried) for r in reports) == 3
    assert any("repr()" in n.message for r in reports for n in r.notices)  # the malformed day, read anyway
    assert {p["date"] for p in replay.requests(HF)} == {d.isoformat() for d in DAYS}
    assert {p["limit"] for p in replay.requests(HF)} == {"100"}

    day = json.loads((fixtures_dir / "hf-daily-papers" / "daily_papers_2026-08-21.json").read_bytes())
    top = max(day, key=lambda i: i["paper"]["upvotes"])
    stored = hub.get_paper(top["paper"]["id"])
    assert stored.external_upvotes == top["paper"]["upvotes"]
    listed = {entry.paper.arxiv_id: entry for entry in hub.get_listings(date(2026, 8, 21))}
    assert len(listed) == len(day) and listed[top["paper"]["id"]].submitter
    assert any(p.github_repo for p in (e.paper for e in listed.values()))
    # what Hugging Face shows beside the text comes along too (tests/test_hf_fields.py has the rest)
    assert stored.ai_summary == " ".join(top["paper"]["ai_summary"].split())
    assert stored.organization is not None and stored.organization.name == top["organization"]["name"]
    assert stored.github_stars == top["paper"].get("githubStars") and stored.thumbnail_url == top["thumbnail"]
    assert listed[top["paper"]["id"]].submitter_fullname == top["submittedBy"]["fullname"]

    again = [hub.sync_hf_daily(day, base_url=url) for day in DAYS]
    assert sum(r.added + r.updated + r.listings_added for r in again) == 0


def test_default_run_fetches_the_last_days(hub, replay) -> None:
    report = hub.sync_hf_daily(base_url=replay.url + HF)
    assert [p["date"] for p in replay.requests(HF)] == ["2026-08-19", "2026-08-20", "2026-08-21"]
    assert report.complete and report.added == 17 and report.pages == 3


def test_a_failing_day_stops_the_run_and_keeps_earlier_days(db_url: str, replay) -> None:
    hub = hub_at(db_url, embedder="none", sync_retries=1, arxiv_enrich=False)
    try:
        replay.fail(Fault("503", path=HF, when=lambda p: p.get("date") == "2024-05-28", retry_after=None, times=5))
        report = hub.sync_hf_daily(since=date(2024, 5, 27), until=date(2024, 5, 30), base_url=replay.url + HF, delay=0)
    finally:
        hub.close()
    assert not report.complete and report.added == 13 and "2024-05-28" in report.problems[0]
    assert {p["date"] for p in replay.requests(HF)} == {"2024-05-27", "2024-05-28"}


def test_cli_sync_hf_daily(tmp_path: Path, replay) -> None:
    args = ["--db", str(tmp_path / "c.sqlite3"), "sync", "hf-daily", "--date", "2024-05-27",
            "--base-url", replay.url + HF, "--delay", "0", "--no-embed", "--no-enrich"]  # fmt: skip
    result = CliRunner().invoke(app, args, env={"BROADSHEET_DATABASE_URL": ""})
    assert result.exit_code == 0, result.stderr
    assert "hf-daily: 13 added" in result.stdout and "13 listings added" in result.stdout
    both = CliRunner().invoke(app, [*args, "--since", "2024-05-01"], env={"BROADSHEET_DATABASE_URL": ""})
    assert both.exit_code == 2 and "not both" in both.stderr
