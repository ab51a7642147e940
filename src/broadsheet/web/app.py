"""Routes. Handlers parse the request, call the Hub, render a template.

This is the minimal site of the core issue: the latest day's papers (or the newest papers when
nothing is listed yet). The full site is built on top of this route table.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, PlainTextResponse
from fastapi.templating import Jinja2Templates

from ..hub import Hub

TEMPLATES = Jinja2Templates(directory=Path(__file__).with_name("templates"))


def create_app(hub: Hub) -> FastAPI:
    app = FastAPI(title=hub.settings.site_name, docs_url=None, redoc_url=None)
    app.state.hub = hub

    @app.get("/", response_class=HTMLResponse)
    def home(request: Request) -> HTMLResponse:
        day = hub.latest_listing_day()
        if day is not None:
            papers = [listing.paper for listing in hub.get_listings(day)]
            heading = f"Daily papers, {day:%B} {day.day}, {day.year}"
        else:
            papers = hub.get_newest_papers(hub.settings.page_size)
            heading = "Newest papers"
        return TEMPLATES.TemplateResponse(
            request, "home.html", {"site": hub.settings.site_name, "heading": heading, "papers": papers}
        )

    @app.get("/healthz", response_class=PlainTextResponse)
    def healthz() -> str:
        return "ok"

    return app
