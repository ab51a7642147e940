"""Small builders shared by tests."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from broadsheet.config import load_settings
from broadsheet.hub import Hub, make_hub
from broadsheet.types import PaperData


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime = datetime(2026, 11, 28, 12, 0)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def sqlite_hub(tmp_path: Path, clock: Clock | None = None, **settings: object) -> Hub:
    db = tmp_path / "hub.sqlite3"
    return make_hub(load_settings(env={}, database_url=f"sqlite:///{db}", **settings), now=clock or Clock())


def paper(arxiv_id: str = "2401.00001", **fields: object) -> PaperData:
    values: dict[str, object] = {
        "title": f"Paper {arxiv_id}",
        "abstract": f"Abstract of {arxiv_id}.",
        "authors": ("Ada Lovelace", "Alan Turing"),
        "categories": ("cs.LG", "stat.ML"),
        "primary_category": "cs.LG",
        "source": "test",
        "source_ref": f"test:{arxiv_id}",
    }
    values.update(fields)
    return PaperData(arxiv_id=arxiv_id, **values)  # type: ignore[arg-type]
