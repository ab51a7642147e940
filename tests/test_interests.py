"""Follows and mutes through the Hub, on both backends: values are checked and kept in one
form (a second follow of the same thing is the first), bad ones are refused saying why, and
``apply_mutes`` hides a member's muted papers from a list (nothing for a visitor)."""

from __future__ import annotations

import pytest

from broadsheet.exceptions import InvalidInputError, NotFoundError
from helpers import Clock, close_hubs, hub_at, paper


@pytest.fixture
def hub(db_url: str):
    h = hub_at(db_url, Clock())
    h.add_papers([
        paper("2401.00001", title="Training a GAN", authors=("José García",), categories=("cs.CV",), primary_category="cs.CV"),
        paper("2401.00002", title="Organ transplants", authors=("Ann Smith",), categories=("q-bio.TO",), primary_category="q-bio.TO"),
        paper("2401.00003", title="Galaxies", authors=("Ann Smith",), categories=("astro-ph.GA",), primary_category="astro-ph.GA"),
    ])  # fmt: skip
    yield h
    close_hubs(db_url)


def test_follow_twice_is_one_follow(hub) -> None:
    ada = hub.create_user("ada", "correct horse battery")
    first = hub.follow(ada, "author", "José  García")
    assert first.value == "José García"  # spaces tidied
    assert hub.follow(ada, "author", "jose garcia").id == first.id  # the same name, folded
    assert hub.follow(ada, "category", "CS.lg").value == "cs.LG"  # canonical case
    assert hub.follow(ada, "category", "cs.LG").id == hub.follow(ada, "category", "cs.lg").id
    assert hub.follow(ada, "category", "astro-ph").value == "astro-ph"  # a whole archive
    s = hub.follow(ada, "search", 'diffusion author:"Ann Smith"')
    assert [(f.kind, f.value) for f in hub.get_follows(ada)] == [
        ("author", "José García"), ("category", "cs.LG"), ("category", "astro-ph"), ("search", 'diffusion author:"Ann Smith"')
    ]
    assert [f.id for f in hub.get_follows(ada, "search")] == [s.id]
    assert hub.get_mutes(ada) == []  # follows are not mutes
    hub.unfollow(ada, s.id)
    with pytest.raises(NotFoundError):
        hub.unfollow(ada, s.id)
    bob = hub.create_user("bob", "correct horse battery")
    with pytest.raises(NotFoundError):  # another member's follow is not yours to remove
        hub.unfollow(bob, first.id)
    assert hub.unfollow_value(ada, "author", "JOSE GARCIA") is True
    assert hub.unfollow_value(ada, "author", "JOSE GARCIA") is False
    assert [f.value for f in hub.get_follows(ada)] == ["cs.LG", "astro-ph"]


@pytest.mark.parametrize(
    ("what", "kind", "value", "reason"),
    [
        ("follow", "category", "cs.XX", "'cs.XX' is not an arXiv category"),
        ("mute", "category", "physics-ish", "is not an arXiv category"),
        ("follow", "search", 'author:"unclosed', "saved search 'author:\"unclosed'"),
        ("follow", "search", "-alone", "something to search for besides exclusions"),
        ("follow", "search", "!!", "nothing to search for"),
        ("follow", "search", "since:2024-13", "saved search"),
        ("follow", "word", "gan", "follow kind must be one of author, category, search"),
        ("mute", "search", "gan", "mute kind must be one of author, category, word"),
        ("mute", "word", "   ", "give the word to mute"),
        ("mute", "word", "—!!—", "has no letters or digits"),
        ("mute", "word", "x" * 101, "at most 100 characters"),
        ("mute", "word", "a b c d e f g h i", "at most 8 words"),
        ("follow", "author", "A" * 201, "at most 200 characters"),
        ("follow", "author", "---", "has no letters"),
    ],
)
def test_bad_values_are_refused_with_the_reason(hub, what: str, kind: str, value: str, reason: str) -> None:
    ada = hub.create_user("ada", "correct horse battery")
    add = hub.follow if what == "follow" else hub.mute
    with pytest.raises(InvalidInputError, match=None) as e:
        add(ada, kind, value)
    assert reason in str(e.value)
    assert hub.get_follows(ada) == [] and hub.get_mutes(ada) == []


def test_mutes_hide_papers_for_that_member_only(hub) -> None:
    ada = hub.create_user("ada", "correct horse battery")
    bob = hub.create_user("bob", "correct horse battery")
    papers = hub.get_newest_papers(10)
    assert hub.apply_mutes(ada, papers) == (papers, 0)
    hub.mute(ada, "word", "GAN")  # hides "Training a GAN", not "Organ transplants"
    kept, hidden = hub.apply_mutes(ada, papers)
    assert hidden == 1 and {p.title for p in kept} == {"Organ transplants", "Galaxies"}
    hub.mute(ada, "category", "astro-ph")
    assert {p.title for p in hub.apply_mutes(ada, papers)[0]} == {"Organ transplants"}
    assert hub.mute(ada, "word", "gan").value == "GAN"  # the same words: the first mute
    assert hub.apply_mutes(bob, papers) == (papers, 0)
    assert hub.apply_mutes(None, papers) == (papers, 0)  # visitors see everything
    reasons = [m.reason for m in hub.mute_filter(ada).split(papers)[1]]
    assert sorted(reasons) == ["category: astro-ph", "word: GAN"]
    mute_id = hub.get_mutes(ada, "word")[0].id
    hub.unmute(ada, mute_id)
    assert hub.apply_mutes(ada, papers)[1] == 1
