"""A member's library on the web: the one-click save on every card and paper page, ``/library``
(collections, create, import, export), ``/library/SLUG`` (papers, remove, rename, public or
private, delete), and a public collection at ``/u/NAME/SLUG`` with its Atom feed (``.atom``) and
BibTeX (``.bib``).

A private collection answers 404 to anyone but its owner, its feed and BibTeX too (the same page
as a collection that does not exist). Forms post with CSRF and redirect back; the save script
(``static/app.js``) asks for JSON and toggles the button in place.
"""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from .jsonresp import JSONResponse
from ..bibtex import to_bibtex_list
from ..exceptions import ConflictError, InvalidInputError
from ..hub import Hub
from ..personal.library import CollectionPage, ImportReport
from ..types import Collection, User
from .deps import Actor, HubDep, Member, Viewer, safe_next, wants_json
from .feeds import BIB_MEDIA, MEDIA, build_feed
from .render import paper_url, render, site_url


def _limit(request: Request, action: str, user: User) -> None:
    request.app.state.limiter.hit(action, str(user.id))


def collection_url(c: Collection) -> str:
    return f"/u/{quote(c.owner, safe='')}/{c.slug}"


# -- shapes shared with the API -----------------------------------------------------------------


def collection_json(c: Collection) -> dict[str, Any]:
    return {
        "name": c.name,
        "slug": c.slug,
        "owner": c.owner,
        "public": c.public,
        "papers": c.papers,
        "createdAt": c.created_at.isoformat() + "Z",
        "url": collection_url(c),
    }


def export_json(page: CollectionPage, base_url: str) -> dict[str, Any]:
    """A collection with its papers, shaped like a Hugging Face collection (``items`` of
    ``type: paper``), so that importing it here or elsewhere reads the same papers."""
    return {
        **collection_json(page.collection),
        "url": base_url + collection_url(page.collection),
        "items": [
            {
                "type": "paper",
                "id": s.paper.arxiv_id,
                "position": n,
                "title": s.paper.title,
                "authors": list(s.paper.authors),
                "published": s.paper.published.isoformat() if s.paper.published else None,
                "addedAt": s.added_at.isoformat() + "Z",
                "url": base_url + paper_url(s.paper.arxiv_id),
            }
            for n, s in enumerate(page.papers)
        ],
    }


def import_json(report: ImportReport) -> dict[str, Any]:
    return {
        "collection": collection_json(report.collection),
        "format": report.format,
        "entries": report.entries,
        "added": report.added,
        "alreadyThere": report.already,
        "fetched": report.fetched,
        "problems": [{"line": p.line, "entry": p.label, "reason": p.reason, "text": str(p)} for p in report.problems],
    }


def bib_response(page: CollectionPage) -> Response:
    body = to_bibtex_list(s.paper for s in page.papers)
    name = f"{page.collection.owner}-{page.collection.slug}"
    return Response(body, media_type=BIB_MEDIA, headers={"content-disposition": f'inline; filename="{name}.bib"'})


def read_upload(hub: Hub, upload: UploadFile | None, text: str = "") -> bytes:
    """The uploaded file (or pasted text), at most ``library_import_max_mb``."""
    limit = hub.settings.library_import_max_mb * 1_000_000
    data = upload.file.read(limit + 1) if upload is not None and upload.filename else text.encode()
    if len(data) > limit:
        raise InvalidInputError(f"a library file has at most {hub.settings.library_import_max_mb} MB")
    if not data.strip():
        raise InvalidInputError("choose a file to import (or paste a list of arXiv ids)")
    return data


# -- the save button ---------------------------------------------------------------------------


def save(
    request: Request,
    arxiv_id: str,
    hub: HubDep,
    user: Actor,
    on: Annotated[str, Form()] = "1",
    collection: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    _limit(request, "library changes", user)
    done = hub.save_paper(user, arxiv_id, collection or None, on=on == "1")
    if wants_json(request):
        return JSONResponse(
            {"arxiv_id": done.arxiv_id, "collection": done.collection.slug, "saved": done.saved, "collections": list(done.collections)}
        )
    return RedirectResponse(safe_next(next, paper_url(done.arxiv_id)), status_code=303)


# -- /library --------------------------------------------------------------------------------------


def _library(request: Request, hub: Hub, user: User, status: int = 200, **extra: Any) -> HTMLResponse:
    context = {
        "collections": hub.collections(user),
        "report": None,
        "error": None,
        "max_mb": hub.settings.library_import_max_mb,
        "section": "library",
        "collection_url": collection_url,
    }
    return render(request, "library.html", context | extra, status=status)


def library_page(request: Request, hub: HubDep, user: Member) -> HTMLResponse:
    return _library(request, hub, user)


def create(
    request: Request,
    hub: HubDep,
    user: Actor,
    name: Annotated[str, Form(max_length=500)] = "",
    public: Annotated[str, Form()] = "",
) -> Response:
    _limit(request, "library changes", user)
    try:
        made = hub.create_collection(user, name, public=public == "1")
    except (InvalidInputError, ConflictError) as e:
        return _library(request, hub, user, 400, error=f"{str(e)[:1].upper()}{str(e)[1:]}.", name=name)
    return RedirectResponse(f"/library/{made.slug}", status_code=303)


def import_file(
    request: Request,
    hub: HubDep,
    user: Actor,
    file: Annotated[UploadFile | None, File()] = None,
    text: Annotated[str, Form(max_length=1_000_000)] = "",
    collection: Annotated[str, Form(max_length=500)] = "",
) -> HTMLResponse:
    _limit(request, "imports", user)
    try:
        report = hub.import_library(user, read_upload(hub, file, text), collection=collection or None)
    except (InvalidInputError, ConflictError) as e:
        return _library(request, hub, user, 400, error=f"Nothing was imported: {e}.")
    return _library(request, hub, user, report=report)


# -- /library/SLUG (the owner's) --------------------------------------------------------------


def collection_page(request: Request, slug: str, hub: HubDep, user: Member, page: int = 1) -> HTMLResponse:
    collection = hub.collection(user, slug)
    return _collection(request, hub, user, collection, page, owner_view=True)


def _collection(request: Request, hub: Hub, viewer: User | None, collection: Collection, page: int, *, owner_view: bool) -> HTMLResponse:
    size = hub.settings.page_size
    page = max(1, min(page, 10_000))
    shown = hub.collection_page(collection, offset=(page - 1) * size, limit=size, viewer=viewer)
    ids = [s.paper.arxiv_id for s in shown.papers]
    context = {
        "collection": collection,
        "shown": shown,
        "voted": hub.voted(viewer, ids),
        "saved": hub.saved(viewer, ids),
        "owner_view": owner_view,
        "mine": viewer is not None and viewer.name == collection.owner,
        "public_url": collection_url(collection),
        "page": page,
        "pages": max(1, -(-collection.papers // size)),
        "offset": (page - 1) * size,
        "section": "library" if owner_view else None,
    }
    return render(request, "collection.html", context)


def rename(request: Request, slug: str, hub: HubDep, user: Actor, name: Annotated[str, Form(max_length=500)] = "") -> Response:
    _limit(request, "library changes", user)
    done = hub.update_collection(user, slug, name=name)
    return RedirectResponse(f"/library/{done.slug}", status_code=303)


def set_public(request: Request, slug: str, hub: HubDep, user: Actor, public: Annotated[str, Form()] = "1") -> Response:
    _limit(request, "library changes", user)
    done = hub.update_collection(user, slug, public=public == "1")
    return RedirectResponse(f"/library/{done.slug}", status_code=303)


def delete(request: Request, slug: str, hub: HubDep, user: Actor) -> Response:
    _limit(request, "library changes", user)
    hub.delete_collection(user, slug)
    return RedirectResponse("/library", status_code=303)


def export_bib(slug: str, hub: HubDep, user: Member) -> Response:
    return bib_response(hub.collection_page(hub.collection(user, slug), limit=None, viewer=user))


def export_json_file(request: Request, slug: str, hub: HubDep, user: Member) -> Response:
    page = hub.collection_page(hub.collection(user, slug), limit=None, viewer=user)
    body = json.dumps(export_json(page, site_url(request)), indent=2, ensure_ascii=False)
    return Response(
        body,
        media_type="application/json",
        headers={"content-disposition": f'attachment; filename="{page.collection.slug}.json"'},
    )


# -- /u/NAME/SLUG (public, or the owner's own) ------------------------------------------------


def public_page(request: Request, name: str, slug: str, hub: HubDep, viewer: Viewer, page: int = 1) -> HTMLResponse:
    collection = hub.public_collection(viewer, name, slug)
    return _collection(request, hub, viewer, collection, page, owner_view=False)


FEED_SIZE = 50


def public_atom(request: Request, name: str, slug: str, hub: HubDep, viewer: Viewer) -> Response:
    collection = hub.public_collection(viewer, name, slug)
    page = hub.collection_page(collection, limit=FEED_SIZE, viewer=viewer)
    base = site_url(request)
    body = build_feed(
        "atom",
        title=f"{collection.owner}: {collection.name}",
        subtitle=f"Papers {collection.owner} saved in {collection.name!r} on {hub.settings.site_name}, newest saves first.",
        page_url=base + collection_url(collection),
        self_url=base + collection_url(collection) + ".atom",
        base_url=base,
        items=[(s.paper, s.added_at) for s in page.papers],
    )
    return Response(body, media_type=MEDIA["atom"])


def public_bib(name: str, slug: str, hub: HubDep, viewer: Viewer) -> Response:
    collection = hub.public_collection(viewer, name, slug)
    return bib_response(hub.collection_page(collection, limit=None, viewer=viewer))


class UploadLimit:
    """ASGI middleware: an import's request body must say its length (411 otherwise) and be at
    most twice ``library_import_max_mb`` plus room for the form (413 otherwise), before anything
    is parsed or spooled to disk. Twice: JSON escaping of the file's text in the API's body. The
    handlers then check the file's own size exactly."""

    PATHS = ("/library/import", "/api/v1/library/import")

    def __init__(self, app: ASGIApp, *, max_mb: int, error_page: Any) -> None:
        self.app, self.limit, self.error_page = app, 2 * max_mb * 1_000_000 + 100_000, error_page
        self.max_mb = max_mb

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in self.PATHS:
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length", b"")
        if not length.isdigit():
            status, message = 411, "An import must say its length (Content-Length)."
        elif int(length) > self.limit:
            status, message = 413, f"A library file has at most {self.max_mb} MB."
        else:
            await self.app(scope, receive, send)
            return
        from starlette.concurrency import run_in_threadpool
        from starlette.requests import Request

        response = await run_in_threadpool(self.error_page, Request(scope), status, message)
        await response(scope, receive, send)


# Before the pages they would otherwise fall into: `/library/{slug}` would take `x.bib`.
ROUTES: list[tuple[str, list[str], Any]] = [
    ("/papers/{arxiv_id:path}/save", ["POST"], save),
    ("/library", ["GET"], library_page),
    ("/library/collections", ["POST"], create),
    ("/library/import", ["POST"], import_file),
    ("/library/{slug}.bib", ["GET"], export_bib),
    ("/library/{slug}.json", ["GET"], export_json_file),
    ("/library/{slug}", ["GET"], collection_page),
    ("/library/{slug}/rename", ["POST"], rename),
    ("/library/{slug}/public", ["POST"], set_public),
    ("/library/{slug}/delete", ["POST"], delete),
    ("/u/{name}/{slug}.atom", ["GET"], public_atom),
    ("/u/{name}/{slug}.bib", ["GET"], public_bib),
    ("/u/{name}/{slug}", ["GET"], public_page),
]
