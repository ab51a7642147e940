"""GitHub stars of the repositories papers name (``broadsheet sync github``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ..config import Settings

if TYPE_CHECKING:
    from ..storage import Storage
    from ..sync.github import GithubReport
    from ..sync.http import HttpEdge


def sync_github(
    storage: Storage,
    settings: Settings,
    edge: Callable[[], HttpEdge],
    now: Callable[[], datetime],
    *,
    base_url: str | None = None,
    older_than_hours: float = 20.0,
    limit: int = 5000,
    on_repo: Callable[[int, int], None] | None = None,
) -> GithubReport:
    """Refresh the stars of repositories not checked for ``older_than_hours`` (all of them: 0),
    the least recently checked first, until done or GitHub's rate limit says stop."""
    from ..sync.github import refresh_stars

    before = now() - timedelta(hours=older_than_hours) if older_than_hours > 0 else None
    repos = storage.extras.github_repos_to_check(before, limit)
    with edge() as client:
        return refresh_stars(
            client, base_url or settings.github_api_url, repos,
            lambda repo, stars: storage.extras.put_github(repo, stars, now()),
            token=settings.github_token, on_repo=on_repo,
        )  # fmt: skip
