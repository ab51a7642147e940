"""The arXiv export API (Atom) parser, against real recorded responses of 2016, 2025 and 2026."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from broadsheet.exceptions import SourceError
from broadsheet.sources.arxiv_atom import feed_totals, parse_atom
from broadsheet.types import PaperData, Rejected, SourceItem

# (papers, rejects) per recorded response, counted from the <entry> elements of each file.
FIXTURE_ENTRIES = {
    "arxivpy_2016/id_list=1111.2011v2.xml": (1, 0),
    "arxivpy_2016/search_query=au_del_maestro+AND+ti__quantum+criticality_.xml": (2, 0),
    "arxivpy_2016/search_query=au_del_maestro+AND+ti_checkerboard.xml": (1, 0),
    "arxivpy_2016/search_query=au_del_maestro+ANDNOT+_28ti_checkerboard+OR+ti_Pyrochlore_29.xml": (
        10,
        0,
    ),
    "arxivpy_2016/search_query=au_del_maestro.xml": (10, 0),
    "arxivpy_2026/id_0000.0000_s0_m100_8b51d9633a68.xml": (0, 0),
    "arxivpy_2026/id_0808.05394_1707.08567_s0_m100_42e5aa0ec3af.xml": (1, 0),
    "arxivpy_2026/id_0808.05394_s0_m100_7b0c7d0a7cdd.xml": (0, 0),
    "arxivpy_2026/id_1605.08386_s0_m100_199195aa31ad.xml": (1, 0),
    "arxivpy_2026/id_1707.08567_s0_m100_6a1afebfc6a3.xml": (1, 0),
    "arxivpy_2026/id_2104.12255v1_s0_m100_6ae69987ffe1.xml": (1, 0),
    "arxivpy_2026/id_abc_s0_m100_b79c8dcf6bc3.xml": (0, 1),
    "arxivpy_2026/id_astro-ph_0601001_s0_m100_3150dca9dc76.xml": (1, 0),
    "arxivpy_2026/id_quant-ph_0201082v1_s0_m100_86989fe779ef.xml": (1, 0),
    "arxivpy_2026/q_testing_s0_m100_cfe7536492ca.xml": (100, 0),
    "arxivpy_2026/q_testing_s0_m10_bc5a6c384fe9.xml": (10, 0),
    "arxivpy_2026/q_testing_s0_m15_80c242b59d59.xml": (15, 0),
    "arxivpy_2026/q_testing_s10_m10_34e56e15aaac.xml": (10, 0),
    "arxivpy_2026/q_testing_s20_m10_348a237fecab.xml": (10, 0),
    "arxivpy_2026/q_testing_s30_m10_f2e39f0143dc.xml": (10, 0),
    "arxivpy_2026/q_testing_s40_m10_96dd32eb854c.xml": (10, 0),
    "arxivpy_2026/q_testing_s50_m10_7f488ab8598c.xml": (10, 0),
    "arxivpy_2026/q_testing_s5_m10_c0e94a259d4a.xml": (10, 0),
    "arxivpy_2026/q_testing_s5_m15_bbcf6b23085b.xml": (15, 0),
    "arxivpy_2026/q_testing_s9_m15_0b78d4b4d476.xml": (15, 0),
    "rsxiv_2025/query.xml": (10, 0),
    "rsxiv_2025/query_empty.xml": (0, 0),
    "rsxiv_2025/query_missing_id.xml": (1, 0),
}

# A hand-written feed for the cases no recording has: entries without id or title, a bad id,
# a bad date, an MSC class among the categories.
SYNTHETIC_FEED = b"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:arxiv="http://arxiv.org/schemas/atom">
  <entry><title>No id here</title><summary>s</summary></entry>
  <entry><id>http://arxiv.org/abs/2101.00001v3</id><title>  </title></entry>
  <entry><id>http://arxiv.org/abs/not-an-id</id><title>Bad id</title></entry>
  <entry><id>http://arxiv.org/abs/2101.00002v1</id><title>Bad date</title>
    <published>yesterday</published></entry>
  <entry><id>https://arxiv.org/abs/2101.00003v2</id><title>Fine</title>
    <category term="math.CO"/><category term="68T05"/><category term="math.CO"/>
    <arxiv:doi>10.1000/a 10.1000/b</arxiv:doi></entry>
</feed>
"""


@pytest.fixture(scope="module")
def api_dir(fixtures_dir: Path) -> Path:
    return fixtures_dir / "arxiv-api"


def parse(path: Path) -> list[SourceItem]:
    return list(parse_atom(path.read_bytes(), path.name))


def recorded_body(json_path: Path) -> bytes:
    """The response bytes of an arxiv.py recording, whose ``body`` holds them as latin-1 text."""
    return json.loads(json_path.read_text(encoding="utf-8"))["body"].encode("latin-1")


def only_paper(items: list[SourceItem]) -> PaperData:
    (paper,) = items
    assert isinstance(paper, PaperData)
    return paper


def test_fixture_list_is_complete(api_dir: Path) -> None:
    assert sorted(str(p.relative_to(api_dir)) for p in api_dir.rglob("*.xml")) == sorted(
        FIXTURE_ENTRIES
    )


@pytest.mark.parametrize("relative", sorted(FIXTURE_ENTRIES))
def test_every_recorded_response_parses(api_dir: Path, relative: str) -> None:
    path = api_dir / relative
    items = parse(path)
    papers = [i for i in items if isinstance(i, PaperData)]
    rejects = [i for i in items if isinstance(i, Rejected)]
    assert (len(papers), len(rejects)) == FIXTURE_ENTRIES[relative]
    assert [i.source_ref for i in items] == [f"{path.name}:{n}" for n in range(1, len(items) + 1)]
    assert all(p.source == "arxiv-api" and p.title and p.authors for p in papers)
    assert all(p.primary_category == p.categories[0] for p in papers)


def test_every_arxivpy_recording_body_parses_like_its_xml_copy(api_dir: Path) -> None:
    recordings = sorted((api_dir / "arxivpy_2026").glob("*.json"))
    assert len(recordings) == 20
    for recording in recordings:
        from_json = list(parse_atom(recorded_body(recording), recording.name))
        from_xml = parse(recording.with_suffix(".xml"))
        assert [type(i) for i in from_json] == [type(i) for i in from_xml]
        assert [getattr(i, "arxiv_id", None) for i in from_json] == [
            getattr(i, "arxiv_id", None) for i in from_xml
        ]


def test_a_versioned_id_with_a_one_character_title(api_dir: Path) -> None:
    paper = only_paper(parse(api_dir / "arxivpy_2026/id_2104.12255v1_s0_m100_6ae69987ffe1.xml"))
    assert paper.arxiv_id == "2104.12255"
    assert paper.version == 1
    assert paper.title == "0"
    assert paper.abstract.startswith("What is the funniest number in cryptography? 0. The reason")
    assert paper.authors == ("Quan Thoi Minh Nguyen",)
    assert paper.categories == ("cs.CR",)
    assert paper.primary_category == "cs.CR"
    assert paper.published == paper.updated == date(2021, 4, 20)
    assert (paper.doi, paper.journal_ref, paper.comments) == (None, None, None)
    assert paper.source_ref == "id_2104.12255v1_s0_m100_6ae69987ffe1.xml:1"


def test_the_2016_layout(api_dir: Path) -> None:
    paper = only_paper(parse(api_dir / "arxivpy_2016/id_list=1111.2011v2.xml"))
    assert paper.arxiv_id == "1111.2011"
    assert paper.version == 2
    assert paper.title == (
        "Quantum Criticality for Extended Nodes on a Bethe Lattice in the Large Connectivity Limit"
    )
    assert paper.abstract.startswith("Theoretical description of anisotropic systems, such as")
    assert paper.abstract.endswith("the theory describing a single node.")
    assert "\n" not in paper.abstract
    assert paper.authors == ("James M. Murray", "Adrian Del Maestro", "Zlatko Tesanovic")
    assert paper.categories == ("cond-mat.str-el", "cond-mat.stat-mech")
    assert paper.published == date(2011, 11, 8)
    assert paper.updated == date(2012, 4, 2)
    assert paper.doi == "10.1103/PhysRevB.85.115117"
    assert paper.journal_ref == "Phys. Rev. B 85, 115117 (2012)"
    assert paper.comments == "8 pages, 3 figures. Published version"


def test_old_style_ids(api_dir: Path) -> None:
    quant = only_paper(
        parse(api_dir / "arxivpy_2026/id_quant-ph_0201082v1_s0_m100_86989fe779ef.xml")
    )
    assert (quant.arxiv_id, quant.version) == ("quant-ph/0201082", 1)
    assert quant.categories == ("quant-ph", "cs.PL")
    astro = only_paper(parse(api_dir / "arxivpy_2026/id_astro-ph_0601001_s0_m100_3150dca9dc76.xml"))
    assert astro.arxiv_id == "astro-ph/0601001"
    assert astro.categories == ("astro-ph",)
    assert astro.authors == ("Andrew Gould", "Susan Dorsher", "B. Scott Gaudi", "Andrzej Udalski")
    assert astro.journal_ref == "ActaAstron.56:1-50,2006"
    assert astro.comments is not None and astro.comments.startswith("62 pages including 16 figures")


def test_primary_category_comes_first(api_dir: Path) -> None:
    paper = only_paper(parse(api_dir / "arxivpy_2026/id_1605.08386_s0_m100_199195aa31ad.xml"))
    assert paper.categories == ("math.CO", "math.ST")
    assert paper.primary_category == "math.CO"
    assert paper.comments == "20 pages, 3 figures"


def test_the_error_feed_is_one_reject_and_no_paper(api_dir: Path) -> None:
    items = parse(api_dir / "arxivpy_2026/id_abc_s0_m100_b79c8dcf6bc3.xml")
    ref = "id_abc_s0_m100_b79c8dcf6bc3.xml:1"
    assert items == [Rejected(ref, "arXiv API error: incorrect id format for abc")]


def test_a_request_for_four_ids_that_finds_one(api_dir: Path) -> None:
    paper = only_paper(parse(api_dir / "rsxiv_2025/query_missing_id.xml"))
    assert paper.arxiv_id == "2201.13452"
    assert paper.authors == ("Hong-Ming Yin", "Jun Zou")
    assert paper.categories == ("math.AP",)
    assert paper.published == date(2022, 1, 31)
    assert paper.updated == date(2022, 2, 1)
    assert paper.comments == "34 pages"


@pytest.mark.parametrize(
    "relative",
    [
        "arxivpy_2026/id_0000.0000_s0_m100_8b51d9633a68.xml",
        "arxivpy_2026/id_0808.05394_s0_m100_7b0c7d0a7cdd.xml",
        "rsxiv_2025/query_empty.xml",
    ],
)
def test_empty_results_yield_nothing(api_dir: Path, relative: str) -> None:
    assert parse(api_dir / relative) == []
    assert feed_totals((api_dir / relative).read_bytes())[0] == 0


@pytest.mark.parametrize(
    ("relative", "totals"),
    [
        ("arxivpy_2026/q_testing_s10_m10_34e56e15aaac.xml", (214881, 10, 10)),
        ("arxivpy_2026/q_testing_s9_m15_0b78d4b4d476.xml", (214881, 9, 15)),
        ("rsxiv_2025/query.xml", (7432, 0, 10)),
        ("arxivpy_2016/search_query=au_del_maestro.xml", (31, 0, 10)),  # xmlns on each element
    ],
)
def test_feed_totals(api_dir: Path, relative: str, totals: tuple[int, int, int]) -> None:
    assert feed_totals((api_dir / relative).read_bytes()) == totals


def test_feed_totals_are_none_when_absent() -> None:
    assert feed_totals(b'<feed xmlns="http://www.w3.org/2005/Atom"/>') == (None, None, None)


def test_utf8_names_in_the_recorded_body(api_dir: Path) -> None:
    recording = api_dir / "arxivpy_2026/id_1707.08567_s0_m100_6a1afebfc6a3.json"
    paper = only_paper(list(parse_atom(recorded_body(recording), recording.name)))
    assert paper.arxiv_id == "1707.08567"
    assert len(paper.authors) == 34
    assert paper.authors[0] == "Kees A. Schouhamer Immink"
    assert paper.authors[-2:] == ("Dirk Wübben", "Hirosuke Yamamoto")
    # The .xml copy was written from the latin-1 text, so it holds mojibake; the parser reads
    # what it is given and guesses nothing.
    xml_copy = only_paper(parse(recording.with_suffix(".xml")))
    assert xml_copy.authors[-2] == "Dirk WÃ¼bben"


def test_entries_that_cannot_be_papers_are_rejected_with_a_reason() -> None:
    items = list(parse_atom(SYNTHETIC_FEED, "synthetic.xml"))
    assert [type(i) for i in items] == [Rejected, Rejected, Rejected, Rejected, PaperData]
    reasons = [i.reason for i in items if isinstance(i, Rejected)]
    assert reasons[0] == "entry has no <id>"
    assert reasons[1] == "entry http://arxiv.org/abs/2101.00001v3 has no <title>"
    assert "not an arXiv id" in reasons[2]
    assert reasons[3].startswith("entry http://arxiv.org/abs/2101.00002v1: ")
    paper = items[4]
    assert isinstance(paper, PaperData)
    assert (paper.arxiv_id, paper.version, paper.source_ref) == ("2101.00003", 2, "synthetic.xml:5")
    assert paper.categories == ("math.CO",)
    assert paper.doi == "10.1000/a"
    assert paper.abstract == ""


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not XML"),
        (b"<html><body>503 Service Unavailable", "not XML"),
        (b'{"error": "rate limited"}', "not XML"),
        (b"<html><body>Retry later</body></html>", "not an Atom feed"),
        (b'<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"/>', "not an Atom feed"),
    ],
)
def test_a_document_that_is_not_an_atom_feed_raises(data: bytes, message: str) -> None:
    with pytest.raises(SourceError, match=message):
        list(parse_atom(data, "bad.xml"))
    with pytest.raises(SourceError, match=message):
        feed_totals(data)
