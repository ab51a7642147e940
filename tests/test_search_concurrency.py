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
    corpus = _papers(1200)
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
    missed = []
    for p in corpus:
        top = [h.paper.arxiv_id for h in hub.search(p.title, mode="lexical", limit=10).hits]
        if p.arxiv_id not in top[:3]:
            missed.append((p.arxiv_id, p.title, top[:3]))
    assert not missed, f"{len(missed)} of {len(corpus)} papers not found by their title, e.g. {missed[:3]}"
    assert index.status().current  # answered by the in-memory index, not the fallback
