"""Search stays right while papers are ingested: threads search through the Hub while batches
land, and afterwards every paper is found by its own title, by the in-memory index as by the
database. Real SQLite and PostgreSQL; the in-memory BM25 index takes in the batches and rebuilds
(its delta passes ``REBUILD_SHARE`` several times) while the searches run."""

from __future__ import annotations

import random
import threading
import time
from datetime import UTC, datetime

import pytest

from broadsheet.search import lexical
from broadsheet.search.query import parse_query

from helpers import hub_at, paper

SYLLABLES = "ka lo mi ne su ta ri vo ze pa qu ly dor fen gri hal jus kem".split()


def _word(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(4))


def _papers(n: int, seed: int = 1) -> list:
    """``n`` papers whose titles are made-up words (new words keep arriving, as in real ingests)."""
    rng = random.Random(seed)
    common = "neural network galaxy quantum graph learning model spectra dwarf spheroidal".split()
    out = []
    for i in range(n):
        title = f"{_word(rng).capitalize()} {_word(rng)} {rng.choice(common)} {_word(rng)}"
        abstract = " ".join(rng.choice(common + [_word(rng)]) for _ in range(30))
        out.append(paper(f"2402.{i:05d}", title=title, abstract=abstract))
    return out


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _searcher(hub, corpus: list, landed: list[int], stop: threading.Event, wrong: list) -> None:  # noqa: ANN001
    """Search titles of papers already ingested: each must come back (from either index)."""
    rng = random.Random(threading.get_ident())
    while not stop.is_set():
        p = corpus[rng.randrange(landed[0])]
        try:
            top = [h.paper.arxiv_id for h in hub.search(p.title, mode="lexical", limit=10).hits]
        except BaseException as e:  # noqa: BLE001 - reported by the test
            wrong.append(e)
            return
        if p.arxiv_id not in top[:3]:
            wrong.append((p.arxiv_id, p.title, top[:3]))


@pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")  # a rebuild must not die
def test_every_paper_is_found_by_its_title_after_ingests_during_searches(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lexical, "SMALL", 0, raising=False)  # where small indexes rebuild inline: not here
    corpus = _papers(2400)
    hub = hub_at(db_url, _now, embedder="none", lexical_index="memory", ingest_batch_size=30)
    hub.add_papers(corpus[:300])
    hub.warm_up(wait=True)
    stop, wrong, landed = threading.Event(), [], [300]
    threads = [threading.Thread(target=_searcher, args=(hub, corpus, landed, stop, wrong)) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        for start in range(300, len(corpus), 150):  # several ingests, each of several batches
            hub.add_papers(corpus[start : start + 150])
            landed[0] = start + 150
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not wrong, f"{len(wrong)} searches during the ingests went wrong, e.g. {wrong[:3]}"
    deadline = time.monotonic() + 30
    engine = hub._search_engine()  # noqa: SLF001 - the index itself must have caught up, not only the fallback
    index = engine._lexical  # noqa: SLF001
    while not index.wait_until_current(timeout=1) and time.monotonic() < deadline:
        hub.search("anything", mode="lexical")  # searches drive the catch-up
    status = index.status()
    assert status.current and status.papers == len(corpus), status
    pids = hub._storage.papers.ids_of([p.arxiv_id for p in corpus])  # noqa: SLF001
    missed = []
    for p in corpus:  # the ranking Hub.search pages (the whole Hub path for a sample below)
        top = [pid for pid, _ in engine.lexical(parse_query(p.title), 3)]
        if pids[p.arxiv_id] not in top:
            missed.append((p.arxiv_id, p.title, top))
    assert not missed, f"{len(missed)} of {len(corpus)} papers not found by their title, e.g. {missed[:3]}"
    for p in corpus[::40]:
        assert hub.search(p.title, mode="lexical", limit=10).hits[0].paper.arxiv_id == p.arxiv_id
    assert index.status().current  # answered by the in-memory index, not the fallback


def test_a_failed_refresh_is_logged_counted_retried_and_search_uses_the_database_meanwhile(
    db_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(lexical, "RETRY_FIRST", 0.2, raising=False)
    corpus = _papers(60)
    hub = hub_at(db_url, _now, embedder="none", lexical_index="memory")
    hub.add_papers(corpus[:50])
    hub.warm_up(wait=True)
    index = hub._search_engine()._lexical  # noqa: SLF001
    real_update, calls = lexical.BM25Index.update, []

    def update_failing_once(self, docs, seen_until=None):  # noqa: ANN001, ANN202 - a fault, injected once
        calls.append(len(docs))
        if len(calls) == 1:
            raise ValueError("provided out is the wrong size for the accumulation")
        return real_update(self, docs, seen_until)

    monkeypatch.setattr(lexical.BM25Index, "update", update_failing_once)
    hub.add_papers(corpus[50:])
    for p in corpus[50:]:  # found at once: by the database while the index is behind or failed
        assert hub.search(p.title, mode="lexical", limit=3).hits[0].paper.arxiv_id == p.arxiv_id
    assert index.wait_until_current(timeout=20)
    status = hub.search_index_status()
    assert status.current and status.papers == 60 and status.failures == 1, status
    assert "wrong size" in status.last_error
    assert "refresh failed" in caplog.text
    assert len(calls) >= 2  # retried
    for p in corpus:
        top = [pid for pid, _ in index.search(parse_query(p.title).words, 3)]
        assert hub._storage.papers.ids_of([p.arxiv_id])[p.arxiv_id] in top  # noqa: SLF001


def test_vector_searches_during_refreshes_see_only_whole_rows(tmp_path) -> None:  # noqa: ANN001
    """The in-memory vector index: searches while vectors and passages arrive return only papers
    whose vectors are in, with their own scores (SQLite: the index is the same on both backends)."""
    import numpy as np

    from broadsheet.search.embedders import passages_key
    from broadsheet.search.vectors import VectorIndex

    hub = hub_at(f"sqlite:///{tmp_path / 'v.sqlite3'}", _now, embedder="none")
    corpus = _papers(2000, seed=2)
    hub.add_papers(corpus)
    pids = list(hub._storage.papers.ids_of([p.arxiv_id for p in corpus]).values())  # noqa: SLF001
    store, dim = hub._storage.vectors, 8  # noqa: SLF001
    rng = np.random.default_rng(3)
    vecs = rng.standard_normal((len(pids), dim)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    index = VectorIndex(store, "test", dim)
    stop, wrong = threading.Event(), []

    def search() -> None:
        known = dict(zip(pids, vecs, strict=True))
        while not stop.is_set():
            q = vecs[rng.integers(len(vecs))]
            try:
                for pid, score in index.exact_search(q, 50):
                    if pid not in known or not score >= float(known[pid] @ q) - 1e-5:
                        wrong.append((pid, score))
            except Exception as e:  # noqa: BLE001 - reported by the test
                wrong.append(e)
                return

    threads = [threading.Thread(target=search) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        for start in range(0, len(pids), 100):
            chunk = range(start, start + 100)
            store.put("test", [(pids[i], "h", vecs[i]) for i in chunk])
            store.put(passages_key("test"), [(pids[i], "h", np.stack([vecs[i], -vecs[i]])) for i in chunk])
            index.refresh()
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not wrong, wrong[:5]


def test_closing_the_hub_stops_the_index_thread_first(db_url: str) -> None:
    """The in-memory index's background thread holds a database connection while it catches up,
    and so does the trend charts' preload: a closed Hub has stopped both, so no connection is left
    behind when the database goes away (on PostgreSQL it was, and the garbage collector warned
    of it during a later test)."""
    hub = hub_at(db_url, embedder="none")
    hub.add_papers([paper(f"2401.{n:05d}", title=f"Paper {n}") for n in range(1, 200)])
    hub.warm_up()
    hub.close()
    assert not [t for t in threading.enumerate() if t.name in ("broadsheet-bm25", "broadsheet-months") and t.is_alive()]
