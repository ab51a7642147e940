"""Bulk commands make way for a server on the same machine: ``broadsheet ingest`` runs at a lower
CPU priority (a real process, observed from outside while it ingests; Linux)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from broadsheet.ingest import BULK_NICE


@pytest.mark.skipif(not hasattr(os, "getpriority") or not Path("/proc").is_dir(), reason="Linux process priorities")
def test_cli_ingest_runs_below_a_server(tmp_path: Path) -> None:
    source = tmp_path / "papers.jsonl"
    with source.open("w") as f:  # enough to take a few seconds: the test looks at the running process
        for i in range(3000):
            record = {"arxiv_id": f"2401.{i:05d}", "title": f"Paper {i}", "abstract": "An abstract " * 20, "authors": ["A. Author"], "categories": ["cs.LG"]}
            f.write(json.dumps(record) + "\n")
    cmd = [sys.executable, "-m", "broadsheet", "--db", f"sqlite:///{tmp_path / 'db.sqlite3'}", "ingest", str(source)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        mine = os.getpriority(os.PRIO_PROCESS, 0)
        deadline, seen = time.monotonic() + 30, mine
        while time.monotonic() < deadline and proc.poll() is None:
            seen = os.getpriority(os.PRIO_PROCESS, proc.pid)
            if seen >= max(mine, BULK_NICE):
                break
            time.sleep(0.05)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err.decode()
    assert seen == max(mine, BULK_NICE)
