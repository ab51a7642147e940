"""The built-in demo data: the 64 papers of the Hugging Face Daily Papers page for Aug 26 (2025).

``papers.json`` is made by ``scripts/make_demo.py`` from the page the user gave; it is the only
third-party data the project ships. The page gives no arXiv ids, so the papers carry local ids
(``demo-01`` ..) that never link to arxiv.org, and no authors.
"""

from __future__ import annotations

import json
from datetime import date
from importlib.resources import files
from typing import Any

from ..ids import parse_paper_id
from ..types import ListingData, PaperData

SOURCE = "demo"
_FILE = "papers.json"


def load_demo_papers() -> list[tuple[PaperData, ListingData]]:
    """Each demo paper with its listing on the page's day, in page order."""
    records = json.loads(files(__name__).joinpath(_FILE).read_text(encoding="utf-8"))
    return [_paper_and_listing(rec, f"demo/{_FILE}:{n}") for n, rec in enumerate(records, start=1)]


def _paper_and_listing(record: dict[str, Any], ref: str) -> tuple[PaperData, ListingData]:
    """One papers.json record as source records; the id must be a valid paper id."""
    paper_id, _ = parse_paper_id(record["id"])
    paper = PaperData(
        arxiv_id=paper_id,
        title=record["title"],
        abstract=record["abstract"],
        authors=tuple(record["authors"]),
        source=SOURCE,
        source_ref=ref,
    )
    listing = ListingData(
        arxiv_id=paper_id,
        listed_on=date.fromisoformat(record["listed_on"]),
        source=SOURCE,
        source_ref=ref,
    )
    return paper, listing
