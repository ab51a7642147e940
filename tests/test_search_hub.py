"""Hub.search, Hub.similar and incremental indexing on real SQLite and PostgreSQL with the real default embedder."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from broadsheet.cli import app
from broadsheet.exceptions import InvalidInputError
from broadsheet.types import SearchFilters

from helpers import hub_at, paper

CORPUS = [
    paper("2301.00001", title="Attention is all you need", abstract="We propose the Transformer, a model architecture based solely on attention mechanisms, dispensing with recurrence and convolutions entirely.", authors=("Ashish Vaswani", "Noam Shazeer"), categories=("cs.CL", "cs.LG"), primary_category="cs.CL", published=date(2017, 6, 12)),
    paper("2301.00002", title="Efficiently modeling long sequences with structured state spaces", abstract="A central goal of sequence modeling is designing a single principled model that can address sequence data across a range of modalities and tasks. We propose the structured state space sequence model (S4).", authors=("Albert Gu", "Karan Goel", "Christopher Ré"), categories=("cs.LG",), primary_category="cs.LG", published=date(2021, 10, 31)),
    paper("2301.00003", title="Mamba: linear-time sequence modeling with selective state spaces", abstract="Foundation models are almost universally based on the Transformer architecture. We identify that a key weakness of such models is their inability to perform content-based reasoning, and make state space models selective.", authors=("Albert Gu", "Tri Dao"), categories=("cs.LG", "cs.AI"), primary_category="cs.LG", published=date(2023, 12, 1)),
    paper("2301.00004", title="A recipe for sourdough bread", abstract="We describe fermentation of flour and water by wild yeast and lactic acid bacteria, and how hydration changes the crumb of the loaf.", authors=("Paul Hollywood",), categories=("q-bio.OT",), primary_category="q-bio.OT", published=date(2020, 4, 1)),
    paper("2301.00005", title=r"Poincar\'e inequalities on graphs", abstract="We prove Poincaré-type inequalities for random walks on expander graphs and bound their spectral gap.", authors=("Jürgen Müller",), categories=("math.CO",), primary_category="math.CO", published=date(2019, 2, 2)),
    paper("2301.00006", title="Baking chemistry: how yeast makes dough rise", abstract="Carbon dioxide produced by yeast fermentation is trapped by the gluten network, leavening the dough during proofing.", authors=("Mary Berry",), categories=("physics.pop-ph",), primary_category="physics.pop-ph", published=date(2022, 9, 9)),
]  # fmt: skip


@pytest.fixture(scope="module", params=["database", "in-memory bm25"])
def hub(request: pytest.FixtureRequest, module_db_url: str, backend: str):
    """Every search test runs twice per backend: ranked by the database (FTS5, as a one-shot
    command does; on PostgreSQL ts_rank and pgvector's HNSW) and by the in-memory indexes a server
    builds at start (``Hub.warm_up``); results must be the same."""
    if request.param == "database":
        h = hub_at(module_db_url, lexical_index="database", vector_index="auto")  # auto: HNSW on PostgreSQL
    else:
        h = hub_at(module_db_url, lexical_index="memory", vector_index="memory")
    if h.stats().papers == 0:  # the two params share the module's database
        h.add_papers(CORPUS)
        assert h.index_embeddings() == len(CORPUS)
    if request.param == "in-memory bm25":
        h.warm_up(wait=True)
    yield h
    h.close()


def ids(page) -> list[str]:  # noqa: ANN001
    return [hit.paper.arxiv_id for hit in page.hits]


def test_lexical_ranks_by_words_and_highlights(hub) -> None:
    page = hub.search("selective state spaces", mode="lexical")
    assert ids(page)[0] == "2301.00003"
    top = page.hits[0]
    assert ("selective", True) in top.title or any(hit and t.lower() == "selective" for t, hit in top.title)
    assert {"selective", "state", "spaces"} <= set(top.matched_terms)
    assert top.lexical_rank == 1 and top.lexical_score and top.lexical_score > 0
    assert top.semantic_rank is None and top.lexical_share == 1.0


def test_semantic_finds_meaning_without_shared_words(hub) -> None:
    page = hub.search("leavened loaf fermentation by microbes", mode="semantic", limit=2)
    assert set(ids(page)) == {"2301.00004", "2301.00006"}
    assert page.hits[0].semantic_score is not None and page.hits[0].lexical_rank is None


def test_hybrid_explains_both_sides(hub) -> None:
    page = hub.search("attention based transformer architecture")
    top = page.hits[0]
    assert top.paper.arxiv_id == "2301.00001"
    assert top.lexical_rank == 1 and top.semantic_rank == 1
    assert 0 < top.lexical_share < 1


def test_phrase_is_required_in_every_mode(hub) -> None:
    for mode in ("lexical", "semantic", "hybrid"):
        assert set(ids(hub.search('"state space"', mode=mode))) == {"2301.00002", "2301.00003"}, mode


def test_exclusion(hub) -> None:
    assert ids(hub.search("state spaces -mamba", mode="lexical")) == ["2301.00002"]
    for mode in ("semantic", "hybrid"):  # meaning ranks every paper, but never an excluded one
        found = ids(hub.search("state spaces -mamba", mode=mode))
        assert found[0] == "2301.00002" and "2301.00003" not in found, mode


def test_author_category_and_dates(hub) -> None:
    assert set(ids(hub.search("author:gu"))) == {"2301.00002", "2301.00003"}
    assert ids(hub.search('author:"Jurgen Muller"')) == ["2301.00005"]  # accents folded
    assert ids(hub.search("sequence model cat:cs.AI")) == ["2301.00003"]
    assert "2301.00005" in ids(hub.search("cat:math"))  # an archive means all its categories
    assert ids(hub.search("state space since:2023")) == ["2301.00003"]
    assert ids(hub.search("author:gu until:2022-12-31")) == ["2301.00002"]


def test_filters_beside_the_query(hub) -> None:
    page = hub.search("models", filters=SearchFilters(categories=("cs.CL",)))
    assert ids(page) == ["2301.00001"]
    page = hub.search("models", filters=SearchFilters(since=date(2023, 1, 1)), mode="semantic")
    assert ids(page) == ["2301.00003"]


def test_latex_and_accents_normalised(hub) -> None:
    assert ids(hub.search("poincare", mode="lexical")) == ["2301.00005"]


def test_paging_with_cursor(hub) -> None:
    first = hub.search("cat:cs", limit=2)
    assert len(first.hits) == 2 and first.next_cursor
    second = hub.search("cat:cs", limit=2, cursor=first.next_cursor)
    assert not set(ids(first)) & set(ids(second))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"query": '"unbalanced'}, "unbalanced quote"),
        ({"query": ""}, "empty query"),
        ({"query": "x", "mode": "fuzzy"}, "unknown search mode"),
        ({"query": "x", "limit": 0}, "limit"),
        ({"query": "x", "cursor": "abc"}, "invalid cursor"),
    ],
)
def test_bad_requests_are_clear_errors(hub, kwargs: dict, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        hub.search(**kwargs)


def test_similar(hub) -> None:
    similar = [h.paper.arxiv_id for h in hub.similar("2301.00002", limit=2)]
    assert similar[0] == "2301.00003"
    assert "2301.00002" not in similar


def test_new_paper_is_findable_before_and_after_embedding(db_url: str) -> None:
    h = hub_at(db_url)
    try:
        h.add_papers(CORPUS[:3])
        assert h.index_embeddings() == 3
        h.search("warmup")  # the server's in-memory index is loaded now
        h.add_papers([paper("2301.00099", title="Graph neural networks for molecules", abstract="Message passing over atoms and bonds predicts molecular properties.")])
        # no vector yet: hybrid still finds it by its words
        page = h.search("graph neural networks molecules")
        assert ids(page)[0] == "2301.00099" and page.hits[0].semantic_rank is None
        assert h.index_embeddings() == 1  # only what changed
        assert h.index_embeddings() == 0
        page = h.search("chemistry property prediction with message passing", mode="semantic", limit=1)
        assert ids(page) == ["2301.00099"]  # picked up without a restart
        h.add_papers([paper("2301.00099", version=2, title="Graph networks for crystals", abstract="Message passing over crystal lattices.")])
        assert h.index_embeddings() == 1  # changed text: re-embedded
        assert h.index_embeddings(arxiv_ids=["2301.00001"]) == 0
    finally:
        h.close()


def test_search_loads_the_model_only_once_papers_have_vectors(db_url: str) -> None:
    """Until the database holds a vector of the model, a search runs on words, says how many
    papers wait for embedding, and does not load the model (a second of a one-shot command); then
    meaning comes in."""
    h = hub_at(db_url)
    try:
        h.add_papers(CORPUS[:3])
        page = h.search("state space sequence models")
        assert page.mode == "hybrid" and page.not_embedded == 3
        assert ids(page) and page.hits[0].semantic_rank is None
        page = h.search("state space sequence models", mode="semantic")  # meaning alone: nothing yet
        assert page.hits == () and page.not_embedded == 3
        assert not h._embedder.loaded  # noqa: SLF001
        assert h.index_embeddings() == 3
        page = h.search("state space sequence models")
        assert page.mode == "hybrid" and page.hits[0].semantic_rank is not None
    finally:
        h.close()


def test_cli_search_json_and_errors(hub) -> None:
    runner = CliRunner()
    db = hub.settings.database_url
    result = runner.invoke(app, ["--db", db, "search", "state space models", "--json", "--limit", "2"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)  # one JSON document: an array of hits
    assert len(rows) == 2 and {"id", "score", "lexical_rank", "semantic_rank", "matched_terms", "snippet"} <= set(rows[0])
    result = runner.invoke(app, ["--db", db, "search", "since:2024-99"])
    assert result.exit_code == 2 and "not a real date" in result.stderr


def test_eval_beir_on_another_collection(tmp_path: Path, db_url: str) -> None:
    """eval-beir reads any BEIR folder: a tiny one made here, with string ids and a header-less qrels."""
    folder = tmp_path / "tiny"
    (folder / "qrels").mkdir(parents=True)
    docs = [{"_id": p.arxiv_id.replace(".", "_") + "-X", "title": p.title, "text": p.abstract} for p in CORPUS]
    (folder / "corpus.jsonl").write_text("\n".join(json.dumps(d) for d in docs))
    queries = [{"_id": "q1", "text": "bread yeast fermentation"}, {"_id": "q2", "text": "state space sequence models"}]
    (folder / "queries.jsonl").write_text("\n".join(json.dumps(q) for q in queries))
    (folder / "qrels" / "dev.tsv").write_text(
        f"q1\t{docs[3]['_id']}\t1\nq1\t{docs[5]['_id']}\t1\nq2\t{docs[1]['_id']}\t2\nq2\t{docs[2]['_id']}\t1\n"
    )
    result = CliRunner().invoke(app, ["eval-beir", str(folder), "--split", "dev", "--mode", "lexical", "--database", db_url])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["queries"] == 2 and out["mode"] == "lexical" and out["recall@100"] == 1.0
    assert 0.7 < out["ndcg@10"] <= 1.0


def test_eval_beir_collection_without_titles(tmp_path: Path) -> None:
    """Collections such as FiQA have no titles and free-text queries full of query-language
    characters: documents stay untitled (no made-up title weighed as one), queries are plain words."""
    folder = tmp_path / "untitled"
    (folder / "qrels").mkdir(parents=True)
    docs = [{"_id": f"d{i}", "title": "", "text": p.abstract} for i, p in enumerate(CORPUS)]
    (folder / "corpus.jsonl").write_text("\n".join(json.dumps(d) for d in docs))
    queries = [{"_id": "q1", "text": 'How does "yeast make bread rise? cat:food -sugar'}]
    (folder / "queries.jsonl").write_text("\n".join(json.dumps(q) for q in queries))
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td3\t1\n")
    kept = tmp_path / "kept"
    result = CliRunner().invoke(app, ["--db", str(tmp_path / "unused.sqlite3"), "eval-beir", str(folder), "--keep", str(kept)])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["queries"] == 1 and out["mode"] == "hybrid" and out["ndcg@10"] == 1.0
    import sqlite3

    titles = {t for (t,) in sqlite3.connect(kept / "untitled.sqlite3").execute("SELECT title FROM papers")}
    assert titles == {""}


@pytest.mark.slow
def test_eval_beir_scifact_lexical_quality(shared_data: Path, tmp_path: Path) -> None:
    """BM25 parity on SciFact train (measured 0.7083; published BM25 on test is 0.665-0.687)."""
    result = CliRunner().invoke(
        app, ["--db", str(tmp_path / "unused.sqlite3"), "eval-beir", str(shared_data / "scifact"), "--split", "train", "--mode", "lexical"]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["queries"] == 809 and out["documents"] == 5183
    assert out["ndcg@10"] >= 0.70 and out["recall@100"] >= 0.92


def test_long_abstract_tail_is_embedded_as_passages(db_url: str) -> None:
    """What the model cannot read in one go (past 256 word pieces) still counts, through passages."""
    h = hub_at(db_url, vector_index="memory")  # looks inside the in-memory index
    try:
        filler = " ".join(["We study spectral properties of random graph ensembles under degree constraints."] * 30)
        tail = "Finally, we apply the method to predicting the folding stability of yeast proteins."
        h.add_papers([paper("2401.00001", title="Spectra of random graphs", abstract=f"{filler} {tail}")])
        assert h.index_embeddings() == 1
        vectors = h._search_engine()._vectors  # noqa: SLF001 - looking inside the semantic score
        pid = h._storage.papers.ids_of(["2401.00001"])["2401.00001"]  # noqa: SLF001
        query = h._embedder.embed(["protein folding stability in yeast"])[0]  # noqa: SLF001
        vectors.refresh()
        whole = float(vectors._matrix[vectors._row_of[pid]] @ query)  # noqa: SLF001
        blended = vectors.scores_for(query, [pid])[pid]
        assert blended > whole + 0.05
        assert h.index_embeddings() == 0  # passages are stored: nothing left to do
        # new text: its passages replace the old ones (none now)
        h.add_papers([paper("2401.00001", version=2, title="Spectra of random graphs", abstract="Short now.")])
        assert h.index_embeddings() == 1
        vectors.refresh()
        assert vectors.scores_for(query, [pid])[pid] == pytest.approx(float(vectors._matrix[vectors._row_of[pid]] @ query), abs=1e-6)  # noqa: SLF001
    finally:
        h.close()


def test_embedder_sessions_side_by_side_give_the_same_vectors_in_order() -> None:
    """The default embedder runs one session per core on alternate batches: every text must get
    its own vector back, in the caller's order, exactly as one session computes it."""
    from broadsheet.search.embedders import MiniLMOnnx

    texts = [f"paper {i}: " + "graph neural networks for molecules " * (i % 7 + 1) for i in range(23)]
    texts[5] = "protein folding with diffusion models"
    one, two = MiniLMOnnx(sessions=1), MiniLMOnnx(sessions=2, batch_size=3)
    expected, got = one.embed(texts), two.embed(texts)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert float(got[5] @ one.embed(["protein folding with diffusion models"])[0]) > 0.999
