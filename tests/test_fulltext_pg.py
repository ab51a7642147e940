"""PostgreSQL's full-text index (storage/fulltext_pg.py): the tsvector it makes, field weights, and
the same matches as SQLite's FTS5 index for every part of the query language."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import close_hubs, hub_at, paper

from broadsheet.demo import load_demo_papers
from broadsheet.hub import Hub
from broadsheet.search.query import parse_query
from broadsheet.storage.fulltext_pg import tsvector

QUERIES = [
    "language models", "diffusion", '"large language models"', "agents -web", "reasoning -math -code",
    'video -"world model"', "author:Wang", 'author:"Yang" reasoning', "efficient attention kernels on GPUs",
    "Müller", "the of and",  # stopwords only: then they count
    "3D generation", "state-of-the-art", "reinforcement learning from human feedback",
]  # fmt: skip


def test_tsvector_weights_fields_and_keeps_phrases_inside_a_field() -> None:
    vec = tsvector("Graph networks", "We study graph models.", "Ada Lovelace")
    terms = dict(item.split(":") for item in vec.split(" "))
    assert terms["'graph'"] == "1A,9C"  # title A; abstract C after the title, a gap, the authors, a gap
    assert terms["'network'"] == "2A" and terms["'ada'"] == "4B" and terms["'lovelac'"] == "5B"
    assert terms["'we'"] == "7C" and terms["'model'"] == "10C"
    # "networks Ada" is not a phrase: the gap between title and authors breaks adjacency
    assert int(terms["'ada'"][:-1]) - int(terms["'network'"][:-1]) == 2


def test_tsvector_stems_and_folds_as_fts5_does() -> None:
    vec = tsvector(r"Poincaré inequalities", "Ångström-scale models", "Jürgen Müller")
    assert {t.split(":")[0] for t in vec.split(" ")} == {
        "'poincar'", "'inequ'", "'angstrom'", "'scale'", "'model'", "'jurgen'", "'muller'",
    }  # fmt: skip


@pytest.fixture(scope="module")
def both(postgres, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Hub, Hub]]:  # noqa: ANN001
    """The demo papers in SQLite (FTS5) and in PostgreSQL ranking in the database (tsvector)."""
    items = [item for pair in load_demo_papers() for item in pair]
    items.append(paper("2401.00001", title="Über Müller's Poincar\\'e lemma", abstract="Schrödinger bridges, naïve Bayes.", authors=("Jürgen Müller",)))
    lite = hub_at(f"sqlite:///{Path(tmp_path_factory.mktemp('fts')) / 'hub.sqlite3'}", embedder="none")
    url = postgres.create()
    pg = hub_at(url, embedder="none", lexical_index="database")
    lite.add_papers(items)
    pg.add_papers(items)
    yield lite, pg
    lite.close()
    close_hubs(url)
    postgres.drop(url)


@pytest.mark.postgresql
@pytest.mark.parametrize("q", QUERIES)
def test_same_matches_as_fts5(both: tuple[Hub, Hub], q: str) -> None:
    lite, pg = both
    query = parse_query(q)
    found = [
        {p.arxiv_id for p in h._storage.papers.by_ids([pid for pid, _ in h._storage.fulltext.search(query, 1000)]).values()}  # noqa: SLF001
        for h in (lite, pg)
    ]
    assert found[0] == found[1], q
    allowed = [h._storage.fulltext.allowed_ids(query) for h in (lite, pg)]  # noqa: SLF001
    if allowed[0] is None:
        assert allowed[1] is None
    else:
        assert {p.arxiv_id for p in lite._storage.papers.by_ids(list(allowed[0])).values()} == {  # noqa: SLF001
            p.arxiv_id for p in pg._storage.papers.by_ids(list(allowed[1])).values()  # noqa: SLF001
        }, q


@pytest.mark.postgresql
def test_title_outranks_authors_outranks_abstract(postgres) -> None:  # noqa: ANN001
    url = postgres.create()
    try:
        hub = hub_at(url, embedder="none", lexical_index="database")
        hub.add_papers([
            paper("2401.00001", title="On lattices", abstract="Nothing about it here, really.", authors=("Zed Quokka",)),
            paper("2401.00002", title="On groups", abstract="Quokka populations grow.", authors=("Ann Bee",)),
            paper("2401.00003", title="Quokka ecology", abstract="Nothing about it here, really.", authors=("Ann Bee",)),
        ])  # fmt: skip
        page = hub.search("quokka", mode="lexical")
        assert [h.paper.arxiv_id for h in page.hits] == ["2401.00003", "2401.00001", "2401.00002"]
        assert page.hits[0].lexical_score > page.hits[1].lexical_score > page.hits[2].lexical_score > 0  # type: ignore[operator]
    finally:
        close_hubs(url)
        postgres.drop(url)
