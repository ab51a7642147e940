"""Many processes on one database, as several app servers and workers on one PostgreSQL (and on
one SQLite file): exact vote counts, one holder of a lock, one worker running a job."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime

import pytest
from helpers import Clock, hub_at
from replay import Fault
from web_helpers import NOW, PASSWORD, site_hub

from broadsheet.hub import Hub

PROCESSES = 4
USERS_EACH = 3
HF = "/api/daily_papers"


def _python(code: str, url: str, **env: str) -> subprocess.Popen[str]:
    """A Python process running ``code`` with a Hub on ``url`` as ``hub``."""
    prelude = textwrap.dedent(
        """
        import os, sys, time
        from broadsheet.config import load_settings
        from broadsheet.hub import make_hub
        hub = make_hub(load_settings(env={}, database_url=os.environ["TEST_DB"], embedder="none"))
        """
    )
    return subprocess.Popen(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        env={**os.environ, "TEST_DB": url, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_votes_from_many_processes_at_once_are_counted_exactly(db_url: str) -> None:
    hub = site_hub(db_url)
    for n in range(PROCESSES * USERS_EACH):
        hub.create_user(f"u{n:02d}", PASSWORD)
    papers = [p.arxiv_id for p in hub.get_newest_papers(limit=10)]
    before = {a: hub.get_paper(a).upvotes for a in papers}
    start = time.time() + 3  # every process starts voting at this moment
    procs = [
        _python(
            f"""
            papers = {papers!r}
            mine = [hub.get_user(f"u{{n:02d}}") for n in range({p * USERS_EACH}, {(p + 1) * USERS_EACH})]
            ada = hub.get_user("ada")
            while time.time() < {start}:
                time.sleep(0.005)
            for i, paper in enumerate(papers):
                for user in mine:
                    hub.set_vote(user, paper)
                hub.set_vote(ada, paper)  # every process votes as ada: still one vote
                if i % 2 == 0:  # the first of this process's users changes their mind
                    hub.set_vote(mine[0], paper, on=False)
                    hub.set_vote(mine[0], paper, on=True)
                    hub.set_vote(mine[0], paper, on=False)
            print("done")
            """,
            db_url,
        )
        for p in range(PROCESSES)
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0 and out.strip() == "done", err
    for i, arxiv_id in enumerate(papers):
        expected = PROCESSES * USERS_EACH + 1 - (PROCESSES if i % 2 == 0 else 0)
        assert hub.get_paper(arxiv_id).upvotes == before[arxiv_id] + expected, arxiv_id


def test_a_lock_has_one_holder_across_processes_and_a_killed_holder_frees_it(db_url: str) -> None:
    hub = hub_at(db_url, embedder="none")
    holder = _python(
        """
        with hub.exclusive("job:test") as lock:
            assert lock is not None
            print("held", flush=True)
            time.sleep(120)
        """,
        db_url,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held", holder.stderr
        with hub.exclusive("job:test") as lock:
            assert lock is None  # the other process has it
        assert hub.digest_status()["sender"] is None  # another lock: free
        with hub.exclusive("job:other") as lock:
            assert lock is not None and lock.keep()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.communicate(timeout=30)
    # PostgreSQL frees a dead session's locks; on SQLite the lease names a process that is gone.
    deadline = time.monotonic() + 10
    while True:
        with hub.exclusive("job:test") as lock:
            if lock is not None:
                break
        assert time.monotonic() < deadline, "the killed holder's lock was never freed"
        time.sleep(0.1)


def test_the_outbox_holder_is_shown(db_url: str) -> None:
    hub: Hub = hub_at(db_url, Clock(NOW), embedder="none")
    assert hub._hold_outbox()  # noqa: SLF001 - what a sender does while it sends
    try:
        assert hub.digest_status()["sender"] == hub._holder  # noqa: SLF001
    finally:
        hub._release_outbox()  # noqa: SLF001
    assert hub.digest_status()["sender"] is None


@pytest.mark.slow
def test_two_workers_at_once_run_a_job_once(db_url: str, replay) -> None:
    """Two `broadsheet worker --once` processes start together; the job's first request is held
    by the replay server, so the first worker is mid-job while the second decides: it leaves it."""
    hub_at(db_url, embedder="none").close()  # migrated before the workers start
    replay.fail(Fault("block", path=HF))
    env = {
        "BROADSHEET_DATABASE_URL": db_url, "BROADSHEET_EMBEDDER": "none", "BROADSHEET_HF_API_URL": replay.url + HF,
        "BROADSHEET_HF_DELAY": "0", "BROADSHEET_HF_DAYS": "1", "BROADSHEET_SCHEDULE": "sync-hf-daily=00:00", "BROADSHEET_ARXIV_ENRICH": "false",
        "BROADSHEET_SYNC_RETRIES": "0", "BROADSHEET_SYNC_EMBED": "false",
    }  # fmt: skip
    command = [sys.executable, "-m", "broadsheet", "worker", "--once", "--job", "sync-hf-daily"]
    workers = [subprocess.Popen(command, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    try:
        replay.wait_for(lambda e: e.path.startswith(HF), timeout=60)
        idle = None
        deadline = time.monotonic() + 60
        while idle is None and time.monotonic() < deadline:  # one worker finishes while the other waits
            idle = next((w for w in workers if w.poll() is not None), None)
            time.sleep(0.05)
        assert idle is not None, "neither worker stepped aside"
        out, err = idle.communicate(timeout=10)
        assert idle.returncode == 0, err
        assert "sync-hf-daily:" not in out  # it ran nothing
    finally:
        replay.release()
    busy = next(w for w in workers if w is not idle)
    out, err = busy.communicate(timeout=60)
    assert "sync-hf-daily:" in out, out + err
    assert len(replay.requests(HF)) == 1


def test_a_held_lock_outlives_its_lease_while_the_work_goes_on(db_url: str) -> None:
    """SQLite's lease expires after ``digest_lease_seconds`` unless renewed: ``exclusive`` renews it
    while its block runs, so a second worker never starts a job that is still running."""
    def now() -> datetime:
        return datetime.now(UTC).replace(tzinfo=None)

    first = hub_at(db_url, now, embedder="none", digest_lease_seconds=0.4)  # type: ignore[arg-type]
    second = hub_at(db_url, now, embedder="none", digest_lease_seconds=0.4)  # type: ignore[arg-type]
    with first.exclusive("job:long") as held:
        assert held is not None
        for _ in range(8):  # 1.6 s: four leases' worth
            time.sleep(0.2)
            with second.exclusive("job:long") as other:
                assert other is None
    with second.exclusive("job:long") as other:
        assert other is not None  # released at the end of the block
