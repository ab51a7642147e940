"""Papers through the Hub on real SQLite and PostgreSQL databases: upsert by id, listings, reads."""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta
from pathlib import Path

import pytest

from broadsheet.exceptions import InvalidArxivIdError, PaperNotFoundError
from broadsheet.types import ListingData, Query, Rejected

from helpers import Clock, hub_at, paper


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def hub(db_url: str, clock: Clock):
    h = hub_at(db_url, clock)
    yield h
    h.close()


def test_add_then_get(hub) -> None:
    report = hub.add_papers([paper("2401.00001", authors=("Zoë Ünal", "Bo Li"), categories=("cs.CL", "cs.AI"))])
    assert (report.added, report.updated, report.unchanged) == (1, 0, 0)
    got = hub.get_paper("2401.00001v3")  # a version suffix names the same paper
    assert got.authors == ("Zoë Ünal", "Bo Li")
    assert got.categories == ("cs.CL", "cs.AI")
    assert got.upvotes == 0 and got.num_comments == 0


def test_get_unknown_and_invalid(hub) -> None:
    with pytest.raises(PaperNotFoundError):
        hub.get_paper("2401.99999")
    with pytest.raises(InvalidArxivIdError):
        hub.get_paper("not an id")


def test_same_input_twice_changes_nothing(hub, clock: Clock) -> None:
    items = [paper(f"2401.{i:05d}") for i in range(1, 51)]
    hub.add_papers(items)
    before = hub.get_paper("2401.00007")
    clock.now += timedelta(hours=1)
    again = hub.add_papers(items)
    assert (again.added, again.updated, again.unchanged) == (0, 0, 50)
    assert hub.get_paper("2401.00007") == before  # last_changed did not move
    assert hub.stats().papers == 50


def test_newer_version_updates_in_place(hub, clock: Clock) -> None:
    hub.add_papers([paper("2401.00001", version=1, title="First", authors=("A B",))])
    clock.now += timedelta(days=1)
    report = hub.add_papers([paper("2401.00001", version=2, title="Second", authors=("A B", "C D"))])
    assert report.updated == 1
    got = hub.get_paper("2401.00001")
    assert (got.version, got.title, got.authors) == (2, "Second", ("A B", "C D"))
    assert got.last_changed == clock.now and got.first_seen < got.last_changed
    assert hub.stats().papers == 1


def test_listings_attach_to_days(hub) -> None:
    day = date(2026, 8, 21)
    hub.add_papers([
        paper("2608.00001"), ListingData("2608.00001", day, submitter="akhaliq", source="t", source_ref="t:1"),
        paper("2608.00002"), ListingData("2608.00002", day - timedelta(days=1), source="t", source_ref="t:2"),
    ])  # fmt: skip
    assert hub.latest_listing_day() == day
    (listing,) = hub.get_listings(day)
    assert listing.paper.arxiv_id == "2608.00001" and listing.submitter == "akhaliq"
    assert len(hub.get_listings(day - timedelta(days=1), day)) == 2
    # listing again is a no-op
    again = hub.add_papers([ListingData("2608.00001", day, submitter="akhaliq")])
    assert again.listings_added == 0 and hub.stats().listings == 2


def test_bad_records_are_reported_and_the_rest_lands(hub) -> None:
    bad = Rejected("file.jsonl:2", "missing title")
    report = hub.add_papers([paper("2401.00001"), bad, paper("2401.00002")])
    assert report.added == 2 and report.rejected == (bad,)


def test_full_text_index_follows_updates(hub) -> None:
    hub.add_papers([paper("2401.00001", version=1, title="Quantum kittens")])
    hub.add_papers([paper("2401.00001", version=2, title="Classical puppies")])
    fulltext = hub._storage.fulltext  # noqa: SLF001 - FTS5 or tsvector, through its own reads
    assert fulltext.search(Query(words=("kittens",)), 10) == []
    assert len(fulltext.search(Query(words=("puppies",)), 10)) == 1
    assert [d.title for d in fulltext.documents()] == ["Classical puppies"]


def test_latex_is_normalised_for_the_index(hub) -> None:
    hub.add_papers([paper("2401.00001", title=r"Poincar\'e duality for $\alpha$-stable processes")])
    fulltext = hub._storage.fulltext  # noqa: SLF001
    assert len(fulltext.search(Query(words=("alpha",), phrases=("poincare",)), 10)) == 1
    assert [d.title for d in fulltext.documents()] == ["Poincaré duality for alpha-stable processes"]
    assert hub.get_paper("2401.00001").title == r"Poincar\'e duality for $\alpha$-stable processes"


def test_sqlite_database_is_in_wal_mode(tmp_path: Path) -> None:
    """SQLite only: WAL is how its readers and one writer share the file."""
    hub_at(f"sqlite:///{tmp_path / 'w.sqlite3'}").close()
    con = sqlite3.connect(tmp_path / "w.sqlite3")
    try:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        con.close()
