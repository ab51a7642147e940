"""Accounts, votes, comments, submissions, moderation and feeds through the Hub, on real SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from helpers import Clock, hub_at, paper
from web_helpers import DAYS, NOW, PASSWORD, site_hub

from broadsheet import accounts
from broadsheet.exceptions import (
    AuthenticationError,
    ConflictError,
    InvalidArxivIdError,
    InvalidInputError,
    NotFoundError,
    PaperNotFoundError,
    PermissionDeniedError,
    SourceError,
)
from broadsheet.hub import Hub
from broadsheet.types import ListingData, Paper


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def hub(db_url: str, clock: Clock) -> Iterator[Hub]:
    h = site_hub(db_url, clock)
    yield h
    h.close()


def test_real_password_hashes_are_argon2id_with_the_library_defaults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from argon2 import PasswordHasher

    monkeypatch.setattr(
        accounts, "_hasher", lambda: PasswordHasher()
    )  # undo conftest's cheap one
    stored = accounts.hash_password("a long password")
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert accounts.verify_password(stored, "a long password") == (True, False)
    assert accounts.verify_password(stored, "wrong") == (False, False)
    assert accounts.verify_password(None, "anything") == (False, False)


def test_users_are_unique_by_name_and_email_ignoring_case(hub: Hub) -> None:
    with pytest.raises(ConflictError):
        hub.create_user("ADA", PASSWORD)
    with pytest.raises(ConflictError):
        hub.create_user("ada2", PASSWORD, email="ADA@example.org")
    for bad in ("a", "has space", "-dash", "x" * 33):
        with pytest.raises(InvalidInputError):
            hub.create_user(bad, PASSWORD)
    with pytest.raises(InvalidInputError):
        hub.create_user("bob", "short")
    with pytest.raises(InvalidInputError):
        hub.create_user("bob", PASSWORD, email="not-an-email")


def test_sessions_log_in_expire_and_log_out(hub: Hub, clock: Clock) -> None:
    user, token = hub.log_in("Ada", PASSWORD)
    assert user.name == "ada" and hub.user_for_session(token) == user
    assert hub.log_in("ada@example.org", PASSWORD)[0] == user
    with pytest.raises(AuthenticationError):
        hub.log_in("ada", "wrong password")
    with pytest.raises(AuthenticationError):
        hub.log_in("nobody", PASSWORD)
    clock.now += timedelta(days=hub.settings.session_days, seconds=1)
    assert hub.user_for_session(token) is None
    _, fresh = hub.log_in("ada", PASSWORD)
    hub.log_out(fresh)
    assert hub.user_for_session(fresh) is None
    assert hub.user_for_session("") is None and hub.user_for_session("made-up") is None


def test_changing_the_password_ends_other_sessions(hub: Hub) -> None:
    user, here = hub.log_in("ada", PASSWORD)
    _, elsewhere = hub.log_in("ada", PASSWORD)
    with pytest.raises(AuthenticationError):
        hub.change_password(user, "wrong", "new password!")
    hub.change_password(user, PASSWORD, "new password!", keep_session=here)
    assert (
        hub.user_for_session(here) == user and hub.user_for_session(elsewhere) is None
    )
    assert hub.log_in("ada", "new password!")[0] == user


def test_api_tokens(hub: Hub) -> None:
    user = hub.get_user("ada")
    assert not hub.has_api_token(user)
    first = hub.new_api_token(user)
    second = hub.new_api_token(user)
    assert (
        hub.user_for_api_token(first) is None and hub.user_for_api_token(second) == user
    )
    hub.revoke_api_token(user)
    assert hub.user_for_api_token(second) is None and not hub.has_api_token(user)


def test_one_vote_per_user_and_paper(hub: Hub) -> None:
    ada, root = hub.get_user("ada"), hub.get_user("root")
    base = hub.get_paper("2611.00003").upvotes  # 20 from Hugging Face
    assert hub.set_vote(ada, "2611.00003").upvotes == base + 1
    assert hub.set_vote(ada, "2611.00003").upvotes == base + 1  # again: still one
    assert hub.set_vote(root, "2611.00003v2").upvotes == base + 2
    assert hub.voted(ada, ["2611.00003", "2611.00002"]) == {"2611.00003"}
    assert hub.set_vote(ada, "2611.00003", on=False).upvotes == base + 1
    assert hub.set_vote(ada, "2611.00003", on=False).upvotes == base + 1
    assert hub.voted(None, ["2611.00003"]) == set()
    with pytest.raises(PaperNotFoundError):
        hub.set_vote(ada, "2611.55555")


def test_votes_move_trending(hub: Hub) -> None:
    before = [e.paper.arxiv_id for e in hub.get_trending().entries]
    hub.create_user("bo", PASSWORD)
    for name in ("ada", "bo"):
        hub.set_vote(hub.get_user(name), "2611.00001")
    after = [e.paper.arxiv_id for e in hub.get_trending().entries]
    assert after.index("2611.00001") < before.index("2611.00001")


def test_comments_and_one_level_of_replies(hub: Hub, clock: Clock) -> None:
    ada, root = hub.get_user("ada"), hub.get_user("root")
    top = hub.add_comment(ada, "2611.00001", "  First!  ")
    assert top.body == "First!" and top.author == "ada" and top.parent_id is None
    clock.now += timedelta(minutes=1)
    reply = hub.add_comment(root, "2611.00001", "A reply", parent_id=top.id)
    with pytest.raises(InvalidInputError, match="one level deep"):
        hub.add_comment(ada, "2611.00001", "deeper", parent_id=reply.id)
    other = hub.add_comment(ada, "2611.00002", "elsewhere")
    with pytest.raises(InvalidInputError, match="same paper"):
        hub.add_comment(ada, "2611.00001", "cross", parent_id=other.id)
    with pytest.raises(InvalidInputError):
        hub.add_comment(ada, "2611.00001", "")
    with pytest.raises(InvalidInputError):
        hub.add_comment(ada, "2611.00001", "x" * 10_001)
    assert [c.id for c in hub.get_comments("2611.00001")] == [top.id, reply.id]
    assert hub.get_paper("2611.00001").num_comments == 2


def test_only_admins_moderate(hub: Hub) -> None:
    ada, root = hub.get_user("ada"), hub.get_user("root")
    comment = hub.add_comment(ada, "2611.00001", "spam")
    with pytest.raises(PermissionDeniedError):
        hub.set_comment_hidden(ada, comment.id)
    with pytest.raises(PermissionDeniedError):
        hub.set_paper_hidden(ada, "2611.00001")
    assert hub.set_comment_hidden(root, comment.id).hidden
    public = hub.get_comments("2611.00001")
    assert public[0].hidden and public[0].body == "" and public[0].author == ""
    assert hub.get_comments("2611.00001", include_hidden=True)[0].body == "spam"
    assert hub.get_paper("2611.00001").num_comments == 0
    with pytest.raises(InvalidInputError):
        hub.add_comment(ada, "2611.00001", "reply to hidden", parent_id=comment.id)
    with pytest.raises(NotFoundError):
        hub.set_comment_hidden(root, 12345)

    hub.set_paper_hidden(root, "2611.00001")
    assert "2611.00001" not in [
        e.paper.arxiv_id for e in hub.get_feed(DAYS[0], DAYS[0]).entries
    ]
    assert "2611.00001" not in [
        p.arxiv_id for p in hub.get_papers_by_author("Ada Lovelace", limit=100)
    ]
    with pytest.raises(PaperNotFoundError):
        hub.set_vote(ada, "2611.00001")  # members cannot reach a hidden paper
    hub.set_paper_hidden(root, "2611.00001", hidden=False)
    assert hub.set_vote(ada, "2611.00001").upvotes == 1


def test_submissions(hub: Hub, clock: Clock) -> None:
    ada = hub.get_user("ada")
    clock.now = NOW + timedelta(days=2)
    today = clock.now.date()
    done = hub.submit_paper(ada, "arXiv:2611.00005v1")
    assert (done.status, done.arxiv_id, done.listed_on) == (
        "listed",
        "2611.00005",
        today,
    )
    assert hub.submit_paper(ada, "2611.00005").status == "already_listed"
    assert [
        (e.paper.arxiv_id, e.submitter) for e in hub.get_feed(today, today).entries
    ] == [("2611.00005", "ada")]
    assert hub.latest_listing_day() == today
    assert hub.submit_paper(ada, "2612.00001").status == "not_found"
    with pytest.raises(InvalidInputError):
        hub.submit_paper(ada, "nonsense")


def test_submission_fetches_a_missing_paper_through_the_hook(db_url: str) -> None:
    hub = hub_at(db_url, Clock(NOW), embedder="none")
    asked: list[str] = []

    def fetch(arxiv_id: str) -> Paper:
        asked.append(arxiv_id)
        if arxiv_id == "2612.00002":
            raise PaperNotFoundError(arxiv_id)
        if arxiv_id == "2612.00003":
            raise SourceError("export.arxiv.org: connection refused")
        hub.add_papers([paper(arxiv_id, title="Fetched from a live source")])
        return hub.get_paper(arxiv_id)

    hub.fetch_paper = fetch
    user = hub.create_user("ada", PASSWORD)
    done = hub.submit_paper(user, "2612.00001")
    assert (
        done.status == "listed"
        and done.paper
        and done.paper.title == "Fetched from a live source"
    )
    assert hub.submit_paper(user, "2612.00002").status == "not_on_arxiv"
    assert hub.submit_paper(user, "2612.00003").status == "unreachable"
    with pytest.raises(InvalidArxivIdError):
        hub.submit_paper(user, "demo-99")  # a local id is never fetched: not an arXiv id
    assert asked == ["2612.00001", "2612.00002", "2612.00003"]
    hub.close()


def test_a_submitted_paper_is_embedded_at_once(db_url: str) -> None:
    """With the shipped model: the paper is found by meaning right after submission."""
    hub = hub_at(db_url, Clock(NOW))
    hub.add_papers(
        [
            paper(
                "2611.00001",
                title="Protein structure prediction with deep learning",
                abstract="We fold proteins.",
            )
        ]
    )
    user = hub.create_user("ada", PASSWORD)
    assert hub.submit_paper(user, "2611.00001").status == "listed"
    assert hub.index_embeddings() == 0  # nothing left to embed: the submission did it
    hub.close()


def test_feeds_period_navigation_and_trending_window(hub: Hub, clock: Clock) -> None:
    week = hub.get_feed(date(2026, 11, 23), date(2026, 11, 29), limit=100)
    assert (
        week.total == 10
        and week.previous_day == date(2026, 11, 20)
        and week.next_day is None
    )
    page = hub.get_feed(
        date(2026, 11, 1), date(2026, 11, 30), sort="newest", limit=5, offset=5
    )
    assert page.total == 16 and len(page.entries) == 5
    trending = hub.get_trending(limit=100)
    assert {e.listed_on for e in trending.entries} == set(
        DAYS[:3]
    )  # the 7 days up to the 28th
    assert trending.as_of == NOW
    clock.now = NOW + timedelta(
        days=30
    )  # nothing listed since: scores as of the last listed day
    assert hub.get_trending().as_of == NOW.replace(hour=0) + timedelta(days=1)
    with pytest.raises(InvalidInputError):
        hub.get_feed(DAYS[0], DAYS[0], sort="best")


def test_author_and_category_listings(hub: Hub) -> None:
    hub.add_papers(
        [
            paper("2611.08888", authors=("Zoë Ünal",), categories=("math.AG",)),
            ListingData("2611.08888", DAYS[0]),
        ]
    )
    assert [p.arxiv_id for p in hub.get_papers_by_author("zoe unal")] == ["2611.08888"]
    assert [p.arxiv_id for p in hub.get_papers_in_category("math")] == ["2611.08888"]
    newest = hub.get_papers_in_category("cs.LG", limit=3)
    assert [p.published for p in newest] == sorted(
        (p.published for p in newest), reverse=True
    )  # type: ignore[type-var]
    assert len(hub.get_papers_in_category("cs.LG", limit=5, offset=15)) == 1
