"""Private feeds on the site: ``/feeds/private/TOKEN/for-you.atom`` (the member's For you) and
``/feeds/private/TOKEN/follows/ID.atom`` (one per follow), each also as ``.rss``; and the
settings form that makes, replaces or revokes the token (``POST /settings/feeds``, CSRF).

The token in the URL is the credential (feed readers cannot log in), so these answers are
``Cache-Control: private, no-store`` (no shared cache keeps one member's feed), are not indexed,
and the access log masks the token. An unknown, replaced or revoked token is a 404.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, Response

from ..hub import Hub
from ..types import Interest
from .deps import Actor, HubDep
from .feeds import MEDIA, build_feed
from .render import site_url

PRIVATE_HEADERS = {"cache-control": "private, no-store", "x-robots-tag": "noindex, nofollow"}


def feed_urls(base: str, token: str, follows: list[Interest]) -> list[dict[str, str]]:
    """The private feeds of a member holding ``token``: For you, then one per follow (pure)."""
    from ..personal.private_feeds import follow_title

    root = f"{base}/feeds/private/{quote(token, safe='')}"
    urls = [{"title": "For you", "url": f"{root}/for-you.atom"}]
    urls += [{"title": follow_title(f), "url": f"{root}/follows/{f.id}.atom"} for f in follows]
    return urls


def _answer(request: Request, hub: Hub, fmt: str, token: str, follow_id: int | None) -> Response:
    user = hub.feed_token_owner(token)  # 404 for a token that opens nothing
    feed = hub.private_feed(user, follow_id)
    base = site_url(request)
    body = build_feed(
        fmt,
        title=f"{hub.settings.site_name}: {feed.title}",
        subtitle=feed.subtitle,
        page_url=base + feed.page,
        self_url=base + request.url.path,
        base_url=base,
        items=[(p, None) for p in feed.papers],
        notes=feed.reasons,
    )
    return Response(body, media_type=MEDIA[fmt], headers=PRIVATE_HEADERS)


def for_you_feed(fmt: str) -> Any:
    def handler(request: Request, token: str, hub: HubDep) -> Response:
        return _answer(request, hub, fmt, token, None)

    handler.__name__ = f"private_for_you_{fmt}"
    return handler


def follow_feed(fmt: str) -> Any:
    def handler(request: Request, token: str, follow_id: int, hub: HubDep) -> Response:
        return _answer(request, hub, fmt, token, follow_id)

    handler.__name__ = f"private_follow_{fmt}"
    return handler


def settings_feeds(
    request: Request, hub: HubDep, user: Actor, action: Annotated[str, Form()] = "new"
) -> HTMLResponse:
    """Make (or replace) the member's feed token, showing its URLs once; or revoke it."""
    from .accounts import _settings

    if action == "revoke":
        hub.revoke_feed_token(user)
        return _settings(request, hub, user, message="Private feed links revoked: they no longer work.", form="feeds")
    request.app.state.limiter.hit("signups", f"feeds:{user.id}")
    token = hub.new_feed_token(user)
    urls = feed_urls(site_url(request), token, hub.private_feed_follows(user))
    return _settings(request, hub, user, new_feed_urls=urls, form="feeds", has_feed_token=True)


ROUTES: list[tuple[str, list[str], Any]] = [
    *[(f"/feeds/private/{{token}}/for-you.{f}", ["GET"], for_you_feed(f)) for f in ("atom", "rss")],
    *[(f"/feeds/private/{{token}}/follows/{{follow_id:int}}.{f}", ["GET"], follow_feed(f)) for f in ("atom", "rss")],
    ("/settings/feeds", ["POST"], settings_feeds),
]
