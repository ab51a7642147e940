"""Structure that must hold as the code grows: layering, a cheap import, pinned public names,
documented settings."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import broadsheet
from broadsheet.config import describe_settings

PACKAGE = Path(broadsheet.__file__).parent
REPO = PACKAGE.parent.parent

# Each module may import only from modules of a lower layer (or its own package).
# `cli` sits above `web` because it is the composition root (`broadsheet serve` starts the web
# app); `web` never imports `cli` (docs/dev.md).
LAYERS = {
    "exceptions": 0, "types": 0,
    "ids": 1, "text": 1, "config": 1, "schedule": 1, "taxonomy": 1, "accounts": 1, "periods": 1, "trending": 1, "trends": 1, "bibtex": 2,
    "sources": 2, "storage": 2, "demo": 2, "logs": 2,
    "pictures": 2,
    "ingest": 3, "search": 3, "digest": 3, "sync": 3, "members": 3, "community": 3, "browse": 3, "jobs": 3,
    "personal": 3.5,  # a member's own feed: use cases over search (queries) and storage
    "extras": 3.5,  # use cases over search and sync: thumbnails, keywords, summaries, stars, trends
    "hub": 4,
    "web": 5,
    "cli": 6,
    "__main__": 7, "__init__": 7,
}  # fmt: skip


def _top(module: Path) -> str:
    rel = module.relative_to(PACKAGE)
    return rel.parts[0].removesuffix(".py")


def _imported_tops(module: Path) -> set[str]:
    tree = ast.parse(module.read_text(encoding="utf-8"))
    depth = len(module.relative_to(PACKAGE).parts) - 1  # 0 for broadsheet/x.py
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            if node.level - 1 == depth:  # resolves to the package root: broadsheet.<module>
                if node.module:
                    found.add(node.module.split(".")[0])
                else:
                    found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("broadsheet."):
            found.add(node.module.split(".")[1])  # type: ignore[union-attr]
    return found


def test_imports_point_downward() -> None:
    wrong = []
    for module in PACKAGE.rglob("*.py"):
        if "migrations" in module.parts:
            continue
        top = _top(module)
        for other in _imported_tops(module) - {top}:
            if LAYERS[other] >= LAYERS[top]:
                wrong.append(f"{module.relative_to(PACKAGE)} imports {other}")
    assert not wrong, "imports must point to lower layers:\n" + "\n".join(sorted(wrong))


def test_every_module_has_a_layer() -> None:
    tops = {_top(m) for m in PACKAGE.rglob("*.py")}
    assert tops <= set(LAYERS), f"add these to LAYERS: {tops - set(LAYERS)}"


def test_import_is_cheap() -> None:
    code = "import sys, broadsheet; print(sorted(m for m in ('sqlalchemy', 'fastapi', 'typer', 'lxml') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_public_names_are_pinned() -> None:
    assert sorted(broadsheet.__all__) == sorted([
        "__version__", "Hub", "make_hub", "Settings", "load_settings", "Paper", "PaperData", "Listing",
        "ListingData", "IngestReport", "Stats", "BroadsheetError", "InvalidInputError", "NotFoundError",
        "PaperNotFoundError",
    ])  # fmt: skip
    for name in broadsheet.__all__:
        assert getattr(broadsheet, name) is not None


def test_every_setting_is_documented() -> None:
    from typer.testing import CliRunner

    from broadsheet.cli import app

    for name, _env, _default, help_text in describe_settings():
        assert help_text.strip(), f"setting {name} has no help"
    generated = CliRunner().invoke(app, ["settings", "--markdown"]).stdout
    doc = (REPO / "docs" / "settings.md").read_text(encoding="utf-8")
    assert doc == generated, "docs/settings.md is out of date: broadsheet settings --markdown > docs/settings.md"
