"""The "For you" page: a member's recommendations for a window (new today, this week, this
month), each card with why (the saved papers it is closest to, the follows it matches, the words
that weighed most) and a "Not interested" button; the cold-start form (seed papers, topics); and
the home page's choice: For you for a member who saved or followed anything, else the daily list.

"Not interested" is a form post (CSRF) that redirects back; ``static/app.js`` sends it with
fetch() instead and takes the card off the page.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from .jsonresp import JSONResponse
from ..exceptions import InvalidInputError
from ..types import User
from .cache import members_own
from .deps import Actor, HubDep, Member, Viewer, safe_next, wants_json
from .loop import loop_first, refuse_on_loop
from .render import period_url, render

WINDOWS = [("today", "New today"), ("week", "This week"), ("month", "This month")]
PAGE_SIZE = 30
Text = Annotated[str, Form()]


def _window(window: str) -> str:
    if window not in dict(WINDOWS):
        raise InvalidInputError(f"there is no window {window[:40]!r}: use today, week or month")
    return window


def for_you_page(request: Request, hub: Any, user: User, window: str = "week", **extra: Any) -> HTMLResponse:
    request.state.no_page_cache = True  # it changes as its models warm up, without a write
    page = hub.recommend(user, window=_window(window), limit=PAGE_SIZE)
    kind = {"today": "date", "week": "week", "month": "month"}[window]
    follows = hub.get_follows(user)
    ctx = {
        "recs": page,
        "window": window,
        "windows": WINDOWS,
        "section": "for-you",
        "voted": hub.voted(user, [r.paper.arxiv_id for r in page.items]),
        "saved": hub.saved(user, [r.paper.arxiv_id for r in page.items]),  # the cards' save buttons
        "follows": follows,
        "followed_categories": [f.value for f in follows if f.kind == "category"],
        # mutes: the window's own list shows what they hid, marked (web/interests.py)
        "muted_url": period_url(kind, page.last, None) + "?show_muted=1",
        "seeds": None,
        "dismissed": None,
        **extra,
    }
    return render(request, "for_you.html", ctx)


def for_you(request: Request, hub: HubDep, user: Member, window: Annotated[str, Query(max_length=20)] = "week",
            dismissed: Annotated[str, Query(max_length=64)] = "") -> HTMLResponse:  # fmt: skip
    """``/for-you``: the member's recommendations (log-in first)."""
    undo = None
    if dismissed and dismissed in hub.dismissed(user):
        undo = hub.get_paper(dismissed)
    return for_you_page(request, hub, user, window, dismissed=undo)


def home(request: Request, hub: HubDep, viewer: Viewer, sort: Annotated[str | None, Query()] = None,
         page: Annotated[int, Query(ge=1, le=10_000)] = 1) -> HTMLResponse:  # fmt: skip
    """``/``: For you for a member who saved or followed anything; else the daily list."""
    from . import pages

    if viewer is not None and sort is None and page == 1 and members_own(request, viewer, ("for you",), lambda: hub.has_personal_signals(viewer)):
        refuse_on_loop()  # recommendations are tens of milliseconds of work: in a thread (web/loop.py)
        return for_you_page(request, hub, viewer)
    return pages.home(request, hub, viewer, sort, page)


def daily(request: Request, hub: HubDep, viewer: Viewer, sort: Annotated[str | None, Query()] = None,
          page: Annotated[int, Query(ge=1, le=10_000)] = 1) -> HTMLResponse:  # fmt: skip
    """``/papers/daily``: the daily list whatever the viewer's home is (the nav's "Daily")."""
    from . import pages

    return pages.home(request, hub, viewer, sort, page)


def dismiss(request: Request, arxiv_id: str, hub: HubDep, user: Actor, on: Text = "1", next: Text = "") -> Response:
    """"Not interested" (``on=1``) or take it back (``on=0``)."""
    request.app.state.limiter.hit("votes", str(user.id))
    paper, _ = hub.dismiss(user, arxiv_id, on == "1")
    if wants_json(request):
        return JSONResponse({"arxiv_id": paper.arxiv_id, "dismissed": on == "1"})
    back = safe_next(next, "/for-you")
    if on == "1":
        back += ("&" if "?" in back else "?") + "dismissed=" + paper.arxiv_id
    return RedirectResponse(back, status_code=303)


def seeds(request: Request, hub: HubDep, user: Actor, papers: Text = "", topics: Text = "") -> Response:
    """The cold-start form: seed papers saved into "Saved", topics followed as searches."""
    request.app.state.limiter.hit("submissions", str(user.id))
    if not papers.strip() and not topics.strip():
        raise InvalidInputError("give a few arXiv ids or URLs, or topics, one a line")
    if len(papers) > 20_000 or len(topics) > 20_000:
        raise InvalidInputError("that is too much text: a few ids or topics, one a line")
    report = hub.plant_seeds(user, papers, topics)
    return for_you_page(request, hub, user, "week", seeds=report)


ROUTES: list[tuple[str, list[str], Any]] = [
    ("/for-you", ["GET"], for_you),
    ("/for-you/seeds", ["POST"], seeds),
    ("/papers/daily", ["GET"], loop_first(daily)),
    ("/papers/{arxiv_id:path}/dismiss", ["POST"], dismiss),
]
