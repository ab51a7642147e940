"""The pure part of ingest: merge and plan_batch decide what a batch changes."""

from __future__ import annotations

from datetime import date

from broadsheet.ingest import batches, merge, plan_batch
from broadsheet.types import ListingData, Rejected

from helpers import paper


def test_new_paper_is_taken_whole() -> None:
    p = paper()
    assert merge(None, p) is p


def test_same_record_changes_nothing() -> None:
    p = paper()
    assert merge(p, paper(source="other", source_ref="other:1")) is None


def test_newer_version_updates_fields_and_provenance() -> None:
    old = paper(version=1, title="Old title")
    new = paper(version=2, title="New title", source="arxiv-api", source_ref="feed.xml:3")
    merged = merge(old, new)
    assert merged is not None
    assert (merged.version, merged.title, merged.source_ref) == (2, "New title", "feed.xml:3")


def test_older_version_only_fills_gaps() -> None:
    stored = paper(version=3, title="v3 title", github_repo=None)
    stale = paper(version=1, title="v1 title", github_repo="https://github.com/x/y")
    merged = merge(stored, stale)
    assert merged is not None
    assert (merged.version, merged.title, merged.github_repo) == (3, "v3 title", "https://github.com/x/y")


def test_missing_fields_never_erase() -> None:
    stored = paper(doi="10.1/abc", categories=("cs.CL",), primary_category="cs.CL")
    sparse = paper(doi=None, categories=(), primary_category=None, title=stored.title)
    assert merge(stored, sparse) is None


def test_upvotes_follow_the_newest_report() -> None:
    stored = paper(external_upvotes=3)
    merged = merge(stored, paper(external_upvotes=10))
    assert merged is not None and merged.external_upvotes == 10


def test_plan_sorts_new_changed_unchanged() -> None:
    stored = {"2401.00001": paper("2401.00001"), "2401.00002": paper("2401.00002")}
    items = [paper("2401.00001"), paper("2401.00002", title="Changed"), paper("2401.00003")]
    plan = plan_batch(stored, items)
    assert [p.arxiv_id for p in plan.new] == ["2401.00003"]
    assert [p.title for p in plan.changed] == ["Changed"]
    assert plan.unchanged == 1


def test_duplicates_in_one_batch_merge_in_order() -> None:
    items = [paper(version=1, title="one"), paper(version=2, title="two"), paper(version=1, title="stale")]
    plan = plan_batch({}, items)
    assert len(plan.new) == 1 and plan.new[0].title == "two" and plan.new[0].version == 2


def test_listing_needs_a_known_paper() -> None:
    known = ListingData("2401.00001", date(2026, 1, 2), source_ref="a:1")
    unknown = ListingData("2401.09999", date(2026, 1, 2), source_ref="a:2")
    plan = plan_batch({}, [paper("2401.00001"), known, unknown])
    assert plan.listings == (known,)
    assert plan.rejected == (Rejected("a:2", "listing names unknown paper 2401.09999"),)


def test_rejects_pass_through() -> None:
    bad = Rejected("f.jsonl:7", "missing title")
    assert plan_batch({}, [bad]).rejected == (bad,)


def test_batches_keep_listings_with_their_paper() -> None:
    items = [paper("2401.00001"), ListingData("2401.00001", date(2026, 1, 1)), paper("2401.00002")]
    cut = list(batches(items, 1))
    assert [len(b) for b in cut] == [2, 1]
