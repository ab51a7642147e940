"""The in-memory BM25 index ranks exactly as FTS5 does, and keeps up with changes; the IVF vector
index finds what exact search finds and takes in new vectors. Real SQLite throughout."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from broadsheet.demo import load_demo_papers
from broadsheet.search import lexical, vectors
from broadsheet.search.lexical import BM25Index, LexicalIndex
from broadsheet.text import index_terms
from broadsheet.search.query import parse_query
from broadsheet.search.vectors import VectorIndex
from broadsheet.storage.fulltext import query_terms

from helpers import Clock, hub_at, paper


def _demo() -> list:
    return [item for pair in load_demo_papers() for item in pair]


QUERIES = [
    "diffusion models for video generation",
    "large language model reasoning benchmark",
    "agents",
    "reinforcement learning from human feedback",
    "efficient attention kernels on GPUs",
    "Müller",  # an author's accented name: folded on both sides
]


def _demo_hub(url: str):  # noqa: ANN202 - a Hub
    h = hub_at(url, embedder="none")
    h.add_papers(_demo())
    h.add_papers(
        [
            paper(
                "2401.00001",
                title="Über Müller's Poincar\\'e lemma",
                abstract="Schrödinger bridges, naïve Bayes and co-operative agents.",
            )
        ]
    )
    return h


@pytest.fixture(scope="module")
def demo_hub(module_db_url: str):
    h = _demo_hub(module_db_url)
    yield h
    h.close()


@pytest.fixture(scope="module")
def sqlite_demo_hub(tmp_path_factory: pytest.TempPathFactory):
    """SQLite only: for comparisons with FTS5 itself."""
    h = _demo_hub(f"sqlite:///{tmp_path_factory.mktemp('fts5') / 'hub.sqlite3'}")
    yield h
    h.close()


def test_tokenizer_matches_fts5_porter_unicode61() -> None:
    text = "Poincaré's GRAPH_networks, naïve 3D-models of ions; Ångström-scale relational databases"
    con = sqlite3.connect(":memory:")
    con.execute("CREATE VIRTUAL TABLE t USING fts5(x, tokenize='porter unicode61 remove_diacritics 2')")
    con.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance')")
    con.execute("INSERT INTO t VALUES (?)", (text,))
    assert index_terms(text) == [term for (term,) in con.execute("SELECT term FROM v ORDER BY offset")]


def test_scores_equal_fts5_bm25(sqlite_demo_hub) -> None:
    """SQLite only: FTS5's bm25() is the reference (PostgreSQL's in-memory index reads the same
    text through fulltext_pg.documents(), and test_search_hub ranks with it on both)."""
    fulltext = sqlite_demo_hub._storage.fulltext  # noqa: SLF001 - comparing the two implementations
    index = BM25Index()
    index.build(fulltext.documents())
    assert len(index) == 65
    for q in QUERIES:
        query = parse_query(q)
        expected = fulltext.search(query, 20)
        got = index.search(query_terms(query), 20)
        assert expected, q
        assert [pid for pid, _ in got] == [pid for pid, _ in expected], q
        assert np.allclose([s for _, s in got], [s for _, s in expected], rtol=1e-4), q


def test_new_and_changed_papers_are_found_without_a_rebuild(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lexical, "REBUILD_SHARE", 10.0)  # no rebuild in this test
    clock = Clock()
    h = hub_at(db_url, clock, embedder="none")
    try:
        h.add_papers(_demo())
        index = LexicalIndex(h._storage.fulltext)  # noqa: SLF001
        index.start(wait=True)
        assert index.search(["zeolite"], 5) == []
        clock.now = clock.now.replace(minute=5)
        h.add_papers([paper("2401.00007", title="Zeolite catalysts", abstract="Porous zeolite frameworks.")])
        assert index.search(["zeolite"], 5) is None  # behind the database: the caller asks it instead
        assert index.wait_until_current(timeout=10)  # caught up in the background
        found = index.search(["zeolite"], 5)
        pid = h._storage.papers.ids_of(["2401.00007"])["2401.00007"]  # noqa: SLF001
        assert [p for p, _ in found] == [pid]
        assert 0 < index._index.delta_share < 0.1  # noqa: SLF001 - taken in as a delta, not rebuilt
        clock.now = clock.now.replace(minute=10)
        h.add_papers(
            [paper("2401.00007", version=2, title="Perovskite catalysts", abstract="Layered perovskite oxides.")]
        )
        assert index.wait_until_current(timeout=10)
        assert index.search(["zeolite"], 5) == []  # the old text no longer counts
        assert [p for p, _ in index.search(["perovskite"], 5)] == [pid]
        assert index.refresh() == 0  # nothing changed since: nothing re-read into the index
    finally:
        h.close()


def test_a_big_delta_triggers_a_rebuild_with_fresh_statistics(db_url: str) -> None:
    clock = Clock()
    h = hub_at(db_url, clock, embedder="none")
    try:
        h.add_papers(_demo()[:20])
        index = LexicalIndex(h._storage.fulltext)  # noqa: SLF001
        index.start(wait=True)
        clock.now = clock.now.replace(minute=5)
        h.add_papers(_demo()[20:])  # far more than REBUILD_SHARE of the corpus
        index.refresh()
        assert len(index._index) == 64 and index._index.delta_share == 0  # noqa: SLF001 - rebuilt
        fresh = BM25Index()
        fresh.build(h._storage.fulltext.documents())  # noqa: SLF001
        assert index.search(["agents"], 10) == fresh.search(["agents"], 10)
    finally:
        h.close()


def test_filters_apply_to_the_in_memory_ranking(demo_hub) -> None:
    demo_hub.warm_up(wait=True)
    hits = demo_hub.search("agents -web", mode="lexical", limit=50).hits
    assert hits and all("web" not in (h.paper.title + h.paper.abstract).lower().split() for h in hits)


def _unit(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    x = rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_ivf_index_agrees_with_exact_search_and_takes_updates(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vectors, "ANN_MIN", 200)
    monkeypatch.setattr(vectors, "NPROBE_SHARE", 1.0)  # every cluster: must equal exact search
    h = hub_at(db_url, embedder="none")
    try:
        h.add_papers(paper(f"2401.{i:05d}") for i in range(400))
        pids = sorted(h._storage.papers.ids_of([f"2401.{i:05d}" for i in range(400)]).values())  # noqa: SLF001
        store = h._storage.vectors  # noqa: SLF001
        rng = np.random.default_rng(7)
        vecs = _unit(rng, 400, 16)
        store.put("test", [(p, "h", v) for p, v in zip(pids, vecs, strict=True)])
        index = VectorIndex(store, "test", 16)
        index.refresh()
        assert index.wait_for_ann(timeout=60)
        for q in _unit(rng, 5, 16):
            assert [p for p, _ in index.search(q, 10)] == [p for p, _ in index.exact_search(q, 10)]
        # a changed vector replaces the old one in the IVF index too
        target = -vecs[0]
        store.put("test", [(pids[0], "h2", target)])
        assert index.search(target, 1)[0][0] == pids[0]
        assert index.search(vecs[0], 400)[-1][0] == pids[0]
        # filtered search is exact over the allowed papers
        allowed = set(pids[100:110])
        assert {p for p, _ in index.search(vecs[5], 10, allowed=allowed)} == allowed
    finally:
        h.close()
