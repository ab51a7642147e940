"""arXiv's category taxonomy: code names, and oai_dc subject strings mapped back to codes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from broadsheet.taxonomy import (
    CATEGORY_NAMES,
    category_name,
    oai_dc_subject,
    subject_to_category,
)

TSV = "taxonomy/oai_dc_subject_to_category.tsv"
CODE = re.compile(r"^[a-z]+(?:-[a-z]+)*(?:\.[A-Za-z-]+)?$")


def read_tsv(path: Path) -> list[tuple[str, str]]:
    """(subject, code) rows of the shared map, as arXiv writes them (trailing spaces kept)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [(subject, code) for subject, code in (line.split("\t") for line in lines if line)]


def test_every_subject_of_the_shared_map_maps_to_its_code(fixtures_dir: Path) -> None:
    rows = read_tsv(fixtures_dir / TSV)
    assert len(rows) == 194
    wrong = [(s, c, subject_to_category(s)) for s, c in rows if subject_to_category(s) != c]
    assert wrong == []


def test_every_real_category_of_the_shared_map_has_a_name(fixtures_dir: Path) -> None:
    # Placeholders of arXiv's tables (cond-mat.none, the internal test archive) are no categories.
    codes = {c for _, c in read_tsv(fixtures_dir / TSV)}
    real = {c for c in codes if not c.endswith(".none") and c.split(".")[0] != "test"}
    assert len(real) == 184
    assert real - CATEGORY_NAMES.keys() == set()


@pytest.mark.parametrize(
    ("subject", "code"),
    [
        ("Computer Science - Learning", "cs.LG"),  # the name before 2019
        ("Computer Science - Machine Learning", "cs.LG"),
        ("Astrophysics - Astrophysics of Galaxies", "astro-ph.GA"),
        ("Mathematics - Combinatorics", "math.CO"),
        ("Physics - Optics", "physics.optics"),
        ("Quantum Physics", "quant-ph"),
        ("Statistics - Machine Learning", "stat.ML"),
        ("High Energy Physics - Theory", "hep-th"),
        ("Mathematical Physics", "math-ph"),
        ("Mathematics - Mathematical Physics", "math.MP"),
        ("Algebraic Geometry", "alg-geom"),  # a legacy archive
        ("Computer Science -\n    Machine Learning", "cs.LG"),  # wrapped as in the XML
    ],
)
def test_subject_to_category(subject: str, code: str) -> None:
    assert subject_to_category(subject) == code


@pytest.mark.parametrize(
    "subject",
    ["05C15 (Primary) 05C35 (Secondary)", "I.2.6", "", "Computer Science - Basket Weaving"],
)
def test_subjects_that_name_no_category_map_to_none(subject: str) -> None:
    assert subject_to_category(subject) is None


def test_category_names() -> None:
    assert category_name("cs.LG") == "Machine Learning"
    assert category_name("hep-th") == "High Energy Physics - Theory"
    assert category_name("q-fin.EC") == "Economics"
    assert category_name("chao-dyn") == "Chaotic Dynamics"
    assert category_name("cs") == "Computer Science"


def test_an_unknown_code_is_its_own_name() -> None:
    assert category_name("cs.XX") == "cs.XX"


def test_the_table_covers_every_current_archive() -> None:
    archives = {code.split(".")[0] for code in CATEGORY_NAMES}
    current = set(
        "cs econ eess math astro-ph cond-mat gr-qc hep-ex hep-lat hep-ph hep-th math-ph nlin"
        " nucl-ex nucl-th physics quant-ph q-bio q-fin stat".split()
    )
    assert current <= archives
    assert sum(code.startswith("cs.") for code in CATEGORY_NAMES) == 40
    assert sum(code.startswith("math.") for code in CATEGORY_NAMES) == 32


def test_codes_are_well_formed_and_subjects_unique() -> None:
    assert [c for c in CATEGORY_NAMES if not CODE.match(c)] == []
    subjects = [oai_dc_subject(code) for code in CATEGORY_NAMES]
    assert len(set(subjects)) == len(subjects)
