"""Hostile or broken input gets a clear error and costs nothing else: periods past the calendar,
an unexpected server error on a keep-alive connection, and files that cannot be read whole."""

from __future__ import annotations

import gzip
import io
import json
import logging
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from helpers import Clock, hub_at
from typer.testing import CliRunner
from web_helpers import NOW, Server, site_hub

from broadsheet.cli import app
from broadsheet.exceptions import InvalidInputError, SourceError
from broadsheet.hub import Hub
from broadsheet.periods import parse_period, period_containing
from broadsheet.sources.files import read_path
from broadsheet.types import PaperData, Rejected
from broadsheet.web import create_app

# The last day, ISO week and month that Python's calendar holds: a page for them needs the day
# after (10000-01-01), which does not exist.
PAST_THE_CALENDAR = [
    "/papers/month/9999-12",
    "/papers/week/9999-W52",
    "/papers/date/9999-12-31",
    "/papers/month/9999-12.bib",
    "/papers/week/9999-W52.bib",
    "/papers/date/9999-12-31.bib",
    "/api/daily_papers?date=9999-12-31",
    "/api/daily_papers?week=9999-W52",
    "/api/daily_papers?month=9999-12",
]


@pytest.fixture(scope="module")
def hub(module_db_url: str) -> Iterator[Hub]:
    h = site_hub(module_db_url, Clock(NOW))
    yield h
    h.close()


def test_periods_are_parsed_or_refused_never_overflow() -> None:
    for kind, slug in [("month", "9999-12"), ("week", "9999-W52"), ("date", "9999-12-31"), ("date", "0000-01-01")]:
        with pytest.raises(InvalidInputError, match="years 0001 to 9998"):
            parse_period(kind, slug)
    assert parse_period("week", "9998-W52").slug == "9998-W52"
    assert parse_period("month", "0001-01").first.isoformat() == "0001-01-01"
    from datetime import date

    with pytest.raises(InvalidInputError, match="past the end of the calendar"):
        period_containing("week", date(9999, 12, 31))


@pytest.mark.parametrize("url", PAST_THE_CALENDAR)
def test_a_period_past_the_calendar_is_a_400(hub: Hub, url: str, caplog: pytest.LogCaptureFixture) -> None:
    client = TestClient(create_app(hub), raise_server_exceptions=False)
    with caplog.at_level(logging.ERROR):
        r = client.get(url)
    assert r.status_code == 400, r.text[:300]
    assert "years 0001 to 9998" in r.text
    if "9999-W52" in url and not url.startswith("/api/"):
        assert "&#39;9999-W52&#39;" in r.text  # the slug as given, not lower-cased
    assert not [rec for rec in caplog.records if rec.levelno >= logging.ERROR]


def test_an_unhandled_error_keeps_the_keep_alive_connection(
    hub: Hub, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real uvicorn and one client connection: after a 500 (and after the 400s above), the next
    request goes over the same connection and succeeds; the error is logged once, not twice."""

    def broken(*_a: object, **_k: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(hub, "get_trending", broken)
    with Server(create_app(hub)) as url, httpx.Client(base_url=url) as client:
        first = client.get("/healthz")
        connection = first.extensions["network_stream"]
        with caplog.at_level(logging.ERROR):
            for bad in ["/papers/trending", "/papers/trending?sort=newest", *PAST_THE_CALENDAR[:3]]:
                r = client.get(bad)
                assert r.status_code in (400, 500), bad
                assert "secret internals" not in r.text
                after = client.get("/healthz")
                assert after.status_code == 200 and after.text == "ok"
                assert after.extensions["network_stream"] is connection, f"connection dropped after {bad}"
    errors = [rec.getMessage() for rec in caplog.records if rec.levelno >= logging.ERROR]
    assert errors == ["unhandled error on GET /papers/trending"] * 2, errors


# -- files ---------------------------------------------------------------------------------------


def record(n: int, abstract: str = "An abstract.") -> str:
    """One JSON line of the paper dump, ``abstract`` first as in the shared 100k file."""
    return json.dumps({"abstract": abstract, "arxiv_id": f"2401.{n:05d}", "title": f"Paper {n}", "authors": ["A B"]})


def jsonl(path: Path, numbers: range, abstract: str = "An abstract.") -> Path:
    path.write_text("".join(record(n, abstract) + "\n" for n in numbers), encoding="utf-8")
    return path


def tar_gz(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def papers(items: object) -> list[str]:
    return [i.arxiv_id for i in items if isinstance(i, PaperData)]  # type: ignore[attr-defined]


def test_jsonl_whose_first_record_is_longer_than_a_sniffing_window(tmp_path: Path) -> None:
    """The format is told by the first line's structure, however long it is: JSON Lines whose
    first record runs to 20 kB, plain, gzipped and as an archive member, all read line by line."""
    long = "word " * 4000
    plain = jsonl(tmp_path / "long.jsonl", range(1, 4), long)
    gz = tmp_path / "long.jsonl.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    archive = tar_gz(tmp_path / "long.tar.gz", {"dump/long.jsonl": plain.read_bytes()})
    for path in (plain, gz, archive):
        items = list(read_path(path))
        assert papers(items) == ["2401.00001", "2401.00002", "2401.00003"], path.name
        assert not [i for i in items if isinstance(i, Rejected)]
    # a document stays a document: the day wrapper on one line, and a pretty-printed array
    wrapper = tmp_path / "2025-01-10.json"
    wrapper.write_text(json.dumps({"status": "ok", "data": []}) + "\n")
    assert [type(i).__name__ for i in read_path(wrapper)] == ["Notice"]
    pretty = tmp_path / "2025-01-11.json"
    pretty.write_text("[\n]\n")
    assert list(read_path(pretty)) == []


def test_multi_file_ingest_goes_on_after_an_unreadable_file(tmp_path: Path) -> None:
    """An empty file, a cut-off .gz and an archive of zeros between good files: each is reported,
    the rest is read, the summary printed, and the exit status is 1."""
    good1 = jsonl(tmp_path / "good1.jsonl", range(1, 4))
    good2 = jsonl(tmp_path / "good2.jsonl", range(4, 7))
    (tmp_path / "empty.jsonl").write_bytes(b"")
    whole = gzip.compress("".join(record(n) + "\n" for n in range(100, 400)).encode())
    (tmp_path / "cut.jsonl.gz").write_bytes(whole[: len(whole) // 2])
    (tmp_path / "zeros.gz").write_bytes(gzip.compress(bytes(2**20)))
    names = ["good1.jsonl", "empty.jsonl", "cut.jsonl.gz", "zeros.gz", "good2.jsonl"]
    db = tmp_path / "x.sqlite3"
    result = CliRunner().invoke(
        app, ["--db", str(db), "ingest", *(str(tmp_path / n) for n in names)], env={"BROADSHEET_DATABASE_URL": ""}
    )
    out, err = " ".join(result.stdout.split()), " ".join(result.stderr.split())
    assert result.exit_code == 1, (out, err)
    assert "could not read empty.jsonl: empty" in err
    assert "could not read cut.jsonl.gz: cannot read: Compressed file ended" in err
    assert "could not read zeros.gz: a tar archive with no files in it" in err
    assert "3 of 5 files could not be read whole" in out
    added = int(out.split(" added")[0].split()[-1])
    assert 6 + 100 < added < 6 + 300  # good1, good2 and what came before the cut
    hub = hub_at(f"sqlite:///{db}")
    try:
        assert hub.get_paper("2401.00006").title == "Paper 6"  # good2, after the bad files
        assert hub.get_paper("2401.00100").title == "Paper 100"
    finally:
        hub.close()


def test_records_before_the_damage_land_not_only_whole_batches(tmp_path: Path, db_url: str) -> None:
    whole = gzip.compress("".join(record(n) + "\n" for n in range(1, 301)).encode())
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    hub = hub_at(db_url, ingest_batch_size=5000)
    try:
        report = hub.ingest_paths([cut, tmp_path / "gone.jsonl"])
        assert 100 < report.added < 300 and hub.stats().papers == report.added
        assert [r.source_ref for r in report.rejected] == ["cut.jsonl.gz", "gone.jsonl"]
        assert "cannot open" in report.rejected[1].reason
    finally:
        hub.close()


def test_an_empty_archive_is_a_bad_file(tmp_path: Path) -> None:
    for path in (tar_gz(tmp_path / "none.tar.gz", {}), tmp_path / "zeros.gz"):
        if path.name == "zeros.gz":
            path.write_bytes(gzip.compress(bytes(2**20)))
        with pytest.raises(SourceError, match="a tar archive with no files in it"):
            list(read_path(path))


def test_documents_and_lines_over_the_size_limit_are_refused(tmp_path: Path) -> None:
    """With ingest_max_document_mb lowered to 1: an array of 3 MB of whitespace is refused with
    the setting named, a 2 MB JSON line is rejected and the lines around it read, and a 2 MB
    archive member is rejected unread while the next member lands."""
    array = tmp_path / "spaces.json.gz"
    array.write_bytes(gzip.compress(b"[" + b" " * (3 * 2**20) + b"]"))
    lines = tmp_path / "lines.jsonl"
    lines.write_text(record(1) + "\n" + record(2, "x" * (2 * 2**20)) + "\n" + record(3) + "\n")
    archive = tar_gz(tmp_path / "days.tar.gz", {"big.json": b"[" + b" " * (2 * 2**20) + b"]", "2401.jsonl": (record(4) + "\n").encode()})
    hub = hub_at(f"sqlite:///{tmp_path / 'x.sqlite3'}", ingest_max_document_mb=1)
    try:
        report = hub.ingest_paths([array, lines, archive])
    finally:
        hub.close()
    assert report.added == 3
    by_ref = {r.source_ref: r.reason for r in report.rejected}
    assert set(by_ref) == {"spaces.json.gz", "lines.jsonl:2", "days.tar.gz/big.json"}
    assert all("larger than the 1 MB" in reason and "ingest_max_document_mb" in reason for reason in by_ref.values())
    assert by_ref["days.tar.gz/big.json"].startswith("2,097,154 bytes")


def test_a_huge_document_costs_no_more_memory_than_the_limit(tmp_path: Path) -> None:
    """A .gz of 64 MB of whitespace inside [ ] (a few hundred kB on disk), read with a 1 MB limit: the
    reading process grows by a few MB, not by the 64 MB (and more) of reading it whole."""
    path = tmp_path / "bomb.json.gz"
    with gzip.open(path, "wb", compresslevel=1) as f:
        f.write(b"[")
        for _ in range(64):
            f.write(b" " * 2**20)
        f.write(b"]")
    script = (
        "import resource, sys\n"
        "from broadsheet.sources.files import read_path\n"
        "from broadsheet.exceptions import SourceError\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "try:\n"
        "    list(read_path(sys.argv[1], max_bytes=2**20))\n"
        "except SourceError as e:\n"
        "    print(e, file=sys.stderr)\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=60)
    assert "larger than the 1 MB" in done.stderr, done.stderr
    grown_kb = int(done.stdout.strip())
    assert grown_kb < 16_000, f"grew by {grown_kb} kB"
