"""`broadsheet sync github`: stars from GitHub's REST API (a fake GitHub at the network edge),
token sent when set, rate-limit headers respected (stop and report), 404s kept apart; both backends."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from helpers import FakeEdge, Clock, hub_at, paper
from typer.testing import CliRunner

from broadsheet.cli import app
from broadsheet.web import create_app

RESET = 1_900_000_000  # 2030-03-17 17:46:40 UTC


class FakeGithub(FakeEdge):
    """``/repos/OWNER/NAME``: stars from ``repos`` (404 otherwise), with rate-limit headers
    counting down from ``remaining``; at 0 it answers 403 as GitHub does."""

    def __init__(self, repos: dict[str, int], remaining: int = 60) -> None:
        self.repos, self.remaining = repos, remaining
        self.paths: list[str] = []
        self.auth: list[str | None] = []
        super().__init__()

    def handle(self, request) -> None:  # noqa: ANN001
        self.paths.append(request.path)
        self.auth.append(request.headers.get("Authorization"))
        if self.remaining <= 0:
            self._send(request, 403, {"message": "API rate limit exceeded for 127.0.0.1."})
            return
        self.remaining -= 1
        repo = request.path.removeprefix("/repos/").lower()
        if repo in self.repos:
            self._send(request, 200, {"full_name": repo, "stargazers_count": self.repos[repo]})
        else:
            self._send(request, 404, {"message": "Not Found"})

    def _send(self, request, status: int, body: dict) -> None:  # noqa: ANN001
        rate = {"X-RateLimit-Remaining": str(max(self.remaining, 0)), "X-RateLimit-Reset": str(RESET)}
        self.reply(request, status, json.dumps(body).encode(), "application/json", rate)


@pytest.fixture
def github() -> Iterator[FakeGithub]:
    fake = FakeGithub({"acme/diffusers": 1234, "acme/tiny": 7})
    yield fake
    fake.close()


def _hub(db_url: str, **settings: object):  # noqa: ANN202
    hub = hub_at(db_url, Clock(), embedder="none", github_delay=0.0, sync_retries=0, **settings)
    hub.add_papers([
        paper("2401.00001", github_repo="https://github.com/acme/diffusers"),
        paper("2401.00002", github_repo="acme/Diffusers"),  # the same repository: asked once
        paper("2401.00003", github_repo="https://github.com/acme/tiny/"),
        paper("2401.00004", github_repo="https://github.com/gone/away"),
        paper("2401.00005"),
    ])  # fmt: skip
    return hub


def test_stars_are_fetched_once_per_repository_and_shown(db_url: str, github: FakeGithub) -> None:
    hub = _hub(db_url, github_token="ghp_secret123")
    report = hub.sync_github(base_url=github.url)
    assert report.complete and (report.checked, report.missing, report.requests) == (3, 1, 3)
    assert sorted(github.paths) == ["/repos/acme/diffusers", "/repos/acme/tiny", "/repos/gone/away"]
    assert set(github.auth) == {"Bearer ghp_secret123"}
    assert hub.get_paper("2401.00001").extras.github_stars == 1234
    assert hub.get_paper("2401.00002").extras.github_stars == 1234
    assert hub.get_paper("2401.00003").extras.github_stars == 7
    assert hub.get_paper("2401.00004").extras.github_stars is None
    assert hub.get_paper("2401.00005").extras.github_stars is None

    # Checked within 20 hours: not asked again, unless everything is asked for; stars change.
    assert hub.sync_github(base_url=github.url).checked == 0
    github.repos["acme/tiny"] = 8
    assert hub.sync_github(base_url=github.url, everything=True).checked == 3
    assert hub.get_paper("2401.00003").extras.github_stars == 8

    client = TestClient(create_app(hub))
    assert "★ 1,234" in client.get("/papers/2401.00001").text
    assert client.get("/api/v1/papers/2401.00001").json()["githubStars"] == 1234


def test_the_rate_limit_stops_the_run_and_says_when_to_come_back(db_url: str, github: FakeGithub) -> None:
    github.remaining = 1  # one request left, then 403 "rate limit exceeded"
    hub = _hub(db_url)
    report = hub.sync_github(base_url=github.url)
    assert not report.complete and report.checked == 1 and len(github.paths) == 1
    assert "rate limit" in report.problems[0] and "2030-03-17 17:46 UTC" in report.problems[0]
    assert github.auth == [None]  # no token set: none sent
    github.remaining = 0  # now GitHub itself refuses
    again = hub.sync_github(base_url=github.url)
    assert not again.complete and again.checked == 0 and "2030-03-17" in again.problems[0]
    github.remaining = 60
    assert hub.sync_github(base_url=github.url).checked == 2  # the rest, later


def test_the_command(db_url: str, github: FakeGithub, tmp_path) -> None:  # noqa: ANN001
    _hub(db_url)
    env = {"BROADSHEET_DATABASE_URL": db_url, "BROADSHEET_EMBEDDER": "none", "BROADSHEET_GITHUB_DELAY": "0"}
    result = CliRunner().invoke(app, ["sync", "github", "--base-url", github.url], env=env)
    assert result.exit_code == 0, result.output
    assert "3 repositories checked (1 not found)" in result.output
    github.remaining = 0
    limited = CliRunner().invoke(app, ["sync", "github", "--base-url", github.url, "--all"], env=env)
    assert limited.exit_code == 1 and "rate limit" in limited.output
