"""Crash safety: SIGKILL an ingest part-way through real data; a re-run ends like a clean run.

The first 40,000 papers of the 100k file (eight batches of 5,000) keep the test within the suite's
time budget; the kill lands after at least two batches.
"""

from __future__ import annotations

import gzip
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

TABLES = ("papers", "paper_authors", "paper_categories", "papers_fts", "listings")
N = 40_000


def counts(db: Path) -> dict[str, int]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
    finally:
        con.close()


def ingest(db: Path, path: Path, stdout: int = subprocess.DEVNULL) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "broadsheet", "--db", str(db), "ingest", str(path)],
        stdout=stdout,
        stderr=subprocess.PIPE,
        env={**os.environ, "BROADSHEET_DATABASE_URL": ""},
    )


def test_sigkill_mid_ingest_then_rerun(tmp_path: Path, shared_data: Path) -> None:
    corpus = tmp_path / "arxiv-40k.jsonl"
    with gzip.open(shared_data / "arxiv-100k.jsonl.gz", "rt", encoding="utf-8") as src, corpus.open("w", encoding="utf-8") as dst:
        for _, line in zip(range(N), src, strict=False):
            dst.write(line)
    clean, crashed = tmp_path / "clean.sqlite3", tmp_path / "crashed.sqlite3"

    proc = ingest(crashed, corpus)
    deadline = time.monotonic() + 240
    while True:  # wait until some batches have landed, then kill without warning
        assert proc.poll() is None, "ingest ended before it could be killed"
        assert time.monotonic() < deadline, "ingest made no progress"
        time.sleep(0.5)
        try:
            landed = counts(crashed)["papers"]
        except sqlite3.OperationalError:  # database or tables not created yet
            continue
        if landed >= 10_000:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stderr.close()  # type: ignore[union-attr]
    partial = counts(crashed)
    assert 0 < partial["papers"] < N
    # whole batches only: every landed paper has its full-text row
    assert partial["papers"] == partial["papers_fts"]

    rerun = ingest(crashed, corpus, stdout=subprocess.PIPE)
    out, err = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, err.decode()
    # what landed before the kill is found unchanged, the rest is added
    assert f"{N - partial['papers']} added, 0 updated, {partial['papers']} unchanged" in out.decode()

    first = ingest(clean, corpus)
    _, err = first.communicate(timeout=600)
    assert first.returncode == 0, err.decode()

    assert counts(crashed) == counts(clean)
    assert counts(clean)["papers"] == N

    again = ingest(clean, corpus, stdout=subprocess.PIPE)
    out, err = again.communicate(timeout=600)
    assert again.returncode == 0, err.decode()
    assert f"0 added, 0 updated, {N} unchanged" in out.decode()
    con = sqlite3.connect(crashed)
    try:
        con.execute("INSERT INTO papers_fts(papers_fts) VALUES('integrity-check')")
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        con.close()
