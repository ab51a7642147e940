"""Small builders shared by tests."""

from __future__ import annotations

from datetime import datetime

from broadsheet.config import load_settings
from broadsheet.hub import Hub, make_hub
from broadsheet.types import PaperData


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime = datetime(2026, 11, 28, 12, 0)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


_HUBS: list[Hub] = []


def hub_at(url: str, clock: Clock | None = None, **settings: object) -> Hub:
    """A Hub over the database at ``url`` (a test's ``db_url``: SQLite or PostgreSQL)."""
    hub = make_hub(load_settings(env={}, database_url=url, **settings), now=clock or Clock())
    _HUBS.append(hub)
    return hub


def close_hubs(url: str) -> None:
    """Close the Hubs ``hub_at`` opened on ``url`` (before its database is dropped)."""
    for hub in [h for h in _HUBS if h.settings.database_url == url]:
        hub.close()
        _HUBS.remove(hub)


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
