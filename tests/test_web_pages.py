"""Every route over HTTP, in-process: anonymous visitors, members and admins; CSRF, rate limits,
escaping and error pages."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from functools import partial
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from helpers import Clock, paper
from web_helpers import DAYS, NOW, PASSWORD, XSS_COMMENT, csrf_of, site_hub

from broadsheet.hub import Hub
from broadsheet.types import ListingData
from broadsheet.web import create_app
from broadsheet.web.app import ROUTES


class Client:
    """A TestClient that keeps cookies and fills in the CSRF token of the last page it saw."""

    def __init__(self, hub: Hub, **kwargs: object) -> None:
        self.http = TestClient(create_app(hub), follow_redirects=False, **kwargs)  # type: ignore[arg-type]
        self.token = ""

    def get(self, url: str, **kwargs: object):
        page = self.http.get(url, **kwargs)  # type: ignore[arg-type]
        if 'name="csrf_token"' in page.text:
            self.token = csrf_of(page.text)
        return page

    def post(
        self,
        url: str,
        data: dict[str, str] | None = None,
        *,
        csrf: bool = True,
        **kwargs: object,
    ):
        if csrf and not self.token:
            self.get("/login")
        form = {"csrf_token": self.token, **(data or {})} if csrf else dict(data or {})
        return self.http.post(url, data=form, **kwargs)  # type: ignore[arg-type]

    def login(self, name: str = "ada") -> None:
        self.get("/login")
        r = self.post("/login", {"login": name, "password": PASSWORD, "next": "/"})
        assert r.status_code == 303, r.text
        self.get("/")


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def hub(db_url: str, clock: Clock) -> Iterator[Hub]:
    h = site_hub(db_url, clock)
    yield h
    h.close()


@pytest.fixture
def anon(hub: Hub) -> Client:
    return Client(hub)


@pytest.fixture
def member(hub: Hub) -> Client:
    c = Client(hub)
    c.login("ada")
    return c


@pytest.fixture
def admin(hub: Hub) -> Client:
    c = Client(hub)
    c.login("root")
    return c


def titles(html: str) -> list[str]:
    return re.findall(
        r'<h2 class="title">(?:<span class="rank">\d+\.</span> )?<a href="[^"]+">([^<]+)</a>',
        html,
    )


# -- feeds ------------------------------------------------------------------------------------


def test_home_is_the_latest_day_with_navigation_and_sorts(anon: Client) -> None:
    page = anon.get("/")
    assert page.status_code == 200
    assert "Saturday, November 28, 2026" in page.text
    assert len(titles(page.text)) == 4  # three papers and the XSS one
    # trending by default: the most upvoted first; "newest" is a link away
    assert titles(page.text)[0].startswith("Paper 3 ")
    assert 'href="/papers/date/2026-11-27"' in page.text  # previous listed day
    # the formula is a small link away, not on every page
    assert "hours since listed" not in page.text and 'href="/about/ranking"' in page.text
    newest = anon.get("/?sort=newest")
    assert newest.status_code == 200 and titles(newest.text) != titles(page.text)


def test_day_pages_walk_over_empty_days(anon: Client) -> None:
    page = anon.get(
        "/papers/date/2026-11-26"
    )  # DAYS[2]; the next earlier listed day is 11-20
    assert page.status_code == 200
    assert 'rel="prev" href="/papers/date/2026-11-20"' in page.text
    assert 'rel="next" href="/papers/date/2026-11-27"' in page.text
    empty = anon.get("/papers/date/2026-11-24")
    assert (
        empty.status_code == 200 and "No papers were listed on this day" in empty.text
    )


def test_week_and_month_pages(anon: Client) -> None:
    week = anon.get("/papers/week/2026-W48")
    assert week.status_code == 200
    assert "Week 48, 2026 · Nov 23 – 29" in week.text
    assert len(titles(week.text)) == 10
    assert 'rel="prev" href="/papers/week/2026-W47"' in week.text
    assert 'rel="next"' not in week.text.split("titlebar", 1)[1].split("</div>", 1)[0]
    previous = anon.get("/papers/week/2026-W47")
    assert len(titles(previous.text)) == 6
    month = anon.get("/papers/month/2026-11?sort=newest")
    assert month.status_code == 200 and "November 2026" in month.text
    assert len(titles(month.text)) == 16


def test_feed_pages_paginate(db_url: str) -> None:
    hub = site_hub(db_url, page_size=5)
    try:
        c = Client(hub)
        first = c.get("/papers/month/2026-11")
        second = c.get("/papers/month/2026-11?page=2")
        assert (
            "Page 1 of 4" in first.text
            and 'href="/papers/month/2026-11?page=2"' in first.text
        )
        assert len(titles(first.text)) == 5 and not set(titles(first.text)) & set(
            titles(second.text)
        )
    finally:
        hub.close()


@pytest.mark.parametrize(
    "url",
    [
        "/papers/date/2026-13-01",
        "/papers/week/2026-W60",
        "/papers/month/26-11",
        "/?page=0",
        "/?sort=best",
    ],
)
def test_bad_feed_addresses_are_friendly_400s(anon: Client, url: str) -> None:
    page = anon.get(url)
    assert page.status_code == 400
    assert "Bad request" in page.text and "Traceback" not in page.text


def test_trending_links_to_how_it_is_ranked(anon: Client) -> None:
    page = anon.get("/papers/trending")
    assert page.status_code == 200
    assert "The papers listed in the 7 days up to Nov 28, 2026" in page.text
    ranked = titles(page.text)
    assert (
        len(ranked) == 10
    )  # the 7 days up to the 28th: three days of three, and the XSS paper
    assert ranked[0].startswith("Paper 3 ")  # 20 votes today beats 20 votes yesterday
    assert "hours since listed" not in page.text and "score 0." not in page.text
    assert 'href="/about/ranking#trending"' in page.text
    how = anon.get("/about/ranking")
    assert how.status_code == 200
    assert "score = (upvotes + 1) / (hours since listed + 2)^1.5" in how.text
    assert 'id="top"' in how.text and 'id="newest"' in how.text


def test_home_before_anything_is_listed_shows_newest(db_url: str) -> None:
    from helpers import hub_at

    hub = hub_at(db_url, embedder="none")
    hub.add_papers([paper("2401.00001", title="Lonely paper")])
    page = Client(hub).get("/")
    hub.close()
    assert (
        page.status_code == 200
        and "Newest papers" in page.text
        and "Lonely paper" in page.text
    )


# -- paper, author, category --------------------------------------------------------------------


def test_paper_page(anon: Client) -> None:
    page = anon.get("/papers/2611.00001v2")
    assert page.status_code == 200
    text = page.text
    assert "Paper 1 about diffusion models" in text
    assert (
        'href="https://arxiv.org/abs/2611.00001"' in text
        and 'href="https://arxiv.org/pdf/2611.00001"' in text
    )
    assert 'href="https://github.com/example/repo"' in text
    assert "@misc{lovelace2026paper," in text and "eprint = {2611.00001}" in text
    assert (
        'href="/authors/Ada%20Lovelace"' in text and 'href="/categories/cs.LG"' in text
    )
    assert (
        "Similar papers" in text
        and 'Log in</a> or <a href="/signup">sign up</a> to comment' in text
    )


def test_unknown_and_malformed_papers_are_404(anon: Client) -> None:
    for url in ("/papers/2611.55555", "/papers/not-an-id!"):
        page = anon.get(url)
        assert page.status_code == 404 and "Page not found" in page.text


def test_author_and_category_pages(anon: Client) -> None:
    author = anon.get("/authors/ada%20lovelace")
    assert author.status_code == 200 and "<h1>Ada Lovelace</h1>" in author.text
    assert len(titles(author.text)) == 16
    cat = anon.get("/categories/cs.LG")
    assert cat.status_code == 200 and "Machine Learning (cs.LG)" in cat.text
    assert anon.get("/categories/cs").status_code == 200  # a whole archive
    assert anon.get("/authors/Nobody%20Here").status_code == 404


# -- search -----------------------------------------------------------------------------------


def test_search_highlights_and_filters(anon: Client) -> None:
    page = anon.get("/search", params={"q": "protein folding"})
    assert page.status_code == 200
    assert "<mark>protein</mark> <mark>folding</mark>" in page.text
    assert (
        len(titles(page.text)) == 0
    )  # titles carry marks, so the plain regex finds none
    hits = re.findall(
        r'<h2 class="title"><span class="rank">\d+\.</span> <a href="/papers/([^"]+)">',
        page.text,
    )
    assert len(hits) == 5
    narrowed = anon.get(
        "/search",
        params={"q": "protein folding", "since": "2026-11-20", "cat": "cs.LG"},
    )
    assert len(re.findall(r'<span class="rank">', narrowed.text)) == 3
    assert (
        anon.get("/search", params={"q": "protein", "cat": "math.AG"}).text.count(
            'class="rank"'
        )
        == 0
    )


def test_search_escapes_titles_and_reports_bad_input(anon: Client) -> None:
    page = anon.get("/search", params={"q": "evil title"})
    assert "&lt;script&gt;" in page.text and "<script>alert" not in page.text
    bad = anon.get("/search", params={"q": "x", "since": "yesterday"})
    assert bad.status_code == 400 and "must look like 2024-05-17" in bad.text
    empty = anon.get("/search")
    assert empty.status_code == 200 and 'class="rank"' not in empty.text


# -- accounts ---------------------------------------------------------------------------------


def test_signup_logs_in_and_sets_safe_cookies(anon: Client, hub: Hub) -> None:
    anon.get("/signup")
    r = anon.post(
        "/signup",
        {
            "name": "grace",
            "email": "grace@example.org",
            "password": "a long password",
            "next": "/submit",
        },
    )
    assert r.status_code == 303 and r.headers["location"] == "/submit"
    cookies = r.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith("bs_session="))
    assert "HttpOnly" in session and "SameSite=lax" in session
    assert any(
        c.startswith("bs_csrf=") for c in cookies
    )  # a new CSRF cookie for the new login
    assert ">grace<" in anon.get("/").text
    assert hub.get_user("grace").email == "grace@example.org"


def test_signup_errors_rerender_the_form(anon: Client) -> None:
    anon.get("/signup")
    taken = anon.post("/signup", {"name": "ADA", "password": "a long password"})
    assert (
        taken.status_code == 400
        and "is taken" in taken.text
        and 'value="ADA"' in taken.text
    )
    short = anon.post("/signup", {"name": "bob", "password": "short"})
    assert short.status_code == 400 and "at least 8 characters" in short.text


def test_signups_can_be_closed(db_url: str) -> None:
    hub = site_hub(db_url, allow_signups=False)
    c = Client(hub)
    assert c.get("/signup").status_code == 403
    assert (
        c.post("/signup", {"name": "eve", "password": "a long password"}).status_code
        == 403
    )
    hub.close()


def test_login_logout_and_open_redirects(anon: Client) -> None:
    anon.get("/login")
    wrong = anon.post("/login", {"login": "ada", "password": "nope nope"})
    assert wrong.status_code == 401 and "Wrong user name or password" in wrong.text
    r = anon.post(
        "/login",
        {"login": "ada@example.org", "password": PASSWORD, "next": "//evil.example/"},
    )
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert ">ada<" in anon.get("/").text
    out = anon.post("/logout")
    assert out.status_code == 303
    assert ">ada<" not in anon.get("/").text
    assert anon.get("/settings").status_code == 303  # the old session is gone


def test_settings_need_login_and_change_things(
    anon: Client, member: Client, hub: Hub
) -> None:
    r = anon.get("/settings")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/settings"
    page = member.get("/settings")
    assert page.status_code == 200 and "Signed in as <strong>ada</strong>" in page.text
    saved = member.post("/settings/profile", {"email": "ada@new.example"})
    assert (
        "Profile saved." in saved.text
        and hub.get_user("ada").email == "ada@new.example"
    )
    token_page = member.post("/settings/token", {"action": "new"})
    token = re.search(r'<pre class="token">([^<]+)</pre>', token_page.text)
    assert token and hub.user_for_api_token(token.group(1)).name == "ada"  # type: ignore[union-attr]
    member.post("/settings/token", {"action": "revoke"})
    assert hub.user_for_api_token(token.group(1)) is None
    bad = member.post(
        "/settings/password", {"current": "wrong one", "new": "another password"}
    )
    assert bad.status_code == 400 and "current password is wrong" in bad.text
    ok = member.post(
        "/settings/password", {"current": PASSWORD, "new": "another password"}
    )
    assert ok.status_code == 200 and "Password changed" in ok.text
    assert (
        member.get("/settings").status_code == 200
    )  # this session survives the change


# -- votes, comments, submissions ------------------------------------------------------------


def test_anonymous_actions_go_to_login(anon: Client) -> None:
    anon.get("/papers/2611.00001")
    r = anon.post(
        "/papers/2611.00001/vote",
        {"on": "1"},
        headers={"referer": "http://testserver/papers/2611.00001"},
    )
    assert (
        r.status_code == 303
        and r.headers["location"] == "/login?next=/papers/2611.00001"
    )
    js = anon.post(
        "/papers/2611.00001/vote", {"on": "1"}, headers={"accept": "application/json"}
    )
    assert js.status_code == 401 and js.json()["login"] == "/login"
    assert anon.post("/papers/2611.00001/comments", {"body": "hi"}).status_code == 303
    assert anon.post("/submit", {"arxiv_id": "2611.00001"}).status_code == 303
    submit = anon.get("/submit")
    assert submit.status_code == 200 and "Log in to submit" in submit.text


def test_vote_toggles_once_per_user(member: Client, hub: Hub) -> None:
    before = hub.get_paper("2611.00002").upvotes
    r = member.post(
        "/papers/2611.00002/vote", {"on": "1", "next": "/papers/week/2026-W48"}
    )
    assert r.status_code == 303 and r.headers["location"] == "/papers/week/2026-W48"
    again = member.post(
        "/papers/2611.00002/vote", {"on": "1"}, headers={"accept": "application/json"}
    )
    assert again.json() == {
        "arxiv_id": "2611.00002",
        "upvotes": before + 1,
        "voted": True,
    }
    page = member.get("/papers/2611.00002")
    assert 'aria-pressed="true"' in page.text and 'name="on" value="0"' in page.text
    off = member.post(
        "/papers/2611.00002/vote", {"on": "0"}, headers={"accept": "application/json"}
    )
    assert off.json()["upvotes"] == before and off.json()["voted"] is False


def test_comments_markdown_is_sanitised_and_replies_nest_once(
    member: Client, hub: Hub
) -> None:
    r = member.post(
        "/papers/2611.00001/comments",
        {"body": f"**bold** [x](javascript:alert(1)) {XSS_COMMENT}"},
    )
    assert r.status_code == 303 and r.headers["location"].startswith(
        "/papers/2611.00001#c"
    )
    page = member.get("/papers/2611.00001").text
    assert "<strong>bold</strong>" in page
    assert "<img src=x" not in page and 'href="javascript' not in page  # the page has its own <img>: the thumbnail
    assert "&lt;img src=x onerror=alert(1)&gt; look" in page
    top = hub.get_comments("2611.00001")[0]
    reply = member.post(
        "/papers/2611.00001/comments", {"body": "a reply", "parent_id": str(top.id)}
    )
    assert reply.status_code == 303
    child = hub.get_comments("2611.00001")[1]
    deeper = member.post(
        "/papers/2611.00001/comments", {"body": "too deep", "parent_id": str(child.id)}
    )
    assert (
        deeper.status_code == 400
        and "one level deep" in deeper.text
        and "too deep" in deeper.text
    )
    empty = member.post("/papers/2611.00001/comments", {"body": "   "})
    assert empty.status_code == 400 and "cannot be empty" in empty.text


def test_submit_lists_today_or_explains(member: Client, hub: Hub, clock: Clock) -> None:
    clock.now = NOW + timedelta(days=1)
    page = member.post("/submit", {"arxiv_id": "https://arxiv.org/abs/2611.00004v2"})
    assert page.status_code == 200 and "to the list of Nov 29, 2026" in page.text
    listed = hub.get_listings(NOW.date() + timedelta(days=1))
    assert [(entry.paper.arxiv_id, entry.submitter) for entry in listed] == [
        ("2611.00004", "ada")
    ]
    again = member.post("/submit", {"arxiv_id": "2611.00004"})
    assert "is already on the list" in again.text
    missing = member.post("/submit", {"arxiv_id": "2612.00001"})
    assert (
        missing.status_code == 200
        and "this server does not fetch papers from arXiv" in missing.text
    )
    bad = member.post("/submit", {"arxiv_id": "not an id"})
    assert bad.status_code == 400 and "not an arXiv id" in bad.text


# -- moderation -------------------------------------------------------------------------------


def test_only_admins_hide_papers(member: Client, admin: Client, anon: Client) -> None:
    assert "Hide this paper" not in member.get("/papers/2611.00001").text
    denied = member.post("/papers/2611.00001/hide", {"hidden": "1"})
    assert denied.status_code == 403 and "Not allowed" in denied.text
    assert "Hide this paper" in admin.get("/papers/2611.00001").text
    assert admin.post("/papers/2611.00001/hide", {"hidden": "1"}).status_code == 303
    assert anon.get("/papers/2611.00001").status_code == 404
    assert "Paper 1 about" not in anon.get("/papers/date/2026-11-28").text
    assert "This paper is hidden" in admin.get("/papers/2611.00001").text
    admin.post("/papers/2611.00001/hide", {"hidden": "0"})
    assert anon.get("/papers/2611.00001").status_code == 200


def test_only_admins_hide_comments(
    member: Client, admin: Client, anon: Client, hub: Hub
) -> None:
    member.post("/papers/2611.00001/comments", {"body": "rude words"})
    cid = hub.get_comments("2611.00001")[0].id
    assert member.post(f"/comments/{cid}/hide", {"hidden": "1"}).status_code == 403
    assert admin.post(f"/comments/{cid}/hide", {"hidden": "1"}).status_code == 303
    public = anon.get("/papers/2611.00001").text
    assert "rude words" not in public
    assert "rude words" in admin.get("/papers/2611.00001").text
    assert admin.post("/comments/99999/hide", {"hidden": "1"}).status_code == 404


# -- CSRF, rate limits, errors ---------------------------------------------------------------


def test_every_post_needs_the_csrf_token(member: Client) -> None:
    # Except the email links (/digest/.../{token}): the signed token is the credential, and a
    # mail client's one-click unsubscribe (RFC 8058) has no cookie or form token to send.
    posts = [path for path, methods, _ in ROUTES if methods == ["POST"] and "{token}" not in path]
    for path in posts:
        url = (
            path.replace("{arxiv_id:path}", "2611.00001")
            .replace("{comment_id:int}", "1")
            .replace("{subscription_id:int}", "1")
        )
        r = member.post(url, {"body": "x", "arxiv_id": "2611.00001"}, csrf=False)
        assert r.status_code == 403, url
        assert "This form has expired or came from another site" in r.text
        forged = member.post(url, {"csrf_token": "forged", "body": "x"}, csrf=False)
        assert forged.status_code == 403, url


def test_csrf_header_works_for_scripts(member: Client) -> None:
    r = member.http.post(
        "/papers/2611.00001/vote",
        data={"on": "1"},
        headers={"accept": "application/json", "x-csrf-token": member.token},
    )
    assert r.status_code == 200 and r.json()["voted"] is True


def test_rate_limits_answer_429(db_url: str) -> None:
    hub = site_hub(db_url, rate_votes="2/minute", rate_signups="1/hour")
    c = Client(hub)
    c.login("ada")
    for on in ("1", "0"):
        assert c.post("/papers/2611.00001/vote", {"on": on}).status_code == 303
    third = c.post("/papers/2611.00001/vote", {"on": "1"})
    assert (
        third.status_code == 429
        and "too many votes" in third.text
        and "Slow down" in third.text
    )
    assert int(third.headers["retry-after"]) > 0
    js = c.post(
        "/papers/2611.00001/vote", {"on": "1"}, headers={"accept": "application/json"}
    )
    assert js.status_code == 429 and "too many votes" in js.json()["error"]
    other = Client(hub)
    other.get("/signup")
    assert (
        other.post(
            "/signup", {"name": "one", "password": "a long password"}
        ).status_code
        == 303
    )
    other.post("/logout")
    other.get("/signup")
    assert (
        other.post(
            "/signup", {"name": "two", "password": "a long password"}
        ).status_code
        == 429
    )
    hub.close()


def test_errors_are_pages_without_tracebacks(hub: Hub) -> None:
    c = Client(hub, raise_server_exceptions=False)

    def broken(*_a: object, **_k: object) -> None:
        raise RuntimeError("secret internals")

    hub.get_trending = broken  # type: ignore[method-assign]
    page = c.get("/papers/trending")
    assert page.status_code == 500
    assert "Something went wrong" in page.text and 'class="brand"' in page.text
    assert "secret internals" not in page.text and "Traceback" not in page.text
    missing = c.get("/no/such/page")
    assert missing.status_code == 404 and 'class="brand"' in missing.text
    wrong_method = c.http.delete("/")
    assert wrong_method.status_code == 405


def test_pages_escape_user_text_and_send_security_headers(member: Client) -> None:
    member.post("/papers/2611.09999/comments", {"body": XSS_COMMENT})
    for url in ("/", "/papers/2611.09999", "/papers/trending"):
        page = member.get(url)
        assert (
            "<script>alert(1)</script>" not in page.text
            and "<img src=x" not in page.text
        ), url
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text, url
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert page.headers["x-content-type-options"] == "nosniff"


def test_static_files_and_health(anon: Client) -> None:
    assert anon.get("/healthz").text == "ok"
    css = anon.get("/static/site.css")
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]
    assert anon.get("/static/app.js").status_code == 200


def test_secret_key_is_generated_once_into_the_data_folder(tmp_path: Path) -> None:
    """SQLite's data folder is the database's; on PostgreSQL it is the user's data directory."""
    hub = site_hub(f"sqlite:///{tmp_path / 'hub.sqlite3'}")
    key = tmp_path / "secret_key"
    assert not key.exists()
    Client(hub)
    assert key.stat().st_mode & 0o777 == 0o600
    first = key.read_text()
    Client(hub)
    assert key.read_text() == first and len(first.strip()) >= 32


def test_every_route_is_reachable(anon: Client, member: Client, admin: Client) -> None:
    """No route in the table is dead: each GET answers a member (an admin, for /admin pages) with
    a page or a redirect."""
    examples = {
        "{slug}": "2026-11-28",
        "{arxiv_id:path}": "2611.00001",
        "{name:path}": "Ada Lovelace",
        "{code}": "cs.LG",
        "{name}": "example-lab",
        "{path:path}": "2611.00001.svg",  # /thumbnails/
    }
    for path, methods, _ in ROUTES:
        if methods != ["GET"] or "{token}" in path:  # email links: tests/test_digest_web.py
            continue
        url = path
        for k, v in examples.items():
            url = url.replace(k, v)
        if "/week/" in url:
            url = "/papers/week/2026-W48"
        if "/month/" in url:
            url = "/papers/month/2026-11"
        if url == "/papers/go":  # the date picker: a redirect to the period of the day picked
            assert member.get(url + "?day=2026-11-27").status_code == 303
            continue
        if url.startswith("/admin/"):
            assert admin.get(url).status_code == 200, url
            assert member.get(url).status_code == 403, url
        else:
            assert member.get(url).status_code == 200, url
        assert anon.get(url).status_code in (200, 303), url


def test_listing_submitted_by_a_member_shows_their_name(
    member: Client, hub: Hub
) -> None:
    hub.add_papers(
        [paper("2611.07777", title="Fresh"), ListingData("2611.07777", DAYS[1])]
    )
    member.post("/submit", {"arxiv_id": "2611.07777"})
    page = member.get("/").text
    assert re.search(r'<img class="avatar" src="/avatars/ada.svg"[^>]*>submitted by <strong title="ada">ada</strong>', page)


# -- caching ----------------------------------------------------------------------------------


def test_anonymous_pages_are_cached_until_the_data_changes(
    anon: Client, member: Client, hub: Hub
) -> None:
    first = anon.http.get("/papers/2611.00001")
    assert (
        "csrf_token" not in first.text and "set-cookie" not in first.headers
    )  # the same for everyone
    app_cache = anon.http.app.user_middleware  # type: ignore[attr-defined]
    assert any(m.cls.__name__ == "PageCache" for m in app_cache)
    hub.get_paper = None  # type: ignore[assignment, method-assign]  # a cache hit does not reach the Hub
    assert anon.http.get("/papers/2611.00001").text == first.text
    del hub.get_paper  # back to the class's method
    member.post(
        "/papers/2611.00001/vote", {"on": "1"}
    )  # a write through the Hub: stale at once
    assert 'data-paper="2611.00001">1<' in anon.http.get("/papers/2611.00001").text
    assert 'data-paper="2611.00001">0<' in first.text


def test_member_pages_and_forms_are_not_cached(member: Client, anon: Client) -> None:
    login = anon.http.get("/login")
    assert (
        "bs_csrf=" in login.headers["set-cookie"]
    )  # a page with a form sets its cookie
    page = member.get("/papers/2611.00001")
    assert 'name="csrf_token"' in page.text and ">ada<" in page.text
    assert ">ada<" not in anon.http.get("/papers/2611.00001").text


def test_anonymous_forms_without_token_lead_to_login(anon: Client) -> None:
    r = anon.post("/papers/2611.00001/vote", {"on": "1"}, csrf=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    assert (
        anon.post(
            "/login", {"login": "ada", "password": PASSWORD}, csrf=False
        ).status_code
        == 403
    )


def test_ttl_cache_expires_and_evicts() -> None:
    from broadsheet.web.cache import TtlCache

    now = [0.0]
    cache: TtlCache[str] = TtlCache(size=2, ttl=10, clock=lambda: now[0])
    cache.put("a", 1, "A")
    assert (
        cache.get("a", 1) == "A" and cache.get("a", 2) is None
    )  # another data version: stale
    cache.put("a", 1, "A")
    now[0] = 10.0
    assert cache.get("a", 1) is None  # too old
    cache.put("a", 1, "A")
    cache.put("b", 1, "B")
    cache.get("a", 1)
    cache.put("c", 1, "C")  # evicts the least recently used: b
    assert (cache.get("a", 1), cache.get("b", 1), cache.get("c", 1)) == ("A", None, "C")
    off: TtlCache[str] = TtlCache(size=10, ttl=0)
    off.put("a", 1, "A")
    assert off.get("a", 1) is None


def test_every_post_form_on_every_page_carries_a_csrf_token(
    anon: Client, member: Client, admin: Client
) -> None:
    member.post("/papers/2611.00001/comments", {"body": "a comment to reply to"})
    pages = ["/", "/papers/trending", "/papers/week/2026-W48", "/papers/2611.00001", "/search?q=protein",
             "/authors/Ada%20Lovelace", "/categories/cs.LG", "/submit", "/signup", "/login", "/settings"]  # fmt: skip
    seen = 0
    for client in (anon, member, admin):
        for url in pages:
            html = client.get(url).text
            forms = re.findall(
                r'<form[^>]*method="post"[^>]*>(.*?)</form>', html, flags=re.DOTALL
            )
            seen += len(forms)
            for form in forms:
                assert 'name="csrf_token" value="' in form, (url, form[:200])
    assert seen > 50
    anonymous_home = anon.get("/").text
    assert (
        'method="post"' not in anonymous_home
        and 'href="/login?next=/"' in anonymous_home
    )


def test_submitting_a_missing_paper_fetches_it_from_arxiv(
    member: Client, hub: Hub, replay
) -> None:
    """As `broadsheet serve` wires it: Hub.fetch_arxiv_paper, here against the replayed arXiv API."""
    hub.fetch_paper = partial(
        hub.fetch_arxiv_paper, base_url=replay.url + "/api/query", delay=0, embed=False
    )
    page = member.post("/submit", {"arxiv_id": "arXiv:1605.08386v1"})
    assert page.status_code == 200 and "to the list of Nov 28, 2026" in page.text
    assert hub.get_paper("1605.08386").source == "arxiv-api"
    assert (
        "arXiv has no paper 0808.05394"
        in member.post("/submit", {"arxiv_id": "0808.05394"}).text
    )


class BlackHole:
    """A local port that accepts connections and never answers: an arXiv that hangs."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return "http://127.0.0.1:%d" % self.server.getsockname()[1]

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self) -> None:
        self.server.close()
        for conn in self.held:
            conn.close()


def test_a_submission_answers_within_seconds_when_arxiv_hangs(
    db_url: str, clock: Clock
) -> None:
    """As `broadsheet serve` wires it, with the default timeouts: the form used to hang 189 s."""
    arxiv = BlackHole()
    hub = site_hub(db_url, clock, arxiv_api_url=arxiv.url + "/api/query")
    hub.fetch_paper = hub.fetch_arxiv_paper  # what `broadsheet serve` does
    member = Client(hub)
    member.login()
    member.get("/submit")
    answer: list[object] = []
    start = time.monotonic()
    worker = threading.Thread(
        target=lambda: answer.append(member.post("/submit", {"arxiv_id": "2612.00001"})),
        daemon=True,
    )
    worker.start()
    worker.join(5)
    took = time.monotonic() - start
    arxiv.close()
    try:
        assert answer, f"no answer after {took:.1f} s"
        page = answer[0]
        assert page.status_code == 200 and took < 5  # type: ignore[attr-defined]
        assert "arXiv could not be reached" in page.text  # type: ignore[attr-defined]
        assert len(arxiv.held) == 1  # one try: no retries while a person waits
    finally:
        hub.close()


def test_submitting_something_that_is_not_an_arxiv_id_says_so(hub: Hub) -> None:
    hub.fetch_paper = hub.fetch_arxiv_paper  # a server that does fetch from arXiv
    member = Client(hub)
    member.login()
    for value in ("hello-world", "not an id", "arxiv.org/abs/x"):
        page = member.post("/submit", {"arxiv_id": value})
        assert page.status_code == 400, value
        assert "That is not an arXiv id" in page.text, value
        assert "does not fetch papers" not in page.text


def test_feed_pages_have_a_date_picker(anon: Client) -> None:
    page = anon.get("/papers/week/2026-W48?sort=newest").text
    form = re.search(r'<form class="jump" method="get" action="(/papers/go)">(.*?)</form>', page, re.DOTALL)
    assert form, "no date picker on the week page"
    assert 'name="kind" value="week"' in form.group(2) and 'type="date" name="day" value="2026-11-23"' in form.group(2)
    assert 'name="sort" value="newest"' in form.group(2)  # a chosen sort is kept
    went = anon.get("/papers/go?kind=week&day=2026-11-18&sort=newest")
    assert went.status_code == 303 and went.headers["location"] == "/papers/week/2026-W47?sort=newest"
    day = anon.get("/papers/go?kind=date&day=2026-11-20")
    assert day.headers["location"] == "/papers/date/2026-11-20"
    assert "2026-11-20" in anon.get(day.headers["location"]).text
    bad = anon.get("/papers/go?kind=date&day=yesterday")
    assert bad.status_code == 400 and "must look like 2024-05-17" in bad.text


def test_a_paper_page_says_when_and_by_whom_it_was_listed(member: Client, hub: Hub) -> None:
    page = member.get("/papers/2611.00004").text  # listed Nov 27 by hf-user
    assert re.search(r'<dt>Listed</dt><dd><a href="/papers/date/2026-11-27">Nov 27, 2026</a> · <span class="who">.*?submitted by <strong title="hf-user">hf-user</strong>', page)
    hub.add_papers([paper("2611.07777", title="Fresh")])
    assert "<dt>Listed</dt>" not in member.get("/papers/2611.07777").text  # never listed
    member.post("/submit", {"arxiv_id": "2611.07777"})
    assert re.search(r'<dt>Listed</dt><dd><a href="/papers/date/2026-11-28">Nov 28, 2026</a> · <span class="who">.*?submitted by <strong title="ada">ada</strong>', member.get("/papers/2611.07777").text)


def test_a_whole_day_fits_on_a_page(db_url: str) -> None:
    """50 papers a page by default: a day of the Hugging Face list (its busiest have 50)."""
    hub = site_hub(db_url)
    try:
        hub.add_papers([paper(f"2611.{n:05d}", title=f"Busy {n}") for n in range(100, 150)])
        hub.add_papers([ListingData(f"2611.{n:05d}", DAYS[0]) for n in range(100, 150)])
        page = Client(hub).get("/").text
        assert len(titles(page)) == 50 and "Page 1 of 2" in page
    finally:
        hub.close()


def _published(html: str) -> list[str]:
    from datetime import datetime as dt

    days = re.findall(r"<span>published ([A-Z][a-z]{2} \d+, \d{4})</span>", html)
    return [dt.strptime(d, "%b %d, %Y").date().isoformat() for d in days]


def test_search_shows_its_count_and_sorts_by_relevance_date_or_upvotes(anon: Client) -> None:
    page = anon.get("/search", params={"q": "study"}).text
    ranks = re.findall(r'<span class="rank">(\d+)\.</span>', page)
    assert len(ranks) == 15 and "15 results" in page
    assert 'aria-current="true" class="on">Relevance' in page
    by_date = anon.get("/search", params={"q": "study", "sort": "date"}).text
    published = _published(by_date)
    assert len(published) == 15 and published == sorted(published, reverse=True)
    assert "15 results" in by_date and 'name="sort" value="date"' in by_date  # a new search keeps the sort
    by_votes = anon.get("/search", params={"q": "study", "sort": "upvotes"}).text
    votes = [int(n) for n in re.findall(r'data-paper="[^"]+">(\d+)<', by_votes)]
    assert len(votes) == 15 and votes == sorted(votes, reverse=True) and votes[0] > votes[-1]
    one = anon.get("/search", params={"q": '"paper 7 about"'}).text
    assert "1 result<" in one
    bad = anon.get("/search", params={"q": "study", "sort": "best"})
    assert bad.status_code == 400 and "There is no sort &#39;best&#39; for search" in bad.text


def test_an_author_query_names_the_matched_author(anon: Client, hub: Hub) -> None:
    crowd = ("Ann One", "Bob Two", "Cy Three", "Di Four", "Ed Five", "Fay Six", "Grace Hopper")
    hub.add_papers([paper("2611.08888", title="Many hands", authors=crowd)])
    page = anon.get("/search", params={"q": "author:hopper"}).text
    assert "1 result<" in page
    authors = re.search(r'<p class="authors">(.*?)</p>', page, re.DOTALL)
    assert authors and "<mark>Grace Hopper</mark>" in authors.group(1)
    assert "and 2 more" in authors.group(1)  # Ed Five and Fay Six; never the matched author
    assert "author Grace Hopper" in page  # the explanation names them
    full = anon.get("/search", params={"q": 'author:"grace hopper"'}).text
    assert "<mark>Grace Hopper</mark>" in full and "author Grace Hopper" in full


def test_a_search_with_many_results_says_so_and_sorts_them_all(anon: Client, hub: Hub) -> None:
    hub.add_papers(
        [paper(f"2610.{n:05d}", title=f"Crowded topic {n}", abstract="A crowded topic.", published=NOW.date() - timedelta(days=n)) for n in range(1, 131)]
    )
    page = anon.get("/search", params={"q": "crowded"}).text
    assert "100+ results" in page  # relevance counts the best 100 (the fusion's depth)
    by_date = anon.get("/search", params={"q": "crowded", "sort": "date"}).text
    assert "130 results" in by_date  # a sort orders the best 1,000
    assert _published(by_date)[0] == (NOW.date() - timedelta(days=1)).isoformat()
