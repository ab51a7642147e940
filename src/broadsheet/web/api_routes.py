"""The machine-readable side of the site, put together: the Hugging Face-compatible API
(``hf_routes``), Broadsheet's API (``api_v1``), feeds and BibTeX (``feeds``), the OpenAPI document
with a docs page, and the rate limit for anonymous use.

``install(app)`` adds the routes (before the HTML pages' ``/papers/{id}`` catch-all, which would
otherwise take ``/papers/{id}.md``); ``AnonymousLimit`` is an ASGI middleware so that it also
counts responses the page cache serves.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import anyio
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from .jsonresp import JSONResponse
from ..hub import Hub
from . import api_v1, feeds, hf_routes
from .render import render
from .security import RateLimited, RateLimiter

LIMITED_PREFIXES = ("/api/", "/feeds/", "/openapi.json")
LIMITED_SUFFIXES = (".md", ".bib")
TAGS = [
    {
        "name": "Hugging Face compatible",
        "description": "The paths, parameters and JSON of huggingface.co's papers API: `huggingface_hub.HfApi(endpoint=...)` works unchanged. No token needed.",
    },
    {
        "name": "Broadsheet",
        "description": "Votes, comments, submissions and your library (collections, save, remove, import, export). Writes and the library need `Authorization: Bearer <API token>` (make one on the settings page).",
    },
    {
        "name": "Feeds and BibTeX",
        "description": "Atom 1.0 and RSS 2.0 feeds; BibTeX for a paper or a list.",
    },
]


def install(app: FastAPI) -> None:
    """Add the API, feed and BibTeX routes, the docs page, and the 401 handler for bad tokens."""
    app.router.routes.extend(_routes())
    app.add_exception_handler(api_v1.ApiAuthError, _unauthorized)
    app.openapi_tags = TAGS


@functools.cache
def _routes() -> tuple[APIRoute, ...]:
    """The routes, made once per process and shared by every app (as ``app._page_routes``: making
    them is FastAPI's analysis of each endpoint's signature; they hold nothing of one app)."""
    router = APIRouter()
    groups = [
        (hf_routes.ROUTES, "Hugging Face compatible", JSONResponse),
        (api_v1.ROUTES, "Broadsheet", JSONResponse),
        (feeds.ROUTES, "Feeds and BibTeX", Response),
    ]
    for routes, tag, response_class in groups:
        for path, methods, endpoint in routes:
            router.add_api_route(
                path,
                endpoint,
                methods=methods,
                tags=[tag],
                response_class=response_class,
                responses=_responses(path, methods),
            )
    router.add_api_route(
        "/api/docs",
        api_docs,
        methods=["GET"],
        response_class=HTMLResponse,
        include_in_schema=False,
    )
    return tuple(router.routes)  # type: ignore[arg-type]


def _responses(path: str, methods: list[str]) -> dict[int | str, dict[str, Any]]:
    error = {"content": {"application/json": {"example": {"error": "what was wrong"}}}}
    out: dict[int | str, dict[str, Any]] = {
        400: {"description": "Bad parameters", **error},
        429: {"description": "Too many requests (see Retry-After)", **error},
    }
    if "{" in path:
        out[404] = {"description": "Not found", **error}
    if path.startswith("/api/v1/") and (methods != ["GET"] or path in api_v1.TOKEN_GETS or path.startswith("/api/v1/library")):
        out[401] = {"description": "No API token, or not a valid one", **error}
    if path.startswith("/api/v1/library") and methods in (["POST"], ["PATCH"]):
        out[409] = {"description": "You have a collection of that name already", **error}
    if path == "/api/v1/library/import":
        out[422] = {"description": "Nothing in the file could be matched (the problems say why)", **error}
    return out


def _unauthorized(request: Request, exc: Exception) -> Response:
    return JSONResponse(
        {"error": str(exc)}, status_code=401, headers={"WWW-Authenticate": "Bearer"}
    )


def api_docs(request: Request) -> HTMLResponse:
    """The OpenAPI document as a page of the site (no script from elsewhere: Swagger UI and ReDoc
    load theirs from a CDN, which the site's Content-Security-Policy does not allow)."""
    spec = request.app.openapi()
    operations = []
    for path, item in spec.get("paths", {}).items():
        for method, op in item.items():
            body = (
                op.get("requestBody", {})
                .get("content", {})
                .get("application/json", {})
                .get("schema", {})
            )
            ref = body.get("$ref", "").rsplit("/", 1)[-1]
            schema = (
                spec.get("components", {}).get("schemas", {}).get(ref) if ref else None
            )
            operations.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "tag": (op.get("tags") or [""])[0],
                    "summary": op.get("summary", ""),
                    "description": op.get("description", ""),
                    "parameters": op.get("parameters", []),
                    "body": json.dumps(schema.get("properties", {}), indent=2)
                    if schema
                    else "",
                    "auth": bool(op.get("security")),
                }
            )
    return render(
        request,
        "api_docs.html",
        {"operations": operations, "tags": TAGS, "section": "api"},
    )


class AnonymousLimit:
    """ASGI middleware: requests to the API, feeds, markdown and BibTeX without a valid API
    token count against ``rate_api_anonymous`` per client address; over it, a 429 in JSON with
    ``Retry-After`` and the IETF ``RateLimit`` headers that ``huggingface_hub`` reads."""

    def __init__(
        self, app: ASGIApp, *, hub: Hub, limiter: RateLimiter, policy: tuple[int, int]
    ) -> None:
        self.app, self._hub, self._limiter = app, hub, limiter
        self._policy = f'"sliding window";"api";q={policy[0]};w={policy[1]}'

    def _limited(self, path: str) -> bool:
        return path.startswith(LIMITED_PREFIXES) or path.endswith(LIMITED_SUFFIXES)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._limited(scope["path"]):
            await self.app(scope, receive, send)
            return
        auth = next(
            (v.decode("latin-1") for k, v in scope["headers"] if k == b"authorization"),
            "",
        )
        scheme, _, token = auth.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            user = await anyio.to_thread.run_sync(
                self._hub.user_for_api_token, token.strip()
            )
            if user is not None:
                await self.app(scope, receive, send)
                return
        client = scope.get("client")
        try:
            self._limiter.hit("api", client[0] if client else "unknown")
        except RateLimited as e:
            body = json.dumps(
                {
                    "error": f"too many requests without an API token: wait {e.retry_after} s, or use a token"
                }
            ).encode()
            headers = [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(e.retry_after).encode()),
                (b"ratelimit", f'"api";r=0;t={e.retry_after}'.encode()),
                (b"ratelimit-policy", self._policy.encode()),
            ]
            await send(
                {"type": "http.response.start", "status": 429, "headers": headers}
            )
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)
