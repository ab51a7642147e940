"""Broadsheet's own JSON API, ``/api/v1``: what members do (vote, comment, submit), with the API
token from the settings page as ``Authorization: Bearer <token>``.

Reads are open (a paper, its comments); writes need a token and count against the same per-user
rate limits as the web forms. Errors are JSON ``{"error": "..."}`` with a 4xx status: 400 bad
input, 401 no or bad token, 403 not allowed, 404 unknown paper or comment, 429 too many.
No CSRF check: a token in a header is not sent by browsers on their own, unlike a cookie.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Body, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from .jsonresp import JSONResponse
from ..exceptions import AuthenticationError, ConflictError, InvalidInputError, NotFoundError
from ..hub import Hub
from ..types import Comment, Interest, Organization, Paper, SearchFilters, Submission, Subscription, User
from .avatars import avatar_path
from .hf_routes import visible_paper
from . import extras
from .deps import HubDep
from .library import bib_response, collection_json, export_json, import_json
from .render import site_url

bearer = HTTPBearer(
    auto_error=False, description="The API token from your settings page."
)


class ApiAuthError(AuthenticationError):
    """No API token, or one that is not (or no longer) valid: 401 with WWW-Authenticate."""


def token_user(hub: Hub, request: Request) -> User | None:
    """The member whose API token the request carries (``Authorization: Bearer``), or None."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    if not hasattr(request.state, "api_user"):
        request.state.api_user = hub.user_for_api_token(token.strip())
    return request.state.api_user


def api_user(
    request: Request,
    hub: HubDep,
    _: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> User:
    user = token_user(hub, request)
    if user is None:
        raise ApiAuthError(
            "an API token is needed: Authorization: Bearer <token> (make one on /settings)"
        )
    return user


ApiUser = Annotated[User, Depends(api_user)]


def _limit(request: Request, action: str, user: User) -> None:
    request.app.state.limiter.hit(action, str(user.id))


# -- shapes (camelCase, as the HF-compatible API) ----------------------------------------------


def paper_json(paper: Paper) -> dict[str, Any]:
    return {
        "id": paper.arxiv_id,
        "title": paper.title,
        "summary": paper.abstract,
        "authors": list(paper.authors),
        "categories": list(paper.categories),
        "primaryCategory": paper.primary_category,
        "published": paper.published.isoformat() if paper.published else None,
        "updated": paper.updated.isoformat() if paper.updated else None,
        "version": paper.version,
        "doi": paper.doi,
        "journalRef": paper.journal_ref,
        "comments": paper.comments,
        "githubRepo": paper.github_repo,
        "projectPage": paper.project_page,
        "upvotes": paper.upvotes,
        "numComments": paper.num_comments,
        "thumbnail": paper.thumbnail_url,
        "aiSummary": paper.ai_summary,
        "aiKeywords": list(paper.ai_keywords),
        # GitHub's own count (`sync github`) when fetched, else the source's
        "githubStars": paper.extras.github_stars if paper.extras.github_stars is not None else paper.github_stars,
        "extractedKeywords": list(paper.extras.keywords),  # extracted here, not the source's
        "generatedSummary": paper.extras.summary,  # written by the configured model
        "organization": organization_json(paper.organization) if paper.organization else None,
    }


def organization_json(org: Organization) -> dict[str, Any]:
    """An organization: its handle, full name, the source's avatar address (or None) and this
    server's generated one (always there)."""
    return {
        "name": org.name,
        "fullname": org.fullname,
        "avatar": org.avatar_url,
        "localAvatar": avatar_path(org.name),
        "url": f"/organizations/{quote(org.name, safe='')}",
    }


def comment_json(c: Comment) -> dict[str, Any]:
    return {
        "id": c.id,
        "paperId": c.arxiv_id,
        "author": c.author or None,
        "body": c.body,
        "createdAt": c.created_at.isoformat() + "Z",
        "parentId": c.parent_id,
        "hidden": c.hidden,
    }


def submission_json(s: Submission) -> dict[str, Any]:
    return {
        "arxivId": s.arxiv_id,
        "status": s.status,
        "listedOn": s.listed_on.isoformat(),
        "paper": paper_json(s.paper) if s.paper else None,
    }


def subscription_json(s: Subscription) -> dict[str, Any]:
    return {
        "id": s.id,
        "email": s.email,
        "frequency": s.frequency,
        "trendingTop": s.trending_top,
        "topics": list(s.topics),
        "forYouTop": s.for_you_top,
        "followAlerts": s.follow_alerts,
        "confirmed": s.confirmed_at is not None,
        "createdAt": s.created_at.isoformat() + "Z",
    }


# -- request bodies ------------------------------------------------------------------------------


class NewComment(BaseModel):
    body: str = Field(min_length=1, max_length=10_000, description="Markdown.")
    parentId: int | None = Field(
        default=None, ge=1, le=2**62, description="Reply to this top-level comment."
    )


class NewSubmission(BaseModel):
    arxivId: str = Field(
        min_length=1, max_length=64, description="arXiv id, e.g. 2405.15738."
    )


class NewSubscription(BaseModel):
    frequency: str = Field(
        default="daily", max_length=16, description="daily or weekly."
    )
    trendingTop: int | None = Field(
        default=None, ge=0, le=100, description="Top trending papers (0: none)."
    )
    topics: list[str] = Field(
        default=[],
        max_length=20,
        description='Search queries, cat:cs.LG, author:"Name".',
    )
    forYouTop: int = Field(
        default=0, ge=0, le=50, description="Top For you recommendations of the period (0: none)."
    )
    followAlerts: bool = Field(
        default=False, description="A section per follow: new papers by followed authors, in followed categories, matching saved searches."
    )


# -- handlers ------------------------------------------------------------------------------------


def me(user: ApiUser) -> JSONResponse:
    """The member the token belongs to."""
    return JSONResponse(
        {
            "name": user.name,
            "isAdmin": user.is_admin,
            "createdAt": user.created_at.isoformat() + "Z",
        }
    )


def get_paper(arxiv_id: str, hub: HubDep) -> JSONResponse:
    """A paper with everything Broadsheet knows of it."""
    return JSONResponse(paper_json(visible_paper(hub, arxiv_id)))


def search(
    hub: HubDep,
    q: Annotated[str, Query(max_length=500, description="Search query (see /search for the language: org:NAME, cat:, author:, ...).")] = "",
    org: Annotated[str, Query(max_length=128, description="Only papers of this organization (as org:NAME in q).")] = "",
    cat: Annotated[str, Query(max_length=200, description="Only papers in these categories, comma-separated.")] = "",
    mode: Annotated[str, Query(pattern="^(hybrid|lexical|semantic)$")] = "hybrid",
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=32, description="`next` of the previous page.")] = None,
) -> JSONResponse:
    """Search, best first: each hit is a paper (as ``/api/v1/papers/{id}``) and its score; ``next``
    is the cursor of the next page (null on the last)."""
    filters = SearchFilters(
        categories=tuple(c.strip() for c in cat.split(",") if c.strip()),
        organizations=(org.strip(),) if org.strip() else (),
    )
    page = hub.search(q, filters=filters, mode=mode, limit=limit, cursor=cursor)
    return JSONResponse(
        {
            "hits": [{"paper": paper_json(h.paper), "score": h.score} for h in page.hits],
            "total": page.total,
            "next": page.next_cursor,
        }
    )


def organization(name: str, hub: HubDep, sort: str = "newest", limit: Annotated[int, Query(ge=1, le=100)] = 30, p: Annotated[int, Query(ge=0, le=10_000)] = 0) -> JSONResponse:
    """An organization and a page of its papers (``sort``: newest, trending or top)."""
    from ..trending import check_sort

    org, feed = hub.get_organization_feed(name, sort=check_sort(sort), limit=limit, offset=p * limit)
    return JSONResponse({**organization_json(org), "total": feed.total, "papers": [paper_json(e.paper) for e in feed.entries]})


def upvote(request: Request, arxiv_id: str, hub: HubDep, user: ApiUser) -> JSONResponse:
    """Upvote a paper (again: no change)."""
    _limit(request, "votes", user)
    paper = hub.set_vote(user, arxiv_id, True)
    return JSONResponse({"id": paper.arxiv_id, "upvotes": paper.upvotes, "voted": True})


def withdraw_vote(
    request: Request, arxiv_id: str, hub: HubDep, user: ApiUser
) -> JSONResponse:
    """Withdraw your upvote (none: no change)."""
    _limit(request, "votes", user)
    paper = hub.set_vote(user, arxiv_id, False)
    return JSONResponse(
        {"id": paper.arxiv_id, "upvotes": paper.upvotes, "voted": False}
    )


def list_comments(arxiv_id: str, hub: HubDep) -> JSONResponse:
    """A paper's comments, oldest first; replies point to their parent (``parentId``)."""
    paper = visible_paper(hub, arxiv_id)
    return JSONResponse([comment_json(c) for c in hub.get_comments(paper.arxiv_id)])


def add_comment(
    request: Request,
    arxiv_id: str,
    hub: HubDep,
    user: ApiUser,
    comment: Annotated[NewComment, Body()],
) -> JSONResponse:
    """Comment on a paper, or reply to one of its top-level comments."""
    _limit(request, "comments", user)
    made = hub.add_comment(user, arxiv_id, comment.body, parent_id=comment.parentId)
    return JSONResponse(comment_json(made), status_code=201)


def submit(
    request: Request,
    hub: HubDep,
    user: ApiUser,
    submission: Annotated[NewSubmission, Body()],
) -> JSONResponse:
    """Put a paper on today's daily list (fetched from arXiv first when missing, if the server
    does). 201 listed, 200 already listed today, 404 unknown (``not_found``, ``not_on_arxiv``),
    503 arXiv unreachable (``unreachable``: try again later)."""
    _limit(request, "submissions", user)
    done = hub.submit_paper(user, submission.arxivId)
    # unreachable: arXiv did not answer (503, try again later); not_found / not_on_arxiv: 404
    status = {"listed": 201, "already_listed": 200, "unreachable": 503}.get(
        done.status, 404
    )
    return JSONResponse(submission_json(done), status_code=status)


def list_subscriptions(hub: HubDep, user: ApiUser) -> JSONResponse:
    """Your email digest subscriptions."""
    return JSONResponse([subscription_json(s) for s in hub.get_subscriptions(user)])


def subscribe(
    request: Request,
    hub: HubDep,
    user: ApiUser,
    subscription: Annotated[NewSubscription, Body()],
) -> JSONResponse:
    """Subscribe your account's email address to a digest; a confirmation email goes out first
    (nothing else is sent until its link is followed)."""
    request.app.state.limiter.hit("signups", f"user:{user.id}")
    try:
        sub = hub.subscribe(
            None,
            frequency=subscription.frequency,
            trending_top=subscription.trendingTop,
            topics=subscription.topics,
            user=user,
            for_you_top=subscription.forYouTop,
            follow_alerts=subscription.followAlerts,
        )
    except ConflictError as e:
        raise InvalidInputError(str(e)) from None
    return JSONResponse(subscription_json(sub), status_code=201)


def unsubscribe(subscription_id: int, hub: HubDep, user: ApiUser) -> Response:
    """Delete one of your subscriptions."""
    hub.delete_subscription(user, subscription_id)
    return Response(status_code=204)


# GET routes that need a token (the OpenAPI document lists their 401)
TOKEN_GETS = {"/api/v1/me", "/api/v1/subscriptions"}

ROUTES: list[tuple[str, list[str], Any]] = [
    ("/api/v1/subscriptions", ["GET"], list_subscriptions),
    ("/api/v1/subscriptions", ["POST"], subscribe),
    ("/api/v1/subscriptions/{subscription_id:int}", ["DELETE"], unsubscribe),
    ("/api/v1/me", ["GET"], me),
    ("/api/v1/search", ["GET"], search),
    ("/api/v1/organizations/{name}", ["GET"], organization),
    ("/api/v1/submissions", ["POST"], submit),
    ("/api/v1/papers/{arxiv_id:path}/vote", ["PUT"], upvote),
    ("/api/v1/papers/{arxiv_id:path}/vote", ["DELETE"], withdraw_vote),
    ("/api/v1/papers/{arxiv_id:path}/comments", ["GET"], list_comments),
    ("/api/v1/papers/{arxiv_id:path}/comments", ["POST"], add_comment),
    ("/api/v1/papers/{arxiv_id:path}", ["GET"], get_paper),
    *extras.ROUTES,  # /api/v1/trends
]


# -- follows and mutes (personal/interests.py) ---------------------------------------------------


class NewInterest(BaseModel):
    kind: str = Field(
        min_length=1,
        max_length=16,
        description="Follows: author, category or search. Mutes: author, category or word.",
    )
    value: str = Field(
        min_length=1,
        max_length=500,
        description='An author\'s name, a category or whole archive (cs.LG, cs, astro-ph), a query '
        '(diffusion cat:cs.CV author:"Ada Lovelace"), or a word or phrase to mute.',
    )


def interest_json(i: Interest) -> dict[str, Any]:
    return {"id": i.id, "kind": i.kind, "value": i.value, "createdAt": i.created_at.isoformat() + "Z"}


def _interests_routes(what: str) -> list[tuple[str, list[str], Any]]:
    """GET / POST / DELETE for ``/api/v1/follows`` or ``/api/v1/mutes`` (the same shape)."""
    plural = what + "s"
    listed = {"follow": "get_follows", "mute": "get_mutes"}[what]
    removed = {"follow": "unfollow", "mute": "unmute"}[what]

    def list_all(hub: HubDep, user: ApiUser, kind: str | None = None) -> JSONResponse:
        return JSONResponse([interest_json(i) for i in getattr(hub, listed)(user, kind)])

    def add(request: Request, hub: HubDep, user: ApiUser, interest: Annotated[NewInterest, Body()]) -> JSONResponse:
        _limit(request, "votes", user)
        before = {i.id for i in getattr(hub, listed)(user)}
        made = getattr(hub, what)(user, interest.kind, interest.value)
        return JSONResponse(interest_json(made), status_code=200 if made.id in before else 201)

    def delete(request: Request, interest_id: int, hub: HubDep, user: ApiUser) -> Response:
        _limit(request, "votes", user)
        getattr(hub, removed)(user, interest_id)
        return Response(status_code=204)

    verb = {"follow": "follow", "mute": "mute"}[what]
    list_all.__doc__ = (
        f"What you {verb} (optionally one ``kind``), oldest first."
        + (" Muted papers are hidden from every list you see on the site." if what == "mute" else "")
    )
    add.__doc__ = (
        f"{verb.capitalize()} something: 201 new, 200 when you {verb} it already (the same name, "
        "code or words written differently count as the same); 400 says what is wrong with the value."
    )
    delete.__doc__ = f"Stop {verb}ing something (404 when it is not one of yours)."
    for f, name in ((list_all, f"list_{plural}"), (add, f"add_{what}"), (delete, f"delete_{what}")):
        f.__name__ = name
    return [
        (f"/api/v1/{plural}", ["GET"], list_all),
        (f"/api/v1/{plural}", ["POST"], add),
        (f"/api/v1/{plural}/{{interest_id:int}}", ["DELETE"], delete),
    ]


ROUTES += _interests_routes("follow") + _interests_routes("mute")
TOKEN_GETS.update({"/api/v1/follows", "/api/v1/mutes"})


# -- the member's library (web/library.py shapes the JSON; personal/library.py is the use case) ------

Slug = Annotated[str, PathParam(max_length=100, description="The collection's slug (`saved` is the default one).", examples=["saved"])]


class NewCollection(BaseModel):
    name: str = Field(min_length=1, max_length=100, description="The collection's name; its slug is made from it.")
    public: bool = Field(default=False, description="Anyone may see it at /u/NAME/SLUG (with Atom and BibTeX).")


class CollectionChange(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=100, description="A new name (the slug follows it).")
    public: bool | None = Field(default=None, description="Public or private.")


class SavedPaperBody(BaseModel):
    arxivId: str = Field(min_length=1, max_length=200, description="arXiv id or arxiv.org address.", examples=["2611.00001"])


class LibraryImport(BaseModel):
    content: str = Field(
        min_length=1, max_length=5_000_000,
        description="The file's text: BibTeX (Zotero, Mendeley, Google Scholar), arXiv ids or addresses one a line, or a Hugging Face collection JSON.",
    )  # fmt: skip
    collection: str | None = Field(default=None, max_length=100, description="Collection to put the papers in (made if missing; default: Saved).")


def _library_limit(request: Request, user: User) -> None:
    request.app.state.limiter.hit("library changes", str(user.id))


def list_collections(hub: HubDep, user: ApiUser) -> JSONResponse:
    """Your collections, oldest first (the default one, Saved, is made on your first save)."""
    return JSONResponse([collection_json(c) for c in hub.collections(user)])


def create_collection(request: Request, hub: HubDep, user: ApiUser, body: Annotated[NewCollection, Body()]) -> JSONResponse:
    """Make a collection (409 when you have one of that name)."""
    _library_limit(request, user)
    return JSONResponse(collection_json(hub.create_collection(user, body.name, public=body.public)), status_code=201)


def get_collection(
    hub: HubDep,
    user: ApiUser,
    slug: Slug,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> JSONResponse:
    """One of your collections with its papers, the newest saves first."""
    page = hub.collection_page(hub.collection(user, slug), offset=offset, limit=limit, viewer=user)
    papers = [paper_json(s.paper) | {"addedAt": s.added_at.isoformat() + "Z"} for s in page.papers]
    return JSONResponse(collection_json(page.collection) | {"items": papers, "offset": offset})


def change_collection(request: Request, hub: HubDep, user: ApiUser, slug: Slug, body: Annotated[CollectionChange, Body()]) -> JSONResponse:
    """Rename a collection (its slug follows the name) or make it public or private."""
    _library_limit(request, user)
    return JSONResponse(collection_json(hub.update_collection(user, slug, name=body.name, public=body.public)))


def delete_collection(request: Request, hub: HubDep, user: ApiUser, slug: Slug) -> Response:
    """Delete a collection (its papers stay in the hub)."""
    _library_limit(request, user)
    hub.delete_collection(user, slug)
    return Response(status_code=204)


def save_paper(request: Request, hub: HubDep, user: ApiUser, slug: Slug, body: Annotated[SavedPaperBody, Body()]) -> JSONResponse:
    """Save a paper into a collection (again: no change). `saved` is made on first use."""
    _library_limit(request, user)
    done = hub.save_paper(user, body.arxivId, slug, on=True)
    return JSONResponse({"id": done.arxiv_id, "saved": True, "collection": collection_json(done.collection), "collections": list(done.collections)})


def remove_paper(request: Request, hub: HubDep, user: ApiUser, slug: Slug, arxiv_id: str) -> JSONResponse:
    """Take a paper out of a collection (not in it: no change)."""
    _library_limit(request, user)
    done = hub.save_paper(user, arxiv_id, slug, on=False)
    return JSONResponse({"id": done.arxiv_id, "saved": False, "collection": collection_json(done.collection), "collections": list(done.collections)})


def import_library(request: Request, hub: HubDep, user: ApiUser, body: Annotated[LibraryImport, Body()]) -> JSONResponse:
    """Import a library file into a collection. Every entry that could not be matched is in
    `problems` with its line and reason; the rest lands. Papers not in the database are fetched
    from arXiv when the server does live fetching."""
    request.app.state.limiter.hit("imports", str(user.id))
    if len(body.content.encode()) > hub.settings.library_import_max_mb * 1_000_000:
        raise InvalidInputError(f"a library file has at most {hub.settings.library_import_max_mb} MB")
    report = hub.import_library(user, body.content, collection=body.collection)
    return JSONResponse(import_json(report), status_code=200 if report.matched else 422)


def export_collection(
    request: Request,
    hub: HubDep,
    user: ApiUser,
    slug: Slug,
    format: Annotated[str, Query(pattern="^(json|bibtex)$", description="json (a Hugging Face-style collection) or bibtex.")] = "json",
) -> Response:
    """A whole collection as JSON (importable here and shaped like a Hugging Face collection) or BibTeX."""
    page = hub.collection_page(hub.collection(user, slug), limit=None, viewer=user)
    if format == "bibtex":
        return bib_response(page)
    return JSONResponse(export_json(page, site_url(request)))


ROUTES += [
    ("/api/v1/library", ["GET"], list_collections),
    ("/api/v1/library", ["POST"], create_collection),
    ("/api/v1/library/import", ["POST"], import_library),
    ("/api/v1/library/{slug}", ["GET"], get_collection),
    ("/api/v1/library/{slug}", ["PATCH"], change_collection),
    ("/api/v1/library/{slug}", ["DELETE"], delete_collection),
    ("/api/v1/library/{slug}/export", ["GET"], export_collection),
    ("/api/v1/library/{slug}/papers", ["POST"], save_paper),
    ("/api/v1/library/{slug}/papers/{arxiv_id:path}", ["DELETE"], remove_paper),
]


# -- For you, dismissals and private feed links (the member's own: a token is needed) -------------

TOKEN_GETS.update({"/api/v1/recommendations", "/api/v1/dismissals"})  # reads that need a token


def recommendation_json(r: Any) -> dict[str, Any]:
    return {
        "paper": paper_json(r.paper),
        "score": round(r.score, 4),
        "closest": [{"id": aid, "title": title} for aid, title in r.closest],
        "follows": [{"kind": f.kind, "value": f.value} for f in r.follows],
        "words": list(r.words),
        "trending": r.trending,
        "why": list(r.reasons),
    }


def recommendations(
    hub: HubDep,
    user: ApiUser,
    window: Annotated[str, Query(max_length=20, description="today, week or month.")] = "week",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> JSONResponse:
    """Your For you: the papers new in the window, best first, each with why (the saved papers it
    is closest to, the follows it matches, the words that weighed most). Your mutes hide papers
    (``hiddenByMutes`` counts them); dismissed and saved papers are left out."""
    page = hub.recommend(user, window=window, limit=limit)
    return JSONResponse({
        "window": page.window, "first": page.first.isoformat(), "last": page.last.isoformat(),
        "coldStart": page.cold_start, "hiddenByMutes": page.hidden_by_mutes, "candidates": page.candidates,
        "model": page.model, "items": [recommendation_json(r) for r in page.items],
    })  # fmt: skip


def list_dismissals(hub: HubDep, user: ApiUser) -> JSONResponse:
    """The papers you marked "not interested"."""
    return JSONResponse(sorted(hub.dismissed(user)))


def dismiss(request: Request, arxiv_id: str, hub: HubDep, user: ApiUser) -> JSONResponse:
    """Not interested: the paper leaves your For you and papers like it rank lower. 201 new,
    200 already dismissed."""
    _limit(request, "votes", user)
    paper, changed = hub.dismiss(user, arxiv_id, True)
    return JSONResponse({"id": paper.arxiv_id, "dismissed": True}, status_code=201 if changed else 200)


def undismiss(request: Request, arxiv_id: str, hub: HubDep, user: ApiUser) -> Response:
    """Take a dismissal back; 404 when the paper was not dismissed."""
    _limit(request, "votes", user)
    paper, changed = hub.dismiss(user, arxiv_id, False)
    if not changed:
        raise NotFoundError(f"you have not dismissed {paper.arxiv_id}")
    return Response(status_code=204)


def new_feed_token(request: Request, hub: HubDep, user: ApiUser) -> JSONResponse:
    """Make (or replace) your private feed token; the answer holds the token and your private feed
    URLs (For you, one per follow), shown this once. The old URLs stop working."""
    from .private_feeds import feed_urls
    from .render import site_url

    request.app.state.limiter.hit("signups", f"feeds:{user.id}")
    token = hub.new_feed_token(user)
    feeds = feed_urls(site_url(request), token, hub.private_feed_follows(user))
    return JSONResponse({"token": token, "feeds": feeds}, status_code=201)


def revoke_feed_token(hub: HubDep, user: ApiUser) -> Response:
    """Revoke your private feed token: every private feed URL stops working (404)."""
    hub.revoke_feed_token(user)
    return Response(status_code=204)


ROUTES += [
    ("/api/v1/recommendations", ["GET"], recommendations),
    ("/api/v1/dismissals", ["GET"], list_dismissals),
    ("/api/v1/dismissals/{arxiv_id:path}", ["POST"], dismiss),
    ("/api/v1/dismissals/{arxiv_id:path}", ["DELETE"], undismiss),
    ("/api/v1/feed-token", ["POST"], new_feed_token),
    ("/api/v1/feed-token", ["DELETE"], revoke_feed_token),
]
