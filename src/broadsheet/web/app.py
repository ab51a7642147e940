"""The web app: ``create_app(hub)``. The whole route table is ``ROUTES`` below; handlers parse the
request, call the Hub and render a template (``pages``, ``actions``, ``accounts``).

Pages work without JavaScript; ``static/app.js`` only upvotes without a reload. Every POST passes
the CSRF check (``deps.Actor`` / ``deps.CsrfChecked``); errors become pages in the site's style
(JSON for the upvote script). Pages for visitors who are not logged in are served from memory for
a few seconds (``cache.PageCache``).
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.responses import (
    HTMLResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .jsonresp import JSONResponse
from ..config import mask_secrets, secret_values
from ..exceptions import (
    AuthenticationError,
    ConflictError,
    InvalidArxivIdError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from ..hub import Hub
from . import accounts, actions, api_routes, digests, extras, feeds, foryou, library, pages, private_feeds
from . import interests as interest_pages
from .access_log import AccessLog
from .cache import DATA_TTL, FragmentCache, PageCache, TtlCache
from .deps import LoginRequired, viewer_of, wants_json
from .guard import SearchGuard, SearchSlots, slots_for
from .loop import loop_first, refuse_on_loop
from .render import env, render
from .security import Csrf as CsrfSigner
from .security import CsrfError, LoginThrottle, RateLimited, RateLimiter, load_secret, parse_rate

log = logging.getLogger("broadsheet.web")
STATIC = Path(__file__).with_name("static")


async def healthz() -> PlainTextResponse:  # async: never waits for a thread behind searches
    return PlainTextResponse("ok")


GET, POST = ["GET"], ["POST"]
ROUTES: list[tuple[str, list[str], Any]] = [
    # Pages whose data is kept in memory are served on the event loop while it is (web/loop.py).
    ("/", GET, loop_first(foryou.home)),  # For you for a member with signals, else pages.home
    *foryou.ROUTES,  # before /papers/{arxiv_id}: /papers/daily
    ("/papers/trending", GET, loop_first(pages.trending)),
    ("/papers/go", GET, pages.go_to_day),
    ("/about/ranking", GET, pages.ranking),
    ("/papers/date/{slug}", GET, loop_first(pages.period_page("date"))),
    ("/papers/week/{slug}", GET, loop_first(pages.period_page("week"))),
    ("/papers/month/{slug}", GET, loop_first(pages.period_page("month"))),
    ("/papers/{arxiv_id:path}/vote", POST, actions.vote),
    ("/papers/{arxiv_id:path}/comments", POST, actions.comment),
    ("/papers/{arxiv_id:path}/hide", POST, actions.hide_paper),
    ("/papers/{arxiv_id:path}", GET, loop_first(pages.paper)),
    ("/comments/{comment_id:int}/hide", POST, actions.hide_comment),
    ("/authors/{name:path}", GET, loop_first(pages.author)),
    ("/categories/{code}", GET, loop_first(pages.category)),
    ("/organizations/{name}", GET, loop_first(pages.organization)),
    ("/avatars/{name}.svg", GET, pages.avatar),
    ("/search", GET, loop_first(pages.search)),
    ("/submit", GET, actions.submit_form),
    ("/submit", POST, actions.submit),
    ("/signup", GET, accounts.signup_form),
    ("/signup", POST, accounts.signup),
    ("/login", GET, accounts.login_form),
    ("/login", POST, accounts.login),
    ("/logout", POST, accounts.logout),
    ("/settings", GET, accounts.settings_page),
    ("/settings/profile", POST, accounts.settings_profile),
    ("/settings/password", POST, accounts.settings_password),
    ("/settings/token", POST, accounts.settings_token),
    ("/settings/digests", POST, digests.settings_add),
    ("/settings/digests/{subscription_id:int}/delete", POST, digests.settings_delete),
    ("/digest/subscribe", GET, digests.subscribe_form),
    ("/digest/subscribe", POST, digests.subscribe),
    ("/digest/confirm/{token}", GET, digests.confirm_page),
    ("/digest/confirm/{token}", POST, digests.confirm),  # the token is the credential: no CSRF
    ("/digest/unsubscribe/{token}", GET, digests.unsubscribe_page),
    ("/digest/unsubscribe/{token}", POST, digests.unsubscribe),  # RFC 8058 one-click: no CSRF
    ("/digest/preview", GET, digests.preview),
    ("/reset-password", GET, accounts.reset_request_form),
    ("/reset-password", POST, accounts.reset_request),
    ("/reset-password/{token}", GET, accounts.reset_form),
    ("/reset-password/{token}", POST, accounts.reset),  # the token is the credential; CSRF as every form
    ("/admin/status", GET, pages.admin_status),
    ("/thumbnails/{path:path}", GET, extras.thumbnail),
    *interest_pages.ROUTES,  # /following: follows and mutes
    *private_feeds.ROUTES,
    ("/healthz", GET, healthz),
]


def create_app(hub: Hub) -> FastAPI:
    settings = hub.settings

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        hub.stop_background_embedding()  # `serve` started it; a step ends within a second or so

    app = FastAPI(
        lifespan=lifespan,
        title=settings.site_name,
        version=_version(),
        description="Daily papers, search, votes and comments. See /api/docs.",
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.hub = hub
    app.state.secrets = secret_values(settings)  # masked in error pages (and in logs: logs.py)
    app.state.csrf = CsrfSigner(load_secret(settings))
    app.state.secure_cookies = settings.base_url.startswith("https://")
    app.state.limiter = RateLimiter(
        {
            "signups": parse_rate(settings.rate_signups),
            "logins": parse_rate(settings.rate_logins),
            "votes": parse_rate(settings.rate_votes),
            "comments": parse_rate(settings.rate_comments),
            "submissions": parse_rate(settings.rate_submissions),
            "library changes": parse_rate(settings.rate_library),
            "imports": parse_rate(settings.rate_imports),
            "api": parse_rate(settings.rate_api_anonymous),
            "searches": parse_rate(settings.rate_search_anonymous),
        }
    )
    app.state.login_throttle = LoginThrottle(
        settings.login_failures_allowed, settings.login_delay_max_seconds
    )
    env.globals["static_version"] = _static_version()
    env.globals["feed_links"] = feeds.feed_links
    app.state.similar_cache = TtlCache(size=2048, ttl=600)
    app.state.data_cache = TtlCache(size=2048, ttl=DATA_TTL)  # by data version: see cache.py
    app.state.fragments = FragmentCache()
    app.state.search_slots = SearchSlots(slots_for(settings.search_concurrency), settings.search_queue_seconds)
    app.add_middleware(  # inside the page cache: cached answers skip it
        SearchGuard, hub=hub, limiter=app.state.limiter, slots=app.state.search_slots, error_page=error_page
    )
    app.add_middleware(library.UploadLimit, max_mb=settings.library_import_max_mb, error_page=error_page)
    # `thumbnails = source` hotlinks the sources' pictures (https only).
    app.add_middleware(SecurityHeaders, https=app.state.secure_cookies, remote_images=hub.thumbnail_mode() == "source")
    app.add_middleware(PageCache, ttl=settings.page_cache_seconds)
    api_rate = parse_rate(settings.rate_api_anonymous)
    app.add_middleware(  # counts cached responses too
        api_routes.AnonymousLimit, hub=hub, limiter=app.state.limiter, policy=(api_rate.count, api_rate.seconds)
    )
    app.add_middleware(CatchAll)  # an unexpected error is a 500 page, the connection lives on
    app.add_middleware(AccessLog)  # outermost: one line per request, cached, refused and failed ones too
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    api_routes.install(app)  # before ROUTES: /papers/{id}.md must not reach the /papers/{id} page
    app.router.routes.extend(_page_routes())
    hub.guard_database(refuse_on_loop)  # web/loop.py: a page reading the database goes to a thread
    _install_error_pages(app)
    return app


@functools.cache
def _page_routes() -> tuple[APIRoute, ...]:
    """The pages' routes, made once per process: FastAPI analyses every endpoint's signature when
    a route is made (a quarter of a second for all of them, more on busy cores), and a route holds
    nothing of one app (each endpoint finds the Hub in ``request.app.state``), so every app made in
    the process (the tests make hundreds) shares them."""
    router = APIRouter()
    for path, methods, endpoint in [*library.ROUTES, *ROUTES]:
        # HEAD with every GET, as Starlette's own routes have it (uptime checks ask HEAD; the
        # server sends the headers without the body)
        methods = [*methods, "HEAD"] if "GET" in methods else methods
        router.add_api_route(path, endpoint, methods=methods, response_class=HTMLResponse, include_in_schema=False)
    return tuple(router.routes)  # type: ignore[arg-type]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("broadsheet")
    except PackageNotFoundError:
        return "0"


def _static_version() -> str:
    digest = hashlib.sha256()
    for f in sorted(STATIC.iterdir()):
        digest.update(f.read_bytes())
    return digest.hexdigest()[:10]


# -- errors ----------------------------------------------------------------------------------

TITLES = {
    400: "Bad request",
    401: "Not logged in",
    403: "Not allowed",
    404: "Page not found",
    405: "Method not allowed",
    409: "Already there",
    411: "Length required",
    413: "Too large",
    429: "Slow down",
    500: "Something went wrong",
    503: "Busy",
}


def error_page(
    request: Request, status: int, message: str, headers: dict[str, str] | None = None
) -> Response:
    message = mask_secrets(message, getattr(request.app.state, "secrets", ()))
    if wants_json(request):
        return JSONResponse({"error": message}, status_code=status, headers=headers)
    if status != 500:
        try:
            viewer_of(request)  # so the header shows who is logged in
        except Exception:  # noqa: BLE001 - an error page must render even when the database does not
            request.state.viewer = None
    title = TITLES.get(status, "Error")
    response = render(
        request,
        "error.html",
        {"status": status, "title": title, "message": message},
        status=status,
    )
    if headers:
        response.headers.update(headers)
    return response


def _install_error_pages(app: FastAPI) -> None:
    def http_error(request: Request, exc: HTTPException) -> Response:
        message = {
            404: "There is no page at this address.",
            405: "This address does not accept that kind of request.",
        }
        return error_page(
            request, exc.status_code, message.get(exc.status_code, str(exc.detail))
        )

    def bad_request(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(f"{e['loc'][-1]}: {e['msg']}" for e in exc.errors())
        return error_page(
            request, 400, f"Some of this request's values are not valid ({problems})."
        )

    def not_found(request: Request, exc: Exception) -> Response:
        return error_page(request, 404, _sentence(exc))

    def invalid(request: Request, exc: Exception) -> Response:
        return error_page(request, 400, _sentence(exc))

    def conflict(request: Request, exc: Exception) -> Response:
        return error_page(request, 409, _sentence(exc))

    def denied(request: Request, exc: Exception) -> Response:
        return error_page(request, 403, _sentence(exc))

    def csrf(request: Request, exc: Exception) -> Response:
        return error_page(
            request,
            403,
            "This form has expired or came from another site. Go back, reload the page and try again.",
        )

    def unauthenticated(request: Request, exc: Exception) -> Response:
        return error_page(request, 401, _sentence(exc))

    def login_required(request: Request, exc: LoginRequired) -> Response:
        if wants_json(request):
            return JSONResponse(
                {"error": "log in first", "login": "/login"}, status_code=401
            )
        from urllib.parse import quote

        return RedirectResponse(
            f"/login?next={quote(exc.next_url, safe='/')}", status_code=303
        )

    def rate_limited(request: Request, exc: RateLimited) -> Response:
        wait = (
            f"{exc.retry_after} seconds"
            if exc.retry_after < 120
            else f"{exc.retry_after // 60} minutes"
        )
        message = f"You have made too many {exc.action} in a short time. Please wait {wait} and try again."
        return error_page(request, 429, message, {"Retry-After": str(exc.retry_after)})

    handlers: list[tuple[Any, Any]] = [
        (HTTPException, http_error),
        (RequestValidationError, bad_request),
        (InvalidArxivIdError, not_found),
        (NotFoundError, not_found),
        (InvalidInputError, invalid),
        (PermissionDeniedError, denied),
        (ConflictError, conflict),
        (CsrfError, csrf),
        (AuthenticationError, unauthenticated),
        (LoginRequired, login_required),
        (RateLimited, rate_limited),
    ]
    for exc_type, handler in handlers:
        app.add_exception_handler(exc_type, handler)


def _sentence(exc: Exception) -> str:
    """An exception's message as a sentence; only the first letter is raised (``2024-W20`` and
    ``arXiv`` keep their case)."""
    text = str(exc)
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def crashed(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_page(
        request,
        500,
        "The server hit an error it did not expect. It has been logged; please try again later.",
    )


class CatchAll:
    """Turns an exception that no handler took into the 500 page, and does not raise it further.

    Starlette's own last-resort handler sends the page and then re-raises, so uvicorn logs a
    second traceback and closes the keep-alive connection (a client's next request on it may be
    reset). Only an error after the response has begun still closes the connection: the half-sent
    response cannot be finished.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = {"started": False, "done": False}

        async def tracked(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["started"] = True
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                state["done"] = True
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            if state["started"] and not state["done"]:
                raise
            request = Request(scope)
            if state["done"]:  # e.g. a background task: the client has its answer
                log.exception("unhandled error after %s %s", request.method, request.url.path, exc_info=exc)
                return
            response = crashed(request, exc)
            await SecurityHeaders(response)(scope, receive, send)


# -- headers ---------------------------------------------------------------------------------

SECURITY_HEADERS = {
    # Scripts and styles only from this site: an injected <script> or inline handler would not run.
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
}


HSTS = ("strict-transport-security", "max-age=31536000")  # a year; sent when base_url is https


class SecurityHeaders:
    """Adds ``SECURITY_HEADERS`` to every response (a plain ASGI middleware: no per-request task),
    and ``HSTS`` when the site is served over https."""

    def __init__(self, app: ASGIApp, https: bool = False, remote_images: bool = False) -> None:
        self.app = app
        self.headers = SECURITY_HEADERS | dict([HSTS] if https else [])
        if remote_images:
            csp = self.headers["content-security-policy"]
            self.headers["content-security-policy"] = csp.replace("img-src 'self' data:", "img-src 'self' data: https:")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
