"""The library through HTTP, on both backends: the save form without JavaScript (CSRF, redirect
back), pages and their privacy (another member and a visitor get 404 for a private collection,
its feed and its BibTeX), the public Atom feed in feedparser, the import page's report, exports,
and /api/v1/library (token auth, JSON errors, export that imports back the same papers)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import feedparser
import pytest
from fastapi.testclient import TestClient
from helpers import Clock
from web_helpers import NOW, PASSWORD, XSS_TITLE, csrf_of, site_hub

from broadsheet.hub import Hub
from broadsheet.web import create_app


@pytest.fixture
def hub(db_url: str) -> Iterator[Hub]:
    h = site_hub(db_url, Clock(NOW))
    h.create_user("bob", PASSWORD)
    yield h
    h.close()


def _logged_in(hub: Hub, name: str) -> tuple[TestClient, str]:
    client = TestClient(create_app(hub))
    token = csrf_of(client.get("/login").text)
    r = client.post("/login", data={"login": name, "password": PASSWORD, "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    return client, csrf_of(client.get("/library").text)


def test_save_without_javascript(hub: Hub) -> None:
    ada, token = _logged_in(hub, "ada")
    page = ada.get("/papers/week/2026-W48").text
    assert page.count('class="save"') >= 9 and "☆ Save" in page
    r = ada.post("/papers/2611.00001/save", data={"csrf_token": token, "next": "/papers/week/2026-W48"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/papers/week/2026-W48"
    page = ada.get("/papers/week/2026-W48").text
    assert page.count('aria-pressed="true" data-on') == 1  # the card of that paper is marked, the others are not
    assert '>★ Saved</button>' in ada.get("/papers/2611.00001").text
    # no token, or another site's form: refused and nothing saved
    assert ada.post("/papers/2611.00002/save", data={"next": "/"}).status_code == 403
    assert ada.post("/papers/2611.00002/save", data={"csrf_token": "forged"}).status_code == 403
    assert hub.saved(hub.get_user("ada"), ["2611.00002"]) == {}
    # an off-site `next` goes back to the paper instead
    r = ada.post("/papers/2611.00002/save", data={"csrf_token": token, "next": "//evil.example"}, follow_redirects=False)
    assert r.headers["location"] == "/papers/2611.00002"
    r = ada.post("/papers/2611.00002/save", data={"csrf_token": token, "on": "0"}, headers={"accept": "application/json"})
    assert r.json() == {"arxiv_id": "2611.00002", "collection": "saved", "saved": False, "collections": []}
    # visitors see no save form (their pages stay the same for all) and a post leads to log in
    visitor = TestClient(create_app(hub))
    assert 'class="save"' not in visitor.get("/").text
    r = visitor.post("/papers/2611.00001/save", data={}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_paper_page_offers_other_collections(hub: Hub) -> None:
    ada, token = _logged_in(hub, "ada")
    r = ada.post("/library/collections", data={"csrf_token": token, "name": "Reading group"}, follow_redirects=False)
    assert r.headers["location"] == "/library/reading-group"
    page = ada.get("/papers/2611.00003").text
    assert ">☆ Save</button>" in page and ">☆ Reading group</button>" in page
    ada.post("/papers/2611.00003/save", data={"csrf_token": token, "collection": "reading-group"})
    page = ada.get("/papers/2611.00003").text
    assert ">★ Reading group</button>" in page and ">☆ Save</button>" in page  # in the named one only
    assert hub.saved(hub.get_user("ada"), ["2611.00003"]) == {"2611.00003": ("reading-group",)}


def test_private_collections_are_404_for_others(hub: Hub) -> None:
    ada, token = _logged_in(hub, "ada")
    bob, _ = _logged_in(hub, "bob")
    visitor = TestClient(create_app(hub))
    ada.post("/papers/2611.00009/save", data={"csrf_token": token})
    ada.post(f"/papers/2611.09999/save", data={"csrf_token": token})  # the title with a <script>
    assert ada.get("/u/ada/saved").status_code == 200 and ada.get("/u/ada/saved.atom").status_code == 200
    page = ada.get("/library/saved").text
    assert "Paper 9 about" in page and XSS_TITLE not in page and "&lt;script&gt;" in page
    for client in (bob, visitor):
        for url in ("/u/ada/saved", "/u/ada/saved.atom", "/u/ada/saved.bib", "/u/ada/no-such"):
            r = client.get(url)
            assert r.status_code == 404, url
            assert "Paper 9" not in r.text
    assert bob.get("/library/saved").status_code == 404  # bob has no "saved" of his own
    assert visitor.get("/library/saved", follow_redirects=False).status_code == 303  # log in first

    r = ada.post("/library/saved/public", data={"csrf_token": token, "public": "1"}, follow_redirects=False)
    assert r.status_code == 303
    for client in (bob, visitor):
        assert "Paper 9 about" in client.get("/u/ada/saved").text
        assert "eprint = {2611.00009}" in client.get("/u/ada/saved.bib").text
    feed = feedparser.parse(visitor.get("/u/ada/saved.atom").content)
    assert not feed.bozo and feed.feed.title == "ada: Saved"
    assert [e.link for e in feed.entries] == [
        "http://testserver/papers/2611.09999", "http://testserver/papers/2611.00009",
    ]  # fmt: skip
    assert feed.entries[0].title == XSS_TITLE  # as text, escaped by the XML writer
    # private again: the visitor's cached page must not outlive it
    ada.post("/library/saved/public", data={"csrf_token": token, "public": "0"})
    assert visitor.get("/u/ada/saved").status_code == 404


def test_collection_page_rename_remove_delete(hub: Hub) -> None:
    ada, token = _logged_in(hub, "ada")
    ada.post("/library/collections", data={"csrf_token": token, "name": "Drafts"})
    for n in ("2611.00001", "2611.00002"):
        ada.post(f"/papers/{n}/save", data={"csrf_token": token, "collection": "drafts"})
    r = ada.post("/library/collections", data={"csrf_token": token, "name": "drafts"})
    assert r.status_code == 400 and "already" in r.text
    r = ada.post("/papers/2611.00001/save", data={"csrf_token": token, "collection": "drafts", "on": "0", "next": "/library/drafts"}, follow_redirects=False)
    assert r.headers["location"] == "/library/drafts"
    assert "Paper 1 about" not in ada.get("/library/drafts").text and "Paper 2 about" in ada.get("/library/drafts").text
    r = ada.post("/library/drafts/rename", data={"csrf_token": token, "name": "Final <i>list</i>"}, follow_redirects=False)
    assert r.headers["location"] == "/library/final-i-list-i"
    assert "Final &lt;i&gt;list&lt;/i&gt;" in ada.get("/library").text
    ada.post("/library/collections", data={"csrf_token": token, "name": "Other"})
    assert ada.post("/library/other/rename", data={"csrf_token": token, "name": "Final <i>list</i>"}).status_code == 409
    r = ada.post("/library/final-i-list-i/delete", data={"csrf_token": token}, follow_redirects=False)
    assert r.headers["location"] == "/library" and ada.get("/library/final-i-list-i").status_code == 404


def test_import_page_reports_each_unmatched_entry(hub: Hub, fixtures_dir: Path) -> None:
    ada, token = _logged_in(hub, "ada")
    bib = (fixtures_dir / "bibtex" / "zotero-better-bibtex-library.bib").read_bytes()
    # the real export, with two entries of this hub's papers put in front of it
    ours = b"@article{ours1, eprint = {2611.00004}, archivePrefix = {arXiv}}\n@misc{ours2, url = {https://arxiv.org/abs/2611.00005v1}}\n"
    r = ada.post("/library/import", data={"csrf_token": token, "collection": "Thesis"}, files={"file": ("library.bib", ours + bib)})
    assert r.status_code == 200
    text = " ".join(r.text.split())
    assert "334 entries read: <strong>2 papers added</strong>; <strong>332 not matched</strong>" in text
    assert "line 3: @article{ahmadiPassiveAntifrosting2018}: no arXiv id (no eprint, url or arXiv DOI)" in text
    assert "line 71: @article{akesonNASAExoplanet2013}: arXiv 1307.2944 is not in this hub" in text
    assert sorted(s.paper.arxiv_id for s in hub.collection_page(hub.collection(hub.get_user("ada"), "thesis")).papers) == ["2611.00004", "2611.00005"]
    # pasted ids, a file that is too big, nothing chosen
    r = ada.post("/library/import", data={"csrf_token": token, "text": "2611.00006\nrubbish"})
    assert r.status_code == 200 and "line 2: &#39;rubbish&#39;: not an arXiv id" in r.text
    r = ada.post("/library/import", data={"csrf_token": token}, files={"file": ("big.bib", b"%" * 5_000_001)})
    assert r.status_code == 400 and "at most 5 MB" in r.text  # read, then refused by its size
    r = ada.post("/library/import", data={"csrf_token": token}, files={"file": ("huge.bib", b"%" * 10_200_000)})
    assert r.status_code == 413 and "at most 5 MB" in r.text  # refused by its Content-Length, unread
    r = ada.post("/library/import", content=iter([b"chunked"]), headers={"content-type": "text/plain"})
    assert r.status_code == 411
    assert ada.post("/library/import", data={"csrf_token": token}).status_code == 400
    assert ada.post("/library/import", data={}, files={"file": ("a.txt", b"2611.00001")}).status_code == 403  # CSRF


def test_exports(hub: Hub) -> None:
    ada, token = _logged_in(hub, "ada")
    for n in ("2611.00001", "2611.00002", "2611.09999"):
        ada.post(f"/papers/{n}/save", data={"csrf_token": token})
    bib = ada.get("/library/saved.bib")
    assert bib.headers["content-type"].startswith("application/x-bibtex") and bib.text.count("@misc{") == 3
    data = ada.get("/library/saved.json").json()
    assert [i["id"] for i in data["items"]] == ["2611.09999", "2611.00002", "2611.00001"]
    assert data["items"][0]["type"] == "paper" and data["url"] == "http://testserver/u/ada/saved"
    bob, _ = _logged_in(hub, "bob")
    assert bob.get("/library/saved.bib").status_code == 404


# -- the API -------------------------------------------------------------------------------------


def test_api_library(hub: Hub) -> None:
    http = TestClient(create_app(hub))
    ada = {"Authorization": f"Bearer {hub.new_api_token(hub.get_user('ada'))}"}
    bob = {"Authorization": f"Bearer {hub.new_api_token(hub.get_user('bob'))}"}
    for method, url in (("GET", "/api/v1/library"), ("POST", "/api/v1/library"), ("GET", "/api/v1/library/saved"),
                        ("POST", "/api/v1/library/saved/papers"), ("POST", "/api/v1/library/import")):  # fmt: skip
        r = http.request(method, url, json={})
        assert r.status_code == 401 and "token" in r.json()["error"], url
    assert http.get("/api/v1/library", headers=ada).json() == []
    r = http.post("/api/v1/library/saved/papers", headers=ada, json={"arxivId": "https://arxiv.org/abs/2611.00001"})
    assert r.status_code == 200 and r.json()["collection"]["slug"] == "saved" and r.json()["collections"] == ["saved"]
    r = http.post("/api/v1/library", headers=ada, json={"name": "Reading group", "public": True})
    assert r.status_code == 201 and r.json()["url"] == "/u/ada/reading-group" and r.json()["public"] is True
    assert http.post("/api/v1/library", headers=ada, json={"name": "reading GROUP"}).status_code == 409
    assert http.post("/api/v1/library", headers=ada, json={"name": "!!"}).status_code == 400
    http.post("/api/v1/library/reading-group/papers", headers=ada, json={"arxivId": "2611.00002"})
    http.post("/api/v1/library/reading-group/papers", headers=ada, json={"arxivId": "2611.00003"})
    got = http.get("/api/v1/library/reading-group", headers=ada).json()
    assert [p["id"] for p in got["items"]] == ["2611.00003", "2611.00002"] and got["papers"] == 2
    assert http.post("/api/v1/library/saved/papers", headers=ada, json={"arxivId": "2611.55555"}).status_code == 404
    assert http.post("/api/v1/library/nope/papers", headers=ada, json={"arxivId": "2611.00002"}).status_code == 404
    r = http.delete("/api/v1/library/reading-group/papers/2611.00003", headers=ada)
    assert r.status_code == 200 and r.json()["saved"] is False and r.json()["collection"]["papers"] == 1

    # another member's collection does not exist for them, public or private
    assert http.get("/api/v1/library/saved", headers=bob).status_code == 404
    assert http.get("/api/v1/library/reading-group/export", headers=bob).status_code == 404
    assert http.delete("/api/v1/library/reading-group", headers=bob).status_code == 404
    assert http.get("/api/v1/library/reading-group", headers=ada).status_code == 200

    r = http.patch("/api/v1/library/reading-group", headers=ada, json={"name": "Journal club", "public": False})
    assert r.json()["slug"] == "journal-club" and r.json()["public"] is False

    # export, then import into a new collection: the same papers
    for fmt in ("json", "bibtex"):
        exported = http.get(f"/api/v1/library/saved/export?format={fmt}", headers=ada)
        assert exported.status_code == 200
        content = exported.text
        r = http.post("/api/v1/library/import", headers=bob, json={"content": content, "collection": f"From ada {fmt}"})
        assert r.status_code == 200, r.text
        assert (r.json()["added"], r.json()["problems"]) == (1, [])
        mine = http.get(f"/api/v1/library/from-ada-{fmt}", headers=bob).json()
        assert [p["id"] for p in mine["items"]] == ["2611.00001"]
    r = http.post("/api/v1/library/import", headers=bob, json={"content": "nothing\nuseful"})
    assert r.status_code == 422 and r.json()["problems"][1]["text"] == "line 2: 'useful': not an arXiv id or arxiv.org address"
    assert http.get("/api/v1/library/saved/export?format=xml", headers=ada).status_code == 400
    assert http.delete("/api/v1/library/journal-club", headers=ada).status_code == 204
    assert [c["slug"] for c in http.get("/api/v1/library", headers=ada).json()] == ["saved"]
    assert any(p.startswith("/api/v1/library") for p in http.get("/openapi.json").json()["paths"])
