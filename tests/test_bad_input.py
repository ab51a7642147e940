"""Hostile or broken input gets a clear error and costs nothing else: periods past the calendar,
an unexpected server error on a keep-alive connection, and files that cannot be read whole."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from helpers import Clock
from web_helpers import NOW, Server, site_hub

from broadsheet.exceptions import InvalidInputError
from broadsheet.hub import Hub
from broadsheet.periods import parse_period, period_containing
from broadsheet.web import create_app

# The last day, ISO week and month that Python's calendar holds: a page for them needs the day
# after (10000-01-01), which does not exist.
PAST_THE_CALENDAR = [
    "/papers/month/9999-12",
    "/papers/week/9999-W52",
    "/papers/date/9999-12-31",
    "/papers/month/9999-12.bib",
    "/papers/week/9999-W52.bib",
    "/papers/date/9999-12-31.bib",
    "/api/daily_papers?date=9999-12-31",
    "/api/daily_papers?week=9999-W52",
    "/api/daily_papers?month=9999-12",
]


@pytest.fixture(scope="module")
def hub(module_db_url: str) -> Iterator[Hub]:
    h = site_hub(module_db_url, Clock(NOW))
    yield h
    h.close()


def test_periods_are_parsed_or_refused_never_overflow() -> None:
    for kind, slug in [("month", "9999-12"), ("week", "9999-W52"), ("date", "9999-12-31"), ("date", "0000-01-01")]:
        with pytest.raises(InvalidInputError, match="years 0001 to 9998"):
            parse_period(kind, slug)
    assert parse_period("week", "9998-W52").slug == "9998-W52"
    assert parse_period("month", "0001-01").first.isoformat() == "0001-01-01"
    from datetime import date

    with pytest.raises(InvalidInputError, match="past the end of the calendar"):
        period_containing("week", date(9999, 12, 31))


@pytest.mark.parametrize("url", PAST_THE_CALENDAR)
def test_a_period_past_the_calendar_is_a_400(hub: Hub, url: str, caplog: pytest.LogCaptureFixture) -> None:
    client = TestClient(create_app(hub), raise_server_exceptions=False)
    with caplog.at_level(logging.ERROR):
        r = client.get(url)
    assert r.status_code == 400, r.text[:300]
    assert "years 0001 to 9998" in r.text
    if "9999-W52" in url and not url.startswith("/api/"):
        assert "&#39;9999-W52&#39;" in r.text  # the slug as given, not lower-cased
    assert not [rec for rec in caplog.records if rec.levelno >= logging.ERROR]


def test_an_unhandled_error_keeps_the_keep_alive_connection(
    hub: Hub, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real uvicorn and one client connection: after a 500 (and after the 400s above), the next
    request goes over the same connection and succeeds; the error is logged once, not twice."""

    def broken(*_a: object, **_k: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(hub, "get_trending", broken)
    with Server(create_app(hub)) as url, httpx.Client(base_url=url) as client:
        first = client.get("/healthz")
        connection = first.extensions["network_stream"]
        with caplog.at_level(logging.ERROR):
            for bad in ["/papers/trending", "/papers/trending?sort=newest", *PAST_THE_CALENDAR[:3]]:
                r = client.get(bad)
                assert r.status_code in (400, 500), bad
                assert "secret internals" not in r.text
                after = client.get("/healthz")
                assert after.status_code == 200 and after.text == "ok"
                assert after.extensions["network_stream"] is connection, f"connection dropped after {bad}"
    errors = [rec.getMessage() for rec in caplog.records if rec.levelno >= logging.ERROR]
    assert errors == ["unhandled error on GET /papers/trending"] * 2, errors
