"""Follows and mutes in a real browser (Playwright + Debian chromium, as tests/test_web_browser.py;
the same fixtures): a member follows an author from the author page, mutes a word on /following,
sees "N papers hidden by your mutes — show" on the daily page, clicks show and sees them, marked.
No JavaScript is needed for any of it (forms post and come back)."""

from __future__ import annotations

import re
from typing import Any

from test_web_browser import browser_context, log_in, page, site  # noqa: F401 - fixtures

from broadsheet.hub import Hub


def test_follow_an_author_mute_a_word_and_show_the_hidden(page: Any, site: tuple[Hub, str]) -> None:  # noqa: F811
    hub = site[0]
    log_in(page)
    page.goto(page.base + "/authors/Ada%20Lovelace")
    follow = page.locator(".follow-box button", has_text=re.compile(r"^Follow$"))
    follow.click()
    page.wait_for_url(page.base + "/authors/Ada%20Lovelace")
    assert page.locator(".follow-box button[aria-pressed=true]").inner_text() == "Following"
    assert [(f.kind, f.value) for f in hub.get_follows(hub.get_user("ada"))] == [("author", "Ada Lovelace")]

    page.goto(page.base + "/settings")
    page.click("text=Following and mutes")
    page.wait_for_url(page.base + "/following")
    assert "Ada Lovelace" in page.inner_text("#follows")
    page.select_option("#mute-kind", "word")
    page.fill("#mute-value", "diffusion")
    page.click("#mutes form.row-form button")
    page.wait_for_url(re.compile(r".*/following\?done=muted$"))
    assert "diffusion" in page.inner_text("#mutes")

    page.goto(page.base + "/papers/daily")  # "/" is For you for a member who follows something
    note = page.locator(".mute-note")
    assert re.match(r"1 paper hidden by your mutes — show", note.inner_text())
    titles = page.locator("article.entry h2.title").all_inner_texts()
    assert titles and not any("diffusion" in t for t in titles)
    note.locator("a.show-muted").click()
    page.wait_for_url(page.base + "/papers/daily?show_muted=1")
    muted = page.locator("article.entry.is-muted")
    assert muted.count() == 1
    assert "diffusion" in muted.locator("h2.title").inner_text()
    assert "muted (word: diffusion)" in muted.inner_text()
    assert page.locator("article.entry").count() == len(titles) + 1
    shots = __import__("os").environ.get("BROADSHEET_SCREENSHOTS")
    if shots:
        page.screenshot(path=f"{shots}/muted-shown.png", full_page=True)


def test_the_new_pages_fit_a_phone(page: Any, site: tuple[Hub, str]) -> None:  # noqa: F811
    log_in(page)
    page.set_viewport_size({"width": 390, "height": 844})
    for url in ("/following", "/authors/Ada%20Lovelace", "/categories/cs.LG", "/papers/2611.00001",
                "/search?q=protein&mode=lexical", "/papers/daily?show_muted=1"):  # fmt: skip
        page.goto(page.base + url)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, f"{url} scrolls sideways on a phone"
        shots = __import__("os").environ.get("BROADSHEET_SCREENSHOTS")
        if shots:
            name = url.strip("/").replace("/", "-").replace("?", "-").replace("%20", "-") or "home"
            page.screenshot(path=f"{shots}/phone-{name}.png", full_page=True)
