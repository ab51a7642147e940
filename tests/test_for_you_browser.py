"""For you in a real browser (Playwright + Debian's chromium, both backends): a member starts
with nothing, gives a seed paper on the page, saves another with a card's Save button, sees
recommendations with their explanations,
dismisses one in place (script) and after a reload it stays gone, follows an author and sees
that author's paper rise with "You follow author ..."."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from helpers import paper
from test_web_browser import _need_browser, log_in
from web_helpers import NOW, Server, browser_tab, site_hub

from broadsheet.hub import Hub
from broadsheet.types import ListingData
from broadsheet.web import create_app


@pytest.fixture(scope="module")
def site(module_db_url: str) -> Iterator[tuple[Hub, str]]:
    _need_browser()
    hub = site_hub(module_db_url, page_cache_seconds=0.0)
    day = NOW.date() - timedelta(days=1)
    hub.add_papers([
        paper("2611.20002", title="Sea slugs and their enzymes", abstract="Enzymes of sea slugs in tide pools.",
              authors=("Rosalind Franklin",), categories=("q-bio.BM",), primary_category="q-bio.BM", published=day),
        ListingData("2611.20002", day),
    ])  # type: ignore[list-item]  # fmt: skip
    with Server(create_app(hub)) as url:
        yield hub, url
    hub.close()


@pytest.fixture(scope="module")
def page(site: tuple[Hub, str]) -> Iterator[Any]:
    with browser_tab(site[1]) as tab:
        yield tab


def _cards(page: Any) -> list[str]:
    return [a.get_attribute("id")[2:] for a in page.locator("article.entry").all()]


def test_seed_dismiss_follow_and_see_for_you_change(page: Any, site: tuple[Hub, str]) -> None:
    from playwright.sync_api import expect

    hub, _ = site
    log_in(page)
    assert page.locator("text=Tell For you").count() == 0  # nothing saved: the daily list is home
    page.click("nav.main >> text=For you")
    page.wait_for_url(page.base + "/for-you")
    expect(page.locator("#seeds")).to_be_visible()  # cold start asks for seeds

    page.fill("#seed-papers", "https://arxiv.org/abs/2611.00003v1")
    page.click("#seeds button")
    expect(page.locator(".seed-report")).to_contain_text("Saved 1 paper into Saved")
    page.click("text=This month")
    first = page.locator("article.entry").first
    expect(first.locator(".why")).to_contain_text("Close to what you saved: Paper 3 about protein folding")
    expect(first.locator(".why")).to_contain_text("Words that weighed most:")
    assert "protein folding" in first.locator(".title").inner_text()
    # save with the card's button (the library's, in place): For you learns from it at once
    page.goto(page.base + "/papers/daily")
    page.locator('[id="p-2611.00002"] form.save button').click()
    expect(page.locator('[id="p-2611.00002"] form.save button')).to_have_attribute("aria-pressed", "true")
    page.goto(page.base + "/for-you?window=month")
    graph = page.locator('[id="p-2611.00005"] .why')
    expect(graph).to_contain_text("Close to what you saved: Paper 2 about graph networks")
    expect(graph.locator('a[href="/papers/2611.00002"]')).to_be_visible()
    page.goto(page.base + "/")  # now For you is home
    expect(page.locator("h1 .kicker")).to_have_text("For you")
    page.goto(page.base + "/for-you?window=month")

    # Not interested, in place: the card leaves without a navigation, and stays gone after a reload
    target = _cards(page)[0]
    page.evaluate("window.__same_page = true")
    page.locator(f'[id="p-{target}"] form.dismiss button').click()
    expect(page.locator("p.dismissed")).to_contain_text("Not interested:")
    assert page.locator(f'[id="p-{target}"]').count() == 0
    assert page.evaluate("window.__same_page") is True
    assert target in hub.dismissed(hub.get_user("ada"))
    page.reload()
    assert target not in _cards(page)

    # follow an author: their paper rises, saying why
    before = _cards(page)
    assert "2611.20002" in before
    hub.follow(hub.get_user("ada"), "author", "Rosalind Franklin")  # the Follow button lives on the author page (another branch)
    page.reload()
    after = _cards(page)
    assert after.index("2611.20002") < before.index("2611.20002")
    card = page.locator('[id="p-2611.20002"]')
    expect(card.locator(".why")).to_contain_text("You follow author Rosalind Franklin")
    expect(card.locator('.why a[href="/authors/Rosalind%20Franklin"]')).to_be_visible()
