"""`broadsheet` starts quickly: help and light commands import no heavy module, and the help has no
type noise. Each check runs the command in a fresh interpreter, as a user starts it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from broadsheet.cli import app

HEAVY = ("numpy", "onnxruntime", "faiss", "sqlalchemy", "fastapi", "uvicorn", "rich", "alembic", "broadsheet.hub")
NEVER_FOR_INFO = ("numpy", "onnxruntime", "faiss", "fastapi", "uvicorn", "rich.progress", "alembic", "lxml", "httpx", "sqlalchemy.dialects.postgresql")


def imported_by(*args: str, env: dict[str, str] | None = None) -> set[str]:
    """The modules loaded by running `broadsheet ARGS` (its entry point) in a new interpreter."""
    code = (
        "import sys\n"
        f"sys.argv = ['broadsheet', *{list(args)!r}]\n"
        "from broadsheet.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('MODULES', ' '.join(sorted(sys.modules)), file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    line = next(ln for ln in proc.stderr.splitlines() if ln.startswith("MODULES "))
    return set(line.split()[1:])


def loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return [n for n in names if n in modules]


@pytest.mark.parametrize("args", [["--help"], ["sync", "--help"], ["search", "--help"], []])
def test_help_imports_no_heavy_module(args: list[str]) -> None:
    assert loaded(imported_by(*args), HEAVY) == []


def test_settings_opens_no_database(tmp_path: Path) -> None:
    modules = imported_by("--db", str(tmp_path / "x.sqlite3"), "settings")
    assert loaded(modules, (*NEVER_FOR_INFO, "sqlalchemy", "broadsheet.hub")) == []


def test_info_opens_the_database_without_numpy_or_alembic(tmp_path: Path) -> None:
    db = str(tmp_path / "x.sqlite3")
    subprocess.run([sys.executable, "-m", "broadsheet", "--db", db, "info"], check=True, capture_output=True, timeout=120)
    modules = imported_by("--db", db, "info")  # a database whose schema is current
    assert "sqlalchemy" in modules
    assert loaded(modules, NEVER_FOR_INFO) == []


def _commands(group, path=()):  # noqa: ANN001, ANN202 - click objects
    yield path
    for name, command in getattr(group, "commands", {}).items():
        yield from _commands(command, (*path, name))


def test_no_command_help_shows_types_on_flags() -> None:
    import typer

    runner = CliRunner()
    for path in _commands(typer.main.get_command(app)):
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "<bool>" not in result.stdout, f"broadsheet {' '.join(path)} --help:\n{result.stdout}"
        assert "Usage: " in result.stdout


def test_search_without_vectors_loads_no_model(tmp_path: Path) -> None:
    """No paper has a vector yet: the search is by words, says so, and imports no onnxruntime."""
    from helpers import hub_at, paper

    db = str(tmp_path / "x.sqlite3")
    hub = hub_at(f"sqlite:///{db}")  # the default embedder, nothing embedded yet
    hub.add_papers([paper("2401.00001", title="State space models"), paper("2401.00002", title="Protein folding")])
    hub.close()
    modules = imported_by("--db", db, "search", "state space models")
    # numpy and the model come with the first vector; Porter stems come from PyStemmer's C code
    # (snowballstemmer without it imports its 30 pure-Python languages: 0.08 s)
    assert loaded(modules, ("onnxruntime", "tokenizers", "numpy", "sqlalchemy.dialects.postgresql", "snowballstemmer.finnish_stemmer")) == []
    result = subprocess.run([sys.executable, "-m", "broadsheet", "--db", db, "search", "state space"], capture_output=True, text=True, timeout=120, check=True)
    assert "2 papers are not embedded yet" in result.stderr and "2401.00001" in result.stdout
