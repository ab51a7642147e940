"""The Hugging Face-compatible API, driven by ``huggingface_hub`` itself over real HTTP: a uvicorn
server on 127.0.0.1 and ``HfApi(endpoint=...)``, as an existing client would use it."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
from helpers import Clock
from web_helpers import NOW, Server, site_hub

from broadsheet.hub import Hub
from broadsheet.web import create_app, hf_json

os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"  # read when huggingface_hub is imported
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError
from huggingface_hub.hf_api import PaperInfo

W48 = {f"2611.{n:05d}" for n in range(1, 10)} | {"2611.09999"}  # Nov 23-29, 2026
W47 = {f"2611.{n:05d}" for n in range(10, 16)}  # Nov 16-22


@pytest.fixture(scope="module")
def hub(module_db_url: str) -> Iterator[Hub]:
    h = site_hub(module_db_url, Clock(NOW))
    ada = h.get_user("ada")
    h.set_vote(ada, "2611.00002")
    h.add_comment(ada, "2611.00002", "Nice.")
    yield h
    h.close()


@pytest.fixture(scope="module")
def api(hub: Hub) -> Iterator[HfApi]:
    with Server(create_app(hub)) as url:
        yield HfApi(endpoint=url, token=False)


def ids(papers: object) -> list[str]:
    return [p.id for p in papers]  # type: ignore[attr-defined]


def test_list_daily_papers_of_a_date(api: HfApi, hub: Hub) -> None:
    papers = list(api.list_daily_papers(date="2026-11-28"))
    assert set(ids(papers)) == {"2611.00001", "2611.00002", "2611.00003", "2611.09999"}
    first = next(p for p in papers if p.id == "2611.00001")
    stored = hub.get_paper("2611.00001")
    assert first.title == stored.title
    assert first.summary == stored.abstract
    assert [a.name for a in first.authors] == ["Ada Lovelace", "Alan Turing"]
    assert first.published_at.date() == stored.published
    assert first.submitted_at.date() == date(2026, 11, 28)
    assert first.submitted_by.username == "hf-user"
    assert first.github_repo == "https://github.com/example/repo"
    second = next(p for p in papers if p.id == "2611.00002")
    assert second.upvotes == 10 + 1  # 10 from HF, 1 here
    assert second.comments == 1


def test_list_daily_papers_of_a_week_and_a_month(api: HfApi, hub: Hub) -> None:
    assert set(ids(api.list_daily_papers(week="2026-W47"))) == W47
    assert set(ids(api.list_daily_papers(week="2026-W48"))) == W48
    trending = ids(api.list_daily_papers(month="2026-11", sort="trending"))
    expected = hub.get_feed(
        date(2026, 11, 1), date(2026, 11, 30), sort="trending", limit=100
    )
    assert trending == [e.paper.arxiv_id for e in expected.entries]
    assert set(trending) == W47 | W48
    newest = ids(api.list_daily_papers(month="2026-11", sort="publishedAt"))
    assert set(newest[:4]) == {"2611.00001", "2611.00002", "2611.00003", "2611.09999"}
    assert set(newest[-3:]) == {"2611.00013", "2611.00014", "2611.00015"}


def test_pages_and_limits(api: HfApi) -> None:
    everything = ids(api.list_daily_papers(month="2026-11", sort="trending"))
    pages = [
        ids(api.list_daily_papers(month="2026-11", sort="trending", limit=5, p=p))
        for p in range(4)
    ]
    assert [len(p) for p in pages] == [5, 5, 5, 1]
    assert [i for page in pages for i in page] == everything
    assert ids(api.list_daily_papers(date="2026-01-01")) == []


def test_without_a_date_the_last_listed_day(api: HfApi) -> None:
    assert set(ids(api.list_daily_papers())) == {
        "2611.00001",
        "2611.00002",
        "2611.00003",
        "2611.09999",
    }


def test_submitter(api: HfApi, hub: Hub) -> None:
    assert set(ids(api.list_daily_papers(submitter="HF-user", week="2026-W47"))) == W47
    assert ids(api.list_daily_papers(submitter="nobody")) == []


def test_paper_info(api: HfApi, hub: Hub) -> None:
    info = api.paper_info("2611.00001")
    stored = hub.get_paper("2611.00001")
    assert info.id == "2611.00001"
    assert info.title == stored.title
    assert info.summary == stored.abstract
    assert [a.name for a in info.authors] == list(stored.authors)
    assert info.published_at.date() == stored.published
    assert info.submitted_at.date() == date(2026, 11, 28)
    assert info.submitted_by.username == "hf-user"
    assert info.github_repo == "https://github.com/example/repo"
    assert api.paper_info("2611.00002v3").upvotes == 11  # a version suffix is ignored


def test_unknown_or_hidden_paper_raises_the_clients_404(api: HfApi, hub: Hub) -> None:
    for call in (api.paper_info, api.read_paper):
        with pytest.raises(HfHubHTTPError) as e:
            call("2612.99999")
        assert e.value.response.status_code == 404
    with pytest.raises(HfHubHTTPError) as e:
        api.paper_info("not-an-id!")
    assert e.value.response.status_code == 404
    hub.add_papers([_paper("2611.07777")])
    hub.set_paper_hidden(hub.get_user("root"), "2611.07777")
    with pytest.raises(HfHubHTTPError) as e:
        api.paper_info("2611.07777")
    assert e.value.response.status_code == 404


def test_bad_parameters_are_400(api: HfApi) -> None:
    for kwargs in (
        {"date": "2026-13-01"},
        {"week": "2026-48"},
        {"limit": 101},
        {"limit": 0},
        {"p": -1},
    ):
        with pytest.raises(HfHubHTTPError) as e:
            list(api.list_daily_papers(**kwargs))  # type: ignore[arg-type]
        assert e.value.response.status_code == 400, kwargs
        assert "error" in e.value.response.json()


def test_list_papers_searches(api: HfApi) -> None:
    found = list(api.list_papers(query="protein folding"))
    assert found and found[0].title and "protein folding" in found[0].title
    assert {p.id for p in found[:5]} == {
        "2611.00003",
        "2611.00006",
        "2611.00009",
        "2611.00012",
        "2611.00015",
    }
    assert all(p.summary for p in found)
    assert len(list(api.list_papers(query="protein folding", limit=2))) == 2


def test_read_paper_is_markdown(api: HfApi, hub: Hub) -> None:
    text = api.read_paper("2611.00001")
    stored = hub.get_paper("2611.00001")
    assert text.startswith(f"# {stored.title}\n")
    assert stored.abstract in text
    assert "Ada Lovelace, Alan Turing" in text
    assert "https://arxiv.org/abs/2611.00001" in text


def test_shapes_match_the_real_hf_responses(fixtures_dir: Path, hub: Hub) -> None:
    """Every key we send is one the real API sends, at the same place, and PaperInfo reads our
    items and the real ones into the same attributes."""
    real = json.loads(
        (fixtures_dir / "hf-daily-papers" / "daily_papers_2026-08-21.json").read_text()
    )
    real_item_keys = set().union(*(item.keys() for item in real))
    real_paper_keys = set().union(*(item["paper"].keys() for item in real))
    real_author_keys = set().union(
        *(a.keys() for item in real for a in item["paper"]["authors"])
    )
    real_user_keys = set().union(
        *(item["submittedBy"].keys() for item in real if "submittedBy" in item)
    )
    feed = hub.get_feed(date(2026, 11, 1), date(2026, 11, 30), limit=100)
    ours = hf_json.feed_items(feed.entries)
    for item in ours:
        assert set(item) <= real_item_keys | {
            "isAuthorParticipating",
            *hf_json.EXTRA_ITEM_KEYS,
        }
        assert set(item["paper"]) <= real_paper_keys
        assert all(set(a) <= real_author_keys for a in item["paper"]["authors"])
        assert set(item.get("submittedBy", {})) <= real_user_keys | {"user"}
    for theirs, mine in ((real[0], ours[0]), (real[-1], ours[-1])):
        a, b = (
            PaperInfo(**json.loads(json.dumps(theirs))),
            PaperInfo(**json.loads(json.dumps(mine))),
        )
        for attr in (
            "id",
            "title",
            "summary",
            "published_at",
            "submitted_at",
            "authors",
            "submitted_by",
        ):  # upvotes: PaperInfo reads 0 as None
            assert (getattr(a, attr) is None) == (getattr(b, attr) is None), attr
    assert (
        hf_json.hf_time(datetime(2024, 5, 27, 3, 50, 58, 348000))
        == "2024-05-27T03:50:58.348Z"
    )


def _paper(aid: str):
    from helpers import paper

    return paper(aid)
