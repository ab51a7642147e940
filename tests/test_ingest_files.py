"""`broadsheet ingest` input formats: every fixture family lands through the Hub."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from pathlib import Path

import pytest

from broadsheet.exceptions import SourceError
from broadsheet.sources.files import read_path

from helpers import hub_at


@pytest.fixture
def hub(db_url: str):
    h = hub_at(db_url)
    yield h
    h.close()


def test_arxiv_api_atom(hub, fixtures_dir: Path) -> None:
    folder = fixtures_dir / "arxiv-api" / "arxivpy_2026"
    report = hub.ingest_paths([folder / "id_1605.08386_s0_m100_199195aa31ad.xml"])
    assert report.added == 1 and not report.rejected
    p = hub.get_paper("1605.08386")
    assert p.version is not None and p.source == "arxiv-api"


def test_arxiv_api_error_feed_is_reported_not_ingested(hub, fixtures_dir: Path) -> None:
    report = hub.ingest_paths([fixtures_dir / "arxiv-api" / "arxivpy_2026" / "id_abc_s0_m100_b79c8dcf6bc3.xml"])
    assert report.added == 0
    (rejected,) = report.rejected
    assert rejected.reason.startswith("arXiv API error") and "id_abc" in rejected.source_ref


def test_oai_pmh_arxiv_format_gz_pages(hub, fixtures_dir: Path) -> None:
    pages = sorted((fixtures_dir / "oai-pmh" / "arxiv_format_2018_pages").glob("*.xml.gz"))[:2]
    report = hub.ingest_paths(pages)
    assert report.added == 2000 and not report.rejected
    assert hub.stats().papers == 2000


def test_oai_pmh_oai_dc(hub, fixtures_dir: Path) -> None:
    folder = fixtures_dir / "oai-pmh" / "oai_dc_2023"
    report = hub.ingest_paths(sorted(folder.glob("*.xml")))
    assert report.added > 0 and not report.rejected
    p = hub.get_paper("2107.10460")
    assert p.authors[0] == "Taichi Terashima" and p.primary_category == "cond-mat.supr-con"


def test_hf_daily_day_and_malformed_day(hub, fixtures_dir: Path) -> None:
    folder = fixtures_dir / "hf-daily-papers"
    day = folder / "daily_papers_2026-08-21.json"
    repr_day = folder / "malformed_python_repr_2024-12-11.json"
    report = hub.ingest_paths([day, repr_day])
    n_day = len(json.loads(day.read_text()))
    n_repr = len(json.loads(repr_day.read_text()))
    assert report.added == n_day + n_repr and report.listings_added == n_day + n_repr
    assert not report.rejected
    (notice,) = report.notices
    assert notice.source_ref == repr_day.name and "literal_eval" in notice.message
    (first, *_) = json.loads(day.read_text())
    listed = {listing.paper.arxiv_id for listing in hub.get_listings(__import__("datetime").date(2026, 8, 21))}
    assert first["paper"]["id"] in listed


def test_archive_with_a_broken_member(hub, fixtures_dir: Path, tmp_path: Path) -> None:
    """A tar.gz of days where one member is garbage: it is reported, the others land."""
    good = (fixtures_dir / "hf-daily-papers" / "daily_papers_2025-03-17.json").read_bytes()
    archive = tmp_path / "days.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name, data in [("days/2025-03-17.json", good), ("days/2025-03-18.json", b"<html>oops</html>")]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    report = hub.ingest_paths([archive])
    assert report.added == len(json.loads(good))
    (rejected,) = report.rejected
    assert rejected.source_ref == "days.tar.gz/days/2025-03-18.json"


def test_jsonl_with_bad_lines(hub, tmp_path: Path) -> None:
    rows = [
        {"arxiv_id": "0704.0001", "title": "A", "abstract": "x", "authors": ["P Q"]},
        "not json",
        {"arxiv_id": "bogus!", "title": "B", "abstract": "y"},
        {"arxiv_id": "0704.0002", "title": "", "abstract": "z"},
        {"arxiv_id": "0704.0003", "title": "C", "abstract": "w", "published": "2007-04-02"},
    ]
    path = tmp_path / "papers.jsonl.gz"
    with gzip.open(path, "wt") as f:
        for r in rows:
            f.write((r if isinstance(r, str) else json.dumps(r)) + "\n")
    report = hub.ingest_paths([path])
    assert report.added == 2
    assert [r.source_ref for r in report.rejected] == ["papers.jsonl.gz:2", "papers.jsonl.gz:3", "papers.jsonl.gz:4"]
    assert "not an arXiv id" in report.rejected[1].reason and "title" in report.rejected[2].reason


def test_unknown_format_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(SourceError, match="unknown format"):
        list(read_path(path))


@pytest.mark.slow
def test_hf_archive_whole(hub, shared_data: Path) -> None:
    """580 days, 9,881 rows of 9,877 papers; the malformed days decode, nothing is fatal."""
    archive = shared_data / "hf-daily-papers-2024-05_2026-08.tar.gz"
    report = hub.ingest_paths([archive])
    assert report.added == 9877 and report.listings_added == 9881 and not report.rejected
    # the malformed days are reported: 22 of repr() strings, one of them also wrapped in an object
    reprs = [n for n in report.notices if "repr() strings" in n.message]
    wrapped = [n for n in report.notices if "wrapping" in n.message]
    assert len(reprs) == 22 and [n.source_ref for n in wrapped] == [
        "hf-daily-papers-2024-05_2026-08.tar.gz/hf_daily_papers/2025-01-10.json"
    ]
    again = hub.ingest_paths([archive])
    assert (again.added, again.listings_added) == (0, 0)
    stats = hub.stats()
    assert (stats.papers, stats.listings) == (9877, 9881)


def test_lone_surrogate_is_replaced_not_a_crash(tmp_path: Path, db_url: str) -> None:
    """A JSON "\\ud800" escape decodes to a lone surrogate, which cannot be stored as UTF-8."""
    path = tmp_path / "bad.jsonl"
    path.write_text('{"arxiv_id": "2401.00001", "title": "Bad \\ud800 title", "abstract": "x", "authors": ["A \\udfff B"]}\n', encoding="utf-8")
    hub = hub_at(db_url)
    try:
        report = hub.ingest_paths([path])
        assert report.added == 1 and not report.rejected
        stored = hub.get_paper("2401.00001")
        assert stored.title == "Bad \ufffd title" and stored.authors == ("A \ufffd B",)
    finally:
        hub.close()


def test_nul_is_replaced_the_same_on_both_backends(tmp_path: Path, db_url: str) -> None:
    """JSON "\u0000" decodes to U+0000, which PostgreSQL's text cannot hold; SQLite stores the same."""
    path = tmp_path / "nul.jsonl"
    path.write_text('{"arxiv_id": "2401.00001", "title": "Nul \\u0000 title", "abstract": "x\\u0000y", "authors": ["A\\u0000B"]}\n', encoding="utf-8")
    hub = hub_at(db_url, embedder="none")
    try:
        assert hub.ingest_paths([path]).added == 1
        assert hub.ingest_paths([path]).unchanged == 1  # stored as read: nothing to update
        stored = hub.get_paper("2401.00001")
        assert (stored.title, stored.abstract, stored.authors) == ("Nul \ufffd title", "x\ufffdy", ("A\ufffdB",))
        user = hub.create_user("ada", "a long password")
        assert hub.add_comment(user, "2401.00001", "typed\x00in").body in ("typed\x00in", "typed\ufffdin")  # no 500
        assert hub.search("typed\x00in", mode="lexical").hits == ()
    finally:
        hub.close()
