"""The site in a real browser: Playwright driving Debian's /usr/bin/chromium against a live server.

One browser for the whole module; each test starts logged out. Without Chromium (or the
playwright package) the tests skip with the reason, and fail instead when
BROADSHEET_REQUIRE_SHARED=1 (as in CI, whose .ci/run installs Chromium). Screenshots of the main
pages go to $BROADSHEET_SCREENSHOTS, or a temporary folder that the test prints.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from web_helpers import PASSWORD, XSS_COMMENT, XSS_TITLE, Server, site_hub

from broadsheet.hub import Hub
from broadsheet.web import create_app

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def _need_browser() -> None:
    missing = None
    if not Path(CHROMIUM).exists():
        missing = f"{CHROMIUM} is absent (apt-get install chromium; .ci/run does)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            missing = (
                "the playwright package is not installed (pip install -e '.[test]')"
            )
    if missing:
        if os.environ.get("BROADSHEET_REQUIRE_SHARED") == "1":
            pytest.fail(missing + " and BROADSHEET_REQUIRE_SHARED=1")
        pytest.skip(missing)


@pytest.fixture(scope="module")
def site(module_db_url: str) -> Iterator[tuple[Hub, str]]:
    _need_browser()
    hub = site_hub(module_db_url)
    with Server(create_app(hub)) as url:
        yield hub, url
    hub.close()


@pytest.fixture(scope="module")
def browser_context(site: tuple[Hub, str]) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="broadsheet-chromium-")
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            headless=True,
            args=ARGS,
            viewport={"width": 1280, "height": 900},
        )
        context.set_default_timeout(15_000)
        yield context
        context.close()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def page(browser_context: Any, site: tuple[Hub, str]) -> Iterator[Any]:
    """A fresh tab, logged out, that fails the test on any dialog (alert, confirm, prompt)."""
    browser_context.clear_cookies()
    tab = browser_context.new_page()
    dialogs: list[str] = []
    tab.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    errors: list[str] = []
    tab.on("pageerror", lambda e: errors.append(str(e)))
    tab.base = site[1]
    yield tab
    tab.close()
    assert dialogs == [], f"a dialog fired: {dialogs}"
    assert errors == [], f"script errors: {errors}"


def log_in(page: Any, name: str = "ada") -> None:
    page.goto(page.base + "/login")
    page.fill("#login", name)
    page.fill("#password", PASSWORD)
    page.click("form.stack button")
    page.wait_for_url(page.base + "/")


def test_sign_up_log_out_and_log_in(page: Any) -> None:
    page.goto(page.base + "/")
    page.click("text=Sign up")
    page.fill("#name", "grace")
    page.fill("#email", "grace@example.org")
    page.fill("#password", "a long password")
    page.click("form.stack button")
    page.wait_for_url(page.base + "/")
    assert page.inner_text("nav.account .who") == "grace"
    page.click("text=Log out")
    page.wait_for_selector("text=Log in")
    page.click("text=Log in")
    page.fill("#login", "grace")
    page.fill("#password", "a long password")
    page.click("form.stack button")
    page.wait_for_selector("nav.account .who")
    assert page.inner_text("nav.account .who") == "grace"


def test_upvote_without_reload_and_it_survives_a_reload(
    page: Any, site: tuple[Hub, str]
) -> None:
    from playwright.sync_api import expect

    hub, _ = site
    log_in(page)
    arxiv_id = "2611.00002"
    before = hub.get_paper(arxiv_id).upvotes
    page.evaluate("window.__same_page = true")
    count = page.locator(f'.count[data-paper="{arxiv_id}"]')
    assert count.inner_text() == str(before)
    count.click()
    expect(count).to_have_text(str(before + 1))  # polls without eval: the site's CSP forbids it
    assert page.evaluate("window.__same_page") is True  # no navigation happened
    button = page.locator(f'[id="p-{arxiv_id}"] .vote button')
    assert button.get_attribute("aria-pressed") == "true"
    assert hub.get_paper(arxiv_id).upvotes == before + 1
    page.reload()
    assert page.locator(f'.count[data-paper="{arxiv_id}"]').inner_text() == str(
        before + 1
    )
    assert (
        page.locator(f'[id="p-{arxiv_id}"] .vote button').get_attribute("aria-pressed")
        == "true"
    )
    page.locator(f'.count[data-paper="{arxiv_id}"]').click()  # and back
    expect(count).to_have_text(str(before))


def test_anonymous_upvote_leads_to_login(page: Any) -> None:
    page.goto(page.base + "/papers/2611.00001")
    page.locator(".vote .count").first.click()
    page.wait_for_url(re.compile(r"/login\?next=/papers/2611.00001"))


def test_comment_and_reply(page: Any) -> None:
    log_in(page)
    page.goto(page.base + "/papers/2611.00003")
    page.fill("#body", "Great **results**, see `Table 2`.")
    page.click("text=Comment >> nth=-1")
    page.wait_for_selector(".comment .md strong")
    assert page.inner_text(".comment .md strong") == "results"
    page.click(".reply summary")
    page.fill(".reply textarea", "Agreed.")
    page.click(".reply button")
    page.wait_for_selector(".replyblock .md")
    assert "Agreed." in page.inner_text(".replyblock .md")


def test_search_from_the_header(page: Any) -> None:
    page.goto(page.base + "/")
    page.fill(".quicksearch input", "graph networks")
    page.press(".quicksearch input", "Enter")
    page.wait_for_url(re.compile(r"/search\?q=graph\+networks"))
    assert page.locator("article.entry").count() == 5
    assert page.locator("article.entry mark").first.inner_text().lower() in {
        "graph",
        "networks",
    }
    page.click(".filters summary")
    page.fill("input[name=since]", "2026-11-20")
    page.click(".searchform button")
    page.wait_for_url(re.compile(r"since=2026-11-20"))
    assert page.locator("article.entry").count() == 3


def test_walk_through_days_and_weeks(page: Any) -> None:
    page.goto(page.base + "/")
    assert "November 28, 2026" in page.inner_text("h1")
    page.click("a.step[rel=prev]")
    page.wait_for_url(page.base + "/papers/date/2026-11-27")
    page.click("a.step[rel=prev]")
    page.click("a.step[rel=prev]")  # over the empty days
    page.wait_for_url(page.base + "/papers/date/2026-11-20")
    page.click("a.step[rel=next]")
    page.wait_for_url(page.base + "/papers/date/2026-11-26")
    page.click(".kinds >> text=Week")
    page.wait_for_url(page.base + "/papers/week/2026-W48")
    assert page.locator("article.entry").count() == 10
    page.click("a.step[rel=prev]")
    page.wait_for_url(page.base + "/papers/week/2026-W47")
    page.click(".sorts >> text=Newest")
    page.wait_for_url(page.base + "/papers/week/2026-W47?sort=newest")
    page.click(".kinds >> text=Month")
    page.wait_for_url(page.base + "/papers/month/2026-11?sort=newest")
    assert page.locator("article.entry").count() == 16


def test_script_in_titles_and_comments_stays_inert(page: Any) -> None:
    """The page fixture fails the test if any dialog fires."""
    log_in(page)
    page.goto(page.base + "/papers/2611.09999")
    assert XSS_TITLE in page.title()
    assert page.inner_text("h1") == XSS_TITLE
    page.fill("#body", XSS_COMMENT)
    page.click("text=Comment >> nth=-1")
    page.wait_for_selector(".comment .md")
    assert XSS_COMMENT in page.inner_text(".comment .md")
    assert page.locator(".comment .md img").count() == 0
    for url in ("/", "/papers/trending", "/search?q=evil", "/papers/2611.09999"):
        page.goto(page.base + url)
        page.wait_for_load_state("load")
    page.wait_for_timeout(300)


def test_screenshots_of_the_main_pages(page: Any, browser_context: Any) -> None:
    folder = Path(
        os.environ.get("BROADSHEET_SCREENSHOTS")
        or tempfile.mkdtemp(prefix="broadsheet-screens-")
    )
    folder.mkdir(parents=True, exist_ok=True)
    log_in(page, "root")
    shots = {
        "home": "/", "trending": "/papers/trending", "week": "/papers/week/2026-W48",
        "paper": "/papers/2611.00003", "search": "/search?q=protein+folding", "submit": "/submit",
        "settings": "/settings", "not-found": "/no/such/page",
    }  # fmt: skip
    for width, suffix in ((1280, ""), (390, "-phone")):
        page.set_viewport_size({"width": width, "height": 900 if width > 400 else 844})
        for name, url in shots.items():
            page.goto(page.base + url)
            page.screenshot(path=str(folder / f"{name}{suffix}.png"), full_page=True)
            # nothing wider than the screen: a phone never scrolls sideways
            assert page.evaluate("document.documentElement.scrollWidth") <= width, (
                f"{url} at {width}px"
            )
    print(f"screenshots in {folder}")
    assert len(list(folder.glob("*.png"))) == 2 * len(shots)


def test_api_docs_render_their_markdown_and_fit_a_phone(page: Any) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(page.base + "/api/docs")
    text = page.inner_text("main")
    assert "/api/daily_papers" in text
    assert "`" not in text, "raw Markdown backticks on /api/docs"
    assert page.locator("main .apiop code").count() > 20  # the descriptions' code spans, rendered
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "/api/docs scrolls sideways on a phone"
