"""The Hugging Face Daily Papers parser, against real recorded responses of every schema era."""

from __future__ import annotations

import json
import tarfile
from datetime import date
from pathlib import Path

import pytest

from broadsheet.exceptions import SourceError
from broadsheet.sources.hf_daily import day_from_name, parse_hf_daily
from broadsheet.types import ListingData, Notice, PaperData, Rejected, SourceItem

ARCHIVE = "hf-daily-papers-2024-05_2026-08.tar.gz"
REPR_FILE = "malformed_python_repr_2024-12-11.json"

# Items per fixture file, counted by hand from the raw arrays.
FIXTURE_ITEMS = {
    "daily_papers_2024-05-27.json": 13,
    "daily_papers_2024-08-02.json": 16,
    "daily_papers_2025-03-17.json": 12,
    "daily_papers_2025-12-12.json": 16,
    "daily_papers_2026-08-21.json": 17,
    REPR_FILE: 26,
}


@pytest.fixture(scope="module")
def hf_dir(fixtures_dir: Path) -> Path:
    return fixtures_dir / "hf-daily-papers"


def parse_file(path: Path, day: date | None = None) -> list[SourceItem]:
    return list(parse_hf_daily(path.read_bytes(), path.name, day))


def pairs(items: list[SourceItem]) -> list[tuple[PaperData, ListingData]]:
    """The (paper, listing) pairs of a parse that has no rejects, checking their order."""
    assert not [i for i in items if isinstance(i, Rejected)]
    items = [i for i in items if not isinstance(i, Notice)]  # notices say what was malformed
    papers, listings = items[0::2], items[1::2]
    assert all(isinstance(p, PaperData) for p in papers)
    assert all(isinstance(x, ListingData) for x in listings)
    return list(zip(papers, listings, strict=True))  # type: ignore[arg-type]


def at(items: list[SourceItem], position: int) -> tuple[PaperData, ListingData]:
    """The paper and listing of the item at 1-based ``position`` in the document."""
    paper, listing = (i for i in items if i.source_ref.endswith(f":{position}"))
    assert isinstance(paper, PaperData) and isinstance(listing, ListingData)
    return paper, listing


def test_fixture_list_is_complete(hf_dir: Path) -> None:
    assert sorted(p.name for p in hf_dir.glob("*.json")) == sorted(FIXTURE_ITEMS)


@pytest.mark.parametrize("file_name", sorted(FIXTURE_ITEMS))
def test_every_fixture_parses_to_one_paper_and_listing_per_item(hf_dir: Path, file_name: str) -> None:
    path = hf_dir / file_name
    day = day_from_name(file_name)
    result = pairs(parse_file(path, day))
    assert len(result) == FIXTURE_ITEMS[file_name] == len(json.loads(path.read_bytes()))
    for position, (paper, listing) in enumerate(result, start=1):
        assert paper.source == listing.source == "hf-daily"
        assert paper.source_ref == listing.source_ref == f"{file_name}:{position}"
        assert listing.arxiv_id == paper.arxiv_id
        assert listing.listed_on == day
        assert paper.title and paper.abstract and paper.authors
        assert "\n" not in paper.title + paper.abstract
        assert isinstance(paper.external_upvotes, int)


def test_first_era_2024_05(hf_dir: Path) -> None:
    paper, listing = at(parse_file(hf_dir / "daily_papers_2024-05-27.json"), 1)
    assert paper.arxiv_id == "2405.15738" and paper.version is None
    # arXiv's title, with its line break collapsed
    assert paper.title == "ConvLLaVA: Hierarchical Backbones as Visual Encoder for Large Multimodal Models"
    assert paper.abstract.startswith("High-resolution Large Multimodal Models (LMMs) encounter the")
    assert paper.authors[:3] == ("Chunjiang Ge", "Sijie Cheng", "Ziming Wang")
    assert len(paper.authors) == 9
    assert paper.published == date(2024, 5, 24)
    assert paper.external_upvotes == 32
    assert paper.github_repo is None and paper.project_page is None
    # No submitter in this era; without a day argument the item's publishedAt dates the listing.
    assert listing.submitter is None
    assert listing.listed_on == date(2024, 5, 27)


def test_submitter_is_the_user_name_not_the_display_name(hf_dir: Path) -> None:
    items = parse_file(hf_dir / "daily_papers_2024-08-02.json")
    paper, listing = at(items, 1)
    assert paper.arxiv_id == "2408.00714"
    assert paper.title == "SAM 2: Segment Anything in Images and Videos"
    assert paper.external_upvotes == 35
    assert listing.submitter == "akhaliq"  # fullname is "AK"
    assert at(items, 3)[1].submitter == "osanseviero"


def test_2025_03_era_has_links_and_submitted_on_daily_at(hf_dir: Path) -> None:
    items = parse_file(hf_dir / "daily_papers_2025-03-17.json")
    paper, listing = at(items, 1)
    assert paper.arxiv_id == "2503.07677"
    assert paper.title == (
        "PLADIS: Pushing the Limits of Attention in Diffusion Models at Inference Time by Leveraging Sparsity"
    )
    assert paper.authors == ("Kwanyoung Kim", "Byeongsu Sim")
    assert paper.published == date(2025, 3, 10)
    assert paper.external_upvotes == 46
    assert listing.submitter == "kwanyoung"
    # item.publishedAt is 2025-03-10 here; submittedOnDailyAt gives the right day
    assert listing.listed_on == date(2025, 3, 17)

    linked, linked_listing = at(items, 8)
    assert linked.arxiv_id == "2503.10772"
    assert linked.github_repo == "https://github.com/bytedance/1d-tokenizer/"
    assert linked.project_page == "https://tacju.github.io/projects/flowtok.html"
    assert linked_listing.submitter == "turkeyju"


def test_2025_12_era(hf_dir: Path) -> None:
    paper, listing = at(parse_file(hf_dir / "daily_papers_2025-12-12.json"), 1)
    assert paper.arxiv_id == "2512.10949"
    assert paper.title == "Are We Ready for RL in Text-to-3D Generation? A Progressive Investigation"
    assert paper.authors[:3] == ("Yiwen Tang", "Zoey Guo", "Kaixin Zhu")
    assert paper.github_repo == "https://github.com/Ivan-Tang-3D/3DGen-R1"
    assert paper.project_page is None
    assert paper.external_upvotes == 30
    assert listing.submitter == "IvanTang"
    assert listing.listed_on == date(2025, 12, 12)


def test_latest_era_2026_08(hf_dir: Path) -> None:
    paper, listing = at(parse_file(hf_dir / "daily_papers_2026-08-21.json"), 1)
    assert paper.arxiv_id == "2608.19880"
    assert paper.title == "EnvHarness: Awakening Static Worlds for Agent Learning"
    assert len(paper.authors) == 17
    assert paper.authors[0] == "Chengsong Huang" and paper.authors[-1] == "Chen-Yu Lee"
    assert paper.published == date(2026, 8, 20)
    assert paper.github_repo == "https://github.com/google-research/envharness"
    assert paper.project_page == "https://envharness.com/"
    assert paper.external_upvotes == 163
    assert listing.submitter == "taesiri"
    assert listing.listed_on == date(2026, 8, 21)


def test_repr_strings_are_decoded_with_literal_eval(hf_dir: Path) -> None:
    path = hf_dir / REPR_FILE
    raw = json.loads(path.read_bytes())
    assert all(isinstance(item, str) for item in raw)  # the malformation this file is kept for
    result = pairs(parse_file(path))
    assert len(result) == len(raw) == 26
    paper, listing = result[0]
    assert paper.arxiv_id == "2412.07730"
    assert paper.title == "STIV: Scalable Text and Image Conditioned Video Generation"
    assert paper.authors[:3] == ("Zongyu Lin", "Wei Liu", "Chen Chen")
    assert paper.external_upvotes == 54
    assert listing.submitter == "yyf86"


def test_day_argument_beats_the_items_own_dates(hf_dir: Path) -> None:
    """Item 5 was posted at 23:59 UTC the evening before the page's day."""
    path = hf_dir / REPR_FILE
    assert at(parse_file(path), 5)[1].listed_on == date(2024, 12, 10)
    assert at(parse_file(path, date(2024, 12, 11)), 5)[1].listed_on == date(2024, 12, 11)


def test_wrapped_object_document(hf_dir: Path) -> None:
    items = json.loads((hf_dir / "daily_papers_2025-12-12.json").read_bytes())
    wrapper = {"status": "success", "date": "2025-12-12", "count": len(items), "data": items}
    wrapped = json.dumps(wrapper)
    bare = parse_file(hf_dir / "daily_papers_2025-12-12.json")
    notice, *rest = parse_hf_daily(wrapped.encode(), "daily_papers_2025-12-12.json")
    assert rest == bare
    assert isinstance(notice, Notice) and "wrapping" in notice.message


def test_broken_items_are_rejected_and_the_rest_land(hf_dir: Path) -> None:
    items: list[object] = json.loads((hf_dir / "daily_papers_2024-08-02.json").read_bytes())
    bad_id = json.loads(json.dumps(items[0]))
    bad_id["paper"]["id"] = "not-an-id.123"
    no_title = json.loads(json.dumps(items[1]))
    no_title["paper"]["title"] = no_title["title"] = "  \n "
    truncated_repr = "{'paper': {'id': '2408.00001'"
    code_not_literal = "__import__('os').getcwd()"
    doc = [items[0], bad_id, no_title, truncated_repr, code_not_literal, 42, *items[1:]]

    result = list(parse_hf_daily(json.dumps(doc).encode(), "day.json", date(2024, 8, 2)))

    rejected = {r.source_ref: r.reason for r in result if isinstance(r, Rejected)}
    assert list(rejected) == ["day.json:2", "day.json:3", "day.json:4", "day.json:5", "day.json:6"]
    assert "not-an-id.123" in rejected["day.json:2"]
    assert rejected["day.json:3"].startswith("missing title")
    assert rejected["day.json:4"].startswith("repr string does not literal_eval")
    assert rejected["day.json:5"].startswith("repr string does not literal_eval")  # never evaluated
    assert rejected["day.json:6"] == "item is not an object but int"
    papers = [p for p in result if isinstance(p, PaperData)]
    assert len(papers) == len(items)
    assert papers[0].source_ref == "day.json:1" and papers[1].source_ref == "day.json:7"


def test_submitter_falls_back_to_the_papers_copy(hf_dir: Path) -> None:
    items = json.loads((hf_dir / "daily_papers_2026-08-21.json").read_bytes())
    del items[0]["submittedBy"]
    _, listing = pairs(list(parse_hf_daily(json.dumps(items[:1]).encode(), "x.json")))[0]
    assert listing.submitter == "taesiri"


@pytest.mark.parametrize(
    "data", [b"<html>Too many requests</html>", b"\xff\xfe", b"", b"42", b'"text"', b'{"error": "x"}']
)
def test_unreadable_document_raises_source_error(data: bytes) -> None:
    with pytest.raises(SourceError):
        list(parse_hf_daily(data, "bad.json"))


def test_empty_day_yields_nothing() -> None:
    assert list(parse_hf_daily(b"[]", "2024-05-25.json")) == []


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("hf_daily_papers/2024-05-27.json", date(2024, 5, 27)),
        ("daily_papers_2025-03-17.json", date(2025, 3, 17)),
        ("malformed_python_repr_2024-12-11.json", date(2024, 12, 11)),
        ("dumps/2024-01-01/2025-01-10.json", date(2025, 1, 10)),
        ("daily_papers.json", None),
        ("2024-13-01.json", None),
    ],
)
def test_day_from_name(name: str, expected: date | None) -> None:
    assert day_from_name(name) == expected


@pytest.mark.slow
def test_whole_archive(shared_data: Path) -> None:
    """580 days, 9,881 rows, 9,877 distinct papers (4 were listed twice, six days apart).

    The data README's 9,577 papers counts only the plain-JSON files: the 300 rows of the 22
    ``repr()`` files bring 300 more papers.
    """
    counts = {"papers": 0, "listings": 0, "rejected": 0, "notices": 0, "days": 0}
    ids: set[str] = set()
    with tarfile.open(shared_data / ARCHIVE) as archive:
        for member in archive:
            if not member.isfile():
                continue
            counts["days"] += 1
            day = day_from_name(member.name)
            data = archive.extractfile(member).read()  # type: ignore[union-attr]
            for item in parse_hf_daily(data, f"{ARCHIVE}/{member.name}", day):
                if isinstance(item, PaperData):
                    counts["papers"] += 1
                    ids.add(item.arxiv_id)
                elif isinstance(item, ListingData):
                    counts["listings"] += 1
                    assert item.listed_on == day
                elif isinstance(item, Notice):
                    counts["notices"] += 1
                else:
                    counts["rejected"] += 1
    # 22 repr() days, one of which (2025-01-10) is also wrapped in an object: 23 notices
    assert counts == {"papers": 9881, "listings": 9881, "rejected": 0, "notices": 23, "days": 580}
    assert len(ids) == 9877
