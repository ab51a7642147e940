"""A small site for web tests: papers listed over two weeks, a member and an admin."""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import Any

from helpers import Clock, hub_at, paper

from broadsheet.hub import Hub
from broadsheet.types import ListingData, Organization

NOW = datetime(2026, 11, 28, 15, 0)  # a Saturday; ISO week 2026-W48
DAYS = [
    date(2026, 11, 28) - timedelta(days=n) for n in (0, 1, 2, 8, 9)
]  # W48 x3, W47 x2
PASSWORD = "correct horse battery"
XSS_TITLE = "<script>alert(1)</script> Evil title"
XSS_COMMENT = "<img src=x onerror=alert(1)> look"


# What a Hugging Face record adds, on the first paper (2611.00001).
HF_EXTRAS = {
    "ai_summary": "Diffusion models, studied in depth.",
    "ai_keywords": ("diffusion models", "depth"),
    "github_stars": 42,
    "thumbnail_url": "https://cdn.example.org/2611.00001.png",
    "organization": Organization("example-lab", "Example Lab", "https://cdn.example.org/lab.png"),
}


def site_hub(url: str, clock: Clock | None = None, **settings: object) -> Hub:
    """A hub over a fresh database (a test's ``db_url``) with 3 papers on each of ``DAYS`` (and one XSS title),
    users ``ada`` (member) and ``root`` (admin)."""
    settings.setdefault("embedder", "none")
    hub = hub_at(url, clock or Clock(NOW), **settings)
    items: list[object] = []
    n = 0
    for day in DAYS:
        for k in range(3):
            n += 1
            aid = f"2611.{n:05d}"
            items.append(
                paper(
                    aid,
                    title=f"Paper {n} about {['diffusion models', 'graph networks', 'protein folding'][k]}",
                    abstract=f"We study {['diffusion models', 'graph networks', 'protein folding'][k]} in depth, number {n}.",
                    published=day - timedelta(days=3 + k),
                    external_upvotes=10 * k,
                    github_repo="https://github.com/example/repo" if n == 1 else None,
                    **(HF_EXTRAS if n == 1 else {}),
                )
            )
            items.append(ListingData(aid, day, submitter="hf-user", submitter_fullname="HF User" if n == 1 else None))
    items.append(
        paper("2611.09999", title=XSS_TITLE, abstract="An abstract with <b>tags</b>.")
    )
    items.append(ListingData("2611.09999", DAYS[0]))
    hub.add_papers(items)  # type: ignore[arg-type]
    hub.create_user("ada", PASSWORD, email="ada@example.org")
    hub.create_user("root", PASSWORD, email="root@example.org", is_admin=True)
    return hub


CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    m = CSRF_RE.search(html)
    assert m, "no CSRF token on the page"
    return m.group(1)


class Server:
    """uvicorn serving ``app`` on a free port of 127.0.0.1, in a thread. Logging is left to the
    test run (``log_config=None``), so ``caplog`` sees uvicorn's own records too."""

    def __init__(self, app: object, port: int = 0) -> None:
        import threading

        import uvicorn

        config = uvicorn.Config(
            app,  # type: ignore[arg-type]
            host="127.0.0.1",
            port=port,
            log_config=None,
            lifespan="off",
            ws="none",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        import time

        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@contextmanager
def browser_tab(base: str, *, width: int = 1280, height: int = 900) -> Iterator[Any]:
    """A tab of a headless Chromium (Playwright over Debian's /usr/bin/chromium) with its own
    throw-away profile; ``tab.base`` is the site's address. A script error on any page the tab
    showed fails the test when the tab closes."""
    from playwright.sync_api import sync_playwright
    from test_web_browser import ARGS, CHROMIUM

    profile = tempfile.mkdtemp(prefix="broadsheet-chromium-")
    try:
        with sync_playwright() as pw:
            context = pw.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, headless=True, args=ARGS, viewport={"width": width, "height": height}
            )
            context.set_default_timeout(15_000)
            tab = context.new_page()
            errors: list[str] = []
            tab.on("pageerror", lambda e: errors.append(str(e)))
            tab.base = base
            yield tab
            context.close()
            assert errors == [], f"script errors: {errors}"
    finally:
        shutil.rmtree(profile, ignore_errors=True)
