"""The personal-feed tables through PersonalStore, on both backends: collections keep one row per
paper, interests are unique per member, signals merge saves and upvotes and drop a dismissal of a
saved paper, and a new feed token revokes the old one."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from broadsheet.exceptions import ConflictError

from helpers import Clock, close_hubs, hub_at, paper


@pytest.fixture
def hub(db_url: str):
    h = hub_at(db_url, Clock())
    h.add_papers([paper(f"2401.0000{i}", title=f"Paper {i}") for i in range(1, 6)])
    yield h
    close_hubs(db_url)


def _pid(hub, arxiv_id: str) -> int:
    return hub._storage.papers.ids_of([arxiv_id])[arxiv_id]


def test_collections_interests_signals_and_feed_tokens(hub) -> None:
    store = hub._storage.personal
    alice = hub.create_user("alice", "correct horse battery")
    bob = hub.create_user("bob", "correct horse battery")
    t0 = datetime(2026, 11, 28, 12, 0)
    p1, p2, p3 = (_pid(hub, f"2401.0000{i}") for i in (1, 2, 3))

    saved = store.ensure_collection(alice.id, "Saved", "saved", now=t0)
    assert store.ensure_collection(alice.id, "Saved", "saved", now=t0).id == saved.id
    assert store.add_to_collection(saved.id, [p1, p2, p1], now=t0) == 2
    assert store.add_to_collection(saved.id, [p2, p3], now=t0 + timedelta(minutes=1)) == 1
    assert store.collection_paper_ids(saved.id) == [p3, p2, p1]
    assert store.collection(alice.id, "saved").papers == 3
    with pytest.raises(ConflictError):
        store.create_collection(alice.id, "Saved", "saved", public=False, now=t0)
    assert store.collection(bob.id, "saved") is None
    assert store.saved_in(alice.id, [p1, p2, p3]) == {p1: ["saved"], p2: ["saved"], p3: ["saved"]}
    assert store.saved_in(bob.id, [p1]) == {}

    follow = store.add_interest("follow", alice.id, "author", "Ada Lovelace", now=t0)
    assert store.add_interest("follow", alice.id, "author", "Ada Lovelace", now=t0).id == follow.id
    store.add_interest("mute", alice.id, "word", "benchmark", now=t0)
    assert [i.value for i in store.interests("follow", alice.id)] == ["Ada Lovelace"]
    assert [i.value for i in store.interests("mute", alice.id)] == ["benchmark"]
    assert store.interests("follow", bob.id) == []
    assert not store.remove_interest("follow", bob.id, follow.id)  # not bob's

    before = store.signals_version(alice.id)
    store.dismiss(alice.id, p1, now=t0)  # saved as well: stays a positive
    store.dismiss(alice.id, _pid(hub, "2401.00004"), now=t0)
    assert store.signals_version(alice.id) != before
    signals = store.signals(alice.id)
    assert {pid for pid, _ in signals.positives} == {p1, p2, p3}
    assert [pid for pid, _ in signals.negatives] == [_pid(hub, "2401.00004")]
    assert [f.value for f in signals.follows] == ["Ada Lovelace"]

    store.set_feed_token(alice.id, "a" * 64, now=t0)
    assert store.feed_token_user("a" * 64) == alice.id
    store.set_feed_token(alice.id, "b" * 64, now=t0)
    assert store.feed_token_user("a" * 64) is None
    assert store.feed_token_user("b" * 64) == alice.id
    store.set_feed_token(alice.id, None, now=t0)
    assert not store.has_feed_token(alice.id)
