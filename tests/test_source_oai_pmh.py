"""The OAI-PMH parser, against real arXiv ListRecords/GetRecord pages in both metadata formats."""

from __future__ import annotations

import gzip
from datetime import date
from pathlib import Path

import pytest

from broadsheet.exceptions import SourceError
from broadsheet.sources.oai_pmh import parse_oai_pmh, resumption_token
from broadsheet.types import PaperData, Rejected, SourceItem

PAGES = [f"arxiv_format_2018_pages/ListRecords_arXiv_page{n:02d}.xml.gz" for n in range(15)]

# Records per file, counted from its <record> elements. No fixture has a deleted record.
FIXTURE_RECORDS = {
    "arxiv_format_2018/ListRecords_arXiv_page00.xml": 1000,
    "arxiv_format_2018/ListRecords_arXiv_page01.xml": 1000,
    **dict.fromkeys(PAGES, 1000),
    "arxiv_format_hepcrawl/functional_arxiv-physics-hep-ex.xml": 3,
    "arxiv_format_hepcrawl/functional_arxiv-physics-hep-th.xml": 3,
    "arxiv_format_hepcrawl/functional_arxiv-single.xml": 1,
    "arxiv_format_hepcrawl/unit_sample_arxiv_record.xml": 12,  # a GetRecord with 12 records
    **{f"arxiv_format_hepcrawl/unit_sample_arxiv_record{n}.xml": 1 for n in range(11)},
    "oai_dc_2023/GetRecord_data.xml": 1,
    "oai_dc_2023/ListRecords_data_0.xml": 1000,
    "oai_dc_2023/ListRecords_data_1.xml": 1000,
    "oai_dc_2024_trimmed/test_arxiv_data.xml": 5,
}

OAI_HEAD = b'<?xml version="1.0"?><OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">'


def oai(body: bytes) -> bytes:
    """A hand-written OAI-PMH response around ``body``, for cases no recording has."""
    return OAI_HEAD + body + b"</OAI-PMH>"


def arxiv_record(fields: bytes, status: bytes = b"") -> bytes:
    """A ListRecords record in arXiv format with the given metadata fields."""
    return (
        b"<record><header" + status + b"><identifier>oai:arXiv.org:x</identifier></header>"
        b'<metadata><arXiv xmlns="http://arxiv.org/OAI/arXiv/">' + fields + b"</arXiv></metadata>"
        b"</record>"
    )


@pytest.fixture(scope="module")
def oai_dir(fixtures_dir: Path) -> Path:
    return fixtures_dir / "oai-pmh"


@pytest.fixture(scope="module")
def page00(oai_dir: Path) -> dict[str, PaperData]:
    return papers_by_id(oai_dir / "arxiv_format_2018/ListRecords_arXiv_page00.xml")


@pytest.fixture(scope="module")
def dc_page0(oai_dir: Path) -> dict[str, PaperData]:
    return papers_by_id(oai_dir / "oai_dc_2023/ListRecords_data_0.xml")


def read(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.suffix == ".gz" else data


def parse(path: Path) -> list[SourceItem]:
    return list(parse_oai_pmh(read(path), path.name))


def papers_by_id(path: Path) -> dict[str, PaperData]:
    items = parse(path)
    assert all(isinstance(i, PaperData) for i in items)
    return {i.arxiv_id: i for i in items if isinstance(i, PaperData)}


def test_fixture_list_is_complete(oai_dir: Path) -> None:
    files = {str(p.relative_to(oai_dir)) for p in oai_dir.rglob("*.xml*")}
    assert sorted(f for f in files if not f.startswith("schemas/")) == sorted(FIXTURE_RECORDS)


@pytest.mark.parametrize("relative", sorted(FIXTURE_RECORDS))
def test_every_recorded_page_parses_to_one_paper_per_record(oai_dir: Path, relative: str) -> None:
    path = oai_dir / relative
    items = parse(path)
    assert [type(i) for i in items] == [PaperData] * FIXTURE_RECORDS[relative]
    papers = [i for i in items if isinstance(i, PaperData)]
    assert [p.source_ref for p in papers] == [f"{path.name}:{n}" for n in range(1, len(items) + 1)]
    assert all(p.source == "oai-pmh" and p.title and p.abstract and p.authors for p in papers)
    assert all(p.categories and p.primary_category == p.categories[0] for p in papers)
    assert all(p.published is not None and p.version is None for p in papers)


def test_a_record_in_arxiv_format(page00: dict[str, PaperData]) -> None:
    paper = page00["0704.0001"]
    assert paper.title == (
        "Calculation of prompt diphoton production cross sections at Tevatron and LHC energies"
    )
    assert paper.abstract.startswith("A fully differential calculation in perturbative quantum")
    assert paper.authors == ("C. Balázs", "E. L. Berger", "P. M. Nadolsky", "C. -P. Yuan")
    assert paper.categories == ("hep-ph",)
    assert paper.published == date(2007, 4, 2)
    assert paper.updated == date(2007, 7, 24)
    assert paper.doi == "10.1103/PhysRevD.76.013009"
    assert paper.journal_ref == "Phys.Rev.D76:013009,2007"
    assert paper.comments == "37 pages, 15 figures; published version"
    assert paper.source_ref == "ListRecords_arXiv_page00.xml:1"


def test_arxiv_format_categories_suffixes_and_missing_fields(page00: dict[str, PaperData]) -> None:
    assert page00["0704.0002"].categories == ("math.CO", "cs.CG")
    assert page00["0704.0002"].primary_category == "math.CO"
    assert page00["0704.0002"].authors == ("Ileana Streinu", "Louis Theran")
    assert page00["0704.0009"].authors[5] == "Neal J. Evans II"
    assert page00["0704.0802"].categories == ("cs.IT", "math.IT")
    lusztig = page00["0704.0999"]
    assert lusztig.authors == ("G. Lusztig",)
    assert (lusztig.updated, lusztig.doi, lusztig.journal_ref) == (None, None, None)


def test_consecutive_pages_continue_each_other(
    oai_dir: Path, page00: dict[str, PaperData]
) -> None:
    page01 = papers_by_id(oai_dir / "arxiv_format_2018/ListRecords_arXiv_page01.xml")
    assert (list(page00)[-1], list(page01)[0]) == ("0704.1000", "0704.1001")


@pytest.mark.slow
def test_the_gzipped_pages_are_15000_distinct_papers(oai_dir: Path) -> None:
    ids = {p for page in PAGES for p in papers_by_id(oai_dir / page)}
    assert len(ids) == 15000


@pytest.mark.parametrize(
    ("relative", "token"),
    [
        ("arxiv_format_2018/ListRecords_arXiv_page00.xml", ("2752941|1001", 1405437, 0)),
        ("arxiv_format_2018/ListRecords_arXiv_page01.xml", ("2752941|2001", 1405437, 1000)),
        (PAGES[14], ("2752941|15001", 1405437, 14000)),
        ("oai_dc_2023/ListRecords_data_0.xml", ("6511260|1001", 2265, 0)),
        ("oai_dc_2023/ListRecords_data_1.xml", ("6511260|2001", 2265, 1000)),
        ("oai_dc_2024_trimmed/test_arxiv_data.xml", ("6960524|1001", 1162, 0)),
        ("oai_dc_2023/GetRecord_data.xml", (None, None, None)),
    ],
)
def test_resumption_token(oai_dir: Path, relative: str, token: tuple[object, ...]) -> None:
    assert resumption_token(read(oai_dir / relative)) == token


def test_the_last_page_has_an_empty_token() -> None:
    last = oai(b'<ListRecords><resumptionToken completeListSize="3" cursor="2"/></ListRecords>')
    assert resumption_token(last) == (None, 3, 2)


def test_an_arxiv_element_without_its_namespace_is_read(oai_dir: Path) -> None:
    # This file's <arXiv> has no xmlns, so it sits in the OAI-PMH namespace.
    path = oai_dir / "arxiv_format_hepcrawl/unit_sample_arxiv_record0.xml"
    paper = papers_by_id(path)["1601.03238"]
    assert paper.title == "Irreversible degradation of quantum coherence under relativistic motion"
    assert paper.authors == (
        "Planck Collaboration",  # a keyname without forenames
        "Jieci Wang",
        "Zehua Tian",
        "Jiliang Jing",
        "Heng Fan",
    )
    assert paper.categories == ("quant-ph", "gr-qc", "hep-th", "chao-dyn", "nlin.CD")
    assert paper.published == date(2016, 1, 13)
    assert paper.doi == "10.1103/PhysRevD.93.016005"  # the first of three
    assert paper.journal_ref == "Phys.Rev. D93 (2015) 016005"


def test_debris_of_arxivs_author_splitter_is_dropped(oai_dir: Path) -> None:
    path = oai_dir / "arxiv_format_hepcrawl/unit_sample_arxiv_record4.xml"
    paper = papers_by_id(path)["1603.05976"]
    assert paper.authors[:3] == ("Keck Array", "BICEP2 Collaborations", "P. Ade")  # ":" dropped
    assert len(paper.authors) == 65
    assert paper.categories == ("astro-ph.IM", "astro-ph.CO")


def test_a_get_record_in_oai_dc(oai_dir: Path) -> None:
    (paper,) = parse(oai_dir / "oai_dc_2023/GetRecord_data.xml")
    assert isinstance(paper, PaperData)
    assert paper.arxiv_id == "2107.10460"
    assert paper.title == (
        "Anomalous High-Field Magnetotransport in CaFeAsF due to the Quantum Hall Effect"
    )
    assert paper.abstract.startswith("CaFeAsF is an iron-based superconductor parent compound")
    assert paper.authors == (
        "Taichi Terashima",
        "Hishiro T. Hirose",
        "Naoki Kikugawa",
        "Shinya Uji",
        "David Graf",
        "Takao Morinari",
        "Teng Wang",
        "Gang Mu",
    )
    assert paper.categories == ("cond-mat.supr-con", "cond-mat.mtrl-sci", "cond-mat.str-el")
    assert paper.published == date(2021, 7, 22)
    assert paper.updated == date(2022, 6, 15)
    assert paper.doi == "10.1038/s41535-022-00470-6"
    assert paper.journal_ref == "npj Quantum Materials 7, 62 (2022)"
    assert paper.comments == "18 pages, 1 table, 4 figures"
    assert paper.source_ref == "GetRecord_data.xml:1"


def test_oai_dc_subjects_dates_and_comments(dc_page0: dict[str, PaperData]) -> None:
    kempner = dc_page0["0806.4410"]
    assert kempner.categories == ("math.CA", "math.NT")  # the MSC subject "40-01, 65B10" dropped
    assert (kempner.published, kempner.updated) == (date(2008, 6, 27), date(2023, 3, 4))
    assert kempner.comments is not None
    assert kempner.comments.startswith("29 pages, 2 figures, 10 tables. Several new sections.")
    assert not kempner.abstract.startswith("Comment:")
    norfolk = dc_page0["1308.5395"]
    assert (norfolk.published, norfolk.updated) == (date(2013, 8, 25), None)  # a single date
    assert norfolk.comments is None
    # The journal reference is the dc:identifier that is neither the abs URL nor a DOI.
    venue = "IFLA Newspaper and Genealogy Section Meeting, Singapore, Aug 2013"
    assert norfolk.journal_ref == venue
    routing = dc_page0["2303.00735"]
    assert routing.categories == ("cs.NI", "cs.LG")  # "Computer Science - Machine Learning"
    assert routing.source_ref == "ListRecords_data_0.xml:1000"


def test_oai_dc_creators_become_first_last(dc_page0: dict[str, PaperData]) -> None:
    phenix = dc_page0["2203.09894"]
    assert phenix.authors[:2] == ("N. J. Abdulameer", "U. Acharya")
    assert phenix.authors[81] == "M. Finger Jr."  # from "Finger, Jr., M."
    assert dc_page0["2210.02547"].authors[0] == "MAGIC collaboration"  # no comma: kept as it is


def test_deleted_records_are_skipped_but_counted() -> None:
    deleted = arxiv_record(b"", status=b' status="deleted"')
    kept = arxiv_record(b"<id>2101.00001</id><title>Kept</title><categories>cs.AI</categories>")
    items = list(parse_oai_pmh(oai(b"<ListRecords>" + deleted + kept + b"</ListRecords>"), "p"))
    assert len(items) == 1
    paper = items[0]
    assert isinstance(paper, PaperData)
    assert (paper.arxiv_id, paper.title, paper.source_ref) == ("2101.00001", "Kept", "p:2")
    assert paper.abstract == ""


def test_unreadable_records_are_rejected_with_a_reason() -> None:
    records = [
        arxiv_record(b"<title>No id</title>"),
        arxiv_record(b"<id>2101.00002</id><title> </title>"),
        arxiv_record(b"<id>nonsense</id><title>Bad id</title>"),
        arxiv_record(b"<id>2101.00003</id><title>Bad date</title><created>2021-13-45</created>"),
        b"<record><header><identifier>oai:arXiv.org:y</identifier></header></record>",
        b"<record><header/><metadata><mods xmlns='http://www.loc.gov/mods/v3'/></metadata>"
        b"</record>",
        b"<record><header/><metadata><oai_dc:dc xmlns:oai_dc='http://www.openarchives.org/OAI/2.0/"
        b"oai_dc/' xmlns:dc='http://purl.org/dc/elements/1.1/'><dc:title>T</dc:title>"
        b"<dc:identifier>doi:10.1/x</dc:identifier></oai_dc:dc></metadata></record>",
    ]
    page = oai(b"<ListRecords>" + b"".join(records) + b"</ListRecords>")
    items = list(parse_oai_pmh(page, "p"))
    rejects = [i for i in items if isinstance(i, Rejected)]
    assert [i.source_ref for i in rejects] == [f"p:{n}" for n in range(1, 8)]
    reasons = [i.reason for i in rejects]
    assert reasons[:3] == [
        "record has no <id>",
        "record 2101.00002 has no <title>",
        "unreadable record: not an arXiv id: 'nonsense'",
    ]
    assert reasons[3].startswith("unreadable record: ")  # then Python's own words on the date
    assert reasons[4:] == [
        "record has no metadata",
        "unsupported metadata format '{http://www.loc.gov/mods/v3}mods'",
        "record has no http://arxiv.org/abs/ identifier",
    ]


def test_no_records_match_is_an_empty_page() -> None:
    page = oai(b'<error code="noRecordsMatch">No records match the request</error>')
    assert list(parse_oai_pmh(page, "p")) == []
    assert resumption_token(page) == (None, None, None)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (oai(b'<error code="badResumptionToken">Token 1|2 expired</error>'), "badResumptionToken"),
        (oai(b'<error code="badArgument">Illegal argument</error>'), "badArgument"),
        (b"", "not XML"),
        (b"<html><body>503 Retry-After: 30", "not XML"),
        (b'<feed xmlns="http://www.w3.org/2005/Atom"/>', "not an OAI-PMH response"),
    ],
)
def test_an_error_or_a_document_that_is_not_oai_pmh_raises(data: bytes, message: str) -> None:
    with pytest.raises(SourceError, match=message):
        list(parse_oai_pmh(data, "bad.xml"))
    with pytest.raises(SourceError, match=message):
        resumption_token(data)
