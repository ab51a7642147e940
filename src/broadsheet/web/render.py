"""Templates and what they need: the Jinja2 environment, filters, and ``render``.

Jinja2 autoescapes every ``{{ value }}``; the only markup that reaches a page unescaped is
comment markdown, rendered with HTML switched off and then sanitised again by an allow-list.
"""

from __future__ import annotations

import re
import secrets
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from ..bibtex import to_bibtex
from ..ids import is_arxiv_id
from ..periods import period_containing
from ..search.explain import coverage_note
from ..taxonomy import category_name
from ..trending import default_sort, formula
from ..types import Period
from .avatars import avatar_path
from .cache import page_version
from .extras import chart, thumbnail_src
from .security import CSRF_FIELD, SESSION_COOKIE, csrf_cookie, set_cookies

TEMPLATES = Jinja2Templates(directory=Path(__file__).with_name("templates"))
TEMPLATES.env.auto_reload = False  # the templates ship with the package: no stat() per render

COMMENT_TAGS = {
    "p",
    "br",
    "em",
    "strong",
    "del",
    "s",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "a",
    "hr",
    "h3",
    "h4",
    "h5",
    "h6",
}


@lru_cache(maxsize=1)
def _markdown() -> Any:
    from markdown_it import MarkdownIt

    # "commonmark" with raw HTML off: `<img onerror=...>` stays text. Headings are shifted down
    # by the allow-list below (h1/h2 are not allowed, so they lose their tag, not their text).
    return MarkdownIt(
        "commonmark", {"html": False, "linkify": False, "typographer": False}
    ).enable("strikethrough")


@lru_cache(maxsize=4096)
def render_markdown(text: str) -> Markup:
    """A comment's markdown as safe HTML: rendered without raw HTML, then sanitised by ``nh3``
    (an allow-list of tags, http(s)/mailto links only, rel="nofollow ugc noopener noreferrer")."""
    import nh3

    html = _markdown().render(text)
    clean = nh3.clean(
        html,
        tags=COMMENT_TAGS,
        attributes={"a": {"href", "title"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow ugc noopener noreferrer",
    )
    return Markup(clean)


@lru_cache(maxsize=1024)
def render_markdown_inline(text: str) -> Markup:
    """One line of markdown (a summary, a parameter's description): inline markup only, no ``<p>``;
    sanitised like a comment's."""
    import nh3

    html = _markdown().renderInline(text)
    return Markup(nh3.clean(html, tags=COMMENT_TAGS, attributes={"a": {"href", "title"}}, url_schemes={"http", "https", "mailto"}))


def fmt_day(d: date | datetime | None, long: bool = False) -> str:
    if d is None:
        return ""
    return f"{d:%A}, {d:%B} {d.day}, {d.year}" if long else f"{d:%b} {d.day}, {d.year}"


def period_label(p: Period) -> str:
    if p.kind == "week":
        year, week, _ = p.first.isocalendar()
        span = (
            f"{p.first:%b} {p.first.day} – {p.last:%b} {p.last.day}"
            if p.first.month != p.last.month
            else f"{p.first:%b} {p.first.day} – {p.last.day}"
        )
        return f"Week {week}, {year} · {span}"
    if p.kind == "month":
        return f"{p.first:%B} {p.first.year}"
    return fmt_day(p.first, long=True)


def period_url(kind: str, day: date, sort: str | None = None) -> str:
    url = f"/papers/{kind}/{period_containing(kind, day).slug}"
    return url + (f"?sort={sort}" if sort and sort != default_sort(kind) else "")


def paper_url(arxiv_id: str) -> str:
    return "/papers/" + quote(arxiv_id, safe="/")


def author_url(name: str) -> str:
    return "/authors/" + quote(name, safe="")


def category_url(code: str) -> str:
    return "/categories/" + quote(code, safe="")


def organization_url(name: str) -> str:
    return "/organizations/" + quote(name, safe="")


def github_name(url: str) -> str:
    """``owner/repo`` of a GitHub address, else the address without its scheme."""
    m = re.match(r"https?://(?:www\.)?github\.com/([\w.-]+/[\w.-]+)", url)
    return m.group(1).removesuffix(".git") if m else re.sub(r"^https?://", "", url)


def external_url(value: str | None, github: bool = False) -> str | None:
    """A link given by a source, if it is http(s); ``owner/repo`` for a GitHub repository."""
    if not value:
        return None
    value = value.strip()
    if value.startswith(("https://", "http://")) and not any(
        c in value for c in " \"'<>"
    ):
        return value
    if github and re.fullmatch(r"[\w.-]+/[\w.-]+", value):
        return f"https://github.com/{value}"
    return None


def hours(h: float) -> str:
    if h < 48:
        return f"{h:.0f} h"
    return f"{h / 24:.0f} days"


def with_query(request: Request, **changes: Any) -> str:
    """The current path with some query parameters changed (None drops one)."""
    params = dict(request.query_params)
    params.update({k: v for k, v in changes.items() if v is not None})
    for k in [k for k, v in changes.items() if v is None]:
        params.pop(k, None)
    return request.url.path + ("?" + urlencode(params) if params else "")


def site_url(request: Request) -> str:
    """The site's address for absolute links, without a trailing slash: ``base_url`` when set,
    else the scheme, host and port this request came to (``X-Forwarded-Proto`` counts only from
    ``trusted_proxies``: uvicorn checks it)."""
    base: str = request.app.state.hub.settings.base_url
    return base.rstrip("/") or str(request.base_url).rstrip("/")


def here(request: Request) -> str:
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


# A piece of the page kept as UTF-8 bytes stands in the rendered text as this mark and its number,
# put in its place by ``render`` (``_assemble``). The random part keeps text that some data might
# carry (a NUL and digits) from being read as a mark.
_MARK = "\x00" + secrets.token_hex(6) + ":"
_MARKS = re.compile(re.escape(_MARK) + r"(\d+)\x00")


@pass_context
def shared_fragment(context: Context, shared: bool, *key: Any, caller: Any) -> Any:
    """``{% call shared_fragment(shared, key...) %}body{% endcall %}``: the body rendered once per
    data version for this address and ``key``, the same for every viewer (cache.FragmentCache);
    rendered each time when not ``shared``.

    The piece is kept encoded: a page that is mostly kept pieces is not encoded again per request
    (encoding a page with any character beyond Latin-1 costs about 1 µs a kilobyte, as much as
    rendering it). A piece inside another one is rendered into it."""
    if not shared:
        return caller()
    request: Request = context["request"]
    state = request.state
    pieces: list[bytes] | None = getattr(state, "pieces", None)  # None: inside a piece, or not ``render``
    token = (lambda: str(context["csrf_token"])) if context.get("viewer") else None

    def body() -> str:
        state.pieces = None  # pieces within this one are rendered into it
        try:
            return str(caller())
        finally:
            state.pieces = pieces

    piece = request.app.state.fragments.get_or_render(
        (request.url.path, request.url.query, *key), page_version(request.scope), body, token
    )
    if pieces is None:
        return Markup(piece.decode())  # noqa: S704 - rendered by an autoescaping template
    pieces.append(piece)
    return Markup(f"{_MARK}{len(pieces) - 1}\x00")  # noqa: S704 - a mark, replaced in ``render``


def _assemble(html: str, pieces: list[bytes]) -> bytes:
    """The page's bytes: its text encoded, with each piece's mark replaced by the piece."""
    if not pieces:
        return html.encode()
    parts = _MARKS.split(html)  # text, number, text, number, ..., text
    return b"".join(pieces[int(part)] if i % 2 else part.encode() for i, part in enumerate(parts))


def marks(voted: Any, saved: Any, muted: Any, show_muted: Any) -> tuple[Any, ...]:
    """What a member's list of cards shows of their own (upvoted, saved where, muted why): part of
    the key of a shared list fragment, so members with the same marks on a page share it."""
    return (
        frozenset(voted or ()),
        frozenset((k, tuple(v)) for k, v in (saved or {}).items()),
        frozenset((muted or {}).items()),
        bool(show_muted),
    )


env = TEMPLATES.env
env.filters.update(
    markdown=render_markdown,
    markdown_inline=render_markdown_inline,
    day=fmt_day,
    period_label=period_label,
    category_name=category_name,
    paper_url=paper_url,
    author_url=author_url,
    category_url=category_url,
    bibtex=to_bibtex,
    hours=hours,
    external_url=external_url,
    avatar_url=avatar_path,
    organization_url=organization_url,
    github_name=github_name,
)
env.globals.update(
    is_arxiv_id=is_arxiv_id,
    period_url=period_url,
    with_query=with_query,
    here=here,
    site_url=site_url,
    csrf_field=CSRF_FIELD,
    coverage_note=coverage_note,
    thumbnail_src=thumbnail_src,
    trend_chart=chart,
    shared_fragment=shared_fragment,
    marks=marks,
)


class _LazyCsrfToken:
    """The CSRF token, made (and its cookie set) only if the page has a form that uses it: pages
    without one stay the same for every visitor, and cacheable (``cache.PageCache``)."""

    def __init__(self, request: Request) -> None:
        self._request = request
        self._value: str | None = None

    def __str__(self) -> str:
        if self._value is None:
            self._value = self._request.app.state.csrf.token_for(
                csrf_cookie(self._request),
                self._request.cookies.get(SESSION_COOKIE, ""),
            )
        return self._value

    __html__ = __str__


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
) -> HTMLResponse:
    """A page, with what every template needs: the site, the viewer and the CSRF token."""
    app = request.app.state
    ctx = {
        "site": app.hub.settings.site_name,
        "viewer": getattr(request.state, "viewer", None),
        "csrf_token": _LazyCsrfToken(request),
        "trending_formula": formula(app.hub.settings.trending_gravity),
        # a member's mutes on a list (web/interests.py mutes_context): none unless a page says so
        "muted": {}, "hidden_count": 0, "show_muted": False, "follow_box": None,
        **(context or {}),
    }
    pieces: list[bytes] = []
    request.state.pieces = pieces  # kept pieces of this page (``shared_fragment``)
    try:
        html = TEMPLATES.get_template(template).render({**ctx, "request": request})
    finally:
        request.state.pieces = None
    response = HTMLResponse(_assemble(html, pieces), status_code=status)
    set_cookies(request, response, secure=app.secure_cookies)
    return response
