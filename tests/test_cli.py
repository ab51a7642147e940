"""The `broadsheet` command, in-process (Typer's runner) and, for the installed entry point, as a subprocess."""

from __future__ import annotations

import json
import shutil
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
