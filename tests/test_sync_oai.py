"""`broadsheet sync oai` against the replayed OAI-PMH pages: paging by real tokens, faults, expired
tokens, resuming after a stop and after a SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import date

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool
from helpers import hub_at
from replay import Fault

from broadsheet.exceptions import InvalidInputError
from broadsheet.sync.oai import Harvest, default_from, next_step

OAI = "/oai"


@pytest.fixture
def hub(db_url: str):
    h = hub_at(db_url, embedder="none", oai_delay=0.0)
    yield h
    h.close()


def token_is(token: str):
    return lambda params: params.get("resumptionToken") == token


def test_harvest_arguments_and_keys() -> None:
    job = Harvest("http://x/oai", "oai_dc", "cs", date(2024, 1, 1))
    assert job.first_params() == {"verb": "ListRecords", "metadataPrefix": "oai_dc", "set": "cs", "from": "2024-01-01"}
    assert job.key == "oai:http://x/oai|oai_dc|cs|2024-01-01|"
    assert job.done_key == "oai-done:http://x/oai|oai_dc|cs"  # the same for every date range
    with pytest.raises(InvalidInputError, match="format"):
        Harvest("http://x/oai", "marc")
    with pytest.raises(InvalidInputError, match="before"):
        Harvest("http://x/oai", from_=date(2024, 2, 1), until=date(2024, 1, 1))


def test_next_step() -> None:
    assert next_step("6511260|1001", None) == "next"
    assert next_step(None, "6511260|1001") == "done"
    assert next_step("", "6511260|1001") == "done"  # the empty <resumptionToken/> of a last page
    assert next_step("6511260|1001", "6511260|1001") == "stuck"  # the same token again: never spin
    assert default_from({"response_date": "2023-03-08T01:02:03Z"}) == date(2023, 3, 8)
    assert default_from(None) is None and default_from({"response_date": "junk"}) is None


def test_oai_dc_harvest_then_incremental_rerun(hub, replay) -> None:
    url = replay.url + OAI
    report = hub.sync_oai(metadata_prefix="oai_dc", base_url=url)
    assert report.complete and report.pages == 2 and report.requests == 2
    assert report.added + len(report.rejected) == 2000 and report.added > 1900
    first, second = replay.requests(OAI)
    assert first == {"verb": "ListRecords", "metadataPrefix": "oai_dc"}
    assert second == {"verb": "ListRecords", "resumptionToken": "6511260|1001"}

    again = hub.sync_oai(metadata_prefix="oai_dc", base_url=url)
    assert again.complete and (again.added, again.updated, again.unchanged) == (0, 0, report.added)
    # the next run asks only for what changed since the day the last one began (responseDate)
    assert replay.requests(OAI)[2]["from"] == "2023-03-07"
    full = hub.sync_oai(metadata_prefix="oai_dc", base_url=url, full=True)
    assert "from" not in replay.requests(OAI)[4] and full.added == 0


def test_stopped_harvest_resumes_from_its_token(hub, replay) -> None:
    url = replay.url + OAI
    replay.fail(Fault("503", path=OAI, when=token_is("6511260|1001"), retry_after="86400"))  # "come back tomorrow"
    stopped = hub.sync_oai(metadata_prefix="oai_dc", base_url=url)
    assert not stopped.complete and stopped.pages == 1 and "asks to wait 86400 s" in stopped.problems[0]

    resumed = hub.sync_oai(metadata_prefix="oai_dc", base_url=url)
    assert resumed.complete and resumed.resumed_from == "6511260|1001" and resumed.pages == 1
    assert replay.requests(OAI)[-1] == {"verb": "ListRecords", "resumptionToken": "6511260|1001"}
    assert stopped.added + resumed.added == hub.stats().papers > 1900


def test_expired_token_restarts_the_harvest_cleanly(hub, replay) -> None:
    url = replay.url + OAI
    replay.fail(Fault("503", path=OAI, when=token_is("6511260|1001"), retry_after="86400"))
    hub.sync_oai(metadata_prefix="oai_dc", base_url=url)  # stops after page 1, token saved
    replay.fail(Fault("bad_token", path=OAI, when=token_is("6511260|1001")))  # it expired meanwhile
    report = hub.sync_oai(metadata_prefix="oai_dc", base_url=url)
    assert report.complete and report.resumed_from == "6511260|1001"
    assert any("restarting the harvest from its first page" in r for r in report.retried)
    assert [p.get("resumptionToken") for p in replay.requests(OAI)[1:]] == ["6511260|1001", "6511260|1001", None, "6511260|1001"]
    assert report.pages == 2 and report.added > 0  # page 2 was new; page 1 again found unchanged


def test_a_second_expired_token_is_reported(hub, replay) -> None:
    replay.fail(Fault("bad_token", path=OAI, when=token_is("6511260|1001"), times=2))
    report = hub.sync_oai(metadata_prefix="oai_dc", base_url=replay.url + OAI)
    assert not report.complete and "badResumptionToken" in report.problems[0]


def _count(url: str, sql: str) -> int:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar_one()
    finally:
        engine.dispose()


@pytest.mark.slow
def test_fifteen_pages_through_faults_then_rerun(hub, replay) -> None:
    """The issue's "done when": all 15 recorded pages (15,000 records) by their real tokens,
    surviving a 503, a cut body, a truncated page, a reset and a slow answer."""
    replay.fail(
        Fault("503", path=OAI, when=token_is("2752941|3001"), retry_after="1"),
        Fault("cut", path=OAI, when=token_is("2752941|5001")),
        Fault("truncate", path=OAI, when=token_is("2752941|7001")),
        Fault("reset", path=OAI, when=token_is("2752941|9001")),
        Fault("slow", path=OAI, when=token_is("2752941|11001"), seconds=0.5),
    )
    report = hub.sync_oai(base_url=replay.url + OAI)
    assert report.complete and not report.problems and not report.rejected
    assert (report.pages, report.requests, report.added, len(report.retried)) == (15, 19, 15_000, 4)
    assert hub.stats().papers == 15_000
    tokens = [p.get("resumptionToken") for p in replay.requests(OAI) if p.get("resumptionToken")]
    assert sorted(set(tokens)) == sorted(f"2752941|{n}001" for n in range(1, 15))

    again = hub.sync_oai(base_url=replay.url + OAI)
    assert again.complete and (again.added, again.updated, again.unchanged) == (0, 0, 15_000)
    assert replay.requests(OAI)[19]["from"] == "2018-06-17"


def _sync_oai_cli(db: str, url: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "broadsheet", "--db", str(db), "sync", "oai", "--base-url", url, "--delay", "0", "--no-embed"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "BROADSHEET_DATABASE_URL": "", "BROADSHEET_CONTACT_EMAIL": "ci@example.org"},
    )


@pytest.mark.slow
def test_killed_harvest_resumes_without_duplicates(db_url: str, replay) -> None:
    db, url = db_url, replay.url + OAI
    replay.fail(Fault("block", path=OAI, when=token_is("2752941|7001")))  # hold page 7 until the kill
    proc = _sync_oai_cli(db, url)
    try:
        replay.wait_for(lambda e: e.params.get("resumptionToken") == "2752941|7001", timeout=120)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        replay.release()
    assert _count(db, "SELECT count(*) FROM papers") == 7000  # pages 0-6 stored whole
    assert "2752941|7001" in _count_state(db)

    rerun = _sync_oai_cli(db, url)
    out, err = rerun.communicate(timeout=240)
    assert rerun.returncode == 0, err
    assert "8000 added" in out and "resumed from token 2752941|7001" in out
    assert _count(db, "SELECT count(*) FROM papers") == 15_000
    assert _count(db, "SELECT count(DISTINCT arxiv_id) FROM papers") == 15_000
    assert _count(db, "SELECT count(*) FROM papers_fts") == 15_000
    assert _count(db, "SELECT count(*) FROM sync_state WHERE key LIKE 'oai:%'") == 0  # finished: nothing to resume
    first_of_rerun = [p for p in replay.requests(OAI) if p.get("resumptionToken") == "2752941|7001"]
    assert len(first_of_rerun) == 2  # the blocked one, then the resumed run's first request


def _count_state(url: str) -> str:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return " ".join(conn.execute(text("SELECT state FROM sync_state WHERE key LIKE 'oai:%'")).scalars())
    finally:
        engine.dispose()
