"""Stars of GitHub repositories (``broadsheet sync github``): ``GET /repos/OWNER/NAME`` of GitHub's
REST API, one repository per request, ``stargazers_count`` kept.

GitHub allows 60 requests an hour without a token and 5,000 with one; every answer says how many
are left (``X-RateLimit-Remaining``) and when the count resets (``X-RateLimit-Reset``, epoch
seconds). The run stops when none is left (or GitHub refuses with 403/429 for the limit) and
reports when to run again, instead of sleeping for an hour. A 404 (a repository renamed away or
deleted) is stored as such and not asked again until the next full refresh.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import quote

import httpx

from ..exceptions import SourceError
from .http import HttpEdge


class RateLimited(SourceError):
    """GitHub says no requests are left until ``reset`` (UTC)."""

    def __init__(self, reset: datetime | None) -> None:
        self.reset = reset
        when = f"; it resets at {reset:%Y-%m-%d %H:%M} UTC" if reset else ""
        super().__init__(f"GitHub's API rate limit is used up{when} (a token, github_token, allows more)")


@dataclass(frozen=True, slots=True)
class RepoAnswer:
    stars: int | None  # None: GitHub does not know the repository (404)
    remaining: int | None
    reset: datetime | None


@dataclass(slots=True)
class GithubReport:
    checked: int = 0
    missing: int = 0
    requests: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        text = f"sync github: {self.checked} repositories checked ({self.missing} not found), {self.requests} requests"
        return text + ("; stopped: " + "; ".join(self.problems) if self.problems else "")


def _reset(headers: httpx.Headers) -> datetime | None:
    value = headers.get("X-RateLimit-Reset", "")
    return datetime.fromtimestamp(int(value), UTC).replace(tzinfo=None) if value.isdigit() else None


def _remaining(headers: httpx.Headers) -> int | None:
    value = headers.get("X-RateLimit-Remaining", "")
    return int(value) if value.isdigit() else None


def read_repo(response: httpx.Response) -> RepoAnswer:
    """One ``/repos/OWNER/NAME`` answer (the edge hands over 4xx answers too)."""
    remaining, reset = _remaining(response.headers), _reset(response.headers)
    status = response.status_code
    if status in (403, 429) and (remaining == 0 or "rate limit" in response.text.lower()):
        raise RateLimited(reset)
    if status in (404, 451):  # deleted, renamed away, private, or blocked
        return RepoAnswer(None, remaining, reset)
    if status >= 400:
        raise SourceError(f"HTTP {status}: {response.text[:200]}")
    try:
        stars = json.loads(response.content)["stargazers_count"]
    except (ValueError, KeyError, TypeError) as e:
        raise SourceError(f"not a repository answer: {e}") from e
    if not isinstance(stars, int) or stars < 0:
        raise SourceError(f"stargazers_count is {stars!r}")
    return RepoAnswer(stars, remaining, reset)


def refresh_stars(
    edge: HttpEdge,
    base_url: str,
    repos: Sequence[str],
    store: Callable[[str, int | None], None],
    token: str = "",
    on_repo: Callable[[int, int], None] | None = None,
) -> GithubReport:
    """Ask GitHub for each of ``repos`` (``owner/name``) and ``store(repo, stars)`` the answer."""
    report = GithubReport()
    headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    for i, repo in enumerate(repos):
        owner, _, name = repo.partition("/")
        url = f"{base_url.rstrip('/')}/repos/{quote(owner, safe='')}/{quote(name, safe='')}"
        try:
            answer = edge.get_response(url, {}, read_repo, headers=headers)
        except SourceError as e:
            limited = e if isinstance(e, RateLimited) else e.__cause__ if isinstance(e.__cause__, RateLimited) else None
            report.problems.append(str(limited or f"{repo}: {e}"))
            break
        finally:
            report.requests = edge.requests
        store(repo, answer.stars)
        report.checked += 1
        report.missing += answer.stars is None
        if on_repo:
            on_repo(i + 1, len(repos))
        if answer.remaining == 0 and i + 1 < len(repos):
            report.problems.append(str(RateLimited(answer.reset)))
            break
    return report
