"""`broadsheet copy-db`: everything moves from SQLite to PostgreSQL and back, verified by counts and
by using the copy (log in, search by words and by meaning, vote, add rows after the copied ids)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from smtp_helpers import SmtpServer
from typer.testing import CliRunner
from web_helpers import NOW, PASSWORD, site_hub

from broadsheet.cli import app
from broadsheet.exceptions import InvalidInputError
from broadsheet.hub import copy_database
from broadsheet.storage.copy import TABLES
from broadsheet.types import ListingData, Organization

from helpers import Clock, hub_at

pytestmark = pytest.mark.postgresql  # every test here needs both backends


@pytest.fixture
def urls(postgres, tmp_path: Path) -> Iterator[dict[str, str]]:  # noqa: ANN001 - conftest's PostgresDatabases
    """An empty SQLite file and an empty PostgreSQL database."""
    pg = postgres.create()
    yield {"sqlite": f"sqlite:///{tmp_path / 'copy.sqlite3'}", "postgresql": pg}
    from helpers import close_hubs

    close_hubs(pg)
    postgres.drop(pg)


HF_FIELDS = {
    "thumbnail_url": "https://cdn.example/1.png", "ai_summary": "A summary.", "ai_keywords": ("a", "b"),
    "github_stars": 7, "organization": Organization("google", "Google", "https://cdn.example/g.png"),
}  # fmt: skip


def _fill(url: str) -> dict[str, object]:
    """A site with something in every table; what the copy must reproduce."""
    smtp = SmtpServer().start()
    try:
        hub = site_hub(url, Clock(NOW), embedder="minilm-int8", smtp_host="127.0.0.1", smtp_port=smtp.port, secret_key="k" * 40,
                       base_url="https://papers.example.org")  # fmt: skip
        assert hub.index_embeddings() == 16
        ada, root = hub.get_user("ada"), hub.get_user("root")
        hub.set_vote(ada, "2611.00002")
        hub.set_vote(root, "2611.00002")
        first = hub.add_comment(ada, "2611.00002", "First!")
        hub.add_comment(root, "2611.00002", "A reply.", parent_id=first.id)
        _, token = hub.log_in("ada", PASSWORD)
        hub.subscribe("ada@example.org", topics=("diffusion models",), confirmed=True)
        hub.subscribe("later@example.org")  # unconfirmed: its confirmation waits in the outbox
        assert hub.request_password_reset("root")  # an outbox row without a subscription
        run = hub.send_digests("daily", date(2026, 11, 28))
        assert run.sent >= 1
        hub._storage.sync_state.put("oai:test", {"token": "2752941|1001"}, NOW)  # noqa: SLF001
        first_day = hub.get_first_listing("2611.00001").listed_on  # type: ignore[union-attr]
        hub.add_papers([  # what Hugging Face adds: organizations, summary, keywords, stars, submitter
            dataclasses.replace(hub._storage.papers.load_for_merge(["2611.00001"])["2611.00001"], **HF_FIELDS),  # noqa: SLF001
            ListingData("2611.00001", first_day, "hf-user", "HF User", "/avatars/x.svg", True),
        ])  # fmt: skip
        # What Broadsheet made: a thumbnail (a file beside SQLite, a row on PostgreSQL), keywords, stars.
        from test_thumbnails import GOOD_PDF

        from broadsheet.pictures.render import first_page_webp

        pid = hub._storage.papers.ids_of(["2611.00002"])["2611.00002"]  # noqa: SLF001
        hub._storage.thumbnails.put(pid, NOW, image=first_page_webp(GOOD_PDF), media_type="image/webp")  # noqa: SLF001
        assert hub.extract_keywords() == 16
        hub._storage.extras.put_github("example/repo", 42, NOW)  # noqa: SLF001
        personal = hub._storage.personal  # noqa: SLF001 - the personal feed's tables, filled directly
        saved = personal.ensure_collection(ada.id, "Saved", "saved", now=NOW)
        personal.add_to_collection(saved.id, [hub._storage.papers.ids_of(["2611.00003"])["2611.00003"]], now=NOW)  # noqa: SLF001
        personal.add_interest("follow", ada.id, "category", "cs.LG", now=NOW)
        personal.add_interest("mute", ada.id, "word", "benchmark", now=NOW)
        personal.dismiss(ada.id, hub._storage.papers.ids_of(["2611.00004"])["2611.00004"], now=NOW)  # noqa: SLF001
        personal.set_feed_token(ada.id, "f" * 64, now=NOW)
        expected = {
            "signals": personal.signals(ada.id),
            "token": token,
            "paper": hub.get_paper("2611.00002"),
            "hf": (hub.get_paper("2611.00001"), hub.get_first_listing("2611.00001")),
            "lexical": [h.paper.arxiv_id for h in hub.search("protein folding", mode="lexical", limit=5).hits],
            "semantic": [h.paper.arxiv_id for h in hub.search("folding of proteins", mode="semantic", limit=5).hits],
            "comments": [(c.author, c.body, c.parent_id is not None) for c in hub.get_comments("2611.00002")],
            "status": hub.digest_status()["outbox"],
            "thumbnail": hub.thumbnail("2611.00002").body,
        }
        hub.close()
    finally:
        smtp.stop()
    return expected


@pytest.mark.parametrize(("source", "target"), [("sqlite", "postgresql"), ("postgresql", "sqlite")])
def test_copy_moves_everything_and_the_copy_works(urls: dict[str, str], source: str, target: str) -> None:
    expected = _fill(urls[source])
    copied = copy_database(urls[source], urls[target])
    assert copied["papers"] == 16 and copied["papers_fts"] == 16 and copied["embeddings"] == 32  # whole + passages
    assert all(copied[t.name] > 0 for t in TABLES), copied  # something in every table
    hub = hub_at(urls[target], Clock(NOW), embedder="minilm-int8", secret_key="k" * 40, base_url="https://papers.example.org")
    user = hub.user_for_session(expected["token"])  # type: ignore[arg-type]
    assert user is not None and user.name == "ada"
    assert hub.get_paper("2611.00002") == expected["paper"]
    assert (hub.get_paper("2611.00001"), hub.get_first_listing("2611.00001")) == expected["hf"]
    assert hub.get_organization("GOOGLE").fullname == "Google"
    assert expected["paper"].extras.thumbnail and expected["paper"].extras.keywords  # type: ignore[attr-defined]
    assert hub.thumbnail("2611.00002").body == expected["thumbnail"]
    assert hub.get_paper("2611.00001").extras.github_stars == 42
    assert [(c.author, c.body, c.parent_id is not None) for c in hub.get_comments("2611.00002")] == expected["comments"]
    assert [h.paper.arxiv_id for h in hub.search("protein folding", mode="lexical", limit=5).hits] == expected["lexical"]
    assert [h.paper.arxiv_id for h in hub.search("folding of proteins", mode="semantic", limit=5).hits] == expected["semantic"]
    assert hub.index_embeddings() == 0  # the vectors came along
    assert hub.digest_status()["outbox"] == expected["status"]
    assert hub.send_digests("daily", date(2026, 11, 28)).queued == 0  # already sent, in the source
    assert hub._storage.sync_state.get("oai:test") == {"token": "2752941|1001"}  # noqa: SLF001
    ada = hub.get_user("ada")
    assert hub._storage.personal.signals(ada.id) == expected["signals"]  # noqa: SLF001
    assert hub._storage.personal.feed_token_user("f" * 64) == ada.id  # noqa: SLF001
    # new rows get ids after the copied ones (PostgreSQL's sequences were moved on)
    bob = hub.create_user("bob", PASSWORD)
    assert bob.id > hub.get_user("root").id
    assert hub.add_comment(bob, "2611.00002", "Late.").id > max(c.id for c in hub.get_comments("2611.00002")[:-1])
    hub.set_vote(bob, "2611.00002")
    assert hub.get_paper("2611.00002").upvotes == expected["paper"].upvotes + 1  # type: ignore[attr-defined]
    if target == "postgresql":  # and search in the database works on what was copied
        indb = hub_at(urls[target], Clock(NOW), embedder="minilm-int8", lexical_index="database", vector_index="database")
        assert [h.paper.arxiv_id for h in indb.search("folding of proteins", mode="semantic", limit=5).hits] == expected["semantic"]
        assert indb.search("protein folding", mode="lexical", limit=5).hits[0].paper.arxiv_id in expected["lexical"]


def test_copy_refuses_a_non_empty_target_unless_told(urls: dict[str, str]) -> None:
    site_hub(urls["sqlite"]).close()
    site_hub(urls["postgresql"]).close()
    with pytest.raises(InvalidInputError, match="not empty .*--replace"):
        copy_database(urls["sqlite"], urls["postgresql"])
    with pytest.raises(InvalidInputError, match="same database"):
        copy_database(urls["sqlite"], urls["sqlite"])
    copied = copy_database(urls["sqlite"], urls["postgresql"], replace=True)
    assert copied["papers"] == 16 and copied["users"] == 2


def test_cli_copy_db(urls: dict[str, str], tmp_path: Path) -> None:
    site_hub(urls["postgresql"]).close()
    runner = CliRunner()
    result = runner.invoke(app, ["copy-db", "--from", urls["postgresql"], "--to", str(tmp_path / "copy.sqlite3")])
    assert result.exit_code == 0, result.output
    assert "copied and verified:" in result.stdout and "16 papers" in result.stdout
    again = runner.invoke(app, ["copy-db", "--from", urls["postgresql"], "--to", str(tmp_path / "copy.sqlite3")])
    assert again.exit_code == 2 and "not empty" in again.stderr
    bad = runner.invoke(app, ["copy-db", "--from", "mysql://x/y", "--to", urls["sqlite"]])
    assert bad.exit_code == 2 and "unsupported database" in bad.stderr
