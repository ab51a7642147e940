"""A member's library through the Hub, on both backends: save into the default collection (made on
first save) or a named one, remove, rename, make public, delete; who may see what; ``saved`` for a
page of cards; imports of the real Mendeley and Zotero exports, a plain list with junk lines and a
Hugging Face collection JSON; fetching missing papers from the recorded arXiv API; the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import Clock, close_hubs, hub_at, paper
from replay import Fault, Replay
from typer.testing import CliRunner

from broadsheet.exceptions import ConflictError, InvalidInputError, NotFoundError, PaperNotFoundError
from broadsheet.hub import Hub
from broadsheet.personal.bibimport import find_arxiv_id, parse_library
from broadsheet.personal import library
from broadsheet.personal.library import slugify

# Papers of the real exports that the small test hub holds (the rest of their arXiv entries are
# "not in this hub").
ZOTERO_HERE = ["1307.2944", "2209.08940", "1011.1669", "astro-ph/0503077", "1202.3665"]
MENDELEY_HERE = ["cs/0003005", "2303.08774", "1705.05823"]
OTHER = [f"2401.0000{i}" for i in range(1, 6)]


@pytest.fixture
def hub(db_url: str):
    h = hub_at(db_url, Clock(), embedder="none")
    h.add_papers([paper(a, title=f"Paper {a}") for a in OTHER + ZOTERO_HERE + MENDELEY_HERE])
    h.create_user("ada", "correct horse battery")
    h.create_user("bob", "correct horse battery")
    yield h
    close_hubs(db_url)


def test_save_remove_and_collections(hub: Hub) -> None:
    ada, bob = hub.get_user("ada"), hub.get_user("bob")
    assert hub.collections(ada) == []
    version = hub.data_version
    done = hub.save_paper(ada, "2401.00001")
    assert done.saved and done.collection.slug == "saved" and done.collection.name == "Saved"
    assert done.collection.public is False and done.collections == ("saved",)
    assert hub.data_version > version  # pages built before the save are stale
    assert hub.save_paper(ada, "arXiv:2401.00001v2").collection.papers == 1  # twice: one row
    hub.save_paper(ada, "https://arxiv.org/abs/2401.00002")

    reading = hub.create_collection(ada, "  Reading group:   LLMs ")
    assert (reading.name, reading.slug) == ("Reading group: LLMs", "reading-group-llms")
    with pytest.raises(ConflictError):
        hub.create_collection(ada, "reading group LLMs")  # the same slug
    hub.create_collection(bob, "Reading group: LLMs")  # another member's names are theirs
    done = hub.save_paper(ada, "2401.00001", "reading-group-llms")
    assert done.collections == ("saved", "reading-group-llms")
    assert hub.saved(ada, ["2401.00001", "2401.00002", "2401.00003"]) == {
        "2401.00001": ("saved", "reading-group-llms"), "2401.00002": ("saved",),
    }  # fmt: skip
    assert hub.saved(bob, ["2401.00001"]) == {} and hub.saved(None, ["2401.00001"]) == {}

    page = hub.collection_page(hub.collection(ada, "saved"))
    assert [s.paper.arxiv_id for s in page.papers] == ["2401.00002", "2401.00001"] and page.total == 2
    done = hub.save_paper(ada, "2401.00002", on=False)
    assert not done.saved and done.collection.papers == 1 and done.collections == ()
    assert hub.save_paper(ada, "2401.00002", on=False).collection.papers == 1  # removing twice

    with pytest.raises(NotFoundError):
        hub.save_paper(ada, "2401.00001", "no-such-collection")
    with pytest.raises(NotFoundError):
        hub.save_paper(ada, "2401.00001", "no-such-collection", on=False)
    with pytest.raises(NotFoundError):
        hub.save_paper(ada, "2401.00001", "../Saved")
    with pytest.raises(PaperNotFoundError):
        hub.save_paper(ada, "2401.09999")
    with pytest.raises(InvalidInputError):
        hub.create_collection(ada, "  ")
    with pytest.raises(InvalidInputError):
        hub.create_collection(ada, "!!!")
    with pytest.raises(InvalidInputError):
        hub.create_collection(ada, "x" * 101)

    renamed = hub.update_collection(ada, "reading-group-llms", name="Reading group 2026", public=True)
    assert (renamed.slug, renamed.public, renamed.papers) == ("reading-group-2026", True, 1)
    with pytest.raises(NotFoundError):
        hub.collection(ada, "reading-group-llms")  # the old slug is gone
    with pytest.raises(ConflictError):
        hub.update_collection(ada, "reading-group-2026", name="Saved")
    hub.delete_collection(ada, "reading-group-2026")
    assert [c.slug for c in hub.collections(ada)] == ["saved"]
    assert hub.get_paper("2401.00001").arxiv_id == "2401.00001"  # the paper stays


def test_saved_marks_cost_one_query_per_page(hub: Hub) -> None:
    from sqlalchemy import event

    ada = hub.get_user("ada")
    for a in OTHER[:3]:
        hub.save_paper(ada, a)
    engine = hub._storage.engine
    statements: list[str] = []
    listen = lambda conn, cursor, sql, *rest: statements.append(sql)  # noqa: E731
    event.listen(engine, "before_cursor_execute", listen)
    try:
        marks = hub.saved(ada, OTHER + ZOTERO_HERE + MENDELEY_HERE)
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    assert marks == {a: ("saved",) for a in OTHER[:3]}
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1, statements


def test_private_collections_are_not_found_by_others(hub: Hub) -> None:
    ada, bob = hub.get_user("ada"), hub.get_user("bob")
    hub.save_paper(ada, "2401.00001")
    assert hub.public_collection(ada, "ada", "saved").slug == "saved"  # the owner sees it
    for viewer in (bob, None):
        with pytest.raises(NotFoundError) as private:
            hub.public_collection(viewer, "ada", "saved")
        with pytest.raises(NotFoundError) as absent:
            hub.public_collection(viewer, "ada", "nothing-here")
        assert str(private.value).replace("saved", "X") == str(absent.value).replace("nothing-here", "X")
    with pytest.raises(NotFoundError):
        hub.collection(bob, "saved")  # bob's own collections are looked up by his id
    hub.update_collection(ada, "saved", public=True)
    assert hub.public_collection(None, "ADA", "saved").papers == 1
    with pytest.raises(NotFoundError):
        hub.public_collection(None, "nobody", "saved")


def test_slugs_and_ids() -> None:
    assert slugify("Poincaré & friends") == "poincare-friends"
    assert slugify("../../etc") == "etc"
    assert find_arxiv_id("10.48550/arXiv.2405.21060") == "2405.21060"
    assert find_arxiv_id("https://doi.org/10.48550/ARXIV.2405.21060") == "2405.21060"
    assert find_arxiv_id("http://arxiv.org/abs/cs.DB/0003005") == "cs/0003005"
    assert find_arxiv_id("https://arxiv.org/pdf/2401.00001v3.pdf") == "2401.00001"
    assert find_arxiv_id("arXiv:1705.05823") == "1705.05823"
    assert find_arxiv_id("https://huggingface.co/papers/2502.00001") == "2502.00001"
    assert find_arxiv_id("10.1145/3318464.3389775") is None
    assert find_arxiv_id("hello") is None


# -- imports -----------------------------------------------------------------------------------


def test_import_the_real_zotero_export(hub: Hub, fixtures_dir: Path) -> None:
    data = (fixtures_dir / "bibtex" / "zotero-better-bibtex-library.bib").read_bytes()
    parsed = parse_library(data)
    # 332 entries; the ones with an eprint (or an arXiv DOI) name 71 distinct papers
    assert parsed.format == "bibtex" and len(parsed.entries) + len(parsed.problems) == 332
    assert len(parsed.entries) >= 82 and len({e.arxiv_id for e in parsed.entries}) == 71
    ada = hub.get_user("ada")
    report = hub.import_library(ada, data, collection="Dissertation")
    assert report.collection.slug == "dissertation" and report.entries == 332
    assert report.added == len(ZOTERO_HERE) and report.matched == len(ZOTERO_HERE)
    assert report.fetched == 0
    lines = [str(p) for p in report.problems]
    assert "line 1: @article{ahmadiPassiveAntifrosting2018}: no arXiv id (no eprint, url or arXiv DOI)" in lines
    assert "line 69: @article{akesonNASAExoplanet2013}" not in " ".join(lines)  # it landed
    assert any(s.startswith("line 305: @article{Barclay2018a}: arXiv 1804.05050 is not in this hub") for s in lines)
    assert sorted(s.paper.arxiv_id for s in hub.collection_page(report.collection).papers) == sorted(ZOTERO_HERE)
    again = hub.import_library(ada, data, collection="dissertation")
    assert (again.added, again.already) == (0, len(ZOTERO_HERE))


def test_import_the_real_mendeley_export(hub: Hub, fixtures_dir: Path) -> None:
    data = (fixtures_dir / "bibtex" / "mendeley-library.bib").read_bytes()
    report = hub.import_library(hub.get_user("ada"), data)
    assert report.entries == 2392 and report.collection.slug == "saved"
    assert report.added == len(MENDELEY_HERE)
    lines = [str(p) for p in report.problems]
    assert len(lines) == 2392 - len(MENDELEY_HERE)
    assert "line 1: @inproceedings{Luhring2007}: no arXiv id (no eprint, url or arXiv DOI)" in lines
    # old-style ids with a subject class, arXiv DOIs in `doi` and `arXiv:ID` in `pages` all matched
    assert not any("Roy2000a" in s or "OpenAI2023" in s or "Rippel2017" in s for s in lines)


def test_import_a_list_with_junk_and_bad_bibtex(hub: Hub) -> None:
    ada = hub.get_user("ada")
    text = "# my reading list\n2401.00001\n\nhttps://arxiv.org/pdf/2401.00002v2.pdf\nnot an id\narXiv:2401.00003 # comment\n2401.99999\n"
    report = hub.import_library(ada, text, collection="List")
    assert report.format == "list" and report.added == 3 and report.entries == 5
    assert [str(p) for p in report.problems] == [
        "line 5: 'not an id': not an arXiv id or arxiv.org address",
        "line 7: 2401.99999: arXiv 2401.99999 is not in this hub (this server does not fetch papers from arXiv)",
    ]
    bib = "@article{good, eprint = {2401.00004}, archivePrefix = {arXiv}}\n\n@article{bad,\n  title = {No id},\n}\n@misc{hal, eprint = {hal-0123}, archivePrefix = {HAL}}\n@misc{junk, eprint = {nonsense}}\n"
    scholar = "@article{lovelace2024paper,\n  title={Paper 5},\n  author={Lovelace, Ada},\n  journal={arXiv preprint arXiv:2401.00005},\n  year={2024}\n}\n"
    report = hub.import_library(ada, (bib + scholar).encode("latin-1"), collection="List")
    assert report.added == 2  # the eprint, and Google Scholar's "arXiv preprint arXiv:ID"
    assert [str(p) for p in report.problems] == [
        "line 3: @article{bad}: no arXiv id (no eprint, url or arXiv DOI)",
        "line 6: @misc{hal}: no arXiv id (no eprint, url or arXiv DOI)",
        "line 7: @misc{junk}: eprint 'nonsense' is not an arXiv id",
    ]
    with pytest.raises(InvalidInputError):
        hub.import_library(ada, "   ")
    with pytest.raises(InvalidInputError):
        hub.import_library(ada, '{"items": [')


def test_import_a_hugging_face_collection(hub: Hub) -> None:
    doc = {
        "slug": "ada/diffusion-6650", "title": "Diffusion", "items": [
            {"_id": "1", "type": "paper", "id": "2401.00001", "title": "Paper 1"},
            {"_id": "2", "type": "model", "id": "stabilityai/sd"},
            {"_id": "3", "type": "paper", "id": "2401.00002"},
            {"_id": "4", "type": "paper", "id": "not-an-id"},
        ],
    }  # fmt: skip
    report = hub.import_library(hub.get_user("ada"), json.dumps(doc, indent=2), collection="Diffusion")
    assert report.format == "json" and report.added == 2
    assert [str(p) for p in report.problems] == [
        "line 11: item 2: a model, not a paper",
        "line 21: item 4: 'not-an-id' is not an arXiv id",
    ]
    report = hub.import_library(hub.get_user("ada"), '[{"id": "2401.00003"}, "2401.00004"]', collection="Diffusion")
    assert report.added == 2 and report.collection.papers == 4


def test_import_fetches_missing_papers_from_arxiv(db_url: str, fixtures_dir: Path) -> None:
    """The recorded id_list answer for two ids: arXiv knows 1707.08567, not 0808.05394."""
    with Replay(fixtures_dir) as server:
        hub = hub_at(db_url, embedder="none", arxiv_api_url=server.url + "/api/query", arxiv_api_delay=0.0)
        ada = hub.create_user("ada", "correct horse battery")
        # from the web (interactive): one request for the first FETCH_MAX_INTERACTIVE missing
        # papers, the rest wait for the next import
        library.FETCH_MAX_INTERACTIVE, before = 2, library.FETCH_MAX_INTERACTIVE
        try:
            report = hub.import_library(ada, "0808.05394\n1707.08567\n2401.66666\n", fetch=True)
        finally:
            library.FETCH_MAX_INTERACTIVE = before
        assert (report.added, report.fetched) == (1, 1)
        assert [str(p) for p in report.problems] == [
            "line 1: 0808.05394: arXiv has no paper 0808.05394",
            "line 3: 2401.66666: not in this hub yet (one import fetches at most 2 papers from arXiv): import the file again for the next ones",
        ]
        assert server.requests("/api/query") == [{"id_list": "0808.05394,1707.08567", "start": "0", "max_results": "2"}]
        assert hub.get_paper("1707.08567").categories == ("cs.IT",)
        # without live fetching nothing is asked
        report = hub.import_library(ada, "0808.05394\n", fetch=False)
        assert "not in this hub" in str(report.problems[0]) and len(server.requests("/api/query")) == 1
        # arXiv unreachable: the import says so and keeps what it could
        server.fail(Fault("reset", path="/api/query", times=3))
        report = hub.import_library(ada, "2401.77777\n1707.08567\n", fetch=True, collection="Other")
        assert report.added == 1 and [str(p) for p in report.problems] == [
            "line 1: 2401.77777: arXiv could not be reached: import the file again later"
        ]
    close_hubs(db_url)


def test_cli_library_import(db_url: str, tmp_path: Path, fixtures_dir: Path) -> None:
    from broadsheet.cli import app

    hub = hub_at(db_url, embedder="none")
    hub.add_papers([paper(a) for a in ZOTERO_HERE])
    hub.create_user("ada", "correct horse battery")
    env = {"BROADSHEET_DATABASE_URL": "", "BROADSHEET_EMBEDDER": "none", "BROADSHEET_SUBMIT_FETCH": "false"}
    bib = fixtures_dir / "bibtex" / "zotero-better-bibtex-library.bib"
    result = CliRunner().invoke(app, ["--db", db_url, "library", "import", "ada", str(bib), "--collection", "Thesis"], env=env)
    assert result.exit_code == 0, result.output
    out = " ".join(result.stdout.split())
    assert f"{len(ZOTERO_HERE)} papers added to Thesis" in out
    assert "line 1: @article{ahmadiPassiveAntifrosting2018}: no arXiv id" in " ".join(result.stderr.split())
    assert hub.collection(hub.get_user("ada"), "thesis").papers == len(ZOTERO_HERE)

    junk = tmp_path / "junk.txt"
    junk.write_text("nothing\nhere\n")
    result = CliRunner().invoke(app, ["--db", db_url, "library", "import", "ada", str(junk)], env=env)
    assert result.exit_code == 1 and "line 2: 'here': not an arXiv id" in " ".join(result.stderr.split())
    result = CliRunner().invoke(app, ["--db", db_url, "library", "import", "nobody", str(junk)], env=env)
    assert result.exit_code != 0 and "nobody" in result.stderr

    # --fetch: papers not in the database come from arXiv (the recorded API), with a sync's retries
    ids = tmp_path / "ids.txt"
    ids.write_text("0808.05394\n1707.08567\n")
    with Replay(fixtures_dir) as server:
        live = env | {"BROADSHEET_ARXIV_API_URL": server.url + "/api/query", "BROADSHEET_ARXIV_API_DELAY": "0"}
        server.fail(Fault("reset", path="/api/query", times=1))  # retried: not a person waiting
        result = CliRunner().invoke(app, ["--db", db_url, "library", "import", "ada", str(ids), "--fetch"], env=live)
    assert result.exit_code == 0, result.output
    assert "1 paper added to Saved, 0 already there, 1 of them fetched from arXiv; 1 not matched" in " ".join(result.stdout.split())
    assert "line 1: 0808.05394: arXiv has no paper 0808.05394" in result.stderr
    close_hubs(db_url)
