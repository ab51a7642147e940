"""Feeds (Atom 1.0 and RSS 2.0) and BibTeX files for lists of papers.

Feeds: ``/feeds/daily``, ``/feeds/trending``, ``/feeds/categories/{code}``,
``/feeds/search?q=`` — each as ``.atom`` and ``.rss``. BibTeX: ``/papers/{id}.bib``, a day, week
or month (``/papers/date/2024-05-27.bib``), ``/papers/trending.bib`` and ``/search.bib?q=``.

Feeds are written by ``feedgen`` (lxml underneath: escaping, dates in RFC 3339 / RFC 822, the
required elements of each format); see docs/dev.md. Every text goes through ``xml_safe`` first:
XML 1.0 cannot carry most control characters, and lxml refuses them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import Query, Request
from fastapi.responses import Response

from ..bibtex import to_bibtex, to_bibtex_list
from ..exceptions import InvalidInputError, NotFoundError
from ..hub import Hub
from ..periods import parse_period
from ..taxonomy import category_name
from ..types import Paper
from ..trending import default_sort
from .hf_routes import visible_paper
from .cache import cached, page_version
from .deps import HubDep
from .loop import loop_first
from .render import site_url

FEED_SIZE = 50  # entries in a feed
# the daily feed: papers listed in this many days up to the last listed day
DAILY_DAYS = 7
BIB_MAX = 1000  # entries in a list's BibTeX file
MEDIA = {
    "atom": "application/atom+xml; charset=utf-8",
    "rss": "application/rss+xml; charset=utf-8",
}
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

Q = Annotated[
    str,
    Query(max_length=500, description="Search query (see /search for the language)."),
]


def xml_safe(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot hold (control characters, lone surrogates)."""
    return _NOT_XML.sub("", text)


def _utc(value: date | datetime) -> datetime:
    if not isinstance(value, datetime):
        value = datetime.combine(value, time())
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


# An entry to write: the paper and the time it entered this list (listing day, else publication).
Item = tuple[Paper, date | datetime | None]


def build_feed(
    fmt: str,
    *,
    title: str,
    subtitle: str,
    page_url: str,
    self_url: str,
    base_url: str,
    items: Sequence[Item],
    notes: Sequence[str] = (),
) -> bytes:
    """An Atom or RSS document for ``items`` (in order). Pure apart from feedgen. ``notes``: a
    line per item put before its abstract (why a private feed shows it)."""
    from feedgen.feed import FeedGenerator

    base = base_url.rstrip("/")
    fg = FeedGenerator()
    fg.id(self_url)
    fg.title(xml_safe(title))
    fg.subtitle(xml_safe(subtitle))  # RSS: <description>
    fg.link(href=page_url, rel="alternate")
    fg.link(href=self_url, rel="self")
    fg.language("en")
    fg.generator("Broadsheet")
    newest = datetime(1991, 1, 1, tzinfo=UTC)
    for n, (paper, when) in enumerate(items):
        note = notes[n] if n < len(notes) and notes[n] else ""
        url = f"{base}/papers/{quote(paper.arxiv_id, safe='/')}"
        stamp = _utc(when or paper.published or paper.first_seen)
        changed = max(stamp, _utc(paper.last_changed))
        newest = max(newest, changed)
        fe = fg.add_entry(order="append")
        fe.id(url)
        fe.guid(url, permalink=True)
        fe.title(xml_safe(" ".join(paper.title.split())) or paper.arxiv_id)
        fe.link(href=url, rel="alternate")
        abstract = " ".join(paper.abstract.split()) or "(no abstract)"
        fe.description(xml_safe(f"Why: {note}. {abstract}" if note else abstract), isSummary=True)
        for name in paper.authors:
            if xml_safe(name).strip():
                fe.author(name=xml_safe(name))
        for code in paper.categories:
            fe.category(term=xml_safe(code), label=xml_safe(category_name(code)))
        fe.published(stamp)
        fe.updated(changed)
    fg.updated(newest)
    return fg.atom_str(pretty=True) if fmt == "atom" else fg.rss_str(pretty=True)


def _feed_response(request: Request, fmt: str, key: Any, make: Any) -> Response:
    hub: Hub = request.app.state.hub
    body = cached(  # per site address: without base_url, links follow the request's host
        request.app.state.data_cache,
        ("feed", fmt, key, site_url(request)),
        lambda: page_version(request.scope),
        make,
    )
    return Response(body, media_type=MEDIA[fmt])


def _urls(hub: Hub, request: Request, page: str) -> dict[str, str]:
    base = site_url(request)
    self_url = (
        base + request.url.path + (f"?{request.url.query}" if request.url.query else "")
    )
    return {"page_url": base + page, "self_url": self_url, "base_url": base}


def daily_feed(fmt: str) -> Any:
    def handler(request: Request, hub: HubDep) -> Response:
        def make() -> bytes:
            last = hub.latest_listing_day()
            items: list[Item] = []
            if last is not None:
                feed = hub.get_feed(
                    last - timedelta(days=DAILY_DAYS - 1),
                    last,
                    sort="newest",
                    limit=FEED_SIZE * 2,
                )
                items = [(e.paper, e.listed_on) for e in feed.entries]
            site = hub.settings.site_name
            return build_feed(
                fmt,
                title=f"{site}: daily papers",
                subtitle=f"Papers put on the daily list in the last {DAILY_DAYS} listed days, newest first.",
                items=items,
                **_urls(hub, request, "/"),
            )

        return _feed_response(request, fmt, "daily", make)

    handler.__name__ = f"daily_{fmt}"
    handler.__doc__ = f"The daily list as {fmt.upper()}: papers listed in the last {DAILY_DAYS} days up to the last listed day."
    return handler


def trending_feed(fmt: str) -> Any:
    def handler(request: Request, hub: HubDep) -> Response:
        def make() -> bytes:
            feed = hub.get_trending(limit=FEED_SIZE)
            return build_feed(
                fmt,
                title=f"{hub.settings.site_name}: trending papers",
                subtitle="The papers with the highest trending score, best first.",
                items=[(e.paper, e.listed_on) for e in feed.entries],
                **_urls(hub, request, "/papers/trending"),
            )

        return _feed_response(request, fmt, "trending", make)

    handler.__name__ = f"trending_{fmt}"
    handler.__doc__ = f"Trending papers as {fmt.upper()}."
    return handler


def category_feed(fmt: str) -> Any:
    def handler(request: Request, code: str, hub: HubDep) -> Response:
        code = code.strip()

        def make() -> bytes:
            papers = hub.get_papers_in_category(code, limit=FEED_SIZE)
            name = category_name(code)
            if not papers and name == code:
                raise NotFoundError(f"no papers in category {code!r}")
            shown = f"{name} ({code})" if name != code else code
            return build_feed(
                fmt,
                title=f"{hub.settings.site_name}: {shown}",
                subtitle=f"Newest papers in {shown}.",
                items=[(p, None) for p in papers],
                **_urls(hub, request, f"/categories/{quote(code, safe='')}"),
            )

        return _feed_response(request, fmt, ("category", code), make)

    handler.__name__ = f"category_{fmt}"
    handler.__doc__ = f"The newest papers of an arXiv category (cs.LG) or archive (cs) as {fmt.upper()}."
    return handler


def search_feed(fmt: str) -> Any:
    def handler(request: Request, hub: HubDep, q: Q = "") -> Response:
        if not q.strip():
            raise InvalidInputError("a search feed needs a query: ?q=...")

        def make() -> bytes:
            page = hub.search(q, limit=FEED_SIZE)
            return build_feed(
                fmt,
                title=f"{hub.settings.site_name}: search for {q.strip()}",
                subtitle=f"Papers matching {q.strip()!r}, best first.",
                items=[(h.paper, None) for h in page.hits],
                **_urls(hub, request, "/search?" + urlencode({"q": q})),
            )

        return _feed_response(request, fmt, ("search", q), make)

    handler.__name__ = f"search_{fmt}"
    handler.__doc__ = f"Papers matching a search query as {fmt.upper()} (the same ranking as /search)."
    return handler


# -- BibTeX ----------------------------------------------------------------------------------------

BIB_MEDIA = "application/x-bibtex; charset=utf-8"


def _bib(text: str, name: str) -> Response:
    return Response(
        text,
        media_type=BIB_MEDIA,
        headers={"content-disposition": f'inline; filename="{name}.bib"'},
    )


def paper_bib(arxiv_id: str, hub: HubDep) -> Response:
    """One paper as a BibTeX entry."""
    paper = visible_paper(hub, arxiv_id)
    return _bib(to_bibtex(paper) + "\n", paper.arxiv_id.replace("/", "-"))


def period_bib(kind: str) -> Any:
    def handler(slug: str, hub: HubDep) -> Response:
        period = parse_period(kind, slug)
        feed = hub.get_feed(period.first, period.last, sort=default_sort(period.kind), limit=BIB_MAX)
        return _bib(
            to_bibtex_list(e.paper for e in feed.entries), f"broadsheet-{period.slug}"
        )

    handler.__name__ = f"{kind}_bib"
    handler.__doc__ = (
        f"The papers listed in a {kind} as one BibTeX file, in the order of its page "
        f"({'trending' if kind == 'date' else 'most upvoted first'})."
    )
    return handler


def trending_bib(hub: HubDep) -> Response:
    """The trending papers as one BibTeX file."""
    feed = hub.get_trending(limit=BIB_MAX)
    return _bib(to_bibtex_list(e.paper for e in feed.entries), "broadsheet-trending")


def search_bib(hub: HubDep, q: Q = "") -> Response:
    """The first 100 results of a search as one BibTeX file."""
    page = hub.search(q, limit=100)
    return _bib(to_bibtex_list(h.paper for h in page.hits), "broadsheet-search")


# -- <link rel="alternate"> ------------------------------------------------------------------------


def feed_links(request: Request) -> list[dict[str, str]]:
    """The feeds a page announces in its <head>: the daily list and trending everywhere, plus the
    category's or the search's own feed on those pages."""
    links = []
    site = request.app.state.hub.settings.site_name
    path = request.url.path
    if path.startswith("/categories/"):
        code = path.removeprefix("/categories/")
        links.append((f"{site}: {code}", f"/feeds/categories/{quote(code, safe='')}"))
    elif path == "/search" and (q := request.query_params.get("q", "").strip()):
        links.append((f"{site}: search for {q}", "/feeds/search"))
    links += [
        (f"{site}: daily papers", "/feeds/daily"),
        (f"{site}: trending papers", "/feeds/trending"),
    ]
    out = []
    for title, base in links:
        query = (
            "?" + urlencode({"q": request.query_params.get("q", "").strip()})
            if base == "/feeds/search"
            else ""
        )
        out.append(
            {
                "title": f"{title} (Atom)",
                "type": "application/atom+xml",
                "href": f"{base}.atom{query}",
            }
        )
        out.append(
            {
                "title": f"{title} (RSS)",
                "type": "application/rss+xml",
                "href": f"{base}.rss{query}",
            }
        )
    return out


ROUTES: list[tuple[str, list[str], Any]] = [
    # feeds are kept by data version: served on the event loop when cached (web/loop.py)
    *[(f"/feeds/daily.{f}", ["GET"], loop_first(daily_feed(f))) for f in ("atom", "rss")],
    *[(f"/feeds/trending.{f}", ["GET"], loop_first(trending_feed(f))) for f in ("atom", "rss")],
    *[
        (f"/feeds/categories/{{code}}.{f}", ["GET"], loop_first(category_feed(f)))
        for f in ("atom", "rss")
    ],
    *[(f"/feeds/search.{f}", ["GET"], loop_first(search_feed(f))) for f in ("atom", "rss")],
    ("/papers/trending.bib", ["GET"], trending_bib),
    *[
        (f"/papers/{k}/{{slug}}.bib", ["GET"], period_bib(k))
        for k in ("date", "week", "month")
    ],
    ("/papers/{arxiv_id:path}.bib", ["GET"], paper_bib),
    ("/search.bib", ["GET"], search_bib),
]
