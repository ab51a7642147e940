"""Pages whose data is cached are served on the event loop; the rest move to a thread
(web/loop.py). Warm pages must not move (the hand-over to a thread cost as much as the page), and a
page that moves must come out the same as one built on the loop."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from helpers import Clock
from web_helpers import NOW, PASSWORD, csrf_of, site_hub

from broadsheet.web import create_app, loop

PAGES = [
    "/",
    "/papers/daily",
    "/papers/trending",
    "/papers/week/2026-W48",
    "/papers/date/2026-11-27",
    "/papers/2611.00001",
    "/authors/Ada%20Lovelace",
    "/categories/cs.LG",
    "/organizations/example-lab",
    "/search?q=diffusion",
    "/api/daily_papers",
    "/api/daily_papers?week=2026-W48&sort=trending",
    "/feeds/daily.atom",
    "/feeds/trending.rss",
    "/feeds/categories/cs.LG.atom",
    "/feeds/search.atom?q=diffusion",
]


def _moved() -> int:
    return sum(loop.MOVED.values())


@pytest.mark.parametrize("member", [False, True], ids=["visitor", "member"])
def test_warm_pages_stay_on_the_loop_and_match_what_a_thread_builds(db_url: str, member: bool) -> None:
    hub = site_hub(db_url, Clock(NOW), page_cache_seconds=0)
    try:
        client = TestClient(create_app(hub), follow_redirects=False)
        if member:
            page = client.get("/login").text
            r = client.post("/login", data={"csrf_token": csrf_of(page), "login": "ada", "password": PASSWORD, "next": "/"})
            assert r.status_code == 303
        cold = {}
        before = _moved()
        for url in PAGES:
            r = client.get(url)
            assert r.status_code == 200, (url, r.text[:300])
            cold[url] = r.text
        assert _moved() > before  # nothing was cached: the first pages were built in threads
        for url in PAGES:
            before = _moved()
            r = client.get(url)
            assert r.status_code == 200, url
            assert _moved() == before, f"{url}: served from a thread although its data is cached"
            assert r.text == cold[url], f"{url}: the page built on the loop differs from the one built in a thread"
        # a write moves the data version: the next page is built afresh, in a thread
        hub.set_vote(hub.get_user("root"), "2611.00001")
        before = _moved()
        assert client.get("/papers/2611.00001").status_code == 200
        assert _moved() == before + 1
    finally:
        hub.close()


def test_the_database_is_refused_on_the_loop_and_served_in_threads(db_url: str) -> None:
    """The safety net: code on the loop that reads the database without a cache is refused (so
    the page moves to a thread), and the pool serves everyone else as before."""
    hub = site_hub(db_url, Clock(NOW))
    try:
        create_app(hub)  # installs the guard
        token = loop.ON_LOOP.set(True)
        try:
            with pytest.raises(loop.Cold):
                hub.get_paper("2611.00001")
        finally:
            loop.ON_LOOP.reset(token)
        for _ in range(3):
            assert hub.get_paper("2611.00001").arxiv_id == "2611.00001"
    finally:
        hub.close()


def test_requests_for_one_missing_entry_make_it_once() -> None:
    """When an entry dies (a write, the minute turning), the requests that all ask for it at once
    wait for the one making it instead of each making it (they slowed each other: p99s of
    hundreds of ms at 16 connections)."""
    import threading
    import time

    from broadsheet.web.cache import TtlCache, cached

    cache: TtlCache[int] = TtlCache(size=10, ttl=60)
    made: list[int] = []

    def make() -> int:
        made.append(1)
        time.sleep(0.2)
        return 42

    got: list[int] = []
    threads = [threading.Thread(target=lambda: got.append(cached(cache, "k", lambda: 1, make))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == [42] * 8 and len(made) == 1
    assert cached(cache, "k", lambda: 2, make) == 42 and len(made) == 2  # a new version: made again

    def fail() -> int:
        raise RuntimeError("the database went away")

    with pytest.raises(RuntimeError):
        cached(cache, "other", lambda: 1, fail)
    assert cached(cache, "other", lambda: 1, make) == 42  # a failure leaves nothing behind


def test_pages_answer_head(db_url: str) -> None:
    """HEAD, as uptime checks send it, answers like GET without the body (it was a 405)."""
    hub = site_hub(db_url, Clock(NOW))
    try:
        client = TestClient(create_app(hub), follow_redirects=False)
        for url in ("/", "/papers/trending", "/papers/2611.00001", "/healthz"):
            r = client.head(url)
            assert r.status_code == 200, url
            assert r.content == b""
        assert client.head("/papers/2611.99999").status_code == 404
    finally:
        hub.close()
