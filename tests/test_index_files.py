"""The index directory: atomic publication, one writer, leftovers of killed writers removed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

from broadsheet.search.index_files import IndexFiles


def test_publish_then_read_back(tmp_path):
    files = IndexFiles(tmp_path / "idx")
    assert files.current("lexical") is None
    with files.new_generation("lexical") as tmp:
        (tmp / "a.txt").write_text("one")
        first = files.publish("lexical", tmp, {"watermark": "2026-01-01"})
    with files.new_generation("lexical") as tmp:
        (tmp / "a.txt").write_text("two")
        second = files.publish("lexical", tmp, {"watermark": "2026-01-02"})
    now = files.current("lexical")
    assert now == second and now.generation == first.generation + 1
    assert (now.path / "a.txt").read_text() == "two" and now.meta == {"watermark": "2026-01-02"}
    assert first.path.exists()  # another process may still map it
    files.remove_old("lexical")
    assert not first.path.exists() and now.path.exists()


def test_a_failed_generation_leaves_the_last_one(tmp_path):
    files = IndexFiles(tmp_path)
    with files.new_generation("vectors") as tmp:
        (tmp / "m.npy").write_bytes(b"x")
        files.publish("vectors", tmp, {})
    try:
        with files.new_generation("vectors") as tmp:
            (tmp / "m.npy").write_bytes(b"half")
            raise RuntimeError("disk full")
    except RuntimeError:
        pass
    assert files.current("vectors").generation == 1
    assert not list(tmp_path.glob(".vectors-*"))


def test_a_writer_killed_mid_generation_leaves_an_index_that_opens(tmp_path):
    files = IndexFiles(tmp_path)
    with files.new_generation("lexical") as tmp:
        (tmp / "f").write_text("committed")
        files.publish("lexical", tmp, {"n": 1})
    script = textwrap.dedent(
        f"""
        import time
        from broadsheet.search.index_files import IndexFiles
        files = IndexFiles({str(tmp_path)!r})
        with files.writer("lexical") as mine:
            assert mine
            with files.new_generation("lexical") as tmp:
                (tmp / "f").write_text("half")
                print("writing", flush=True)
                time.sleep(60)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    with files.writer("lexical") as mine:
        assert not mine  # the other process holds the lock
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    now = files.current("lexical")
    assert now.meta == {"n": 1} and (now.path / "f").read_text() == "committed"
    with files.writer("lexical") as mine:
        assert mine  # a killed writer's lock goes with it
        files.remove_old("lexical")
    assert not list(tmp_path.glob(".lexical-*"))


def test_an_unreadable_or_dangling_manifest_is_no_index(tmp_path):
    files = IndexFiles(tmp_path)
    (tmp_path / "lexical.json").write_text("{not json")
    assert files.current("lexical") is None
    (tmp_path / "lexical.json").write_text('{"version": 1, "generation": 7, "meta": {}}')
    assert files.current("lexical") is None  # lexical-000007 does not exist
