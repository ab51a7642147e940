"""Follows and mutes on the site: the ``/following`` page (what a member follows and mutes, with
remove buttons and an add form), the Follow / Mute buttons' forms, and what every list page
needs to hide a member's muted papers (``mutes_context``).

Muted papers are left out of the page they would be on, not out of the list: page 2 holds the
same papers for every visitor, a paper's rank is its place in the whole list, and the page says
how many it hid ("3 papers hidden by your mutes — show"); ``?show_muted=1`` shows them, marked
with the mute that hid them. Visitors who are not logged in have no mutes, so their pages stay
the same for everyone (and cacheable: ``cache.PageCache``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ..exceptions import InvalidInputError, NotFoundError
from ..hub import Hub
from ..types import Paper, User
from .cache import members_own
from .deps import Actor, HubDep, Member, safe_next
from .render import render

WHATS = ("follow", "mute")


def mutes_context(request: Request, hub: Hub, viewer: User | None, papers: Sequence[Paper]) -> dict[str, Any]:
    """For a list page: ``muted`` (arXiv id -> why, for the papers the viewer's mutes hide),
    ``hidden_count``, and ``show_muted`` (the member asked to see them: ``?show_muted=1``)."""
    if viewer is None or not papers:
        return {}
    hidden = members_own(request, viewer, ("mutes",), lambda: hub.mute_filter(viewer)).split(papers)[1]
    return {
        "muted": {m.item.arxiv_id: m.reason for m in hidden},
        "hidden_count": len(hidden),
        "show_muted": request.query_params.get("show_muted") == "1",
    }


def follow_box(request: Request, hub: Hub, viewer: User | None, kind: str, value: str) -> dict[str, Any]:
    """What an author or category page's Follow / Mute buttons show (a member's, kept per member)."""
    return {
        "kind": kind,
        "value": value,
        **members_own(
            request, viewer, ("follow box", kind, value),
            lambda: {what: hub.find_interest(what, viewer, kind, value) for what in ("follow", "mute")},
        ),
    }


def _limit(request: Request, user: User) -> None:
    request.app.state.limiter.hit("votes", str(user.id))  # one-click writes, as upvotes


def _what(what: str) -> str:
    if what not in WHATS:
        raise InvalidInputError(f"what must be follow or mute, not {what!r}")
    return what


def _page(request: Request, hub: Hub, user: User, *, status: int = 200, **extra: Any) -> HTMLResponse:
    from ..taxonomy import category_name

    context = {
        "user": user,
        "follows": hub.get_follows(user),
        "mutes": hub.get_mutes(user),
        "category_name": category_name,
        "error": None,
        "message": None,
        "form": {},
        **extra,
    }
    return render(request, "following.html", context, status=status)


def following(request: Request, hub: HubDep, user: Member) -> HTMLResponse:
    """What the member follows and mutes."""
    done = {"followed": "Followed.", "muted": "Muted.", "removed": "Removed."}.get(request.query_params.get("done", ""))
    return _page(request, hub, user, message=done)


def add(
    request: Request,
    hub: HubDep,
    user: Actor,
    what: Annotated[str, Form()] = "",
    kind: Annotated[str, Form()] = "",
    value: Annotated[str, Form()] = "",
    target: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    """Follow or mute ``kind: value`` (``target`` = ``kind:value``, from the paper page's menu)
    and go back; a bad value re-shows the /following page with the reason and what was typed."""
    _limit(request, user)
    if target and not kind:
        kind, _, value = target.partition(":")
    try:
        (hub.follow if _what(what) == "follow" else hub.mute)(user, kind, value)
    except InvalidInputError as e:
        message = str(e)
        return _page(request, hub, user, status=400, error=message[:1].upper() + message[1:] + ".",
                     form={"what": what, "kind": kind, "value": value})  # fmt: skip
    done = "followed" if what == "follow" else "muted"
    return RedirectResponse(safe_next(next, f"/following?done={done}"), status_code=303)


def remove(
    request: Request,
    hub: HubDep,
    user: Actor,
    what: Annotated[str, Form()] = "",
    id: Annotated[int | None, Form()] = None,
    kind: Annotated[str, Form()] = "",
    value: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    """Stop following or muting: by id (the /following page) or by kind and value (the buttons
    of author and category pages)."""
    _limit(request, user)
    _what(what)
    if id is not None:
        (hub.unfollow if what == "follow" else hub.unmute)(user, id)
    elif not (hub.unfollow_value if what == "follow" else hub.unmute_value)(user, kind, value):
        raise NotFoundError(f"you do not {what} {kind} {value!r}")
    return RedirectResponse(safe_next(next, "/following?done=removed"), status_code=303)


ROUTES: list[tuple[str, list[str], Any]] = [
    ("/following", ["GET"], following),
    ("/following/add", ["POST"], add),
    ("/following/remove", ["POST"], remove),
]
