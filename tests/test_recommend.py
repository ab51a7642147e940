"""``Hub.recommend`` ("For you") on both backends, over papers of three distinct topics: the model
ranks papers like the saved ones above unrelated ones, a dismissal lowers what resembles it,
explanations name the closest saved paper, the followed author and weighing words, mutes hide
and are counted, a new save shows on the next request, and cold start falls back to trending
(within followed categories)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from broadsheet.exceptions import InvalidInputError
from broadsheet.types import ListingData

from helpers import Clock, close_hubs, hub_at, paper

TOPICS = {
    "protein": (
        "q-bio.BM",
        "protein folding structure prediction residues amino acid sequence backbone",
        ("Rosalind Franklin",),
    ),
    "graph": (
        "cs.LG",
        "graph neural network message passing node embeddings edges aggregation",
        ("Ada Lovelace",),
    ),
    "galaxy": (
        "astro-ph.CO",
        "galaxy cluster dark matter halo gravitational lensing redshift survey",
        ("Vera Rubin",),
    ),
}
EXTRA = ["robust", "efficient", "scalable", "novel", "accurate", "fast", "simple", "large"]
WEEK_END = date(2026, 11, 27)


def _papers():
    """Old papers (published in October, never listed) and new ones listed in the week to
    WEEK_END, eight of each per topic, with varied wording."""
    items = []
    for t, (cat, words, authors) in TOPICS.items():
        vocab = words.split()
        for n in range(16):
            new = n >= 8
            aid = f"26{'11' if new else '10'}.{list(TOPICS).index(t)}{n:04d}"
            chosen = [vocab[(n + k) % len(vocab)] for k in range(5)]
            title = f"A {EXTRA[n % 8]} approach to {' '.join(chosen[:3])}"
            abstract = f"We study {' '.join(chosen)} and show {EXTRA[(n + 3) % 8]} results on {vocab[n % len(vocab)]} benchmarks."
            published = date(2026, 10, 1 + n) if not new else WEEK_END - timedelta(days=n % 5)
            items.append(
                paper(aid, title=title, abstract=abstract, authors=authors + (f"Author {t} {n}",),
                      categories=(cat,), primary_category=cat, published=published)
            )
            if new:
                items.append(ListingData(aid, published, source="test", source_ref=f"test:{aid}"))
    # a paper about both proteins and graphs: how a dismissal of its like moves it
    for aid, day in (("2611.90001", WEEK_END), ("2611.90002", WEEK_END)):
        items.append(
            paper(aid, title="Graph neural network message passing for protein structure",
                  abstract="Protein folding with graph neural network message passing over residues.",
                  authors=("Someone Else",), categories=("cs.LG",), published=day)
        )
        items.append(ListingData(aid, day, source="test", source_ref=f"test:{aid}"))
    return items


@pytest.fixture
def hub(db_url: str):
    h = hub_at(db_url, Clock(datetime(2026, 11, 28, 9, 0)))
    h.add_papers(_papers())
    yield h
    close_hubs(db_url)


def _save(hub, user, *arxiv_ids: str) -> None:
    store = hub._storage.personal
    saved = store.ensure_collection(user.id, "Saved", "saved", now=hub._now())
    ids = hub._storage.papers.ids_of(list(arxiv_ids))
    store.add_to_collection(saved.id, [ids[a] for a in arxiv_ids], now=hub._now())


def _topic(aid: str) -> str:
    return {"0": "protein", "1": "graph", "2": "galaxy"}.get(aid[5], "mixed")


def test_ranks_like_the_saved_papers_first_and_says_why(hub) -> None:
    alice = hub.create_user("alice", "correct horse battery")
    _save(hub, alice, "2610.00001", "2610.00002", "2610.00003")  # protein papers
    hub.set_vote(alice, "2610.00004")  # an upvote is a positive too
    page = hub.recommend(alice, window="week")
    assert (page.window, page.last, page.first) == ("week", WEEK_END, WEEK_END - timedelta(days=6))
    assert not page.cold_start and page.model
    assert page.candidates == 3 * 8 + 2
    top = [_topic(r.paper.arxiv_id) for r in page.items[:8]]
    assert top == ["protein"] * 8, top  # the eight new protein papers, then the rest
    first = page.items[0]
    saved_ids = {"2610.00001", "2610.00002", "2610.00003", "2610.00004"}
    assert first.closest and {a for a, _ in first.closest} <= saved_ids
    assert first.closest[0][1] == hub.get_paper(first.closest[0][0]).title
    assert any(w.split()[0] in TOPICS["protein"][1] for w in first.words), first.words
    assert any(r.startswith("close to ") for r in first.reasons)
    # the page holds nothing already saved, upvoted or dismissed
    assert not {r.paper.arxiv_id for r in page.items} & saved_ids


def test_explanations_name_the_right_saved_papers_inside_the_window_too(hub) -> None:
    """A paper saved from this week's list is a positive inside the window's own features: the
    explanation must still name it, and not another saved paper, where it is the closest."""
    fay = hub.create_user("fay", "correct horse battery")
    _save(hub, fay, "2610.20001", "2611.00008", "2610.20002")  # galaxies around a protein paper of this week
    page = hub.recommend(fay, window="week")
    proteins = [r for r in page.items if _topic(r.paper.arxiv_id) == "protein"]
    assert proteins and all(r.closest[0][0] == "2611.00008" for r in proteins[:3])
    for r in page.items:
        assert all(title == hub.get_paper(aid).title for aid, title in r.closest)


def test_a_dismissal_lowers_what_resembles_it_and_a_save_shows_at_once(hub) -> None:
    bob = hub.create_user("bob", "correct horse battery")
    _save(hub, bob, "2610.00001", "2610.00002", "2610.10001", "2610.10002")  # proteins and graphs
    before = [r.paper.arxiv_id for r in hub.recommend(bob, window="week").items]
    assert before.index("2611.90002") < 12  # about proteins and graphs both: high
    store = hub._storage.personal
    store.dismiss(bob.id, hub._storage.papers.ids_of(["2611.90001"])["2611.90001"], now=hub._now())
    after = [r.paper.arxiv_id for r in hub.recommend(bob, window="week").items]
    assert "2611.90001" not in after
    assert after.index("2611.90002") > before.index("2611.90002") + 3  # its twin was dismissed
    # a new save of a galaxy paper moves galaxies up on the next request (no batch, no stale cache)
    galaxy_before = min(i for i, a in enumerate(after) if _topic(a) == "galaxy")
    _save(hub, bob, "2610.20001", "2610.20002", "2610.20003", "2610.20004")
    again = [r.paper.arxiv_id for r in hub.recommend(bob, window="week").items]
    assert min(i for i, a in enumerate(again) if _topic(a) == "galaxy") < galaxy_before


def test_follows_boost_and_explain_and_mutes_hide(hub) -> None:
    carol = hub.create_user("carol", "correct horse battery")
    _save(hub, carol, "2610.00001", "2610.00002")
    store = hub._storage.personal
    store.add_interest("follow", carol.id, "author", "vera rubin", now=hub._now())  # any case
    page = hub.recommend(carol, window="week", limit=10)
    followed = [r for r in page.items if r.follows]
    assert followed and all(_topic(r.paper.arxiv_id) == "galaxy" for r in followed)
    assert followed[0].follows[0].kind == "author"
    assert "you follow author vera rubin" in followed[0].reasons
    assert page.items.index(followed[0]) < 10
    store.add_interest("mute", carol.id, "word", "Gravitational lensing", now=hub._now())
    muted = hub.recommend(carol, window="week", limit=50)
    assert muted.hidden_by_mutes > 0
    assert not any("gravitational lensing" in (r.paper.title + " " + r.paper.abstract).lower() for r in muted.items)
    assert muted.candidates == page.candidates - muted.hidden_by_mutes


def test_cold_start_is_trending_within_followed_categories(hub) -> None:
    dave = hub.create_user("dave", "correct horse battery")
    page = hub.recommend(dave, window="month")
    assert page.cold_start and page.model == "trending"
    assert len(page.items) == 3 * 8 + 2  # everything new in the window
    assert all(r.trending and "trending" in r.reasons for r in page.items)
    hub._storage.personal.add_interest("follow", dave.id, "category", "astro-ph", now=hub._now())  # an archive
    page = hub.recommend(dave, window="month")
    assert page.cold_start and len(page.items) == 8
    assert {_topic(r.paper.arxiv_id) for r in page.items} == {"galaxy"}
    assert all(r.follows for r in page.items)


def test_windows_and_bad_input(hub) -> None:
    eve = hub.create_user("eve", "correct horse battery")
    today = hub.recommend(eve, window="today")
    assert today.first == today.last == WEEK_END
    assert {r.paper.published for r in today.items} == {WEEK_END}
    with pytest.raises(InvalidInputError, match="window"):
        hub.recommend(eve, window="year")
    with pytest.raises(InvalidInputError, match="limit"):
        hub.recommend(eve, limit=0)


def test_cli_recommend(hub, db_url: str) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("the command is the same on both backends; once is enough")
    import json
    import subprocess
    import sys
    from pathlib import Path

    alice = hub.create_user("alice", "correct horse battery")
    _save(hub, alice, "2610.00001", "2610.00002", "2610.00003")
    env = {"PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src"), "PATH": "/usr/bin:/bin"}
    run = lambda *args: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "broadsheet", "--db", db_url, "recommend", *args], capture_output=True, text=True, env=env
    )
    out = run("alice", "--window", "week", "--day", WEEK_END.isoformat(), "--limit", "3", "--json")
    assert out.returncode == 0, out.stderr
    page = json.loads(out.stdout)
    assert page["window"] == "week" and len(page["items"]) == 3 and not page["cold_start"]
    assert all(_topic(i["id"]) == "protein" for i in page["items"])
    assert page["items"][0]["closest"] and page["items"][0]["reasons"]
    text = run("alice", "--limit", "2")
    assert text.returncode == 0 and "close to" in text.stdout
    assert run("nobody").returncode == 2
    assert "window" in run("alice", "--window", "year").stderr


def _until(check, seconds: float = 60.0) -> None:
    import time

    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "the background warmer did not get there in time"
        time.sleep(0.05)


def test_background_warming_builds_nothing_until_a_member_has_a_for_you(hub) -> None:
    """No member saved, followed or upvoted anything: nobody has a For you, so the warmer builds
    no window (at a big hub's start it would take a core from the first searches); the first
    save and the next pass build them."""
    fy = hub._for_you
    assert hub.start_background_recommendations()
    _until(lambda: fy._warmer.passes >= 1)
    assert fy._warmer.error is None and fy.builds == 0
    carol = hub.create_user("carol", "correct horse battery")
    _save(hub, carol, "2610.00001")
    fy.wake()
    _until(lambda: fy.builds == 3)
    hub.close()


def test_background_warming_builds_the_window_after_an_ingest_and_a_save_rebuilds_nothing(hub) -> None:
    """What `serve` and `worker` run: after an ingest the current windows' features are built
    without a request, so the next request builds nothing; a save (the Hub's write counter moves,
    papers do not) keeps the features."""
    carol = hub.create_user("carol", "correct horse battery")
    _save(hub, carol, "2610.00001", "2610.00002", "2610.00003")
    fy = hub._for_you
    assert hub.start_background_recommendations()
    assert not hub.start_background_recommendations()  # one warmer per Hub
    _until(lambda: fy._warmer.passes >= 1)
    assert fy._warmer.error is None and fy.builds == 3  # today, week, month
    built = fy.builds
    page = hub.recommend(carol, window="week")
    assert fy.builds == built and page.candidates == 3 * 8 + 2
    passes = fy._warmer.passes
    hub.add_papers([
        paper("2611.00999", title="Protein folding with amino acid residues", abstract="Protein folding structure prediction.",
              authors=("New Person",), categories=("q-bio.BM",), published=WEEK_END),
        ListingData("2611.00999", WEEK_END, source="test", source_ref="test:2611.00999"),
    ])  # fmt: skip
    _until(lambda: fy._warmer.passes > passes and fy.builds >= built + 3)
    built = fy.builds
    page = hub.recommend(carol, window="week")
    assert fy.builds == built, "the request had to build the window itself"
    assert page.candidates == 3 * 8 + 3 and "2611.00999" in [r.paper.arxiv_id for r in page.items[:9]]
    hub.save_paper(carol, "2611.00009")  # a paper of the window, through the Hub: its write counter moves
    again = hub.recommend(carol, window="week")
    assert fy.builds == built and "2611.00009" not in [r.paper.arxiv_id for r in again.items]
    hub.close()
    assert fy._warmer is None
