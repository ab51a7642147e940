"""The library in a real browser (Playwright driving Debian's /usr/bin/chromium against a live
server, on both backends): one-click save from a list card and from a paper page with JavaScript
(toggled in place, no reload) and without it (a form post that comes back); importing a real
BibTeX export with good and bad entries through the page; another member gets 404 for a private
collection and its feed, then reads the feed in feedparser once it is public."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import feedparser
import pytest
from test_web_browser import ARGS, CHROMIUM, _need_browser
from web_helpers import PASSWORD, Server, site_hub

from broadsheet.hub import Hub
from broadsheet.web import create_app


@pytest.fixture(scope="module")
def site(module_db_url: str) -> Iterator[tuple[Hub, str]]:
    _need_browser()
    hub = site_hub(module_db_url)
    hub.create_user("bob", PASSWORD)
    with Server(create_app(hub)) as url:
        yield hub, url
    hub.close()


@pytest.fixture(scope="module")
def browser(site: tuple[Hub, str]) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


def _tab(browser: Any, base: str, *, javascript: bool = True) -> Any:
    context = browser.new_context(java_script_enabled=javascript, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    tab = context.new_page()
    tab.base = base
    tab.errors = []
    tab.on("pageerror", lambda e: tab.errors.append(str(e)))
    return tab


@pytest.fixture
def tabs(browser: Any, site: tuple[Hub, str]) -> Iterator[Any]:
    made: list[Any] = []

    def make(name: str | None = None, *, javascript: bool = True) -> Any:
        tab = _tab(browser, site[1], javascript=javascript)
        made.append(tab)
        if name:
            tab.goto(tab.base + "/login")
            tab.fill("#login", name)
            tab.fill("#password", PASSWORD)
            tab.click("form.stack button")
            tab.wait_for_url(tab.base + "/")
        return tab

    yield make
    for tab in made:
        assert tab.errors == [], f"script errors: {tab.errors}"
        tab.context.close()


def _save_button(tab: Any, arxiv_id: str, collection: str = "saved") -> Any:
    return tab.locator(f'form.save[action$="/papers/{arxiv_id}/save"]:has(input[name=collection][value="{collection}"]) button').first


def test_save_with_javascript_toggles_in_place(site: tuple[Hub, str], tabs: Any) -> None:
    hub, _ = site
    hub.create_collection(hub.get_user("ada"), "Reading group")
    tab = tabs("ada")
    tab.evaluate("window.stayed = true")  # gone if the page reloads
    button = _save_button(tab, "2611.00001")
    assert button.inner_text() == "☆ Save"
    button.click()
    tab.wait_for_selector('form.save[action$="/papers/2611.00001/save"] button[aria-pressed="true"]')
    assert button.inner_text() == "★ Saved" and tab.evaluate("window.stayed") is True
    assert hub.saved(hub.get_user("ada"), ["2611.00001"]) == {"2611.00001": ("saved",)}
    tab.goto(tab.base + "/papers/daily")  # the same list: "/" is For you once a member has saved something
    assert _save_button(tab, "2611.00001").get_attribute("aria-pressed") == "true"

    # the paper page: the default collection and the member's others
    tab.goto(tab.base + "/papers/2611.00002")
    tab.evaluate("window.stayed = true")
    other = _save_button(tab, "2611.00002", "reading-group")
    assert other.inner_text() == "☆ Reading group"
    other.click()
    tab.wait_for_selector('form.save:has(input[value="reading-group"]) button[aria-pressed="true"]')
    assert _save_button(tab, "2611.00002").inner_text() == "☆ Save" and tab.evaluate("window.stayed") is True
    assert hub.saved(hub.get_user("ada"), ["2611.00002"]) == {"2611.00002": ("reading-group",)}
    _save_button(tab, "2611.00002").click()  # and into Saved too
    tab.wait_for_selector('form.save:has(input[value="saved"]) button[aria-pressed="true"]')
    other.click()  # out of the reading group again
    tab.wait_for_selector('form.save:has(input[value="reading-group"]) button[aria-pressed="false"]')
    assert hub.saved(hub.get_user("ada"), ["2611.00002"]) == {"2611.00002": ("saved",)}


def test_save_without_javascript_posts_and_comes_back(site: tuple[Hub, str], tabs: Any) -> None:
    hub, _ = site
    tab = tabs("bob", javascript=False)
    tab.goto(tab.base + "/papers/week/2026-W48")
    with tab.expect_navigation():
        _save_button(tab, "2611.00003").click()
    assert tab.url == tab.base + "/papers/week/2026-W48"
    assert _save_button(tab, "2611.00003").get_attribute("aria-pressed") == "true"
    assert hub.saved(hub.get_user("bob"), ["2611.00003"]) == {"2611.00003": ("saved",)}


def test_import_a_real_bibtex_export_and_privacy(site: tuple[Hub, str], tabs: Any, fixtures_dir: Path, tmp_path: Path) -> None:
    hub, _ = site
    real = (fixtures_dir / "bibtex" / "zotero-better-bibtex-library.bib").read_bytes()
    ours = b"@article{ours1, eprint = {2611.00004}, archivePrefix = {arXiv}}\n@misc{ours2, doi = {10.48550/arXiv.2611.00005}}\n"
    upload = tmp_path / "My Library.bib"
    upload.write_bytes(ours + real)

    ada = tabs("ada")
    ada.goto(ada.base + "/library")
    ada.set_input_files("#file", str(upload))
    ada.fill("#collection", "Thesis")
    with ada.expect_navigation():
        ada.click("form[action='/library/import'] button")
    report = ada.locator("#report")
    summary = " ".join(report.locator("p.flash").inner_text().split())
    assert summary == "334 entries read: 2 papers added; 332 not matched."
    problems = report.locator("ol.problems li").all_inner_texts()
    assert len(problems) == 332
    assert "line 3: @article{ahmadiPassiveAntifrosting2018}: no arXiv id (no eprint, url or arXiv DOI)" in problems
    assert any(p.startswith("line 71: @article{akesonNASAExoplanet2013}: arXiv 1307.2944 is not in this hub") for p in problems)
    with ada.expect_navigation():
        report.locator("h2 a").click()  # to the collection
    assert ada.url == ada.base + "/library/thesis"
    assert ada.locator("article.entry").count() == 2

    # private: another member and a visitor get 404, for the page and its feed
    bob = tabs("bob")
    visitor = tabs()
    for tab in (bob, visitor):
        for path in ("/u/ada/thesis", "/u/ada/thesis.atom"):
            response = tab.goto(tab.base + path)
            assert response.status == 404, path
    with ada.expect_navigation():
        ada.click("form[action='/library/thesis/public'] button")
    assert ada.locator("form[action='/library/thesis/public'] button").inner_text() == "Make private"
    assert bob.goto(bob.base + "/u/ada/thesis").status == 200
    assert bob.locator("article.entry").count() == 2
    response = visitor.goto(visitor.base + "/u/ada/thesis.atom")
    feed = feedparser.parse(response.body())
    assert response.status == 200 and not feed.bozo
    assert feed.feed.title == "ada: Thesis" and sorted(e.link.rsplit("/", 1)[1] for e in feed.entries) == ["2611.00004", "2611.00005"]


def test_library_pages_fit_a_phone(site: tuple[Hub, str], tabs: Any, tmp_path: Path) -> None:
    hub, _ = site
    ada = hub.get_user("ada")
    hub.create_collection(ada, "A collection with a rather long name for a small phone screen", public=True)
    for n in ("2611.00006", "2611.09999"):
        hub.save_paper(ada, n, "a-collection-with-a-rather-long-name-for-a-small-phone-screen")
    hub.import_library(ada, "2611.00007\nhttps://example.org/a/very/long/address/that/is/no/arxiv/address/at/all/and/goes/on/and/on\n")
    tab = tabs("ada")
    for width in (1280, 390):
        tab.set_viewport_size({"width": width, "height": 900 if width > 400 else 844})
        for name, url in (
            ("library", "/library"), ("collection", "/library/a-collection-with-a-rather-long-name-for-a-small-phone-screen"),
            ("public", "/u/ada/a-collection-with-a-rather-long-name-for-a-small-phone-screen"), ("paper", "/papers/2611.00006"),
        ):  # fmt: skip
            tab.goto(tab.base + url)
            tab.screenshot(path=str(tmp_path / f"{name}-{width}.png"), full_page=True)
            assert tab.evaluate("document.documentElement.scrollWidth") <= width, f"{url} at {width}px"
    # the import report's long lines wrap too
    tab.goto(tab.base + "/library")
    tab.fill("#text", "https://example.org/" + "x" * 300)
    with tab.expect_navigation():
        tab.click("form[action='/library/import'] button")
    assert tab.locator("ol.problems li").count() == 1
    assert tab.evaluate("document.documentElement.scrollWidth") <= 390, "the import report at 390px"
    tab.screenshot(path=str(tmp_path / "report-390.png"), full_page=True)
    print(f"screenshots in {tmp_path}")
