"""Security of the web app beyond the pages' own tests (tests/test_web_pages.py): CSRF tokens
bound to the login session, the per-account log-in delay, the anonymous search limit and the
bounded number of searches at once, strict-transport-security, and private database files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from helpers import Clock, hub_at
from test_web_pages import Client
from web_helpers import NOW, PASSWORD, csrf_of, site_hub

from broadsheet.hub import Hub
from broadsheet.web import create_app
from broadsheet.web.security import CSRF_COOKIE, SESSION_COOKIE


@pytest.fixture
def hub(db_url: str) -> Iterator[Hub]:
    h = site_hub(db_url, Clock(NOW))
    h.create_user("bob", PASSWORD, email="bob@example.org")
    h.create_user("carol", PASSWORD, email="carol@example.org")
    yield h
    h.close()


# -- CSRF --------------------------------------------------------------------------------------


def test_a_csrf_token_works_only_with_the_session_it_was_made_for(hub: Hub) -> None:
    bob, carol = Client(hub), Client(hub)
    bob.login("bob")
    carol.login("carol")
    bob_csrf = bob.http.cookies[CSRF_COOKIE]
    # bob's own pair works for bob (and for a vote he then withdraws)
    assert bob.post("/papers/2611.00001/vote", {"on": "1"}).status_code == 303
    assert bob.post("/papers/2611.00001/vote", {"on": "0"}).status_code == 303
    before = hub.get_paper("2611.00001").upvotes
    # carol's session with bob's CSRF cookie and bob's token (a planted cookie): refused
    forged = TestClient(create_app(hub), follow_redirects=False)
    forged.cookies.set(SESSION_COOKIE, carol.http.cookies[SESSION_COOKIE])
    forged.cookies.set(CSRF_COOKIE, bob_csrf)
    r = forged.post("/papers/2611.00001/vote", data={"on": "1", "csrf_token": bob.token})
    assert r.status_code == 403 and "This form has expired" in r.text
    # nor a pair made without any login (an attacker's own anonymous visit)
    anon = Client(hub)
    anon.get("/login")
    forged.cookies.set(CSRF_COOKIE, anon.http.cookies[CSRF_COOKIE])
    r = forged.post("/papers/2611.00001/vote", data={"on": "1", "csrf_token": anon.token})
    assert r.status_code == 403
    assert hub.get_paper("2611.00001").upvotes == before
    # carol's own page token still works
    assert carol.post("/papers/2611.00001/vote", {"on": "1"}).status_code == 303


def test_the_csrf_token_changes_at_login(hub: Hub) -> None:
    c = Client(hub)
    before = csrf_of(c.get("/login").text)
    c.login("carol")
    after = csrf_of(c.get("/settings").text)
    assert before != after
    r = c.post("/papers/2611.00001/vote", {"on": "1", "csrf_token": before}, csrf=False)
    assert r.status_code == 403


# -- log-in delay per account ------------------------------------------------------------------


def _login_from(hub_app, address: str, name: str, password: str):  # noqa: ANN001, ANN202
    c = TestClient(hub_app, follow_redirects=False, client=(address, 40000))
    token = csrf_of(c.get("/login").text)
    return c.post("/login", data={"login": name, "password": password, "csrf_token": token})


def test_wrong_passwords_for_one_account_from_many_addresses_get_429(hub: Hub) -> None:
    app = create_app(hub)
    answers = [_login_from(app, f"10.0.0.{n}", "carol", "wrong password").status_code for n in range(25)]
    assert answers[:5] == [401] * 5  # login_failures_allowed
    assert answers[5:] == [429] * 20
    r = _login_from(app, "10.0.1.1", " Carol ", PASSWORD)  # the same account: waits too
    assert r.status_code == 429 and "too many log-in attempts for this account" in r.text
    assert 0 < int(r.headers["retry-after"]) <= 2
    assert _login_from(app, "10.0.1.2", "bob", "wrong password").status_code == 401  # others are not held up


def test_the_login_delay_doubles_is_capped_and_resets_on_success(hub: Hub) -> None:
    from broadsheet.web.security import LoginThrottle, RateLimited

    now = [0.0]
    app = create_app(hub)
    app.state.login_throttle = LoginThrottle(2, 20, clock=lambda: now[0])
    statuses = []
    for step in (0, 0, 0, 2, 2, 4, 4, 8, 16, 20, 20):
        now[0] += step
        statuses.append(_login_from(app, "10.0.0.1", "carol", "wrong").status_code)
    # 2 free failures, then waits of 2, 4, 8, 16 and 20 (the cap) seconds after each failure
    assert statuses == [401, 401, 429, 401, 429, 401, 429, 401, 401, 401, 401]
    waited = pytest.raises(RateLimited, app.state.login_throttle.attempt, "carol")
    assert waited.value.retry_after == 20
    now[0] += 20
    assert _login_from(app, "10.0.0.1", "carol", PASSWORD).status_code == 303
    assert _login_from(app, "10.0.0.1", "carol", "wrong").status_code == 401  # the count started again
    assert _login_from(app, "10.0.0.1", "carol", "wrong").status_code == 401


# -- transport and files -----------------------------------------------------------------------


def test_https_sites_send_strict_transport_security(hub: Hub, db_url: str) -> None:
    assert "strict-transport-security" not in TestClient(create_app(hub)).get("/").headers
    secure = hub_at(db_url, Clock(NOW), embedder="none", base_url="https://papers.example.org")
    page = TestClient(create_app(secure), base_url="https://testserver").get("/")
    assert page.headers["strict-transport-security"].startswith("max-age=")
    assert int(page.headers["strict-transport-security"].split("=")[1]) >= 180 * 86400
    secure.close()


def test_sqlite_files_and_folders_are_private(tmp_path: Path) -> None:
    import os
    import stat

    old = os.umask(0o022)  # a usual umask: files would be 0644
    try:
        hub = site_hub(f"sqlite:///{tmp_path / 'new' / 'data' / 'hub.db'}")
        Client(hub).get("/login")  # makes the secret key
        hub.add_papers([])
    finally:
        os.umask(old)
    folder = tmp_path / "new" / "data"
    files = [folder / "hub.db", folder / "hub.db-wal", folder / "hub.db-shm", folder / "secret_key"]
    for f in files:
        assert f.exists(), f
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
    for d in (folder, folder.parent):
        assert stat.S_IMODE(d.stat().st_mode) == 0o700, d
    hub.close()


# -- searches under load -----------------------------------------------------------------------


def test_anonymous_searches_are_limited_per_address(db_url: str) -> None:
    hub = site_hub(db_url, Clock(NOW), rate_search_anonymous="3/minute")
    app = create_app(hub)
    visitor = TestClient(app, client=("10.0.0.7", 1))
    assert [visitor.get(f"/search?q=graph+{n}").status_code for n in range(3)] == [200] * 3
    again = visitor.get("/search?q=graph+4")
    assert again.status_code == 429 and "Slow down" in again.text
    assert "too many searches" in again.text and 'class="brand"' in again.text
    assert 0 < int(again.headers["retry-after"]) <= 60
    assert again.headers["x-content-type-options"] == "nosniff"
    assert TestClient(app, client=("10.0.0.8", 1)).get("/search?q=graph").status_code == 200
    visitor.cookies.set(SESSION_COOKIE, "made-up")  # a session cookie that is not a login: still limited
    assert visitor.get("/search?q=graph+5").status_code == 429
    member = Client(hub, client=("10.0.0.7", 1))
    member.login("ada")
    assert [member.get(f"/search?q=graph+{n}").status_code for n in range(5)] == [200] * 5
    hub.close()


def test_searches_beyond_the_concurrency_wait_briefly_then_get_503(db_url: str) -> None:
    import threading
    import time

    hub = site_hub(db_url, Clock(NOW), search_concurrency=1, search_queue_seconds=0.3, page_cache_seconds=0)
    app = create_app(hub)
    http = TestClient(app)
    slots = app.state.search_slots
    assert slots.try_take()  # another search holds the only slot
    started = time.monotonic()
    busy = http.get("/search?q=graph")
    assert busy.status_code == 503 and 0.25 < time.monotonic() - started < 3
    assert int(busy.headers["retry-after"]) >= 1 and "busy with other searches" in busy.text
    api = http.get("/api/papers/search?q=graph")
    assert api.status_code == 503 and "busy" in api.json()["error"]
    slots.wait = 5.0  # searches now wait long in line; nothing else does
    health = time.monotonic()
    assert http.get("/healthz").text == "ok" and time.monotonic() - health < 1
    assert http.get("/papers/trending").status_code == 200 and time.monotonic() - health < 2
    # a search that waits in line gets the slot as soon as it is given back
    got: list[int] = []
    waiting = threading.Thread(target=lambda: got.append(http.get("/search?q=graph").status_code))
    waiting.start()
    time.sleep(0.3)
    slots.give_back()
    waiting.join(10)
    assert got == [200] and slots.held == 0
    assert http.get("/search?q=graph").status_code == 200 and slots.held == 0
    hub.close()


def test_search_slots_serve_in_order_and_survive_cancelled_waiters() -> None:
    import asyncio

    from broadsheet.web.guard import SearchSlots

    async def main() -> list[str]:
        slots = SearchSlots(1, 1.0)
        order: list[str] = []

        async def search(name: str, seconds: float) -> None:
            if await slots.take():
                order.append(name)
                await asyncio.sleep(seconds)
                slots.give_back()
            else:
                order.append(f"{name}: busy")

        first = asyncio.create_task(search("a", 0.2))
        await asyncio.sleep(0.01)
        gone = asyncio.create_task(search("gone", 0))
        b = asyncio.create_task(search("b", 0.1))
        await asyncio.sleep(0.01)
        c = asyncio.create_task(search("c", 0))
        await asyncio.sleep(0.05)
        gone.cancel()  # a client that went away while in line
        await asyncio.gather(first, b, c, return_exceptions=True)
        slow = SearchSlots(1, 0.05)
        assert slow.try_take()
        order.append(str(await slow.take()))  # nothing came free in time
        assert slots.held == 0 and slow.held == 1
        return order

    assert asyncio.run(main()) == ["a", "b", "c", "False"]


def test_login_throttle_edges() -> None:
    from broadsheet.web.security import LoginThrottle, RateLimited, login_delay

    assert [login_delay(n, 3, 300) for n in range(3, 13)] == [2, 4, 8, 16, 32, 64, 128, 256, 300, 300]
    assert login_delay(10**6, 3, 300) == 300 and login_delay(2, 3, 300) == 0
    now = [0.0]
    strict = LoginThrottle(0, 60, clock=lambda: now[0])
    strict.attempt("x")  # no failures yet: no wait, even with none allowed
    with pytest.raises(RateLimited):
        strict.attempt("X ")
    now[0] += 86400  # a day later the count is forgotten
    strict.attempt("x")
    small = LoginThrottle(1, 60, clock=lambda: now[0])
    small.MAX_KEYS = 10
    for n in range(25):
        small.attempt(f"user{n}")
        now[0] += 1
    assert len(small._state) <= 10
