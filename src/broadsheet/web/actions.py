"""What members do: upvote, comment, submit a paper; what admins do: hide papers and comments.

Every handler here is a POST behind the CSRF check (see ``app.ROUTES``). Without JavaScript a form
posts and is redirected back (303); the upvote script asks for JSON instead.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from .jsonresp import JSONResponse
from ..exceptions import InvalidArxivIdError, InvalidInputError
from .deps import Actor, HubDep, Viewer, safe_next, wants_json
from .pages import paper_context
from .render import paper_url, render


def _limit(request: Request, action: str, key: str | int) -> None:
    request.app.state.limiter.hit(action, str(key))


def _back(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def vote(
    request: Request,
    arxiv_id: str,
    hub: HubDep,
    user: Actor,
    on: Annotated[str, Form()] = "1",
    next: Annotated[str, Form()] = "",
) -> Response:
    _limit(request, "votes", user.id)
    paper = hub.set_vote(user, arxiv_id, on == "1")
    if wants_json(request):
        return JSONResponse(
            {"arxiv_id": paper.arxiv_id, "upvotes": paper.upvotes, "voted": on == "1"}
        )
    return _back(safe_next(next, paper_url(paper.arxiv_id)))


def comment(
    request: Request,
    arxiv_id: str,
    hub: HubDep,
    user: Actor,
    body: Annotated[str, Form()] = "",
    parent_id: Annotated[int | None, Form()] = None,
) -> Response:
    _limit(request, "comments", user.id)
    try:
        made = hub.add_comment(user, arxiv_id, body, parent_id=parent_id)
    except InvalidInputError as e:
        ctx = paper_context(request, hub, user, arxiv_id)
        # the error shows beside the reply form it came from, else beside the main comment form
        reply_to = parent_id if parent_id in {c.id for c in ctx["comments"]} else None
        ctx |= {"comment_error": str(e), "comment_body": body, "reply_to": reply_to}
        return render(request, "paper.html", ctx, status=400)
    return _back(f"{paper_url(made.arxiv_id)}#c{made.id}")


def submit_form(request: Request, viewer: Viewer) -> HTMLResponse:
    return render(request, "submit.html", {"result": None, "error": None, "value": ""})


def submit(
    request: Request, hub: HubDep, user: Actor, arxiv_id: Annotated[str, Form()] = ""
) -> HTMLResponse:
    _limit(request, "submissions", user.id)
    try:
        result = hub.submit_paper(user, arxiv_id)
    except InvalidInputError as e:
        error = (
            f"That is not an arXiv id: {arxiv_id.strip()!r}. An arXiv id looks like 2405.21060 "
            "(or give the paper's arxiv.org address)."
            if isinstance(e, InvalidArxivIdError)
            else str(e)
        )
        return render(
            request,
            "submit.html",
            {"result": None, "error": error, "value": arxiv_id},
            status=400,
        )
    context = {
        "result": result,
        "error": None,
        "value": "",
        "wait": hub.settings.submit_fetch_timeout,
    }
    return render(request, "submit.html", context)


def hide_paper(
    request: Request,
    arxiv_id: str,
    hub: HubDep,
    user: Actor,
    hidden: Annotated[str, Form()] = "1",
) -> Response:
    paper = hub.set_paper_hidden(user, arxiv_id, hidden == "1")
    return _back(paper_url(paper.arxiv_id))


def hide_comment(
    request: Request,
    comment_id: int,
    hub: HubDep,
    user: Actor,
    hidden: Annotated[str, Form()] = "1",
) -> Response:
    made = hub.set_comment_hidden(user, comment_id, hidden == "1")
    return _back(f"{paper_url(made.arxiv_id)}#c{made.id}")
