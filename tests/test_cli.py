"""The `broadsheet` command, in-process (Typer's runner) and, for the installed entry point, as a subprocess."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from broadsheet.cli import app

runner = CliRunner()


def run(*args: str, db: Path | str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--db", str(db), *args], env={"BROADSHEET_DATABASE_URL": ""})
    return result.exit_code, result.stdout, result.stderr


def test_info_json_on_an_empty_database(db_url: str) -> None:
    code, out, _ = run("info", "--json", db=db_url)
    assert code == 0
    data = json.loads(out)
    assert data["papers"] == 0 and data["listings"] == 0 and data["schema_version"]
    assert db_url.split("@")[-1] in data["database"]  # shown without the password


def test_db_accepts_a_sqlite_file_path(tmp_path: Path) -> None:
    code, out, _ = run("info", "--json", db=tmp_path / "x.sqlite3")
    assert code == 0 and str(tmp_path / "x.sqlite3") in json.loads(out)["database"]


def test_ingest_reports_rejects_and_exits_non_zero(tmp_path: Path, db_url: str) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text(
        json.dumps({"arxiv_id": "0704.0001", "title": "T", "abstract": "A"}) + "\n{broken\n"
    )
    code, out, err = run("ingest", str(path), "--rejects", str(tmp_path / "rej.jsonl"), db=db_url)
    assert code == 1
    assert "1 added" in out and "1 rejected" in out
    assert "rejected p.jsonl:2:" in err
    (line,) = (tmp_path / "rej.jsonl").read_text().splitlines()
    assert json.loads(line)["where"] == "p.jsonl:2"
    code, out, _ = run("ingest", str(path), db=db_url)
    assert "0 added" in out and "1 unchanged" in out


def test_ingest_clean_file_exits_zero(db_url: str, fixtures_dir: Path) -> None:
    code, out, _ = run("ingest", str(fixtures_dir / "oai-pmh" / "oai_dc_2024_trimmed" / "test_arxiv_data.xml"), db=db_url)
    assert code == 0, out
    assert "5 added" in out


def test_ingest_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = run("ingest", str(tmp_path / "nope.json"), db=tmp_path / "x.sqlite3")
    assert code == 2 and "does not exist" in err


def test_demo_builds_without_network(db_url: str) -> None:
    # Without an embedder: embedding the 64 papers is test_background_embedding's (slow) subject.
    result = runner.invoke(app, ["--db", db_url, "demo", "--no-serve"], env={"BROADSHEET_DATABASE_URL": "", "BROADSHEET_EMBEDDER": "none"})
    code, out = result.exit_code, result.stdout
    assert code == 0, out
    code, out, _ = run("info", "--json", db=db_url)
    data = json.loads(out)
    assert data["papers"] == 64 and data["listings"] == 64


def test_bad_setting_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["--db", str(tmp_path / "x.sqlite3"), "info"], env={"BROADSHEET_INGEST_BATCH_SIZE": "many"})
    assert result.exit_code == 2 and "not a valid int" in result.stderr


@pytest.mark.skipif(shutil.which("broadsheet") is None, reason="the package is not installed (pip install -e .)")
def test_installed_entry_point(tmp_path: Path) -> None:
    proc = subprocess.run(
        ["broadsheet", "--db", str(tmp_path / "e.sqlite3"), "info", "--json"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["papers"] == 0


def test_python_dash_m(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "broadsheet", "--db", str(tmp_path / "m.sqlite3"), "info", "--json"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert proc.returncode == 0, proc.stderr


# -- as a user meets it: a subprocess, its output a pipe (no terminal) ---------------------------


def cli(*args: str, env: dict[str, str] | None = None, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """`python -m broadsheet ARGS` with stdout and stderr captured: not a terminal, as under cron
    or in a pipe."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("BROADSHEET_")} | (env or {})
    return subprocess.run([sys.executable, "-m", "broadsheet", *args], capture_output=True, text=True,
                          timeout=timeout, check=False, env=full_env)  # fmt: skip


def papers_file(folder: Path, n: int) -> Path:
    path = folder / "papers.jsonl"
    rows = [{"arxiv_id": f"2401.{i:05d}", "title": f"Paper {i} on sparse attention",
             "abstract": "We study sparse attention for long sequences. " * 3} for i in range(1, n + 1)]  # fmt: skip
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_progress_lines_without_a_terminal(tmp_path: Path) -> None:
    """ingest, index and copy-db print plain progress lines on a pipe: no bar, not nothing."""
    db, copy = str(tmp_path / "a.sqlite3"), str(tmp_path / "b.sqlite3")
    proc = cli("--db", db, "ingest", str(papers_file(tmp_path, 3)))
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"^papers\.jsonl [\d.]+ / [\d.]+ kB \(100 %\).*; 3 papers, 0 rejected$", proc.stderr, re.M), proc.stderr
    proc = cli("--db", db, "index")
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"^embedding (\d+) / \1 \(100 %\)", proc.stderr, re.M), proc.stderr
    assert "3 papers embedded" in proc.stdout
    assert re.search(r"^vector index: \w+ (\d+) / \1 \(100 %\)", proc.stderr, re.M), proc.stderr  # the files built
    assert "vector index files: generation 1, 3 vectors in the base" in proc.stdout
    proc = cli("copy-db", "--from", db, "--to", copy)
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"^copied papers 3 / 3 rows \(100 %\)", proc.stderr, re.M), proc.stderr
    for text in (proc.stderr, proc.stdout):
        assert "\x1b" not in text and "━" not in text  # no bar, no cursor movement


def test_plain_progress_lines_come_at_an_interval(capsys: pytest.CaptureFixture[str]) -> None:
    from broadsheet.cli import _Lines, progress_line

    assert progress_line("embedded", 1000, 5000, 25.0, unit="papers") == "embedded 1,000 / 5,000 papers (20 %), 40/s, ETA 1m40s"
    with _Lines(lambda t, _: f"{t.description} {t.completed:.0f}", every=3600) as lines:
        task = lines.add_task("rows", total=10)
        for n in range(1, 11):
            lines.update(task, completed=n)
    assert capsys.readouterr().err == "rows 10\n"  # none in between, the last state at the end
    with _Lines(lambda t, _: f"{t.description} {t.completed:.0f}", every=0) as lines:
        task = lines.add_task("rows", total=2)
        lines.update(task, completed=1)
        lines.update(task, completed=2)
    assert capsys.readouterr().err == "rows 1\nrows 2\n"


def sparse_attention_db(folder: Path, n: int = 2) -> str:
    """A SQLite database holding ``n`` papers on sparse attention (written in-process)."""
    from helpers import hub_at, paper

    url = f"sqlite:///{folder / 'papers.sqlite3'}"
    hub = hub_at(url)
    hub.add_papers([paper(f"2401.{i:05d}", title=f"Paper {i} on sparse attention",
                          abstract="We study sparse attention for long sequences. " * 3) for i in range(1, n + 1)])  # fmt: skip
    hub.close()
    return url


def test_search_on_a_pipe_is_not_wrapped_and_json_is_one_document(tmp_path: Path) -> None:
    db = sparse_attention_db(tmp_path)
    proc = cli("--db", db, "search", "sparse attention", "--mode", "lexical")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 6, proc.stdout  # three lines a hit, none cut at 80 columns
    assert max(map(len, lines)) > 80
    proc = cli("--db", db, "search", "sparse attention", "--mode", "lexical", "--json")
    assert {h["id"] for h in json.loads(proc.stdout)} == {"2401.00001", "2401.00002"}
    code, out, _ = run("search", "nothing like this", "--mode", "lexical", "--json", db=db)
    assert code == 0 and json.loads(out) == []


@pytest.mark.parametrize("command", ["serve", "demo"])
def test_a_taken_port_is_a_clear_error_before_any_banner(tmp_path: Path, command: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = cli("--db", str(tmp_path / "p.sqlite3"), command, "--port", str(port), timeout=60)
    assert proc.returncode == 2
    assert re.search(rf"port {port} is in use: try --port \d+", proc.stderr), proc.stderr
    assert "http://" not in proc.stdout and "Traceback" not in proc.stderr


def test_demo_fills_the_default_database_that_info_and_search_open(tmp_path: Path) -> None:
    """`broadsheet demo`, then `broadsheet info` and `broadsheet search` (no --db anywhere): they
    all see the demo's papers."""
    env = {"XDG_DATA_HOME": str(tmp_path / "data")}
    proc = cli("demo", "--no-serve", env=env)
    assert proc.returncode == 0, proc.stderr
    info = json.loads(cli("info", "--json", env=env).stdout)
    assert info["papers"] == 64 and info["listings"] == 64
    assert str(tmp_path / "data") in info["database"]
    hits = json.loads(cli("search", "person re-identification", "--mode", "lexical", "--json", env=env).stdout)
    assert hits and hits[0]["id"] == "demo-01"
    again = runner.invoke(app, ["demo", "--no-serve"], env={"BROADSHEET_DATABASE_URL": "", **env})
    assert again.exit_code == 0 and "(0 added now" in again.stdout  # its own database: loaded again


def test_demo_leaves_a_database_of_other_papers_alone(tmp_path: Path) -> None:
    db = sparse_attention_db(tmp_path)
    code, _, err = run("demo", "--no-serve", db=db)
    assert code == 2 and "holds 2 papers" in err, err
    assert json.loads(run("info", "--json", db=db)[1])["papers"] == 2
