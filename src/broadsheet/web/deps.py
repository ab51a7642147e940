"""What handlers ask for: the Hub, the viewer (the logged-in user, or None), a checked CSRF
token, a user who must be logged in, and rate limits."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Form, Header, Request

from ..hub import Hub
from ..types import User
from .cache import session_member
from .security import CSRF_COOKIE, SESSION_COOKIE


class LoginRequired(Exception):
    """The action needs a logged-in user: HTML gets a redirect to /login, JSON a 401."""

    def __init__(self, next_url: str) -> None:
        super().__init__("log in first")
        self.next_url = next_url


# The dependencies every page asks for are ``async``: FastAPI runs a plain ``def`` dependency in
# the thread pool, and each such hop (a hand-over of the GIL and a wake-up of the event loop) cost
# more than the page's own work once its data is cached (bench/web.py).


async def get_hub(request: Request) -> Hub:
    return request.app.state.hub  # type: ignore[no-any-return]


async def get_viewer(request: Request) -> User | None:
    """The logged-in member, or None (the session looked up once per data version, on the event
    loop: one indexed lookup, as short as the hand-over to a thread would be)."""
    return viewer_of(request)


def viewer_of(request: Request) -> User | None:
    if not hasattr(request.state, "viewer"):
        token = request.cookies.get(SESSION_COOKIE, "")
        request.state.viewer = session_member(request.scope, token)
    return request.state.viewer


async def check_csrf(
    request: Request,
    csrf_token: Annotated[str, Form()] = "",
    x_csrf_token: Annotated[str, Header()] = "",
) -> None:
    request.app.state.csrf.check(
        request.cookies.get(CSRF_COOKIE),
        csrf_token or x_csrf_token,
        request.cookies.get(SESSION_COOKIE, ""),
    )


def safe_next(url: str | None, default: str = "/") -> str:
    """A local path to go back to; anything else (another site, ``//host``) becomes ``default``."""
    if (
        url
        and url.startswith("/")
        and not url.startswith("//")
        and "\\" not in url
        and "\n" not in url
    ):
        return url
    return default


async def get_user(
    request: Request, viewer: Annotated[User | None, Depends(get_viewer)]
) -> User:
    """The logged-in user; anyone else is sent to log in first."""
    if viewer is None:
        if request.method == "GET":
            back = request.url.path + (
                f"?{request.url.query}" if request.url.query else ""
            )
        else:  # a form posted from a page: come back to that page
            referer = request.headers.get("referer", "")
            back = (
                referer.split(request.base_url.netloc, 1)[-1]
                if request.base_url.netloc in referer
                else "/"
            )
        raise LoginRequired(safe_next(back))
    return viewer


def wants_json(request: Request) -> bool:
    """The upvote script asks for JSON; the API (``/api/...``) always answers it, errors too."""
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get("accept", "")


def client_key(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def get_acting_user(
    user: Annotated[User, Depends(get_user)], _: Annotated[None, Depends(check_csrf)]
) -> User:
    """The logged-in user posting a form that carries a valid CSRF token. The log-in check comes
    first: an anonymous post does nothing but lead to the log-in page, so it needs no token."""
    return user


HubDep = Annotated[Hub, Depends(get_hub)]
Viewer = Annotated[User | None, Depends(get_viewer)]
Member = Annotated[User, Depends(get_user)]  # pages for members (GET)
Actor = Annotated[User, Depends(get_acting_user)]  # forms members post
CsrfChecked = Annotated[
    None, Depends(check_csrf)
]  # forms anyone posts (sign up, log in, log out)
