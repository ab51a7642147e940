"""The vector index kept as files (search/vectors_mapped.py, search/vector_files.py): the same
scores as the in-memory index, new vectors found at once and shared through published
generations, files of another database rebuilt, and a writer killed mid-write (a real process,
SIGKILL) leaving an index that opens at its last generation and catches up from the database."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from broadsheet.search import vector_files, vectors_mapped
from broadsheet.search.embedders import passages_key
from broadsheet.search.index_files import IndexFiles
from broadsheet.search.vectors import VectorIndex
from broadsheet.search.vectors_mapped import MappedVectorIndex
from helpers import hub_at, paper

DIM = 16
MODEL = "test"
NOW = datetime(2026, 12, 7)


def unit(rng: np.random.Generator, n: int, dim: int = DIM) -> np.ndarray:
    v = rng.standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def corpus(url: str, n: int, seed: int = 1):
    """A hub with ``n`` papers, each with a vector, a third with two tail passages."""
    hub = hub_at(url, embedder="none")
    hub.add_papers([paper(f"2401.{i:05d}") for i in range(n)])
    pids = sorted(hub._storage.papers.ids_of([f"2401.{i:05d}" for i in range(n)]).values())  # noqa: SLF001
    rng = np.random.default_rng(seed)
    vecs = unit(rng, n)
    store = hub._storage.vectors  # noqa: SLF001
    store.put(MODEL, [(p, "h", vecs[i]) for i, p in enumerate(pids)])
    store.put(passages_key(MODEL), [(p, "h", unit(rng, 2)) for p in pids[::3]])
    return hub, pids, rng


def mapped(hub, folder: Path, model: str = MODEL, dim: int = DIM) -> MappedVectorIndex:  # noqa: ANN001
    storage = hub._storage  # noqa: SLF001
    return MappedVectorIndex(storage.vectors, lambda: storage.sync_state.database_id(NOW), IndexFiles(folder), model, dim)


def memory(hub) -> VectorIndex:  # noqa: ANN001
    index = VectorIndex(hub._storage.vectors, MODEL, DIM)  # noqa: SLF001
    index.refresh()
    return index


def same(a: list[tuple[int, float]], b: list[tuple[int, float]]) -> None:
    """Same papers in the same order, scores equal within float16 storage (~1e-3)."""
    assert [p for p, _ in a] == [p for p, _ in b]
    assert np.allclose([s for _, s in a], [s for _, s in b], atol=2e-3)


def test_files_score_as_the_memory_index_does(db_url: str, tmp_path: Path) -> None:
    hub, pids, rng = corpus(db_url, 600)
    files, mem = mapped(hub, tmp_path / "idx"), memory(hub)
    assert files.has_vectors() and files.status()["generation"] == 1 and not files.status()["ivf"]
    assert len(files) == 600
    for q in unit(rng, 5):
        same(files.search(q, 10), mem.exact_search(q, 10))
        allowed = set(pids[100:250])
        same(files.search(q, 5, allowed=allowed), mem.exact_search(q, 5, allowed=allowed))
        same(files.search(q, 5, exclude=pids[0]), mem.exact_search(q, 5, exclude=pids[0]))
        got, want = files.scores_for(q, pids[:20] + [10**9]), mem.scores_for(q, pids[:20])
        assert got.keys() == want.keys() and all(abs(got[p] - want[p]) < 2e-3 for p in want)
    assert np.allclose(files.vector_of(pids[7]), mem.vector_of(pids[7]), atol=1e-3)
    assert files.vector_of(10**9) is None
    made = sorted(p.name for p in (tmp_path / "idx").iterdir())
    assert made == ["vectors-000001", "vectors.json", "vectors.lock"], made


def test_ivf_finds_the_exact_top_ten(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Above ANN_MIN the base gets an IVF; its candidates re-scored find ≥ 0.95 of the exact top-10
    (random 16-dimensional vectors: harder than text embeddings), filtered searches too."""
    monkeypatch.setattr(vector_files, "ANN_MIN", 1000)
    monkeypatch.setattr(vectors_mapped, "EXACT_MAX", 300)  # big filters go through the IVF's selector
    hub, pids, rng = corpus(db_url, 3000)
    files, mem = mapped(hub, tmp_path / "idx"), memory(hub)
    assert files.wait_for_ann()
    assert (tmp_path / "idx" / "vectors-000001" / "ivf.faiss").exists()
    found, filtered = [], []
    allowed = set(pids[::2])
    for q in unit(rng, 60):
        want = {p for p, _ in mem.exact_search(q, 10)}
        found.append(len(want & {p for p, _ in files.search(q, 10)}) / 10)
        got = files.search(q, 10, allowed=allowed)
        assert {p for p, _ in got} <= allowed and len(got) == 10
        filtered.append(len({p for p, _ in mem.exact_search(q, 10, allowed=allowed)} & {p for p, _ in got}) / 10)
    assert np.mean(found) >= 0.95 and np.mean(filtered) >= 0.95, (np.mean(found), np.mean(filtered))


def test_new_vectors_are_found_at_once_and_shared_by_generations(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub, pids, rng = corpus(db_url, 500)
    store = hub._storage.vectors  # noqa: SLF001
    one, two = mapped(hub, tmp_path / "idx"), mapped(hub, tmp_path / "idx")  # two processes' views
    assert one.has_vectors() and two.has_vectors()
    new = unit(rng, 30)
    store.put(MODEL, [(pids[i], "h2", new[i]) for i in range(30)])  # re-embedded: the newest vector wins
    store.put(passages_key(MODEL), [(pids[0], "h2", np.empty((0, DIM), np.float32))])  # its passages gone
    for index in (one, two):
        assert index.search(new[3], 1)[0] == (pids[3], pytest.approx(1.0, abs=2e-3))
        assert index.scores_for(new[0], [pids[0]])[pids[0]] == pytest.approx(1.0, abs=2e-3)
    assert one.status()["tail"] == 30 and one.status()["generation"] == 1

    monkeypatch.setattr(vectors_mapped, "PUBLISH_MIN", 10)
    one.refresh()  # its tail is over PUBLISH_MIN: it publishes a delta generation
    one.wait_for_ann()
    assert one.status() | {"problem": ""} == {
        "generation": 2, "base": 500, "delta": 30, "tail": 0, "ivf": False, "building": False, "problem": "",
    }
    two.refresh()  # follows the manifest: the same generation, nothing of its own
    assert two.status()["generation"] == 2 and two.status()["tail"] == 0
    same(two.search(new[5], 5), memory(hub).exact_search(new[5], 5))
    root = tmp_path / "idx"
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == ["vectors-000002"]  # the old one removed
    assert os.stat(root / "vectors-000002" / "whole.npy").st_nlink == 1  # hard-linked, then the old name went

    monkeypatch.setattr(vectors_mapped, "FOLD_MIN", 40)
    more = unit(rng, 20)
    store.put(MODEL, [(pids[100 + i], "h3", more[i]) for i in range(20)])
    one.refresh()  # 30 + 20 > FOLD_MIN: the base is rebuilt from the database
    one.wait_for_ann()
    assert one.status()["generation"] == 3 and one.status()["delta"] == 0 and one.status()["tail"] == 0
    for index in (one, two):
        same(index.search(more[4], 5), memory(hub).exact_search(more[4], 5))


def test_files_of_another_database_model_or_backup_are_rebuilt(db_url: str, tmp_path: Path) -> None:
    hub, pids, rng = corpus(db_url, 200)
    root = tmp_path / "idx"
    assert mapped(hub, root).has_vectors()
    meta = json.loads((root / "vectors.json").read_text())["meta"]

    # Another model (or dimension) in the same folder: rebuilt for it.
    hub._storage.vectors.put("other", [(p, "h", unit(rng, 1, 12)[0]) for p in pids[:50]])  # noqa: SLF001
    other = mapped(hub, root, "other", 12)
    assert other.has_vectors() and other.status()["base"] == 50 and "model 'test'" in other.problem_seen

    # The files of another database (a different id in sync_state): rebuilt.
    first = mapped(hub, root)
    assert first.has_vectors() and first.status()["base"] == 200
    hub._storage.sync_state.put("database-id", {"id": "another"}, datetime(2026, 12, 7))  # noqa: SLF001
    again = mapped(hub, root)
    assert again.has_vectors() and "another database" in again.problem_seen
    assert json.loads((root / "vectors.json").read_text())["meta"]["database_id"] == "another" != meta["database_id"]

    # A restored backup: the database's newest rows are older than the files' watermark.
    hub._storage.vectors.put(MODEL, [(pids[0], "h9", unit(rng, 1)[0])])  # noqa: SLF001
    newest = mapped(hub, root)
    newest.refresh()
    newest._publish_tail()  # noqa: SLF001 - publish now, not at PUBLISH_MIN
    from sqlalchemy import delete, func, select

    from broadsheet.storage.schema import embeddings

    engine = hub._storage.engine  # noqa: SLF001
    with engine.begin() as conn:
        top = conn.execute(select(func.max(embeddings.c.id)).where(embeddings.c.model == MODEL)).scalar_one()
        conn.execute(delete(embeddings).where(embeddings.c.id == top))
    restored = mapped(hub, root)
    assert restored.has_vectors() and "restored backup" in restored.problem_seen
    assert restored.vector_of(pids[0]) is None  # the restored database has no vector of it


def test_files_that_cannot_be_opened_are_rebuilt(db_url: str, tmp_path: Path) -> None:
    """A published generation with a file missing or damaged (a disk error, an older build's
    layout) is not retried for ever: it is rebuilt, and search by meaning comes back."""
    hub, pids, rng = corpus(db_url, 200)
    root = tmp_path / "idx"
    assert mapped(hub, root).has_vectors()
    generation = json.loads((root / "vectors.json").read_text())["generation"]
    (root / f"vectors-{generation:06d}" / "ids.npy").unlink()
    broken = mapped(hub, root)
    assert broken.has_vectors() and "cannot be opened" in broken.problem_seen
    assert json.loads((root / "vectors.json").read_text())["generation"] > generation
    assert broken.search(broken.vector_of(pids[3]), 1)[0][0] == pids[3]


CHILD = textwrap.dedent(
    """
    import datetime, sys, time
    from pathlib import Path
    sys.path.insert(0, {tests!r})
    from broadsheet.search import vectors_mapped, vector_files
    from broadsheet.search.index_files import IndexFiles
    from helpers import hub_at

    url, root, mode = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    hub = hub_at(url, embedder="none")
    storage = hub._storage

    def stall(*args, **kwargs):
        print("writing", flush=True)
        time.sleep(120)

    if mode == "delta":  # publishing a delta: killed with its files half written
        vectors_mapped.PUBLISH_MIN = 1
        real = vectors_mapped.write_delta
        vectors_mapped.write_delta = lambda tmp, delta: (real(tmp, delta), stall())
        progress = None
    else:  # building the base: killed in the middle
        vectors_mapped.SYNC_BUILD_MAX = 0
        vector_files.BUILD_CHUNK = 50
        calls = []
        progress = lambda stage, done, total: (calls.append(1), len(calls) == 3 and stall())
    index = vectors_mapped.MappedVectorIndex(
        storage.vectors, lambda: storage.sync_state.database_id(datetime.datetime(2026, 12, 7)), IndexFiles(root), "test", 16, progress=progress
    )
    index.refresh()
    time.sleep(120)
    """
)


@pytest.mark.parametrize("mode", ["delta", "build"])
def test_a_writer_killed_mid_write_leaves_an_index_that_opens(db_url: str, tmp_path: Path, mode: str) -> None:
    hub, pids, rng = corpus(db_url, 400)
    root = tmp_path / "idx"
    if mode == "delta":
        assert mapped(hub, root).has_vectors()
    new = unit(rng, 5)
    hub._storage.vectors.put(MODEL, [(pids[i], "h2", new[i]) for i in range(5)])  # noqa: SLF001
    before = (root / "vectors.json").read_text() if mode == "delta" else None

    script = tmp_path / "child.py"
    script.write_text(CHILD.format(tests=str(Path(__file__).parent)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    child = subprocess.Popen([sys.executable, str(script), db_url, str(root), mode], stdout=subprocess.PIPE, env=env, text=True)
    try:
        assert child.stdout.readline().strip() == "writing"
        assert list(root.glob(".vectors-*.tmp")), "the child is mid-write"
        child.send_signal(signal.SIGKILL)
        child.wait(30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(30)
        child.stdout.close()
    if mode == "delta":
        assert (root / "vectors.json").read_text() == before  # still the last committed generation
    else:
        assert not (root / "vectors.json").exists()

    index = mapped(hub, root)  # opens (or, with nothing published, builds) and catches up
    assert index.has_vectors()
    assert index.status()["generation"] == 1
    for i in range(5):
        assert index.search(new[i], 1)[0][0] == pids[i]
    same(index.search(new[0], 10), memory(hub).exact_search(new[0], 10))
    index._publish_tail()  # noqa: SLF001 - the next writer cleans what the killed one left
    assert not list(root.glob(".vectors-*.tmp"))
    assert index.refresh() == 0 and index.status()["generation"] == 2


def test_hub_searches_the_files_and_finds_new_papers(tmp_path: Path) -> None:
    """End to end on SQLite with the real embedder: ``vector_index = files`` in a configured folder."""
    url = f"sqlite:///{tmp_path / 'hub.sqlite3'}"
    hub = hub_at(url, vector_index="files", index_dir=str(tmp_path / "indexes"))
    hub.add_papers([
        paper("2301.00001", title="Attention is all you need", abstract="The Transformer, based solely on attention mechanisms."),
        paper("2301.00004", title="A recipe for sourdough bread", abstract="Fermentation of flour and water by wild yeast."),
    ])
    hub.index_embeddings()
    hub.warm_up(wait=True)
    assert [h.paper.arxiv_id for h in hub.search("baking with yeast", mode="semantic").hits][0] == "2301.00004"
    assert (tmp_path / "indexes" / "vectors.json").exists()
    hub.add_papers([paper("2301.00009", title="Croissants: laminated dough", abstract="Butter folded into yeasted dough.")])
    hub.index_embeddings()
    assert "2301.00009" in [h.paper.arxiv_id for h in hub.search("pastry dough butter", mode="semantic").hits][:2]
