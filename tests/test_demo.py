"""The built-in demo data and the script that makes it from the seed page."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from datetime import date
from pathlib import Path
from types import ModuleType

import pytest

from broadsheet.demo import load_demo_papers
from broadsheet.ids import is_arxiv_id

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "make_demo.py"
PAPERS_JSON = REPO / "src" / "broadsheet" / "demo" / "papers.json"


@pytest.fixture(scope="module")
def make_demo() -> ModuleType:
    """scripts/make_demo.py imported as a module (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location("make_demo", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_load_demo_papers() -> None:
    demo = load_demo_papers()
    assert len(demo) == 64
    ids = [paper.arxiv_id for paper, _ in demo]
    assert ids[0] == "demo-01" and ids[-1] == "demo-64"
    assert len(set(ids)) == 64
    assert not any(is_arxiv_id(i) for i in ids)
    for n, (paper, listing) in enumerate(demo, start=1):
        assert paper.title.strip() and paper.abstract.strip()
        assert paper.authors == ()
        assert paper.source == listing.source == "demo"
        assert paper.source_ref == listing.source_ref == f"demo/papers.json:{n}"
        assert listing.arxiv_id == paper.arxiv_id
        assert listing.listed_on == date(2025, 8, 26)
    first, _ = demo[0]
    assert first.title.startswith("CORE-ReID: Comprehensive Optimization and Refinement")
    assert first.abstract.startswith("This study introduces a novel framework")
    assert demo[-1][0].title == "AR-Net: A simple Auto-Regressive Neural Network for time-series"


def test_script_reproduces_papers_json(seed_page: Path, tmp_path: Path) -> None:
    out = tmp_path / "papers.json"
    command = [sys.executable, str(SCRIPT), str(seed_page), "-o", str(out)]
    subprocess.run(command, check=True, capture_output=True)
    assert out.read_bytes() == PAPERS_JSON.read_bytes()


def test_abstract_without_title_gets_its_first_sentence_clipped(
    make_demo: ModuleType, seed_page: Path
) -> None:
    text = seed_page.read_text(encoding="utf-8")
    grad_cam_title = "Grad-CAM: Visual Explanations from Deep Networks via Gradient-based Localization\n\n"
    assert grad_cam_title in text
    records = make_demo.demo_records(text.replace(grad_cam_title, ""))
    assert len(records) == 64
    derived = 'We propose a technique for producing "visual explanations" for decisions from a large class of…'
    assert records[1]["title"] == derived
    assert records[2]["title"].startswith("DermaCon-IN")


def test_short_first_sentence_is_kept_whole(make_demo: ModuleType) -> None:
    assert make_demo.title_from_abstract("Attention is cheap. " + "x " * 200) == "Attention is cheap"


def test_title_without_abstract_is_an_error(make_demo: ModuleType) -> None:
    page = "Daily Papers\n\nAug 26\n\nA lonely title\n\nAnother title\n\n" + "An abstract. " * 40
    with pytest.raises(ValueError, match="title without an abstract: 'A lonely title'"):
        make_demo.demo_records(page)
