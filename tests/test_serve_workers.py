"""`broadsheet serve --workers N`: real uvicorn worker processes on one port, each answering
requests, the background work elected to one of them, and a killed worker neither stopping the
site nor its background work (another worker takes the duty over)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from helpers import hub_at

from broadsheet.demo import load_demo_papers
from broadsheet.web.workers import BackgroundDuty

ELECTED = re.compile(r"\[(\d+)\] INFO \S+: background work .* runs in this process \(pid (\d+)\)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answer(url: str) -> tuple[int, int]:
    """(status, pid of the worker that answered)."""
    with urllib.request.urlopen(url, timeout=30) as r:  # noqa: S310 - a local test server
        r.read()
        return r.status, int(r.headers["X-Broadsheet-Worker"])


def _ppid(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"


def _wait(what: str, check, timeout: float = 90.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, what
        time.sleep(0.2)
    return found


def test_two_workers_serve_one_runs_the_background_and_a_killed_one_is_replaced(db_url: str, tmp_path: Path) -> None:
    hub = hub_at(db_url, embedder="none")
    hub.add_papers(p for p, _ in load_demo_papers()[:16])
    hub.close()
    port = _free_port()
    log = tmp_path / "serve.log"
    env = {
        **os.environ, "BROADSHEET_DATABASE_URL": "", "BROADSHEET_EMBEDDER": "none", "BROADSHEET_SCHEDULE": "",
        "BROADSHEET_INDEX_DIR": str(tmp_path / "index"), "BROADSHEET_SERVE_PID_HEADER": "1",
    }  # fmt: skip
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "broadsheet", "--db", db_url, "serve", "--workers", "2", "--port", str(port)],
            env=env, stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:

        def answered() -> bool:
            try:
                return _answer(base + "/healthz")[0] == 200
            except OSError:
                assert server.poll() is None, log.read_text()
                return False

        _wait("the server did not start", answered)
        # Both workers answer: concurrent requests are spread over them by the kernel.
        seen: set[int] = set()
        with ThreadPoolExecutor(8) as pool:

            def both() -> bool:
                for status, pid in pool.map(lambda _: _answer(base + "/search?q=protein"), range(16)):
                    assert status == 200
                    seen.add(pid)
                return len(seen) >= 2

            _wait(f"only {seen} answered", both, timeout=60)
        assert len(seen) == 2 and all(_ppid(pid) == server.pid for pid in seen) and server.pid not in seen

        # The background work runs in exactly one of them.
        first = _wait("no worker took the background work", lambda: ELECTED.findall(log.read_text()))
        assert len(first) == 1 and first[0][0] == first[0][1] and int(first[0][0]) in seen
        elected = int(first[0][0])

        # Kill it: the site keeps answering, and another process takes the background work over.
        os.kill(elected, signal.SIGKILL)
        _wait("the killed worker is still there", lambda: not _alive(elected), timeout=10)
        for _ in range(10):
            status, pid = _answer(base + "/search?q=protein")
            assert status == 200 and pid != elected
        again = _wait("nobody took the background work over", lambda: ELECTED.findall(log.read_text())[1:], timeout=60)
        assert len(again) == 1 and int(again[0][0]) != elected and _alive(int(again[0][0]))
        time.sleep(1)
        assert len(ELECTED.findall(log.read_text())) == 2  # the survivor alone, not every worker
    finally:
        server.terminate()
        server.wait(timeout=60)
    assert server.returncode == 0, log.read_text()[-3000:]
    assert all(not _alive(pid) for pid in seen)


def test_background_duty_elects_one_holder_and_passes_it_on(tmp_path: Path) -> None:
    """In one process (flock locks are per open file, so two duties here contend as two processes
    would): the first gets the lock, the second waits and takes over when the first stops."""
    started: list[str] = []
    a = BackgroundDuty(tmp_path, lambda: started.append("a"), retry=0.05)
    b = BackgroundDuty(tmp_path, lambda: started.append("b"), retry=0.05)
    a.begin()
    assert a.elected.wait(5)
    b.begin()
    time.sleep(0.3)
    assert started == ["a"] and not b.elected.is_set()
    a.stop()
    assert b.elected.wait(5)
    assert started == ["a", "b"]
    b.stop()
