"""The minimal site of the core issue: the latest day's papers, escaped."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient

from broadsheet.types import ListingData
from broadsheet.web import create_app

from helpers import hub_at, paper


def test_home_lists_the_latest_day_and_escapes(db_url: str) -> None:
    hub = hub_at(db_url)
    hub.add_papers([
        paper("2401.00001", title="<script>alert(1)</script> Attention"),
        ListingData("2401.00001", date(2026, 1, 5)),
        paper("2401.00002", title="Older day paper"),
        ListingData("2401.00002", date(2026, 1, 4)),
    ])  # fmt: skip
    with TestClient(create_app(hub)) as client:
        page = client.get("/")
    hub.close()
    assert page.status_code == 200
    assert "January 5, 2026" in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Attention" in page.text
    assert "<script>alert(1)</script>" not in page.text
    assert "Older day paper" not in page.text


def test_home_without_listings_shows_newest(db_url: str) -> None:
    hub = hub_at(db_url)
    hub.add_papers([paper("2401.00001", title="Lonely paper")])
    with TestClient(create_app(hub)) as client:
        page = client.get("/")
    hub.close()
    assert "Newest papers" in page.text and "Lonely paper" in page.text
