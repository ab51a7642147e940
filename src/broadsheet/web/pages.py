"""Read-only pages: feeds, trending, a paper, an author, a category, search."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ..exceptions import (
    BroadsheetError,
    InvalidInputError,
    NotFoundError,
    PaperNotFoundError,
)
from ..periods import parse_period
from ..search.query import parse_query
from ..trending import SEARCH_SORTS, SORTS, check_sort, default_sort
from ..types import Comment, Paper, Period, SearchFilters, Trend, User
from .cache import cached, members_own, page_version
from .deps import HubDep, Member, Viewer
from .interests import follow_box, mutes_context
from .render import period_url, render

Page = Annotated[int, Query(ge=1, le=10_000)]
Sort = Annotated[str | None, Query()]  # checked by trending.check_sort: a readable 400
SIMILAR = 6
SEARCH_PAGE = 20


def _pages(total: int, size: int) -> int:
    return max(1, -(-total // size))


def _shared(request: Request, key: Any, make: Any) -> Any:
    """Data that is the same for every viewer (a feed page, a search's results), kept until the
    data changes (cache.py): members' pages are personal, but what they list is not."""
    return cached(request.app.state.data_cache, key, lambda: page_version(request.scope), make)


def _voted(request: Request, hub: Any, viewer: User | None, ids: list[str]) -> set[str]:
    """Which of ``ids`` the viewer upvoted (kept per member until the data changes)."""
    key = tuple(ids)
    return members_own(request, viewer, ("voted", key), lambda: hub.voted(viewer, key))


def _saved(request: Request, hub: Any, viewer: User | None, ids: list[str]) -> dict[str, tuple[str, ...]]:
    """Where the viewer saved each of ``ids`` (kept per member until the data changes)."""
    key = tuple(ids)
    return members_own(request, viewer, ("saved", key), lambda: hub.saved(viewer, key))


def _feed_page(
    request: Request,
    hub: Any,
    viewer: User | None,
    period: Period,
    sort: str | None,
    page: int,
    *,
    home: bool = False,
) -> HTMLResponse:
    sort = check_sort(sort) if sort else default_sort(period.kind)
    size = hub.settings.page_size
    feed = _shared(
        request,
        ("feed", period, sort, page, size),
        lambda: hub.get_feed(
            period.first, period.last, sort=sort, limit=size, offset=(page - 1) * size
        ),
    )
    voted = _voted(request, hub, viewer, [e.paper.arxiv_id for e in feed.entries])
    return render(
        request,
        "feed.html",
        {
            "period": period,
            "feed": feed,
            "voted": voted,
            "saved": _saved(request, hub, viewer, [e.paper.arxiv_id for e in feed.entries]),
            "page": page,
            "pages": _pages(feed.total, size),
            "sorts": SORTS,
            # the sort other periods' links keep: none when it is this kind's default
            "chosen_sort": None if sort == default_sort(period.kind) else sort,
            "home": home,
            "offset": (page - 1) * size,
            **mutes_context(request, hub, viewer, [e.paper for e in feed.entries]),
        },
    )


def home(
    request: Request,
    hub: HubDep,
    viewer: Viewer,
    sort: Sort = None,
    page: Page = 1,
) -> HTMLResponse:
    """The latest listed day; before anything is listed, the newest papers."""
    day = _shared(request, "latest day", hub.latest_listing_day)
    if day is None:
        size = hub.settings.page_size
        papers = hub.get_newest_papers(size + 1, (page - 1) * size)
        return _paper_list(request, hub, viewer, "Newest papers", None, papers, page)
    return _feed_page(
        request, hub, viewer, Period("date", day, day), sort, page, home=True
    )


def period_page(kind: str) -> Any:
    def handler(
        request: Request,
        slug: str,
        hub: HubDep,
        viewer: Viewer,
        sort: Sort = None,
        page: Page = 1,
    ) -> HTMLResponse:
        return _feed_page(request, hub, viewer, parse_period(kind, slug), sort, page)

    handler.__name__ = f"{kind}_page"
    return handler


def go_to_day(kind: str = "date", day: str = "", sort: str = "") -> RedirectResponse:
    """The date picker of the feed pages (a GET form): the day, week or month holding ``day``."""
    if kind not in ("date", "week", "month"):
        raise InvalidInputError("the period must be date, week or month")
    picked = _day(day, "picked")
    if picked is None:
        raise InvalidInputError("pick a day, such as 2024-05-17")
    return RedirectResponse(period_url(kind, picked, check_sort(sort) if sort else None), status_code=303)


def ranking(request: Request, hub: HubDep) -> HTMLResponse:
    """How the feeds, trending and search rank papers (the feeds link here)."""
    s = hub.settings
    return render(
        request,
        "ranking.html",
        {"days": s.trending_days, "gravity": f"{s.trending_gravity:g}"},
    )


def trending(
    request: Request, hub: HubDep, viewer: Viewer, page: Page = 1
) -> HTMLResponse:
    size = hub.settings.page_size
    feed = _shared(
        request,
        ("trending", page, size),
        lambda: hub.get_trending(limit=size, offset=(page - 1) * size),
    )
    voted = _voted(request, hub, viewer, [e.paper.arxiv_id for e in feed.entries])
    return render(
        request,
        "trending.html",
        {
            "feed": feed,
            "voted": voted,
            "saved": _saved(request, hub, viewer, [e.paper.arxiv_id for e in feed.entries]),
            "page": page,
            "pages": _pages(feed.total, size),
            "days": hub.settings.trending_days,
            "offset": (page - 1) * size,
            **mutes_context(request, hub, viewer, [e.paper for e in feed.entries]),
        },
    )


def _paper_list(
    request: Request,
    hub: Any,
    viewer: User | None,
    heading: str,
    subheading: str | None,
    papers: list[Paper],
    page: int,
    trend: Trend | None = None,
    box: dict[str, Any] | None = None,
) -> HTMLResponse:
    size = hub.settings.page_size
    more = len(papers) > size
    papers = papers[:size]
    voted = _voted(request, hub, viewer, [p.arxiv_id for p in papers])
    return render(
        request,
        "papers.html",
        {
            "heading": heading,
            "subheading": subheading,
            "papers": papers,
            "voted": voted,
            "saved": _saved(request, hub, viewer, [p.arxiv_id for p in papers]),
            "page": page,
            "more": more,
            "trend": trend,
            "follow_box": box,
            **mutes_context(request, hub, viewer, papers),
        },
    )


def author(
    request: Request, name: str, hub: HubDep, viewer: Viewer, page: Page = 1
) -> HTMLResponse:
    size = hub.settings.page_size
    papers, trend = _shared(
        request,
        ("author", name, page, size),
        lambda: (hub.get_papers_by_author(name, limit=size + 1, offset=(page - 1) * size), hub.author_trend(name)),
    )
    if not papers and page == 1:
        raise NotFoundError(f"no papers by {name!r}")
    shown = next(
        (a for p in papers[:1] for a in p.authors if _same_name(a, name)), name
    )
    return _paper_list(
        request, hub, viewer, shown, "Papers by this author, newest first", papers, page, trend,
        follow_box(request, hub, viewer, "author", shown),
    )


def _same_name(a: str, b: str) -> bool:
    from ..text import name_key

    return name_key(a) == name_key(b)


def category(
    request: Request, code: str, hub: HubDep, viewer: Viewer, page: Page = 1
) -> HTMLResponse:
    from ..taxonomy import category_name

    size = hub.settings.page_size
    papers, trend = _shared(
        request,
        ("category", code, page, size),
        lambda: (hub.get_papers_in_category(code, limit=size + 1, offset=(page - 1) * size), hub.category_trend(code)),
    )
    name = category_name(code)
    if not papers and page == 1 and name == code:
        raise NotFoundError(f"no papers in category {code!r}")
    heading = f"{name} ({code})" if name != code else code
    return _paper_list(
        request,
        hub,
        viewer,
        heading,
        "Papers in this category, newest first",
        papers,
        page,
        trend,
        follow_box(request, hub, viewer, "category", code) if name != code else None,
    )


ORG_SORTS = ("newest", "trending", "top")


def organization(
    request: Request, name: str, hub: HubDep, viewer: Viewer, sort: Sort = None, page: Page = 1
) -> HTMLResponse:
    """An organization's papers (newest, trending or top), with its full name and avatar."""
    sort = check_sort(sort) if sort else "newest"
    size = hub.settings.page_size
    org, feed, trend = _shared(
        request,
        ("organization", name.casefold(), sort, page, size),
        lambda: _with_trend(hub, *hub.get_organization_feed(name, sort=sort, limit=size, offset=(page - 1) * size)),
    )
    voted = _voted(request, hub, viewer, [e.paper.arxiv_id for e in feed.entries])
    return render(
        request,
        "organization.html",
        {"org": org, "feed": feed, "voted": voted, "page": page, "pages": _pages(feed.total, size),
         "offset": (page - 1) * size, "sorts": ORG_SORTS, "trend": trend,
         **mutes_context(request, hub, viewer, [e.paper for e in feed.entries])},
    )  # fmt: skip


def _with_trend(hub: Any, org: Any, feed: Any) -> tuple[Any, Any, Trend]:
    return org, feed, hub.organization_trend(org.name)


def avatar(name: str) -> Response:
    """The generated avatar of a member, a submitter or an organization (``web/avatars.py``)."""
    from .avatars import CACHE_CONTROL, avatar_svg

    return Response(
        avatar_svg(name),
        media_type="image/svg+xml",
        headers={"Cache-Control": CACHE_CONTROL, "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"},
    )


def paper_context(
    request: Request, hub: Any, viewer: User | None, arxiv_id: str
) -> dict[str, Any]:
    """What the paper page shows; a hidden paper is not found, except by admins."""
    admin = bool(viewer and viewer.is_admin)

    def load() -> tuple[Paper, list[Comment], Any]:  # the same for every viewer (admins apart)
        found = hub.get_paper(arxiv_id)
        if found.hidden and not admin:
            raise PaperNotFoundError(found.arxiv_id)
        return found, hub.get_comments(found.arxiv_id, include_hidden=admin), hub.get_first_listing(found.arxiv_id)

    paper, comments, listing = _shared(request, ("paper", arxiv_id, admin), load)
    replies: dict[int, list[Comment]] = defaultdict(list)
    for c in comments:
        if c.parent_id is not None:
            replies[c.parent_id].append(c)
    top = [
        c
        for c in comments
        if c.parent_id is None and (not c.hidden or admin or replies.get(c.id))
    ]

    def similar_papers() -> list[
        Any
    ]:  # a full-text query when the paper has no vector yet
        try:
            return hub.similar(paper.arxiv_id, SIMILAR)
        except BroadsheetError:
            return []

    mutes = members_own(request, viewer, ("mutes",), lambda: hub.mute_filter(viewer))  # a visitor's hides nothing
    similar = cached(
        request.app.state.similar_cache,
        paper.arxiv_id,
        lambda: page_version(request.scope)[0],  # the data's version: no ranking by time here
        similar_papers,
    )
    shown = mutes.split(similar, lambda h: h.paper)[0]
    similar_ids = tuple(h.paper.arxiv_id for h in shown)
    mute_reason = mutes.reason(paper)
    voted = _voted(request, hub, viewer, [paper.arxiv_id])
    saved = _saved(request, hub, viewer, [paper.arxiv_id])
    collections = members_own(request, viewer, ("collections",), lambda: hub.collections(viewer)) if viewer else []
    return {
        "paper": paper,
        "listing": listing,  # when and by whom it was listed
        "voted": voted,
        "saved": saved,
        "my_collections": collections,
        # all the page shows of the viewer's own: with the address and the data version, the key
        # of the page's kept main part (render.shared_fragment); the CSRF token is put in per page
        "page_marks": (
            viewer is not None, admin, paper.arxiv_id in voted, saved.get(paper.arxiv_id, ()),
            tuple((c.slug, c.name) for c in collections), mute_reason, similar_ids,
        ),
        "comments": top,
        "replies": replies,
        # similar papers a member's mutes hide are left out; the paper itself says if it is muted
        "similar": shown,
        "similar_ids": similar_ids,  # the key of its kept piece
        "mute_reason": mute_reason,
    }


def paper(request: Request, arxiv_id: str, hub: HubDep, viewer: Viewer) -> HTMLResponse:
    return render(request, "paper.html", paper_context(request, hub, viewer, arxiv_id))


_CATS_RE = re.compile(r"[\s,]+")


def search(
    request: Request,
    hub: HubDep,
    viewer: Viewer,
    q: str = "",
    since: str = "",
    until: str = "",
    cat: str = "",
    mode: Annotated[str, Query(pattern="^(hybrid|lexical|semantic)$")] = "hybrid",
    cursor: str = "",
    sort: str = "relevance",
) -> HTMLResponse:
    ctx: dict[str, Any] = {
        "q": q,
        "since": since,
        "until": until,
        "cat": cat,
        "mode": mode,
        "sort": sort,
        "sorts": SEARCH_SORTS,
        "results": None,
        "error": None,
    }
    try:
        filters = SearchFilters(
            categories=tuple(c for c in _CATS_RE.split(cat) if c),
            since=_day(since, "from"),
            until=_day(until, "until"),
        )
        if q.strip() or filters != SearchFilters():
            # the same for every viewer: kept until the data changes (a repeated query is free)
            result, ctx["trend"] = _shared(
                request,
                ("search", q, filters, mode, cursor, sort),
                lambda: (
                    hub.search(q, filters=filters, mode=mode, limit=SEARCH_PAGE, cursor=cursor or None, sort=sort),
                    hub.trend(q, filters),
                ),
            )
            ctx["results"] = result
            ctx["voted"] = _voted(request, hub, viewer, [h.paper.arxiv_id for h in result.hits])
            ctx["saved"] = _saved(request, hub, viewer, [h.paper.arxiv_id for h in result.hits])
            ctx["offset"] = int(cursor or 0)
            wanted = parse_query(q).authors
            ctx["matched_authors"] = {
                h.paper.arxiv_id: matched_authors(h.paper.authors, wanted)
                for h in result.hits
            } if wanted else {}  # only an ``author:`` of the query marks names
            ctx |= mutes_context(request, hub, viewer, [h.paper for h in result.hits])
            ctx["saved_search"] = saved_search(q, filters)
            ctx["search_follow"] = members_own(
                request, viewer, ("follow", ctx["saved_search"]), lambda: hub.find_interest("follow", viewer, "search", ctx["saved_search"])
            ) if viewer else None
    except InvalidInputError as e:
        ctx["error"] = str(e)[:1].upper() + str(e)[1:] + "."
        return render(request, "search.html", ctx, status=400)
    return render(request, "search.html", ctx)


def saved_search(q: str, filters: SearchFilters) -> str:
    """The search as one query of the query language (the form's filters as ``cat:``, ``since:``,
    ``until:``), for "Follow this search"."""
    parts = [q.strip()] + [f"cat:{c}" for c in filters.categories]
    parts += [f"since:{filters.since}"] if filters.since else []
    parts += [f"until:{filters.until}"] if filters.until else []
    return " ".join(p for p in parts if p)


def matched_authors(authors: tuple[str, ...], wanted: tuple[str, ...]) -> tuple[str, ...]:
    """The paper's authors that an ``author:`` of the query names: the words of the query's name,
    in order, within the author's name (``author:gu`` and ``author:"Albert Gu"`` find Albert Gu)."""
    from ..text import name_key

    keys = [name_key(w).split() for w in wanted]
    found = []
    for name in authors:
        words = name_key(name).split()
        if any(
            k and any(words[i : i + len(k)] == k for i in range(len(words) - len(k) + 1))
            for k in keys
        ):
            found.append(name)
    return tuple(found)


def _day(value: str, what: str) -> date | None:
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInputError(
            f"the {what} date must look like 2024-05-17, not {value!r}"
        ) from None


def admin_status(request: Request, hub: HubDep, user: Member) -> HTMLResponse:
    """For admins: how far embedding for search by meaning is (403 for other members)."""
    return render(request, "admin_status.html", {"embedding": hub.admin_status(user)})
