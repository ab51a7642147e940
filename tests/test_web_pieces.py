"""Pages assembled from kept pieces (web/render.py ``shared_fragment``): the main part of a list
page is rendered once per data version for an address and a viewer's marks, kept as UTF-8 bytes
and put into the page per request. What is personal must stay out of a piece's sharing: two
members with the same marks share a piece, a member's own state (follow box, token) does not leak."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from helpers import Clock
from web_helpers import NOW, PASSWORD, csrf_of, site_hub

from broadsheet.hub import Hub
from broadsheet.web import create_app
from broadsheet.web.render import _MARK, _assemble

AUTHOR = "/authors/Ada%20Lovelace"
TOP = "2611.00003"  # a paper of the site (web_helpers.site_hub)


def test_assemble_puts_each_piece_in_its_place() -> None:
    html = f"<p>é → {_MARK}1\x00 and {_MARK}0\x00 ▲</p>"
    assert _assemble(html, [b"<b>zero</b>", "<i>un ☆</i>".encode()]) == "<p>é → <i>un ☆</i> and <b>zero</b> ▲</p>".encode()
    assert _assemble("plain ★ \x00 text", []) == "plain ★ \x00 text".encode()  # a NUL alone is text


@pytest.fixture
def hub(db_url: str) -> Iterator[Hub]:
    h = site_hub(db_url, Clock(NOW), page_cache_seconds=0.0)
    h.create_user("bob", PASSWORD)
    h.create_user("cy", PASSWORD)  # bob and cy have upvoted and saved nothing: the same marks
    yield h
    h.close()


@pytest.fixture
def app(hub: Hub) -> FastAPI:
    return create_app(hub)  # one app, as one server process: its members share its kept pieces


def _member(app: FastAPI, name: str) -> TestClient:
    c = TestClient(app, follow_redirects=False)
    token = csrf_of(c.get("/login").text)
    r = c.post("/login", data={"csrf_token": token, "login": name, "password": PASSWORD, "next": "/"})
    assert r.status_code == 303, r.text
    return c


def _page(c: TestClient, url: str) -> str:
    r = c.get(url)
    assert r.status_code == 200, r.text
    return r.text


def test_a_follow_box_is_not_shared_with_a_member_of_the_same_marks(backend: str, app: FastAPI) -> None:
    bob, cy = _member(app, "bob"), _member(app, "cy")
    page = _page(bob, AUTHOR)
    r = bob.post("/following/add", data={"csrf_token": csrf_of(page), "what": "follow", "kind": "author", "value": "Ada Lovelace", "next": AUTHOR})
    assert r.status_code == 303, r.text
    theirs = _page(cy, AUTHOR)  # cy's piece is made first at this version: she follows no one
    assert ">Follow</button>" in theirs and ">Following</button>" not in theirs
    mine = _page(bob, AUTHOR)
    import re as _r; print("MINE", _r.findall(r">Follow[a-z]*</button>", mine), _r.findall(r">Follow[a-z]*</button>", theirs))
    assert ">Following</button>" in mine and ">Follow</button>" not in mine
    assert ">Follow</button>" in _page(cy, AUTHOR)


def test_a_kept_page_is_the_page_made_afresh_with_each_members_token(backend: str, app: FastAPI) -> None:
    bob, cy, visitor = _member(app, "bob"), _member(app, "cy"), TestClient(app)
    for url in ("/", "/papers/trending", AUTHOR):
        first = _page(bob, url)  # made now
        again = _page(bob, url)  # from the kept piece
        assert first == again
        theirs = _page(cy, url)  # the same piece (neither has voted or saved), cy's token in it
        tokens = set(re.findall(r'name="csrf_token" value="([^"]+)"', theirs))
        assert len(tokens) == 1 and tokens != set(re.findall(r'name="csrf_token" value="([^"]+)"', first))
        assert "\x00" not in theirs and "\x00" not in _page(visitor, url)
        assert "csrf_token" not in _page(visitor, url)


def test_a_paper_pages_pieces_keep_what_an_admin_a_member_and_a_form_error_see(backend: str, hub: Hub, app: FastAPI) -> None:
    """The comments are a piece per kind of viewer: a hidden comment and the Hide buttons reach
    the admin only, and a comment form that comes back with an error is not taken from a piece."""
    page = "/papers/" + TOP
    kept = hub.add_comment(hub.get_user("bob"), TOP, "A comment that stays")
    gone = hub.add_comment(hub.get_user("cy"), TOP, "A comment to hide")
    hub.set_comment_hidden(hub.get_user("root"), gone.id)
    bob, root = _member(app, "bob"), _member(app, "root")
    mine = _page(bob, page)  # bob's pieces first
    assert "A comment that stays" in mine and "A comment to hide" not in mine and "Unhide" not in mine
    admins = _page(root, page)
    assert "A comment to hide" in admins and "Unhide" in admins
    assert _page(bob, page) == mine
    reply = {"csrf_token": csrf_of(mine), "body": " ", "parent_id": str(kept.id)}  # an empty reply: refused
    r = bob.post(page + "/comments", data=reply)
    assert r.status_code == 400 and re.search(r'<details class="reply" open>\s*<summary>Reply</summary>.*?class="flash error"', r.text, re.S)
    assert 'class="flash error"' not in _page(bob, page)
    cy = _member(app, "cy")  # the same address (…/comments) and viewer kind: a piece would carry bob's open reply
    r = cy.post(page + "/comments", data={"csrf_token": csrf_of(_page(cy, page)), "body": " "})
    assert r.status_code == 400 and '<details class="reply" open>' not in r.text


def test_a_paper_pages_main_part_is_kept_per_member_marks(backend: str, app: FastAPI) -> None:
    """Two members with nothing of their own on a paper share its kept main part; one who saved it
    or whose mutes hide it gets their own (pages.paper_context ``page_marks``)."""
    page = "/papers/" + TOP
    bob, cy = _member(app, "bob"), _member(app, "cy")
    other = "/papers/2611.00001"
    r = cy.post(other + "/save", data={"csrf_token": csrf_of(_page(cy, other)), "collection": "saved", "on": "1", "next": other})
    assert r.status_code == 303, r.text  # both will have the same collections: only saving this paper tells them apart
    first = _page(bob, page)
    r = bob.post(page + "/save", data={"csrf_token": csrf_of(first), "collection": "saved", "on": "1", "next": page})
    assert r.status_code == 303, r.text
    theirs = _page(cy, page)  # cy's part is made first at this version: she saved nothing
    assert ">☆ Save</button>" in theirs and ">★ Saved</button>" not in theirs
    mine = _page(bob, page)
    assert ">★ Saved</button>" in mine and ">☆ Save</button>" not in mine
    author = re.search(r'<option value="author:([^"]+)">', theirs)
    assert author, "the paper has an author to mute"
    r = cy.post("/following/add", data={"csrf_token": csrf_of(theirs), "what": "mute", "target": "author:" + author.group(1), "next": page})
    assert r.status_code == 303, r.text
    assert "Your mutes hide this paper" not in _page(bob, page)  # made first at this version
    assert "Your mutes hide this paper" in _page(cy, page)
