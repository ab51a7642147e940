"""The BM25 index as files: it ranks as FTS5 and the in-memory index do, opens without a build,
takes in new and changed papers as small segments (merged, rebuilt), is shared between processes,
survives a SIGKILL while writing, and is rebuilt when it does not belong to the database.
Real SQLite and PostgreSQL, real subprocesses."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from broadsheet.demo import load_demo_papers
from broadsheet.search import lexical, lexical_files
from broadsheet.search.index_files import IndexFiles
from broadsheet.search.lexical import BM25Index
from broadsheet.search.lexical_files import NAME, FileLexicalIndex
from broadsheet.search.query import parse_query
from broadsheet.storage.fulltext import query_terms

from helpers import Clock, hub_at, paper

REPO = Path(__file__).resolve().parent.parent
QUERIES = [
    "diffusion models for video generation",
    "large language model reasoning benchmark",
    "agents",
    "reinforcement learning from human feedback",
    "efficient attention kernels on GPUs",
    "Müller",
    "zeolite perovskite catalysts",
]


def _demo() -> list:
    return [item for pair in load_demo_papers() for item in pair]


def _files_index(hub) -> FileLexicalIndex:  # noqa: ANN001 - a Hub
    return hub._search.lexical_files()  # noqa: SLF001 - the index the Hub would make


def _same(got: list[tuple[int, float]] | None, expected: list[tuple[int, float]], rtol: float = 1e-6) -> None:
    assert got is not None
    assert [p for p, _ in got] == [p for p, _ in expected]
    assert np.allclose([s for _, s in got], [s for _, s in expected], rtol=rtol)


def test_scores_equal_fts5_and_the_in_memory_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite only: FTS5's bm25() is the reference. Small build chunks and passes: the chunked,
    bounded-memory build path is the one tested."""
    from broadsheet.search import lexical_segments

    monkeypatch.setattr(lexical_segments, "BUILD_CHUNK", 7)
    monkeypatch.setattr(lexical_segments, "PASS_POSTINGS", 300)
    h = hub_at(f"sqlite:///{tmp_path / 'hub.sqlite3'}", embedder="none")
    h.add_papers(_demo())
    h.add_papers([paper("2401.00001", title="Über Müller's Poincar\\'e lemma", abstract="Schrödinger bridges and co-operative agents.")])
    fulltext = h._storage.fulltext  # noqa: SLF001
    report = h.update_lexical_index()
    assert report.built and report.papers == 65 and report.segments == 1
    index = _files_index(h)
    index.start()
    assert index.ready and index.builds == 0  # opened, not built
    memory = BM25Index()
    memory.build(fulltext.documents())
    for q in QUERIES[:-1]:
        query = parse_query(q)
        expected = fulltext.search(query, 20)
        assert expected, q
        _same(index.search(query_terms(query), 20), expected, rtol=1e-4)
        _same(index.search(query_terms(query), 20), memory.search(query_terms(query), 20))
        allowed = {pid for pid, _ in expected[::2]}
        _same(index.search(query_terms(query), 20, allowed), memory.search(query_terms(query), 20, allowed))
        assert sorted(index.matching_ids(query_terms(query)).tolist()) == sorted(memory.matching_ids(query_terms(query)).tolist())
    index.close()


def test_new_and_changed_papers_become_small_segments(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lexical, "REBUILD_SHARE", 10.0)  # no rebuild in this test
    clock = Clock()
    h = hub_at(db_url, clock, embedder="none")
    try:
        h.add_papers(_demo())
        index = _files_index(h)
        index.start(wait=True)
        assert index.wait_until_current(timeout=30)
        memory = BM25Index()
        memory.build(h._storage.fulltext.documents())  # noqa: SLF001
        assert index.search(["zeolite"], 5) == []
        clock.now = clock.now.replace(minute=5)
        h.add_papers([paper("2401.00007", title="Zeolite catalysts", abstract="Porous zeolite frameworks for agents.")])
        assert index.search(["zeolite"], 5) is None  # behind the database: the caller asks it instead
        assert index.wait_until_current(timeout=30)
        pid = h._storage.papers.ids_of(["2401.00007"])["2401.00007"]  # noqa: SLF001
        assert [p for p, _ in index.search(["zeolite"], 5)] == [pid]
        assert len(index.generation.segments) == 2 and index.builds == 1
        clock.now = clock.now.replace(minute=10)
        h.add_papers([paper("2401.00007", version=2, title="Perovskite catalysts", abstract="Layered perovskite oxides.")])
        assert index.wait_until_current(timeout=30)
        assert index.search(["zeolite"], 5) == []  # the old entry is masked
        assert [p for p, _ in index.search(["perovskite"], 5)] == [pid]
        assert index.status().papers == 65 and index.builds == 1
        memory.update(list(h._storage.fulltext.documents()))  # noqa: SLF001 - the same delta in memory
        allowed = {pid} | set(range(1, 65, 3))  # a filter: the changed paper (in a small segment) and some of the base
        for q in QUERIES:
            terms = query_terms(parse_query(q))
            _same(index.search(terms, 20), memory.search(terms, 20))
            _same(index.search(terms, 20, allowed), memory.search(terms, 20, allowed))
        assert [p for p, _ in index.search(["perovskite"], 5, {pid})] == [pid]
        assert index.search(["perovskite"], 5, {pid + 1000}) == []
        assert index.refresh() == 0  # nothing changed since
        index.close()
    finally:
        h.close()


def test_small_segments_are_merged_and_a_big_delta_rebuilds(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lexical, "REBUILD_SHARE", 10.0)
    monkeypatch.setattr(lexical_files, "MAX_SEGMENTS", 2)
    clock = Clock()
    h = hub_at(db_url, clock, embedder="none")
    try:
        demo = _demo()
        h.add_papers(demo[:30])
        index = _files_index(h)
        index.update()
        for i, start in enumerate(range(30, 62, 4)):  # eight rounds of new papers (some changed again)
            clock.now = clock.now.replace(minute=i + 1)
            h.add_papers(demo[start : start + 4])
            h.add_papers([paper("2401.00007", version=i + 1, title=f"Zeolite {i}", abstract=f"Porous agents round {i}.")])
            index.update()
            assert len(index.generation.segments) <= 1 + 3
        gen = index.generation
        assert index.builds == 1 and gen.papers == h._storage.fulltext.paper_count()  # noqa: SLF001
        pid = h._storage.papers.ids_of(["2401.00007"])["2401.00007"]  # noqa: SLF001
        assert [p for p, _ in index.search(["zeolite"], 5)] == [pid]
        assert index.search(["round"], 5)[0][0] == pid and len(index.search(["round"], 5)) == 1  # older texts masked
        # A rebuild with fresh statistics once the delta passes REBUILD_SHARE:
        monkeypatch.setattr(lexical, "REBUILD_SHARE", 0.2)
        clock.now = clock.now.replace(minute=30)
        h.add_papers([paper("2401.00009", title="Zeolite again")])
        index.update()
        assert index.builds == 2 and len(index.generation.segments) == 1
        fresh = BM25Index()
        fresh.build(h._storage.fulltext.documents())  # noqa: SLF001
        for q in QUERIES:
            terms = query_terms(parse_query(q))
            _same(index.search(terms, 20), fresh.search(terms, 20))
        names = {p.name for p in index.files.root.iterdir()}
        assert names == {"lexical.json", "lexical.lock", index.generation.path.name}  # old generations removed
    finally:
        h.close()


def test_a_reader_maps_what_the_writer_publishes(db_url: str) -> None:
    """Two indexes on one folder, as two server processes: the one without the writer lock
    answers from the database until the writer publishes, then from the new generation."""
    clock = Clock()
    h = hub_at(db_url, clock, embedder="none")
    try:
        h.add_papers(_demo())
        writer, reader = _files_index(h), _files_index(h)
        writer.update()
        reader.start()
        assert reader.ready and reader.builds == 0
        files = IndexFiles(writer.files.root)
        # As if another process wrote: the reader cannot. The lock is taken before the new paper
        # arrives, because the reader's first round (started above) may run only now and, seeing
        # itself behind, would take the lock and write.
        with files.writer(NAME) as held:
            assert held
            clock.now = clock.now.replace(minute=5)
            h.add_papers([paper("2401.00007", title="Zeolite catalysts")])
            assert reader.search(["zeolite"], 5) is None
            time.sleep(0.1)
            assert reader.search(["zeolite"], 5) is None  # still behind: it waited, did not write
            writer._write()  # noqa: SLF001 - the writer's round (the test holds its lock for it)
            deadline = time.monotonic() + 5
            while (found := reader.search(["zeolite"], 5)) is None and time.monotonic() < deadline:
                time.sleep(0.1)
        assert found and reader.builds == 0 and reader.generation.generation == writer.generation.generation
        reader.close()
    finally:
        h.close()


_KILLED_WRITER = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {tests!r})
    from helpers import Clock, hub_at, paper
    from broadsheet.search import lexical_files, lexical_segments

    write_small = lexical_segments.write_small
    def slow(*args, **kwargs):
        n = write_small(*args, **kwargs)
        print("segment written", flush=True)
        time.sleep(60)  # killed here: a segment in a temporary folder, not published
        return n
    lexical_files.write_small = slow
    hub = hub_at({url!r}, Clock(), embedder="none", index_dir={root!r})
    index = hub._search.lexical_files()
    index.update()
    """
)


def test_a_writer_killed_while_writing_leaves_the_last_committed_index(db_url: str) -> None:
    clock = Clock()
    h = hub_at(db_url, clock, embedder="none")
    try:
        h.add_papers(_demo())
        h.update_lexical_index()
        root = _files_index(h).files.root
        before = json.loads((root / "lexical.json").read_text())
        clock.now = clock.now.replace(minute=5)
        h.add_papers([paper("2401.00007", title="Zeolite catalysts")])
        script = _KILLED_WRITER.format(tests=str(REPO / "tests"), url=h.settings.database_url, root=str(root))
        env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
        proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env)
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "segment written"
            assert any(p.name.endswith(".tmp") for p in root.iterdir())  # it was writing
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
            proc.stdout.close()  # type: ignore[union-attr]
        assert json.loads((root / "lexical.json").read_text()) == before  # the last committed state
        index = _files_index(h)
        index.start()
        assert index.ready and index.generation.generation == before["generation"]
        assert index.search(["zeolite"], 5) is None  # behind: the database answers meanwhile
        assert index.wait_until_current(timeout=30)  # the lock died with the killed writer
        assert len(index.search(["zeolite"], 5)) == 1 and index.builds == 0
        assert not any(p.name.endswith(".tmp") for p in root.iterdir())  # its leftovers removed
        index.close()
    finally:
        h.close()


def test_files_of_another_database_or_version_are_rebuilt(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    h = hub_at(db_url, embedder="none")
    other = hub_at(f"sqlite:///{tmp_path / 'other.sqlite3'}", embedder="none", index_dir=str(tmp_path / "shared-index"))
    try:
        h.add_papers(_demo())
        other.add_papers(_demo()[:10])
        other.update_lexical_index()  # files of another database, in the folder h will use
        index = FileLexicalIndex(h._storage.fulltext, IndexFiles(tmp_path / "shared-index"), lambda: h._storage.sync_state.database_id(Clock()()))  # noqa: SLF001
        index._look(force=True)  # noqa: SLF001 - what start() maps first
        assert not index.ready  # not used: search ranks in the database
        assert index.search(["agents"], 5) is None
        index.start(wait=True)
        assert index.builds == 1 and index.status().papers == 64
        index.close()
        monkeypatch.setattr(lexical_files, "FORMAT", 2)  # files of an older format
        again = FileLexicalIndex(h._storage.fulltext, IndexFiles(tmp_path / "shared-index"), lambda: h._storage.sync_state.database_id(Clock()()))  # noqa: SLF001
        again._look(force=True)  # noqa: SLF001
        assert not again.ready
        again.start(wait=True)
        assert again.builds == 1
        again.close()
    finally:
        h.close()
        other.close()


def test_a_restored_older_backup_is_detected(tmp_path: Path) -> None:
    """SQLite: the database file goes back to an earlier copy; its index is newer than it."""
    clock = Clock()
    db = tmp_path / "hub.sqlite3"
    h = hub_at(f"sqlite:///{db}", clock, embedder="none")
    h.add_papers(_demo()[:40])
    h.update_lexical_index()
    backup = tmp_path / "backup.sqlite3"
    with sqlite3.connect(db) as src, sqlite3.connect(backup) as dst:
        src.backup(dst)
    clock.now = clock.now.replace(minute=5)
    h.add_papers(_demo()[40:])
    assert h.update_lexical_index().papers == 64
    h.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    backup.rename(db)  # restored
    h = hub_at(f"sqlite:///{db}", clock, embedder="none")
    try:
        index = _files_index(h)
        index._look(force=True)  # noqa: SLF001
        assert not index.ready  # newer than the database: not used
        report = h.update_lexical_index()
        assert report.built and report.papers == 20  # its 20 papers (40 items: papers and listings)
    finally:
        h.close()


def test_hub_search_with_files_ranks_as_in_memory(backend: str, db_url: str) -> None:
    files = hub_at(db_url, embedder="none", lexical_index="files")
    memory = hub_at(db_url, embedder="none", lexical_index="memory")
    try:
        files.add_papers(_demo())
        files.warm_up(wait=True)
        memory.warm_up(wait=True)
        status = files.search_index_status()
        assert status is not None and status.ready and status.papers == 64
        for q in ["diffusion video", "agents -web", "\"language models\" reasoning"]:
            got = files.search(q, mode="lexical", limit=20).hits
            expected = memory.search(q, mode="lexical", limit=20).hits
            assert got and [x.paper.arxiv_id for x in got] == [x.paper.arxiv_id for x in expected], q
            assert np.allclose([x.lexical_score for x in got], [x.lexical_score for x in expected], rtol=1e-6)
        if backend == "postgresql":  # per app server: a folder of its own, not beside a database
            assert not str(files.settings.resolved_index_dir()).endswith(".index")
    finally:
        files.close()
        memory.close()


def test_cli_index_lexical_builds_then_updates(tmp_path: Path) -> None:
    db = tmp_path / "hub.sqlite3"
    h = hub_at(f"sqlite:///{db}", embedder="none")
    h.add_papers(_demo())
    h.close()
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    run = [sys.executable, "-m", "broadsheet", "--db", str(db), "index", "--lexical"]
    first = subprocess.run(run, capture_output=True, text=True, env=env, timeout=120)
    assert first.returncode == 0, first.stderr
    assert "built" in first.stdout and "64 papers" in first.stdout
    assert "BM25 index 64 / 64 (100 %)" in first.stderr  # the progress, as lines (not a terminal)
    second = subprocess.run(run, capture_output=True, text=True, env=env, timeout=120)
    assert "updated" in second.stdout and "(0 written now)" in second.stdout
    assert (tmp_path / "hub.sqlite3.index" / "lexical.json").exists()
