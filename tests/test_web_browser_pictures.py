"""Pictures in a real browser (Playwright driving Debian's Chromium, as tests/test_web_browser.py):
a day page, a paper page and a search with its trend chart; every card's image has loaded
(rendered first pages from a fake arXiv, generated cards for the rest); screenshots into a
temporary folder (or $BROADSHEET_SCREENSHOTS), desktop and phone widths."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_thumbnails import BLUE, GREEN, RED, FakeArxiv, make_pdf
from test_web_browser import _need_browser
from web_helpers import Server, browser_tab, site_hub

from broadsheet.hub import Hub
from broadsheet.web import create_app


@pytest.fixture(scope="module")
def site(module_db_url: str) -> Iterator[tuple[Hub, str]]:
    _need_browser()
    arxiv = FakeArxiv({"2611.00001": make_pdf([RED, BLUE]), "2611.00002": make_pdf([GREEN], rotate_first=90), "2611.00003": b"%PDF broken"})
    hub = site_hub(module_db_url, thumbnails="local", arxiv_pdf_url=arxiv.url + "/pdf/", arxiv_api_delay=0.0, sync_retries=0)
    report = hub.make_thumbnails()  # 2 rendered, 1 broken, the rest 404: generated cards
    assert (report.made, report.broken) == (2, 1) and report.complete
    with Server(create_app(hub)) as url:
        yield hub, url
    hub.close()
    arxiv.close()


@pytest.fixture(scope="module")
def page(site: tuple[Hub, str]) -> Iterator[Any]:
    with browser_tab(site[1]) as tab:
        yield tab


def _loaded_images(page: Any, selector: str) -> list[tuple[str, int]]:
    """(src, naturalWidth) of every image matching ``selector``, each scrolled into view first
    (card images load lazily) and waited for."""
    out = []
    for img in page.locator(selector).all():
        img.scroll_into_view_if_needed()
        img.evaluate("i => i.complete ? null : new Promise(r => { i.onload = i.onerror = r; })")
        out.append((img.get_attribute("src"), img.evaluate("i => i.naturalWidth")))
    return out


def test_every_card_has_a_picture_and_the_search_a_chart(page: Any) -> None:
    folder = Path(os.environ.get("BROADSHEET_SCREENSHOTS") or tempfile.mkdtemp(prefix="broadsheet-pictures-"))
    folder.mkdir(parents=True, exist_ok=True)
    shots = {"day": "/papers/date/2026-11-28", "paper": "/papers/2611.00001", "search": "/search?q=diffusion+models"}
    for width, suffix in ((1280, ""), (390, "-phone")):
        page.set_viewport_size({"width": width, "height": 900 if width > 400 else 844})
        for name, url in shots.items():
            page.goto(page.base + url)
            cards = page.locator("article.entry").count()
            images = _loaded_images(page, "article.entry .thumb img, img.pagethumb")
            assert len(images) >= cards and images, url
            broken = [src for src, w in images if not w]
            assert not broken, f"{url}: images that did not load: {broken}"
            page.evaluate("window.scrollTo(0, 0)")
            page.screenshot(path=str(folder / f"pictures-{name}{suffix}.png"), full_page=True)
            assert page.evaluate("document.documentElement.scrollWidth") <= width, f"{url} at {width}px"
    # The rendered first pages and the generated cards both appear.
    page.goto(page.base + "/papers/date/2026-11-28")
    srcs = [src for src, _ in _loaded_images(page, "article.entry .thumb img")]
    assert any(s.endswith(".svg") for s in srcs) and any(s.endswith(".webp") for s in srcs)
    page.goto(page.base + "/search?q=diffusion+models")
    chart = page.locator("figure.trendchart svg")
    assert chart.is_visible() and chart.get_attribute("role") == "img"
    assert page.locator("figure.trendchart svg rect.tbar").count() >= 1
    assert "papers" in page.locator("figure.trendchart desc").text_content()
    print(f"screenshots in {folder}")


def test_the_rendered_first_page_is_what_the_browser_shows(page: Any) -> None:
    page.goto(page.base + "/papers/2611.00001")
    (src, width), = _loaded_images(page, "img.pagethumb")
    assert src.endswith("2611.00001.webp") and width == 400
    page.goto(page.base + "/papers/2611.00003")  # a broken PDF: the generated card
    (src, width), = _loaded_images(page, "img.pagethumb")
    assert src.endswith("2611.00003.svg") and width > 0
