"""Pictures and charts: ``/thumbnails/ID.webp|png|svg`` (a paper's first page, else its generated
card: an ``<img>`` on a card is never broken), ``/api/v1/trends`` (papers and upvotes per month),
and the Jinja helpers that put them on pages."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from jinja2 import pass_context
from markupsafe import Markup

from .jsonresp import JSONResponse
from ..exceptions import InvalidInputError, NotFoundError
from ..pictures.card import card_svg
from ..pictures.chart import describe, month_label, trend_svg
from ..types import Paper, Trend
from .deps import HubDep

log = logging.getLogger("broadsheet.web")

RENDERED_CACHE = "public, max-age=2592000"  # 30 days: a first page does not change
CARD_CACHE = "public, max-age=3600"  # the generated card: replaced by the page once one is rendered
# An SVG opened on its own is a document: nothing in it may run or load.
SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'"


def thumbnail(request: Request, path: str, hub: HubDep) -> Response:
    """``ID.webp`` / ``ID.png``: the rendered first page (or the card, briefly cached, until
    there is one); ``ID.svg``: the generated card. 404 only for an unknown paper."""
    arxiv_id, dot, ext = path.rpartition(".")
    if not dot or ext not in ("webp", "png", "svg"):
        raise NotFoundError(f"no picture at {path!r}: use /thumbnails/ID.webp or ID.svg")
    try:
        picture = hub.thumbnail(arxiv_id, card=ext == "svg")
    except (NotFoundError, InvalidInputError):  # no such paper, or not a paper id
        raise
    except Exception:  # noqa: BLE001 - a picture must never break a page: the plainest card instead
        log.exception("thumbnail of %s failed; serving a plain card", arxiv_id)
        body, media_type, cache = card_svg(arxiv_id, None, None).encode(), "image/svg+xml", "no-store"
    else:
        body, media_type = picture.body, picture.media_type
        cache = RENDERED_CACHE if picture.rendered else CARD_CACHE
    headers = {"cache-control": cache}
    if media_type == "image/svg+xml":
        headers["content-security-policy"] = SVG_CSP
    return Response(body, media_type=media_type, headers=headers)


def trend_json(trend: Trend) -> dict[str, Any]:
    return {
        "label": trend.label,
        "totalPapers": trend.total_papers,
        "totalUpvotes": trend.total_upvotes,
        "firstMonth": trend.first_month,
        "months": [{"month": m.month, "papers": m.papers, "upvotes": m.upvotes} for m in trend.months],
        "description": describe(trend),
    }


def trends(hub: HubDep, q: str = "", author: str = "", category: str = "", org: str = "") -> JSONResponse:
    """Papers and upvotes per month (the last 24 months with papers) of a search query (the query
    language: words, `cat:`, `author:`, `org:`, `since:`...), or of an author's, a category's or
    an organization's papers."""
    if sum(bool(x.strip()) for x in (q, author, category, org)) != 1:
        raise InvalidInputError("give one of q (a search query), author, category or org")
    if author.strip():
        trend = hub.author_trend(author)
    elif org.strip():
        trend = hub.organization_trend(org)
    elif category.strip():
        trend = hub.category_trend(category)
    else:
        trend = hub.trend(q)
    return JSONResponse(trend_json(trend))


ROUTES: list[tuple[str, list[str], Any]] = [("/api/v1/trends", ["GET"], trends)]


# -- for templates ---------------------------------------------------------------------------


@pass_context
def thumbnail_src(context: Any, paper: Paper) -> str:
    from ..extras.thumbnails import thumbnail_src as src

    hub = context["request"].app.state.hub
    return src(paper, hub.thumbnail_mode())


def chart(trend: Any, ident: str = "trend") -> Markup:
    """The chart as inline SVG (escaped inside by ``trend_svg``), with its numbers as a table for
    screen readers (the ``sr`` class hides it from view)."""
    if not isinstance(trend, Trend) or not trend.months:
        return Markup("")
    rows = "".join(
        Markup("<tr><th scope='row'>{}</th><td>{}</td><td>{}</td></tr>").format(month_label(m.month), m.papers, m.upvotes)
        for m in trend.months
    )
    table = Markup("<div class='sr'><table><caption>{}</caption><tr><th>Month</th><th>Papers</th><th>Upvotes</th></tr>{}</table></div>").format(
        "Papers and upvotes per month: " + trend.label, Markup(rows)
    )
    legend = Markup("<p class='trend-legend muted small'><span class='key key-papers'></span> papers per month <span class='key key-votes'></span> upvotes · {}</p>").format(
        f"{trend.total_papers:,} papers in all"
    )
    return Markup("<figure class='trendchart'>") + Markup(trend_svg(trend, ident=ident)) + legend + table + Markup("</figure>")

