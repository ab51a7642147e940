"""The Hugging Face-compatible read API: no login, the paths, parameters and JSON shapes of
huggingface.co, so ``huggingface_hub.HfApi(endpoint=<this server>)`` works unchanged:

- ``GET /api/daily_papers`` (``list_daily_papers``): ``date`` | ``week`` | ``month``,
  ``submitter``, ``sort`` (``publishedAt`` | ``trending``; without it the most upvoted first, as
  huggingface.co answers), ``p`` (page from 0), ``limit``;
- ``GET /api/papers/search?q=&limit=`` (``list_papers``): hybrid search;
- ``GET /api/papers/{id}`` (``paper_info``) and ``GET /papers/{id}.md`` (``read_paper``).

Handlers parse, call the Hub, and shape with ``hf_json`` (pure).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import Query, Request
from fastapi.responses import Response

from .jsonresp import EncodedJSON, JSONResponse, dumps
from ..exceptions import InvalidInputError, PaperNotFoundError
from ..hub import Hub
from ..periods import parse_period
from ..types import Paper
from . import hf_json
from .cache import cached, page_version
from .deps import HubDep
from .loop import loop_first
from .render import site_url

DEFAULT_LIMIT = 50
MAX_PAGE = 10_000
# before arXiv's first paper: "every day" for a submitter's listings
EPOCH = date(1991, 1, 1)

Limit = Annotated[int, Query(ge=1, le=100, description="Papers per page (1-100).")]


def _shared(request: Request, key: Any, make: Any) -> Any:
    """The same for every client: kept until the data changes (cache.py)."""
    hub: Hub = request.app.state.hub
    return cached(request.app.state.data_cache, key, lambda: page_version(request.scope), make)


def visible_paper(hub: Hub, arxiv_id: str) -> Paper:
    """The paper, unless it is unknown or hidden (PaperNotFoundError: a 404)."""
    paper = hub.get_paper(arxiv_id)
    if paper.hidden:
        raise PaperNotFoundError(paper.arxiv_id)
    return paper


def daily_papers(
    request: Request,
    hub: HubDep,
    date: Annotated[
        str | None, Query(description="A day, YYYY-MM-DD.", examples=["2024-05-27"])
    ] = None,
    week: Annotated[
        str | None, Query(description="An ISO week, YYYY-Www.", examples=["2024-W22"])
    ] = None,
    month: Annotated[
        str | None, Query(description="A month, YYYY-MM.", examples=["2024-05"])
    ] = None,
    submitter: Annotated[
        str | None,
        Query(max_length=128, description="Only papers this user submitted."),
    ] = None,
    sort: Annotated[
        Literal["publishedAt", "trending"] | None,
        Query(
            description="publishedAt: newest first; trending: by trending score; "
            "without it, most upvoted first (as huggingface.co lists a day, a week or a month)."
        ),
    ] = None,
    p: Annotated[int, Query(ge=0, le=MAX_PAGE, description="Page, from 0.")] = 0,
    limit: Limit = DEFAULT_LIMIT,
) -> JSONResponse:
    """The daily papers of a day, an ISO week or a month (without one: the last listed day; with
    only ``submitter``: every day), as ``huggingface.co/api/daily_papers`` lists them."""
    given = [
        (kind, value)
        for kind, value in (("date", date), ("week", week), ("month", month))
        if value
    ]
    if len(given) > 1:
        raise InvalidInputError("give at most one of date, week and month")
    if given:
        period = parse_period(*given[0])
        first, last = period.first, period.last
    else:
        latest = _shared(request, "latest day", hub.latest_listing_day)
        if latest is None:
            return JSONResponse([])
        first, last = (EPOCH if submitter else latest), latest
    order = {"trending": "trending", "publishedAt": "newest", None: "top"}[sort]
    key = (
        "hf daily",
        first,
        last,
        order,
        p,
        limit,
        (submitter or "").strip().casefold(),
    )
    body = _shared(  # encoded once per change of the data
        request,
        key,
        lambda: dumps(hf_json.feed_items(
            hub.get_feed(
                first,
                last,
                sort=order,
                limit=limit,
                offset=p * limit,
                submitter=submitter,
            ).entries
        )),
    )
    return EncodedJSON(body)


def search_papers(
    request: Request,
    hub: HubDep,
    q: Annotated[
        str,
        Query(
            max_length=500, description="Search query (see /search for the language)."
        ),
    ] = "",
    limit: Limit = DEFAULT_LIMIT,
) -> JSONResponse:
    """Hybrid search (words and meaning), best first; without a query, the trending papers."""
    if not q.strip():
        feed = _shared(
            request, ("hf trending", limit), lambda: hub.get_trending(limit=limit)
        )
        return JSONResponse(hf_json.feed_items(feed.entries))
    page = _shared(request, ("hf search", q, limit), lambda: hub.search(q, limit=limit))
    return JSONResponse(hf_json.search_items(page.hits))


def paper_info(arxiv_id: str, hub: HubDep) -> JSONResponse:
    """One paper, as ``huggingface.co/api/papers/{id}``; 404 when it is not here."""
    paper = visible_paper(hub, arxiv_id)
    return JSONResponse(hf_json.paper_info(paper, hub.get_first_listing(paper.arxiv_id)))


def paper_markdown(request: Request, arxiv_id: str, hub: HubDep) -> Response:
    """The paper page as markdown (``HfApi.read_paper``)."""
    paper = visible_paper(hub, arxiv_id)
    text = hf_json.paper_markdown(
        paper, hub.get_first_listing(paper.arxiv_id), site_url(request)
    )
    return Response(text, media_type="text/markdown; charset=utf-8")


# (path, methods, handler, summary); app.py registers these before the HTML pages' catch-alls.
ROUTES: list[tuple[str, list[str], Any]] = [
    ("/api/daily_papers", ["GET"], loop_first(daily_papers)),  # on the event loop when cached
    ("/api/papers/search", ["GET"], search_papers),
    ("/api/papers/{arxiv_id:path}", ["GET"], paper_info),
    ("/papers/{arxiv_id:path}.md", ["GET"], paper_markdown),
]
