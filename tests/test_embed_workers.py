"""`broadsheet index` shared by several processes over one database (SQLite and PostgreSQL): the
workers claim disjoint batches, every paper gets one vector, a killed worker's batch is taken
over, and `index --status` says where everyone is. The processes are real; the embedder is the
tests' fast hashing one (tests/embedder_fixture.py), slowed down where a test needs a worker to
be caught in the middle of a batch."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from helpers import Clock, hub_at
from sqlalchemy import create_engine, func, select, text

from broadsheet.demo import load_demo_papers
from broadsheet.search.embedders import document_text, passages_key
from broadsheet.storage.embed_queue import LostClaim
from broadsheet.storage.schema import embed_batches, embed_workers, embeddings

TESTS = Path(__file__).parent
EMBEDDER = "python:embedder_fixture:HashEmbedder"
MODEL = "test-hash-64"
KINDS = (MODEL, passages_key(MODEL))


def _load_demo(url: str) -> list[str]:
    """The demo's 64 papers in the database; returns the texts their whole vectors are made of."""
    hub = hub_at(url, embedder="none")
    papers = [p for p, _ in load_demo_papers()]
    hub.add_papers(papers)
    return [document_text(p.title, p.abstract) for p in papers]


def _env(log: Path, *, delay: float, batch: int, lease: float = 120.0) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BROADSHEET_")}
    return env | {
        "PYTHONPATH": os.pathsep.join([str(TESTS), *sys.path]),
        "BROADSHEET_EMBEDDER": EMBEDDER,
        "BROADSHEET_INDEX_BATCH_SIZE": str(batch),
        "BROADSHEET_INDEX_LEASE_SECONDS": str(lease),
        "BROADSHEET_TEST_EMBED_DELAY": str(delay),
        "BROADSHEET_TEST_EMBED_LOG": str(log),
    }


def _index(url: str, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "broadsheet", "--db", url, "index", *args],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _finish(proc: subprocess.Popen[str], timeout: float = 120) -> str:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err
    return out


def _embedded_by(log: Path) -> dict[int, list[str]]:
    """The texts each process embedded (the fixture's log: a file per pid)."""
    return {int(f.stem): f.read_text(encoding="utf-8").splitlines() for f in log.glob("*.txt")}


def _rows(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            per_model = dict(conn.execute(select(embeddings.c.model, func.count()).group_by(embeddings.c.model)).all())
            per_model["written"] = conn.execute(select(func.sum(embed_workers.c.written))).scalar_one()
            return per_model
    finally:
        engine.dispose()


def _written_by_each(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return dict(conn.execute(select(embed_workers.c.worker, embed_workers.c.written)).all())
    finally:
        engine.dispose()


def test_two_workers_embed_disjoint_halves_and_every_paper_once(db_url: str, tmp_path: Path) -> None:
    texts = _load_demo(db_url)
    log = tmp_path / "log"
    log.mkdir()
    env = _env(log, delay=0.05, batch=4)  # 6 s of work for one: both start well within it
    first, second = _index(db_url, env), _index(db_url, env)
    outs = [_finish(first), _finish(second)]

    by_pid = _embedded_by(log)
    assert set(by_pid) == {first.pid, second.pid}  # both took part
    whole = {pid: [t for t in done if t in set(texts)] for pid, done in by_pid.items()}
    assert sorted(whole[first.pid] + whole[second.pid]) == sorted(texts)  # every paper, once
    assert not set(whole[first.pid]) & set(whole[second.pid])  # disjoint
    everything = {pid: set(done) for pid, done in by_pid.items()}
    assert not everything[first.pid] & everything[second.pid]  # passages too
    # the rows each wrote (counted with them): halves, give or take the start of the later one
    each = _written_by_each(db_url)
    assert sum(each.values()) == 2 * len(texts) and min(each.values()) >= len(texts) // 2, each
    # what each says it embedded, and what each wrote (counted with the rows), add up to the rows
    said = [int(o.split()[0]) for o in outs]
    assert sum(said) >= len(texts) and all(n > 0 for n in said)
    rows = _rows(db_url)
    assert rows[MODEL] == rows[KINDS[1]] == len(texts)
    assert rows["written"] == 2 * len(texts)  # no vector written twice

    status = subprocess.run(
        [sys.executable, "-m", "broadsheet", "--db", db_url, "index", "--status"],
        env=env, capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    assert "64 of 64 papers have a current vector (100 %) (test-hash-64); passages: 64" in status
    assert "workers: 0 live of 2" in status
    assert "done: every paper has a current vector" in status
    for proc in (first, second):
        assert f":{proc.pid}:" in status and "finished" in status
    data = json.loads(subprocess.run(
        [sys.executable, "-m", "broadsheet", "--db", db_url, "index", "--status", "--json"],
        env=env, capture_output=True, text=True, timeout=60, check=True,
    ).stdout)  # fmt: skip
    assert (data["embedded"], data["remaining"], data["live_workers"], data["eta_seconds"]) == (64, 0, 0, None)
    assert sorted(w["written"] for w in data["workers"]) == sorted(each.values())


def _stop_mid_batch(url: str, proc: subprocess.Popen[str], other: subprocess.Popen[str] | None = None) -> int:
    """Wait until ``proc`` has finished a batch and holds another it has not finished (and
    ``other`` has joined the work), and stop it there (SIGSTOP); returns that batch's id."""
    engine = create_engine(url)
    mine = embed_batches.c.worker.like(f"%:{proc.pid}:%")
    joined = embed_workers.c.worker.like(f"%:{other.pid if other else proc.pid}:%")
    deadline = time.monotonic() + 60
    try:
        with engine.connect() as conn:
            while True:
                assert proc.poll() is None and time.monotonic() < deadline, "the worker never held a batch"
                done = conn.execute(select(func.count()).where(mine, embed_batches.c.done_at.is_not(None))).scalar_one()
                held = conn.execute(select(embed_batches.c.id).where(mine, embed_batches.c.done_at.is_(None))).first()
                there = conn.execute(select(func.count()).where(joined)).scalar_one()
                conn.rollback()
                if done and held and there:
                    proc.send_signal(signal.SIGSTOP)
                    break
                time.sleep(0.01)
            # still held once it is stopped? (it may have finished the batch in between: look again)
            held = conn.execute(select(embed_batches.c.id).where(mine, embed_batches.c.done_at.is_(None))).first()
            if held is None:
                proc.send_signal(signal.SIGCONT)
                return _stop_mid_batch(url, proc, other)
            return held[0]
    finally:
        engine.dispose()


def _batch(url: str, batch_id: int):  # noqa: ANN202 - a Row
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(embed_batches).where(embed_batches.c.id == batch_id)).one()
    finally:
        engine.dispose()


def _real_clock() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def test_two_workers_survive_a_sigkill_of_one_mid_batch(db_url: str, tmp_path: Path) -> None:
    texts = _load_demo(db_url)
    log = tmp_path / "log"
    log.mkdir()
    env = _env(log, delay=0.05, batch=6, lease=1.5)  # a batch takes 0.3 s
    doomed, survivor = _index(db_url, env), _index(db_url, env)
    try:
        batch = _stop_mid_batch(db_url, doomed, survivor)
        # where everyone is, seen from a third process (the Hub behind `index --status`)
        status = hub_at(db_url, _real_clock, embedder=EMBEDDER, index_lease_seconds=1.5).backfill_status()  # type: ignore[arg-type]
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(10)
    except BaseException:
        survivor.kill()
        survivor.communicate()
        raise
    finally:
        doomed.kill()
        doomed.communicate()  # and close its pipes
    assert status is not None and 0 < status.embedded < 64 and status.remaining > 0
    assert status.live_workers == 2 and status.batches_claimed >= 1 and status.batches_waiting > 0
    assert status.rate and status.rate > 0 and status.eta_seconds and status.eta_seconds > 0
    _finish(survivor)

    taken = _batch(db_url, batch)
    assert f":{survivor.pid}:" in taken.worker and taken.done_at is not None  # the dead one's batch
    rows = _rows(db_url)
    assert rows[MODEL] == rows[KINDS[1]] == len(texts)  # no paper skipped
    assert rows["written"] == 2 * len(texts)  # none written twice: what the dead one wrote was kept
    by_pid = _embedded_by(log)
    assert sorted(set(by_pid[doomed.pid] + by_pid[survivor.pid]) & set(texts)) == sorted(texts)


def test_a_stalled_worker_s_lease_expires_and_its_late_write_is_refused(db_url: str, tmp_path: Path) -> None:
    """Stopped (not dead: its process is there) past its lease, as a machine that froze: another
    worker takes its batch when the lease expires; when it wakes, the batch it embedded is no
    longer its own and nothing of it is written."""
    texts = _load_demo(db_url)
    log = tmp_path / "log"
    log.mkdir()
    env = _env(log, delay=0.03, batch=6, lease=1.5)
    stalled = _index(db_url, env)
    try:
        batch = _stop_mid_batch(db_url, stalled)
        survivor = _index(db_url, env | {"BROADSHEET_TEST_EMBED_DELAY": "0.002"})
        _finish(survivor)  # it waits for the lease to expire, then takes the batch
        assert f":{survivor.pid}:" in _batch(db_url, batch).worker
        stalled.send_signal(signal.SIGCONT)
        _finish(stalled)  # it goes on, finds nothing left, and ends normally
    finally:
        stalled.kill()
        stalled.communicate()
    rows = _rows(db_url)
    assert rows[MODEL] == rows[KINDS[1]] == len(texts)
    assert rows["written"] == 2 * len(texts)  # its late write was refused, not counted or stored


# -- in one process, with a clock in the test's hands -----------------------------------------------


def _hub(url: str, clock: Clock, **settings: object):  # noqa: ANN202 - a Hub
    return hub_at(url, clock, embedder=EMBEDDER, index_batch_size=8, index_lease_seconds=60.0, **settings)


def test_an_expired_lease_of_another_machine_is_taken_over_and_its_late_write_refused(db_url: str) -> None:
    texts = _load_demo(db_url)
    clock = Clock()
    hub = _hub(db_url, clock)
    storage = hub._storage  # noqa: SLF001 - the queue itself, as another machine's worker would use it
    queue, backfill = storage.embed_queue, hub._search.backfill  # noqa: SLF001
    hub._search.engine()  # noqa: SLF001 - loads the embedder
    embedder = hub._search.embedder  # noqa: SLF001
    assert backfill._plan(KINDS, 8) == 16  # noqa: SLF001 - 8 batches of each kind
    far = "elsewhere.example:4242:abcd"  # a worker on another machine: only its lease tells
    queue.join(far, MODEL, clock())
    claim = queue.claim(KINDS, far, clock(), clock() + timedelta(seconds=60))
    assert claim is not None and claim.model == MODEL

    assert backfill.run(embedder, wait=False) == 64  # every paper but the batch it holds, both kinds...
    rows = _rows(db_url)
    assert rows[MODEL] == 64 - 8 and rows[KINDS[1]] == 64
    assert hub.backfill_status().batches_claimed == 1  # ...which stays its own while the lease runs

    clock.now += timedelta(seconds=61)  # it stopped renewing: the lease expired
    assert backfill.run(embedder, wait=False) == 8
    assert _rows(db_url)[MODEL] == 64
    vector = embedder.embed([texts[0]])[0]
    with pytest.raises(LostClaim):  # the late worker's vectors are refused, not written a second time
        queue.write(claim, far, [(claim.first_id, "x", vector)], clock(), clock(), done=True)
    status = hub.backfill_status()
    assert (status.embedded, status.remaining, status.batches_done, status.batches_claimed) == (64, 0, 16, 0)
    assert [w.written for w in status.workers if w.worker == far] == [0]


def test_a_dead_process_of_this_host_loses_its_claim_at_once(db_url: str) -> None:
    _load_demo(db_url)
    clock = Clock()
    hub = _hub(db_url, clock)
    queue, backfill = hub._storage.embed_queue, hub._search.backfill  # noqa: SLF001
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    holder = f"{socket.gethostname()}:{dead.stdout.strip()}:dead"
    backfill._plan(KINDS, 8)  # noqa: SLF001
    queue.join(holder, MODEL, clock())
    assert queue.claim(KINDS, holder, clock(), clock() + timedelta(hours=1)) is not None
    hub.index_embeddings()  # no waiting for the lease: its holder is gone
    assert _rows(db_url)[MODEL] == 64
    assert {w.worker: w.state for w in hub.backfill_status().workers}[holder] == "died"


def test_stopping_early_gives_the_batch_back_and_the_rest_is_done_once(db_url: str) -> None:
    _load_demo(db_url)
    clock = Clock()
    hub = _hub(db_url, clock)
    steps: list[int] = []
    assert hub.index_embeddings(batch_size=3, keep_going=lambda n: steps.append(n) or len(steps) < 2) == 6
    status = hub.backfill_status()
    assert status.batches_claimed == 0 and status.embedded == 6  # the half-done batch is free again
    assert [w.state for w in status.workers] == ["stopped"]
    again = _hub(db_url, clock)  # another process: it embeds what is missing, the 6 are not redone
    assert again.index_embeddings() == 64  # 58 papers' whole vectors, and all 64 papers' passages
    rows = _rows(db_url)
    assert rows[MODEL] == rows[KINDS[1]] == 64
    assert rows["written"] == 128


def test_a_paper_changed_after_its_batch_is_planned_again(db_url: str) -> None:
    """A second run plans only what is stale: a changed abstract, a new paper."""
    from helpers import paper

    _load_demo(db_url)
    clock = Clock()
    hub = _hub(db_url, clock)
    hub.index_embeddings()
    first = hub.get_newest_papers(1)[0]
    hub.add_papers([paper(first.arxiv_id, title=first.title, abstract=first.abstract + " Revised."), paper("2612.00001")])
    assert hub.index_embeddings() == 2
    assert hub.backfill_status().remaining == 0
    assert _rows(db_url)[MODEL] == 65


@pytest.mark.parametrize("spec", ["python:no_such_module_xyz:E", "python:embedder_fixture:Nope", "python:embedder_fixture"])
def test_a_bad_python_embedder_is_named(spec: str, tmp_path: Path) -> None:
    from broadsheet.exceptions import InvalidInputError
    from broadsheet.search.embedders import embedder_name

    with pytest.raises(InvalidInputError, match="embedder 'python:"):
        embedder_name(spec)


def test_planning_cuts_stale_papers_into_runs(db_url: str) -> None:
    _load_demo(db_url)
    hub = hub_at(db_url, Clock(), embedder=EMBEDDER)
    runs = hub._storage.vectors.stale_ranges(MODEL, 10)  # noqa: SLF001
    assert [n for _, _, n in runs] == [10] * 6 + [4]
    assert all(a <= b for a, b, _ in runs) and all(runs[i][1] < runs[i + 1][0] for i in range(len(runs) - 1))
    engine = create_engine(db_url)
    with engine.connect() as conn:
        ids = [r[0] for r in conn.execute(text("SELECT id FROM papers ORDER BY id"))]
    engine.dispose()
    assert runs[0][0] == ids[0] and runs[-1][1] == ids[-1]


def test_a_second_planner_works_on_the_first_plan(db_url: str) -> None:
    """Two workers that find no plan at the same moment: the second's plan gives way, and it
    is told there is work (it once took "nothing planned" for "nothing to do" and quit)."""
    _load_demo(db_url)
    hub = hub_at(db_url, Clock(), embedder=EMBEDDER, index_batch_size=8)
    storage = hub._storage  # noqa: SLF001
    ranges = {m: storage.vectors.stale_ranges(m, 8) for m in KINDS}  # both read before either writes
    assert storage.embed_queue.plan(ranges, Clock()()) == 16
    assert storage.embed_queue.plan(ranges, Clock()()) == 16  # the plan that stands
    assert storage.embed_queue.open_batches(KINDS) == 16  # not planned twice


def test_distinct_ids_count_each_paper_once_in_a_bit_each() -> None:
    import random

    from broadsheet.search.backfill import DistinctIds

    seen = DistinctIds()
    rng = random.Random(7)
    ids = [rng.randrange(1, 3_000_000) for _ in range(20_000)]
    seen.update(ids[:10_000])
    seen.update(ids[5_000:])
    seen.update([1, 1, 2])
    assert len(seen) == len(set(ids) | {1, 2})
    assert len(seen._bits) <= 3_000_000 // 8 * 2  # noqa: SLF001 - a bit per id, grown by doubling
