"""What Hugging Face shows beside the text, kept from the recorded responses of every schema era:
thumbnail, organization, AI summary and keywords, GitHub stars, the submitter's name and avatar,
author participation. Parsed, stored, updated by a re-sync, served where huggingface.co puts them
(read back by ``huggingface_hub`` from a live server), filtered by ``org:``, shown on an
organization's page; and the generated SVG avatars."""

from __future__ import annotations

import ast
import json
import os
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from helpers import Clock, hub_at
from web_helpers import Server

from broadsheet.exceptions import NotFoundError
from broadsheet.hub import Hub
from broadsheet.search.query import parse_query
from broadsheet.sources.hf_daily import day_from_name, parse_hf_daily
from broadsheet.types import ListingData, PaperData
from broadsheet.web import create_app
from broadsheet.web.avatars import avatar_path, avatar_svg, initials

os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
from huggingface_hub import HfApi

NOW = Clock().now
ERAS = (  # one recorded day per schema era
    "daily_papers_2024-05-27.json",  # mediaUrl, no submitter
    "daily_papers_2024-08-02.json",  # thumbnail, submittedBy
    "malformed_python_repr_2024-12-11.json",  # the same, as Python repr() strings
    "daily_papers_2025-03-17.json",  # ai_keywords, isAuthorParticipating, submittedOnDailyBy
    "daily_papers_2025-12-12.json",  # ai_summary, githubStars, organization (some without avatar)
    "daily_papers_2026-08-21.json",  # every organization with an avatar
)
LATEST = "daily_papers_2026-08-21.json"


def _raw_items(path: Path) -> list[dict[str, Any]]:
    doc = json.loads(path.read_bytes())
    items = doc["data"] if isinstance(doc, dict) else doc
    return [ast.literal_eval(i) if isinstance(i, str) else i for i in items]


def _clean(value: Any) -> Any:
    """A text value as the parser keeps it (whitespace collapsed); others as they are."""
    return " ".join(value.split()) if isinstance(value, str) else value


def _parsed(path: Path) -> tuple[dict[str, PaperData], dict[str, ListingData]]:
    items = list(parse_hf_daily(path.read_bytes(), path.name, day_from_name(path.name)))
    return (
        {i.arxiv_id: i for i in items if isinstance(i, PaperData)},
        {i.arxiv_id: i for i in items if isinstance(i, ListingData)},
    )


# -- the parser ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ERAS)
def test_the_parser_keeps_every_field_of_each_era(fixtures_dir: Path, name: str) -> None:
    path = fixtures_dir / "hf-daily-papers" / name
    papers, listings = _parsed(path)
    raw = _raw_items(path)
    assert len(papers) == len(raw)
    seen: set[str] = set()
    for item in raw:
        p, by = item["paper"], item.get("submittedBy") or p_by(item)
        got, listing = papers[p["id"]], listings[p["id"]]
        assert got.thumbnail_url == (item.get("thumbnail") or item.get("mediaUrl"))
        assert got.ai_summary == _clean(p.get("ai_summary"))
        assert got.ai_keywords == tuple(_clean(k) for k in p.get("ai_keywords", []))
        assert got.github_stars == p.get("githubStars")
        assert got.github_repo == p.get("githubRepo")
        assert got.external_upvotes == p["upvotes"]
        org = p.get("organization") or item.get("organization")
        if org:
            assert got.organization is not None
            assert (got.organization.name, got.organization.fullname, got.organization.avatar_url) == (
                org["name"], _clean(org["fullname"]), org.get("avatar"),
            )  # fmt: skip
        else:
            assert got.organization is None
        assert listing.submitter_fullname == _clean(by.get("fullname"))
        assert listing.submitter_avatar == by.get("avatarUrl")
        assert listing.author_participating == item.get("isAuthorParticipating")
        assert got.cleared == ()  # huggingface.co leaves out what it lacks
        seen |= {k for k, v in vars_of(got).items() if v} | {k for k, v in vars_of(listing).items() if v}
    # what each era brings, at least once
    expected = {
        "daily_papers_2024-05-27.json": {"thumbnail_url"},
        "daily_papers_2024-08-02.json": {"thumbnail_url", "submitter_fullname", "submitter_avatar"},
        "malformed_python_repr_2024-12-11.json": {"thumbnail_url", "submitter_fullname", "submitter_avatar"},
        "daily_papers_2025-03-17.json": {"ai_keywords", "author_participating", "submitter_fullname"},
        "daily_papers_2025-12-12.json": {"ai_summary", "ai_keywords", "github_stars", "organization"},
        "daily_papers_2026-08-21.json": {"ai_summary", "ai_keywords", "github_stars", "organization"},
    }[name]
    assert expected <= seen


def p_by(item: dict[str, Any]) -> dict[str, Any]:
    return item["paper"].get("submittedOnDailyBy") or {}


def vars_of(obj: object) -> dict[str, Any]:
    return {k: getattr(obj, k) for k in obj.__slots__}  # type: ignore[attr-defined]


def test_an_explicit_null_clears_and_an_absent_field_keeps() -> None:
    item = {
        "paper": {"id": "2608.00001", "title": "T", "summary": "S", "upvotes": 3, "authors": [],
                  "ai_summary": None, "githubStars": 5},
        "organization": None, "thumbnail": "https://x/1.png",
    }  # fmt: skip
    got = next(parse_hf_daily(json.dumps([item]).encode(), "x.json", date(2026, 8, 21)))
    assert isinstance(got, PaperData)
    assert set(got.cleared) == {"ai_summary", "organization"}  # stated null; keywords merely absent
    assert got.github_stars == 5 and got.thumbnail_url == "https://x/1.png"


# -- stored, re-synced, served ------------------------------------------------------------------


@pytest.fixture
def hub(db_url: str, fixtures_dir: Path) -> Iterator[Hub]:
    h = hub_at(db_url, Clock(NOW), embedder="none")
    for name in ("daily_papers_2025-12-12.json", LATEST):
        path = fixtures_dir / "hf-daily-papers" / name
        report = h.add_papers(parse_hf_daily(path.read_bytes(), path.name, day_from_name(path.name)))
        assert not report.rejected
    yield h


def test_stored_and_read_back(hub: Hub, fixtures_dir: Path) -> None:
    papers, listings = _parsed(fixtures_dir / "hf-daily-papers" / LATEST)
    day = {lst.paper.arxiv_id: lst for lst in hub.get_listings(date(2026, 8, 21))}
    for aid, p in papers.items():
        got = hub.get_paper(aid)
        assert (got.thumbnail_url, got.ai_summary, got.ai_keywords, got.github_stars) == (
            p.thumbnail_url, p.ai_summary, p.ai_keywords, p.github_stars,
        )  # fmt: skip
        assert got.organization == p.organization
        lst, want = day[aid], listings[aid]
        assert (lst.submitter, lst.submitter_fullname, lst.submitter_avatar, lst.author_participating) == (
            want.submitter, want.submitter_fullname, want.submitter_avatar, want.author_participating,
        )  # fmt: skip
    feed = hub.get_feed(date(2026, 8, 21), date(2026, 8, 21), limit=100)
    assert {e.submitter_fullname for e in feed.entries} == {lst.submitter_fullname for lst in listings.values()}


def test_a_resync_updates_stars_and_upvotes_and_keeps_what_a_record_leaves_out(hub: Hub, fixtures_dir: Path) -> None:
    path = fixtures_dir / "hf-daily-papers" / LATEST
    items = json.loads(path.read_bytes())
    starred = [i for i in items if "githubStars" in i["paper"]]
    a, b, c = starred[0], starred[1], starred[2]
    a["paper"]["githubStars"] += 100
    a["paper"]["upvotes"] += 7
    b["paper"]["githubStars"] = 0  # fewer stars is news too
    del b["paper"]["ai_summary"], b["paper"]["ai_keywords"]  # left out: kept
    c["paper"]["organization"] = c["organization"] = None  # stated null: cleared
    c["submittedBy"]["fullname"] = "Renamed"
    c["isAuthorParticipating"] = True
    before = {i["paper"]["id"]: hub.get_paper(i["paper"]["id"]) for i in (a, b, c)}
    report = hub.add_papers(parse_hf_daily(json.dumps(items).encode(), path.name, date(2026, 8, 21)))
    assert report.updated == 3 and report.added == 0 and report.listings_added == 0
    pa, pb, pc = (hub.get_paper(i["paper"]["id"]) for i in (a, b, c))
    assert pa.github_stars == before[pa.arxiv_id].github_stars + 100  # type: ignore[operator]
    assert pa.external_upvotes == before[pa.arxiv_id].external_upvotes + 7
    assert pb.github_stars == 0
    assert pb.ai_summary == before[pb.arxiv_id].ai_summary and pb.ai_summary
    assert pb.ai_keywords == before[pb.arxiv_id].ai_keywords and pb.ai_keywords
    assert pc.organization is None and before[pc.arxiv_id].organization is not None
    listing = hub.get_first_listing(pc.arxiv_id)
    assert listing is not None and listing.submitter_fullname == "Renamed" and listing.author_participating is True
    # the original again: the stars and upvotes go back, nothing else moves
    again = hub.add_papers(parse_hf_daily(path.read_bytes(), path.name, date(2026, 8, 21)))
    assert hub.get_paper(pa.arxiv_id).github_stars == before[pa.arxiv_id].github_stars
    assert hub.get_paper(pc.arxiv_id).organization == before[pc.arxiv_id].organization
    assert again.updated == 3
    assert hub.add_papers(parse_hf_daily(path.read_bytes(), path.name, date(2026, 8, 21))).updated == 0


def _org_papers(fixtures_dir: Path, name: str) -> set[str]:
    found = set()
    for era in ("daily_papers_2025-12-12.json", LATEST):
        papers, _ = _parsed(fixtures_dir / "hf-daily-papers" / era)
        found |= {aid for aid, p in papers.items() if p.organization and p.organization.name == name}
    return found


def test_organizations_page_filter_and_api(hub: Hub, fixtures_dir: Path) -> None:
    google = _org_papers(fixtures_dir, "google")
    lab = _org_papers(fixtures_dir, "ShanghaiAiLab")  # the organization with the most papers here
    assert len(lab) >= 3
    org = hub.get_organization("shanghaiailab")  # any case
    assert (org.name, org.fullname) == ("ShanghaiAiLab", "shanghai ailab")
    with pytest.raises(NotFoundError):
        hub.get_organization("no-such-org")
    _, newest = hub.get_organization_feed("SHANGHAIAILAB", sort="newest")
    assert {e.paper.arxiv_id for e in newest.entries} == lab and newest.total == len(lab)
    days = [e.listed_on for e in newest.entries]
    assert days == sorted(days, reverse=True)
    _, trending = hub.get_organization_feed("ShanghaiAiLab", sort="trending")
    assert [e.score for e in trending.entries] == sorted((e.score for e in trending.entries), reverse=True)
    _, page2 = hub.get_organization_feed("ShanghaiAiLab", sort="trending", limit=2, offset=2)
    assert [e.paper.arxiv_id for e in page2.entries] == [e.paper.arxiv_id for e in trending.entries[2:4]]

    # org: in the query language, alone and with words, on this backend's full-text filters
    assert parse_query('agents org:google org:"ShanghaiAiLab"').organizations == ("google", "ShanghaiAiLab")
    hits = hub.search("org:shanghaiailab", mode="lexical", limit=100).hits
    assert {h.paper.arxiv_id for h in hits} == lab
    assert {h.paper.arxiv_id for h in hub.search("org:shanghaiailab org:google", mode="lexical", limit=100).hits} == lab | google
    hits = hub.search("reinforcement learning org:ShanghaiAiLab", mode="lexical", limit=100).hits
    assert hits and all(h.paper.arxiv_id in lab for h in hits)
    assert not hub.search("org:no-such-org", mode="lexical").hits

    client = TestClient(create_app(hub))
    page = client.get("/organizations/shanghaiailab")
    assert page.status_code == 200
    assert "shanghai ailab" in page.text and "/avatars/ShanghaiAiLab.svg" in page.text
    for aid in lab:
        assert f'href="/papers/{aid}"' in page.text
    trend = client.get("/organizations/ShanghaiAiLab?sort=trending").text
    assert [trend.index(f'href="/papers/{e.paper.arxiv_id}"') for e in trending.entries] == sorted(
        trend.index(f'href="/papers/{e.paper.arxiv_id}"') for e in trending.entries
    )
    assert client.get("/organizations/no-such-org").status_code == 404
    # every card of the day names its organization (with its avatar) when it has one
    day = client.get("/papers/date/2026-08-21").text
    assert day.count('class="org" href="/organizations/') == sum(
        1 for e in hub.get_feed(date(2026, 8, 21), date(2026, 8, 21), limit=100).entries if e.paper.organization
    )
    # /api/v1: a search parameter, an organization's papers, and the fields on every paper
    found = client.get("/api/v1/search", params={"org": "shanghaiailab", "mode": "lexical", "limit": 100}).json()
    assert {h["paper"]["id"] for h in found["hits"]} == lab
    assert client.get("/api/v1/search", params={"q": "org:google", "mode": "lexical", "limit": 100}).json()["total"] == len(google)
    listed = client.get("/api/v1/organizations/shanghaiailab", params={"sort": "trending"}).json()
    assert listed["fullname"] == "shanghai ailab" and [p["id"] for p in listed["papers"]] == [e.paper.arxiv_id for e in trending.entries]
    one = client.get(f"/api/v1/papers/{next(iter(google))}").json()
    assert one["organization"]["name"] == "google" and one["organization"]["localAvatar"] == "/avatars/google.svg"
    assert one["aiSummary"] and one["aiKeywords"] and one["thumbnail"]


def test_cards_and_paper_page_show_summary_keywords_stars_submitter(hub: Hub, fixtures_dir: Path) -> None:
    items = json.loads((fixtures_dir / "hf-daily-papers" / LATEST).read_bytes())
    top = max((i for i in items if "githubStars" in i["paper"]), key=lambda i: i["paper"]["upvotes"])
    client = TestClient(create_app(hub))
    page = client.get(f"/papers/{top['paper']['id']}").text
    from html import escape

    assert escape(_clean(top["paper"]["ai_summary"])) in page
    for k in top["paper"]["ai_keywords"]:
        assert f">{escape(k)}</a>" in page
    assert f"★ {top['paper']['githubStars']}" in page
    assert escape(top["submittedBy"]["fullname"]) in page and avatar_path(_clean(top["submittedBy"]["fullname"])) in page
    day = client.get("/papers/date/2026-08-21").text
    assert day.count('class="ai-summary oneline"') == sum(1 for i in items if i["paper"].get("ai_summary"))
    participating = sum(1 for i in items if i.get("isAuthorParticipating"))
    assert day.count("author participating</span>") == participating


# -- the Hugging Face-compatible API, against the recorded responses and huggingface_hub ---------


def test_daily_papers_put_the_fields_where_huggingface_does(hub: Hub, fixtures_dir: Path) -> None:
    recorded = {i["paper"]["id"]: i for i in json.loads((fixtures_dir / "hf-daily-papers" / LATEST).read_bytes())}
    served = TestClient(create_app(hub)).get("/api/daily_papers", params={"date": "2026-08-21", "limit": 100}).json()
    assert {i["paper"]["id"] for i in served} == set(recorded)
    for item in served:
        want = recorded[item["paper"]["id"]]
        for key in ("thumbnail", "isAuthorParticipating"):
            assert item[key] == want[key], key
        assert item["organization"] == {k: _clean(v) for k, v in want["organization"].items() if k != "_id"}
        for key in ("name", "fullname", "avatarUrl"):
            assert item["submittedBy"][key] == _clean(want["submittedBy"][key]), key
        for key in ("ai_summary", "ai_keywords", "githubStars", "githubRepo", "organization"):
            if key in want["paper"]:
                expected = want["paper"][key]
                if key == "organization":
                    expected = {k: _clean(v) for k, v in expected.items() if k != "_id"}
                assert item["paper"][key] == _clean(expected), key
            else:
                assert key not in item["paper"], key
        by = want["paper"]["submittedOnDailyBy"]
        assert (item["paper"]["submittedOnDailyBy"]["fullname"], item["paper"]["submittedOnDailyBy"]["avatarUrl"]) == (
            _clean(by["fullname"]), by["avatarUrl"],
        )  # fmt: skip


def test_huggingface_hub_reads_the_fields_from_a_live_server(hub: Hub, fixtures_dir: Path) -> None:
    recorded = {i["paper"]["id"]: i for i in json.loads((fixtures_dir / "hf-daily-papers" / LATEST).read_bytes())}
    aid = next(a for a, i in recorded.items() if "githubStars" in i["paper"] and i["paper"].get("ai_summary"))
    want = recorded[aid]
    with Server(create_app(hub)) as url:
        api = HfApi(endpoint=url, token=False)
        info = api.paper_info(aid)
        daily = {p.id: p for p in api.list_daily_papers(date="2026-08-21", limit=100)}
    for got in (info, daily[aid]):
        assert got.ai_summary == _clean(want["paper"]["ai_summary"])
        assert got.ai_keywords == want["paper"]["ai_keywords"]
        assert got.github_stars == want["paper"]["githubStars"]
        assert got.github_repo == want["paper"]["githubRepo"]
        assert got.organization is not None
        assert (got.organization.name, got.organization.fullname) == (want["organization"]["name"], want["organization"]["fullname"])
        assert got.submitted_by is not None and got.submitted_by.fullname == want["submittedBy"]["fullname"]
        assert got.submitted_by.avatar_url == want["submittedBy"]["avatarUrl"]
    assert daily[aid].__dict__.get("thumbnail") == want["thumbnail"]  # kept as an extra attribute
    assert len(daily) == len(recorded)


# -- avatars ----------------------------------------------------------------------------------

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = ['<script>alert(1)</script>', 'a"b\'c&d', "]]><x/>", "Zoë Ünïcødé", "", "\u202e\u0000evil", "x" * 500]


@pytest.mark.parametrize("name", HOSTILE + ["Ada Lovelace", "ShanghaiAiLab"])
def test_the_avatar_is_well_formed_svg_and_escapes_the_name(name: str) -> None:
    svg = avatar_svg(name)
    root = ET.fromstring(svg)  # well-formed XML, or this raises
    assert root.tag == f"{SVG}svg"
    assert [child.tag for child in root] == [f"{SVG}title", f"{SVG}circle", f"{SVG}text"]
    assert root.find(f"{SVG}title").text == (name.replace("\u0000", "")[:128] or None)  # type: ignore[union-attr]
    assert "<script" not in svg and "<x/>" not in svg
    assert avatar_svg(name) == svg  # deterministic


def test_initials_and_colours() -> None:
    assert initials("Ada Lovelace") == "AL" and initials("ShanghaiAiLab") == "SA" and initials("google") == "G"
    assert initials("!!!") == "?"
    assert avatar_svg("ada") != avatar_svg("bob")


def test_the_avatar_route_is_cached_for_long_and_escapes(db_url: str) -> None:
    client = TestClient(create_app(hub_at(db_url, Clock(NOW), embedder="none")))
    r = client.get("/avatars/%3Cscript%3Ealert(1)%3C%5Cscript%3E%01.svg")
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
    assert "max-age=31536000" in r.headers["cache-control"] and "immutable" in r.headers["cache-control"]
    root = ET.fromstring(r.text)
    assert root.find(f"{SVG}title").text == "<script>alert(1)<\\script>"  # type: ignore[union-attr]
    assert "<script>" not in r.text
